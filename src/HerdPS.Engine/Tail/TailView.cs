using System;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HerdPS.Display;

namespace HerdPS.Tail
{
    /// <summary>
    /// How <c>herd tail</c> shows a line: <c>[host] line</c> with the host padded so lines start in one column, the
    /// file named too when several are followed, a journal entry as <c>identifier[pid]: message</c>; every control
    /// character of the line escaped (<see cref="TerminalText"/>), so a log can't drive the terminal. On a terminal the
    /// <c>[host]</c> part gets a colour of its own, the same for a host every run.
    /// </summary>
    public sealed class TailTextView
    {
        /// <summary>Host names longer than this are not padded to (one long name would push every line far right).</summary>
        public const int MaxPadding = 24;

        // ANSI foreground colours that read on dark and light backgrounds alike: never black, white or grey.
        private static readonly int[] Colours = { 31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96 };

        private readonly int _width;

        public TailTextView(TailOptions options, System.Collections.Generic.IEnumerable<string> hostNames, bool showHostName, bool colour)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            ShowSource = options.Paths.Count > 1;
            ShowHostName = showHostName;
            Colour = colour;
            foreach (var name in hostNames) _width = Math.Max(_width, Math.Min(MaxPadding, name.Length));
        }

        public bool ShowHostName { get; }
        public bool ShowSource { get; }
        public bool Colour { get; }

        /// <summary>The SGR colour of a host's prefix: from a hash of its name, so it is the same in every run.</summary>
        public static int ColourOf(string hostName)
        {
            // FNV-1a: string.GetHashCode differs between runs.
            uint hash = 2166136261;
            foreach (var c in hostName)
            {
                hash ^= c;
                hash *= 16777619;
            }
            return Colours[hash % (uint)Colours.Length];
        }

        /// <summary>The line as shown, without its line break; colour sequences only when <see cref="Colour"/>.</summary>
        public string Format(FleetLogLine line)
        {
            if (line == null) throw new ArgumentNullException(nameof(line));
            var text = new StringBuilder(line.Line.Length + 48);
            if (ShowHostName || ShowSource)
            {
                var label = new StringBuilder();
                if (ShowHostName) label.Append(TerminalText.Line(line.HostName));
                if (ShowSource) label.Append(label.Length > 0 ? " " : "").Append(TerminalText.Line(line.Source));
                var prefix = "[" + label + "]";
                if (ShowHostName && !ShowSource) prefix = prefix.PadRight(_width + 2);
                if (Colour) text.Append("\u001b[").Append(ColourOf(line.HostName).ToString(CultureInfo.InvariantCulture)).Append('m').Append(prefix).Append("\u001b[0m");
                else text.Append(prefix);
                text.Append(' ');
            }
            if (line.SourceKind == LogSourceKind.Journal && line.Identifier != null)
            {
                text.Append(TerminalText.Line(line.Identifier));
                if (line.ProcessId is int pid) text.Append('[').Append(pid.ToString(CultureInfo.InvariantCulture)).Append(']');
                text.Append(": ");
            }
            text.Append(TerminalText.OutputLine(line.Line));
            return text.ToString();
        }
    }

    /// <summary>
    /// The NDJSON form of a line (<c>herd tail --json</c>): the FleetLogLine properties in camelCase, one object per
    /// line, the text exact (JSON-escaped, never terminal-escaped). Written by hand so the field set is the contract.
    /// </summary>
    public static class FleetLogLineJson
    {
        public static void Write(Utf8JsonWriter w, FleetLogLine line)
        {
            if (w == null) throw new ArgumentNullException(nameof(w));
            if (line == null) throw new ArgumentNullException(nameof(line));
            w.WriteStartObject();
            w.WriteString("hostName", line.HostName);
            w.WriteString("source", line.Source);
            w.WriteString("sourceKind", line.SourceKind == LogSourceKind.Journal ? "journal" : "file");
            if (line.Path != null) w.WriteString("path", line.Path); else w.WriteNull("path");
            if (line.Unit != null) w.WriteString("unit", line.Unit); else w.WriteNull("unit");
            w.WriteString("line", line.Line);
            w.WriteString("receivedUtc", Iso(line.ReceivedUtc));
            if (line.SourceKind == LogSourceKind.Journal)
            {
                if (line.EntryTimeUtc is DateTime t) w.WriteString("entryTimeUtc", Iso(t)); else w.WriteNull("entryTimeUtc");
                if (line.Identifier != null) w.WriteString("identifier", line.Identifier); else w.WriteNull("identifier");
                if (line.ProcessId is int pid) w.WriteNumber("processId", pid); else w.WriteNull("processId");
            }
            w.WriteEndObject();
        }

        public static string Serialize(FleetLogLine line) => JsonText.Write(w => Write(w, line));

        private static string Iso(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }
}
