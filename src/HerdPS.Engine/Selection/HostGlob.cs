using System;
using System.Text;
using System.Text.RegularExpressions;

namespace HerdPS.Selection
{
    /// <summary>
    /// A shell-style pattern over host names: <c>*</c> any run of characters, <c>?</c> one character,
    /// <c>[abc]</c>, <c>[a-z]</c> and <c>[!a-z]</c> one character of (or not of) a set. Matching is
    /// case-insensitive, like host names themselves. Text without those characters matches only itself.
    /// </summary>
    public sealed class HostGlob
    {
        private readonly Regex regex;

        private HostGlob(string pattern, Regex regex)
        {
            Pattern = pattern;
            this.regex = regex;
        }

        public string Pattern { get; }

        public bool Matches(string name) => regex.IsMatch(name);

        public override string ToString() => Pattern;

        private static readonly char[] WildcardCharacters = { '*', '?', '[' };

        public static bool IsGlob(string text) => text.IndexOfAny(WildcardCharacters) >= 0;

        /// <summary>Throws <see cref="FormatException"/> for an empty pattern or an unclosed '['.</summary>
        public static HostGlob Parse(string pattern)
        {
            if (string.IsNullOrEmpty(pattern)) throw new FormatException("a host pattern can't be empty");

            var expression = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '*': expression.Append(".*"); break;
                    case '?': expression.Append('.'); break;
                    case '[':
                        int close = pattern.IndexOf(']', i + 1);
                        if (close < 0)
                            throw new FormatException($"host pattern '{pattern}' has a '[' without a matching ']'");
                        string set = pattern.Substring(i + 1, close - i - 1);
                        bool negated = set.StartsWith("!", StringComparison.Ordinal);
                        if (negated) set = set.Substring(1);
                        if (set.Length == 0)
                            throw new FormatException($"host pattern '{pattern}' has an empty set []");
                        expression.Append(negated ? "[^" : "[");
                        foreach (char member in set)
                            expression.Append(member == '-' ? "-" : Regex.Escape(member.ToString()));
                        expression.Append(']');
                        i = close;
                        break;
                    default: expression.Append(Regex.Escape(c.ToString())); break;
                }
            }
            expression.Append('$');

            try
            {
                return new HostGlob(pattern, new Regex(expression.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
            }
            catch (ArgumentException e)
            {
                // e.g. a reversed range inside a set, [z-a]
                throw new FormatException($"host pattern '{pattern}' is not valid: {e.Message}", e);
            }
        }
    }
}
