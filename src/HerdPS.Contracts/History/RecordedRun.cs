using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HerdPS.History
{
    /// <summary>A recorded run with its results: what <c>Get-FleetHistory</c> returns and <c>herd history show</c> shows.</summary>
    public sealed class RecordedRun
    {
        public RecordedRun(HistoryRunRecord run, IReadOnlyList<FleetResult>? results)
        {
            Run = run ?? throw new ArgumentNullException(nameof(run));
            Results = results ?? Array.Empty<FleetResult>();
        }

        /// <summary>The run as listed (no results).</summary>
        public HistoryRunRecord Run { get; }
        /// <summary>Each host's result, ordered by host name; empty when the run was listed without results.</summary>
        public IReadOnlyList<FleetResult> Results { get; }

        public long Id => Run.Id;
        public Guid Uuid => Run.Uuid;
        public string Kind => Run.Kind;
        public string Command => Run.Command;
        public string Selection => Run.Selection;
        public DateTime StartedUtc => Run.StartedUtc;
        public DateTime? FinishedUtc => Run.FinishedUtc;
        public bool IsComplete => Run.IsComplete;
        public int HostCount => Run.HostCount;
        public int SucceededCount => Run.SucceededCount;
        public int FailedCount => Run.FailedCount;
        public long? WatchId => Run.WatchId;
        public int? Iteration => Run.Iteration;
        public string Controller => Run.Controller;
        public string ControllerMachine => Run.ControllerMachine;
        public string ControllerUser => Run.ControllerUser;

        public override string ToString() => Run.ToString();
    }
}
