using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Inventory;
using HerdPS.Watch;

namespace HerdPS.Notify
{
    /// <summary>What happened to a notification, for the front end to show (a warning for Failed and Dropped).</summary>
    public enum NotifyReportKind
    {
        Sent,
        /// <summary>Held back by the target's cooldown; it goes out, with whatever else happens meanwhile, when the cooldown ends.</summary>
        Held,
        /// <summary>Every attempt failed (or herd was ending and could not wait): recorded in the history too.</summary>
        Failed,
        /// <summary>The target's queue was full (it is slow or down): this message was not sent. Recorded in the history too.</summary>
        Dropped,
    }

    public sealed class NotifyReport
    {
        public NotifyReport(NotifyReportKind kind, string target, string eventName, string message)
        {
            Kind = kind;
            Target = target;
            Event = eventName;
            Message = message;
        }

        public NotifyReportKind Kind { get; }
        public string Target { get; }
        public string Event { get; }
        /// <summary>A sentence for people, scrubbed of secrets.</summary>
        public string Message { get; }
        public bool IsProblem => Kind == NotifyReportKind.Failed || Kind == NotifyReportKind.Dropped;

        public override string ToString() => Message;
    }

    /// <summary>What a run tells its notifier about itself.</summary>
    public sealed class NotifyOptions
    {
        /// <summary>Names given with --notify / -Notify, in order.</summary>
        public List<string> Names { get; } = new List<string>();
        /// <summary>--notify-on-resolve: also tell targets when a host they were told failed recovers.</summary>
        public bool OnResolve { get; set; }
        public NotificationSecrets Secrets { get; set; } = new NotificationSecrets();
        public string Command { get; set; } = "";
        public string Selection { get; set; } = "";
        /// <summary>Where delivery failures are recorded (a run of kind notify); null records nothing.</summary>
        public Func<HistoryStore?>? OpenHistory { get; set; }
        /// <summary>Reports as they happen (any thread); the front end shows them.</summary>
        public Action<NotifyReport>? Reports { get; set; }
        /// <summary>Messages a target may have waiting; past it new ones are dropped (and reported), never blocking the run.</summary>
        public int QueueLength { get; set; } = 32;
        /// <summary>First delay between attempts (doubled each time, with jitter, up to 30 s).</summary>
        public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>The clock (tests turn it).</summary>
        public Func<DateTime> Clock { get; set; } = () => DateTime.UtcNow;
    }

    /// <summary>
    /// Sends a run's events to the notifications it names (<c>--notify</c>, <c>-Notify</c>): decides from each result
    /// what happened (failure, change, timeout, resolve), applies each target's events and cooldowns
    /// (<see cref="NotificationPolicy"/>), and delivers in the background. Observing a result never waits on a
    /// delivery: each target has a bounded queue and a worker of its own that sends one message at a time, each
    /// attempt with the target's timeout, failed attempts retried with backoff. A message that can't be delivered
    /// is reported (warning) and recorded in the history as a run of kind <c>notify</c>, never lost silently; so is
    /// one dropped because its target's queue is full. <see cref="FinishAsync"/> sends what cooldowns held back and
    /// waits (within a limit) for what is still on its way.
    /// </summary>
    public sealed class FleetNotifier : IDisposable
    {
        /// <summary>What the history calls a delivery failure's run.</summary>
        public const string HistoryKind = "notify";

        private readonly NotifyOptions _options;
        private readonly List<TargetState> _targets;
        private readonly HttpClient _http;
        private readonly CancellationTokenSource _shutdown = new CancellationTokenSource();
        private readonly object _gate = new object();
        private readonly Dictionary<string, FleetStatus> _lastStatus = new Dictionary<string, FleetStatus>(StringComparer.OrdinalIgnoreCase);
        private readonly List<WatchResult> _iteration = new List<WatchResult>();
        private readonly List<(FleetResult Result, HostChange? Change)> _exec = new List<(FleetResult, HostChange?)>();
        private Timer? _timer;

