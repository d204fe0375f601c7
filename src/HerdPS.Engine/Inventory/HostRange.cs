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
        /// <summary>More names than this from one pattern is almost certainly a typo (or an attack on memory).</summary>
        public const int MaxExpansion = 100_000;

        /// <summary>True if the text contains a bracket, i.e. would be expanded rather than taken literally.</summary>
        public static bool IsPattern(string text) => text.IndexOf('[') >= 0 || text.IndexOf(']') >= 0;

        /// <summary>
        /// Expands a pattern into names. Text without brackets is returned as the single name it is.
        /// Throws <see cref="FormatException"/> for malformed brackets, reversed ranges, or an expansion of
        /// more than <see cref="MaxExpansion"/> names.
        /// </summary>
        public static IReadOnlyList<string> Expand(string pattern)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));

            var parts = Split(pattern);

            long total = 1;
            foreach (var part in parts)
            {
                total *= part.Count;
                if (total > MaxExpansion)
                    throw new FormatException($"'{pattern}' expands to more than {MaxExpansion:N0} names");
            }

            var names = new List<string>((int)total);
            var current = new StringBuilder();
            Append(parts, 0, current, names);
            return names;
        }

        private static void Append(List<List<string>> parts, int index, StringBuilder current, List<string> names)
        {
            if (index == parts.Count)
            {
                names.Add(current.ToString());
                return;
            }
            int length = current.Length;
            foreach (var piece in parts[index])
            {
                current.Append(piece);
                Append(parts, index + 1, current, names);
                current.Length = length;
            }
        }

        /// <summary>The pattern as a list of alternatives per position: literal text is a one-item list.</summary>
        private static List<List<string>> Split(string pattern)
        {
            var parts = new List<List<string>>();
            int i = 0;
            while (i < pattern.Length)
            {
                int open = pattern.IndexOf('[', i);
                int strayClose = pattern.IndexOf(']', i);
                if (strayClose >= 0 && (open < 0 || strayClose < open))
                    throw new FormatException($"'{pattern}' has a ']' without a matching '[' at position {strayClose + 1}");
                if (open < 0)
                {
                    parts.Add(new List<string> { pattern.Substring(i) });
                    break;
                }
                if (open > i) parts.Add(new List<string> { pattern.Substring(i, open - i) });

                int close = pattern.IndexOf(']', open + 1);
                if (close < 0)
                    throw new FormatException($"'{pattern}' has a '[' without a matching ']' at position {open + 1}");
                int nested = pattern.IndexOf('[', open + 1);
                if (nested >= 0 && nested < close)
                    throw new FormatException($"'{pattern}' has a '[' inside a bracket at position {nested + 1}; brackets can't nest");

                parts.Add(ExpandBracket(pattern, pattern.Substring(open + 1, close - open - 1)));
                i = close + 1;
            }
            return parts;
        }

        private static List<string> ExpandBracket(string pattern, string body)
        {
            if (body.Length == 0)
                throw new FormatException($"'{pattern}' has an empty bracket []");
            if (body.IndexOf(':') >= 0)
                throw new FormatException($"'{pattern}' is not a range: brackets hold numbers such as [01-20] or [1,3,5-7] (write an IPv6 address without brackets)");

            var items = new List<string>();
            foreach (var term in body.Split(','))
            {
                if (term.Length == 0)
                    throw new FormatException($"'{pattern}' has an empty item in [{body}]");

                int dash = term.IndexOf('-');
                if (dash < 0)
                {
                    RequireDigits(pattern, body, term);
                    items.Add(term);
                    continue;
                }

                string low = term.Substring(0, dash);
                string high = term.Substring(dash + 1);
                RequireDigits(pattern, body, low);
                RequireDigits(pattern, body, high);
                long from = ParseNumber(pattern, low);
                long to = ParseNumber(pattern, high);
                if (to < from)
                    throw new FormatException($"'{pattern}' has a reversed range {term}; write the low bound first");
                if (to - from + 1 + items.Count > MaxExpansion)
                    throw new FormatException($"'{pattern}' expands to more than {MaxExpansion:N0} names");

                // pdsh pads to the width of the low bound when it is written with a leading zero.
                int width = low.Length > 1 && low[0] == '0' ? low.Length : 0;
                for (long n = from; n <= to; n++)
                    items.Add(n.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
            }
            return items;
        }

        private static void RequireDigits(string pattern, string body, string text)
        {
            if (text.Length == 0)
                throw new FormatException($"'{pattern}' has an incomplete range in [{body}]");
            foreach (char c in text)
            {
                if (c < '0' || c > '9')
                    throw new FormatException($"'{pattern}' has '{text}' in [{body}]; brackets hold numbers such as [01-20] or [1,3,5-7]");
            }
        }

        private static long ParseNumber(string pattern, string digits)
        {
            if (digits.Length > 18)
                throw new FormatException($"'{pattern}' has a number too large for a range: {digits}");
            return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        }
    }
}
