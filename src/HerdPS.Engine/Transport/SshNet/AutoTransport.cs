using System;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// The <c>auto</c> choice: each host runs over SSH.NET when SSH.NET can serve it exactly as <c>ssh host</c>
    /// would, and over the OpenSSH client otherwise (ProxyJump, ProxyCommand, SetEnv/SendEnv, forwarding, a login
    /// that needs ssh-agent, ...). The outcome names the transport that ran the host, and says why when it was not
    /// SSH.NET (shown with -Verbose).
    /// </summary>
    public sealed class AutoTransport : IFleetTransport
    {
        private readonly Func<FleetHost, RemoteInvocation, CancellationToken, Task<(string? WhyNot, TransportOutcome? Outcome)>> _sshNet;
        private readonly IFleetTransport _openSsh;

        public AutoTransport(SshNetTransport sshNet, IFleetTransport openSsh)
        {
            if (sshNet == null) throw new ArgumentNullException(nameof(sshNet));
            _sshNet = (h, i, s) => sshNet.ExecuteIfServedAsync(h, i, s, Environment.GetEnvironmentVariable("SSH_AUTH_SOCK"), null);
            _openSsh = openSsh ?? throw new ArgumentNullException(nameof(openSsh));
        }

        /// <summary>Over the shared pool process: it reads the host's settings and says when SSH.NET can't serve it.</summary>
        public AutoTransport(SharedPoolTransport sshNet, IFleetTransport openSsh)
        {
            if (sshNet == null) throw new ArgumentNullException(nameof(sshNet));
            _sshNet = sshNet.ExecuteIfServedAsync;
            _openSsh = openSsh ?? throw new ArgumentNullException(nameof(openSsh));
        }

        public string Kind => TransportKinds.Auto;

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop)
        {
            var (why, outcome) = await _sshNet(host, invocation, stop).ConfigureAwait(false);
            if (why == null)
            {
                outcome!.Transport = TransportKinds.SshNet;
                return outcome;
            }
            outcome = await _openSsh.ExecuteAsync(host, invocation, stop).ConfigureAwait(false);
            outcome.Transport = _openSsh.Kind;
            outcome.Note = $"auto: {host.Name} runs over openssh because {why}";
            return outcome;
        }
    }
}
