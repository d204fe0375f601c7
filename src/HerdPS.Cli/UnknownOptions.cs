using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Linq;
using HerdPS.Display;

namespace HerdPS.Cli
{
    /// <summary>
    /// Finds words that look like options but are none of the command's. System.CommandLine classifies a word it
    /// doesn't know as an argument, so with a command that takes free words (<c>herd exec 'echo deploying' -g web
    /// --exlcude=h03</c>) a misspelled option silently became part of the remote command, and with fixed arguments
    /// (<c>herd pull /etc/x --forse</c>) it became a path. Here any word that starts with '-' and came before
    /// <c>--</c> is refused, for every subcommand: exit 2, nothing run, the word named, the closest real option
    /// suggested. A command or path that really starts with '-' goes after <c>--</c>.
    /// </summary>
    internal static class UnknownOptions
    {
        public static List<string> Find(ParseResult parse)
        {
            var tokens = parse.Tokens;
            int doubleDash = int.MaxValue;
            var positions = new Dictionary<Token, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < tokens.Count; i++)
            {
                positions[tokens[i]] = i;
                if (tokens[i].Type == TokenType.DoubleDash && doubleDash == int.MaxValue) doubleDash = i;
            }

            var stray = new List<string>();
            foreach (var argument in parse.CommandResult.Children.OfType<ArgumentResult>())
                foreach (var token in argument.Tokens)
                    if (LooksLikeOption(token.Value) && positions.TryGetValue(token, out var at) && at < doubleDash)
                        stray.Add(token.Value);
            // Words no argument took (a command without arguments, or one word too many) are unmatched tokens.
            foreach (var word in parse.UnmatchedTokens)
                if (LooksLikeOption(word) && FirstPosition(tokens, word) < doubleDash && !stray.Contains(word))
                    stray.Add(word);

            var known = KnownOptionNames(parse.CommandResult);
            return stray.Select(word => Describe(word, known)).ToList();
        }

        private static bool LooksLikeOption(string word) => word.StartsWith("-", StringComparison.Ordinal);

        private static int FirstPosition(IReadOnlyList<Token> tokens, string word)
        {
            for (int i = 0; i < tokens.Count; i++) if (tokens[i].Value == word) return i;
            return int.MaxValue;
        }

        private static string Describe(string word, IReadOnlyList<string> known)
        {
            var suggestion = Closest(word, known);
            return $"unknown option {TerminalText.Quote(word)}" + (suggestion != null ? $" (did you mean {suggestion}?)" : "") +
                   "; nothing was run. A command word or path that starts with '-' goes after --";
        }

        /// <summary>The options this command accepts, its own and those its parents pass down (--help).</summary>
        private static IReadOnlyList<string> KnownOptionNames(CommandResult command)
        {
            var names = new List<string>();
            for (SymbolResult? r = command; r != null; r = r.Parent)
            {
                if (r is not CommandResult c) continue;
                foreach (var option in c.Command.Options)
                {
                    if (r != command && !option.Recursive) continue;
                    names.Add(option.Name);
                    names.AddRange(option.Aliases);
                }
            }
            return names.Where(n => n.StartsWith("-", StringComparison.Ordinal)).Distinct().ToList();
        }

        /// <summary>
        /// The known option nearest to what was typed (its '=value' aside), by edit distance counting a swap of two
        /// neighbouring letters as one edit (--exlcude is one edit from --exclude); null when nothing is near.
        /// </summary>
        internal static string? Closest(string word, IReadOnlyList<string> known)
        {
            int equals = word.IndexOf('=');
            var name = equals > 0 ? word.Substring(0, equals) : word;
            if (name.Length > 64) return null; // nobody misspells an option at that length; don't spend time on it
            if (name.Length <= 2)
                return known.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase) && k != name);
            string? best = null;
            int bestDistance = int.MaxValue;
            foreach (var candidate in known)
            {
                int d = Distance(name, candidate);
                if (d < bestDistance) { best = candidate; bestDistance = d; }
            }
            return bestDistance <= Math.Min(2, Math.Max(1, name.Length / 3)) ? best : null;
        }

        /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
        internal static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (int j = 0; j <= b.Length; j++) d[0, j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
            return d[a.Length, b.Length];
        }
    }
}
