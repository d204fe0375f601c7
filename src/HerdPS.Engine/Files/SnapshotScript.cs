using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HerdPS.Files
{
    /// <summary>
    /// The remote inspection script of <c>herd snapshot</c> and the parser of its output. One POSIX sh script per
    /// host prints sections, each after a header line "\x1eherd-section:NAME"; a section whose first line is
    /// "unavailable: REASON" could not be read there. It works on Debian/Ubuntu (dpkg) and RHEL-family (rpm)
    /// hosts, with or without systemd, and names what it can't read anywhere else.
    /// </summary>
    public static class SnapshotScript
    {
        public const string SectionHeader = "\u001eherd-section:";
        public const string UnavailablePrefix = "unavailable: ";

        internal const string Script = @"s() { printf '\036herd-section:%s\n' ""$1""; }
s uname
uname -srm 2>/dev/null || echo 'unavailable: uname failed'
s os-release
if [ -r /etc/os-release ]; then cat /etc/os-release; elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release; else echo 'unavailable: no /etc/os-release'; fi
s packages
if command -v dpkg-query >/dev/null 2>&1; then
  echo 'manager: dpkg'
  dpkg-query -W -f '${Status}\t${Package}\t${Version}\n' 2>/dev/null | grep '^install ok installed' | cut -f2,3
elif command -v rpm >/dev/null 2>&1; then
  echo 'manager: rpm'
  rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n' 2>/dev/null
else echo 'unavailable: neither dpkg-query nor rpm is installed'; fi
s services
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo 'manager: systemd'
  systemctl list-unit-files --type=service --no-legend --no-pager 2>/dev/null | while read -r u st _; do [ ""$st"" = enabled ] && echo ""enabled $u""; done
  systemctl list-units --type=service --state=running --no-legend --no-pager --plain 2>/dev/null | while read -r u _; do echo ""running $u""; done
else echo 'unavailable: systemd is not running on this host (no /run/systemd/system)'; fi
s disk
df -P -k 2>/dev/null
s memory
if [ -r /proc/meminfo ]; then grep -E '^(MemTotal|MemAvailable|SwapTotal|SwapFree):' /proc/meminfo; else echo 'unavailable: no /proc/meminfo'; fi
s uptime
if [ -r /proc/uptime ]; then cat /proc/uptime; else echo 'unavailable: no /proc/uptime'; fi
exit 0
";

        public static string Command => "/bin/sh -c " + Transport.ShellQuote.Single(Script);

        /// <summary>Splits the script's output into its sections (name to text).</summary>
        public static Dictionary<string, string> Sections(string output)
        {
            var sections = new Dictionary<string, string>(StringComparer.Ordinal);
            string? name = null;
            var body = new List<string>();
            void Flush() { if (name != null) sections[name] = string.Join("\n", body); }
            foreach (var raw in output.Replace("\r\n", "\n").Split('\n'))
            {
                if (raw.StartsWith(SectionHeader, StringComparison.Ordinal))
                {
                    Flush();
                    name = raw.Substring(SectionHeader.Length).Trim();
                    body.Clear();
                }
                else if (name != null) body.Add(raw);
            }
            Flush();
            return sections;
        }

        /// <summary>Builds a host's snapshot from the script's output. Sections missing from the output are unavailable.</summary>
        public static HostSnapshot Parse(string hostName, string output)
        {
            var s = Sections(output);
            var snap = new HostSnapshot { HostName = hostName, Status = SnapshotHostStatus.Captured };

            if (Available(s, "uname", out var uname, out var why)) snap.Kernel = uname.Trim();
            else snap.Unavailable[HostSnapshot.SectionOs] = why;
            if (Available(s, "os-release", out var osRelease, out why))
            {
                var values = OsRelease(osRelease);
                snap.OsName = values.TryGetValue("PRETTY_NAME", out var pretty) ? pretty : values.TryGetValue("NAME", out var n) ? n : null;
                snap.OsId = values.TryGetValue("ID", out var id) ? id : null;
                snap.OsVersion = values.TryGetValue("VERSION_ID", out var v) ? v : null;
            }
            else if (!snap.Unavailable.ContainsKey(HostSnapshot.SectionOs)) snap.Unavailable[HostSnapshot.SectionOs] = why;

            if (Available(s, "packages", out var packages, out why))
            {
                foreach (var line in Lines(packages))
                {
                    if (line.StartsWith("manager: ", StringComparison.Ordinal)) { snap.PackageManager = line.Substring(9).Trim(); continue; }
                    var tab = line.IndexOf('\t');
                    if (tab <= 0) continue;
                    snap.Packages[line.Substring(0, tab)] = line.Substring(tab + 1).Trim();
                }
            }
            else snap.Unavailable[HostSnapshot.SectionPackages] = why;

            if (Available(s, "services", out var services, out why))
            {
                foreach (var line in Lines(services))
                {
                    if (line.StartsWith("manager: ", StringComparison.Ordinal)) snap.ServiceManager = line.Substring(9).Trim();
                    else if (line.StartsWith("enabled ", StringComparison.Ordinal)) snap.EnabledServices.Add(line.Substring(8).Trim());
                    else if (line.StartsWith("running ", StringComparison.Ordinal)) snap.RunningServices.Add(line.Substring(8).Trim());
                }
                snap.EnabledServices = snap.EnabledServices.Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
                snap.RunningServices = snap.RunningServices.Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
            }
            else snap.Unavailable[HostSnapshot.SectionServices] = why;

            if (Available(s, "disk", out var disk, out why))
            {
                snap.Disks = Df(disk);
                if (snap.Disks.Count == 0) snap.Unavailable[HostSnapshot.SectionDisk] = "df printed no file systems";
            }
            else snap.Unavailable[HostSnapshot.SectionDisk] = why;

            if (Available(s, "memory", out var memory, out why))
            {
                foreach (var line in Lines(memory))
                {
                    var colon = line.IndexOf(':');
                    if (colon <= 0) continue;
                    var number = line.Substring(colon + 1).Trim().Split(' ')[0];
                    if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) continue;
                    switch (line.Substring(0, colon))
                    {
                        case "MemTotal": snap.MemoryTotalKb = kb; break;
                        case "MemAvailable": snap.MemoryAvailableKb = kb; break;
                        case "SwapTotal": snap.SwapTotalKb = kb; break;
                        case "SwapFree": snap.SwapFreeKb = kb; break;
                    }
                }
                if (snap.MemoryTotalKb == null) snap.Unavailable[HostSnapshot.SectionMemory] = "no MemTotal in /proc/meminfo";
            }
            else snap.Unavailable[HostSnapshot.SectionMemory] = why;

            if (Available(s, "uptime", out var uptime, out why)
                && double.TryParse(uptime.Trim().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                snap.UptimeSeconds = seconds;
            else snap.Unavailable[HostSnapshot.SectionUptime] = why.Length > 0 ? why : "unreadable /proc/uptime";
            return snap;
        }

        private static bool Available(Dictionary<string, string> sections, string name, out string text, out string why)
        {
            why = "";
            if (!sections.TryGetValue(name, out text!)) { text = ""; why = "the host did not report it"; return false; }
            var first = text.TrimStart('\n');
            if (first.StartsWith(UnavailablePrefix, StringComparison.Ordinal))
            {
                why = first.Substring(UnavailablePrefix.Length).Split('\n')[0].Trim();
                return false;
            }
            if (first.Trim().Length == 0) { why = "empty"; return false; }
            return true;
        }

        private static IEnumerable<string> Lines(string text) => text.Split('\n').Where(l => l.Trim().Length > 0);

        /// <summary>KEY=value lines; values may be double- or single-quoted.</summary>
        internal static Dictionary<string, string> OsRelease(string text)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in Lines(text))
            {
                var eq = line.IndexOf('=');
                if (eq <= 0 || line.TrimStart().StartsWith("#", StringComparison.Ordinal)) continue;
                var v = line.Substring(eq + 1).Trim();
                if (v.Length >= 2 && (v[0] == '"' || v[0] == '\'') && v[v.Length - 1] == v[0]) v = v.Substring(1, v.Length - 2).Replace("\\\"", "\"");
                values[line.Substring(0, eq).Trim()] = v;
            }
            return values;
        }

        /// <summary>
        /// Rows of <c>df -P -k</c>: "Filesystem 1024-blocks Used Available Capacity Mounted-on". The mount point is
        /// everything after the fifth field (it may hold spaces). Zero-sized pseudo file systems are left out.
        /// </summary>
        internal static List<DiskUsage> Df(string text)
        {
            var disks = new List<DiskUsage>();
            foreach (var line in Lines(text).Skip(1))
            {
                var parts = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 6) continue;
                if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size == 0) continue;
                long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var used);
                long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var avail);
                int.TryParse(parts[4].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var pct);
                // The mount point starts after the capacity column; find it in the line to keep inner spaces.
                var at = line.IndexOf(parts[4], StringComparison.Ordinal) + parts[4].Length;
                var mount = line.Substring(at).Trim();
                disks.Add(new DiskUsage { FileSystem = parts[0], SizeKb = size, UsedKb = used, AvailableKb = avail, UsePercent = pct, Mount = mount });
            }
            // A mount point listed twice (overmounts) keeps its last, visible entry.
            return disks.GroupBy(d => d.Mount).Select(g => g.Last()).OrderBy(d => d.Mount, StringComparer.Ordinal).ToList();
        }
    }
}
