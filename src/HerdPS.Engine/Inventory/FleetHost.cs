using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
    /// <summary>How a command reaches a host.</summary>
    public enum HostTransportKind
    {
        /// <summary>The OpenSSH client, honouring the user's ssh_config.</summary>
        Ssh,
        /// <summary>This machine, without SSH (the embedded default, and <c>transport: local</c>).</summary>
        Local,
    }

    /// <summary>
    /// One host of the inventory. <see cref="Name"/> is what the user calls it and what ssh gets as the
    /// destination (so ssh_config <c>Host</c> blocks apply to it as they would for <c>ssh name</c>);
    /// the other connection settings are optional overrides.
    /// </summary>
    public sealed class FleetHost
    {
        public FleetHost(string name)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
        }

        public string Name { get; }
        /// <summary>Address to connect to instead of <see cref="Name"/> (ssh's HostName).</summary>
        public string? Address { get; set; }
        public int? Port { get; set; }
        public string? User { get; set; }
        public string? IdentityFile { get; set; }
        public HostTransportKind Transport { get; set; } = HostTransportKind.Ssh;
        public IReadOnlyList<string> Tags { get; set; } = Array.Empty<string>();
        public IReadOnlyList<string> Groups { get; set; } = Array.Empty<string>();
        /// <summary>Where the host was defined ("file:line"), for error messages; null for ad-hoc hosts.</summary>
        public string? Source { get; set; }

        public override string ToString() => Name;
    }
}
