using System;

namespace HerdPS.Inventory
{
    /// <summary>
    /// One selected host as <c>Get-FleetHost</c> lists it (PowerShell type <c>HerdPS.Inventory.FleetHostInfo</c>).
    /// Its <see cref="HostName"/> property binds to <c>-HostName</c> of the other cmdlets, so
    /// <c>Get-FleetHost -Tag prod | Invoke-FleetCommand uptime</c> runs on exactly those hosts.
    /// </summary>
    public sealed class FleetHostInfo
    {
        public string HostName { get; set; } = "";
        /// <summary>Where ssh connects (the inventory's hostname:), or null when the name itself is used.</summary>
        public string? Address { get; set; }
        public int? Port { get; set; }
        public string? User { get; set; }
        public string? IdentityFile { get; set; }
        public HostTransportKind Transport { get; set; }
        public NameList Groups { get; set; } = NameList.Empty;
        public NameList Tags { get; set; } = NameList.Empty;
        /// <summary>"file:line" where the host is defined; null for a host named only on the command line.</summary>
        public string? Source { get; set; }

        public override string ToString() => HostName;
    }
}
