using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.History
{
    /// <summary>
    /// <c>--diff-last</c>: compares a run's results, as they arrive, with the latest finished run of the same
    /// command on the same selection (any kind: an exec or a watch iteration). The reference is found and read
    /// before the new run starts, so the new run's own record can't be mistaken for it and each host's change is
    /// known the moment its result arrives (the NDJSON view streams it).
    /// </summary>
    public sealed class LastRunComparison
    {
        private readonly Dictionary<string, FleetResult> _reference;
        private readonly HashSet<string> _seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        private readonly List<HostChange> _changes = new List<HostChange>();
        private readonly object _gate = new object();
        /// <summary>All of the run's diffs together take a bounded amount of work (see <see cref="Grouping.DiffBudget"/>).</summary>
        private readonly Grouping.DiffBudget _budget = new Grouping.DiffBudget();
        private readonly string _referenceLabel;
        private string? _differenceLabel;

        private LastRunComparison(HistoryRunRecord? reference, Dictionary<string, FleetResult> referenceResults)
        {
            Reference = reference;
            _reference = referenceResults;
            _referenceLabel = reference == null ? "" : FleetHistory.LocalTime(reference.StartedUtc);
        }

        internal static LastRunComparison Start(HistoryStore store, string command, string selection)
        {
            if (store == null) throw new ArgumentNullException(nameof(store));
            var reference = store.FindLatestRun(command, selection);
            var results = new Dictionary<string, FleetResult>(StringComparer.OrdinalIgnoreCase);
            if (reference != null)
                foreach (var r in store.ReadResults(reference.Id)) results[r.HostName] = r;
            return new LastRunComparison(reference, results);
        }

        /// <summary>The run compared with; null when there is no earlier finished run (nothing to compare: not an error).</summary>
        public HistoryRunRecord? Reference { get; }

        public bool HasReference => Reference != null;

        /// <summary>
        /// This host's change since the reference run: Unchanged, Changed (with a unified diff of stdout, labelled
        /// with the two runs' start times) or Added (not in the reference run). Null when there is no reference.
        /// </summary>
        public HostChange? Add(FleetResult current)
        {
            if (current == null) throw new ArgumentNullException(nameof(current));
            if (Reference == null) return null;
            lock (_gate)
            {
                // The new run's label is its first result's start: close enough to when it started, and it needs no clock here.
                _differenceLabel ??= FleetHistory.LocalTime(current.StartTime);
                _reference.TryGetValue(current.HostName, out var before);
                _seen.Add(current.HostName);
                var change = RunComparison.CompareHost(before, current, _referenceLabel, _differenceLabel, _budget);
                _changes.Add(change);
                return change;
            }
        }

        /// <summary>
        /// Every host's change once the run is over, ordered by host name, including the Removed hosts (in the
        /// reference run, not in this one). <paramref name="run"/> is this run's record, if it was recorded.
        /// Null when there is no reference.
        /// </summary>
        public RunDifference? Complete(HistoryRunRecord? run = null)
        {
            if (Reference == null) return null;
            lock (_gate)
            {
                var all = _changes.ToList();
                foreach (var removed in _reference.Values.Where(r => !_seen.Contains(r.HostName)))
                    all.Add(RunComparison.CompareHost(removed, null, _referenceLabel, _differenceLabel ?? "now", _budget));
                all.Sort((a, b) =>
                {
                    int c = StringComparer.OrdinalIgnoreCase.Compare(a.HostName, b.HostName);
                    return c != 0 ? c : string.CompareOrdinal(a.HostName, b.HostName);
                });
                return new RunDifference(Reference, run, all);
            }
        }
    }
}
