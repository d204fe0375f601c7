using System.Management.Automation;
using HerdPS.Execution;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Runs a command on every selected host in parallel and writes one HerdPS.FleetResult per host as it finishes.
    /// The run is recorded in the history as `herd exec` records it (unless -NoHistory); -DiffLast adds Change,
    /// Changed and Diff to each result, against the latest finished run of the same command and selection.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "FleetCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FleetResult))]
    [OutputType(typeof(FleetJob))]
    public sealed class InvokeFleetCommandCommand : FleetRecordingCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        [Parameter]
        public SwitchParameter AsJob { get; set; }

        [Parameter]
        public SwitchParameter DiffLast { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            var target = Resolve(request);
            if (!ShouldProcess(FleetQueries.Describe(target), $"Run '{Command}'")) return;
            // Opened before any host is touched: a history that can't be used stops here (HistoryException), never runs unrecorded.
            var recording = EngineNotices.WarnAbout(this, () => ExecRecording.Begin(request, target, Command, DiffLast.IsPresent, notice: Notices.Collect));
            Notices.WriteTo(this);
            if (recording.NoReferenceNotice != null) WriteWarning(recording.NoReferenceNotice);
            else if (recording.Reference is HistoryRunRecord reference) WriteVerbose($"Comparing with {FleetHistory.RunLabel(reference)}.");
            if (AsJob)
            {
                var job = FleetJob.Create(this, target, Command, request, recording, Notices);
                job.StartJob();
                WriteObject(job);
                return;
            }
            using (recording)
            {
                RunAndWrite(target, Command, request, result => WithChange(result, recording));
                var difference = recording.Complete(cancelled: StopToken.IsCancellationRequested);
                Notices.WriteTo(this);
                if (ExecRecording.RemovedHostsNotice(difference) is string removed) WriteWarning(removed);
                if (recording.FailureWarning is string failure) WriteWarning(failure);
                if (recording.RunId is long id)
                    WriteVerbose(id > 0 ? $"Recorded as run {id} in {recording.DatabasePath}." : $"Kept in the local spool; uploaded to {recording.DatabasePath} when it can be reached.");
            }
        }

        /// <summary>Records the result and, with -DiffLast, adds the engine's Change, Changed and Diff to it.</summary>
        internal static object WithChange(FleetResult result, ExecRecording recording)
        {
            var change = recording.Add(result);
            var shown = PowerShellView.Of(result);
            if (!recording.ComparesWithLast) return shown;
            var shaped = PSObject.AsPSObject(shown);
            foreach (var field in HostChangeFields.For(change))
                shaped.Properties.Add(new PSNoteProperty(field.Key, field.Value));
            return shaped;
        }
    }
}
