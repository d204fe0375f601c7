using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using HerdPS.Inventory;
using HerdPS.Transport;

namespace HerdPS.Execution
{
    /// <summary>
    /// Runs one command on many hosts: at most <see cref="FleetRunOptions.Throttle"/> at once, each with its
    /// timeout and retries, and streams each host's result the moment it is known. Every selected host yields
    /// exactly one result, whatever happens (a host not started because of fail-fast or Ctrl-C is Cancelled).
    /// The runner owns the policy (per-attempt timeout, cancellation, retries, what a status means); each host's
    /// transport, chosen through the <see cref="TransportRegistry"/>, only runs the attempt and reports how it ended.
    /// </summary>
    public sealed class FleetRunner
    {
        private readonly TransportRegistry _transports;

        public FleetRunner(TransportRegistry transports)
        {
            _transports = transports ?? throw new ArgumentNullException(nameof(transports));
        }

        /// <summary>A runner whose SSH hosts go through <paramref name="ssh"/> and local hosts through <paramref name="local"/> (default: <see cref="LocalTransport"/>).</summary>
        public FleetRunner(IFleetTransport ssh, IFleetTransport? local = null)
        {
            if (ssh == null) throw new ArgumentNullException(nameof(ssh));
            _transports = new TransportRegistry().Add(local ?? new LocalTransport()).Add(ssh);
            _transports.SshKind = ssh.Kind;
        }

        /// <summary>The transports this runner chooses from.</summary>
        public TransportRegistry Transports => _transports;

