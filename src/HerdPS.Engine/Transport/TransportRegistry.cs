using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Transport
{
    /// <summary>
    /// The one place a host's transport is chosen: transports registered by <see cref="IFleetTransport.Kind"/>, and
    /// which kind serves the hosts the inventory marks <c>transport: ssh</c> (the default, and the request's choice).
    /// Hosts marked <c>transport: local</c> always run on this machine. A new transport is one more
    /// <see cref="Add"/> (see docs/transports.md); the runner never names a transport itself.
    /// </summary>
    public sealed class TransportRegistry
    {
        private readonly Dictionary<string, IFleetTransport> _byKind = new Dictionary<string, IFleetTransport>(StringComparer.Ordinal);
        private string? _sshKind;

        /// <summary>Registers a transport under its kind; a second one of the same kind replaces the first.</summary>
        public TransportRegistry Add(IFleetTransport transport)
        {
            if (transport == null) throw new ArgumentNullException(nameof(transport));
            if (string.IsNullOrEmpty(transport.Kind) || transport.Kind != transport.Kind.ToLowerInvariant())
                throw new ArgumentException($"a transport kind is a lower-case name, not '{transport.Kind}'", nameof(transport));
            _byKind[transport.Kind] = transport;
            return this;
        }

        /// <summary>The registered kinds, sorted.</summary>
        public IReadOnlyList<string> Kinds => _byKind.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

        /// <summary>
        /// The kind that serves hosts marked <c>transport: ssh</c> or nothing (every host the inventory doesn't mark
        /// otherwise). Defaults to <c>openssh</c> when registered (README, "choosing a transport": measured, a cold
        /// sshnet run in a new process takes about twice pdsh's time, OpenSSH about pdsh's), else the only non-local kind.
        /// </summary>
        public string SshKind
        {
            get => _sshKind ?? (_byKind.ContainsKey(TransportKinds.OpenSsh) ? TransportKinds.OpenSsh
                : _byKind.Keys.Where(k => k != TransportKinds.Local).OrderBy(k => k, StringComparer.Ordinal).FirstOrDefault() ?? TransportKinds.Local);
            set
            {
                if (!_byKind.ContainsKey(value)) throw UnknownKind(value);
                _sshKind = value;
            }
        }

        private string? _chosenKind;

        /// <summary>
        /// The run's explicit choice (<c>--transport</c>, <c>-Transport</c>): it serves every host that is not
        /// <c>transport: local</c>, whatever the inventory says for it, as the command line overrides the inventory
        /// for user and key. Null when the run made no choice.
        /// </summary>
        public string? ChosenKind
        {
            get => _chosenKind;
            set
            {
                if (value != null && !_byKind.ContainsKey(value)) throw UnknownKind(value);
                _chosenKind = value;
                if (value != null) _sshKind = value;
            }
        }

        /// <summary>The transport registered under a kind; an <see cref="ArgumentException"/> naming the known kinds otherwise.</summary>
        public IFleetTransport Get(string kind)
        {
            if (kind == null) throw new ArgumentNullException(nameof(kind));
            return _byKind.TryGetValue(kind, out var t) ? t : throw UnknownKind(kind);
        }

        public bool Contains(string kind) => kind != null && _byKind.ContainsKey(kind);

        /// <summary>The transport for one host: its inventory's <c>transport:</c>, through this registry.</summary>
        public IFleetTransport For(FleetHost host)
        {
            if (host == null) throw new ArgumentNullException(nameof(host));
            return Get(KindFor(host));
        }

        /// <summary>The kind that runs a host, without requiring that it is registered.</summary>
        public string KindFor(FleetHost host)
        {
            switch (host.Transport)
            {
                case HostTransportKind.Local: return TransportKinds.Local;
                case HostTransportKind.Auto: return _chosenKind ?? TransportKinds.Auto;
                case HostTransportKind.OpenSsh: return _chosenKind ?? TransportKinds.OpenSsh;
                case HostTransportKind.SshNet: return _chosenKind ?? TransportKinds.SshNet;
                default: return SshKind;
            }
        }

        /// <summary>The registry key for a front end's choice (<c>-Transport SshNet</c>, <c>--transport sshnet</c>); <c>ssh</c> is the run's default.</summary>
        public static string? KindOf(FleetTransport? choice) => choice switch
        {
            FleetTransport.Auto => TransportKinds.Auto,
            FleetTransport.OpenSsh => TransportKinds.OpenSsh,
            FleetTransport.SshNet => TransportKinds.SshNet,
            FleetTransport.Local => TransportKinds.Local,
            _ => null,
        };

        private ArgumentException UnknownKind(string kind) =>
            new ArgumentException($"unknown transport '{kind}': known transports are {string.Join(", ", Kinds)}", "transport");
    }
}
