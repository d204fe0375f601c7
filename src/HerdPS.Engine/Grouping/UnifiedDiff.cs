using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HerdPS.Grouping
{
    /// <summary>
    /// Unified diffs of command output, in the format of <c>diff -u</c> and <c>git diff</c>, so they read the same
    /// in a terminal, a log or a patch tool. <see cref="LineDiff"/> finds the changed lines within a fixed budget of
    /// work; this class lays them out in hunks, or, when the texts differ too much to diff within the budget, writes
    /// a summary that says so (sizes, line counts, SHA-256, where they differ and the first differing line).
    /// </summary>
    public static class UnifiedDiff
    {
        /// <summary>
        /// Steps (line comparisons and diagonals tried) one diff may take in its minimal search, and again in its
        /// patience search, before it gives up and summarizes. Counted, not timed, so a result never depends on how
        /// busy the machine is. A diff that runs out of it costs 0.2 to 0.6 s of CPU on this project's 2-core
        /// machines (bench/results.md); ordinary outputs need a small fraction of it, however large they are.
        /// </summary>
        public const long DefaultBudget = 50_000_000;

        /// <summary>The longest part of a line a summary shows.</summary>
        internal const int MaxShownLineLength = 1000;

        private const string NoNewlineMarker = "\\ No newline at end of file";

        /// <summary>
        /// The unified diff from <paramref name="oldText"/> to <paramref name="newText"/>: a <c>---</c>/<c>+++</c>
        /// header with the labels, then <c>@@</c> hunks with <paramref name="context"/> unchanged lines around
        /// each change; hunks whose context would touch are merged. Identical texts give the empty string.
        /// Lines split at "\n"; a "\r" before it is not shown. A last line without a newline is marked
        /// "\ No newline at end of file", so "a" and "a\n" differ visibly. Every line of the result ends in "\n".
        /// Texts that differ in too many places to diff within <see cref="DefaultBudget"/> get a summary after the
        /// header instead of hunks; it starts with "(no line-by-line diff:".
        /// </summary>
        public static string Create(string oldText, string newText, string oldLabel, string newLabel, int context = 3) =>
            Create(oldText, newText, oldLabel, newLabel, context, DefaultBudget);

        /// <summary><see cref="Create(string, string, string, string, int)"/> with a given budget of steps.</summary>
        internal static string Create(string oldText, string newText, string oldLabel, string newLabel, int context, long budget) =>
            Create(oldText, newText, oldLabel, newLabel, context, budget, out _);

        /// <summary>
        /// <see cref="Create(string, string, string, string, int)"/> within a budget shared with the other diffs of a run:
        /// this diff gets at most what is left, and what it spends is taken off.
        /// </summary>
        public static string Create(string oldText, string newText, string oldLabel, string newLabel, DiffBudget shared, int context = 3)
        {
            if (shared == null) throw new ArgumentNullException(nameof(shared));
            var text = Create(oldText, newText, oldLabel, newLabel, context, shared.Take(), out _, out var spent, shared);
            shared.Spend(spent);
            return text;
        }

        /// <param name="search">How the diff was found (for tests: which search finished within the budget).</param>
        internal static string Create(string oldText, string newText, string oldLabel, string newLabel, int context, long budget, out DiffSearch search) =>
            Create(oldText, newText, oldLabel, newLabel, context, budget, out search, out _, null);

        private static string Create(string oldText, string newText, string oldLabel, string newLabel, int context, long budget, out DiffSearch search,
            out long spent, DiffBudget? shared)
        {
            spent = 0;
            search = DiffSearch.None;
            if (oldText == null) throw new ArgumentNullException(nameof(oldText));
            if (newText == null) throw new ArgumentNullException(nameof(newText));
            if (oldLabel == null) throw new ArgumentNullException(nameof(oldLabel));
            if (newLabel == null) throw new ArgumentNullException(nameof(newLabel));
            if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), "Context can't be negative.");
            if (budget < 0) throw new ArgumentOutOfRangeException(nameof(budget), "The budget can't be negative.");
            if (string.Equals(oldText, newText, StringComparison.Ordinal)) return "";

            // Lines are compared as ids: each distinct line (with its "\n", so a change in the final newline alone
            // is a change of the last line) is stored once, and equal lines get equal ids.
            var pieces = new List<string>();
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            int[] oldLines = SplitLines(oldText, ids, pieces);
            int[] newLines = SplitLines(newText, ids, pieces);

            var text = new StringBuilder();
            text.Append("--- ").Append(oldLabel).Append('\n');
            text.Append("+++ ").Append(newLabel).Append('\n');

            var changes = LineDiff.Compute(oldLines, newLines, pieces.Count, budget, out search, out spent);
            if (changes == null)
            {
                AppendSummary(text, oldText, newText, oldLabel, newLabel, oldLines, newLines, pieces, budget, shared);
                return text.ToString();
            }
            if (changes.Count == 0)
            {
                search = DiffSearch.None;
                return "";
            }

            int first = 0;
            while (first < changes.Count)
            {
                // A hunk takes following changes while the unchanged lines between them are at most 2 x context.
                int last = first;
                while (last + 1 < changes.Count
                       && changes[last + 1].DeleteStart - (changes[last].DeleteStart + changes[last].DeleteCount) <= 2 * context)
                    last++;
                AppendHunk(text, oldLines, newLines, pieces, changes, first, last, context);
                first = last + 1;
            }
            return text.ToString();
        }

        private static void AppendHunk(StringBuilder text, int[] oldLines, int[] newLines, List<string> pieces,
            List<LineChange> changes, int first, int last, int context)
        {
            // Unchanged lines are the same count in both texts, so the leading context starts as far back in each.
            int leading = Math.Min(context, Math.Min(changes[first].DeleteStart, changes[first].InsertStart));
            int oldStart = changes[first].DeleteStart - leading;
            int newStart = changes[first].InsertStart - leading;
            int oldEnd = Math.Min(oldLines.Length, changes[last].DeleteStart + changes[last].DeleteCount + context);
            int newEnd = Math.Min(newLines.Length, changes[last].InsertStart + changes[last].InsertCount + context);

            text.Append("@@ -").Append(Range(oldStart, oldEnd - oldStart))
                .Append(" +").Append(Range(newStart, newEnd - newStart)).Append(" @@\n");

            int oldAt = oldStart;
            for (int c = first; c <= last; c++)
            {
                var change = changes[c];
                for (; oldAt < change.DeleteStart; oldAt++) AppendLine(text, ' ', pieces[oldLines[oldAt]]);
                for (int i = 0; i < change.DeleteCount; i++) AppendLine(text, '-', pieces[oldLines[change.DeleteStart + i]]);
                for (int i = 0; i < change.InsertCount; i++) AppendLine(text, '+', pieces[newLines[change.InsertStart + i]]);
                oldAt = change.DeleteStart + change.DeleteCount;
            }
            for (; oldAt < oldEnd; oldAt++) AppendLine(text, ' ', pieces[oldLines[oldAt]]);
        }

        /// <summary>
        /// What can be said cheaply about two texts too different to diff: that the diff wasn't computed and why,
        /// each side's size, line count and SHA-256 (to compare with <c>sha256sum</c> of a saved copy), the range of
        /// lines where they differ, and the first differing line of each (shortened past <see cref="MaxShownLineLength"/>).
        /// </summary>
        private static void AppendSummary(StringBuilder text, string oldText, string newText, string oldLabel, string newLabel,
            int[] oldLines, int[] newLines, List<string> pieces, long budget, DiffBudget? shared)
        {
            int prefix = 0;
            while (prefix < oldLines.Length && prefix < newLines.Length && oldLines[prefix] == newLines[prefix]) prefix++;
            int suffix = 0;
            while (suffix < oldLines.Length - prefix && suffix < newLines.Length - prefix
                   && oldLines[oldLines.Length - 1 - suffix] == newLines[newLines.Length - 1 - suffix]) suffix++;

            if (shared != null && budget < shared.PerDiff)
                text.Append("(no line-by-line diff: the diffs of this run, ").Append(Number(shared.Total))
                    .Append(" steps in all, were spent on earlier hosts; ").Append(Number(budget)).Append(" were left for this one)\n");
            else
                text.Append("(no line-by-line diff: these texts differ in too many places to diff within the budget of ")
                    .Append(Number(budget)).Append(" steps)\n");
            AppendSide(text, oldLabel, oldText, oldLines.Length);
            AppendSide(text, newLabel, newText, newLines.Length);
            text.Append("they differ from line ").Append(Number(prefix + 1))
                .Append(" to line ").Append(Number(oldLines.Length - suffix)).Append(" of ").Append(oldLabel)
                .Append(" and line ").Append(Number(newLines.Length - suffix)).Append(" of ").Append(newLabel)
                .Append("; ").Append(Number(prefix)).Append(prefix == 1 ? " line" : " lines")
                .Append(" before and ").Append(Number(suffix)).Append(suffix == 1 ? " line" : " lines").Append(" after are the same\n");

            // A summary is only needed when both sides still have lines after the common prefix.
            text.Append("first difference, line ").Append(Number(prefix + 1)).Append(":\n");
            AppendShortenedLine(text, '-', pieces[oldLines[prefix]]);
            AppendShortenedLine(text, '+', pieces[newLines[prefix]]);
        }

        private static void AppendSide(StringBuilder text, string label, string content, int lines)
        {
            MeasureUtf8(content, out long bytes, out string sha256);
            text.Append(label).Append(": ").Append(Number(bytes)).Append(bytes == 1 ? " byte, " : " bytes, ")
                .Append(Number(lines)).Append(lines == 1 ? " line, " : " lines, ").Append("SHA-256 ").Append(sha256).Append('\n');
        }

        private static void AppendShortenedLine(StringBuilder text, char prefix, string piece)
        {
            bool hasNewline = piece.EndsWith("\n", StringComparison.Ordinal);
            int length = piece.Length - (hasNewline ? 1 : 0);
            if (hasNewline && length > 0 && piece[length - 1] == '\r') length--;
            if (length <= MaxShownLineLength)
            {
                AppendLine(text, prefix, piece);
                return;
            }
            int shown = MaxShownLineLength;
            if (char.IsHighSurrogate(piece[shown - 1])) shown--; // never split a character in two
            text.Append(prefix).Append(piece, 0, shown).Append('\n');
            text.Append("\\ line shortened: the first ").Append(Number(shown)).Append(" of its ")
                .Append(Number(length)).Append(" characters shown\n");
            if (!hasNewline) text.Append(NoNewlineMarker).Append('\n');
        }

        /// <summary>The UTF-8 size and SHA-256 of a text, encoded in chunks so a 10 MiB output isn't copied whole.</summary>
        private static void MeasureUtf8(string content, out long bytes, out string sha256)
        {
            var encoder = new UTF8Encoding(false).GetEncoder();
            var chars = new char[8192];
            var buffer = new byte[Encoding.UTF8.GetMaxByteCount(chars.Length)];
            bytes = 0;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                for (int at = 0; at < content.Length; at += chars.Length)
                {
                    int count = Math.Min(chars.Length, content.Length - at);
                    content.CopyTo(at, chars, 0, count);
                    int encoded = encoder.GetBytes(chars, 0, count, buffer, 0, flush: at + count >= content.Length);
                    hash.AppendData(buffer, 0, encoded);
                    bytes += encoded;
                }
                var digest = hash.GetHashAndReset();
                var hex = new StringBuilder(digest.Length * 2);
                foreach (byte b in digest) hex.Append(b.ToString("x2", CultureInfo.InvariantCulture));
                sha256 = hex.ToString();
            }
        }

        private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

        /// <summary>"start,count" with start 1-based; an empty range names the line before it; ",1" is left out, as diff does.</summary>
        private static string Range(int start, int count)
        {
            if (count == 0) return start + ",0";
            return count == 1 ? (start + 1).ToString(CultureInfo.InvariantCulture) : (start + 1) + "," + count;
        }

        private static void AppendLine(StringBuilder text, char prefix, string piece)
        {
            bool hasNewline = piece.EndsWith("\n", StringComparison.Ordinal);
            int length = piece.Length - (hasNewline ? 1 : 0);
            if (hasNewline && length > 0 && piece[length - 1] == '\r') length--;
            text.Append(prefix).Append(piece, 0, length).Append('\n');
            if (!hasNewline) text.Append(NoNewlineMarker).Append('\n');
        }

        /// <summary>
        /// The ids of the lines of <paramref name="text"/>, each line keeping its "\n" (the last may have none; "" has
        /// no lines). A line seen before gets its earlier id; a new one is added to <paramref name="pieces"/>.
        /// </summary>
        private static int[] SplitLines(string text, Dictionary<string, int> ids, List<string> pieces)
        {
            int count = 0;
            for (int at = text.IndexOf('\n'); at >= 0; at = text.IndexOf('\n', at + 1)) count++;
            if (text.Length > 0 && text[text.Length - 1] != '\n') count++;
            var lines = new int[count]; // sized first: a 10 MiB output can have millions of lines
            int start = 0;
            for (int n = 0; n < count; n++)
            {
                int newline = text.IndexOf('\n', start);
                int end = newline < 0 ? text.Length : newline + 1;
                string piece = text.Substring(start, end - start);
                if (!ids.TryGetValue(piece, out int id))
                {
                    id = pieces.Count;
                    ids.Add(piece, id);
                    pieces.Add(piece);
                }
                lines[n] = id;
                start = end;
            }
            return lines;
        }
    }
}
