using System;
using System.Collections.Generic;
using System.Text;
using DiffPlex;
using DiffPlex.Model;

namespace HerdPS.Bench
{
    /// <summary>
    /// The engine's UnifiedDiff before its work was bounded (commit 201dac5), kept here as the "before" of
    /// bench/diff.sh. Unified diffs of command output, in the format of <c>diff -u</c> and <c>git diff</c>, so they read the same
    /// in a terminal, a log or a patch tool. DiffPlex finds the changed lines; this class lays them out in hunks.
    /// </summary>
    public static class DiffPlexUnifiedDiff
    {
        private const string NoNewlineMarker = "\\ No newline at end of file";

        /// <summary>
        /// The unified diff from <paramref name="oldText"/> to <paramref name="newText"/>: a <c>---</c>/<c>+++</c>
        /// header with the labels, then <c>@@</c> hunks with <paramref name="context"/> unchanged lines around
        /// each change; hunks whose context would touch are merged. Identical texts give the empty string.
        /// Lines split at "\n"; a "\r" before it is not shown. A last line without a newline is marked
        /// "\ No newline at end of file", so "a" and "a\n" differ visibly. Every line of the result ends in "\n".
        /// </summary>
        public static string Create(string oldText, string newText, string oldLabel, string newLabel, int context = 3)
        {
            if (oldText == null) throw new ArgumentNullException(nameof(oldText));
            if (newText == null) throw new ArgumentNullException(nameof(newText));
            if (oldLabel == null) throw new ArgumentNullException(nameof(oldLabel));
            if (newLabel == null) throw new ArgumentNullException(nameof(newLabel));
            if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), "Context can't be negative.");
            if (string.Equals(oldText, newText, StringComparison.Ordinal)) return "";

            // Pieces keep their "\n", so a change in the final newline alone is a change of the last line.
            DiffResult diff = Differ.Instance.CreateDiffs(oldText, newText, ignoreWhiteSpace: false, ignoreCase: false,
                LinesWithTerminators.Instance);
            var oldLines = diff.PiecesOld;
            var newLines = diff.PiecesNew;
            var blocks = diff.DiffBlocks;
            if (blocks.Count == 0) return "";

            var text = new StringBuilder();
            text.Append("--- ").Append(oldLabel).Append('\n');
            text.Append("+++ ").Append(newLabel).Append('\n');

            int first = 0;
            while (first < blocks.Count)
            {
                // A hunk takes following blocks while the unchanged lines between them are at most 2 x context.
                int last = first;
                while (last + 1 < blocks.Count
                       && blocks[last + 1].DeleteStartA - (blocks[last].DeleteStartA + blocks[last].DeleteCountA) <= 2 * context)
                    last++;
                AppendHunk(text, oldLines, newLines, blocks, first, last, context);
                first = last + 1;
            }
            return text.ToString();
        }

        private static void AppendHunk(StringBuilder text, IReadOnlyList<string> oldLines, IReadOnlyList<string> newLines,
            IList<DiffBlock> blocks, int first, int last, int context)
        {
            // Unchanged lines are the same count in both texts, so the leading context starts as far back in each.
            int leading = Math.Min(context, Math.Min(blocks[first].DeleteStartA, blocks[first].InsertStartB));
            int oldStart = blocks[first].DeleteStartA - leading;
            int newStart = blocks[first].InsertStartB - leading;
            int oldEnd = Math.Min(oldLines.Count, blocks[last].DeleteStartA + blocks[last].DeleteCountA + context);
            int newEnd = Math.Min(newLines.Count, blocks[last].InsertStartB + blocks[last].InsertCountB + context);

            text.Append("@@ -").Append(Range(oldStart, oldEnd - oldStart))
                .Append(" +").Append(Range(newStart, newEnd - newStart)).Append(" @@\n");

            int oldAt = oldStart;
            for (int b = first; b <= last; b++)
            {
                var block = blocks[b];
                for (; oldAt < block.DeleteStartA; oldAt++) AppendLine(text, ' ', oldLines[oldAt]);
                for (int i = 0; i < block.DeleteCountA; i++) AppendLine(text, '-', oldLines[block.DeleteStartA + i]);
                for (int i = 0; i < block.InsertCountB; i++) AppendLine(text, '+', newLines[block.InsertStartB + i]);
                oldAt = block.DeleteStartA + block.DeleteCountA;
            }
            for (; oldAt < oldEnd; oldAt++) AppendLine(text, ' ', oldLines[oldAt]);
        }

        /// <summary>"start,count" with start 1-based; an empty range names the line before it; ",1" is left out, as diff does.</summary>
        private static string Range(int start, int count)
        {
            if (count == 0) return start + ",0";
            return count == 1 ? (start + 1).ToString() : (start + 1) + "," + count;
        }

        private static void AppendLine(StringBuilder text, char prefix, string piece)
        {
            bool hasNewline = piece.EndsWith("\n", StringComparison.Ordinal);
            int length = piece.Length - (hasNewline ? 1 : 0);
            if (hasNewline && length > 0 && piece[length - 1] == '\r') length--;
            text.Append(prefix).Append(piece, 0, length).Append('\n');
            if (!hasNewline) text.Append(NoNewlineMarker).Append('\n');
        }

        /// <summary>Splits text into lines that keep their "\n" (the last may have none); "" has no lines.</summary>
        private sealed class LinesWithTerminators : IChunker
        {
            public static readonly LinesWithTerminators Instance = new LinesWithTerminators();

            public IReadOnlyList<string> Chunk(string text)
            {
                var lines = new List<string>();
                int start = 0;
                while (start < text.Length)
                {
                    int newline = text.IndexOf('\n', start);
                    int end = newline < 0 ? text.Length : newline + 1;
                    lines.Add(text.Substring(start, end - start));
                    start = end;
                }
                return lines;
            }
        }
    }
}
