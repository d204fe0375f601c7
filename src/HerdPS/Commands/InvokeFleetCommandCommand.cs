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
            // Checked before the run is begun in the history: an unknown notification, a bad body template or an
            // unset ${VAR} ends here, with nothing run and nothing recorded.
            var notify = RunNotifications.Start(target, request, Command, Notify, NotifyOnResolve.IsPresent, NotifySecret);
            ExecRecording recording;
            try
            {
                // Opened before any host is touched: a history that can't be used stops here (HistoryException), never runs unrecorded.
                recording = EngineNotices.WarnAbout(this, () => ExecRecording.Begin(request, target, Command, DiffLast.IsPresent));
            }
            catch
            {
                notify?.Dispose();
                throw;
            }
            if (recording.NoReferenceNotice != null) WriteWarning(recording.NoReferenceNotice);
            else if (recording.Reference is HistoryRunRecord reference) WriteVerbose($"Comparing with {FleetHistory.RunLabel(reference)}.");
            if (AsJob)
            {
                var job = FleetJob.Create(this, target, Command, request, recording, notify);
                job.StartJob();
                WriteObject(job);
                return;
            }
            using (notify)
            using (recording)
            {
                RunAndWrite(target, Command, request, result =>
                {
                    var shown = WithChange(result, recording, out var change);
                    notify?.Notifier.Observe(result, change);
                    return shown;
                });
                var difference = recording.Complete(cancelled: StopToken.IsCancellationRequested);
                if (ExecRecording.RemovedHostsNotice(difference) is string removed) WriteWarning(removed);
                if (recording.FailureWarning is string failure) WriteWarning(failure);
                if (recording.RunId is long id) WriteVerbose($"Recorded as run {id} in {recording.DatabasePath}.");
                if (notify != null)
                {
                    notify.Notifier.CompleteExec(recording.RunId);
                    notify.Finish(stopped: StopToken.IsCancellationRequested);
                    notify.WriteReports(this);
                }
            }
        }

        internal static object WithChange(FleetResult result, ExecRecording recording) => WithChange(result, recording, out _);

        /// <summary>Records the result and, with -DiffLast, adds the engine's Change, Changed and Diff to it.</summary>
        internal static object WithChange(FleetResult result, ExecRecording recording, out HostChange? change)
        {
            change = recording.Add(result);
            var shown = PowerShellView.Of(result);
            if (!recording.ComparesWithLast) return shown;
            var shaped = PSObject.AsPSObject(shown);
            foreach (var field in HostChangeFields.For(change))
                shaped.Properties.Add(new PSNoteProperty(field.Key, field.Value));
            return shaped;
        }
    }
}
