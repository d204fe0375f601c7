using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Inventory;
using HerdPS.Parsing;
using HerdPS.Selection;
using HerdPS.Templating;
using HerdPS.Transport;

namespace HerdPS.Scripting
{
    /// <summary>What a script run is told besides the script and the selection.</summary>
    public sealed class ScriptRunOptions
    {
        /// <summary>Parameter values as given (--set, -Parameter); converted and checked by <see cref="ScriptParameters.Bind"/>.</summary>
        public IReadOnlyDictionary<string, object?>? Parameters { get; set; }
        /// <summary>
        /// The sudo password for steps with sudo:, or null for non-interactive <c>sudo -n</c>. It reaches the host on
        /// the command's stdin only: never argv, the history, a log or an error message.
        /// </summary>
        public string? SudoPassword { get; set; }
        /// <summary>Compare each step with its latest finished run (--diff-last, -DiffLast).</summary>
        public bool DiffLast { get; set; }
    }

    /// <summary>What a running script reports, in order: host results as they finish, each step's end, progress, the summary last.</summary>
    public sealed class ScriptEvent
    {
        private ScriptEvent() { }
        public FleetScriptStepResult? Result { get; private set; }
        /// <summary>Set on a step's end: every host's result of that step in that batch.</summary>
        public IReadOnlyList<FleetScriptStepResult>? StepResults { get; private set; }
        public FleetScriptSummary? Summary { get; private set; }
        public string? Progress { get; private set; }
        public int PercentComplete { get; private set; }

        internal static ScriptEvent Of(FleetScriptStepResult result) => new ScriptEvent { Result = result };
        internal static ScriptEvent StepEnded(IReadOnlyList<FleetScriptStepResult> results) => new ScriptEvent { StepResults = results };
        internal static ScriptEvent Of(FleetScriptSummary summary) => new ScriptEvent { Summary = summary };
        internal static ScriptEvent Of(string progress, int percent) => new ScriptEvent { Progress = progress, PercentComplete = percent };
    }

    /// <summary>A script run in progress: read <see cref="Events"/> until it ends; <see cref="Cancel"/> ends every remote command.</summary>
    public sealed class ScriptRun : IDisposable
    {
        private readonly CancellationTokenSource _cancel;

        internal ScriptRun(ChannelReader<ScriptEvent> events, CancellationTokenSource cancel)
        {
            Events = events;
            _cancel = cancel;
        }

        public ChannelReader<ScriptEvent> Events { get; }
        public Task Completion { get; internal set; } = Task.CompletedTask;

        public async IAsyncEnumerable<ScriptEvent> ReadAllAsync()
        {
            while (await Events.WaitToReadAsync().ConfigureAwait(false))
                while (Events.TryRead(out var e)) yield return e;
            await Completion.ConfigureAwait(false);
        }

        /// <summary>For the cmdlets: the events on one thread (see <see cref="BlockingReader{T}"/>).</summary>
        public BlockingReader<ScriptEvent> Reader() => new BlockingReader<ScriptEvent>(ReadAllAsync());

        public void Cancel()
        {
            try { _cancel.Cancel(); } catch (ObjectDisposedException) { }
        }

        public void Dispose() => Cancel();
    }

    /// <summary>
    /// Runs a fleet script: hosts in rolling batches, each batch through the steps (in order, or as a graph when steps
    /// say depends_on, independent branches at once), each step on its hosts in parallel through the fleet runner
    /// (<see cref="FleetEngine.CreateRunner"/>), handlers once at the end. Every step's results are recorded in the
    /// history (kind "script", one run per step, so --diff-last compares step with step).
    /// </summary>
    public static class ScriptExecutor
    {
        public const string HistoryKind = "script";
        /// <summary>The largest local file a script: step sends (it travels inside the command).</summary>
        public const int MaxLocalScriptBytes = 256 * 1024;

        /// <summary>
        /// Checks the parameters (a <see cref="ScriptException"/> before anything runs), opens the history, and
        /// starts the run. Returns at once; read <see cref="ScriptRun.Events"/>.
        /// </summary>
        public static ScriptRun Start(FleetScript script, FleetTarget target, FleetCommandRequest request, ScriptRunOptions options, CancellationToken cancellationToken)
        {
            var parameters = ScriptParameters.Bind(script, options.Parameters);
            StepSettings.Check(script, parameters);
            ScriptCatalog.CheckAgainst(script, target.Inventory);
            // Opened before any host is touched: a history that can't be used stops here. Without recording
            // (NoHistory), --diff-last and on: @changed still compare with what the history holds, read only, as
            // herd exec --diff-last --no-history does.
            var history = FleetHistory.OpenForRun(request, target);
            HistoryStore? readOnly = null;
            try
            {
                if (history == null && (options.DiffLast || script.Steps.Any(s => s.On?.Kind == SelectorKind.Changed)))
                    readOnly = FleetHistory.OpenForReading(request.HistoryPath);
            }
            catch
            {
                history?.Dispose();
                throw;
            }
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var channel = Channel.CreateBounded<ScriptEvent>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
            var state = new RunState(script, target, request, options, parameters, history, history ?? readOnly, channel.Writer, cancel.Token);
            var run = new ScriptRun(channel.Reader, cancel);
            run.Completion = Task.Run(async () =>
            {
                try
                {
                    await state.RunAsync().ConfigureAwait(false);
                    channel.Writer.TryComplete();
                }
                catch (Exception e)
                {
                    channel.Writer.TryComplete(e);
                    throw;
                }
                finally
                {
                    state.CloseHistory();
                    history?.Dispose();
                    readOnly?.Dispose();
                    cancel.Dispose();
                }
            });
            return run;
        }

