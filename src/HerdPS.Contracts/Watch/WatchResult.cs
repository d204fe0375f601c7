using System;

namespace HerdPS.Watch
{
    /// <summary>
    /// One host's result in one iteration of a watch, with whether it changed since that host's previous
    /// iteration. PowerShell sees it as <c>HerdPS.Watch.WatchResult</c>; the common FleetResult properties are
    /// repeated at the top level so <c>Where-Object Changed</c> and <c>Select-Object HostName, StdOut</c> work.
    /// </summary>
    public sealed class WatchResult
    {
        public WatchResult(FleetResult result, int iteration, DateTime iterationStartedUtc)
        {
            Result = result ?? throw new ArgumentNullException(nameof(result));
            Iteration = iteration;
            IterationStartedUtc = iterationStartedUtc;
        }

        public FleetResult Result { get; }
        /// <summary>The iteration's number, from 1.</summary>
        public int Iteration { get; }
        public DateTime IterationStartedUtc { get; }

        /// <summary>
        /// True when the host's status or output hash (stdout, stderr, exit code) differs from its previous
        /// iteration's. Always false in iteration 1 (there is nothing to compare with) and for a Cancelled result
        /// (the watch was stopped; the command's output is unknown, not changed).
        /// </summary>
        public bool Changed { get; internal set; }
        /// <summary>Unified diff of stdout from the previous iteration to this one; empty unless <see cref="Changed"/> (and empty when only stderr, exit code or status changed).</summary>
        public string Diff { get; internal set; } = "";
        /// <summary>The host's output hash in the previous iteration; null in iteration 1.</summary>
        public string? PreviousHash { get; internal set; }
        public FleetStatus? PreviousStatus { get; internal set; }

        /// <summary>The history run recording this iteration; null when not recorded.</summary>
        public long? HistoryRunId { get; internal set; }
        /// <summary>The history's watch id (the first iteration's run id) shared by every iteration; null when not recorded.</summary>
        public long? WatchId { get; internal set; }
        /// <summary>True on the iteration's last result: every host of the iteration has reported, and its history run is complete.</summary>
        public bool IsLastOfIteration { get; internal set; }

        public string HostName => Result.HostName;
        public FleetStatus Status => Result.Status;
        public bool Succeeded => Result.Succeeded;
        public int? ExitCode => Result.ExitCode;
        public string StdOut => Result.StdOut;
        public string StdErr => Result.StdErr;
        public string OutputHash => Result.OutputHash;

        public override string ToString() => $"[{Iteration}] {Result}" + (Changed ? " changed" : "");
    }
}
