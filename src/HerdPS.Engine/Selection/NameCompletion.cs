using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Selection
{
    /// <summary>What a name is being completed for.</summary>
    public enum NameKind
    {
        Host,
        Group,
        Tag,
    }

    /// <summary>
    /// Tab completion of host, group and tag names from the inventory (the cmdlets' argument completers).
    /// A tag clause completes its last term, keeping what comes before: <c>prod,!sta</c> offers <c>prod,!staging</c>.
    /// </summary>
    public static class NameCompletion
    {
        public static IReadOnlyList<string> Complete(FleetInventory inventory, NameKind kind, string? wordToComplete)
        {
            if (inventory == null) throw new ArgumentNullException(nameof(inventory));
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var head = "";
            if (kind == NameKind.Tag)
            {
                var cut = word.LastIndexOf(',') + 1;
                if (cut < word.Length && word[cut] == '!') cut++;
                head = word.Substring(0, cut);
                word = word.Substring(cut);
            }
            IEnumerable<string> names = kind switch
            {
                NameKind.Host => inventory.Hosts.Select(h => h.Name),
                NameKind.Group => inventory.GroupNames,
                _ => InventoryQueries.Tags(inventory).Select(t => t.Tag),
            };
            return names
                .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                .Select(n => head + n)
                .ToArray();
        }

        /// <summary>The name as PowerShell should insert it: bare when it is a plain word, else single-quoted.</summary>
        public static string Quote(string name)
        {
            foreach (var c in name)
                if (!(char.IsLetterOrDigit(c) || c == '.' || c == '-' || c == '_'))
                    return "'" + name.Replace("'", "''") + "'";
            return name.Length > 0 && name[0] == '-' ? "'" + name + "'" : name;
        }
    }
}