        /// <summary>The selection a script runs on: the front end's when it gave any, else the script's targets.</summary>
        public static void ApplyTargets(FleetScript script, HostSelection selection)
        {
            if (selection.Groups.Count > 0 || selection.Tags.Count > 0 || selection.Hosts.Count > 0 || selection.Excludes.Count > 0) return;
            selection.Groups.AddRange(script.Targets.Groups);
            selection.Tags.AddRange(script.Targets.Tags);
            selection.Hosts.AddRange(script.Targets.Hosts);
            selection.Excludes.AddRange(script.Targets.Exclude);
        }

        /// <summary>Wraps a command for sudo: non-interactive (-n) without a password, reading it from stdin (-S, no prompt) with one.</summary>
        public static string SudoCommand(string command, string? user, bool withPassword) =>
            "sudo " + (withPassword ? "-S -p ''" : "-n") + (user != null ? " -u " + ShellQuote.Single(user) : "") + " -- /bin/sh -c " + ShellQuote.Single(command);

        internal static FleetScriptStepStatus StatusOf(FleetStatus status) => status switch
        {
            FleetStatus.Succeeded => FleetScriptStepStatus.Succeeded,
            FleetStatus.Failed => FleetScriptStepStatus.Failed,
            FleetStatus.Unreachable => FleetScriptStepStatus.Unreachable,
            FleetStatus.TimedOut => FleetScriptStepStatus.TimedOut,
            _ => FleetScriptStepStatus.Cancelled,
        };

        internal static bool IsFailure(FleetScriptStepStatus s) =>
            s == FleetScriptStepStatus.Failed || s == FleetScriptStepStatus.Unreachable || s == FleetScriptStepStatus.TimedOut;

        private sealed class HostState
        {
            public HostState(FleetHost host) { Host = host; }
            public FleetHost Host { get; }
            public string? FailedAt;
            public bool Failed => FailedAt != null;
            public readonly ConcurrentDictionary<string, Dictionary<string, object?>> Steps = new ConcurrentDictionary<string, Dictionary<string, object?>>();
            public readonly ConcurrentDictionary<string, byte> Notified = new ConcurrentDictionary<string, byte>();
        }

        /// <summary>One step's results in one batch: what on: selectors and steps.&lt;id&gt;.failed_hosts read.</summary>
        private sealed class StepOutcome
        {
            public readonly List<FleetScriptStepResult> Results = new List<FleetScriptStepResult>();
            public List<string> OkHosts = new List<string>();
            public List<string> FailedHosts = new List<string>();
            public HashSet<string> Differs = new HashSet<string>();
            public HashSet<string> Changed = new HashSet<string>();
        }

        private sealed class StepRecording
        {
            public HistoryRecorder? Recorder;
            public LastRunComparison? Last;
        }

        private sealed class RunState
        {
            private readonly FleetScript _script;
            private readonly FleetTarget _target;
            private readonly FleetCommandRequest _request;
            private readonly ScriptRunOptions _options;
            private readonly IReadOnlyDictionary<string, object?> _params;
            /// <summary>Where the steps are recorded; null with NoHistory.</summary>
            private readonly HistoryStore? _history;
            /// <summary>Where earlier runs are read for --diff-last and @changed: the history, or it opened read only.</summary>
            private readonly HistoryStore? _compareWith;
            private readonly ChannelWriter<ScriptEvent> _events;
            private readonly CancellationToken _token;
            private readonly FleetRunner _runner;
            private readonly FleetRunOptions _runOptions;
            private readonly SemaphoreSlim _throttle;
            private readonly Dictionary<string, HostState> _hosts;
            private readonly string _selection;
            private readonly ConcurrentDictionary<string, StepRecording> _recordings = new ConcurrentDictionary<string, StepRecording>();
            private readonly HashSet<string> _changedSelected;
            private readonly object _gate = new object();
            private readonly List<long> _runIds = new List<long>();
            private volatile string? _stopped;
            /// <summary>on_failure: stop, or --fail-fast / -FailFast: the first host that fails stops the run.</summary>
            private readonly bool _stopOnFailure;
            private int _batch;

            public RunState(FleetScript script, FleetTarget target, FleetCommandRequest request, ScriptRunOptions options,
                IReadOnlyDictionary<string, object?> parameters, HistoryStore? history, HistoryStore? compareWith, ChannelWriter<ScriptEvent> events, CancellationToken token)
            {
                _script = script;
                _target = target;
                _request = request;
                _options = options;
                _params = parameters;
                _history = history;
                _compareWith = compareWith;
                _events = events;
                _token = token;
                _runner = FleetEngine.CreateRunner(request);
                _runOptions = request.ToRunOptions(target.Inventory.Defaults);
                if (request.Throttle == null && script.Strategy.Throttle is int t) _runOptions.Throttle = t;
                _throttle = new SemaphoreSlim(_runOptions.Throttle);
                _stopOnFailure = script.Strategy.StopOnFailure || request.FailFast;
                _hosts = target.Hosts.ToDictionary(h => h.Name, h => new HostState(h), StringComparer.Ordinal);
                _selection = FleetHistory.SelectionText(request.Selection);
                _changedSelected = new HashSet<string>(script.Steps.Where(s => s.On?.Kind == SelectorKind.Changed).Select(s => s.On!.StepId!));
            }

