using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.History
{
    /// <summary>How a host's result differs between two runs.</summary>
    public enum HostChangeKind
    {
        /// <summary>Same status and same output hash in both runs.</summary>
        Unchanged,
        /// <summary>The status or the output hash differs.</summary>
        Changed,
        /// <summary>The host is only in the difference run (the newer one, usually).</summary>
        Added,
        /// <summary>The host is only in the reference run.</summary>
        Removed,
    }

    /// <summary>One host's line in a comparison of two runs, e.g. what <c>--diff-last</c> prints.</summary>
    public sealed class HostChange
    {
        public string HostName { get; set; } = "";
        public HostChangeKind Change { get; set; }
        /// <summary>Null when the host is not in the reference run.</summary>
        public FleetStatus? ReferenceStatus { get; set; }
        /// <summary>Null when the host is not in the difference run.</summary>
        public FleetStatus? DifferenceStatus { get; set; }
        public string? ReferenceHash { get; set; }
        public string? DifferenceHash { get; set; }
        /// <summary>
        /// Unified diff of stdout from the reference to the difference run; empty when stdout is the same (a
        /// change of status, exit code or stderr alone has no stdout diff). For an added or removed host it
        /// is the whole output as added or removed lines.
        /// </summary>
        public string Diff { get; set; } = "";
        public FleetResult? Reference { get; set; }
        public FleetResult? Difference { get; set; }

        public override string ToString() => $"{HostName}: {Change}";
    }
}
