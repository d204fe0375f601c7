using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Grouping
{
    /// <summary>Hosts whose output (stdout, stderr and exit code) was identical.</summary>
    public sealed class OutputGroup
    {
        internal OutputGroup(string outputHash, FleetResult sample)
        {
            OutputHash = outputHash;
            Sample = sample;
        }

        public string OutputHash { get; }
        /// <summary>One result standing for the group (its output is every member's output).</summary>
        public FleetResult Sample { get; }
        public List<string> HostNames { get; } = new List<string>();
        public int Count => HostNames.Count;
        /// <summary>True for the largest group, the one the others are compared with.</summary>
        public bool IsNorm { get; internal set; }
        /// <summary>Unified diff of this group's stdout against the norm's; empty for the norm itself.</summary>
        public string Diff { get; internal set; } = "";
    }

    /// <summary>Hosts whose command never ran to an exit, gathered by status and reason.</summary>
    public sealed class NotRunGroup
    {
        internal NotRunGroup(FleetStatus status, FleetErrorKind errorKind)
        {
            Status = status;
            ErrorKind = errorKind;
        }

        public FleetStatus Status { get; }
        public FleetErrorKind ErrorKind { get; }
        /// <summary>Each host with its own message (messages name the host, so they differ).</summary>
        public List<KeyValuePair<string, string>> Hosts { get; } = new List<KeyValuePair<string, string>>();
    }

    /// <summary>The grouped view of a run: identical outputs together, outliers diffed against the majority.</summary>
    public sealed class GroupedResults
    {
        public IReadOnlyList<OutputGroup> Groups { get; internal set; } = Array.Empty<OutputGroup>();
        public IReadOnlyList<NotRunGroup> NotRun { get; internal set; } = Array.Empty<NotRunGroup>();
        public int Total { get; internal set; }
        public int Succeeded { get; internal set; }
        public int Failed { get; internal set; }
        public int Unreachable { get; internal set; }
        public int TimedOut { get; internal set; }
        public int Cancelled { get; internal set; }
        public OutputGroup? Norm => Groups.FirstOrDefault(g => g.IsNorm);
    }

    /// <summary>
    /// Groups results by OutputHash as they stream in. Memory grows with the number of distinct outputs, not
    /// hosts: each group keeps one sample and its host names. The largest group is the norm (ties: the group
    /// seen first), and every other group gets a unified diff of its stdout against the norm's.
    /// </summary>
    public sealed class OutputGrouper
    {
        private readonly Dictionary<string, OutputGroup> _groups = new Dictionary<string, OutputGroup>(StringComparer.Ordinal);
        private readonly List<OutputGroup> _order = new List<OutputGroup>();
        private readonly Dictionary<(FleetStatus, FleetErrorKind), NotRunGroup> _notRun = new Dictionary<(FleetStatus, FleetErrorKind), NotRunGroup>();
        private readonly GroupedResults _result = new GroupedResults();

        /// <summary>
        /// Adds one result. Returns true when it became a group's sample: its output is needed until
        /// <see cref="Complete"/> and rendering; any other result's output may be released at once.
        /// </summary>
        public bool Add(FleetResult result)
        {
            _result.Total++;
            switch (result.Status)
            {
                case FleetStatus.Succeeded: _result.Succeeded++; break;
                case FleetStatus.Failed: _result.Failed++; break;
                case FleetStatus.Unreachable: _result.Unreachable++; break;
                case FleetStatus.TimedOut: _result.TimedOut++; break;
                case FleetStatus.Cancelled: _result.Cancelled++; break;
            }
            if (result.ExitCode == null)
            {
                var key = (result.Status, result.ErrorKind);
                if (!_notRun.TryGetValue(key, out var nr)) _notRun[key] = nr = new NotRunGroup(result.Status, result.ErrorKind);
                nr.Hosts.Add(new KeyValuePair<string, string>(result.HostName, result.ErrorMessage ?? result.Status.ToString()));
                return false;
            }
            var isSample = false;
            if (!_groups.TryGetValue(result.OutputHash, out var group))
            {
                group = new OutputGroup(result.OutputHash, result);
                _groups[result.OutputHash] = group;
                _order.Add(group);
                isSample = true;
            }
            group.HostNames.Add(result.HostName);
            return isSample;
        }

        public GroupedResults Complete()
        {
            var groups = _order.OrderByDescending(g => g.Count).ToList(); // stable: ties keep first-seen order
            if (groups.Count > 0)
            {
                var norm = groups[0];
                norm.IsNorm = true;
                var normLabel = $"norm ({Plural(norm.Count, "host")})";
                var budget = new DiffBudget();
                foreach (var g in groups.Skip(1))
                {
                    var label = g.Count == 1 ? g.HostNames[0] : $"{g.HostNames[0]} and {Plural(g.Count - 1, "other")}";
                    g.Diff = UnifiedDiff.Create(norm.Sample.StdOut, g.Sample.StdOut, normLabel, label, budget);
                }
            }
            foreach (var g in groups) g.HostNames.Sort(StringComparer.Ordinal);
            _result.Groups = groups;
            _result.NotRun = _notRun.Values.OrderBy(n => n.Status).ThenBy(n => n.ErrorKind).ToList();
            foreach (var n in _result.NotRun) n.Hosts.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            return _result;
        }

        public static GroupedResults Group(IEnumerable<FleetResult> results)
        {
            var grouper = new OutputGrouper();
            foreach (var r in results) grouper.Add(r);
            return grouper.Complete();
        }

        internal static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
    }
}
