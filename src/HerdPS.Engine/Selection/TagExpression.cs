using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Selection
{
    /// <summary>
    /// One <c>--tag</c> value: comma-separated terms that must all hold, where <c>!tag</c> means the host
    /// must not have the tag. <c>prod,debian12,!staging</c> = prod AND debian12 AND NOT staging.
    /// Tags compare case-insensitively. Spaces around terms are ignored (a tag can't contain one).
    /// </summary>
    public sealed class TagClause
    {
        internal TagClause(IReadOnlyList<string> required, IReadOnlyList<string> excluded, string text)
        {
            Required = required;
            Excluded = excluded;
            Text = text;
        }

        public IReadOnlyList<string> Required { get; }
        public IReadOnlyList<string> Excluded { get; }
        /// <summary>The clause normalized: terms as parsed, joined by commas.</summary>
        public string Text { get; }

        public bool Matches(IReadOnlyList<string> tags)
        {
            foreach (var tag in Required)
                if (!Contains(tags, tag)) return false;
            foreach (var tag in Excluded)
                if (Contains(tags, tag)) return false;
            return true;
        }

        public override string ToString() => Text;

        private static bool Contains(IReadOnlyList<string> tags, string tag)
        {
            foreach (var candidate in tags)
                if (string.Equals(candidate, tag, StringComparison.OrdinalIgnoreCase)) return true;
            return false;
        }
    }

    /// <summary>
    /// Tag clauses OR-ed together: what repeating <c>--tag</c> (or giving <c>-Tag</c> several values) means.
    /// <c>--tag prod,debian12 --tag canary</c> = (prod AND debian12) OR canary.
    /// </summary>
    public sealed class TagExpression
    {
        private TagExpression(IReadOnlyList<TagClause> clauses)
        {
            Clauses = clauses;
        }

        public IReadOnlyList<TagClause> Clauses { get; }

        /// <summary>Every tag the expression mentions, required or excluded, in the order written.</summary>
        public IEnumerable<string> Terms => Clauses.SelectMany(c => c.Required.Concat(c.Excluded));

        public bool Matches(IReadOnlyList<string> tags)
        {
            foreach (var clause in Clauses)
                if (clause.Matches(tags)) return true;
            return false;
        }

        public override string ToString() => string.Join(" OR ", Clauses.Select(c => c.Text));

        /// <summary>Parses one clause. Throws <see cref="FormatException"/> naming the clause and the bad term.</summary>
        public static TagExpression Parse(string clause) => Parse(new[] { clause });

        /// <summary>Parses several clauses, OR-ed. Throws <see cref="FormatException"/> for the first bad one.</summary>
        public static TagExpression Parse(IEnumerable<string> clauses)
        {
            if (clauses == null) throw new ArgumentNullException(nameof(clauses));
            var parsed = new List<TagClause>();
            foreach (var clause in clauses) parsed.Add(ParseClause(clause));
            if (parsed.Count == 0) throw new FormatException("a tag expression needs at least one clause, such as prod,!staging");
            return new TagExpression(parsed);
        }

        public static bool TryParse(IEnumerable<string> clauses, out TagExpression? expression, out string reason)
        {
            try
            {
                expression = Parse(clauses);
                reason = "";
                return true;
            }
            catch (FormatException e)
            {
                expression = null;
                reason = e.Message;
                return false;
            }
        }

        private static TagClause ParseClause(string? clause)
        {
            if (string.IsNullOrWhiteSpace(clause))
                throw new FormatException("a tag expression can't be empty; write e.g. prod,debian12,!staging");

            var required = new List<string>();
            var excluded = new List<string>();
            var terms = new List<string>();
            foreach (var rawTerm in clause!.Split(','))
            {
                string term = rawTerm.Trim();
                bool negated = term.StartsWith("!", StringComparison.Ordinal);
                string tag = negated ? term.Substring(1).TrimStart() : term;
                if (tag.Length == 0)
                    throw new FormatException($"tag expression {Display.TerminalText.Quote(clause)} has an empty term; terms are tags separated by commas, '!' before a tag negates it");
                if (!NameRules.IsValidTagName(tag, out var reason))
                    throw new FormatException($"tag expression {Display.TerminalText.Quote(clause)}: {reason}");
                (negated ? excluded : required).Add(tag);
                terms.Add(negated ? "!" + tag : tag);
            }
            return new TagClause(required, excluded, string.Join(",", terms));
        }
    }
}
