using System.Collections.Generic;
using System.Linq;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.Execution
{
    /// <summary>Listings of a request's selection (<c>Get-FleetHost</c>, <c>Get-FleetTag</c>): the same inventory and selection a run would use.</summary>
    public static class FleetQueries
    {
        public static IReadOnlyList<FleetHostInfo> Hosts(FleetTarget target) => target.Hosts.Select(FleetHostInfoFactory.From).ToArray();

        /// <summary>Tags carried by the selected hosts (every tag of the inventory when nothing is selected), each with the selected hosts carrying it.</summary>
        public static IReadOnlyList<TagSummary> Tags(FleetTarget target) =>
            InventoryQueries.Tags(new FleetInventory(target.Hosts, target.Inventory.GroupNames, target.Inventory.Defaults, target.Inventory.SourcePath));

        /// <summary>"3 hosts: web-01, web-02, db-01" (the first ten named), the target of a -WhatIf or -Confirm message.</summary>
        public static string Describe(FleetTarget target)
        {
            var names = target.Hosts.Take(10).Select(h => h.Name);
            var more = target.Hosts.Count > 10 ? $", and {target.Hosts.Count - 10} more" : "";
            return $"{target.Hosts.Count} host{(target.Hosts.Count == 1 ? "" : "s")}: {string.Join(", ", names)}{more}";
        }
    }
}