        private FleetNotifier(NotifyOptions options, List<NotificationTarget> targets)
        {
            _options = options;
            _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _targets = targets.Select(t => new TargetState(t, this)).ToList();
            _timer = new Timer(_ => FlushDue(all: false), null, System.Threading.Timeout.Infinite, System.Threading.Timeout.Infinite);
        }

        public IReadOnlyList<NotificationTarget> Targets => _targets.Select(t => t.Target).ToList();

        /// <summary>
        /// The notifier for the names in <paramref name="options"/>, or null when none is named. An unknown name, a
        /// body template that doesn't parse or a <c>${VAR}</c> that isn't set is an <see cref="InventoryException"/>
        /// (exit 2, nothing run).
        /// </summary>
        public static FleetNotifier? Create(FleetInventory inventory, NotifyOptions options)
        {
            if (inventory == null) throw new ArgumentNullException(nameof(inventory));
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.Names.Count == 0) return null;
            return new FleetNotifier(options, options.Names.Distinct(StringComparer.Ordinal).Select(n => Find(inventory, n, options.Secrets)).ToList());
        }

        /// <summary>
        /// The front ends' way in: the notifier of a run (exec, a watch) over <paramref name="target"/>, naming the
        /// request's selection, recording delivery failures where the run records (none with --no-history).
        /// </summary>
        public static FleetNotifier? ForRun(FleetTarget target, FleetCommandRequest request, IEnumerable<string>? names, bool onResolve, string command,
            NotificationSecrets? secrets, Action<NotifyReport>? reports)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            var options = new NotifyOptions
            {
                OnResolve = onResolve,
                Secrets = secrets ?? new NotificationSecrets(),
                Command = command,
                Selection = FleetHistory.SelectionText(request.Selection),
                OpenHistory = () => FleetHistory.OpenForRun(request, target),
                Reports = reports,
            };
            foreach (var name in names ?? Array.Empty<string>())
                foreach (var part in name.Split(','))
                    if (part.Trim().Length > 0) options.Names.Add(part.Trim());
            if (onResolve && options.Names.Count == 0) throw new ArgumentException("--notify-on-resolve (-NotifyOnResolve) needs a notification to send to: add --notify NAME (-Notify NAME)");
            return Create(target.Inventory, options);
        }

        /// <summary>
        /// How long a run's end waits for messages still on their way: every attempt of the slowest target (its timeout
        /// times its attempts, plus the backoff between them), at most a minute.
        /// </summary>
        public TimeSpan FinishWait
        {
            get
            {
                var longest = TimeSpan.Zero;
                foreach (var t in _targets.Select(s => s.Target))
                {
                    var attempts = 1 + Math.Max(0, t.Retries);
                    var backoff = TimeSpan.FromMilliseconds(Enumerable.Range(1, attempts - 1).Sum(a => Math.Min(30_000, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, a - 1))));
                    var total = TimeSpan.FromTicks(t.Timeout.Ticks * attempts) + backoff + TimeSpan.FromSeconds(1);
                    if (total > longest) longest = total;
                }
                return longest > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : longest;
            }
        }

        /// <summary>The named notification of an inventory, checked and ready to send.</summary>
        public static NotificationTarget Find(FleetInventory inventory, string name, NotificationSecrets secrets)
        {
            var definition = inventory.Notifications.FirstOrDefault(n => n.Name == name);
            if (definition == null)
            {
                var where = inventory.SourcePath ?? "the built-in inventory (no inventory file was found)";
                var known = inventory.Notifications.Count == 0 ? "it defines no notifications (see docs/notifications.md)" : "it defines " + string.Join(", ", inventory.Notifications.Select(n => n.Name));
                throw new InventoryException($"no notification named '{Display.TerminalText.Line(name, 80)}' in {where}: {known}");
            }
            return NotificationTarget.Create(definition, secrets);
        }

        // ---------------------------------------------------------------- what a run tells it

        /// <summary>
        /// A watch result. Events are decided per iteration, when its last result arrives: failure (Failed or
        /// Unreachable), timeout (TimedOut), change (Changed), resolve (Succeeded after a failure or timeout).
        /// </summary>
        public void Observe(WatchResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            List<WatchResult> iteration;
            lock (_gate)
            {
                _iteration.Add(result);
                if (!result.IsLastOfIteration) return;
                iteration = _iteration.ToList();
                _iteration.Clear();
            }
            var first = iteration[0];
            Decide(iteration.Select(r => (r.Result, Previous(r.Result.HostName, r.PreviousStatus), r.Changed, r.Diff)).ToList(),
                e => { e.RunKind = "watch"; e.Iteration = first.Iteration; e.WatchId = first.WatchId; e.RunId = first.HistoryRunId; e.TimeUtc = first.IterationStartedUtc; });
        }

        /// <summary>An exec result, with its comparison to the last run when there is one (--diff-last): changes and recoveries come only from that.</summary>
        public void Observe(FleetResult result, HostChange? change = null)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            lock (_gate) _exec.Add((result, change));
        }

        /// <summary>The exec run is over: its events are decided and queued.</summary>
        public void CompleteExec(long? runId = null)
        {
            List<(FleetResult Result, HostChange? Change)> results;
            lock (_gate)
            {
                results = _exec.ToList();
                _exec.Clear();
            }
            Decide(results.Select(r => (r.Result, r.Change?.ReferenceStatus, r.Change?.Change == HostChangeKind.Changed, r.Change?.Diff ?? "")).ToList(),
                e => { e.RunKind = "exec"; e.RunId = runId; });
        }

        private FleetStatus? Previous(string host, FleetStatus? fromWatch)
        {
            lock (_gate) return fromWatch ?? (_lastStatus.TryGetValue(host, out var s) ? s : (FleetStatus?)null);
        }

        private void Decide(IReadOnlyList<(FleetResult Result, FleetStatus? Previous, bool Changed, string Diff)> results, Action<NotificationEvent> describe)
        {
            var byKind = new Dictionary<NotificationEventKind, NotificationEvent>();
            void Add(NotificationEventKind kind, NotifiedHost host)
            {
                if (!byKind.TryGetValue(kind, out var e))
                {
                    e = new NotificationEvent { Kind = kind, Command = _options.Command, Selection = _options.Selection, TotalHosts = results.Count };
                    describe(e);
                    byKind[kind] = e;
                }
                e.Hosts.Add(host);
            }
            foreach (var (result, previous, changed, diff) in results.OrderBy(r => r.Result.HostName, StringComparer.Ordinal))
            {
                if (result.Status == FleetStatus.Cancelled) continue; // a stopped run says nothing about the host
                var host = NotifiedHost.From(result, previous, diff);
                if (result.Status == FleetStatus.Failed || result.Status == FleetStatus.Unreachable) Add(NotificationEventKind.Failure, host);
                else if (result.Status == FleetStatus.TimedOut) Add(NotificationEventKind.Timeout, host);
                else if (result.Status == FleetStatus.Succeeded && previous is FleetStatus before && before != FleetStatus.Succeeded && before != FleetStatus.Cancelled)
                    Add(NotificationEventKind.Resolve, host);
                if (changed) Add(NotificationEventKind.Change, host);
                lock (_gate) _lastStatus[result.HostName] = result.Status;
            }
            var now = _options.Clock();
            foreach (var target in _targets)
                foreach (var e in byKind.Values.OrderBy(e => e.Kind))
                    if (target.Wants(e.Kind)) target.Offer(e, now);
            Reschedule();
        }

        // ---------------------------------------------------------------- sending

        /// <summary>
        /// Sends a sample event to one target at once (no cooldown), for <c>herd notify test</c>: every attempt, as a
        /// run would; returns how the last one went.
        /// </summary>
        public static async Task<DeliveryAttempt> TestAsync(NotificationTarget target, NotificationEvent sample, NotifyOptions options, CancellationToken cancellationToken)
        {
            using var notifier = new FleetNotifier(options, new List<NotificationTarget> { target });
            return await notifier._targets[0].DeliverAsync(sample, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The run is over: sends what cooldowns held, then waits up to <paramref name="wait"/> for every queue to empty; what is left is reported failed.</summary>
        public async Task FinishAsync(TimeSpan wait)
        {
            var timer = Interlocked.Exchange(ref _timer, null);
            timer?.Dispose();
            FlushDue(all: true);
            foreach (var t in _targets) t.Close();
            var all = Task.WhenAll(_targets.Select(t => t.Worker));
            if (await Task.WhenAny(all, Task.Delay(wait)).ConfigureAwait(false) != all)
            {
                _shutdown.Cancel(); // the workers report what they could not deliver
                await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            }
        }

        private void FlushDue(bool all)
        {
            var now = _options.Clock();
            foreach (var t in _targets) t.Flush(now, all);
            if (!all && Volatile.Read(ref _timer) != null) Reschedule();
        }

        /// <summary>Wakes at the earliest held event's due time (tests may also call <see cref="FlushDueNow"/> after turning their clock).</summary>
        private void Reschedule()
        {
            DateTime? next = null;
            foreach (var t in _targets)
                if (t.NextDue is DateTime due && (next == null || due < next)) next = due;
            if (next == null) return;
            var delay = next.Value - _options.Clock();
            if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
            try { _timer?.Change(delay + TimeSpan.FromMilliseconds(10), System.Threading.Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { }
        }

        /// <summary>Sends held events that are due by the clock now (tests that turn the clock call this instead of waiting for the timer).</summary>
        public void FlushDueNow() => FlushDue(all: false);

        private void Report(NotifyReport report)
        {
            try { _options.Reports?.Invoke(report); }
            catch (Exception) { /* a front end's rendering problem must not stop deliveries */ }
        }

        /// <summary>A delivery failure in the history: a run of kind notify naming the target and the event, its error (scrubbed) as the result.</summary>
        private void Record(NotificationTarget target, NotificationEvent e, string message, DateTime startedUtc)
        {
            if (_options.OpenHistory == null) return;
            try
            {
                using var store = _options.OpenHistory();
                if (store == null) return;
                using var recorder = HistoryRecorder.Begin(store, HistoryKind, $"notify {target.Name}: {e.EventName}", _options.Selection, startedUtc);
                recorder.Add(new FleetResult
                {
                    HostName = target.Name,
                    Command = $"notify {target.Name}: {e.EventName}",
                    Status = FleetStatus.Failed,
                    ErrorKind = FleetErrorKind.TransportError,
                    ErrorMessage = message,
                    StartTime = startedUtc,
                    Duration = DateTime.UtcNow - startedUtc,
                    OutputHash = "",
                });
                recorder.Complete(DateTime.UtcNow);
            }
            catch (Exception x) when (!(x is OutOfMemoryException))
            {
                Report(new NotifyReport(NotifyReportKind.Failed, target.Name, e.EventName, $"recording the failed notification '{target.Name}' in the history failed too: {_options.Secrets.Scrub(x.Message)}"));
            }
        }

        public void Dispose()
        {
            _shutdown.Cancel();
            foreach (var t in _targets) t.Close();
            _timer?.Dispose();
            _timer = null;
            _http.Dispose();
        }

        /// <summary>One target: its policy, its queue and the worker that empties it.</summary>
        private sealed class TargetState
        {
            private readonly FleetNotifier _owner;
            private readonly NotificationPolicy _policy;
            private readonly Channel<NotificationEvent> _queue;

            public TargetState(NotificationTarget target, FleetNotifier owner)
            {
                Target = target;
                _owner = owner;
                _policy = new NotificationPolicy(target.Cooldown);
                _queue = Channel.CreateBounded<NotificationEvent>(new BoundedChannelOptions(Math.Max(1, owner._options.QueueLength)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
                Worker = Task.Run(WorkAsync);
            }

            public NotificationTarget Target { get; }
            public Task Worker { get; }

            public DateTime? NextDue { get { lock (_policy) return _policy.NextDue; } }

            public bool Wants(NotificationEventKind kind) =>
                Target.Events.Contains(kind) || kind == NotificationEventKind.Resolve && _owner._options.OnResolve;

            public void Offer(NotificationEvent e, DateTime now)
            {
                NotificationEvent? send;
                bool held;
                lock (_policy) send = _policy.Offer(e, now, out held);
                if (send != null) Enqueue(send);
                else if (held)
                {
                    _owner.Report(new NotifyReport(NotifyReportKind.Held, Target.Name, e.EventName,
                        $"notification '{Target.Name}' ({e.EventName}): held by the {NotificationTarget.Seconds(Target.Cooldown)} cooldown; it goes out, with what happens meanwhile, when the cooldown ends"));
                }
            }

            public void Flush(DateTime now, bool all)
            {
                IReadOnlyList<NotificationEvent> due;
                lock (_policy) due = _policy.Due(now, all);
                foreach (var e in due) Enqueue(e);
            }

            private void Enqueue(NotificationEvent e)
            {
                // Never waits: a run goes on whatever the target does. A full queue drops this message, and says so.
                if (_queue.Writer.TryWrite(e)) return;
                var message = $"notification '{Target.Name}' ({e.EventName}) was dropped: {_owner._options.QueueLength} messages are already waiting for {Target.Describe()} (it is slow or down)";
                _owner.Report(new NotifyReport(NotifyReportKind.Dropped, Target.Name, e.EventName, message));
                _owner.Record(Target, e, message, DateTime.UtcNow);
            }

            public void Close() => _queue.Writer.TryComplete();

            private async Task WorkAsync()
            {
                var reader = _queue.Reader;
                while (await reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    while (reader.TryRead(out var e))
                    {
                        var started = DateTime.UtcNow;
                        DeliveryAttempt last;
                        try
                        {
                            last = await DeliverAsync(e, _owner._shutdown.Token).ConfigureAwait(false);
                        }
                        catch (Exception x) when (!(x is OutOfMemoryException))
                        {
                            last = new DeliveryAttempt { Message = _owner._options.Secrets.Scrub(x.Message) };
                        }
                        if (last.Delivered)
                        {
                            _owner.Report(new NotifyReport(NotifyReportKind.Sent, Target.Name, e.EventName, $"notification '{Target.Name}' sent: {e.Summary} ({last.Message})"));
                            continue;
                        }
                        var message = $"notification '{Target.Name}' ({e.EventName}) could not be delivered to {Target.Describe()}: {last.Message}";
                        _owner.Report(new NotifyReport(NotifyReportKind.Failed, Target.Name, e.EventName, message));
                        _owner.Record(Target, e, message, started);
                    }
                }
            }

            /// <summary>Every attempt of one message: the target's timeout each, retries with backoff; stops early on shutdown.</summary>
            public async Task<DeliveryAttempt> DeliverAsync(NotificationEvent e, CancellationToken shutdown)
            {
                DeliveryAttempt last = new DeliveryAttempt { Message = "not attempted" };
                int attempts = 1 + Math.Max(0, Target.Retries);
                for (int attempt = 1; attempt <= attempts; attempt++)
                {
                    if (shutdown.IsCancellationRequested)
                    {
                        last.Message = (attempt == 1 ? "herd was ending before it could be sent" : last.Message + "; herd was ending, so no further attempt was made");
                        break;
                    }
                    using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(shutdown))
                    {
                        timeout.CancelAfter(Target.Timeout);
                        last = await Target.SendAsync(e, _owner._http, timeout.Token).ConfigureAwait(false);
                    }
                    if (last.Delivered || !last.Retryable) break;
                    if (attempt < attempts)
                    {
                        last.Message += $" (attempt {attempt} of {attempts})";
                        try { await Task.Delay(Backoff.Delay(attempt, _owner._options.RetryDelay, TimeSpan.FromSeconds(30)), shutdown).ConfigureAwait(false); }
                        catch (OperationCanceledException) { }
                    }
                    else if (attempts > 1) last.Message += $" (all {attempts} attempts failed)";
                }
                last.Message = _owner._options.Secrets.Scrub(last.Message);
                return last;
            }
        }
    }
}
