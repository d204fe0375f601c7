using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace HerdPS.Display
{
    /// <summary>
    /// A list of host names as a person reads it, folded the way clush and dshbak -c fold node sets:
    /// <c>n0001 .. n0100</c> is <c>n[0001-0100]</c>, and <c>db01, web-01, web-02, web-03, web-07</c> is
    /// <c>db01,web-[01-03,07]</c>. Every human view that lists hosts goes through <see cref="Fold"/>; NDJSON and
    /// objects keep the full list. The text is the pdsh range syntax our <c>-H</c>/<c>-x</c> and inventories read
    /// (<see cref="Inventory.HostRange"/>), so it can be pasted back as a selection.
    /// </summary>
    public static class HostListText
    {
        /// <summary>
        /// Folds names that differ only in their last run of digits into one bracketed range, keeping zero padding
        /// (pdsh pads a range to the width of its low bound when that is written with a leading zero). Groups
        /// appear in the order their first name appears; numbers within a group ascend. Names are escaped for the
        /// terminal (<see cref="TerminalText"/>). Linear in the number of names, apart from sorting each group.
        /// </summary>
        public static string Fold(IEnumerable<string> names)
        {
            if (names == null) throw new ArgumentNullException(nameof(names));
            var order = new List<Stem>();
            var stems = new Dictionary<string, Stem>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (name == null || !seen.Add(name)) continue;
                if (!TrySplit(name, out var prefix, out var digits, out var suffix))
                {
                    order.Add(new Stem(name, "", literal: true));
                    continue;
                }
                var key = prefix + "\u0000" + suffix;
                if (!stems.TryGetValue(key, out var stem))
                {
                    stems[key] = stem = new Stem(prefix, suffix, literal: false);
                    order.Add(stem);
                }
                stem.Numbers.Add(digits);
            }

            var text = new StringBuilder();
            foreach (var stem in order)
            {
                if (stem.Literal) Append(text, stem.Prefix);
                else stem.AppendTo(text);
            }
            return text.ToString();
        }

        private static void Append(StringBuilder text, string item)
        {
            if (text.Length > 0) text.Append(',');
            text.Append(TerminalText.Line(item));
        }

        /// <summary>Prefix, last run of ASCII digits, suffix; false when there is no such run or folding would be ambiguous.</summary>
        private static bool TrySplit(string name, out string prefix, out string digits, out string suffix)
        {
            prefix = digits = suffix = "";
            // Brackets and commas are the notation itself: a name holding them (never a valid host name) stays as it is.
            if (name.IndexOfAny(Notation) >= 0) return false;
            int end = name.Length - 1;
            while (end >= 0 && !IsDigit(name[end])) end--;
            if (end < 0) return false;
            int start = end;
            while (start > 0 && IsDigit(name[start - 1])) start--;
            if (end - start + 1 > 18) return false; // not a number a range can hold
            prefix = name.Substring(0, start);
            digits = name.Substring(start, end - start + 1);
            suffix = name.Substring(end + 1);
            return true;
        }

        private static readonly char[] Notation = { '[', ']', ',' };

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        /// <summary>Names sharing a prefix and suffix around their last number.</summary>
        private sealed class Stem
        {
            public Stem(string prefix, string suffix, bool literal)
            {
                Prefix = prefix;
                Suffix = suffix;
                Literal = literal;
            }

            public string Prefix { get; }
            public string Suffix { get; }
            public bool Literal { get; }
            public List<string> Numbers { get; } = new List<string>();

            public void AppendTo(StringBuilder text)
            {
                // Each written number belongs to one padding width: "007" to width 3; "7" and "12" to none, unless a
                // padded width equal to their length exists ("10" next to "01".."09" is part of [01-10]).
                var padded = new HashSet<int>();
                foreach (var n in Numbers) if (IsPadded(n)) padded.Add(n.Length);
                var byWidth = new Dictionary<int, List<long>>();
                foreach (var n in Numbers)
                {
                    int width = IsPadded(n) || padded.Contains(n.Length) ? n.Length : 0;
                    if (!byWidth.TryGetValue(width, out var list)) byWidth[width] = list = new List<long>();
                    list.Add(long.Parse(n, NumberStyles.None, CultureInfo.InvariantCulture));
                }
                var runs = new List<KeyValuePair<int, List<long>>>(byWidth);
                foreach (var r in runs) r.Value.Sort();
                runs.Sort((a, b) => a.Value[0] != b.Value[0] ? a.Value[0].CompareTo(b.Value[0]) : a.Key.CompareTo(b.Key));
                foreach (var run in runs)
                {
                    var numbers = run.Value;
                    int width = run.Key;
                    if (numbers.Count == 1)
                    {
                        Append(text, Prefix + Format(numbers[0], width) + Suffix);
                        continue;
                    }
                    var ranges = new StringBuilder();
                    for (int i = 0; i < numbers.Count;)
                    {
                        int j = i;
                        while (j + 1 < numbers.Count && numbers[j + 1] == numbers[j] + 1) j++;
                        if (ranges.Length > 0) ranges.Append(',');
                        ranges.Append(Format(numbers[i], width));
                        if (j > i) ranges.Append('-').Append(Format(numbers[j], width));
                        i = j + 1;
                    }
                    Append(text, Prefix + "[" + ranges + "]" + Suffix);
                }
            }

            private static bool IsPadded(string digits) => digits.Length > 1 && digits[0] == '0';

            private static string Format(long n, int width) => n.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
        }
    }
}
