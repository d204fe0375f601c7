using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Grouping;

namespace HerdPS.History
{

    /// <summary>
    /// Compares two runs host by host. The names follow PowerShell's Compare-Object: the reference is what you
    /// compare against (the last run), the difference is what you compare (this run).
    /// </summary>
    public static class RunComparison
    {
        /// <summary>
        /// One <see cref="HostChange"/> per host found in either run, ordered by host name. Host names match
        /// case-insensitively, as DNS names do. Both runs are read into memory: the comparison needs both.
        /// </summary>
        /// <param name="referenceLabel">The diff's "---" label, e.g. the reference run's start time.</param>
        /// <param name="differenceLabel">The diff's "+++" label.</param>
        /// <exception cref="ArgumentException">A host appears twice in one run.</exception>
        public static IReadOnlyList<HostChange> Compare(IEnumerable<FleetResult> reference, IEnumerable<FleetResult> difference,
            string referenceLabel = "reference", string differenceLabel = "difference")
        {
            if (reference == null) throw new ArgumentNullException(nameof(reference));
            if (difference == null) throw new ArgumentNullException(nameof(difference));

            var referenceByHost = ByHost(reference, nameof(reference));
            var differenceByHost = ByHost(difference, nameof(difference));

            var hostNames = referenceByHost.Keys.Union(differenceByHost.Keys, StringComparer.OrdinalIgnoreCase)
                .OrderBy(name => name, StringComparer.OrdinalIgnoreCase)
                .ThenBy(name => name, StringComparer.Ordinal);

            var changes = new List<HostChange>();
            var budget = new DiffBudget(); // one for the whole comparison: every host differing in a hostile way costs a bounded total
            foreach (string hostName in hostNames)
            {
                referenceByHost.TryGetValue(hostName, out var before);
                differenceByHost.TryGetValue(hostName, out var after);
                changes.Add(CompareHost(before, after, referenceLabel, differenceLabel, budget));
            }
            return changes;
        }

        /// <summary>
        /// One host's change between two results of it, either of which may be missing (but not both): what
        /// <see cref="Compare"/> does per host, for callers that compare as results arrive (<c>--diff-last</c>).
        /// </summary>
        /// <param name="budget">Shared by every host of one comparison (see <see cref="DiffBudget"/>); null gives this host a budget of its own.</param>
        public static HostChange CompareHost(FleetResult? reference, FleetResult? difference,
            string referenceLabel = "reference", string differenceLabel = "difference", DiffBudget? budget = null)
        {
            if (reference == null && difference == null) throw new ArgumentException("At least one of the two results is required.");
            return new HostChange
            {
                HostName = difference?.HostName ?? reference!.HostName,
                Change = Classify(reference, difference),
                ReferenceStatus = reference?.Status,
                DifferenceStatus = difference?.Status,
                ReferenceHash = reference?.OutputHash,
                DifferenceHash = difference?.OutputHash,
                Diff = UnifiedDiff.Create(reference?.StdOut ?? "", difference?.StdOut ?? "", referenceLabel, differenceLabel, budget ?? new DiffBudget(UnifiedDiff.DefaultBudget)),
                Reference = reference,
                Difference = difference,
            };
        }

        private static HostChangeKind Classify(FleetResult? before, FleetResult? after)
        {
            if (before == null) return HostChangeKind.Added;
            if (after == null) return HostChangeKind.Removed;
            bool sameOutput = string.Equals(before.OutputHash, after.OutputHash, StringComparison.OrdinalIgnoreCase);
            return sameOutput && before.Status == after.Status ? HostChangeKind.Unchanged : HostChangeKind.Changed;
        }

        private static Dictionary<string, FleetResult> ByHost(IEnumerable<FleetResult> results, string side)
        {
            var byHost = new Dictionary<string, FleetResult>(StringComparer.OrdinalIgnoreCase);
            foreach (var result in results)
            {
                if (result == null) throw new ArgumentException("A run holds a null result.", side);
                if (byHost.ContainsKey(result.HostName))
                    throw new ArgumentException($"Host '{result.HostName}' appears more than once in the {side} run.", side);
                byHost.Add(result.HostName, result);
            }
            return byHost;
        }
    }
}