            public async Task RunAsync()
            {
                var started = DateTime.UtcNow;
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var batches = _script.Strategy.Batches(_target.Hosts);
                for (int b = 0; b < batches.Count; b++)
                {
                    _batch = b + 1;
                    var batch = batches[b];
                    if (_stopped != null || _token.IsCancellationRequested)
                    {
                        // Every step of every host of the batch says so: a host's report has a line per step, run or not.
                        var why = _token.IsCancellationRequested ? "cancelled before this host's batch started" : "not run: " + _stopped;
                        foreach (var step in _script.Steps)
                        {
                            var notRun = batch.Select(host => NotRun(step, host, why)).ToList();
                            foreach (var r in notRun) await EmitAsync(r).ConfigureAwait(false);
                            await _events.WriteAsync(ScriptEvent.StepEnded(notRun), CancellationToken.None).ConfigureAwait(false);
                        }
                        continue;
                    }
                    await RunBatchAsync(batch, batches.Count).ConfigureAwait(false);
                    var failed = batch.Count(h => _hosts[h.Name].Failed);
                    if (_script.Strategy.MaxFailPercentage is double max && failed * 100.0 / batch.Count > max && b < batches.Count - 1)
                        _stopped ??= $"batch {b + 1} had {failed} of {batch.Count} hosts fail ({failed * 100.0 / batch.Count:0.#}%), more than max_fail_percentage {max}%";
                }
                // Handlers: once, at the end, on the hosts whose steps notified them (and that did not fail).
                if (!_token.IsCancellationRequested)
                    foreach (var handler in _script.Handlers)
                    {
                        var notified = _target.Hosts.Where(h => _hosts[h.Name].Notified.ContainsKey(handler.Id) && !_hosts[h.Name].Failed).ToList();
                        if (notified.Count == 0) continue;
                        await RunStepAsync(handler, notified, new ConcurrentDictionary<string, StepOutcome>(), isHandler: true).ConfigureAwait(false);
                    }

                var summary = new FleetScriptSummary
                {
                    Script = _script.Name,
                    HostCount = _target.Hosts.Count,
                    StepCount = _script.Steps.Count,
                    BatchCount = batches.Count,
                    StartTime = started,
                    Duration = watch.Elapsed,
                    Cancelled = _token.IsCancellationRequested,
                    StoppedReason = _stopped,
                };
                var failedHosts = new List<string>();
                foreach (var host in _target.Hosts)
                {
                    var state = _hosts[host.Name];
                    if (state.Failed && state.FailedAt != "(not run)") { summary.FailedCount++; failedHosts.Add(host.Name); }
                    else if (state.FailedAt == "(not run)") summary.NotRunCount++;
                    else summary.SucceededCount++;
                }
                summary.FailedHosts = failedHosts.ToArray();
                CloseHistory();
                lock (_gate) summary.HistoryRunIds = _runIds.ToArray();
                await _events.WriteAsync(ScriptEvent.Of(summary)).ConfigureAwait(false);
            }

            private async Task RunBatchAsync(List<FleetHost> batch, int batchCount)
            {
                var outcomes = new ConcurrentDictionary<string, StepOutcome>();
                if (!_script.IsGraph)
                {
                    foreach (var step in _script.Steps)
                        await RunStepAsync(step, batch, outcomes, isHandler: false, batchCount: batchCount).ConfigureAwait(false);
                    return;
                }
                // A graph: each step starts when every step it depends on has finished, so steps with no path
                // between them run at the same time.
                var tasks = new Dictionary<string, Task>();
                Task StartStep(ScriptStep step)
                {
                    if (tasks.TryGetValue(step.Id, out var existing)) return existing;
                    var deps = step.DependsOn.Select(d => StartStep(_script.FindStep(d)!)).ToArray();
                    var task = Task.Run(async () =>
                    {
                        await Task.WhenAll(deps).ConfigureAwait(false);
                        await RunStepAsync(step, batch, outcomes, isHandler: false, batchCount: batchCount).ConfigureAwait(false);
                    });
                    tasks[step.Id] = task;
                    return task;
                }
                var all = _script.Steps.Select(StartStep).ToArray();
                await Task.WhenAll(all).ConfigureAwait(false);
            }

