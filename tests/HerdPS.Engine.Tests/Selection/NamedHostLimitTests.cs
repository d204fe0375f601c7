using System;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.Tests.Selection
{
    /// <summary>Hosts named on the command line (-H, -HostName, and -x) are held to the inventory's host limit, all patterns together.</summary>
    public class NamedHostLimitTests
    {
        private static FleetInventory Inventory(int maxHosts) =>
            new FleetInventory(new[] { new FleetHost("web-01") }, Array.Empty<string>(), new InventoryDefaults(), null, new InventoryLimits(maxHosts));

        [Fact]
        public void A_range_past_the_limit_is_refused_before_its_names_are_made()
        {
            var selection = new HostSelection();
            selection.Hosts.Add("n[1-1000000000]");
            var e = Assert.Throws<SelectionException>(() => HostSelector.Select(Inventory(1000), selection));
            Assert.Contains("expands to more than 1,000 names", e.Message);
            Assert.Contains("HERD_MAX_HOSTS", e.Message);
        }

        [Fact]
        public void Several_patterns_count_together()
        {
            var selection = new HostSelection();
            selection.Hosts.Add("a[1-600]");
            selection.Hosts.Add("b[1-600]");
            var e = Assert.Throws<SelectionException>(() => HostSelector.Select(Inventory(1000), selection));
            Assert.Contains("more than 1,000 names", e.Message);
            selection.Hosts.RemoveAt(1);
            Assert.Equal(600, HostSelector.Select(Inventory(1000), selection).Count);
        }

        [Fact]
        public void The_limit_holds_for_excludes_too_and_a_raised_limit_raises_it()
        {
            var selection = new HostSelection();
            selection.Hosts.Add("web-01");
            selection.Excludes.Add("x[1-5000]");
            Assert.Throws<SelectionException>(() => HostSelector.Select(Inventory(1000), selection));
            Assert.Single(HostSelector.Select(Inventory(10_000), selection));
        }
    }
}
