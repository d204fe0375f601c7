using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Watch;

namespace HerdPS.Commands
{
    /// <summary>
    /// Runs a command on the selection every interval and writes one HerdPS.Watch.WatchResult per host per
    /// iteration as each host finishes, marked Changed when its output or status differs from its previous
    /// iteration. Objects go down the pipeline while the watch runs, so `Watch-Fleet ... | Where-Object Changed |
    /// ForEach-Object { ... }` reacts at once. Each iteration is recorded in the history (unless -NoHistory). Ends
    /// after -Count iterations, or on Ctrl-C.
    /// </summary>
    [Cmdlet(VerbsCommon.Watch, "Fleet")]
    [OutputType(typeof(WatchResult))]
    public sealed class WatchFleetCommand : FleetRecordingCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        /// <summary>Seconds from the start of one iteration to the next (as Start-Sleep -Seconds).</summary>
        [Parameter]
        public double IntervalSec { get; set; }

        /// <summary>The same as a TimeSpan ('00:00:30', New-TimeSpan) or a quoted duration ('30s'); a bare number is refused.</summary>
        [Parameter]
        [IntervalTransformation]
        public TimeSpan Interval { get; set; }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        [Parameter]
        public SwitchParameter ChangesOnly { get; set; }

        protected override void Execute(FleetCommandRequest request)
        {
            var interval = WatchArguments.Interval(Bound(nameof(IntervalSec)) ? IntervalSec : (double?)null, Bound(nameof(Interval)) ? Interval : (TimeSpan?)null);
            var options = WatchArguments.Options(interval, Bound(nameof(Count)) ? Count : (int?)null);
            var target = Resolve(request);
            using var history = EngineNotices.WarnAbout(this, () => FleetHistory.OpenForRun(request, target, notice: Notices.Collect)); // a history that can't be used stops here, before anything runs
            Notices.WriteTo(this);
            var progress = new ConcurrentQueue<FleetProgress>();
            var events = new ConcurrentQueue<WatchEvent>();
            // An unknown notification, a bad body template or an unset ${VAR} ends here, before anything runs.
            using var notify = RunNotifications.Start(target, request, Command, Notify, NotifyOnResolve.IsPresent, NotifySecret);
            var watcher = FleetWatcher.Create(target, Command, request, options, history, events.Enqueue, progress.Enqueue);
            WriteVerbose($"Watching {target.Hosts.Count} host(s) every {options.Interval}" + (options.Count is int n ? $", {n} iteration(s)" : ", until stopped") + ".");

            // Cancelled by Ctrl-C (through StopToken) and when the pipeline stops reading (Select-Object -First).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            var results = watcher.Start(stop.Token);
            try
            {
                while (true)
                {
                    // Only this thread writes; waking every 200 ms keeps progress and warnings flowing between results.
                    var step = results.Next(ProgressTick, out var result);
                    WriteQueued(events, progress);
                    notify?.WriteReports(this);
                    if (step == ReadStep.End) break;
                    if (step == ReadStep.Idle) continue;
                    // Never waits on a delivery: the notifier queues and sends in the background.
                    notify?.Notifier.Observe(result);
                    if (WatchArguments.Writes(result, ChangesOnly)) WriteObject(PowerShellView.Of(result));
                    if (WatchArguments.ErrorFor(result) is FleetErrorInfo error) WriteError(ToErrorRecord(error));
                }
            }
            finally
            {
                // Ends the running iteration (its ssh children too) and leaves its history record unfinished.
                stop.Cancel();
                results.Dispose();
            }
            if (notify != null)
            {
                // Held-back and in-flight notifications go out now; after Ctrl-C this waits a few seconds at most.
                notify.Finish(stopped: StopToken.IsCancellationRequested);
                notify.WriteReports(this);
            }
        }

        private void WriteQueued(ConcurrentQueue<WatchEvent> events, ConcurrentQueue<FleetProgress> progress)
        {
            while (events.TryDequeue(out var e))
            {
                if (e.Kind == WatchEventKind.IterationOverran || e.Kind == WatchEventKind.HistoryFailed) WriteWarning(e.Message);
                else WriteVerbose(e.Message);
            }
            Notices.WriteTo(this);
            WriteLatestProgress(progress, Command);
        }

        private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
    }
}
