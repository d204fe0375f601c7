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
        private readonly SshNetTransport _sshNet;
        private readonly IFleetTransport _openSsh;

        public AutoTransport(SshNetTransport sshNet, IFleetTransport openSsh)
        {
            _sshNet = sshNet ?? throw new ArgumentNullException(nameof(sshNet));
            _openSsh = openSsh ?? throw new ArgumentNullException(nameof(openSsh));
        }

        public string Kind => TransportKinds.Auto;

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop)
        {
            string? why;
            try
            {
                why = _sshNet.WhyNot(await _sshNet.ResolveAsync(host, stop).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                var cancelled = TransportOutcome.NotStarted(FleetErrorKind.None, null);
                cancelled.Transport = TransportKinds.SshNet;
                return cancelled;
            }
            catch (SshConfigException e)
            {
                // ssh itself can't read its configuration for this host: let it say so in its own words.
                why = e.Message;
            }
            var transport = why == null ? (IFleetTransport)_sshNet : _openSsh;
            var outcome = await transport.ExecuteAsync(host, invocation, stop).ConfigureAwait(false);
            outcome.Transport = transport.Kind;
            if (why != null) outcome.Note = $"auto: {host.Name} runs over openssh because {why}";
            return outcome;
        }
    }
}
