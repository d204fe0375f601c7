using System.Management.Automation;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>
    /// The history parameters of every cmdlet whose runs are recorded (Invoke-FleetCommand, Watch-Fleet), spelled
    /// once: -HistoryPath and -NoHistory, as herd's --history and --no-history.
    /// </summary>
    public abstract class FleetRecordingCmdlet : FleetConnectionCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        [Parameter]
        public SwitchParameter NoHistory { get; set; }

        protected override void FillParameters(FleetParameters p)
        {
            base.FillParameters(p);
            p.HistoryPath = HistoryPath is string path ? GetUnresolvedProviderPathFromPSPath(path) : null;
            p.NoHistory = NoHistory.IsPresent;
        }
    }
}
