using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using HerdPS.Display;
using HerdPS.Grouping;
using HerdPS.History;

namespace HerdPS.Cli
{
    /// <summary>
    /// The human and NDJSON views of per-host changes between two runs: <c>herd exec --diff-last</c> and
    /// <c>herd history diff</c>. Same shape as the grouped view: a count, the hosts, then what differs.
    /// </summary>
    internal static class ChangeView
    {
        public static string NoEarlierRun(string command, string selection)
            => $"no earlier finished run of {TerminalText.Quote(command, 200)} on {TerminalText.Quote(selection, 200)} in the history; nothing to compare with (this run is the baseline for the next --diff-last)";

        /// <summary>--diff-last: "3 hosts unchanged since last run (time)", "1 host changed:" with diffs, then the run's summary.</summary>
        public static void RenderDiffLast(RunDifference d, GroupedResults thisRun, TextWriter w, bool errorsOnly)
        {
            var since = $"since last run ({FleetHistory.LocalTime(d.Reference!.StartedUtc)}, run {d.Reference.Id})";
            Render(d, w, since, "new since last run", "in the last run but not in this one", errorsOnly);
            w.WriteLine($"{GroupedTextView.Summary(thisRun)}; {d.Changed} changed" +
                        (d.Added > 0 ? $", {d.Added} new" : "") + (d.Removed > 0 ? $", {d.Removed} gone" : ""));
        }

        /// <summary>herd history diff: per host unchanged, changed with a diff, or only in one of the runs.</summary>
        public static void RenderRunDiff(RunDifference d, TextWriter w)
        {
            var reference = d.Reference!;
            var difference = d.Difference!;
            w.WriteLine($" run {reference.Id}: {RunLine(reference.Command, reference.Selection)}  {FleetHistory.LocalTime(reference.StartedUtc)}");
            w.WriteLine($" run {difference.Id}: {RunLine(difference.Command, difference.Selection)}  {FleetHistory.LocalTime(difference.StartedUtc)}");
            w.WriteLine();
            Render(d, w, "", $"only in run {difference.Id}", $"only in run {reference.Id}", errorsOnly: false);
            w.WriteLine($"{Plural(d.Changes.Count, "host")}: {d.Unchanged} unchanged, {d.Changed} changed, " +
                        $"{d.Removed} only in run {reference.Id}, {d.Added} only in run {difference.Id}");
        }

        private static void Render(RunDifference d, TextWriter w, string unchangedSuffix, string addedTitle, string removedTitle, bool errorsOnly)
        {
            var unchanged = d.Changes.Where(c => c.Change == HostChangeKind.Unchanged).ToList();
            if (unchanged.Count > 0 && !errorsOnly)
            {
                w.WriteLine($" {Plural(unchanged.Count, "host")} unchanged{(unchangedSuffix.Length > 0 ? " " + unchangedSuffix : "")}");
                w.WriteLine("   " + HostListText.Fold(unchanged.Select(c => c.HostName)));
                w.WriteLine();
            }
            var changed = d.Changes.Where(c => c.Change == HostChangeKind.Changed).ToList();
            if (changed.Count > 0)
            {
                w.WriteLine($" {Plural(changed.Count, "host")} changed:");
                foreach (var c in changed)
                {
                    var status = c.ReferenceStatus != c.DifferenceStatus ? $" ({c.ReferenceStatus} -> {c.DifferenceStatus})"
                        : c.Reference?.ExitCode != c.Difference?.ExitCode ? $" (exit {c.Reference?.ExitCode} -> {c.Difference?.ExitCode})" : "";
                    w.WriteLine($"   {TerminalText.Line(c.HostName)}{status}");
                    WriteIndented(w, c.Diff.Length > 0 ? c.Diff : "(same stdout; stderr, exit code or status differ)", "   ");
                }
                w.WriteLine();
            }
            WriteHostList(w, d.Changes.Where(c => c.Change == HostChangeKind.Added).ToList(), addedTitle);
            WriteHostList(w, d.Changes.Where(c => c.Change == HostChangeKind.Removed).ToList(), removedTitle);
        }

        private static void WriteHostList(TextWriter w, List<HostChange> hosts, string title)
        {
            if (hosts.Count == 0) return;
            w.WriteLine($" {Plural(hosts.Count, "host")} {title}:");
            w.WriteLine("   " + HostListText.Fold(hosts.Select(c => c.HostName)));
            w.WriteLine();
        }

        /// <summary>A diff under a host: up to 200 lines, escaped for the terminal.</summary>
        internal static void WriteIndented(TextWriter w, string text, string indent) =>
            GroupedTextView.WriteLines(w, text, indent, GroupedTextView.MaxOutputLines * 5);

        /// <summary>A recorded run's command and selection on one line of a header: escaped, and cut short if huge.</summary>
        internal static string RunLine(string command, string selection) =>
            $"{TerminalText.Line(command, MaxCommandLength)}  [{TerminalText.Line(selection, MaxCommandLength)}]";

        /// <summary>A command longer than this (a whole script) is cut in headers; history show --json has all of it.</summary>
        internal const int MaxCommandLength = 500;

        /// <summary>
        /// --diff-last's NDJSON fields: change ("Unchanged", "Changed", "Added"), changed (true only for
        /// Changed; null when there is no earlier run to compare with) and diff (stdout's unified diff, empty
        /// unless changed).
        /// </summary>
        public static void WriteJsonFields(Utf8JsonWriter w, HostChange? change)
        {
            if (change == null)
            {
                w.WriteNull("change");
                w.WriteNull("changed");
                w.WriteString("diff", "");
                return;
            }
            w.WriteString("change", change.Change.ToString());
            w.WriteBoolean("changed", change.Change == HostChangeKind.Changed);
            w.WriteString("diff", change.Change == HostChangeKind.Changed ? change.Diff : "");
        }

        /// <summary>herd history diff --json: one object per host.</summary>
        public static string ToJson(HostChange c)
        {
            return JsonText.Object(w =>
            {
                w.WriteString("hostName", c.HostName);
                w.WriteString("change", c.Change.ToString());
                WriteNullable(w, "referenceStatus", c.ReferenceStatus?.ToString());
                WriteNullable(w, "differenceStatus", c.DifferenceStatus?.ToString());
                WriteNullable(w, "referenceHash", c.ReferenceHash);
                WriteNullable(w, "differenceHash", c.DifferenceHash);
                w.WriteString("diff", c.Diff);
            });
        }

        internal static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

        private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
        {
            if (value == null) w.WriteNull(name); else w.WriteString(name, value);
        }
    }
}
