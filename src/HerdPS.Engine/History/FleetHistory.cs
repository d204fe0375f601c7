using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.History
{
    /// <summary>
    /// What the front ends (the herd CLI and the cmdlets) do with the history, decided once: where it is, how it
    /// is opened for recording and for reading, how runs are looked up and compared. Each method is one
    /// front-end verb, so a cmdlet is a parameter block around one call.
    /// </summary>
    public static class FleetHistory
    {
        /// <summary>The run kind of <c>herd exec</c> / <c>Invoke-FleetCommand</c>.</summary>
        public const string ExecKind = "exec";
        /// <summary>The run kind of each iteration of <c>herd watch</c> / <c>Watch-Fleet</c>.</summary>
        public const string WatchKind = "watch";

        /// <summary><c>--history</c>/<c>-HistoryPath</c> if given, else <c>$HERD_HISTORY</c>, else the per-user default file.</summary>
        /// <exception cref="ArgumentException">The history chosen is a PostgreSQL server, not a file.</exception>
        public static string ResolvePath(string? explicitPath, Func<string, string?>? getEnv = null)
            => HistoryLocation.Resolve(explicitPath, getEnv ?? Environment.GetEnvironmentVariable);

        /// <summary>
        /// Which history is meant: <paramref name="explicitLocation"/> (<c>--history</c>, <c>-HistoryPath</c> or
        /// <c>-HistoryConnection</c>), else <c>$HERD_HISTORY</c>, else the inventory's <c>history:</c> section, else the
        /// per-user file. A URL or connection string is a PostgreSQL server, never a path.
        /// </summary>
        public static HistoryTarget Resolve(string? explicitLocation, NetworkCredential? credential, InventoryDefaults? defaults,
            Func<string, string?>? getEnv = null)
            => HistoryLocation.ResolveTarget(explicitLocation, credential, defaults?.HistoryLocation, getEnv ?? Environment.GetEnvironmentVariable);

        /// <summary>
        /// The history a run records into, with the inventory's <c>history_retention</c> (default 30 days), which
        /// the store applies once a day. Open it before the run starts: a <see cref="HistoryException"/> here means
        /// "stop, nothing ran" (exit 2), never "run without recording". A server that can't be reached is not such an
        /// error: the run is kept in the local spool and uploaded later (the store warns once).
        /// </summary>
        public static HistoryStore OpenForRecording(string? explicitPath, InventoryDefaults? defaults, Func<string, string?>? getEnv = null)
            => OpenForRecording(Resolve(explicitPath, null, defaults, getEnv), defaults, getEnv);

        /// <summary>The history at <paramref name="target"/>, opened to record runs (see <see cref="OpenForRecording(string, InventoryDefaults, Func{string, string})"/>).</summary>
        public static HistoryStore OpenForRecording(HistoryTarget target, InventoryDefaults? defaults, Func<string, string?>? getEnv = null, Action<string>? notice = null)
            => HistoryStore.Open(target, new HistoryStoreOptions
            {
                Retention = defaults?.HistoryRetention ?? HistoryStoreOptions.DefaultRetention,
                GetEnvironment = getEnv,
                Notice = notice,
            });

        /// <summary>
        /// The history a front end's run records into: null with <c>--no-history</c>/<c>-NoHistory</c>, else
        /// the request's history (its HistoryPath and HistoryCredential, else <c>$HERD_HISTORY</c>, else the target
        /// inventory's <c>history:</c>) with the target inventory's retention.
        /// </summary>
        public static HistoryStore? OpenForRun(FleetCommandRequest request, FleetTarget target, Func<string, string?>? getEnv = null, Action<string>? notice = null)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request.NoHistory) return null;
            var history = Resolve(request.HistoryPath, request.HistoryCredential, target.Inventory.Defaults, getEnv);
            return OpenForRecording(history, target.Inventory.Defaults, getEnv, notice);
        }

        /// <summary>
        /// The history opened for looking at it (<c>herd history</c>, <c>Get-FleetHistory</c>, <c>--diff-last</c>
        /// with <c>--no-history</c>). It never prunes: viewing the history without the inventory that sets a longer
        /// retention must not delete runs that inventory keeps. A server that can't be reached is an error here.
        /// </summary>
        public static HistoryStore OpenForReading(string? explicitPath, Func<string, string?>? getEnv = null)
            => OpenForReading(explicitPath, null, null, getEnv);

        /// <summary>
        /// <see cref="OpenForReading(string, Func{string, string})"/> with a credential for a server, and the inventory
        /// whose <c>history:</c> section applies when neither the caller nor <c>$HERD_HISTORY</c> names a history
        /// (<paramref name="inventoryPath"/>, else the inventory herd finds by itself; none is fine).
        /// </summary>
        public static HistoryStore OpenForReading(string? explicitLocation, NetworkCredential? credential, string? inventoryPath,
            Func<string, string?>? getEnv = null)
            => HistoryStore.Open(ResolveForReading(explicitLocation, credential, inventoryPath, getEnv), new HistoryStoreOptions
            {
                Retention = null,
                SpoolWhenUnreachable = false,
                GetEnvironment = getEnv,
            });

        /// <summary>The history at <paramref name="target"/>, opened for looking at it (never prunes; an unreachable server is an error).</summary>
        public static HistoryStore OpenForReading(HistoryTarget target, Func<string, string?>? getEnv = null)
            => HistoryStore.Open(target, new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false, GetEnvironment = getEnv });

        /// <summary>The history a viewing command means (see <see cref="OpenForReading(string, NetworkCredential, string, Func{string, string})"/>).</summary>
        public static HistoryTarget ResolveForReading(string? explicitLocation, NetworkCredential? credential, string? inventoryPath,
            Func<string, string?>? getEnv = null)
        {
            getEnv ??= Environment.GetEnvironmentVariable;
            string? configured = null;
            // The inventory is read only when it could decide: an explicit history or $HERD_HISTORY comes first.
            if (string.IsNullOrWhiteSpace(explicitLocation) && string.IsNullOrWhiteSpace(getEnv(HistoryLocation.PathVariable))
                && InventoryLocator.Find(inventoryPath, getEnv) is string found)
                configured = InventoryLoader.LoadWithin(found, InventoryLimits.FromEnvironment(getEnv)).Defaults.HistoryLocation;
            return HistoryLocation.ResolveTarget(explicitLocation, credential, configured, getEnv);
        }

        /// <summary>
        /// Copies every run and snapshot of the SQLite history <paramref name="source"/> into the server history
        /// <paramref name="destination"/> (<c>herd history migrate --to</c>). Runs and snapshots keep their UUIDs, so a
        /// second migration of the same file copies nothing again, and one that was interrupted finishes the rest.
        /// </summary>
        public static HistoryMigration Migrate(HistoryTarget source, HistoryTarget destination, Func<string, string?>? getEnv = null,
            Action<HistoryMigration>? progress = null)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (destination == null) throw new ArgumentNullException(nameof(destination));
            if (source.IsServer) throw new ArgumentException($"migrate copies a SQLite history file into a server; the source {source.Display} is a server", "History");
            if (!destination.IsServer) throw new ArgumentException($"migrate --to takes a PostgreSQL server (postgresql://...), not the file {destination.Display}", "To");
            if (!System.IO.File.Exists(source.FilePath)) throw new HistoryException(source.FilePath!, "there is no history file here to migrate");
            var options = new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false, GetEnvironment = getEnv };
            using (var from = SqliteHistoryBackend.Open(source.FilePath!, options.BusyTimeout))
            using (var to = ServerHistory.Factory(destination).Connect(destination, options))
            {
                var tally = new HistoryMigration(source.Display, destination.Display);
                from.ExportRuns((id, recorder) => true, (id, run) =>
                {
                    tally.Count(to.ImportRun(run));
                    progress?.Invoke(tally);
                });
                foreach (var (id, uuid) in from.SnapshotIds())
                {
                    if (from.GetSnapshot(id) is Files.FleetSnapshot snapshot)
                    {
                        if (to.ImportSnapshot(snapshot, uuid)) tally.SnapshotsAdded++;
                        else tally.SnapshotsAlreadyThere++;
                    }
                }
                return tally;
            }
        }

        /// <summary>The selection as history stores it and <c>--diff-last</c> matches it: <see cref="HostSelection.ToString"/>.</summary>
        public static string SelectionText(HostSelection selection)
            => (selection ?? throw new ArgumentNullException(nameof(selection))).ToString();

        /// <summary>Runs matching <paramref name="query"/>, newest first; with <paramref name="includeResults"/> each carries its results.</summary>
        public static IReadOnlyList<RecordedRun> GetRuns(HistoryStore store, HistoryQuery query, bool includeResults = true)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            if (includeResults) return GetRunsWithResults(store, query);
            return store.ListRuns(query ?? new HistoryQuery()).Select(r => new RecordedRun(r, null)).ToList();
        }

        /// <summary>One run with its results.</summary>
        /// <exception cref="HistoryRunNotFoundException">No run has this id (never recorded, or pruned).</exception>
        public static RecordedRun GetRun(HistoryStore store, long id)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            var record = store.GetRun(id) ?? throw new HistoryRunNotFoundException(id, store.DatabasePath);
            return new RecordedRun(record, store.ReadResults(id).ToList());
        }

        /// <summary>
        /// Runs matching <paramref name="query"/>, newest first, each with its results; with <see cref="HistoryQuery.HostName"/>
        /// set, only that host's results (what changed on web-03 this week).
        /// </summary>
        public static IReadOnlyList<RecordedRun> GetRunsWithResults(HistoryStore store, HistoryQuery query)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            return store.ListRuns(query ?? new HistoryQuery())
                .Select(r => new RecordedRun(r, (query?.HostName is string host ? store.ReadResults(r.Id, host) : store.ReadResults(r.Id)).ToList()))
                .ToList();
        }

        /// <summary>
        /// Compares two recorded runs host by host (<c>herd history diff</c>, <c>Compare-FleetHistory</c>). The
        /// runs needn't be of the same command; the diff labels name each run and its start time.
        /// </summary>
        /// <exception cref="HistoryRunNotFoundException">Either id is unknown.</exception>
        public static RunDifference CompareRuns(HistoryStore store, long referenceId, long differenceId)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            var reference = store.GetRun(referenceId) ?? throw new HistoryRunNotFoundException(referenceId, store.DatabasePath);
            var difference = store.GetRun(differenceId) ?? throw new HistoryRunNotFoundException(differenceId, store.DatabasePath);
            var changes = RunComparison.Compare(store.ReadResults(referenceId), store.ReadResults(differenceId),
                RunLabel(reference), RunLabel(difference));
            return new RunDifference(reference, difference, changes);
        }

        /// <summary>
        /// Starts comparing a run about to start with the latest finished run of the same command on the same
        /// selection (<c>--diff-last</c>, <c>-DiffLast</c>). Call it before recording the new run begins.
        /// </summary>
        public static LastRunComparison CompareWithLast(HistoryStore store, string command, string selection)
            => LastRunComparison.Start(store, command, selection);

        /// <summary>"run 42 (2026-02-28 09:15:00)": a diff label, in local time as people read it.</summary>
        public static string RunLabel(HistoryRunRecord run) => $"run {run.Id} ({LocalTime(run.StartedUtc)})";

        /// <summary>A UTC time as the human views show it: local, to the second.</summary>
        public static string LocalTime(DateTime utc)
            => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>What <see cref="FleetHistory.Migrate"/> copied.</summary>
    public sealed class HistoryMigration
    {
        public HistoryMigration(string source, string destination)
        {
            Source = source;
            Destination = destination;
        }

        public string Source { get; }
        public string Destination { get; }
        /// <summary>Runs the server did not have.</summary>
        public int RunsAdded { get; set; }
        /// <summary>Runs the server had in part (an earlier, interrupted copy) and now has whole.</summary>
        public int RunsCompleted { get; set; }
        /// <summary>Runs the server had already: copied before.</summary>
        public int RunsAlreadyThere { get; set; }
        public int SnapshotsAdded { get; set; }
        public int SnapshotsAlreadyThere { get; set; }

        internal void Count(RunImport outcome)
        {
            if (outcome == RunImport.Added) RunsAdded++;
            else if (outcome == RunImport.Completed) RunsCompleted++;
            else RunsAlreadyThere++;
        }
    }

    /// <summary>Two runs compared host by host.</summary>
    public sealed class RunDifference
    {
        public RunDifference(HistoryRunRecord? reference, HistoryRunRecord? difference, IReadOnlyList<HostChange> changes)
        {
            Reference = reference;
            Difference = difference;
            Changes = changes ?? throw new ArgumentNullException(nameof(changes));
        }

        /// <summary>The run compared against (the older one, usually).</summary>
        public HistoryRunRecord? Reference { get; }
        /// <summary>The run compared; null for a <c>--diff-last</c> run that was not recorded (<c>--no-history</c>).</summary>
        public HistoryRunRecord? Difference { get; }
        /// <summary>One entry per host found in either run, ordered by host name.</summary>
        public IReadOnlyList<HostChange> Changes { get; }

        public int Unchanged => Count(HostChangeKind.Unchanged);
        public int Changed => Count(HostChangeKind.Changed);
        /// <summary>Hosts only in the difference run.</summary>
        public int Added => Count(HostChangeKind.Added);
        /// <summary>Hosts only in the reference run.</summary>
        public int Removed => Count(HostChangeKind.Removed);
        /// <summary>True when any host changed, appeared or disappeared.</summary>
        public bool HasChanges => Changes.Any(c => c.Change != HostChangeKind.Unchanged);

        private int Count(HostChangeKind kind) => Changes.Count(c => c.Change == kind);
    }

    /// <summary>No run with this id in the history. An ArgumentException: the caller asked for something that isn't there.</summary>
    public sealed class HistoryRunNotFoundException : ArgumentException, IFleetErrorSource
    {
        public HistoryRunNotFoundException(long runId, string databasePath)
            : base($"no run {runId} in the history {databasePath} (never recorded, or pruned by retention)")
        {
            RunId = runId;
            DatabasePath = databasePath;
        }

        public long RunId { get; }
        public string DatabasePath { get; }

        public FleetErrorInfo ToErrorInfo() =>
            new FleetErrorInfo(FleetErrorRecords.HistoryRunNotFound, "ObjectNotFound", this, RunId)
            { RecommendedAction = "List the recorded runs with Get-FleetHistory; runs older than the retention (30 days by default) are pruned." };
    }
}
