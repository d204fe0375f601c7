using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Selection
{
    /// <summary>One tag and the hosts that carry it (<c>herd list --tags</c>, <c>Get-FleetTag</c>).</summary>
    public sealed class TagSummary
    {
        public TagSummary(string tag, IReadOnlyList<string> hostNames)
        {
            Tag = tag;
            HostNames = hostNames;
        }

        public string Tag { get; }
        public int HostCount => HostNames.Count;
        /// <summary>In inventory order.</summary>
        public IReadOnlyList<string> HostNames { get; }
    }

    /// <summary>One group and its hosts; an empty group has a count of zero.</summary>
    public sealed class GroupSummary
    {
        public GroupSummary(string group, IReadOnlyList<string> hostNames)
        {
            Group = group;
            HostNames = hostNames;
        }

        public string Group { get; }
        public int HostCount => HostNames.Count;
        /// <summary>In inventory order.</summary>
        public IReadOnlyList<string> HostNames { get; }
    }

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
