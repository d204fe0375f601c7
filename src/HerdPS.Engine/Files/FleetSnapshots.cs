using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Execution;

namespace HerdPS.Files
{
    /// <summary>
    /// <c>herd snapshot</c> / <c>Get-FleetSnapshot</c>: runs the inspection script (<see cref="SnapshotScript"/>) on
    /// every selected host through the runner and parses each host's output. Storing it is the caller's choice
    /// (<see cref="History.HistoryStore.SaveSnapshot"/>), so a cmdlet can capture without writing history.
    /// </summary>
    public static class FleetSnapshots
    {
        public static async Task<FleetSnapshot> CaptureAsync(FleetTarget target, FleetCommandRequest request, Action<FleetProgress>? progress = null,
            Action<HostSnapshot>? hostCaptured = null, CancellationToken cancellationToken = default)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            var snapshot = new FleetSnapshot { TakenUtc = DateTime.UtcNow, Selection = request.Selection.ToString() };
            var byHost = new System.Collections.Generic.Dictionary<string, HostSnapshot>(StringComparer.Ordinal);
            using var run = FleetEngine.Start(target, SnapshotScript.Command, request, progress, cancellationToken, raw: false);
            await foreach (var r in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                var host = FromResult(r);
                byHost[host.HostName] = host;
                try { hostCaptured?.Invoke(host); }
                catch (Exception) { /* rendering problems don't lose the snapshot */ }
            }
            snapshot.Hosts = target.Hosts.Where(h => byHost.ContainsKey(h.Name)).Select(h => byHost[h.Name]).ToList();
            return snapshot;
        }

        internal static HostSnapshot FromResult(FleetResult r)
        {
            switch (r.Status)
            {
                case FleetStatus.Succeeded:
                    if (r.Truncated) return new HostSnapshot { HostName = r.HostName, Status = SnapshotHostStatus.Failed, ErrorMessage = "the inspection output was larger than the output cap (raise --max-output)" };
                    return SnapshotScript.Parse(r.HostName, r.StdOut);
                case FleetStatus.Unreachable: return new HostSnapshot { HostName = r.HostName, Status = SnapshotHostStatus.Unreachable, ErrorMessage = r.ErrorMessage, ErrorKind = r.ErrorKind };
                case FleetStatus.TimedOut: return new HostSnapshot { HostName = r.HostName, Status = SnapshotHostStatus.TimedOut, ErrorMessage = r.ErrorMessage, ErrorKind = r.ErrorKind };
                case FleetStatus.Cancelled: return new HostSnapshot { HostName = r.HostName, Status = SnapshotHostStatus.Cancelled, ErrorMessage = r.ErrorMessage, ErrorKind = r.ErrorKind };
                default:
                    var err = r.StdErr.Trim();
                    return new HostSnapshot { HostName = r.HostName, Status = SnapshotHostStatus.Failed, ErrorMessage = $"the inspection script exited {r.ExitCode}" + (err.Length > 0 ? ": " + err : "") };
            }
        }
    }

    /// <summary>
    /// Text views of snapshots for the CLI. Everything a host reported (names, versions, mounts, messages) is
    /// escaped for the terminal (<see cref="TerminalText"/>); host lists are folded (<see cref="HostListText"/>).
    /// </summary>
    public static class SnapshotTextView
    {
        public static void RenderList(System.Collections.Generic.IEnumerable<SnapshotRecord> records, TextWriter w)
        {
            w.WriteLine($"{"ID",6}  {"TAKEN (UTC)",-19}  {"HOSTS",5}  {"CAPTURED",8}  SELECTION");
            foreach (var r in records)
                w.WriteLine($"{r.Id,6}  {r.TakenUtc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),-19}  {r.HostCount,5}  {r.CapturedCount,8}  {(r.Selection.Length == 0 ? "(all)" : TerminalText.Line(r.Selection))}");
        }

        public static void RenderShow(FleetSnapshot s, TextWriter w)
        {
            w.WriteLine($"Snapshot #{s.Id} taken {s.TakenUtc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC ({s.Hosts.Count} hosts, {s.CapturedCount} captured)");
            foreach (var h in s.Hosts)
            {
                w.WriteLine();
                w.WriteLine($" {T(h.HostName)}: {h.Status}{(h.ErrorMessage != null ? " - " + T(h.ErrorMessage) : "")}");
                if (h.Status != SnapshotHostStatus.Captured) continue;
                w.WriteLine($"   os:       {T(h.OsName ?? "?")}; kernel {T(h.Kernel ?? "?")}");
                if (h.UptimeSeconds is double up) w.WriteLine($"   uptime:   {TimeSpan.FromSeconds(Math.Floor(up))}");
                if (h.MemoryTotalKb is long total)
                    w.WriteLine($"   memory:   {total / 1024} MiB total, {(h.MemoryAvailableKb ?? 0) / 1024} MiB available; swap {(h.SwapTotalKb ?? 0) / 1024} MiB, {(h.SwapFreeKb ?? 0) / 1024} MiB free");
                if (h.PackageManager != null) w.WriteLine($"   packages: {h.Packages.Count} ({T(h.PackageManager)})");
                if (h.ServiceManager != null) w.WriteLine($"   services: {h.EnabledServices.Count} enabled, {h.RunningServices.Count} running ({T(h.ServiceManager)})");
                foreach (var d in h.Disks) w.WriteLine($"   disk:     {T(d.Mount)} {d.UsePercent}% of {d.SizeKb / 1024} MiB ({T(d.FileSystem)})");
                foreach (var u in h.Unavailable) w.WriteLine($"   {T(u.Key)}: unavailable: {T(u.Value)}");
            }
        }

        public static void RenderDiff(SnapshotDiff diff, TextWriter w)
        {
            var unchanged = diff.Hosts.Where(h => h.Change == HostSnapshotChange.Unchanged).Select(h => h.HostName).ToList();
            if (unchanged.Count > 0)
            {
                w.WriteLine($" {FileDrift.Plural(unchanged.Count, "host")} unchanged:");
                w.WriteLine("   " + HostListText.Fold(unchanged));
                w.WriteLine();
            }
            foreach (var h in diff.Hosts.Where(h => h.Change != HostSnapshotChange.Unchanged))
            {
                var what = h.Change switch
                {
                    HostSnapshotChange.Added => "only in the later snapshot",
                    HostSnapshotChange.Removed => "only in the earlier snapshot",
                    HostSnapshotChange.NotComparable => "not comparable",
                    _ => "changed",
                };
                w.WriteLine($" {T(h.HostName)}: {what}");
                foreach (var line in h.Describe()) w.WriteLine("   " + T(line));
                w.WriteLine();
            }
            var changed = diff.Hosts.Count(h => h.Change == HostSnapshotChange.Changed);
            w.WriteLine($"{FileDrift.Plural(diff.Hosts.Count, "host")} compared (#{diff.BeforeId} -> #{diff.AfterId}): {changed} changed, {unchanged.Count} unchanged");
        }

        private static string T(string? text) => TerminalText.Line(text);
    }
}
