using System;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport
{
    /// <summary>
    /// How a command reaches a host: one plug-in per kind (<c>local</c>, <c>openssh</c>, later <c>sshnet</c>), chosen
    /// through the <see cref="TransportRegistry"/>. A transport only connects, runs, streams and reports what happened;
    /// the runner owns the timeout, cancellation and retries. docs/transports.md is the contract in prose.
    /// Implementations must be safe to call from many threads at once.
    /// </summary>
    public interface IFleetTransport
    {
        /// <summary>The registry key, lower case (<see cref="TransportKinds"/>); every result this transport produces carries it.</summary>
        string Kind { get; }

        /// <summary>
        /// Runs one attempt of one command on one host and reports how it ended. Never throws for anything a host
        /// can do (refuse, hang, drop the connection): that is an outcome.
        /// </summary>
        /// <param name="stop">
        /// Cancelled by the runner when the attempt must end: its timeout passed, or the run was cancelled (Ctrl-C,
        /// fail-fast). The transport then ends the remote command promptly (TERM to its process group, after
        /// <see cref="RemoteInvocation.StopGrace"/> KILL), frees what it holds, and returns
        /// <see cref="AttemptEnd.EndedByUs"/> (or <see cref="AttemptEnd.NeverStarted"/> when the command had not
        /// started yet). It must not throw <see cref="OperationCanceledException"/>.
        /// </param>
        Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop);
    }

    /// <summary>The kinds the registry knows; inventory <c>transport:</c> values and the request's choice name these.</summary>
    public static class TransportKinds
    {
        /// <summary>This machine, without SSH.</summary>
        public const string Local = "local";
        /// <summary>The user's own OpenSSH client, with ControlMaster pooling.</summary>
        public const string OpenSsh = "openssh";
        /// <summary>SSH.NET in-process, over the process-wide connection pool.</summary>
        public const string SshNet = "sshnet";
        /// <summary>Not a transport: per host, sshnet where it can serve the host as ssh would, else openssh.</summary>
        public const string Auto = "auto";
    }

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
        /// /bin/sh, such as Windows OpenSSH servers or network devices). Stopping it then ends only our side.
        /// </summary>
        public bool Raw { get; set; }
        public long OutputLimit { get; set; } = long.MaxValue;
        /// <summary>How long connecting (TCP, banner, key exchange, login) may take; the transport enforces it.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>When stopped: how long the command has, after TERM, before it is KILLed.</summary>
        public TimeSpan StopGrace { get; set; } = DefaultStopGrace;
        public static readonly TimeSpan DefaultStopGrace = TimeSpan.FromSeconds(2);
        /// <summary>Bytes fed to the command's stdin, which is then closed (implies the caller built a fitting command).</summary>
        public byte[]? Stdin { get; set; }
        /// <summary>
        /// A stream fed to the command's stdin and then closed, for inputs too large to hold in memory (pushing a
        /// file). A factory, so a retried attempt reads from the start again; the stream is disposed after use.
        /// Like <see cref="Stdin"/> it needs <see cref="Raw"/>: the wrapper gives the command /dev/null as stdin.
        /// </summary>
        public Func<System.IO.Stream>? StdinSource { get; set; }
        /// <summary>
        /// One line (a sudo password for <c>sudo -S</c>) given to the command as its whole stdin while the wrapper
        /// still watches the session's stdin for the stop, so a timeout or Ctrl-C still ends the remote command. The
        /// line travels on stdin only, never in a command line. Raw commands take <see cref="Stdin"/> instead.
        /// </summary>
        public byte[]? CommandInputLine { get; set; }
        /// <summary>Sees every chunk of stdout as it arrives, before the cap (streaming file reads).</summary>
        public Action<byte[], int>? OnStdOut { get; set; }
        /// <summary>Where output past a size goes instead of memory; null keeps it in memory.</summary>
        public OutputSpill? Spill { get; set; }
    }

    /// <summary>What became of one attempt, as the transport saw it. The runner turns it into a status.</summary>
    public enum AttemptEnd
    {
        /// <summary>
        /// The command never started: connecting, the host key, the login or opening the session failed
        /// (<see cref="TransportOutcome.ErrorKind"/> says which), or the stop token fired before it started.
        /// </summary>
        NeverStarted,
        /// <summary>The command ran and reported its exit code (<see cref="TransportOutcome.ExitCode"/>).</summary>
        Exited,
        /// <summary>The connection was lost after the command started and before it reported an exit: it may have run in part.</summary>
        ConnectionLost,
        /// <summary>The stop token fired while the command ran, and the transport ended it (<see cref="TransportOutcome.EndedWith"/> says how).</summary>
        EndedByUs,
    }

    /// <summary>How a transport ended a command it was asked to stop.</summary>
    public enum EndSignal
    {
        /// <summary>Not ended by us.</summary>
        None,
        /// <summary>SIGTERM to the command's process group was enough.</summary>
        Terminate,
        /// <summary>The command outlived SIGTERM by the grace period and was KILLed.</summary>
        Kill,
        /// <summary>Only our side could be ended (no remote wrapper, or no answer from it): the remote command may still run.</summary>
        LocalSideOnly,
    }

    /// <summary>What one attempt on one host produced. The runner turns attempts into a <see cref="FleetResult"/>.</summary>
    public sealed class TransportOutcome
    {
        public AttemptEnd End { get; set; }
        /// <summary>The command's exit code when <see cref="End"/> is Exited (and, when known, the status it ended with after a stop).</summary>
        public int? ExitCode { get; set; }
        public EndSignal EndedWith { get; set; }
        internal OutputText StdOutText { get; } = new OutputText();
        internal OutputText StdErrText { get; } = new OutputText();
        /// <summary>The command's stdout; a spilled one is read from its temporary file on first use.</summary>
        public string StdOut { get => StdOutText.Text; set => StdOutText.Text = value; }
        public string StdErr { get => StdErrText.Text; set => StdErrText.Text = value; }
        public bool Truncated { get; set; }
        /// <summary>SHA-256 over stdout, stderr and <see cref="ExitCode"/> as it stands (see OutputCapture.CombineHash).</summary>
        public string OutputHash { get; set; } = "";
        /// <summary>Why it never started or lost its connection; None otherwise.</summary>
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>True when the failure happened before any command could have started and may pass (a retry is safe and may help).</summary>
        public bool Retryable { get; set; }
        public DateTime StartTime { get; set; }
        public TimeSpan Duration { get; set; }
        /// <summary>The kind that ran the attempt, when a transport chose another for it (auto); null means the transport's own kind.</summary>
        public string? Transport { get; set; }
        /// <summary>Something worth telling with -Verbose about how the host was reached (why auto used OpenSSH), never a secret.</summary>
        public string? Note { get; set; }

        /// <summary>An attempt that ended before anything was started (bad host name, cancelled before start).</summary>
        public static TransportOutcome NotStarted(FleetErrorKind kind, string? message) => new TransportOutcome
        {
            End = AttemptEnd.NeverStarted,
            ErrorKind = kind,
            ErrorMessage = message,
            StartTime = DateTime.UtcNow,
            OutputHash = OutputCapture.HashOf("", "", null),
        };

        /// <summary>Takes a finished child's output over (a spill file changes owner) and hashes it with the exit code the outcome reports.</summary>
        internal void TakeOutput(ChildProcessOutcome run) => TakeOutput(run.StdOut, run.StdErr, run.StartTime, run.Duration);

        /// <summary>Takes two finished captures over (a spill file changes owner) and hashes them with the exit code the outcome reports.</summary>
        internal void TakeOutput(OutputCapture stdout, OutputCapture stderr, DateTime startTime, TimeSpan duration)
        {
            StartTime = startTime;
            Duration = duration;
            Truncated = stdout.Truncated || stderr.Truncated;
            Take(stdout, StdOutText);
            Take(stderr, StdErrText);
            OutputHash = OutputCapture.CombineHash(stdout.Digest(), stderr.Digest(), End == AttemptEnd.Exited ? ExitCode : null);
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
}
