using System;

namespace HerdPS.Tail
{
    /// <summary>Where a followed line came from: a plain file (<c>tail -F</c>) or the systemd journal (<c>journalctl -f -u</c>).</summary>
    public enum LogSourceKind
    {
        File,
        Journal,
    }

    /// <summary>
    /// One line of a log followed on one host (PowerShell type <c>HerdPS.Tail.FleetLogLine</c>), written by
    /// <c>Watch-FleetLog</c> the moment it arrives and printed by <c>herd tail</c>. <see cref="Line"/> is the exact
    /// content, without its line break; human views escape control characters, objects and NDJSON never do.
    /// </summary>
    public sealed class FleetLogLine
    {
        public string HostName { get; set; } = "";
        /// <summary>The file followed; null for a journal line.</summary>
        public string? Path { get; set; }
        /// <summary>The unit asked for (<c>-JournalUnit</c>, <c>--journalctl</c>); null for a file line.</summary>
        public string? Unit { get; set; }
        public LogSourceKind SourceKind { get; set; }
        /// <summary>The line: for a file, the line as written; for the journal, the entry's message.</summary>
        public string Line { get; set; } = "";
        /// <summary>When this machine received it (UTC).</summary>
        public DateTime ReceivedUtc { get; set; }
        /// <summary>Journal only: when the entry was written on the host (its realtime stamp, UTC).</summary>
        public DateTime? EntryTimeUtc { get; set; }
        /// <summary>Journal only: the entry's syslog identifier (the program), e.g. <c>nginx</c>.</summary>
        public string? Identifier { get; set; }
        /// <summary>Journal only: the writing process's id, when the entry has one.</summary>
        public int? ProcessId { get; set; }

        /// <summary>The path or the unit: what <c>[host] source</c> views show.</summary>
        public string Source => Path ?? Unit ?? "";

        public override string ToString() => $"[{HostName}] {Line}";
    }
}
