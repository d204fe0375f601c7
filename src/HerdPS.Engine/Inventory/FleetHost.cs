using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
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
        /// <summary>The command timeout of the host's group (herd's config.yaml group timeout:); a run's own timeout wins.</summary>
        public TimeSpan? Timeout { get; set; }
        /// <summary>Where the host was defined ("file:line"), for error messages; null for ad-hoc hosts.</summary>
        public string? Source { get; set; }

        public override string ToString() => Name;

        /// <summary>
        /// A host named on the command line rather than in the inventory: <c>[user@]host[:port]</c>, with
        /// IPv6 addresses bracketed when a port follows (<c>[::1]:22</c>). Names follow <see cref="NameRules"/>.
        /// Throws <see cref="FormatException"/> with the reason.
        /// </summary>
        public static FleetHost ParseAdHoc(string spec)
        {
            if (TryParseAdHoc(spec, out var host, out var reason)) return host!;
            throw new FormatException(reason);
        }

        public static bool TryParseAdHoc(string spec, out FleetHost? host, out string reason)
        {
            host = null;
            if (!HostSpec.TryParse(spec, out var parsed, out reason)) return false;
            if (!parsed!.IsBracketedAddress && HostRange.IsPattern(parsed.Host))
            {
                reason = $"{Display.TerminalText.Quote(spec)} is a range pattern, not one host; ranges are expanded when a selection or an inventory is read";
                return false;
            }
            if (!NameRules.IsValidHostName(parsed.Host, out reason)) return false;
            host = new FleetHost(parsed.Host) { User = parsed.User, Port = parsed.Port };
            return true;
        }

        /// <summary>A copy that can be changed without touching the inventory's instance.</summary>
        internal FleetHost Copy() => new FleetHost(Name)
        {
            Address = Address,
            Port = Port,
            User = User,
            IdentityFile = IdentityFile,
            Transport = Transport,
            Tags = Tags,
            Groups = Groups,
            Source = Source,
            Timeout = Timeout,
        };
    }
}