            private async Task RunStepAsync(ScriptStep step, List<FleetHost> batch, ConcurrentDictionary<string, StepOutcome> outcomes, bool isHandler, int batchCount = 1)
            {
                var outcome = new StepOutcome();
                var results = new List<FleetScriptStepResult>();
                var toRun = new List<FleetHost>();
                await ReportAsync($"{(isHandler ? "handler" : "step")} {step.Id}" + (batchCount > 1 ? $" (batch {_batch} of {batchCount})" : ""), 0).ConfigureAwait(false);

                foreach (var host in batch)
                {
                    var state = _hosts[host.Name];
                    string? skip = null, notRun = null;
                    if (_token.IsCancellationRequested) notRun = "cancelled before this step started";
                    else if (_stopped != null && _stopOnFailure) notRun = "not run: " + _stopped;
                    else if (step.On != null)
                    {
                        if (!Selected(step.On, host, outcomes)) skip = $"not selected by {step.On.Text}" + NoReferenceNote(step.On);
                        else if (state.Failed && step.On.Kind != SelectorKind.Failed) notRun = $"the host failed at step '{state.FailedAt}'";
                    }
                    else if (state.Failed) notRun = $"the host failed at step '{state.FailedAt}'";
                    if (skip == null && notRun == null && step.When != null)
                    {
                        try
                        {
                            if (!step.When.RenderCondition(Model(state, null, null))) skip = "when: condition is false";
                        }
                        catch (TemplateException e) { notRun = null; skip = null; results.Add(TemplateFailure(step, host, "when: " + e.Message, isHandler)); MarkFailed(step, state); continue; }
                    }
                    if (skip != null) results.Add(Skipped(step, host, skip, isHandler));
                    else if (notRun != null) results.Add(NotRun(step, host, notRun, isHandler));
                    else toRun.Add(host);
                }
                foreach (var r in results) await EmitAsync(r).ConfigureAwait(false);

                if (step.RunOnce && toRun.Count > 1)
                {
                    var first = toRun[0];
                    foreach (var other in toRun.Skip(1))
                    {
                        var r = Skipped(step, other, $"run_once: ran on {first.Name}", isHandler);
                        results.Add(r);
                        await EmitAsync(r).ConfigureAwait(false);
                    }
                    toRun = new List<FleetHost> { first };
                }

                var ran = await Task.WhenAll(toRun.Select(h => RunOnHostAsync(step, h, isHandler))).ConfigureAwait(false);
                foreach (var list in ran) results.AddRange(list);

                // Fleet-level facts of the step (for selectors and templates), then each host's registered view.
                var perHost = results.GroupBy(r => r.HostName).ToDictionary(g => g.Key, g => g.ToList());
                foreach (var pair in perHost)
                {
                    var anyRan = pair.Value.Any(r => r.Status != FleetScriptStepStatus.Skipped && r.Status != FleetScriptStepStatus.NotRun);
                    if (!anyRan) continue;
                    if (pair.Value.Any(r => IsFailure(r.Status))) outcome.FailedHosts.Add(pair.Key);
                    else if (pair.Value.All(r => r.Status == FleetScriptStepStatus.Succeeded)) outcome.OkHosts.Add(pair.Key);
                    if (pair.Value.Any(r => r.Change == "Changed" || r.Change == "Added")) outcome.Changed.Add(pair.Key);
                }
                var ranResults = results.Where(r => r.Status != FleetScriptStepStatus.Skipped && r.Status != FleetScriptStepStatus.NotRun && r.Item == null).ToList();
                if (ranResults.Count > 0)
                {
                    var majority = ranResults.GroupBy(r => r.OutputHash).OrderByDescending(g => g.Count()).First().Key;
                    foreach (var r in ranResults) if (r.OutputHash != majority) outcome.Differs.Add(r.HostName);
                }
                outcome.Results.AddRange(results);
                outcomes[step.Id] = outcome;
                if (step.RunOnce && ran.Length == 1 && ran[0].Count > 0)
                {
                    // Every host sees the one result, as if it had run there.
                    var view = StepView(ran[0], outcome);
                    foreach (var host in batch) _hosts[host.Name].Steps[step.Id] = view;
                }
                else
                    foreach (var pair in perHost) _hosts[pair.Key].Steps[step.Id] = StepView(pair.Value, outcome);
                await _events.WriteAsync(ScriptEvent.StepEnded(results), CancellationToken.None).ConfigureAwait(false);
                await ReportAsync($"{(isHandler ? "handler" : "step")} {step.Id} done: {outcome.OkHosts.Count} ok, {outcome.FailedHosts.Count} failed", 100).ConfigureAwait(false);
            }

            /// <summary>Why @changed selected nobody when the step it reads had no earlier run to compare with.</summary>
            private string NoReferenceNote(StepSelector selector)
            {
                if (selector.Kind != SelectorKind.Changed || _script.FindStep(selector.StepId!) is not ScriptStep read) return "";
                if (_recordings.TryGetValue(HistoryCommand(read), out var r) && r.Last?.HasReference == true) return "";
                return $" (no earlier finished run of step '{read.Id}' on this selection in the history to compare with)";
            }

            private bool Selected(StepSelector selector, FleetHost host, ConcurrentDictionary<string, StepOutcome> outcomes)
            {
                switch (selector.Kind)
                {
                    case SelectorKind.All: return true;
                    case SelectorKind.Host: return HostGlob.IsGlob(selector.Argument!) ? HostGlob.Parse(selector.Argument!).Matches(host.Name) : selector.Argument == host.Name;
                    case SelectorKind.Tag: return host.Tags.Contains(selector.Argument!);
                }
                if (!outcomes.TryGetValue(selector.StepId!, out var outcome)) return false;
                return selector.Kind switch
                {
                    SelectorKind.Ok => outcome.OkHosts.Contains(host.Name),
                    SelectorKind.Failed => outcome.FailedHosts.Contains(host.Name),
                    SelectorKind.Differs => outcome.Differs.Contains(host.Name),
                    SelectorKind.Changed => outcome.Changed.Contains(host.Name),
                    _ => false,
                };
            }

            /// <summary>Runs a step on one host: each loop item in turn, each with its retries.</summary>
            private async Task<List<FleetScriptStepResult>> RunOnHostAsync(ScriptStep step, FleetHost host, bool isHandler)
            {
                var state = _hosts[host.Name];
                var results = new List<FleetScriptStepResult>();
                List<string?> items;
                try { items = LoopItems(step, state); }
                catch (TemplateException e)
                {
                    var failure = TemplateFailure(step, host, "loop: " + e.Message, isHandler);
                    MarkFailed(step, state);
                    await EmitAsync(failure).ConfigureAwait(false);
                    return new List<FleetScriptStepResult> { failure };
                }
                var ran = new List<FleetScriptStepResult>();
                for (int i = 0; i < items.Count; i++)
                {
                    var item = items[i];
                    if (_token.IsCancellationRequested)
                    {
                        var c = NotRun(step, host, "cancelled", isHandler);
                        c.Status = FleetScriptStepStatus.Cancelled;
                        c.Item = item;
                        results.Add(c);
                        await EmitAsync(c).ConfigureAwait(false);
                        continue;
                    }
                    var (result, reachedHost) = await RunItemAsync(step, state, item, isHandler).ConfigureAwait(false);
                    results.Add(result);
                    if (reachedHost) ran.Add(result);
                    // A loop stops at its first failing item, as a shell loop with set -e does.
                    var last = i == items.Count - 1 || !result.Succeeded || _token.IsCancellationRequested;
                    // One record per host per step (the final attempt; a loop's items together), made before the step's
                    // last result is written so that result carries the step's change since its last run.
                    if (last) RecordStep(step, state.Host, ran, result);
                    await EmitAsync(result).ConfigureAwait(false);
                    if (!result.Succeeded) break;
                }
                var failed = results.Any(r => IsFailure(r.Status) && !r.Ignored) || results.Any(r => r.Status == FleetScriptStepStatus.Cancelled);
                if (failed) MarkFailed(step, state);
                else if (results.Count > 0 && results.All(r => r.Status == FleetScriptStepStatus.Succeeded))
                    foreach (var h in step.Notify) state.Notified.TryAdd(h, 0);
                return results;
            }

