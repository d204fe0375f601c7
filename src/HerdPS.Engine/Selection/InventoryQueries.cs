using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Selection
{

    /// <summary>What an inventory holds, summarized for listings. Both lists are sorted by name, case-insensitively.</summary>
    public static class InventoryQueries
    {
        public static IReadOnlyList<TagSummary> Tags(FleetInventory inventory)
        {
            if (inventory == null) throw new ArgumentNullException(nameof(inventory));
            var hostsByTag = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            var spelling = new List<string>();
            foreach (var host in inventory.Hosts)
            {
                foreach (var tag in host.Tags)
                {
                    if (!hostsByTag.TryGetValue(tag, out var names))
                    {
                        hostsByTag[tag] = names = new List<string>();
                        spelling.Add(tag);
                    }
                    names.Add(host.Name);
                }
            }
            return SortByName(spelling).Select(tag => new TagSummary(tag, hostsByTag[tag].ToArray())).ToArray();
        }

        public static IReadOnlyList<GroupSummary> Groups(FleetInventory inventory)
        {
            if (inventory == null) throw new ArgumentNullException(nameof(inventory));
            return SortByName(inventory.GroupNames)
                .Select(group => new GroupSummary(group, inventory.Hosts
                    .Where(h => h.Groups.Contains(group, StringComparer.OrdinalIgnoreCase))
                    .Select(h => h.Name)
                    .ToArray()))
                .ToArray();
        }

        private static IEnumerable<string> SortByName(IEnumerable<string> names) =>
            names.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ThenBy(n => n, StringComparer.Ordinal);
    }
}
