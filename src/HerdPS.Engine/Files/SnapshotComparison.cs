using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HerdPS.Files
{

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
