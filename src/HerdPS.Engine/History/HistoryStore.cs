using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Files;

namespace HerdPS.History
{
    /// <summary>
    /// The run history: every recorded run and each host's result, in the embedded SQLite file (one per user, see
    /// <see cref="HistoryLocation"/>) or on a PostgreSQL server shared by a team (<see cref="HistoryTarget"/>). This is
    /// the one front door; the database behind it is an <see cref="IHistoryBackend"/>. What every backend shares lives
    /// here: runs get their UUID and controller, results are batched (<see cref="HistoryRun"/>) and their outputs hashed
    /// before any transaction, the command wildcard is matched, arguments are checked.
    /// One instance may be shared by threads.
    /// <para>
    /// The store records what it is given, verbatim: commands, output, error messages. Callers must not pass secrets in
    /// them (a password on a command line, a token echoed to stdout); anything recorded stays until retention prunes it.
    /// A history file is readable by its owner only.
    /// </para>
    /// </summary>
    public sealed class HistoryStore : IDisposable
    {
        private readonly IHistoryBackend _backend;
        private readonly HistoryStoreOptions _options;

        private HistoryStore(IHistoryBackend backend, HistoryStoreOptions options)
        {
            _backend = backend;
            _options = options;
        }

        /// <summary>Where the history is: the database file's full path, or the server as <c>postgresql://user@host:port/database</c> (never a password).</summary>
        public string DatabasePath => _backend.Location;

        /// <summary>The database behind this store.</summary>
        internal IHistoryBackend Backend => _backend;

        /// <summary>
        /// Opens the history at <paramref name="location"/>: a file path, or a PostgreSQL URL or connection string (a value
        /// that looks like one is never taken for a file). See <see cref="Open(HistoryTarget, HistoryStoreOptions)"/>.
        /// </summary>
        public static HistoryStore Open(string location, HistoryStoreOptions? options = null)
        {
            if (string.IsNullOrWhiteSpace(location)) throw new ArgumentException("A history database path is required.", nameof(location));
            return Open(HistoryTarget.Parse(location), options);
        }

        /// <summary>
        /// Opens a history: a file is created (and its folder) readable by the owner only if needed; a server's tables are
        /// created in its <c>herd</c> schema if needed. An older schema is brought up to date. Once a day per database the
        /// store also checks it (a file's integrity) and deletes runs older than <see cref="HistoryStoreOptions.Retention"/>.
        /// </summary>
        /// <exception cref="HistoryException">The history can't be used: the file can't be created, is damaged, is not a
        /// HerdPS history or is from a newer HerdPS; the server refuses us or (when reading) can't be reached.</exception>
        public static HistoryStore Open(HistoryTarget target, HistoryStoreOptions? options = null)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            options ??= new HistoryStoreOptions();
            if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
            if (options.BusyTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "BusyTimeout can't be negative.");

