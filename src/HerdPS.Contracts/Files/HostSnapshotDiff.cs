using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HerdPS.Files
{
    public enum HostSnapshotChange
    {
        Unchanged,
        Changed,
        /// <summary>Only in the later snapshot.</summary>
        Added,
        /// <summary>Only in the earlier snapshot.</summary>
        Removed,
        /// <summary>In both, but one side could not be captured.</summary>
        NotComparable,
    }

    /// <summary>A package that was added, removed or changed version. Before or After is null for added/removed.</summary>
    public sealed class PackageChange
    {
        public string Name { get; set; } = "";
        public string? Before { get; set; }
        public string? After { get; set; }
        public override string ToString() => Before == null ? $"{Name} {After}" : After == null ? $"{Name} {Before}" : $"{Name} {Before} -> {After}";
    }

    /// <summary>Disk use of one mount in both snapshots (null where the mount wasn't there), in percent.</summary>
    public sealed class DiskChange
    {
        public string Mount { get; set; } = "";
        public int? BeforePercent { get; set; }
        public int? AfterPercent { get; set; }
        /// <summary>After minus before, in percentage points (0 when either is missing).</summary>
        public int DeltaPoints => BeforePercent is int b && AfterPercent is int a ? a - b : 0;
    }

    /// <summary>What changed on one host between two snapshots (PowerShell type <c>HerdPS.HostSnapshotDiff</c>).</summary>
    public sealed class HostSnapshotDiff
    {
        public string HostName { get; set; } = "";
        public HostSnapshotChange Change { get; set; }
        public string? KernelBefore { get; set; }
        public string? KernelAfter { get; set; }
        public string? OsBefore { get; set; }
        public string? OsAfter { get; set; }
        public bool KernelChanged => KernelBefore != KernelAfter;
        public bool OsChanged => OsBefore != OsAfter;
        public List<PackageChange> PackagesAdded { get; } = new List<PackageChange>();
        public List<PackageChange> PackagesRemoved { get; } = new List<PackageChange>();
        public List<PackageChange> PackagesUpgraded { get; } = new List<PackageChange>();
        public List<PackageChange> PackagesDowngraded { get; } = new List<PackageChange>();
        public List<string> ServicesStarted { get; } = new List<string>();
        public List<string> ServicesStopped { get; } = new List<string>();
        public List<string> ServicesEnabled { get; } = new List<string>();
        public List<string> ServicesDisabled { get; } = new List<string>();
        /// <summary>Mounts whose use moved by at least the threshold, and mounts that appeared or went away.</summary>
        public List<DiskChange> DiskChanges { get; } = new List<DiskChange>();
        /// <summary>Uptime went down between the snapshots.</summary>
        public bool Rebooted { get; set; }
        /// <summary>What could not be compared and why (a section unavailable on one side, a host not captured).</summary>
        public List<string> Notes { get; } = new List<string>();

        /// <summary>The changes as short lines ("kernel: A -> B", "packages: +2 -1 ~3", ...), for views.</summary>
        public IReadOnlyList<string> Describe()
        {
            var lines = new List<string>();
            if (KernelChanged && KernelBefore != null && KernelAfter != null) lines.Add($"kernel: {KernelBefore} -> {KernelAfter}");
            if (OsChanged && OsBefore != null && OsAfter != null) lines.Add($"os: {OsBefore} -> {OsAfter}");
            if (Rebooted) lines.Add("rebooted (uptime went down)");
            void List(string label, IEnumerable<object> items)
            {
                var all = items.Select(i => i.ToString()).ToList();
                if (all.Count == 0) return;
                lines.Add($"{label} ({all.Count}): {string.Join(", ", all.Take(20))}{(all.Count > 20 ? $", ... ({all.Count - 20} more)" : "")}");
            }
            List("packages added", PackagesAdded);
            List("packages removed", PackagesRemoved);
            List("packages upgraded", PackagesUpgraded);
            List("packages downgraded", PackagesDowngraded);
            List("services started", ServicesStarted);
            List("services stopped", ServicesStopped);
            List("services enabled", ServicesEnabled);
            List("services disabled", ServicesDisabled);
            foreach (var d in DiskChanges)
            {
                if (d.BeforePercent == null) lines.Add($"disk {d.Mount}: new mount, {d.AfterPercent}% used");
                else if (d.AfterPercent == null) lines.Add($"disk {d.Mount}: mount gone (was {d.BeforePercent}% used)");
                else lines.Add($"disk {d.Mount}: {d.BeforePercent}% -> {d.AfterPercent}% ({(d.DeltaPoints > 0 ? "+" : "")}{d.DeltaPoints} points)");
            }
            lines.AddRange(Notes);
            return lines;
        }
    }
}
