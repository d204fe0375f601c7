using System;
using System.IO;
using System.Linq;
using HerdPS.Display;

namespace HerdPS.Grouping
{
    /// <summary>
    /// The human view of a grouped run, as agent462/herd shows it: "12 hosts identical:" with the output once,
    /// "1 host differs:" with a diff against the majority, hosts that never ran listed by reason, and a summary.
    /// Rendered to any TextWriter; the engine never picks the console itself. Everything that came from a host or a
    /// user (output, names, messages) is escaped through <see cref="TerminalText"/>, and host lists are folded
    /// (<see cref="HostListText"/>).
    /// </summary>
    public static class GroupedTextView
    {
        /// <summary>Lines of output shown for a group before "... (N more lines)".</summary>
        public const int MaxOutputLines = 40;

        public static void Render(GroupedResults grouped, TextWriter w, bool errorsOnly = false)
        {
            var everyHostDistinct = grouped.Groups.Count > 1 && grouped.Groups.All(g => g.Count == 1);
            foreach (var g in grouped.Groups)
            {
                if (errorsOnly && g.Sample.Succeeded) continue;
                var exit = g.Sample.ExitCode == 0 ? "" : $" (exit {g.Sample.ExitCode})";
                if (g.IsNorm || everyHostDistinct)
                {
                    w.WriteLine(g.Count == 1 ? $" 1 host{exit}:" : $" {g.Count} hosts identical{exit}:");
                    w.WriteLine("   " + HostListText.Fold(g.HostNames));
                    WriteIndented(w, g.Sample.StdOut);
                }
                else
                {
                    w.WriteLine(g.Count == 1 ? $" 1 host differs{exit}:" : $" {g.Count} hosts differ identically{exit}:");
                    w.WriteLine("   " + HostListText.Fold(g.HostNames));
                    WriteIndented(w, g.Diff.Length > 0 ? g.Diff : "(same stdout as the norm; stderr or exit code differ)");
                }
                if (g.Sample.StdErr.Length > 0)
                {
                    w.WriteLine("   stderr:");
                    WriteIndented(w, g.Sample.StdErr, "     ");
                }
                if (g.Sample.Truncated) w.WriteLine("   (output truncated at the output cap)");
                w.WriteLine();
            }
            foreach (var n in grouped.NotRun)
            {
                var what = n.Status switch
                {
                    FleetStatus.Unreachable => "unreachable",
                    FleetStatus.TimedOut => "timed out",
                    FleetStatus.Cancelled => "cancelled",
                    _ => n.Status.ToString().ToLowerInvariant(),
                };
                var kind = n.ErrorKind == FleetErrorKind.None ? "" : $" ({n.ErrorKind})";
                w.WriteLine($" {OutputGrouper.Plural(n.Hosts.Count, "host")} {what}{kind}:");
                foreach (var h in n.Hosts) w.WriteLine($"   {TerminalText.Line(h.Key)}: {TerminalText.Line(h.Value)}");
                w.WriteLine();
            }
            w.WriteLine(Summary(grouped));
        }

        public static string Summary(GroupedResults g)
        {
            var parts = new System.Collections.Generic.List<string> { $"{g.Succeeded} succeeded" };
            if (g.Failed > 0) parts.Add($"{g.Failed} failed");
            if (g.Unreachable > 0) parts.Add($"{g.Unreachable} unreachable");
            if (g.TimedOut > 0) parts.Add($"{g.TimedOut} timed out");
            if (g.Cancelled > 0) parts.Add($"{g.Cancelled} cancelled");
            var distinct = g.Groups.Count;
            return $"{OutputGrouper.Plural(g.Total, "host")}: {string.Join(", ", parts)}; {OutputGrouper.Plural(distinct, "distinct output")}";
        }

        private static void WriteIndented(TextWriter w, string text, string indent = "   ")
        {
            if (text.Length == 0) { w.WriteLine(indent + "(no output)"); return; }
            WriteLines(w, text, indent, MaxOutputLines);
        }

        /// <summary>
        /// The first <paramref name="maxLines"/> lines of <paramref name="text"/>, each indented and escaped for the
        /// terminal (tabs stay), then "... (N more lines)". Every view that shows output, files or diffs uses it.
        /// </summary>
        public static void WriteLines(TextWriter w, string text, string indent, int maxLines)
        {
            // Walks the text instead of splitting it: a 10 MiB output shows 40 lines without copying the rest.
            int end = text.Length;
            while (end > 0 && text[end - 1] == '\n') end -= end > 1 && text[end - 2] == '\r' ? 2 : 1;
            int start = 0, shown = 0;
            while (start < end || (start == end && shown == 0))
            {
                int newline = text.IndexOf('\n', start, end - start);
                if (newline < 0) newline = end;
                if (shown == maxLines)
                {
                    int more = 1;
                    for (int i = start; i < end; i++) if (text[i] == '\n') more++;
                    w.WriteLine($"{indent}... ({more} more lines)");
                    return;
                }
                int lineEnd = newline > start && text[newline - 1] == '\r' && newline < end ? newline - 1 : newline;
                w.WriteLine(indent + TerminalText.OutputLine(text.Substring(start, lineEnd - start)));
                shown++;
                start = newline + 1;
            }
        }
    }
}