            private void MarkFailed(ScriptStep step, HostState state)
            {
                if (step.IgnoreError) return;
                state.FailedAt ??= step.Id;
                if (_stopOnFailure) _stopped ??= $"'{state.Host.Name}' failed at step '{step.Id}' and " + (_script.Strategy.StopOnFailure ? "the script says on_failure: stop" : "the run was told to fail fast");
            }

            private List<string?> LoopItems(ScriptStep step, HostState state)
            {
                if (step.LoopItems != null)
                {
                    var model = Model(state, null, null);
                    return step.LoopItems.Select(t => (string?)t.Render(model)).ToList();
                }
                if (step.LoopVariable != null)
                {
                    object? value = Model(state, null, null);
                    foreach (var part in step.LoopVariable.Split('.'))
                        value = value is IReadOnlyDictionary<string, object?> map && map.TryGetValue(part, out var v) ? v : throw new TemplateException($"{step.LoopVariable} is not defined");
                    if (value is string s) return s.Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(x => (string?)x.TrimEnd('\r')).ToList();
                    if (value is System.Collections.IEnumerable list) return list.Cast<object?>().Select(x => (string?)Convert.ToString(x, System.Globalization.CultureInfo.InvariantCulture)).ToList();
                    throw new TemplateException($"{step.LoopVariable} is not a list");
                }
                return new List<string?> { null };
            }

            /// <summary>One loop item (or the step) with its retries; <c>ReachedHost</c> is false when a template failed before anything ran.</summary>
            private async Task<(FleetScriptStepResult Result, bool ReachedHost)> RunItemAsync(ScriptStep step, HostState state, string? item, bool isHandler)
            {
                bool reachedHost = true;
                var host = state.Host;
                FleetScriptStepResult result;
                int attempts = 0;
                var started = DateTime.UtcNow;
                var watch = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    attempts++;
                    try
                    {
                        result = await ExecuteOnceAsync(step, state, item, isHandler).ConfigureAwait(false);
                    }
                    catch (TemplateException e)
                    {
                        result = TemplateFailure(step, host, e.Message, isHandler);
                        result.Item = item;
                        reachedHost = attempts > 1;
                        break;
                    }
                    bool done = result.Status == FleetScriptStepStatus.Cancelled;
                    if (!done && step.Until != null && result.Status != FleetScriptStepStatus.Unreachable)
                    {
                        bool met;
                        try { met = step.Until.RenderCondition(Model(state, item, result)); }
                        catch (TemplateException e) { result.Status = FleetScriptStepStatus.Failed; result.ErrorMessage = "until: " + e.Message; break; }
                        if (met) { if (result.Status == FleetScriptStepStatus.Failed) { result.Status = FleetScriptStepStatus.Succeeded; } done = true; }
                        else if (attempts > StepSettings.Retries(step, _params))
                        {
                            result.Status = FleetScriptStepStatus.Failed;
                            result.ErrorMessage = $"until: the condition did not hold after {attempts} attempt(s)";
                            done = true;
                        }
                    }
                    else if (!done) done = result.Status == FleetScriptStepStatus.Succeeded || attempts > StepSettings.Retries(step, _params);
                    if (done) break;
                    try { await Task.Delay(StepSettings.RetryDelay(step, _params), _token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
                result.Attempts = attempts;
                result.StartTime = started;
                result.Duration = watch.Elapsed;
                if (IsFailure(result.Status) && step.IgnoreError) result.Ignored = true;
                return (result, reachedHost);
            }

            /// <summary>One attempt of one step on one host (and loop item), through the runner or the file transfer.</summary>
            private async Task<FleetScriptStepResult> ExecuteOnceAsync(ScriptStep step, HostState state, string? item, bool isHandler)
            {
                var host = state.Host;
                var model = Model(state, item, null);
                var result = new FleetScriptStepResult
                {
                    Script = _script.Name,
                    StepId = step.Id,
                    HostName = host.Name,
                    Item = item,
                    Batch = _batch,
                    IsHandler = isHandler,
                };
                if (step.Action == StepAction.Upload || step.Action == StepAction.Download)
                    return await TransferAsync(step, host, model, result).ConfigureAwait(false);

                FleetHost runOn = host;
                if (step.Action == StepAction.Local) runOn = LocalHost();
                else if (step.DelegateTo != null) runOn = Delegate(step.DelegateTo.Render(model));
                if (!ReferenceEquals(runOn, host)) result.RanOn = runOn.Name;

                string command;
                if (step.Action == StepAction.Script)
                {
                    var path = step.Source!.Render(model);
                    var full = Path.GetFullPath(Path.IsPathRooted(path) || _script.Origin != ScriptOrigin.File ? path : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_script.Source)) ?? "", path));
                    var info = new FileInfo(full);
                    if (!info.Exists) throw new TemplateException($"script: {path} does not exist");
                    if (info.Length > MaxLocalScriptBytes) throw new TemplateException($"script: {path} is {info.Length:N0} bytes; at most {MaxLocalScriptBytes:N0}");
                    var body = File.ReadAllText(full);
                    command = "/bin/sh -c " + ShellQuote.Single(body) + " " + ShellQuote.Single(Path.GetFileName(full)) + (step.Command != null ? " " + step.Command.Render(model) : "");
                }
                else command = step.Command!.Render(model);
                result.Command = command;