            IHistoryBackend backend = target.IsServer
                ? ServerHistory.Open(target, options)
                : SqliteHistoryBackend.Open(target.FilePath!, options.BusyTimeout);
            try
            {
                backend.Maintain(options.Retention, options.UtcNow());
                return new HistoryStore(backend, options);
            }
            catch
            {
                backend.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Starts recording a run; its results go in through <see cref="HistoryRun.Add"/>. Until
        /// <see cref="HistoryRun.Complete"/> the run is listed with no finish time. The run gets a new UUID and this
        /// machine and user as its controller.
        /// </summary>
        /// <param name="kind">What records it: <c>exec</c>, <c>watch</c>, <c>script</c>, ...</param>
        /// <param name="command">The command as the user gave it. Stored verbatim: never pass secrets.</param>
        /// <param name="selection">The selection in a canonical text form; <see cref="FindLatestRun"/> compares it verbatim.</param>
        /// <param name="watchId">For a watch iteration after the first: the <see cref="HistoryRun.Id"/> of the first.</param>
        /// <param name="iteration">For a watch iteration: its number from 1. With no <paramref name="watchId"/>,
        /// this run is a watch's first iteration and its own id becomes the watch id.</param>
        /// <param name="watchUuid">For a watch iteration after the first: the <see cref="HistoryRun.Uuid"/> of the first.
        /// Say it when you have it: a first iteration kept in a spool has no server id yet.</param>
        public HistoryRun BeginRun(string kind, string command, string selection, DateTime startedUtc,
            long? watchId = null, int? iteration = null, Guid? watchUuid = null)
        {
            if (string.IsNullOrEmpty(kind)) throw new ArgumentException("A run kind is required.", nameof(kind));
            if (command == null) throw new ArgumentNullException(nameof(command));
            if (selection == null) throw new ArgumentNullException(nameof(selection));

            var header = new RunHeader
            {
                Uuid = Guid.NewGuid(),
                Kind = kind,
                Command = command,
                Selection = selection,
                StartedUtc = HistoryTime.ToUtc(startedUtc),
                Iteration = iteration,
                ControllerMachine = _options.ControllerMachine ?? ProcessIdentity.Machine,
                ControllerUser = _options.ControllerUser ?? ProcessIdentity.User,
            };
            if (watchUuid != null) header.WatchUuid = watchUuid;
            else if (watchId is long first)
                header.WatchUuid = _backend.FindRunUuid(first) ?? throw new HistoryRunNotFoundException(first, DatabasePath);
            else if (iteration != null) header.WatchUuid = header.Uuid;
            long id = _backend.BeginRun(header);
            return new HistoryRun(this, id, header, _options.BatchSize);
        }

        /// <summary>
        /// Writes a batch of a run's results and its counts in one transaction; with <paramref name="finishedUtc"/> it also
        /// marks the run complete. Each output is hashed here, before the transaction, so the database is held only while
        /// it stores what it doesn't have yet.
        /// </summary>
        internal void WriteResults(long runId, IReadOnlyList<KeyValuePair<int, FleetResult>> batch, RunCounts counts, DateTime? finishedUtc)
        {
            var stored = new List<StoredResult>(batch.Count);
            foreach (var entry in batch)
                stored.Add(new StoredResult(entry.Key, entry.Value, StoredOutput.StdOutOf(entry.Value), StoredOutput.StdErrOf(entry.Value)));
            _backend.WriteResults(runId, stored, counts, finishedUtc);
        }

        /// <summary>The runs that match <paramref name="query"/>, newest first.</summary>
        public IReadOnlyList<HistoryRunRecord> ListRuns(HistoryQuery query)
        {
            if (query == null) throw new ArgumentNullException(nameof(query));
            if (query.Last is int last && last < 1) throw new ArgumentOutOfRangeException(nameof(query), "Last must be at least 1.");
            var commandPattern = string.IsNullOrEmpty(query.Command) ? null : new LikePattern(query.Command!);
            var runs = new List<HistoryRunRecord>();
            // The wildcard is matched here, not in SQL (SQLite's LIKE folds ASCII case only, PostgreSQL's ILIKE has other
            // rules), so the limit goes into SQL only when there is no wildcard.
            _backend.ListRuns(query, commandPattern == null ? query.Last : null, run =>
            {
                if (commandPattern == null || commandPattern.IsMatch(run.Command)) runs.Add(run);
                return query.Last == null || runs.Count < query.Last;
            });
            return runs;
        }

        /// <summary>The run with this id, or null if there is none (never recorded, or pruned).</summary>
        public HistoryRunRecord? GetRun(long id)
        {
            var runs = ListRuns(new HistoryQuery { Id = id });
            return runs.Count == 0 ? null : runs[0];
        }

        /// <summary>
        /// The most recent completed run of exactly this command on exactly this selection, before
        /// <paramref name="beforeRunId"/> if given: what <c>--diff-last</c> compares against. Incomplete runs are
        /// skipped, since hosts they never recorded would show as removed (and the run being recorded now is one).
        /// </summary>
        public HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId = null)
        {
            if (command == null) throw new ArgumentNullException(nameof(command));
            if (selection == null) throw new ArgumentNullException(nameof(selection));
            return _backend.FindLatestRun(command, selection, beforeRunId);
        }

        /// <summary>
        /// A run's results, ordered by host name (ordinal), rebuilt as <see cref="FleetResult"/>s and read one at a time,
        /// so a run of any size can be replayed; results with the same output share one string. Empty for an unknown run.
        /// Dispose the enumerator (foreach does) to release its connection.
        /// </summary>
        public IEnumerable<FleetResult> ReadResults(long runId) => _backend.ReadResults(runId, null);

        /// <summary>One host's results in a run (a host name matches case-insensitively, as DNS names do).</summary>
        public IEnumerable<FleetResult> ReadResults(long runId, string hostName)
        {
            if (string.IsNullOrEmpty(hostName)) throw new ArgumentException("A host name is required.", nameof(hostName));
            return _backend.ReadResults(runId, hostName);
        }

        /// <summary>
        /// Deletes the runs, their results and the outputs nothing else refers to, that started before
        /// <paramref name="nowUtc"/> minus <paramref name="retention"/>. Returns how many runs it deleted.
        /// </summary>
        public int Prune(TimeSpan retention, DateTime nowUtc)
        {
            if (retention < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(retention), "Retention can't be negative.");
            return _backend.Prune(HistoryRetention.Cutoff(HistoryTime.ToUtc(nowUtc), retention));
        }

        /// <summary>Stores a snapshot with all its hosts in one transaction; sets and returns its <see cref="FleetSnapshot.Id"/>.</summary>
        public long SaveSnapshot(FleetSnapshot snapshot)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            long id = _backend.SaveSnapshot(snapshot, Guid.NewGuid());
            snapshot.Id = id;
            return id;
        }

        /// <summary>Stored snapshots, newest first (at most <paramref name="last"/>).</summary>
        public IReadOnlyList<SnapshotRecord> ListSnapshots(int? last = null)
        {
            if (last is int l && l < 1) throw new ArgumentOutOfRangeException(nameof(last), "last must be at least 1");
            return _backend.ListSnapshots(last);
        }

        /// <summary>The snapshot with this id and all its hosts, or null.</summary>
        public FleetSnapshot? GetSnapshot(long id) => _backend.GetSnapshot(id);

        /// <summary>Deletes a snapshot and its hosts; false if there was none.</summary>
        public bool DeleteSnapshot(long id) => _backend.DeleteSnapshot(id);

        /// <summary>Closes the database. Results a <see cref="HistoryRun"/> still buffers are not written: complete or dispose runs first.</summary>
        public void Dispose() => _backend.Dispose();
    }
}
