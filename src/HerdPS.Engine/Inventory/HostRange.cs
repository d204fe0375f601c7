using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace HerdPS.Inventory
{
    /// <summary>
    /// pdsh-style host ranges: <c>web[01-20]</c>, <c>rack[1-2]-n[1-3]</c>, <c>db[1,3,5-7]</c>.
    /// A bracket holds comma-separated numbers and <c>low-high</c> ranges. Zero padding follows the
    /// written low bound (<c>[01-20]</c> gives <c>01</c> .. <c>20</c>; <c>[1-10]</c> gives <c>1</c> .. <c>10</c>).
    /// Several brackets expand as a cartesian product with the leftmost bracket varying slowest, so the
    /// order is the order a person would write the names in.
    /// </summary>
    public static class HostRange
    {
        /// <summary>
        /// More names than this from one pattern is almost certainly a typo (or an attack on memory). The inventory's
        /// own limit (<see cref="InventoryLimits.MaxHosts"/>, the same number unless raised) is checked with
        /// <see cref="Count(string)"/> before expanding.
        /// </summary>
        public const int MaxExpansion = 100_000;

        /// <summary>True if the text contains a bracket, i.e. would be expanded rather than taken literally.</summary>
        public static bool IsPattern(string text) => text.IndexOf('[') >= 0 || text.IndexOf(']') >= 0;

        /// <summary>
        /// Expands a pattern into names. Text without brackets is returned as the single name it is.
        /// Throws <see cref="FormatException"/> for malformed brackets, reversed ranges, or an expansion of
        /// more than <see cref="MaxExpansion"/> names.
        /// </summary>
        public static IReadOnlyList<string> Expand(string pattern) => Expand(pattern, MaxExpansion);

        /// <summary>
        /// <see cref="Expand(string)"/> with a caller's cap: more than <paramref name="maxNames"/> names is a
        /// <see cref="FormatException"/>, found by counting before a single name is built. Names longer than
        /// <see cref="NameRules.MaxHostNameLength"/> are refused the same way, since none of them could be a host.
        /// </summary>
        public static IReadOnlyList<string> Expand(string pattern, int maxNames)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));
            var parts = Parse(pattern);
            long total = Count(parts);
            if (total > maxNames)
                throw new HostLimitException($"'{Shown(pattern)}' expands to more than {maxNames:N0} names");
            long longest = 0;
            foreach (var part in parts) longest += part.LongestItem;
            // (Plain text too long for a host name is left to the name check, which says why in its own words.)
            if (longest > NameRules.MaxHostNameLength && IsPattern(pattern))
                throw new FormatException($"'{Shown(pattern)}' makes names of up to {longest:N0} characters; a host name has at most {NameRules.MaxHostNameLength}");

            // Counted and sized first, so what is built here is at most maxNames short names. The product is an
            // odometer rather than a recursion: a pattern of thousands of brackets can't exhaust the stack.
            var items = new List<List<string>>(parts.Count);
            foreach (var part in parts) items.Add(part.Items());
            var names = new List<string>((int)total);
            var index = new int[items.Count];
            var name = new StringBuilder();
            while (true)
            {
                name.Length = 0;
                for (int p = 0; p < items.Count; p++) name.Append(items[p][index[p]]);
                names.Add(name.ToString());
                int k = items.Count - 1;
                while (k >= 0 && ++index[k] == items[k].Count) index[k--] = 0;
                if (k < 0) return names;
            }
        }

        /// <summary>
        /// How many names <paramref name="pattern"/> expands to, without building any (1 for text without brackets);
        /// <see cref="long.MaxValue"/> when the count doesn't fit. Throws <see cref="FormatException"/> as
        /// <see cref="Expand(string)"/> does for a malformed pattern.
        /// </summary>
        public static long Count(string pattern)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));
            return Count(Parse(pattern));
        }

        private static long Count(List<Part> parts)
        {
            long total = 1;
            foreach (var part in parts)
            {
                long count = part.Count;
                total = count != 0 && total > long.MaxValue / count ? long.MaxValue : total * count;
            }
            return total;
        }

        /// <summary>The pattern as a list of alternatives per position: literal text is a one-item part.</summary>
        private static List<Part> Parse(string pattern)
        {
            var parts = new List<Part>();
            int i = 0;
            while (i < pattern.Length)
            {
                int open = pattern.IndexOf('[', i);
                int strayClose = pattern.IndexOf(']', i);
                if (strayClose >= 0 && (open < 0 || strayClose < open))
                    throw new FormatException($"'{Shown(pattern)}' has a ']' without a matching '[' at position {strayClose + 1}");
                if (open < 0)
                {
                    parts.Add(Part.Literal(pattern.Substring(i)));
                    break;
                }
                if (open > i) parts.Add(Part.Literal(pattern.Substring(i, open - i)));

                int close = pattern.IndexOf(']', open + 1);
                if (close < 0)
                    throw new FormatException($"'{Shown(pattern)}' has a '[' without a matching ']' at position {open + 1}");
                int nested = pattern.IndexOf('[', open + 1);
                if (nested >= 0 && nested < close)
                    throw new FormatException($"'{Shown(pattern)}' has a '[' inside a bracket at position {nested + 1}; brackets can't nest");

                parts.Add(ParseBracket(pattern, pattern.Substring(open + 1, close - open - 1)));
                i = close + 1;
            }
            return parts;
        }

        private static Part ParseBracket(string pattern, string body)
        {
            if (body.Length == 0)
                throw new FormatException($"'{Shown(pattern)}' has an empty bracket []");
            if (body.IndexOf(':') >= 0)
                throw new FormatException($"'{Shown(pattern)}' is not a range: brackets hold numbers such as [01-20] or [1,3,5-7] (write an IPv6 address without brackets)");

            var part = new Part();
            foreach (var term in body.Split(','))
            {
                if (term.Length == 0)
                    throw new FormatException($"'{Shown(pattern)}' has an empty item in [{Shown(body)}]");

                int dash = term.IndexOf('-');
                if (dash < 0)
                {
                    RequireDigits(pattern, body, term);
                    part.AddNumber(term);
                    continue;
                }

                string low = term.Substring(0, dash);
                string high = term.Substring(dash + 1);
                RequireDigits(pattern, body, low);
                RequireDigits(pattern, body, high);
                long from = ParseNumber(pattern, low);
                long to = ParseNumber(pattern, high);
                if (to < from)
                    throw new FormatException($"'{Shown(pattern)}' has a reversed range {Shown(term)}; write the low bound first");

                // pdsh pads to the width of the low bound when it is written with a leading zero.
                int width = low.Length > 1 && low[0] == '0' ? low.Length : 0;
                part.AddRange(from, to, width, Math.Max(width, high.Length));
            }
            return part;
        }

        private static void RequireDigits(string pattern, string body, string text)
        {
            if (text.Length == 0)
                throw new FormatException($"'{Shown(pattern)}' has an incomplete range in [{Shown(body)}]");
            foreach (char c in text)
            {
                if (c < '0' || c > '9')
                    throw new FormatException($"'{Shown(pattern)}' has '{Shown(text)}' in [{Shown(body)}]; brackets hold numbers such as [01-20] or [1,3,5-7]");
            }
        }

        private static long ParseNumber(string pattern, string digits)
        {
            if (digits.Length > 18)
                throw new FormatException($"'{Shown(pattern)}' has a number too large for a range: {Shown(digits)}");
            return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        /// <summary>Text from a pattern as an error message shows it: escaped, and shortened when long.</summary>
        private static string Shown(string text) => QuotedText.Of(text);

        /// <summary>One position of a pattern: literal text, or a bracket's numbers and ranges, kept unexpanded until counted.</summary>
        private sealed class Part
        {
            private readonly List<(string? text, long from, long to, int width)> _terms = new List<(string?, long, long, int)>();

            public long Count { get; private set; }
            /// <summary>Length of the longest item, so name lengths are known before any is built.</summary>
            public int LongestItem { get; private set; }

            public static Part Literal(string text)
            {
                var part = new Part();
                part.Add(text, 0, 0, 0, 1, text.Length);
                return part;
            }

            /// <summary>A single number stays as written ("007" stays "007").</summary>
            public void AddNumber(string digits) => Add(digits, 0, 0, 0, 1, digits.Length);

            public void AddRange(long from, long to, int width, int longest) => Add(null, from, to, width, to - from + 1, longest);

            private void Add(string? text, long from, long to, int width, long count, int longest)
            {
                _terms.Add((text, from, to, width));
                Count = Count > long.MaxValue - count ? long.MaxValue : Count + count;
                LongestItem = Math.Max(LongestItem, longest);
            }

            /// <summary>The items in order; only called once the whole pattern's count is known to be small.</summary>
            public List<string> Items()
            {
                var items = new List<string>((int)Count);
                foreach (var (text, from, to, width) in _terms)
                {
                    if (text != null) { items.Add(text); continue; }
                    for (long n = from; n <= to; n++)
                        items.Add(n.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
                }
                return items;
            }
        }
    }

    /// <summary>A range that stands for more names than the host limit allows (<see cref="InventoryLimits.MaxHosts"/>).</summary>
    public sealed class HostLimitException : FormatException
    {
        public HostLimitException(string message) : base(message) { }
    }
}
