using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using HerdPS.Display;
using HerdPS.Grouping;

namespace HerdPS.Files
{
    /// <summary>
    /// The human view of a file comparison, in the grouped style of <c>herd exec</c>: "3 hosts identical:" with the
    /// first lines of the norm, "1 host differs:" with its diff, hosts that couldn't be read by reason, and
    /// "4 files compared, 1 differs". File contents, names and messages are escaped for the terminal
    /// (<see cref="TerminalText"/>) and host lists folded (<see cref="HostListText"/>).
    /// </summary>
    public static class FileDriftTextView
    {
        /// <summary>Lines of the norm shown under "identical".</summary>
        public const int PreviewLines = 5;
        public const int MaxDiffLines = 200;

        public static void Render(FileDriftReport report, TextWriter w)
        {
            foreach (var g in report.Groups)
            {
                var n = g.HostNames.Count;
                string head;
                if (g.IsNorm) head = n == 1 ? " 1 host:" : $" {n} hosts identical:";
                else head = n == 1 ? " 1 host differs:" : $" {n} hosts differ identically:";
                w.WriteLine(head);
                w.WriteLine("   " + HostListText.Fold(g.HostNames));
                var facts = $"sha256 {g.Sha256.Substring(0, 12)}, {g.Length.ToString(CultureInfo.InvariantCulture)} bytes";
                if (g.TooLarge) w.WriteLine($"   ({facts}; larger than the {Size(report.MaxFileBytes)} cap: compared by hash only)");
                else if (g.IsBinary) w.WriteLine($"   ({facts}; binary: compared by hash only)");
                else if (g.IsNorm)
                {
                    w.WriteLine($"   ({facts})");
                    Indented(w, g.Text ?? "", PreviewLines, "(empty file)");
                }
                else if (g.Diff.Length > 0) Indented(w, g.Diff, MaxDiffLines, "");
                else w.WriteLine($"   ({facts}; the norm is binary or too large for a text diff)");
                w.WriteLine();
            }
            foreach (var byStatus in report.Results.Where(r => !r.Readable).GroupBy(r => r.Status).OrderBy(s => s.Key))
            {
                var hosts = byStatus.ToList();
                w.WriteLine($" {FileDrift.Plural(hosts.Count, "host")} {Describe(byStatus.Key)}:");
                foreach (var h in hosts) w.WriteLine($"   {TerminalText.Line(h.HostName)}: {TerminalText.Line(h.ErrorMessage)}");
                w.WriteLine();
            }
            w.WriteLine(Summary(report));
        }

        public static string Summary(FileDriftReport r)
        {
            var s = $"{FileDrift.Plural(r.Compared, "file")} compared, {r.Differing} differ{(r.Differing == 1 ? "s" : "")}";
            if (r.Unread > 0) s += $"; {FileDrift.Plural(r.Unread, "host")} not read";
            return s;
        }

        internal static string Describe(RemoteFileStatus s) => s switch
        {
            RemoteFileStatus.Missing => "without the file",
            RemoteFileStatus.IsDirectory => "where it is a directory",
            RemoteFileStatus.PermissionDenied => "denied permission",
            RemoteFileStatus.NotRegularFile => "where it is not a regular file",
            RemoteFileStatus.Failed => "failed",
            RemoteFileStatus.Unreachable => "unreachable",
            RemoteFileStatus.TimedOut => "timed out",
            RemoteFileStatus.Cancelled => "cancelled",
            _ => s.ToString(),
        };

        internal static string Size(long bytes) =>
            bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";

        private static void Indented(TextWriter w, string text, int max, string whenEmpty)
        {
            if (text.Length == 0) { if (whenEmpty.Length > 0) w.WriteLine("   " + whenEmpty); return; }
            GroupedTextView.WriteLines(w, text, "   ", max);
        }
    }

    /// <summary>NDJSON of file results: the property names in camelCase, one object per line, written by hand so the field set is the contract.</summary>
    public static class FileResultJson
    {
        public static string Serialize(RemoteFileResult r) => JsonText.Object(w =>
        {
            w.WriteString("hostName", r.HostName);
            w.WriteString("path", r.Path);
            w.WriteString("status", r.Status.ToString());
            if (r.Sha256 != null) w.WriteString("sha256", r.Sha256); else w.WriteNull("sha256");
            if (r.Length is long l) w.WriteNumber("length", l); else w.WriteNull("length");
            w.WriteBoolean("isBinary", r.IsBinary);
            w.WriteBoolean("isNorm", r.IsNorm);
            if (r.GroupId is int g) w.WriteNumber("groupId", g); else w.WriteNull("groupId");
            w.WriteString("diff", r.Diff);
            if (r.SavedPath != null) w.WriteString("savedPath", r.SavedPath); else w.WriteNull("savedPath");
            w.WriteString("errorKind", r.ErrorKind.ToString());
            if (r.ErrorMessage != null) w.WriteString("errorMessage", r.ErrorMessage); else w.WriteNull("errorMessage");
        });

        public static string Serialize(FileTransferResult r) => JsonText.Object(w =>
        {
            w.WriteString("hostName", r.HostName);
            w.WriteString("direction", r.Direction.ToString());
            w.WriteString("localPath", r.LocalPath);
            w.WriteString("remotePath", r.RemotePath);
            w.WriteString("status", r.Status.ToString());
            w.WriteBoolean("succeeded", r.Succeeded);
            w.WriteNumber("bytes", r.Bytes);
            if (r.Sha256 != null) w.WriteString("sha256", r.Sha256); else w.WriteNull("sha256");
            w.WriteBoolean("verified", r.Verified);
            w.WriteNumber("duration", Math.Round(r.Duration.TotalSeconds, 3));
            w.WriteString("errorKind", r.ErrorKind.ToString());
            if (r.ErrorMessage != null) w.WriteString("errorMessage", r.ErrorMessage); else w.WriteNull("errorMessage");
        });
    }
}
