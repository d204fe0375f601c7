using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport.OpenSsh
{
    /// <summary>
    /// Runs commands through the user's own OpenSSH client, so their ssh_config, agent, ProxyJump and
    /// known_hosts apply exactly as for <c>ssh host</c>. Nothing ever prompts (BatchMode), host keys are checked
    /// unless the caller explicitly says otherwise, and the destination comes after <c>--</c>, so no host name
    /// can be read as an option.
    /// </summary>
    public sealed class OpenSshTransport : IFleetTransport
    {
        private readonly SshOptions _options;
        private readonly ConnectionPool? _pool;

        public OpenSshTransport(SshOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (MultiplexEnabled(options)) _pool = ConnectionPool.For(options.ControlDirectory);
        }

        /// <summary>The pool this transport shares, or null where ControlMaster isn't used (Windows).</summary>
        public ConnectionPool? Pool => _pool;

        public static bool MultiplexEnabled(SshOptions options) => options.Multiplex ?? !PrivateDirectory.IsWindows;

        public string Kind => TransportKinds.OpenSsh;

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop)
        {
            // The inventory already rejects such names; this is the last line, right before ssh sees them, and it
            // applies the inventory's own rule, so no host can pass here that the inventory would refuse.
            string why;
            if (!NameRules.IsValidHostName(host.Name, out why) || host.Address != null && !NameRules.IsValidHostName(host.Address, out why))
                return TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"refused to pass the host '{host.Name}' to ssh: {why}");
            var args = BuildArguments(host, invocation);
            var wrapped = !invocation.Raw;
            var settings = new ChildProcessSettings
            {
                OutputLimit = invocation.OutputLimit,
                KeepStdinOpen = invocation.Stdin == null && invocation.StdinSource == null && wrapped,
                StdinBytes = wrapped && invocation.CommandInputLine != null ? invocation.CommandInputLine : invocation.Stdin,
                StdinSource = invocation.StdinSource,
                OnStdOut = invocation.OnStdOut,
                Spill = invocation.Spill,
                ExpectWrapperMarkers = wrapped,
                // With the wrapper, closing stdin is the stop: it ends the remote command, TERM then KILL, and reports
                // how; ssh then exits by itself. Killing ssh instead would close the channel without an end of input,
                // and Dropbear keeps a closed channel's command running with its stdin open. Killing ssh is the
                // fallback for a connection that no longer answers.
                OnStop = wrapped ? ChildStop.CloseStdin : ChildStop.Kill,
                StopGrace = invocation.StopGrace,
                StopGuard = invocation.StopGrace + StopAnswerTime,
            };
            // Belt and braces with BatchMode: no askpass program may pop up from a scheduled task.
            settings.Environment["SSH_ASKPASS_REQUIRE"] = "never";
            settings.Environment["DISPLAY"] = null;

            using var run = await ChildProcess.RunAsync(_options.SshPath, args, settings, stop).ConfigureAwait(false);
            var outcome = Read(run, invocation.Raw, host.Name);
            outcome.TakeOutput(run);
            return outcome;
        }

        /// <summary>How long a host may take, past the grace period, to answer a stop before we end our side.</summary>
        internal static readonly TimeSpan StopAnswerTime = TimeSpan.FromSeconds(5);

        /// <summary>
        /// Reads what ssh and the wrapper said into an outcome. With the wrapper, its markers settle it: no start
        /// marker means the command never started; a trailer is the command's own exit (or how a stop ended it);
        /// a start marker without a trailer is a connection lost mid-command (a multiplexed client says nothing
        /// when its master dies). Without the wrapper, ssh's 255 with one of its own messages is a transport failure.
        /// </summary>
        internal static TransportOutcome Read(ChildProcessOutcome run, bool raw, string hostName)
        {
            var outcome = new TransportOutcome();
            var stderr = run.StdErr;
            if (run.StoppedBeforeStart)
            {
                outcome.End = AttemptEnd.NeverStarted;
                return outcome;
            }
            if (run.StartError != null)
            {
                outcome.End = AttemptEnd.NeverStarted;
                outcome.ErrorKind = FleetErrorKind.TransportError;
                outcome.ErrorMessage = run.StartError + " (is the OpenSSH client installed and on PATH?)";
                return outcome;
            }
            if (!raw && stderr.ReportedExitCode is int reported)
            {
                outcome.ExitCode = reported;
                if (stderr.ReportedStop != EndSignal.None)
                {
                    outcome.End = AttemptEnd.EndedByUs;
                    outcome.EndedWith = stderr.ReportedStop;
                }
                else outcome.End = AttemptEnd.Exited;
                return outcome;
            }
            var started = raw || stderr.SawStartMarker;
            if (run.Stopped)
            {
                // Stopped before the wrapper reported: before the command started, or the host never answered the stop.
                outcome.End = started ? AttemptEnd.EndedByUs : AttemptEnd.NeverStarted;
                outcome.EndedWith = started ? EndSignal.LocalSideOnly : EndSignal.None;
                return outcome;
            }
            var exit = run.ExitCode ?? 255;
            var failure = SshErrorClassifier.Classify(exit, stderr.Text(), hostName);
            if (raw)
            {
                if (failure == null)
                {
                    outcome.End = AttemptEnd.Exited;
                    outcome.ExitCode = exit;
                    return outcome;
                }
                outcome.End = failure.BeforeSession ? AttemptEnd.NeverStarted : AttemptEnd.ConnectionLost;
            }
            else if (!started)
            {
                // ssh's own words say why; a session that closed before the wrapper wrote a line never ran anything.
                outcome.End = AttemptEnd.NeverStarted;
                failure ??= new SshFailure(FleetErrorKind.TransportError, $"ssh could not start the command on {hostName} (ssh exited {exit}, and the remote wrapper never started)", true);
                if (!failure.BeforeSession) failure = new SshFailure(failure.Kind, failure.Message, true);
            }
            else
            {
                outcome.End = AttemptEnd.ConnectionLost;
                failure = new SshFailure(FleetErrorKind.TransportError, failure != null && !failure.BeforeSession
                    ? failure.Message + " The command may have run in part."
                    : $"the connection to {hostName} ended before the command reported its exit status (ssh exited {exit}); the command may have run in part", false);
            }
            outcome.ErrorKind = failure.Kind;
            outcome.ErrorMessage = failure.Message;
            outcome.Retryable = outcome.End == AttemptEnd.NeverStarted && failure.IsTransient;
            return outcome;
        }

        /// <summary>The full ssh argument vector for one command on one host. Public so tests can inspect it.</summary>
        public IReadOnlyList<string> BuildArguments(FleetHost host, RemoteInvocation invocation)
        {
            var args = new List<string>();
            if (!string.IsNullOrEmpty(_options.ConfigFile)) { args.Add("-F"); args.Add(_options.ConfigFile!); }
            foreach (var extra in _options.ExtraOptions) { args.Add("-o"); args.Add(extra); }
            Option(args, "BatchMode", "yes");
            Option(args, "StrictHostKeyChecking", _options.HostKeyPolicy switch
            {
                HostKeyPolicy.AcceptNew => "accept-new",
                HostKeyPolicy.Insecure => "no",
                _ => "yes",
            });
            // With checking off, ssh would still write every unseen key into known_hosts, and later checked runs
            // would trust keys nobody verified. An insecure run reads and records nothing.
            if (_options.HostKeyPolicy == HostKeyPolicy.Insecure) Option(args, "UserKnownHostsFile", PrivateDirectory.IsWindows ? "NUL" : "/dev/null");
            Option(args, "ConnectTimeout", Math.Max(1, (int)Math.Ceiling(invocation.ConnectTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
            // Only errors on stderr: keeps "Permanently added ... to known hosts" out of every result.
            Option(args, "LogLevel", "ERROR");
            if (_pool != null)
            {
                Option(args, "ControlMaster", "auto");
                Option(args, "ControlPath", ControlPathFor(host, _options.HostKeyPolicy)!);
                Option(args, "ControlPersist", Math.Max(1, (int)_options.ControlPersist.TotalSeconds).ToString(CultureInfo.InvariantCulture));
                // A master whose peer vanished is noticed within a minute instead of hanging new sessions.
                Option(args, "ServerAliveInterval", "15");
                Option(args, "ServerAliveCountMax", "3");
            }
            else
            {
                Option(args, "ControlMaster", "no");
                Option(args, "ControlPath", "none");
            }
            if (!string.IsNullOrEmpty(host.Address)) Option(args, "HostName", host.Address!);
            var user = _options.User ?? host.User;
            if (!string.IsNullOrEmpty(user)) { args.Add("-l"); args.Add(user!); }
            if (host.Port is int port) { args.Add("-p"); args.Add(port.ToString(CultureInfo.InvariantCulture)); }
            var identity = _options.IdentityFile ?? host.IdentityFile;
            if (!string.IsNullOrEmpty(identity)) { args.Add("-i"); args.Add(identity!); }
            args.Add("-T");
            args.Add("--");
            args.Add(host.Name);
            args.Add(invocation.Raw ? invocation.Command : RemoteCommand.Wrap(invocation.Command, invocation.StopGrace, invocation.CommandInputLine != null));
            return args;
        }

        /// <summary>The control socket this transport uses for a host under a host key policy (null without pooling).</summary>
        public string? ControlPathFor(FleetHost host, HostKeyPolicy policy) =>
            _pool?.ControlPathFor(host.Name, _options.User ?? host.User, host.Port, host.Address, _options.IdentityFile ?? host.IdentityFile,
                _options.ConfigFile, policy.ToString(), string.Join("\n", _options.ExtraOptions));

        private static void Option(List<string> args, string key, string value)
        {
            args.Add("-o");
            args.Add(key + "=" + value);
        }
    }
}
