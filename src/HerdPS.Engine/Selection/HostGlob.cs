using System;
using System.Collections.Generic;
using HerdPS.Display;

namespace HerdPS.Selection
{
    /// <summary>
    /// A shell-style pattern over host names: <c>*</c> any run of characters, <c>?</c> one character,
    /// <c>[abc]</c>, <c>[a-z]</c> and <c>[!a-z]</c> one character of (or not of) a set. Matching is
    /// case-insensitive, like host names themselves. Text without those characters matches only itself.
    /// (A bracket of digits, commas and dashes on the command line is a pdsh range, expanded before a glob is made:
    /// see <see cref="HostPattern"/>.) Parsed and matched here rather than through a regular expression, so every
    /// error is worded in our terms and matching is linear in the name times the pattern, whatever the pattern.
    /// </summary>
    public sealed class HostGlob
    {
        private readonly IReadOnlyList<Element> _elements;

        private HostGlob(string pattern, IReadOnlyList<Element> elements)
        {
            Pattern = pattern;
            _elements = elements;
        }

        public string Pattern { get; }

        public override string ToString() => Pattern;

        private static readonly char[] WildcardCharacters = { '*', '?', '[' };

        public static bool IsGlob(string text) => text.IndexOfAny(WildcardCharacters) >= 0;

        /// <summary>
        /// Throws <see cref="FormatException"/> naming the pattern and what is wrong with it: empty, a '[' without
        /// ']' (or the reverse), an empty set, or a set range written high to low.
        /// </summary>
        public static HostGlob Parse(string pattern)
        {
            if (string.IsNullOrEmpty(pattern)) throw new FormatException("a host pattern can't be empty");

            var elements = new List<Element>();
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '*':
                        if (elements.Count == 0 || elements[elements.Count - 1].Kind != ElementKind.AnyRun) elements.Add(Element.AnyRun);
                        break;
                    case '?':
                        elements.Add(Element.AnyOne);
                        break;
                    case '[':
                        int close = pattern.IndexOf(']', i + 1);
                        if (close < 0)
                            throw Error(pattern, $"has a '[' without a matching ']' at position {i + 1}");
                        elements.Add(ParseSet(pattern, i, close));
                        i = close;
                        break;
                    case ']':
                        throw Error(pattern, $"has a ']' without a matching '[' at position {i + 1}");
                    default:
                        elements.Add(Element.Literal(c));
                        break;
                }
            }
            return new HostGlob(pattern, elements);
        }

        /// <summary>
        /// Whether the whole name matches. The classic wildcard walk: on a mismatch, the most recent '*' takes one
        /// more character, so the cost is at most the name's length times the pattern's.
        /// </summary>
        public bool Matches(string name)
        {
            if (name == null) return false;
            int e = 0, n = 0, starElement = -1, starName = 0;
            while (n < name.Length)
            {
                if (e < _elements.Count && _elements[e].Kind == ElementKind.AnyRun)
                {
                    starElement = e++;
                    starName = n;
                }
                else if (e < _elements.Count && _elements[e].Matches(name[n]))
                {
                    e++;
                    n++;
                }
                else if (starElement >= 0)
                {
                    e = starElement + 1;
                    n = ++starName;
                }
                else return false;
            }
            while (e < _elements.Count && _elements[e].Kind == ElementKind.AnyRun) e++;
            return e == _elements.Count;
        }

        private static Element ParseSet(string pattern, int open, int close)
        {
            int start = open + 1;
            bool negated = start < close && pattern[start] == '!';
            if (negated) start++;
            if (start == close)
                throw Error(pattern, $"has an empty set {TerminalText.Line(pattern.Substring(open, close - open + 1))} at position {open + 1}");
            var ranges = new List<KeyValuePair<char, char>>();
            for (int i = start; i < close; i++)
            {
                char low = pattern[i];
                // "a-z" is a range; a '-' first or last in the set is the character itself.
                if (i + 2 < close && pattern[i + 1] == '-')
                {
                    char high = pattern[i + 2];
                    if (high < low)
                        throw Error(pattern, $"has the range {TerminalText.Line(low + "-" + high)} written high to low in " +
                            $"{TerminalText.Line(pattern.Substring(open, close - open + 1), 40)}; write the low end first ({TerminalText.Line(high + "-" + low)})");
                    ranges.Add(new KeyValuePair<char, char>(low, high));
                    i += 2;
                }
                else ranges.Add(new KeyValuePair<char, char>(low, low));
            }
            return Element.Set(ranges, negated);
        }

        private static FormatException Error(string pattern, string what) =>
            new FormatException($"host pattern {TerminalText.Quote(pattern)} {what}");

        private enum ElementKind { Literal, AnyOne, AnyRun, Set }

        private sealed class Element
        {
            private readonly char _literal;
            private readonly IReadOnlyList<KeyValuePair<char, char>>? _ranges;
            private readonly bool _negated;

            private Element(ElementKind kind, char literal = '\0', IReadOnlyList<KeyValuePair<char, char>>? ranges = null, bool negated = false)
            {
                Kind = kind;
                _literal = char.ToLowerInvariant(literal);
                _ranges = ranges;
                _negated = negated;
            }

            public ElementKind Kind { get; }

            public static readonly Element AnyRun = new Element(ElementKind.AnyRun);
            public static readonly Element AnyOne = new Element(ElementKind.AnyOne);
            public static Element Literal(char c) => new Element(ElementKind.Literal, c);
            public static Element Set(IReadOnlyList<KeyValuePair<char, char>> ranges, bool negated) => new Element(ElementKind.Set, ranges: ranges, negated: negated);

            public bool Matches(char c)
            {
                switch (Kind)
                {
                    case ElementKind.AnyOne: return true;
                    case ElementKind.Literal: return char.ToLowerInvariant(c) == _literal;
                    case ElementKind.Set:
                        bool inSet = InSet(c) || InSet(char.ToLowerInvariant(c)) || InSet(char.ToUpperInvariant(c));
                        return inSet != _negated;
                    default: return false;
                }
            }

            private bool InSet(char c)
            {
                foreach (var r in _ranges!)
                    if (c >= r.Key && c <= r.Value) return true;
                return false;
            }
        }
    }
}
