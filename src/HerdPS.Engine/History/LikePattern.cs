using System;
using System.Text;
using System.Text.RegularExpressions;

namespace HerdPS.History
{
    /// <summary>
    /// A wildcard with PowerShell <c>-like</c> semantics, so <c>Get-FleetHistory -Command</c> and
    /// <c>herd history --command</c> match what PowerShell users expect: the whole text must match;
    /// <c>*</c> is any run of characters, <c>?</c> one character, <c>[abc]</c> / <c>[a-z]</c> one of a set,
    /// a backtick makes the next character literal; case-insensitive.
    /// (The engine can't use System.Management.Automation.WildcardPattern: it never references PowerShell.)
    /// </summary>
    internal sealed class LikePattern
    {
        private readonly Regex _regex;

        public LikePattern(string pattern)
        {
            if (pattern == null) throw new ArgumentNullException(nameof(pattern));
            _regex = new Regex(ToRegex(pattern),
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
        }

        public bool IsMatch(string text) => _regex.IsMatch(text);

        private static string ToRegex(string pattern)
        {
            var regex = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '`' when i + 1 < pattern.Length:
                        regex.Append(Regex.Escape(pattern[++i].ToString()));
                        break;
                    case '*':
                        regex.Append(".*");
                        break;
                    case '?':
                        regex.Append('.');
                        break;
                    case '[':
                        i = AppendSet(pattern, i, regex);
                        break;
                    default:
                        regex.Append(Regex.Escape(c.ToString()));
                        break;
                }
            }
            return regex.Append('$').ToString();
        }

        /// <summary>Appends the set that opens at <paramref name="open"/>; returns the index of its closing bracket.</summary>
        private static int AppendSet(string pattern, int open, StringBuilder regex)
        {
            var set = new StringBuilder("[");
            int i = open + 1;
            for (; i < pattern.Length && pattern[i] != ']'; i++)
            {
                char c = pattern[i];
                if (c == '`' && i + 1 < pattern.Length) c = pattern[++i];
                // '-' between two characters is a range, as in PowerShell; anything else is literal in a class.
                bool isRange = c == '-' && set.Length > 1 && i + 1 < pattern.Length && pattern[i + 1] != ']';
                set.Append(isRange ? "-" : EscapeInClass(c));
            }
            if (i >= pattern.Length)
                throw new ArgumentException($"The wildcard '{pattern}' has a '[' without its ']'. Escape a literal '[' with a backtick: `[.", nameof(pattern));
            if (set.Length == 1)
                throw new ArgumentException($"The wildcard '{pattern}' has an empty set '[]'.", nameof(pattern));
            regex.Append(set.Append(']'));
            return i;
        }

        private static string EscapeInClass(char c) => c is '\\' or ']' or '[' or '^' or '-' ? "\\" + c : c.ToString();
    }
}
