using System;
using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Compares two recorded runs host by host and writes one HerdPS.History.HostChange per host (Unchanged, Changed
    /// with stdout's diff, Added = only in the difference run, Removed = only in the reference run), as
    /// `herd history diff` compares them. Reads the history only. Not a FleetCmdlet: it compares runs, not hosts.
    /// </summary>
    [Cmdlet(VerbsData.Compare, "FleetHistory")]
    [OutputType(typeof(HostChange))]
    public sealed class CompareFleetHistoryCommand : PSCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [RunIdTransformation]
        public long ReferenceRun { get; set; }

        [Parameter(Mandatory = true, Position = 1)]
        [RunIdTransformation]
        public long DifferenceRun { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryPath { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HistoryConnection { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? HistoryCredential { get; set; }

        protected override void EndProcessing()
        {
            RunDifference difference;
            try
            {
                using var store = HistoryParameters.OpenForReading(this, HistoryPath, HistoryConnection, HistoryCredential);
                difference = FleetHistory.CompareRuns(store, ReferenceRun, DifferenceRun);
            }
            catch (Exception e) when (e is HistoryException || e is ArgumentException)
            {
                ThrowTerminatingError(FleetCmdlet.ToErrorRecord(FleetErrorRecords.ForException(e)));
                return;
            }
            WriteVerbose($"{difference.Unchanged} unchanged, {difference.Changed} changed, {difference.Added} only in run {DifferenceRun}, {difference.Removed} only in run {ReferenceRun}.");
            foreach (var change in difference.Changes) WriteObject(PowerShellView.Of(change));
        }
    }
}
