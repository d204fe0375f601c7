using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport
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

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken cancellationToken)
        {
            // The inventory already rejects such names; this is the last line, right before ssh sees them, and it
            // applies the inventory's own rule, so no host can pass here that the inventory would refuse.
            string why;
            if (!NameRules.IsValidHostName(host.Name, out why) || host.Address != null && !NameRules.IsValidHostName(host.Address, out why))
            {
                return new TransportOutcome
                {
                    Status = FleetStatus.Unreachable,
                    ErrorKind = FleetErrorKind.TransportError,
                    ErrorMessage = $"refused to pass the host '{host.Name}' to ssh: {why}",
                    StartTime = DateTime.UtcNow,
                    OutputHash = OutputCapture.HashOf("", "", null),
                };
            }
            var args = BuildArguments(host, invocation);
            var settings = new ChildProcessSettings
            {
                OutputLimit = invocation.OutputLimit,
                Timeout = invocation.Timeout,
                KeepStdinOpen = invocation.Stdin == null && invocation.StdinSource == null && !invocation.Raw,
                StdinBytes = invocation.Stdin,
                StdinSource = invocation.StdinSource,
                OnStdOut = invocation.OnStdOut,
                Spill = invocation.Spill,
                ExpectExitTrailer = !invocation.Raw,
            };
            // Belt and braces with BatchMode: no askpass program may pop up from a scheduled task.
            settings.Environment["SSH_ASKPASS_REQUIRE"] = "never";
            settings.Environment["DISPLAY"] = null;

            using var run = await ChildProcess.RunAsync(_options.SshPath, args, settings, cancellationToken).ConfigureAwait(false);
            return TransportOutcome.FromChildProcess(run, invocation.Timeout, " (is the OpenSSH client installed and on PATH?)",
                (exit, stderr) => ClassifyExit(exit, stderr, run.StdErr.ReportedExitCode, invocation.Raw, host.Name));
        }

        /// <summary>
        /// Decides whether ssh's exit code is the command's own. With the wrapper, the trailer settles it: a
        /// reported exit is the command's; a 255 with no trailer and no ssh message means the connection went away
        /// before the command could report (a multiplexed client says nothing when its master dies).
        /// </summary>
        /// <param name="stderr">Read only when the trailer doesn't settle it: a spilled stderr stays in its file otherwise.</param>
        internal static SshFailure? ClassifyExit(int exit, Func<string> stderr, int? reportedExit, bool raw, string hostName)
        {
            if (reportedExit != null) return null;
            var failure = SshErrorClassifier.Classify(exit, stderr(), hostName);
            if (failure != null || raw || exit != 255) return failure;
            return new SshFailure(FleetErrorKind.TransportError,
                $"the connection to {hostName} ended before the command reported its exit status (ssh exited 255); the command may have run in part", false);
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
            args.Add(invocation.Raw ? invocation.Command : RemoteCommand.Wrap(invocation.Command));
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
