using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Execution;
using HerdPS.Files;

namespace HerdPS.History
{
    /// <summary>
    /// What the front ends do with stored snapshots (Get-FleetSnapshot -Id/-List, Compare-FleetSnapshot), decided
    /// once: look one up or fail with its id, narrow a snapshot or a diff to a host selection, compare two by id.
    /// </summary>
    public static class SnapshotHistory
    {
        /// <summary>The stored snapshot with this id.</summary>
        /// <exception cref="SnapshotNotFoundException">No snapshot has this id.</exception>
        public static FleetSnapshot Get(HistoryStore store, long id)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            return store.GetSnapshot(id) ?? throw new SnapshotNotFoundException(id, store.DatabasePath);
        }

        /// <summary>
        /// Stores a capture unless there is no store (-NoHistory) or the capture was cancelled: a half-taken snapshot
        /// would later diff as hosts "removed". Returns whether it was stored (its Id is then set).
        /// </summary>
        public static bool Store(HistoryStore? store, FleetSnapshot snapshot, System.Threading.CancellationToken cancellationToken)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            if (store == null || cancellationToken.IsCancellationRequested) return false;
            store.SaveSnapshot(snapshot);
            return true;
        }

        /// <summary>Compares two stored snapshots host by host.</summary>
        /// <exception cref="SnapshotNotFoundException">Either id is unknown.</exception>
        public static SnapshotDiff Compare(HistoryStore store, long referenceId, long differenceId, int diskThresholdPoints = SnapshotComparison.DefaultDiskThresholdPoints)
            => SnapshotComparison.Compare(Get(store, referenceId), Get(store, differenceId), diskThresholdPoints);

        /// <summary>
        /// True when the request names hosts, groups, tags or exclusions: stored snapshots are then narrowed to them.
        /// No selection means every host the snapshot holds, not every host of today's inventory.
        /// </summary>
        public static bool Narrows(FleetCommandRequest request)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            return !request.Selection.IsEmpty || request.Selection.Excludes.Count > 0;
        }

        /// <summary>
        /// Host names the request selects, resolved as for a run (a name not in the inventory is used as given);
        /// null when the request selects nothing in particular (see <see cref="Narrows"/>).
        /// </summary>
        public static ISet<string>? SelectedHostNames(FleetCommandRequest request, Func<string, string?>? getEnv = null)
        {
            if (!Narrows(request)) return null;
            return new HashSet<string>(FleetEngine.Resolve(request, getEnv).Hosts.Select(h => h.Name), StringComparer.Ordinal);
        }

        /// <summary>The snapshot with only the selected hosts (the same object when <paramref name="hostNames"/> is null).</summary>
        public static FleetSnapshot Narrow(FleetSnapshot snapshot, ISet<string>? hostNames)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            if (hostNames == null) return snapshot;
            return new FleetSnapshot
            {
                Id = snapshot.Id,
                TakenUtc = snapshot.TakenUtc,
                Selection = snapshot.Selection,
                Hosts = snapshot.Hosts.Where(h => hostNames.Contains(h.HostName)).ToList(),
            };
        }

        /// <summary>The per-host changes of the selected hosts (all of them when <paramref name="hostNames"/> is null).</summary>
        public static IReadOnlyList<HostSnapshotDiff> Narrow(SnapshotDiff diff, ISet<string>? hostNames)
        {
            if (diff == null) throw new ArgumentNullException(nameof(diff));
            return hostNames == null ? diff.Hosts : diff.Hosts.Where(h => hostNames.Contains(h.HostName)).ToList();
        }

        /// <summary>Listing stored snapshots takes no host selection: a list row has no hosts to narrow.</summary>
        /// <exception cref="ArgumentException">The request selects hosts.</exception>
        public static void RefuseSelectionForList(FleetCommandRequest request)
        {
            if (Narrows(request))
                throw new ArgumentException("-List lists every stored snapshot and takes no host selection; use -Id with -HostName, -Group or -Tag to see some hosts of a snapshot", "List");
        }
    }

    /// <summary>No snapshot with this id in the history. An ArgumentException: the caller asked for something that isn't there.</summary>
    public sealed class SnapshotNotFoundException : ArgumentException, IFleetErrorSource
    {
        public SnapshotNotFoundException(long snapshotId, string databasePath)
            : base($"there is no snapshot {snapshotId} in the history {databasePath} (see Get-FleetSnapshot -List or herd snapshot list)")
        {
            SnapshotId = snapshotId;
            DatabasePath = databasePath;
        }

        public long SnapshotId { get; }
        public string DatabasePath { get; }

        public FleetErrorInfo ToErrorInfo() =>
            new FleetErrorInfo(FleetErrorRecords.SnapshotNotFound, "ObjectNotFound", this, SnapshotId)
            { RecommendedAction = "List the stored snapshots with Get-FleetSnapshot -List (or herd snapshot list)." };
    }
}