                bool withPassword = step.Sudo && _options.SudoPassword != null;
                var sent = step.Sudo ? SudoCommand(command, step.SudoUser, withPassword) : command;
                var fleet = await RunCommandAsync(runOn, sent, step, withPassword).ConfigureAwait(false);
                Fill(result, fleet, step);
                result.Transport = fleet.Transport;
                fleet.ReleaseOutput();
                return result;
            }

            private void Fill(FleetScriptStepResult result, FleetResult fleet, ScriptStep step)
            {
                result.Status = StatusOf(fleet.Status);
                result.ExitCode = fleet.ExitCode;
                if (fleet.Status == FleetStatus.Failed && fleet.ExitCode is int code && step.AllowedExitCodes.Contains(code)) result.Status = FleetScriptStepStatus.Succeeded;
                if (fleet.Status == FleetStatus.Succeeded && !step.AllowedExitCodes.Contains(0)) result.Status = FleetScriptStepStatus.Failed;
                result.StdOut = fleet.StdOut;
                result.StdErr = fleet.StdErr;
                result.ErrorKind = fleet.ErrorKind;
                result.ErrorMessage = fleet.ErrorMessage ?? (result.Status == FleetScriptStepStatus.Failed ? $"exit code {fleet.ExitCode}" : null);
                result.OutputHash = fleet.OutputHash;
                if (step.Parse != null) result.Parsed = OutputParser.Find(step.Parse, _target.Inventory.Parsers).Parse(fleet.StdOut);
            }

