using System;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport
{
    /// <summary>One command for one host, as the runner hands it to a transport.</summary>
    public sealed class RemoteInvocation
    {
        public RemoteInvocation(string command)
        {
            Command = command ?? throw new ArgumentNullException(nameof(command));
        }

        public string Command { get; }
        /// <summary>
        /// Send the command as it is, without the POSIX wrapper that ends it when we disconnect (for hosts without
        /// /bin/sh, such as Windows OpenSSH servers or network devices). A timeout then ends only our side.
        /// </summary>
        public bool Raw { get; set; }
        public long OutputLimit { get; set; } = long.MaxValue;
        public TimeSpan? Timeout { get; set; }
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>Bytes fed to the command's stdin, which is then closed (implies the caller built a fitting command).</summary>
        public byte[]? Stdin { get; set; }
        /// <summary>
        /// A stream fed to the command's stdin and then closed, for inputs too large to hold in memory (pushing a
        /// file). A factory, so a retried attempt reads from the start again; the stream is disposed after use.
        /// Like <see cref="Stdin"/> it needs <see cref="Raw"/>: the wrapper gives the command /dev/null as stdin.
        /// </summary>
        public Func<System.IO.Stream>? StdinSource { get; set; }
        /// <summary>Sees every chunk of stdout as it arrives, before the cap (streaming file reads).</summary>
        public Action<byte[], int>? OnStdOut { get; set; }
        /// <summary>Where output past a size goes instead of memory; null keeps it in memory.</summary>
        public OutputSpill? Spill { get; set; }
    }

    /// <summary>What one attempt on one host produced. The runner turns attempts into a <see cref="FleetResult"/>.</summary>
    public sealed class TransportOutcome
    {
        public FleetStatus Status { get; set; }
        public int? ExitCode { get; set; }
        internal OutputText StdOutText { get; } = new OutputText();
        internal OutputText StdErrText { get; } = new OutputText();
        /// <summary>The command's stdout; a spilled one is read from its temporary file on first use.</summary>
        public string StdOut { get => StdOutText.Text; set => StdOutText.Text = value; }
        public string StdErr { get => StdErrText.Text; set => StdErrText.Text = value; }
        public bool Truncated { get; set; }
        public string OutputHash { get; set; } = "";
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>True when the failure happened before any command could have started, so trying again is safe.</summary>
        public bool Retryable { get; set; }
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }

        /// <summary>
        /// Reads a finished child process into an outcome. <paramref name="classifyExit"/> may claim an exit code
        /// as a transport failure (ssh's 255); any other exit is the command's own.
        /// </summary>
        internal static TransportOutcome FromChildProcess(ChildProcessOutcome run, TimeSpan? timeout, string startHint, Func<int, Func<string>, SshFailure?>? classifyExit)
        {
            var outcome = new TransportOutcome
            {
                StartTime = run.StartTime,
                Duration = run.Duration,
                Truncated = run.StdOut.Truncated || run.StdErr.Truncated,
            };
            Take(run.StdOut, outcome.StdOutText);
            Take(run.StdErr, outcome.StdErrText);
            if (run.StartError != null)
            {
                outcome.Status = FleetStatus.Unreachable;
                outcome.ErrorKind = FleetErrorKind.TransportError;
                outcome.ErrorMessage = run.StartError + startHint;
            }
            else if (run.Cancelled)
            {
                outcome.Status = FleetStatus.Cancelled;
                outcome.ErrorMessage = "cancelled";
            }
            else if (run.TimedOut)
            {
                outcome.Status = FleetStatus.TimedOut;
                outcome.ErrorKind = FleetErrorKind.CommandTimeout;
                outcome.ErrorMessage = $"the command ran longer than {timeout?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}s and was ended";
            }
            else
            {
                var exit = run.ExitCode!.Value;
                var failure = classifyExit?.Invoke(exit, () => outcome.StdErr);
                if (failure != null)
                {
                    // A connection lost mid-command is Unreachable too: the command never reported an exit.
                    outcome.Status = FleetStatus.Unreachable;
                    outcome.ErrorKind = failure.Kind;
                    outcome.ErrorMessage = failure.Message;
                    outcome.Retryable = failure.BeforeSession && failure.IsTransient;
                }
                else
                {
                    outcome.ExitCode = exit;
                    outcome.Status = exit == 0 ? FleetStatus.Succeeded : FleetStatus.Failed;
                }
            }
            outcome.OutputHash = OutputCapture.CombineHash(run.StdOut.Digest(), run.StdErr.Digest(), outcome.ExitCode);
            return outcome;
        }

        private static void Take(OutputCapture capture, OutputText into)
        {
            if (capture.TakeSpilled() is CapturedOutput spilled) into.SetSpilled(spilled);
            else into.Text = capture.Text();
        }

        /// <summary>Frees spilled output of an attempt nobody will read (one that is retried).</summary>
        internal void ReleaseOutput()
        {
            StdOutText.Release();
            StdErrText.Release();
        }
    }

    /// <summary>How a command reaches a host. Implementations must be safe to call from many threads at once.</summary>
    public interface IFleetTransport
    {
        Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken cancellationToken);
    }
}
