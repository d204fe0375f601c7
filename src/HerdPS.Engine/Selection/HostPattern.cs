using System;
using System.Collections.Generic;
using System.Text;
using HerdPS.Display;
using HerdPS.Inventory;

namespace HerdPS.Selection
{
    /// <summary>
    /// A host or exclude pattern as given on the command line (<c>-H</c>, <c>-x</c>) or to <c>-HostName</c> and
    /// <c>-Exclude</c>, read as pdsh and clush read it: a bracket holding only digits, commas and dashes is a range
    /// (<c>n[0001-0003]</c>, <c>web[01-03,07]</c>, zero padding kept) and expands, through the inventory's own
    /// expander (<see cref="HostRange"/>), into one pattern per name. Anything else stays for <see cref="HostGlob"/>:
    /// <c>*</c>, <c>?</c> and a bracket with letters (<c>[abc]</c>, <c>[!a-c]</c>), so ranges and globs combine
    /// (<c>rack[1-2]-*</c>). A bracket holding ':' is an IPv6 address (<c>[::1]:22</c>) and stays as it is.
    /// </summary>
    public static class HostPattern
    {
        /// <summary>Four times the longest host name: room for globs and ranges, and a bound on the work one pattern can ask for.</summary>
        public const int MaxLength = 4 * NameRules.MaxHostNameLength;

        /// <summary>
        /// The patterns <paramref name="pattern"/> stands for, in the order pdsh writes them (leftmost range
        /// slowest); the pattern itself when it has no range. Throws <see cref="FormatException"/> naming the
        /// pattern for a malformed range or one that expands to more than <paramref name="maxNames"/> names (the
        /// inventory's host limit, <see cref="InventoryLimits.MaxHosts"/>, which $HERD_MAX_HOSTS raises).
        /// </summary>
        public static IReadOnlyList<string> Expand(string pattern) => Expand(pattern, HostRange.MaxExpansion);

        /// <inheritdoc cref="Expand(string)"/>
        public static IReadOnlyList<string> Expand(string pattern, int maxNames)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));
            if (pattern.Length > MaxLength)
                throw new FormatException($"host pattern {TerminalText.Quote(pattern)} is longer than {MaxLength} characters; no host name is that long");
            var parts = new List<IReadOnlyList<string>>();
            var literal = new StringBuilder();
            bool anyRange = false;
            long total = 1;
            for (int i = 0; i < pattern.Length;)
            {
                char c = pattern[i];
                int close = c == '[' ? pattern.IndexOf(']', i + 1) : -1;
                if (close < 0)
                {
                    literal.Append(c); // an unclosed '[' is left for HostGlob to report
                    i++;
                    continue;
                }
                if (!IsRange(pattern, i + 1, close))
                {
                    literal.Append(pattern, i, close - i + 1); // a glob set or an IPv6 address, kept whole
                    i = close + 1;
                    continue;
                }
                if (literal.Length > 0) parts.Add(new[] { literal.ToString() });
                literal.Clear();
                IReadOnlyList<string> names;
                try
                {
                    names = HostRange.Expand(pattern.Substring(i, close - i + 1), maxNames); // counts before it builds
                }
                catch (FormatException e)
                {
                    throw new FormatException($"host pattern {TerminalText.Quote(pattern)}: {e.Message}" + (e is HostLimitException ? LimitHint : ""), e);
                }
                total *= names.Count;
                if (total > maxNames) throw new FormatException(TooMany(pattern, maxNames));
                parts.Add(names);
                anyRange = true;
                i = close + 1;
            }
            if (!anyRange) return new[] { pattern };
            if (literal.Length > 0) parts.Add(new[] { literal.ToString() });

            var expanded = new List<string>((int)total);
            Append(parts, 0, new StringBuilder(), expanded);
            return expanded;
        }

        private static string TooMany(string pattern, int maxNames) =>
            $"host pattern {TerminalText.Quote(pattern)} expands to more than {maxNames:N0} names" + LimitHint;

        /// <summary>What a pattern past the host limit adds: how to raise it.</summary>
        private static readonly string LimitHint = $" (the host limit; set ${InventoryLimits.MaxHostsVariable} to raise it)";

        /// <summary>True for a range bracket: not empty, only digits, commas and dashes, and at least one digit.</summary>
        public static bool IsRange(string text, int start, int end)
        {
            bool digit = false;
            for (int i = start; i < end; i++)
            {
                char c = text[i];
                if (c >= '0' && c <= '9') digit = true;
                else if (c != ',' && c != '-') return false;
            }
            return digit;
        }

        /// <summary>
        /// Splits a comma-separated list of patterns (<c>-H 'web[01-03,07],db1'</c>) at the commas outside
        /// brackets; a comma inside a range separates its numbers. Empty items are kept for the caller to refuse.
        /// </summary>
        public static IReadOnlyList<string> SplitList(string text)
        {
            var items = new List<string>();
            int depth = 0, start = 0;
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '[') depth++;
                else if (text[i] == ']' && depth > 0) depth--;
                else if (text[i] == ',' && depth == 0)
                {
                    items.Add(text.Substring(start, i - start));
                    start = i + 1;
                }
            }
            items.Add(text.Substring(start));
            return items;
        }

        private static void Append(List<IReadOnlyList<string>> parts, int index, StringBuilder current, List<string> into)
        {
            if (index == parts.Count)
            {
                into.Add(current.ToString());
                return;
            }
            int length = current.Length;
            foreach (var piece in parts[index])
            {
                current.Append(piece);
                Append(parts, index + 1, current, into);
                current.Length = length;
            }
        }
    }
}
