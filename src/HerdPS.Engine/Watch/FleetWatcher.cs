using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.History;
using HerdPS.Inventory;

namespace HerdPS.Watch
{
    /// <summary>
    /// Runs one command on a fixed set of hosts every interval, through one <see cref="FleetRunner"/> (so every
    /// iteration reuses the pooled connections), and streams each host's result as it arrives, marked with whether
    /// it changed since that host's previous iteration. Each iteration is recorded in the history as a run of kind
    /// <c>watch</c> with a shared watch id and its iteration number.
    /// <para>
    /// Iterations never overlap: iteration n+1 starts <see cref="FleetWatchOptions.Interval"/> after iteration n
    /// started, or as soon as iteration n ends if it took longer. The host set is resolved once, when the watch
    /// starts. Cancelling ends the current iteration (its unfinished hosts come back Cancelled, and its history run
    /// is left unfinished) or the wait between iterations, and the enumeration then ends without throwing.
    /// </para>
    /// </summary>
    public sealed class FleetWatcher
    {
        private readonly FleetRunner _runner;
        private readonly IReadOnlyList<FleetHost> _hosts;
        private readonly string _command;
        private readonly FleetRunOptions _runOptions;
        private readonly FleetWatchOptions _options;
        private readonly HistoryStore? _history;
        // The first iteration's run UUID: its id may be a spool's until a server history is reachable again.
        private Guid? _watchUuid;
        private readonly string _selection;
        private readonly bool _raw;
        private readonly Action<WatchEvent>? _events;
        private readonly Action<FleetProgress>? _progress;
        private int _started;

        /// <param name="history">Where iterations are recorded; null records nothing.</param>
        /// <param name="selection">The selection text stored with each iteration (<see cref="FleetHistory.SelectionText"/>).</param>
        public FleetWatcher(FleetRunner runner, IReadOnlyList<FleetHost> hosts, string command, FleetRunOptions runOptions,
            FleetWatchOptions watchOptions, HistoryStore? history = null, string selection = "all", bool raw = false,
            Action<WatchEvent>? events = null, Action<FleetProgress>? progress = null)
        {
            _runner = runner ?? throw new ArgumentNullException(nameof(runner));
            _hosts = hosts ?? throw new ArgumentNullException(nameof(hosts));
            if (hosts.Count == 0) throw new ArgumentException("a watch needs at least one host", nameof(hosts));
            _command = command ?? throw new ArgumentNullException(nameof(command));
            _runOptions = runOptions ?? throw new ArgumentNullException(nameof(runOptions));
            _options = watchOptions ?? throw new ArgumentNullException(nameof(watchOptions));
            runOptions.Validate();
            watchOptions.Validate();
            _history = history;
            _selection = selection ?? throw new ArgumentNullException(nameof(selection));
            _raw = raw;
            _events = events;
            _progress = progress;
        }

        /// <summary>
        /// The front ends' way in: the request's hosts, run options and SSH settings, the same as <c>exec</c> uses.
        /// </summary>
        public static FleetWatcher Create(FleetTarget target, string command, FleetCommandRequest request, FleetWatchOptions watchOptions,
            HistoryStore? history, Action<WatchEvent>? events = null, Action<FleetProgress>? progress = null)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            return new FleetWatcher(FleetEngine.CreateRunner(request), target.Hosts, command, request.ToRunOptions(target.Inventory.Defaults),
                watchOptions, history, FleetHistory.SelectionText(request.Selection), request.Raw, events, progress);
        }

        public IReadOnlyList<FleetHost> Hosts => _hosts;

        /// <summary>How the last finished iteration went; null until one finished. The CLI's exit code comes from it.</summary>
        public WatchEvent? LastCompletedIteration { get; private set; }

        /// <summary>The history's watch id once the first iteration is recorded.</summary>
        public long? WatchId { get; private set; }

        /// <summary><see cref="RunAsync"/> for a caller that reads on one thread (the cmdlets); see <see cref="BlockingReader{T}"/>.</summary>
        public BlockingReader<WatchResult> Start(CancellationToken cancellationToken) => BlockingReader.Of(RunAsync(cancellationToken), cancellationToken);

        /// <summary>
        /// Runs the watch, yielding one <see cref="WatchResult"/> per host per iteration as hosts finish. Can be
        /// enumerated once.
        /// </summary>
        public async IAsyncEnumerable<WatchResult> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("a watch runs once; create another FleetWatcher");
            var previous = new Dictionary<string, (FleetResult Result, int Iteration)>(StringComparer.OrdinalIgnoreCase);
            bool recording = _history != null;
            var clock = Stopwatch.StartNew();

