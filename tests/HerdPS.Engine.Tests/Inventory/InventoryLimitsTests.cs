using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    /// <summary>
    /// Inventories that once took minutes, gigabytes or the process itself (issue 11, item 15) now load in linear time
    /// or stop at a limit with an error pointing at the line and column that crossed it.
    /// </summary>
    public class InventoryLimitsTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();

        public void Dispose() => temp.Dispose();

        private FleetInventory Load(string name, string text, InventoryLimits? limits = null) =>
            InventoryLoader.LoadWithin(temp.Write(name, text), limits ?? InventoryLimits.Default);

        private InventoryException LoadFails(string name, string text, InventoryLimits? limits = null) =>
            Assert.Throws<InventoryException>(() => Load(name, text, limits));

        // ---- tags ----------------------------------------------------------------------------------------------

        [Fact]
        public void AListOfOneHundredThousandTagsStopsAtTheFirstTagPastTheLimit()
        {
            string line = "    tags: [" + string.Join(", ", Enumerable.Range(0, 100_000).Select(i => "t" + i)) + "]";
            var error = LoadFails("inventory.yaml", "hosts:\n  - host: h1\n" + line + "\n");
            Assert.Equal(3, error.Line);
            Assert.Equal(line.IndexOf("t256,", StringComparison.Ordinal) + 1, error.Column);
            Assert.Equal($"{error.File}:3:{error.Column}: this list has 100,000 tags; a host can have at most 256", error.Message);
        }

        [Fact]
        public void TagsFromThousandsOfGroupsMergeInLinearTimeKeepingTheFirstSpelling()
        {
            // One host in 5,000 groups, each adding a shared tag (spelled differently) and one of 200 others: the old
            // list search made this quadratic in groups times tags.
            var yaml = new StringBuilder("groups:\n");
            for (int g = 0; g < 5000; g++)
                yaml.Append($"  g{g}:\n    tags: [{(g % 2 == 0 ? "shared" : "SHARED")}, t{g % 200}]\n    hosts: [box, \"n[1-3]\"]\n");
            var inventory = Load("inventory.yaml", yaml.ToString());

            var box = inventory.Hosts.Single(h => h.Name == "box");
            Assert.Equal(5000, box.Groups.Count);
            Assert.Equal(Enumerable.Range(0, 5000).Select(g => "g" + g), box.Groups);
            Assert.Equal(new[] { "shared" }.Concat(Enumerable.Range(0, 200).Select(t => "t" + t)), box.Tags);
            Assert.Equal(box.Tags, inventory.Hosts.Single(h => h.Name == "n2").Tags);
        }

        [Fact]
        public void AHostGatheringMoreThanTheTagLimitFromItsGroupsIsAnErrorWhereItCrossesIt()
        {
            var yaml = new StringBuilder("groups:\n");
            for (int g = 0; g < 300; g++) yaml.Append($"  g{g}:\n    tags: [t{g}]\n    hosts: [box]\n");
            var error = LoadFails("inventory.yaml", yaml.ToString());
            // Group g256 (the 257th) is on lines 1 + 3 x 256 + 1..3; its hosts line is the third.
            Assert.Equal(1 + 3 * 256 + 3, error.Line);
            Assert.Equal("    hosts: [".Length + 1, error.Column);
            Assert.Contains("host 'box' would have more than 256 tags", error.Reason);
            Assert.Contains("first defined at", error.Reason);
        }

        [Fact]
        public void AHostsOwnTagsWithItsGroupsTagsCountTogether()
        {
            string groupTags = string.Join(", ", Enumerable.Range(0, 200).Select(i => "g" + i));
            string hostTags = string.Join(", ", Enumerable.Range(0, 100).Select(i => "h" + i));
            var error = LoadFails("inventory.yaml", $"groups:\n  web:\n    tags: [{groupTags}]\n    hosts:\n      - host: box\n        tags: [{hostTags}]\n");
            Assert.Equal((6, "        tags: ".Length + 1), (error.Line, error.Column));
            Assert.Contains("more than 256 tags", error.Reason);
        }

        [Fact]
        public void EveryHostOfATaggedRangeSharesOneTagList()
        {
            var inventory = Load("inventory.yaml", "groups:\n  rack:\n    tags: [a, b, A]\n    hosts: [\"n[1-100000]\"]\n");
            Assert.Equal(100_000, inventory.Hosts.Count);
            Assert.Equal(new[] { "a", "b" }, inventory.Hosts[0].Tags);
            // One list for all of them: memory doesn't grow with hosts times tags.
            Assert.Same(inventory.Hosts[0].Tags, inventory.Hosts[99_999].Tags);
        }

        // ---- nesting -------------------------------------------------------------------------------------------

        [Theory]
        [InlineData("flow")]
        [InlineData("block")]
        [InlineData("mapping")]
        public void TwentyThousandLevelsOfNestingAreAnErrorNotAStackOverflow(string style)
        {
            // Each style opens one collection per level; the root mapping is level 1, hosts' value level 2.
            string yaml = style switch
            {
                "flow" => "hosts: " + new string('[', 20_000) + new string(']', 20_000) + "\n",
                "block" => "hosts:\n" + string.Concat(Enumerable.Repeat("- ", 20_000)) + "x\n",
                _ => "hosts: " + string.Concat(Enumerable.Repeat("{a: ", 20_000)) + "x" + new string('}', 20_000) + "\n",
            };
            var error = LoadFails("inventory.yaml", yaml);
            // The 65th collection is the 64th after the root: past the limit of 64.
            if (style == "block") Assert.Equal((2, 63 * 2 + 1), (error.Line, error.Column));
            else Assert.Equal((1, "hosts: ".Length + 63 * (style == "flow" ? 1 : 4) + 1), (error.Line, error.Column));
            Assert.Equal("YAML nested more than 64 levels deep (an inventory needs 6); this collection is one level too many", error.Reason);
        }

        [Fact]
        public void NestingUpToTheLimitIsReadAndJudgedByItsShape()
        {
            var error = LoadFails("inventory.yaml", "hosts: " + new string('[', 63) + new string(']', 63) + "\n");
            Assert.DoesNotContain("nested", error.Reason);
            Assert.Contains("a host is a name", error.Reason);
        }

        // ---- hosts ---------------------------------------------------------------------------------------------

        [Fact]
        public void ThirtyRangesOfAHundredThousandStopAtTheSecondBeforeBuildingIt()
        {
            // The shape of the 854-byte inventory that once expanded to 3M hosts and 2 GB.
            string yaml = "hosts:\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"  - \"r{i}-n[000001-100000]\"\n"));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = LoadFails("inventory.yaml", yaml);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal((3, 5), (error.Line, error.Column));
            Assert.Equal("'r1-n[000001-100000]' expands to 100,000 hosts, 100,000 already listed before it: that is past the inventory's limit " +
                         "(the limit is 100,000 host entries, counting each name every time it is listed; set $HERD_MAX_HOSTS to raise it)", error.Reason);
            // The first range was built (100,000 hosts); the second was only counted.
            Assert.True(allocated < 200L * 1024 * 1024, $"{allocated:N0} bytes allocated");
        }

        [Fact]
        public void ARangeProductIsCountedNotBuilt()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = LoadFails("inventory.yaml", "hosts: [\"a[1-1000]b[1-1000]c[1-1000]d[1-1000]\"]\n");
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Contains("expands to 1,000,000,000,000 hosts", error.Reason);
            Assert.Equal((1, 9), (error.Line, error.Column));
            Assert.True(allocated < 10L * 1024 * 1024, $"{allocated:N0} bytes allocated");
        }

        [Fact]
        public void AHostListedAgainCountsAgainstTheLimit()
        {
            // Repeats are merged into one host, but each costs work, so each counts: an inventory can't make a
            // million merges out of ten names.
            var limits = new InventoryLimits(maxHosts: 10);
            var ok = Load("hosts.txt", string.Concat(Enumerable.Repeat("a\n", 10)), limits);
            Assert.Single(ok.Hosts);
            var error = LoadFails("hosts.txt", string.Concat(Enumerable.Repeat("a\n", 11)), limits);
            Assert.Equal((11, 1), (error.Line, error.Column));
            Assert.Contains("'a' is one host too many", error.Reason);
        }

        [Fact]
        public void HostListsKeepToTheSameLimitWithTheirRanges()
        {
            var limits = new InventoryLimits(maxHosts: 1000);
            var error = LoadFails("hosts.txt", "# racks\nfront-1\n  ops@n[0001-1000]\n", limits);
            Assert.Equal((3, 3), (error.Line, error.Column));
            Assert.Contains("'n[0001-1000]' expands to 1,000 hosts, 1 already listed before it", error.Reason);
            Assert.Equal(1000, Load("hosts.txt", "ops@n[0001-1000]\n", limits).Hosts.Count);
        }

        [Fact]
        public void HerdMaxHostsRaisesAndLowersTheLimit()
        {
            string path = temp.Write("inventory.yaml", "hosts: [\"n[1-150000]\"]\n");
            var refused = Assert.Throws<InventoryException>(() => InventoryLoader.LoadOrDefault(path, _ => null, out _));
            Assert.Contains("set $HERD_MAX_HOSTS to raise it", refused.Reason);

            var raised = InventoryLoader.LoadOrDefault(path, Env("200000"), out _);
            Assert.Equal(150_000, raised.Hosts.Count);
            Assert.Equal(200_000, raised.Limits.MaxHosts);

            var lowered = Assert.Throws<InventoryException>(() => InventoryLoader.LoadOrDefault(path, Env("100"), out _));
            Assert.Contains("the limit is 100 host entries", lowered.Reason);

            // The built-in inventory carries the limit too, for ranges given on the command line.
            Assert.Equal(5, InventoryLoader.LoadOrDefault(null, name => name == "HERD_MAX_HOSTS" ? "5" : null, out _).Limits.MaxHosts);
        }

        [Theory]
        [InlineData("0")]
        [InlineData("-5")]
        [InlineData("lots")]
        [InlineData("1e6")]
        [InlineData("99999999999")]
        [InlineData("100 000")]
        public void ABadHerdMaxHostsIsAnErrorNamingIt(string value)
        {
            string path = temp.Write("inventory.yaml", "hosts: [a]\n");
            var error = Assert.Throws<InventoryException>(() => InventoryLoader.LoadOrDefault(path, Env(value), out _));
            Assert.Equal($"$HERD_MAX_HOSTS is '{value}'; it must be a whole number of hosts from 1 to 2,147,483,647 (the default is 100,000)", error.Message);
        }

        // ---- errors stay readable -------------------------------------------------------------------------------

        [Fact]
        public void AHugeNameInAnErrorIsQuotedShort()
        {
            var transport = LoadFails("inventory.yaml", "hosts:\n  - host: a\n    transport: " + new string('k', 100_000) + "\n");
            Assert.Equal($"'transport' must be auto, openssh, sshnet, local or ssh, not '{new string('k', 66)}...(99,918 more characters)...{new string('k', 16)}'", transport.Reason);

            // However a reason quotes a name, the whole message stays short and keeps its location.
            var badHost = LoadFails("hosts.txt", "ok\n" + new string('a', 100_000) + ";\n");
            Assert.StartsWith($"{badHost.File}:2:1: ", badHost.Message);
            Assert.True(badHost.Message.Length <= InventoryException.MaxMessageLength + badHost.File!.Length + 100, $"{badHost.Message.Length:N0} characters");
        }

        private static Func<string, string?> Env(string maxHosts) => name => name == InventoryLimits.MaxHostsVariable ? maxHosts : null;
    }
}
