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

    /// <summary>The per-host comparison of two snapshots.</summary>
    public sealed class SnapshotDiff
    {
        public long? BeforeId { get; set; }
        public long? AfterId { get; set; }
        public DateTime BeforeUtc { get; set; }
        public DateTime AfterUtc { get; set; }
        public List<HostSnapshotDiff> Hosts { get; } = new List<HostSnapshotDiff>();
    }

    /// <summary><c>herd snapshot diff</c> / <c>Compare-FleetSnapshot</c>: what changed per host between two snapshots.</summary>
    public static class SnapshotComparison
    {
        /// <summary>Disk use changes smaller than this many percentage points are not reported.</summary>
        public const int DefaultDiskThresholdPoints = 1;

        public static SnapshotDiff Compare(FleetSnapshot before, FleetSnapshot after, int diskThresholdPoints = DefaultDiskThresholdPoints)
        {
            if (before == null) throw new ArgumentNullException(nameof(before));
            if (after == null) throw new ArgumentNullException(nameof(after));
            var diff = new SnapshotDiff { BeforeId = before.Id, AfterId = after.Id, BeforeUtc = before.TakenUtc, AfterUtc = after.TakenUtc };
            var a = before.Hosts.ToDictionary(h => h.HostName, StringComparer.Ordinal);
            var b = after.Hosts.ToDictionary(h => h.HostName, StringComparer.Ordinal);
            foreach (var name in a.Keys.Union(b.Keys).OrderBy(n => n, StringComparer.Ordinal))
            {
                a.TryGetValue(name, out var x);
                b.TryGetValue(name, out var y);
                diff.Hosts.Add(CompareHost(name, x, y, diskThresholdPoints));
            }
            return diff;
        }

        public static HostSnapshotDiff CompareHost(string name, HostSnapshot? before, HostSnapshot? after, int diskThresholdPoints = DefaultDiskThresholdPoints)
        {
            var d = new HostSnapshotDiff { HostName = name };
            if (before == null) { d.Change = HostSnapshotChange.Added; return d; }
            if (after == null) { d.Change = HostSnapshotChange.Removed; return d; }
            if (before.Status != SnapshotHostStatus.Captured || after.Status != SnapshotHostStatus.Captured)
            {
                d.Change = HostSnapshotChange.NotComparable;
                var which = before.Status != SnapshotHostStatus.Captured ? $"earlier snapshot: {before.Status} ({before.ErrorMessage})" : $"later snapshot: {after.Status} ({after.ErrorMessage})";
                d.Notes.Add("not captured in the " + which);
                return d;
            }
            d.KernelBefore = before.Kernel;
            d.KernelAfter = after.Kernel;
            d.OsBefore = before.OsName;
            d.OsAfter = after.OsName;

            if (Both(before, after, HostSnapshot.SectionPackages, d))
            {
                foreach (var p in after.Packages.Where(p => !before.Packages.ContainsKey(p.Key)))
                    d.PackagesAdded.Add(new PackageChange { Name = p.Key, After = p.Value });
                foreach (var p in before.Packages.Where(p => !after.Packages.ContainsKey(p.Key)))
                    d.PackagesRemoved.Add(new PackageChange { Name = p.Key, Before = p.Value });
                foreach (var p in before.Packages)
                {
                    if (!after.Packages.TryGetValue(p.Key, out var now) || now == p.Value) continue;
                    var change = new PackageChange { Name = p.Key, Before = p.Value, After = now };
                    (CompareVersions(p.Value, now) <= 0 ? d.PackagesUpgraded : d.PackagesDowngraded).Add(change);
                }
            }
            if (Both(before, after, HostSnapshot.SectionServices, d))
            {
                d.ServicesStarted.AddRange(after.RunningServices.Except(before.RunningServices, StringComparer.Ordinal));
                d.ServicesStopped.AddRange(before.RunningServices.Except(after.RunningServices, StringComparer.Ordinal));
                d.ServicesEnabled.AddRange(after.EnabledServices.Except(before.EnabledServices, StringComparer.Ordinal));
                d.ServicesDisabled.AddRange(before.EnabledServices.Except(after.EnabledServices, StringComparer.Ordinal));
            }
            if (Both(before, after, HostSnapshot.SectionDisk, d))
            {
                var x = before.Disks.ToDictionary(m => m.Mount, StringComparer.Ordinal);
                var y = after.Disks.ToDictionary(m => m.Mount, StringComparer.Ordinal);
                foreach (var mount in x.Keys.Union(y.Keys).OrderBy(m => m, StringComparer.Ordinal))
                {
                    var change = new DiskChange
                    {
                        Mount = mount,
                        BeforePercent = x.TryGetValue(mount, out var m1) ? m1.UsePercent : (int?)null,
                        AfterPercent = y.TryGetValue(mount, out var m2) ? m2.UsePercent : (int?)null,
                    };
                    if (change.BeforePercent == null || change.AfterPercent == null || Math.Abs(change.DeltaPoints) >= Math.Max(1, diskThresholdPoints))
                        d.DiskChanges.Add(change);
                }
            }
            if (before.UptimeSeconds is double u1 && after.UptimeSeconds is double u2 && u2 < u1) d.Rebooted = true;

            var changed = d.KernelChanged || d.OsChanged || d.Rebooted || d.PackagesAdded.Count + d.PackagesRemoved.Count + d.PackagesUpgraded.Count
                          + d.PackagesDowngraded.Count + d.ServicesStarted.Count + d.ServicesStopped.Count + d.ServicesEnabled.Count
                          + d.ServicesDisabled.Count + d.DiskChanges.Count > 0;
            d.Change = changed ? HostSnapshotChange.Changed : HostSnapshotChange.Unchanged;
            return d;
        }

        /// <summary>True when both sides have the section; otherwise notes why it can't be compared (if it matters).</summary>
        private static bool Both(HostSnapshot before, HostSnapshot after, string section, HostSnapshotDiff d)
        {
            var x = before.Unavailable.TryGetValue(section, out var whyBefore);
            var y = after.Unavailable.TryGetValue(section, out var whyAfter);
            if (!x && !y) return true;
            if (x && y) return false; // unavailable both times: nothing changed that we could see, and nothing to say per diff
            d.Notes.Add(x ? $"{section}: unavailable in the earlier snapshot ({whyBefore}), now available"
                          : $"{section}: unavailable now ({whyAfter})");
            return false;
        }

        /// <summary>
        /// Compares package versions as dpkg does (epoch, then runs of non-digits, where '~' sorts before anything
        /// and letters before other characters, alternating with runs of digits compared as numbers). It orders rpm
        /// versions sensibly too. Negative when <paramref name="a"/> is older.
        /// </summary>
        public static int CompareVersions(string a, string b)
        {
            SplitEpoch(a, out var ea, out var ra);
            SplitEpoch(b, out var eb, out var rb);
            if (ea != eb) return ea.CompareTo(eb);
            int i = 0, j = 0;
            while (i < ra.Length || j < rb.Length)
            {
                int first = 0;
                while ((i < ra.Length && !char.IsDigit(ra[i])) || (j < rb.Length && !char.IsDigit(rb[j])))
                {
                    int ca = i < ra.Length && !char.IsDigit(ra[i]) ? Order(ra[i]) : 0;
                    int cb = j < rb.Length && !char.IsDigit(rb[j]) ? Order(rb[j]) : 0;
                    if (ca != cb) return ca - cb;
                    if (i < ra.Length && !char.IsDigit(ra[i])) i++;
                    if (j < rb.Length && !char.IsDigit(rb[j])) j++;
                }
                while (i < ra.Length && ra[i] == '0') i++;
                while (j < rb.Length && rb[j] == '0') j++;
                while (i < ra.Length && char.IsDigit(ra[i]) && j < rb.Length && char.IsDigit(rb[j]))
                {
                    if (first == 0) first = ra[i] - rb[j];
                    i++; j++;
                }
                if (i < ra.Length && char.IsDigit(ra[i])) return 1;
                if (j < rb.Length && char.IsDigit(rb[j])) return -1;
                if (first != 0) return first;
            }
            return 0;
        }

        private static int Order(char c) => c == '~' ? -1 : char.IsLetter(c) ? c : c + 256;

        private static void SplitEpoch(string v, out long epoch, out string rest)
        {
            var colon = v.IndexOf(':');
            if (colon > 0 && long.TryParse(v.Substring(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out epoch)) rest = v.Substring(colon + 1);
            else { epoch = 0; rest = v; }
        }
    }
}