            for (int iteration = 1; _options.Count == null || iteration <= _options.Count; iteration++)
            {
                if (cancellationToken.IsCancellationRequested) yield break;
                var iterationStart = clock.Elapsed;
                var startedUtc = DateTime.UtcNow;
                Report(new WatchEvent(WatchEventKind.IterationStarted, iteration, startedUtc, $"iteration {iteration} started"));

                HistoryRecorder? recorder = null;
                if (recording)
                {
                    recorder = TryBegin(iteration, startedUtc);
                    if (recorder == null) recording = false;
                    else if (iteration == 1) { WatchId = recorder.RunId; _watchUuid = recorder.RunUuid; }
                }

                int received = 0, succeeded = 0, changed = 0;
                var budget = new DiffBudget(); // the iteration's diffs together take a bounded amount of work
                using (var run = _runner.Start(_hosts, _command, _runOptions, _progress, cancellationToken, _raw))
                {
                    try
                    {
                        await foreach (var result in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                        {
                            received++;
                            if (result.Succeeded) succeeded++;
                            var watchResult = Compare(result, iteration, startedUtc, previous, budget);
                            if (watchResult.Changed) changed++;
                            if (recorder != null)
                            {
                                recorder.Add(result);
                                watchResult.HistoryRunId = recorder.RunId;
                                watchResult.WatchId = WatchId;
                            }
                            if (received == run.Total)
                            {
                                // Finish the record first, so a consumer reacting to the last result finds the iteration in the history.
                                if (recorder != null)
                                {
                                    if (cancellationToken.IsCancellationRequested) recorder.Abandon();
                                    else recorder.Complete(DateTime.UtcNow);
                                    if (recorder.Failure != null) { ReportHistoryFailure(iteration, recorder.Failure); recording = false; }
                                }
                                watchResult.IsLastOfIteration = true;
                            }
                            yield return watchResult;
                        }
                    }
                    finally
                    {
                        recorder?.Abandon(); // no-op once completed; a consumer that stopped reading leaves it unfinished
                    }
                }

                var completed = new WatchEvent(WatchEventKind.IterationCompleted, iteration, DateTime.UtcNow,
                    $"iteration {iteration}: {succeeded} of {received} succeeded, {changed} changed")
                {
                    Succeeded = succeeded,
                    NotSucceeded = received - succeeded,
                    ChangedCount = changed,
                };
                if (cancellationToken.IsCancellationRequested) yield break;
                LastCompletedIteration = completed;
                Report(completed);

                if (_options.Count is int count && iteration >= count) yield break;
                var elapsed = clock.Elapsed - iterationStart;
                var wait = _options.Interval - elapsed;
                if (wait <= TimeSpan.Zero)
                {
                    if (_options.Interval > TimeSpan.Zero)
                        Report(new WatchEvent(WatchEventKind.IterationOverran, iteration, DateTime.UtcNow,
                            $"iteration {iteration} took {Seconds(elapsed)}, longer than the {Seconds(_options.Interval)} interval; the next starts right away"));
                    continue;
                }
                if (!await DelayAsync(wait, cancellationToken).ConfigureAwait(false)) yield break;
            }
        }

        /// <summary>Changed is defined against the host's last iteration with a real outcome (not Cancelled).</summary>
        private static WatchResult Compare(FleetResult result, int iteration, DateTime startedUtc,
            Dictionary<string, (FleetResult Result, int Iteration)> previous, DiffBudget budget)
        {
            var watchResult = new WatchResult(result, iteration, startedUtc);
            if (previous.TryGetValue(result.HostName, out var before))
            {
                watchResult.PreviousHash = before.Result.OutputHash;
                watchResult.PreviousStatus = before.Result.Status;
            }
            if (result.Status == FleetStatus.Cancelled) return watchResult;
            if (before.Result != null)
            {
                var change = RunComparison.CompareHost(before.Result, result, $"iteration {before.Iteration}", $"iteration {iteration}", budget);
                watchResult.Changed = change.Change == HostChangeKind.Changed;
                if (watchResult.Changed) watchResult.Diff = change.Diff;
            }
            previous[result.HostName] = (result, iteration);
            return watchResult;
        }

        private HistoryRecorder? TryBegin(int iteration, DateTime startedUtc)
        {
            try
            {
                return HistoryRecorder.Begin(_history!, FleetHistory.WatchKind, _command, _selection, startedUtc,
                    iteration == 1 ? (long?)null : WatchId, iteration, iteration == 1 ? null : _watchUuid);
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                ReportHistoryFailure(iteration, e);
                return null;
            }
        }

        private void ReportHistoryFailure(int iteration, Exception e)
            => Report(new WatchEvent(WatchEventKind.HistoryFailed, iteration, DateTime.UtcNow,
                $"recording into the history failed in iteration {iteration}; the watch goes on without recording: {e.Message}")
            { Error = e });

        private void Report(WatchEvent e)
        {
            if (_events == null) return;
            try { _events(e); }
            catch (Exception) { /* a front end's rendering problem must not stop the watch */ }
        }

        private static async Task<bool> DelayAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString(t.TotalSeconds < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + "s";
    }
}
