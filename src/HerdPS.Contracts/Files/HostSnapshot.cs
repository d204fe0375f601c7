using System;
using System.Collections.Generic;

namespace HerdPS.Files
{
    public enum SnapshotHostStatus { Captured, Failed, Unreachable, TimedOut, Cancelled }

    /// <summary>Use of one mounted file system, from <c>df -P -k</c>.</summary>
    public sealed class DiskUsage
    {
        public string Mount { get; set; } = "";
        public string FileSystem { get; set; } = "";
        public long SizeKb { get; set; }
        public long UsedKb { get; set; }
        public long AvailableKb { get; set; }
        /// <summary>Used / (used + available) in percent, as df rounds it (reserved blocks excluded).</summary>
        public int UsePercent { get; set; }
    }

    /// <summary>
    /// One host's state at one moment (PowerShell type <c>HerdPS.HostSnapshot</c>): OS and kernel, installed
    /// packages with versions, services, disk use per mount, memory and uptime. A section the host can't report
    /// (no systemd, no dpkg or rpm, no /proc) is named in <see cref="Unavailable"/> with the reason, never guessed.
    /// </summary>
    public sealed class HostSnapshot
    {
        public const string SectionOs = "os", SectionPackages = "packages", SectionServices = "services",
            SectionDisk = "disk", SectionMemory = "memory", SectionUptime = "uptime";

        public string HostName { get; set; } = "";
        public SnapshotHostStatus Status { get; set; }
        public string? ErrorMessage { get; set; }
        /// <summary>Why an Unreachable host couldn't be reached (as FleetResult.ErrorKind); not stored in the history.</summary>
        public FleetErrorKind ErrorKind { get; set; }
        /// <summary><c>uname -srm</c>, e.g. "Linux 6.1.0-18-amd64 x86_64".</summary>
        public string? Kernel { get; set; }
        /// <summary>PRETTY_NAME of os-release, e.g. "Debian GNU/Linux 12 (bookworm)".</summary>
        public string? OsName { get; set; }
        public string? OsId { get; set; }
        public string? OsVersion { get; set; }
        /// <summary>"dpkg" or "rpm".</summary>
        public string? PackageManager { get; set; }
        /// <summary>Installed packages: name to version.</summary>
        public SortedDictionary<string, string> Packages { get; set; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
        /// <summary>"systemd" when services were read.</summary>
        public string? ServiceManager { get; set; }
        public List<string> EnabledServices { get; set; } = new List<string>();
        public List<string> RunningServices { get; set; } = new List<string>();
        public List<DiskUsage> Disks { get; set; } = new List<DiskUsage>();
        public long? MemoryTotalKb { get; set; }
        public long? MemoryAvailableKb { get; set; }
        public long? SwapTotalKb { get; set; }
        public long? SwapFreeKb { get; set; }
        public double? UptimeSeconds { get; set; }
        /// <summary>Sections the host could not report, with the reason ("services": "systemd is not running ...").</summary>
        public SortedDictionary<string, string> Unavailable { get; set; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

        public bool Has(string section) => Status == SnapshotHostStatus.Captured && !Unavailable.ContainsKey(section);
    }

    /// <summary>A fleet snapshot: every selected host's state, as captured together (PowerShell type <c>HerdPS.FleetSnapshot</c>).</summary>
    public sealed class FleetSnapshot
    {
        /// <summary>The history id once stored; null before.</summary>
        public long? Id { get; set; }
        public DateTime TakenUtc { get; set; }
        /// <summary>The selection as text ("group=web tag=prod").</summary>
        public string Selection { get; set; } = "";
        public List<HostSnapshot> Hosts { get; set; } = new List<HostSnapshot>();
        public int CapturedCount => Hosts.FindAll(h => h.Status == SnapshotHostStatus.Captured).Count;
    }

    /// <summary>One line of <c>herd snapshot list</c>.</summary>
    public sealed class SnapshotRecord
    {
        public long Id { get; set; }
        public DateTime TakenUtc { get; set; }
        public string Selection { get; set; } = "";
        public int HostCount { get; set; }
        public int CapturedCount { get; set; }
    }
}
