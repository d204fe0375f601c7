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
            Assert.Equal(new[] { "web-01", "web-03" }, Select(s => s.Hosts.Add("web-0[!2]")));
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

        [Fact]
        public void RangesNameHostsAsPdshDoesInventoryOrNot()
        {
            Assert.Equal(new[] { "web-01", "web-02" }, Select(s => s.Hosts.Add("web-[01-02]")));
            // A name of the range that the inventory doesn't have is an ad-hoc host, as pdsh -w would use it.
            var hosts = HostSelector.Select(inventory, WithHosts("web-[02-04]"));
            Assert.Equal(new[] { "web-02", "web-03", "web-04" }, hosts.Select(h => h.Name));
            Assert.Same(inventory.Hosts.Single(h => h.Name == "web-03"), hosts[1]);
            Assert.Equal("deploy", hosts[2].User); // the ad-hoc one takes the inventory defaults
            Assert.Equal(new[] { "n0001", "n0002", "n0003" }, Select(s => s.Hosts.Add("n[0001-0003]")));
        }

        [Fact]
        public void RangesCombineWithGlobs()
        {
            Assert.Equal(new[] { "pi-garage", "web-01", "web-02" }, Select(s => { s.Groups.Add("web"); s.Hosts.Add("pi-g*"); s.Excludes.Add("web-[03-09]"); }));
            Assert.Equal(new[] { "web-01", "web-03" }, Select(s => s.Hosts.Add("web-0[1,3]*")));
            Assert.Contains("'wbe-[1-3]*' matches no host", SelectFails(s => s.Hosts.Add("wbe-[1-3]*")).Message);
        }

        [Fact]
        public void ExcludingAHundredThousandNamesIsALookupPerHost()
        {
            var hosts = HostSelector.Select(inventory, new HostSelection { Excludes = { "n[1-100000]", "web-0[1-2]" } });
            Assert.Equal(new[] { "pi-garage", "pi-workshop", "pi-backyard", "web-03", "db-01" }, hosts.Select(h => h.Name));
        }

        [Theory]
        [InlineData("n[0003-0001]", "host pattern 'n[0003-0001]': '[0003-0001]' has a reversed range 0003-0001")]
        [InlineData("web[z-a]", "host pattern 'web[z-a]' has the range z-a written high to low")]
        [InlineData("web[1", "host pattern 'web[1' has a '[' without a matching ']'")]
        public void PatternErrorsAreOurOwnWordsForHostsAndExcludes(string pattern, string expected)
        {
            var asHost = SelectFails(s => s.Hosts.Add(pattern)).Message;
            Assert.StartsWith(expected, asHost);
            var asExclude = SelectFails(s => s.Excludes.Add(pattern)).Message;
            Assert.StartsWith(expected, asExclude);
            Assert.EndsWith("(in the hosts to exclude)", asExclude);
            foreach (var m in new[] { asHost, asExclude })
            {
                Assert.DoesNotContain("offset", m);
                Assert.DoesNotContain("Invalid pattern", m);
            }
        }

        [Fact]
        public void HostileNamesAreEscapedAndCutInSelectionErrors()
        {
            var huge = "web" + new string('x', 10 * 1024 * 1024);
            var tooLong = SelectFails(s => s.Hosts.Add(huge)).Message;
            Assert.True(tooLong.Length < 400, tooLong.Substring(0, Math.Min(400, tooLong.Length)));
            Assert.Contains("(10485763 characters)", tooLong);
            var rlo = SelectFails(s => s.Groups.Add("web\u202e\u001b]0;x\u0007")).Message;
            Assert.Contains(@"unknown group 'web\u202e\x1b]0;x\x07'", rlo);
            Assert.DoesNotContain(rlo, HerdPS.Tests.Display.TerminalTextTests.IsForbidden);
        }

        private static HostSelection WithHosts(params string[] hosts)
        {
            var selection = new HostSelection();
            selection.Hosts.AddRange(hosts);
            return selection;
        }
    }
}
