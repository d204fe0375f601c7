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
    /// </summary>
    public sealed class FleetRunner
    {
        private readonly IFleetTransport _ssh;
        private readonly IFleetTransport _local;

        public FleetRunner(IFleetTransport ssh, IFleetTransport? local = null)
        {
            _ssh = ssh ?? throw new ArgumentNullException(nameof(ssh));
            _local = local ?? new LocalTransport();
        }

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
            var transport = host.Transport == HostTransportKind.Local ? _local : _ssh;
            var invocation = new RemoteInvocation(command)
            {
                Raw = raw,
                OutputLimit = options.MaxOutputBytes,
                Timeout = options.CommandTimeout,
                ConnectTimeout = options.ConnectTimeout,
                Spill = options.Spill,
            };
            prepare?.Invoke(host, invocation);
            var started = DateTime.UtcNow;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var attempts = 0;
            TransportOutcome outcome;
            while (true)
            {
                attempts++;
                outcome = await transport.ExecuteAsync(host, invocation, token).ConfigureAwait(false);
                if (attempts > options.Retries || token.IsCancellationRequested || !ShouldRetry(outcome, options)) break;
                outcome.ReleaseOutput();
                try
                {
                    await Task.Delay(Backoff.Delay(attempts, options.RetryBaseDelay, options.RetryMaxDelay), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            var result = new FleetResult
            {
                HostName = host.Name,
                Command = command,
                Status = outcome.Status,
                ExitCode = outcome.ExitCode,
                Truncated = outcome.Truncated,
                StartTime = started,
                Duration = watch.Elapsed,
                Attempts = attempts,
                ErrorKind = outcome.ErrorKind,
                ErrorMessage = outcome.ErrorMessage,
                OutputHash = outcome.OutputHash,
                Groups = host.Groups.ToArray(),
                Tags = host.Tags.ToArray(),
            };
            // Takes the attempt's output over: in-memory text is copied, a spill file changes owner.
            result.StdOutText.MoveFrom(outcome.StdOutText);
            result.StdErrText.MoveFrom(outcome.StdErrText);
            return result;
        }

        /// <summary>Connection failures before a session are retried; a command that ran only when asked.</summary>
        internal static bool ShouldRetry(TransportOutcome outcome, FleetRunOptions options)
        {
            if (outcome.Retryable) return true;
            return options.RetryOnFailure && (outcome.Status == FleetStatus.Failed || outcome.Status == FleetStatus.TimedOut);
        }

        private static FleetResult NotStarted(FleetHost host, string command, string why) => new FleetResult
        {
            HostName = host.Name,
            Command = command,
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