            private async Task<FleetResult> RunCommandAsync(FleetHost runOn, string command, ScriptStep step, bool withPassword)
            {
                var timeout = StepSettings.Timeout(step, _params);
                var options = new FleetRunOptions
                {
                    Throttle = 1,
                    CommandTimeout = timeout ?? _runOptions.CommandTimeout,
                    HostTimeoutsApply = timeout == null && _runOptions.HostTimeoutsApply,
                    ConnectTimeout = _runOptions.ConnectTimeout,
                    StopGrace = _runOptions.StopGrace,
                    Retries = _runOptions.Retries,
                    RetryBaseDelay = _runOptions.RetryBaseDelay,
                    RetryMaxDelay = _runOptions.RetryMaxDelay,
                    RetryOnFailure = _runOptions.RetryOnFailure,
                    MaxOutputBytes = _runOptions.MaxOutputBytes,
                };
                var raw = step.Raw || _request.Raw;
                // The password goes on stdin only. With the wrapper it reads that one line and hands it to sudo -S,
                // and still watches stdin, so a timeout or Ctrl-C ends the remote command; a raw command gets it as
                // its stdin (and a stop then ends only our side, as for any raw command).
                var prepare = withPassword
                    ? (h, invocation) =>
                    {
                        var line = Encoding.UTF8.GetBytes(_options.SudoPassword + "\n");
                        if (raw) invocation.Stdin = line;
                        else invocation.CommandInputLine = line;
                    }
                    : (Action<FleetHost, RemoteInvocation>?)null;
                await _throttle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    using var run = _runner.Start(new[] { runOn }, command, options, null, _token, raw: raw, prepare);
                    FleetResult? last = null;
                    await foreach (var r in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false)) last = r;
                    return last!;
                }
                finally { _throttle.Release(); }
            }

            private async Task<FleetScriptStepResult> TransferAsync(ScriptStep step, FleetHost host, IReadOnlyDictionary<string, object?> model, FleetScriptStepResult result)
            {
                var source = step.Source!.Render(model);
                var dest = step.Destination!.Render(model);
                var target = new FleetTarget(_target.Inventory, new[] { host }, null);
                result.Command = step.Action == StepAction.Upload ? $"upload {source} -> {dest}" : $"download {source} -> {dest}";
                await _throttle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    IAsyncEnumerable<FileTransferResult> transfers;
                    if (step.Action == StepAction.Upload)
                    {
                        var local = Path.IsPathRooted(source) || _script.Origin != ScriptOrigin.File ? source : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_script.Source)) ?? "", source);
                        transfers = FileTransfer.PushAsync(target, _request, local, dest, new FilePushOptions { Force = step.Force, Mode = step.Mode }, null, _token);
                    }
                    else transfers = FileTransfer.PullAsync(target, _request, source, dest, new FilePullOptions { Force = step.Force }, null, _token);
                    try
                    {
                        await foreach (var t in transfers.ConfigureAwait(false))
                        {
                            result.Status = t.Succeeded ? FleetScriptStepStatus.Succeeded
                                : t.Status == FileTransferStatus.Cancelled ? FleetScriptStepStatus.Cancelled
                                : t.Status == FileTransferStatus.Unreachable ? FleetScriptStepStatus.Unreachable
                                : t.Status == FileTransferStatus.TimedOut ? FleetScriptStepStatus.TimedOut : FleetScriptStepStatus.Failed;
                            result.StdOut = $"{t.Status}: {t.LocalPath} {(t.Direction == FileTransferDirection.Push ? "->" : "<-")} {t.RemotePath} ({t.Bytes} bytes{(t.Sha256 != null ? ", sha256 " + t.Sha256 : "")})";
                            result.ErrorKind = t.ErrorKind;
                            result.ErrorMessage = t.ErrorMessage;
                            result.OutputHash = t.Sha256 ?? "";
                        }
                    }
                    catch (Exception e) when (e is IOException || e is ArgumentException || e is UnauthorizedAccessException)
                    {
                        result.Status = FleetScriptStepStatus.Failed;
                        result.ErrorMessage = e.Message;
                    }
                }
                finally { _throttle.Release(); }
                return result;
            }

            private FleetHost LocalHost() => new FleetHost(FleetInventory.LocalHostName) { Transport = HostTransportKind.Local };

            /// <summary>delegate_to: a host of the inventory by name, localhost (this machine), or [user@]host[:port].</summary>
            private FleetHost Delegate(string name)
            {
                if (name == FleetInventory.LocalHostName) return _target.Inventory.Hosts.FirstOrDefault(h => h.Name == name) ?? LocalHost();
                var known = _target.Inventory.Hosts.FirstOrDefault(h => h.Name == name);
                if (known != null) return known;
                if (FleetHost.TryParseAdHoc(name, out var adHoc, out var reason)) return adHoc!;
                throw new TemplateException("delegate_to: " + reason);
            }

            /// <summary>What templates see: params, host, steps (this host's view of each finished step), registers, item, result.</summary>
            private IReadOnlyDictionary<string, object?> Model(HostState state, string? item, FleetScriptStepResult? result)
            {
                var host = state.Host;
                var steps = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var pair in state.Steps) steps[pair.Key] = pair.Value;
                var model = new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["params"] = _params,
                    ["host"] = new Dictionary<string, object?>
                    {
                        ["name"] = host.Name,
                        ["tags"] = host.Tags.ToList(),
                        ["groups"] = host.Groups.ToList(),
                        ["address"] = host.Address ?? host.Name,
                        ["user"] = host.User ?? _request.User ?? "",
                        ["port"] = host.Port ?? 22,
                    },
                    ["steps"] = steps,
                };
                foreach (var step in _script.Steps.Concat(_script.Handlers))
                    if (step.Register != null && state.Steps.TryGetValue(step.Id, out var view)) model[step.Register] = view;
                if (item != null) model["item"] = item;
                if (result != null) model["result"] = ResultView(result);
                return model;
            }

            private static Dictionary<string, object?> ResultView(FleetScriptStepResult r) => new Dictionary<string, object?>
            {
                // Without the final line break, as a shell's $(...) gives it: "{{ steps.x.stdout }}" fits in a command.
                ["stdout"] = PowerShellView.WithoutFinalLineBreak(r.StdOut),
                ["stderr"] = PowerShellView.WithoutFinalLineBreak(r.StdErr),
                ["exit_code"] = r.ExitCode,
                ["status"] = r.Status.ToString(),
                ["ok"] = r.Status == FleetScriptStepStatus.Succeeded,
                ["failed"] = IsFailure(r.Status),
                ["stdout_lines"] = r.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList(),
                ["parsed"] = new Dictionary<string, object?>(r.Parsed),
            };

            private static Dictionary<string, object?> StepView(List<FleetScriptStepResult> results, StepOutcome outcome)
            {
                var last = results.LastOrDefault(r => r.Status != FleetScriptStepStatus.Skipped && r.Status != FleetScriptStepStatus.NotRun) ?? results.Last();
                var view = ResultView(last);
                view["skipped"] = last.Status == FleetScriptStepStatus.Skipped || last.Status == FleetScriptStepStatus.NotRun;
                view["results"] = results.Select(r => (object?)ResultView(r)).ToList();
                view["ok_hosts"] = outcome.OkHosts.ToList();
                view["failed_hosts"] = outcome.FailedHosts.ToList();
                return view;
            }

            /// <summary>
            /// Records a step's outcome on one host as one result of the step's history run, and puts the change since
            /// the step's last run (--diff-last, @changed) on <paramref name="last"/>. A step without a loop records its
            /// final attempt; a loop records its items as one result (each item's output under an "[item x]" line, the
            /// last item's exit code and the worst status), so a step is one recorded step however many items it has.
            /// Nothing is recorded for a host where nothing ran (a template that failed first).
            /// </summary>
            private void RecordStep(ScriptStep step, FleetHost host, List<FleetScriptStepResult> ran, FleetScriptStepResult last)
            {
                if (ran.Count == 0 || _compareWith == null) return;
                var fleet = step.HasLoop ? Combined(step, host, ran) : AsFleetResult(ran[0], host);
                var change = Record(step, fleet);
                if (change == null) return;
                last.Change = change.Change.ToString();
                last.Diff = change.Change == HostChangeKind.Changed ? change.Diff : "";
            }

            /// <summary>A step's result as the history keeps it: the command as written (never the sudo wrapper, never a password).</summary>
            private static FleetResult AsFleetResult(FleetScriptStepResult r, FleetHost host) => new FleetResult
            {
                HostName = r.HostName,
                Command = r.Command,
                Status = FleetStatusOf(r.Status),
                ExitCode = r.ExitCode,
                StdOut = r.StdOut,
                StdErr = r.StdErr,
                StartTime = r.StartTime,
                Duration = r.Duration,
                Attempts = r.Attempts,
                Transport = r.Transport,
                ErrorKind = r.ErrorKind,
                ErrorMessage = r.ErrorMessage,
                OutputHash = r.OutputHash.Length > 0 ? r.OutputHash : OutputCapture.HashOf(r.StdOut, r.StdErr, r.ExitCode),
                Groups = new NameList(host.Groups),
                Tags = new NameList(host.Tags),
            };

            private static FleetResult Combined(ScriptStep step, FleetHost host, List<FleetScriptStepResult> items)
            {
                static string Block(string text) => text.Length == 0 || text.EndsWith("\n", StringComparison.Ordinal) ? text : text + "\n";
                var stdout = new StringBuilder();
                var stderr = new StringBuilder();
                foreach (var r in items)
                {
                    stdout.Append("[item ").Append(r.Item).Append("]\n").Append(Block(r.StdOut));
                    if (r.StdErr.Length > 0) stderr.Append("[item ").Append(r.Item).Append("]\n").Append(Block(r.StdErr));
                }
                var worst = items.FirstOrDefault(r => !r.Succeeded) ?? items[items.Count - 1];
                var combined = AsFleetResult(worst, host);
                combined.Command = step.Describe();
                combined.ExitCode = items[items.Count - 1].ExitCode;
                combined.StdOut = stdout.ToString();
                combined.StdErr = stderr.ToString();
                combined.StartTime = items[0].StartTime;
                combined.Duration = TimeSpan.FromTicks(items.Sum(r => r.Duration.Ticks));
                combined.Attempts = items.Sum(r => r.Attempts);
                combined.OutputHash = OutputCapture.HashOf(combined.StdOut, combined.StdErr, combined.ExitCode);
                return combined;
            }

            private static FleetStatus FleetStatusOf(FleetScriptStepStatus status) => status switch
            {
                FleetScriptStepStatus.Succeeded => FleetStatus.Succeeded,
                FleetScriptStepStatus.Unreachable => FleetStatus.Unreachable,
                FleetScriptStepStatus.TimedOut => FleetStatus.TimedOut,
                FleetScriptStepStatus.Cancelled => FleetStatus.Cancelled,
                _ => FleetStatus.Failed,
            };

            private HostChange? Record(ScriptStep step, FleetResult fleet)
            {
                if (_compareWith == null) return null;
                var key = HistoryCommand(step);
                // One run per step: ConcurrentDictionary.GetOrAdd may call its factory for two hosts that finish the step at
                // the same moment, and each call begins a run in the history; the one not kept stayed there, empty and
                // never finished (and, being newer, was what `herd history` showed first). So the first result of a step
                // begins its run under a lock; later results find it without one.
                if (!_recordings.TryGetValue(key, out var recording))
                    lock (_recordings)
                        recording = _recordings.GetOrAdd(key, Begin);
                lock (recording)
                {
                    recording.Recorder?.Add(fleet);
                    return recording.Last?.Add(fleet);
                }

                StepRecording Begin(string k)
                {
                    var r = new StepRecording();
                    try
                    {
                        // The reference is read before this run's record of the step is begun, so it is never this run.
                        if (_options.DiffLast || _changedSelected.Contains(step.Id)) r.Last = FleetHistory.CompareWithLast(_compareWith, k, _selection);
                        if (_history != null)
                        {
                            r.Recorder = HistoryRecorder.Begin(_history, HistoryKind, k, _selection, DateTime.UtcNow);
                            lock (_gate) _runIds.Add(r.Recorder.RunId);
                        }
                    }
                    catch (HistoryException) { /* recording is secondary: the step still runs and reports */ }
                    return r;
                }
            }

            /// <summary>How a step is named in the history: the script, the step and the command as written.</summary>
            private string HistoryCommand(ScriptStep step) => $"{_script.Name}#{step.Id}: {step.Describe()}";

            public void CloseHistory()
            {
                foreach (var r in _recordings.Values)
                {
                    lock (r)
                    {
                        if (r.Recorder == null) continue;
                        if (_token.IsCancellationRequested) r.Recorder.Abandon(); else r.Recorder.Complete(DateTime.UtcNow);
                        r.Recorder.Dispose();
                        r.Recorder = null;
                    }
                }
            }

            private FleetScriptStepResult Skipped(ScriptStep step, FleetHost host, string why, bool isHandler) => new FleetScriptStepResult
            {
                Script = _script.Name, StepId = step.Id, HostName = host.Name, Status = FleetScriptStepStatus.Skipped, ErrorMessage = why,
                Batch = _batch, IsHandler = isHandler, StartTime = DateTime.UtcNow, Command = step.Describe(),
            };

            private FleetScriptStepResult NotRun(ScriptStep step, FleetHost host, string why, bool isHandler = false)
            {
                var state = _hosts[host.Name];
                if (!state.Failed && (why.StartsWith("not run:", StringComparison.Ordinal) || why.StartsWith("cancelled", StringComparison.Ordinal))) state.FailedAt = "(not run)";
                return new FleetScriptStepResult
                {
                    Script = _script.Name, StepId = step.Id, HostName = host.Name,
                    Status = why.StartsWith("cancelled", StringComparison.Ordinal) ? FleetScriptStepStatus.Cancelled : FleetScriptStepStatus.NotRun,
                    ErrorMessage = why, Batch = _batch, IsHandler = isHandler, StartTime = DateTime.UtcNow, Command = step.Describe(),
                };
            }

            private FleetScriptStepResult TemplateFailure(ScriptStep step, FleetHost host, string message, bool isHandler) => new FleetScriptStepResult
            {
                Script = _script.Name, StepId = step.Id, HostName = host.Name, Status = FleetScriptStepStatus.Failed,
                ErrorMessage = "template: " + message, Batch = _batch, IsHandler = isHandler, StartTime = DateTime.UtcNow, Command = step.Describe(),
            };

            private ValueTask EmitAsync(FleetScriptStepResult result) => _events.WriteAsync(ScriptEvent.Of(result), CancellationToken.None);

            private ValueTask ReportAsync(string text, int percent) => _events.WriteAsync(ScriptEvent.Of(text, percent), CancellationToken.None);
        }
    }
}
