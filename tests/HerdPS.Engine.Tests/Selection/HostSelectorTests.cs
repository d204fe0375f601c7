using System;
using System.Linq;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Selection
{
    public class HostSelectorTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();
        private readonly FleetInventory inventory;

        public HostSelectorTests()
        {
            inventory = InventoryLoader.Load(temp.Write("fleet.yaml", @"
defaults: { user: deploy, port: 22 }
groups:
  pis:
    hosts:
      - host: pi-garage
        tags: [debian12, arm64, indoor]
      - host: pi-workshop
        tags: [debian11, arm64, outdoor]
      - pi-backyard
  web:
    tags: [nginx]
    hosts:
      - host: web-01
        tags: [prod, debian12]
      - host: web-02
        tags: [prod, debian11]
      - host: web-03
        tags: [staging, debian12]
  db:
    hosts:
      - host: db-01
        tags: [prod, debian12]
  spare:
  edge:
    hosts: [web-01, pi-garage]
"));
        }

        public void Dispose() => temp.Dispose();

        private string[] Select(Action<HostSelection> configure)
        {
            var selection = new HostSelection();
            configure(selection);
            return HostSelector.Select(inventory, selection).Select(h => h.Name).ToArray();
        }

        private SelectionException SelectFails(Action<HostSelection> configure)
        {
            var selection = new HostSelection();
            configure(selection);
            return Assert.Throws<SelectionException>(() => HostSelector.Select(inventory, selection));
        }

        [Fact]
        public void NoCriteriaSelectsEveryHostInInventoryOrder()
        {
            Assert.Equal(
                new[] { "pi-garage", "pi-workshop", "pi-backyard", "web-01", "web-02", "web-03", "db-01" },
                Select(s => { }));
        }

        [Fact]
        public void GroupsAreAUnionInInventoryOrderWithoutDuplicates()
        {
            Assert.Equal(
                new[] { "pi-garage", "web-01", "web-02", "web-03" },
                Select(s => { s.Groups.Add("web"); s.Groups.Add("edge"); }));
        }

        [Fact]
        public void UnknownGroupListsTheKnownOnes()
        {
            var error = SelectFails(s => s.Groups.Add("wbe"));
            Assert.Contains("unknown group 'wbe'", error.Message);
            Assert.Contains("pis, web, db, spare, edge", error.Message);
        }

        [Fact]
        public void TagClausesAreOredAndCommaIsAnd()
        {
            Assert.Equal(new[] { "pi-garage", "web-01", "web-03", "db-01" }, Select(s => s.Tags.Add("debian12")));
            Assert.Equal(new[] { "web-01", "db-01" }, Select(s => s.Tags.Add("prod,debian12")));
            Assert.Equal(new[] { "pi-workshop", "web-01", "web-02", "db-01" }, Select(s => { s.Tags.Add("prod"); s.Tags.Add("outdoor"); }));
            Assert.Equal(new[] { "web-01", "web-02" }, Select(s => s.Tags.Add("nginx,!staging")));
        }

        [Fact]
        public void GroupAndTagIntersect()
        {
            Assert.Equal(new[] { "pi-garage" }, Select(s => { s.Groups.Add("pis"); s.Tags.Add("debian12"); }));
            Assert.Equal(new[] { "web-01", "web-02" }, Select(s => { s.Groups.Add("web"); s.Tags.Add("!staging"); }));
        }

        [Fact]
        public void HostGlobsAddToGroupAndTagResults()
        {
            Assert.Equal(
                new[] { "pi-garage", "pi-workshop", "pi-backyard", "db-01" },
                Select(s => { s.Groups.Add("db"); s.Hosts.Add("pi-*"); }));
            Assert.Equal(new[] { "web-01", "web-03" }, Select(s => s.Hosts.Add("web-0[13]")));
            Assert.Equal(new[] { "web-01", "web-02", "web-03" }, Select(s => s.Hosts.Add("WEB-0?")));
        }

        [Fact]
        public void GlobThatMatchesNothingIsAnError()
        {
            var error = SelectFails(s => { s.Groups.Add("db"); s.Hosts.Add("wbe-*"); });
            Assert.Contains("'wbe-*' matches no host", error.Message);
        }

        [Fact]
        public void PlainNamesPickInventoryHostsWithTheirSettings()
        {
            var hosts = HostSelector.Select(inventory, WithHosts("db-01", "web-02"));
            Assert.Equal(new[] { "web-02", "db-01" }, hosts.Select(h => h.Name));
            Assert.Same(inventory.Hosts.Single(h => h.Name == "db-01"), hosts[1]);
        }

        [Fact]
        public void UnknownPlainNamesBecomeAdHocHostsAfterInventoryHostsInTheGivenOrder()
        {
            var hosts = HostSelector.Select(inventory, WithHosts("zeta", "web-01", "root@alpha:2222", "zeta"));
            Assert.Equal(new[] { "web-01", "zeta", "alpha" }, hosts.Select(h => h.Name));
            var zeta = hosts[1];
            Assert.Equal(("deploy", 22), (zeta.User, zeta.Port)); // inventory defaults
            Assert.Null(zeta.Source);
            Assert.Empty(zeta.Groups);
            Assert.Equal(("root", 2222), (hosts[2].User, hosts[2].Port));
        }

        [Fact]
        public void UserOrPortOnAnInventoryNameOverridesForThisRunOnly()
        {
            var hosts = HostSelector.Select(inventory, WithHosts("admin@web-01:2200"));
            var web01 = Assert.Single(hosts);
            Assert.Equal(("admin", 2200), (web01.User, web01.Port));
            Assert.Equal(new[] { "nginx", "prod", "debian12" }, web01.Tags);
            var original = inventory.Hosts.Single(h => h.Name == "web-01");
            Assert.Equal(("deploy", 22), (original.User, original.Port));
        }

        [Fact]
        public void AdHocIpv6IsNotAGlob()
        {
            var host = Assert.Single(HostSelector.Select(inventory, WithHosts("root@[::1]:22")));
            Assert.Equal(("::1", "root", 22), (host.Name, host.User, host.Port));
        }

        [Theory]
        [InlineData("-oProxyCommand=touch /tmp/x", "starts with '-'")]
        [InlineData("web;reboot", "';'")]
        [InlineData("web 01", "whitespace")]
        public void DangerousHostNamesAreRejected(string name, string expected)
        {
            var error = SelectFails(s => s.Hosts.Add(name));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void SameAdHocHostWithDifferentSettingsIsAnError()
        {
            var error = SelectFails(s => { s.Hosts.Add("a@box"); s.Hosts.Add("b@box"); });
            Assert.Contains("given twice", error.Message);
        }

        [Fact]
        public void ExcludesAreRemovedLast()
        {
            Assert.Equal(new[] { "web-01", "web-02" }, Select(s => { s.Groups.Add("web"); s.Excludes.Add("web-03"); }));
            Assert.Equal(new[] { "web-01", "web-02", "web-03", "db-01" }, Select(s => s.Excludes.Add("pi-*")));
            Assert.Equal(new[] { "web-01" }, Select(s => { s.Hosts.Add("web-01"); s.Hosts.Add("adhoc"); s.Excludes.Add("ad*"); }));
        }

        [Fact]
        public void EmptySelectionSaysWhatWasAsked()
        {
            var error = SelectFails(s => { s.Groups.Add("pis"); s.Tags.Add("prod"); });
            Assert.Contains("group=pis tag=prod", error.Message);
            Assert.Contains("matched no hosts", error.Message);
        }

        [Fact]
        public void EmptySelectionPointsAtUnknownTagsEmptyGroupsAndExcludes()
        {
            Assert.Contains("no host has the tag 'prdo'", SelectFails(s => s.Tags.Add("prdo")).Message);
            Assert.Contains("group 'spare' has no hosts", SelectFails(s => s.Groups.Add("spare")).Message);
            Assert.Contains("--exclude removed all 3 hosts", SelectFails(s => { s.Groups.Add("web"); s.Excludes.Add("*"); }).Message);
        }

        [Fact]
        public void BadTagExpressionIsASelectionError()
        {
            Assert.Contains("empty term", SelectFails(s => s.Tags.Add("prod,")).Message);
        }

        [Fact]
        public void EmptyInventoryIsExplained()
        {
            var empty = InventoryLoader.Load(temp.Write("empty.yaml", "groups:\n  web:\n"));
            var error = Assert.Throws<SelectionException>(() => HostSelector.Select(empty, new HostSelection()));
            Assert.Contains("has no hosts", error.Message);
        }

        [Fact]
        public void EmbeddedDefaultSelectsTheLocalMachine()
        {
            var local = Assert.Single(HostSelector.Select(FleetInventory.EmbeddedDefault(), new HostSelection()));
            Assert.Equal(HostTransportKind.Local, local.Transport);
        }

        private static HostSelection WithHosts(params string[] hosts)
        {
            var selection = new HostSelection();
            selection.Hosts.AddRange(hosts);
            return selection;
        }
    }
}
