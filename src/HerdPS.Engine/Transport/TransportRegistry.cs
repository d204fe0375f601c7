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
        /// The kind that serves hosts marked <c>transport: ssh</c> (every host the inventory doesn't mark local).
        /// Defaults to <c>openssh</c> when registered, else the only non-local kind.
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
        public string KindFor(FleetHost host) => host.Transport == HostTransportKind.Local ? TransportKinds.Local : SshKind;

        private ArgumentException UnknownKind(string kind) =>
            new ArgumentException($"unknown transport '{kind}': known transports are {string.Join(", ", Kinds)}", "transport");
    }
}