        /// <summary>Starts the run and returns at once; read <see cref="FleetRun.Results"/> as hosts finish.</summary>
        /// <param name="prepare">Called once per host with the invocation before its first attempt, so a caller can attach
        /// per-host stdin or a stdout observer (file transfers); the command and Raw are already set.</param>
        public FleetRun Start(IReadOnlyList<FleetHost> hosts, string command, FleetRunOptions options, Action<FleetProgress>? progress = null,
            CancellationToken cancellationToken = default, bool raw = false, Action<FleetHost, RemoteInvocation>? prepare = null)
        {
            if (hosts == null) throw new ArgumentNullException(nameof(hosts));
            if (command == null) throw new ArgumentNullException(nameof(command));
            options.Validate();
            // Bounded: a reader that falls behind slows the workers instead of letting results pile up.
            var channel = Channel.CreateBounded<FleetResult>(new BoundedChannelOptions(Math.Max(64, options.Throttle * 2))
            {
                SingleReader = false,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
            var run = new FleetRun(channel.Reader, hosts.Count, cancellationToken);
            run.Completion = Task.Run(() => RunAllAsync(hosts, command, raw, options, progress, channel.Writer, run, prepare));
            return run;
        }

        private async Task RunAllAsync(IReadOnlyList<FleetHost> hosts, string command, bool raw, FleetRunOptions options,
            Action<FleetProgress>? progress, ChannelWriter<FleetResult> writer, FleetRun run, Action<FleetHost, RemoteInvocation>? prepare)
        {
            var state = new RunState(hosts.Count);
            try
            {
                var workers = Enumerable.Range(0, Math.Min(options.Throttle, Math.Max(1, hosts.Count)))
                    .Select(_ => Task.Run(() => WorkAsync(hosts, command, raw, options, progress, writer, run, state, prepare)))
                    .ToArray();
                await Task.WhenAll(workers).ConfigureAwait(false);
                writer.TryComplete();
            }
            catch (Exception e)
            {
                writer.TryComplete(e);
                throw;
            }
            finally
            {
                run.ReleaseToken();
            }
        }

        private sealed class RunState
        {
            public RunState(int total) { Total = total; }
            public readonly int Total;
            public int Next = -1;
            public int Running;
            public int Completed;
            public int NotSucceeded;
            public int FailFastTripped;
        }

        private async Task WorkAsync(IReadOnlyList<FleetHost> hosts, string command, bool raw, FleetRunOptions options,
            Action<FleetProgress>? progress, ChannelWriter<FleetResult> writer, FleetRun run, RunState state, Action<FleetHost, RemoteInvocation>? prepare)
        {
            var token = run.Token;
            while (true)
            {
                var index = Interlocked.Increment(ref state.Next);
                if (index >= hosts.Count) return;
                var host = hosts[index];
                FleetResult result;
                if (token.IsCancellationRequested)
                    result = NotStarted(host, command, "cancelled before this host started");
                else if (Volatile.Read(ref state.FailFastTripped) != 0)
                    result = NotStarted(host, command, "not started: fail-fast stopped the run after a host failed");
                else if (!_transports.Contains(_transports.KindFor(host)))
                {
                    result = NotStarted(host, command, $"no transport '{_transports.KindFor(host)}' to run this host (known: {string.Join(", ", _transports.Kinds)})");
                    result.Status = FleetStatus.Unreachable;
                    result.ErrorKind = FleetErrorKind.TransportError;
                }
                else
                {
                    Interlocked.Increment(ref state.Running);
                    Report(progress, state);
                    try
                    {
                        result = await RunHostAsync(host, command, raw, options, token, prepare).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!(e is OutOfMemoryException))
                    {
                        // Never lose a host: an unexpected failure is still a result the user sees.
                        result = NotStarted(host, command, "internal error: " + e.Message);
                        result.Status = FleetStatus.Unreachable;
                        result.ErrorKind = FleetErrorKind.TransportError;
                    }
                    Interlocked.Decrement(ref state.Running);
                    if (!result.Succeeded && options.FailFast) Interlocked.Exchange(ref state.FailFastTripped, 1);
                }
                if (!result.Succeeded) Interlocked.Increment(ref state.NotSucceeded);
                // Written even when cancelled: the reader gets every host. CancellationToken.None because a
                // cancelled run must still hand over its Cancelled results.
                await writer.WriteAsync(result, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref state.Completed);
                Report(progress, state);
            }
        }

        private static void Report(Action<FleetProgress>? progress, RunState state)
        {
            if (progress == null) return;
            try
            {
                progress(new FleetProgress(state.Total, Volatile.Read(ref state.Completed), Volatile.Read(ref state.Running), Volatile.Read(ref state.NotSucceeded)));
            }
            catch (Exception) { /* a front end's rendering problem must not break the run */ }
        }

        private async Task<FleetResult> RunHostAsync(FleetHost host, string command, bool raw, FleetRunOptions options, CancellationToken token, Action<FleetHost, RemoteInvocation>? prepare)
        {
            var transport = _transports.For(host);
            var invocation = new RemoteInvocation(command)
            {
                Raw = raw,
                OutputLimit = options.MaxOutputBytes,
                ConnectTimeout = options.ConnectTimeout,
                StopGrace = options.StopGrace,
                Spill = options.Spill,
            };
            prepare?.Invoke(host, invocation);
            var started = DateTime.UtcNow;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var attempts = 0;
            Attempt attempt;
            while (true)
            {
                attempts++;
                attempt = await AttemptAsync(transport, host, invocation, options.CommandTimeoutFor(host), token).ConfigureAwait(false);
                if (attempts > options.Retries || token.IsCancellationRequested || !ShouldRetry(attempt, options)) break;
                attempt.Outcome.ReleaseOutput();
                try
                {
                    await Task.Delay(Backoff.Delay(attempts, options.RetryBaseDelay, options.RetryMaxDelay), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            var outcome = attempt.Outcome;
            var result = new FleetResult
            {
                HostName = host.Name,
                Command = command,
                Status = attempt.Status,
                ExitCode = attempt.Status == FleetStatus.Succeeded || attempt.Status == FleetStatus.Failed ? outcome.ExitCode : null,
                Truncated = outcome.Truncated,
                StartTime = started,
                Duration = watch.Elapsed,
                Attempts = attempts,
                Transport = outcome.Transport ?? transport.Kind,
                TransportNote = outcome.Note,
                ErrorKind = attempt.ErrorKind,
                ErrorMessage = attempt.ErrorMessage,
                OutputHash = outcome.OutputHash,
                Groups = host.Groups.ToArray(),
                Tags = host.Tags.ToArray(),
            };
            // Takes the attempt's output over: in-memory text is copied, a spill file changes owner.
            result.StdOutText.MoveFrom(outcome.StdOutText);
            result.StdErrText.MoveFrom(outcome.StdErrText);
            return result;
        }

        /// <summary>Why the runner stopped an attempt (the first reason wins).</summary>
        internal enum StopReason { None, Timeout, Cancelled }

        /// <summary>One attempt as the runner reads it: the transport's report, why we stopped it, and what that means.</summary>
        internal sealed class Attempt
        {
            public Attempt(TransportOutcome outcome, StopReason reason, FleetStatus status, FleetErrorKind kind, string? message, bool retryable)
            {
                Outcome = outcome;
                Reason = reason;
                Status = status;
                ErrorKind = kind;
                ErrorMessage = message;
                Retryable = retryable;
            }

            public TransportOutcome Outcome { get; }
            public StopReason Reason { get; }
            public FleetStatus Status { get; }
            public FleetErrorKind ErrorKind { get; }
            public string? ErrorMessage { get; }
            /// <summary>The command never started and the failure may pass: trying again is safe.</summary>
            public bool Retryable { get; }
        }

        /// <summary>
        /// Runs one attempt under the runner's own stop: a token that fires when the attempt's timeout passes or
        /// the run is cancelled, whichever comes first, and remembers which it was.
        /// </summary>
        private static async Task<Attempt> AttemptAsync(IFleetTransport transport, FleetHost host, RemoteInvocation invocation, TimeSpan? timeout, CancellationToken runToken)
        {
            using var stop = new AttemptStop(runToken, timeout);
            TransportOutcome outcome;
            try
            {
                outcome = await transport.ExecuteAsync(host, invocation, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
            {
                // The contract says a transport reports a stop; one that throws instead still gets a fair reading.
                outcome = TransportOutcome.NotStarted(FleetErrorKind.None, null);
                outcome.End = AttemptEnd.EndedByUs;
                outcome.EndedWith = EndSignal.LocalSideOnly;
            }
            return Interpret(outcome, stop.Reason, host.Name, timeout, invocation.StopGrace);
        }

        /// <summary>The one reading of a transport's report under a stop reason: status, error kind, message, retry safety.</summary>
        internal static Attempt Interpret(TransportOutcome o, StopReason reason, string hostName, TimeSpan? timeout, TimeSpan grace)
        {
            var limit = timeout is TimeSpan t ? Seconds(t) + "s" : "the timeout";
            switch (o.End)
            {
                case AttemptEnd.Exited:
                    // It ended by itself before a stop could reach it: that is its result, even after a timeout or Ctrl-C.
                    var code = o.ExitCode ?? -1;
                    return new Attempt(o, reason, code == 0 ? FleetStatus.Succeeded : FleetStatus.Failed, FleetErrorKind.None, null, false);
                case AttemptEnd.EndedByUs:
                    var how = How(o.EndedWith, grace);
                    if (reason == StopReason.Cancelled)
                        return new Attempt(o, reason, FleetStatus.Cancelled, FleetErrorKind.None, "cancelled: the command was ended " + how, false);
                    return new Attempt(o, reason, FleetStatus.TimedOut, FleetErrorKind.CommandTimeout, $"the command ran longer than {limit} and was ended {how}", false);
                case AttemptEnd.ConnectionLost:
                    if (reason == StopReason.Cancelled)
                        return new Attempt(o, reason, FleetStatus.Cancelled, FleetErrorKind.None, "cancelled while the command ran; the connection ended before the command reported how it ended", false);
                    if (reason == StopReason.Timeout)
                        return new Attempt(o, reason, FleetStatus.TimedOut, FleetErrorKind.CommandTimeout, $"the command ran longer than {limit}; the connection ended before it reported how it ended ({o.ErrorMessage})", false);
                    return new Attempt(o, reason, FleetStatus.Unreachable, o.ErrorKind == FleetErrorKind.None ? FleetErrorKind.TransportError : o.ErrorKind,
                        o.ErrorMessage ?? $"the connection to {hostName} was lost while the command ran; it may have run in part", false);
                default:
                    if (reason == StopReason.Cancelled)
                        return new Attempt(o, reason, FleetStatus.Cancelled, FleetErrorKind.None, "cancelled before the command started", false);
                    if (reason == StopReason.Timeout)
                        return new Attempt(o, reason, FleetStatus.Unreachable, FleetErrorKind.ConnectTimeout,
                            $"connecting to {hostName} timed out: no session within the {limit} timeout, so the command never started", true);
                    return new Attempt(o, reason, FleetStatus.Unreachable, o.ErrorKind == FleetErrorKind.None ? FleetErrorKind.TransportError : o.ErrorKind,
                        o.ErrorMessage ?? $"could not run the command on {hostName}", o.Retryable);
            }
        }

        private static string How(EndSignal signal, TimeSpan grace)
        {
            switch (signal)
            {
                case EndSignal.Terminate: return "by SIGTERM";
                case EndSignal.Kill: return $"by SIGKILL (it was still running {Seconds(grace)}s after SIGTERM)";
                case EndSignal.LocalSideOnly: return "on our side only: the host did not confirm the command ended, so it may still run there";
                default: return "";
            }
        }

        private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>The attempt's stop token: its timeout or the run's cancellation, whichever comes first.</summary>
        private sealed class AttemptStop : IDisposable
        {
            private readonly CancellationTokenSource _cts = new CancellationTokenSource();
            private readonly CancellationTokenRegistration _run;
            private readonly Timer? _timer;
            private int _reason;

            public AttemptStop(CancellationToken runToken, TimeSpan? timeout)
            {
                _run = runToken.Register(() => Stop(StopReason.Cancelled));
                if (timeout is TimeSpan t) _timer = new Timer(_ => Stop(StopReason.Timeout), null, t, Timeout.InfiniteTimeSpan);
            }

            public CancellationToken Token => _cts.Token;
            public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

            private void Stop(StopReason reason)
            {
                if (Interlocked.CompareExchange(ref _reason, (int)reason, 0) != 0) return;
                try { _cts.Cancel(); }
                catch (ObjectDisposedException) { }
            }

            public void Dispose()
            {
                _timer?.Dispose();
                _run.Dispose();
                _cts.Dispose();
            }
        }

        /// <summary>Connection failures before a session are retried; a command that ran only when asked.</summary>
        internal static bool ShouldRetry(Attempt attempt, FleetRunOptions options)
        {
            if (attempt.Retryable) return true;
            return options.RetryOnFailure && (attempt.Status == FleetStatus.Failed || attempt.Status == FleetStatus.TimedOut);
        }

        private FleetResult NotStarted(FleetHost host, string command, string why) => new FleetResult
        {
            HostName = host.Name,
            Command = command,
            Transport = _transports.KindFor(host),
            Status = FleetStatus.Cancelled,
            StartTime = DateTime.UtcNow,
            ErrorMessage = why,
            OutputHash = OutputCapture.HashOf("", "", null),
            Groups = host.Groups.ToArray(),
            Tags = host.Tags.ToArray(),
        };
    }

    /// <summary>Exponential backoff with jitter: base * 2^(attempt-1), capped, then scaled by a random 50-100%.</summary>
    public static class Backoff
    {
        [ThreadStatic] private static Random? _random;

        public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay)
        {
            var exp = Math.Min(30, Math.Max(0, attempt - 1));
            var ms = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, exp));
            var random = _random ??= new Random(Guid.NewGuid().GetHashCode());
            return TimeSpan.FromMilliseconds(ms * (0.5 + random.NextDouble() * 0.5));
        }
    }

    /// <summary>A run in progress. Read <see cref="Results"/> (or enumerate <see cref="ReadAllAsync"/>) as hosts finish.</summary>
    public sealed class FleetRun : IDisposable
    {
        private readonly CancellationTokenSource _cts;

        internal FleetRun(ChannelReader<FleetResult> results, int total, CancellationToken external)
        {
            Results = results;
            Total = total;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(external);
        }

        public ChannelReader<FleetResult> Results { get; }
        public int Total { get; }
        /// <summary>Completes when every host has a result in the channel.</summary>
        public Task Completion { get; internal set; } = Task.CompletedTask;
        internal CancellationToken Token => _cts.Token;

        /// <summary>Ends every running ssh child and marks hosts not yet finished Cancelled.</summary>
        public void Cancel()
        {
            try { _cts.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        public async IAsyncEnumerable<FleetResult> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            while (await Results.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                while (Results.TryRead(out var result))
                    yield return result;
            await Completion.ConfigureAwait(false);
        }

        /// <summary>The workers are done with the token; later Cancel calls are harmless no-ops.</summary>
        internal void ReleaseToken() => _cts.Dispose();

        /// <summary>Cancels what is still running; the run's own completion releases its resources.</summary>
        public void Dispose() => Cancel();
    }
}
