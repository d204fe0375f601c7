using System;

namespace HerdPS.Tail
{
    /// <summary>What a tail hands its reader: a line, or a notice about a host or one of its files. One of the two is set.</summary>
    public sealed class TailEvent
    {
        private TailEvent(FleetLogLine? line, TailNotice? notice)
        {
            Line = line;
            Notice = notice;
        }

        public FleetLogLine? Line { get; }
        public TailNotice? Notice { get; }

        internal static TailEvent Of(FleetLogLine line) => new TailEvent(line, null);
        internal static TailEvent Of(TailNotice notice) => new TailEvent(null, notice);

        /// <summary>What an event costs in the host's queue: roughly its memory.</summary>
        internal long Cost => 96 + 2L * ((Line?.Line.Length ?? 0) + (Notice?.Message.Length ?? 0));

        public override string ToString() => Line?.ToString() ?? Notice?.ToString() ?? "";
    }

    public enum TailNoticeSeverity
    {
        /// <summary>For -Verbose: what happened, nothing lost (a rotation followed, a reconnect that resumed exactly).</summary>
        Info,
        /// <summary>The user should know: lines may be missing, a file can't be read, a host is reconnecting.</summary>
        Warning,
        /// <summary>This host's tail has ended for good (its key was refused, its grep refused the pattern).</summary>
        Error,
    }

    public enum TailNoticeKind
    {
        /// <summary>The connection dropped or could not be made; another attempt follows after a delay.</summary>
        Reconnecting,
        /// <summary>A reconnect went on exactly where the last line left off.</summary>
        Resumed,
        /// <summary>A reconnect could not guarantee that nothing was lost (the message says what may be missing).</summary>
        Gap,
        Rotated,
        Truncated,
        Missing,
        Appeared,
        NotReadable,
        /// <summary>The reader fell behind: this host's follower was paused and will resume where it stopped.</summary>
        Paused,
        /// <summary>The tail of this host has ended for good.</summary>
        Failed,
    }

    /// <summary>Something a tail reports about a host besides its lines, worded for people.</summary>
    public sealed class TailNotice
    {
        public TailNotice(string hostName, string? source, TailNoticeKind kind, TailNoticeSeverity severity, string message)
        {
            HostName = hostName;
            Source = source;
            Kind = kind;
            Severity = severity;
            Message = message;
        }

        public string HostName { get; }
        /// <summary>The file or unit it concerns; null when it concerns the host.</summary>
        public string? Source { get; }
        public TailNoticeKind Kind { get; }
        public TailNoticeSeverity Severity { get; }
        /// <summary>A sentence that names the host (and the file): "web-01: /var/log/syslog was rotated; following the new file".</summary>
        public string Message { get; }
        public DateTime TimeUtc { get; } = DateTime.UtcNow;

        public override string ToString() => Message;
    }
}
