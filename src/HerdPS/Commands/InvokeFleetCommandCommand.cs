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

        /// <summary>
        /// A parser (disk, free, uptime, ... or one of the inventory's parsers:) whose fields become typed properties of
        /// each result (and its Parsed property), as herd exec --parse adds them to each NDJSON line.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ParserNameCompleter))]
        public string? Parser { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            var target = Resolve(request);
            // Found before anything runs: an unknown parser is an error, never a run without the fields.
            var parser = Parser is string name ? Parsing.OutputParser.ForRun(name, target.Inventory.Parsers, "-Parser") : null;
            if (!ShouldProcess(FleetQueries.Describe(target), $"Run '{Command}'")) return;
            // Checked before the run is begun in the history: an unknown notification, a bad body template or an
            // unset ${VAR} ends here, with nothing run and nothing recorded.
            var notify = RunNotifications.Start(target, request, Command, Notify, NotifyOnResolve.IsPresent, NotifySecret);
            ExecRecording recording;
            try
            {
                // Opened before any host is touched: a history that can't be used stops here (HistoryException), never runs unrecorded.
                recording = EngineNotices.WarnAbout(this, () => ExecRecording.Begin(request, target, Command, DiffLast.IsPresent, notice: Notices.Collect));
            }
            catch
            {
                notify?.Dispose();
                throw;
            }
            Notices.WriteTo(this);
            if (recording.NoReferenceNotice != null) WriteWarning(recording.NoReferenceNotice);
            else if (recording.Reference is HistoryRunRecord reference) WriteVerbose($"Comparing with {FleetHistory.RunLabel(reference)}.");
            if (AsJob)
            {
                var job = FleetJob.Create(this, target, Command, request, recording, (FleetResult result, out HostChange? change) => Shape(result, recording, parser, out change), Notices, notify);
                job.StartJob();
                WriteObject(job);
                return;
            }
            using (notify)
            using (recording)
            {
                RunAndWrite(target, Command, request, result =>
                {
                    var shown = Shape(result, recording, parser, out var change);
                    notify?.Notifier.Observe(result, change);
                    return shown;
                });
                var difference = recording.Complete(cancelled: StopToken.IsCancellationRequested);
                Notices.WriteTo(this);
                if (ExecRecording.RemovedHostsNotice(difference) is string removed) WriteWarning(removed);
                if (recording.FailureWarning is string failure) WriteWarning(failure);
                if (recording.RunId is long id)
                    WriteVerbose(id > 0 ? $"Recorded as run {id} in {recording.DatabasePath}." : $"Kept in the local spool; uploaded to {recording.DatabasePath} when it can be reached.");
                if (notify != null)
                {
                    notify.Notifier.CompleteExec(recording.RunId);
                    notify.Finish(stopped: StopToken.IsCancellationRequested);
                    notify.WriteReports(this);
                }
            }
        }

        /// <summary>
        /// Records the result and shapes what PowerShell gets: with -DiffLast the engine's Change, Changed and Diff, with
        /// -Parser the parser's fields (parsed from the exact output, before its final line break is dropped).
        /// <paramref name="change"/> is what -Notify's notifier is told.
        /// </summary>
        internal static object Shape(FleetResult result, ExecRecording recording, Parsing.OutputParser? parser, out HostChange? change)
        {
            change = recording.Add(result);
            var shown = PowerShellView.Of(result);
            if (!recording.ComparesWithLast && parser == null) return shown;
            var shaped = PSObject.AsPSObject(shown);
            if (recording.ComparesWithLast)
                foreach (var field in HostChangeFields.For(change))
                    shaped.Properties.Add(new PSNoteProperty(field.Key, field.Value));
            if (parser != null) ParsedProperties.Add(shaped, parser.Parse(result.StdOut), addParsedProperty: true);
            return shaped;
        }
    }
}
