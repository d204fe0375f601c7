using System;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class HostListTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();

        public void Dispose() => temp.Dispose();

        private FleetInventory Load(string text) => InventoryLoader.Load(temp.Write("hosts.txt", text));

        [Fact]
        public void ParsesUserHostAndPort()
        {
            var inventory = Load(@"# fleet
web-01
deploy@web-02
web-03:2222
admin@10.0.0.4:2200   # trailing comment

  indented
");
            Assert.Equal(new[] { "web-01", "web-02", "web-03", "10.0.0.4", "indented" }, inventory.Hosts.Select(h => h.Name));
            Assert.Equal("deploy", inventory.Hosts[1].User);
            Assert.Null(inventory.Hosts[1].Port);
            Assert.Equal(2222, inventory.Hosts[2].Port);
            Assert.Equal(("admin", 2200), (inventory.Hosts[3].User, inventory.Hosts[3].Port));
            Assert.All(inventory.Hosts, h => Assert.Empty(h.Groups));
            Assert.All(inventory.Hosts, h => Assert.Empty(h.Tags));
            Assert.Empty(inventory.GroupNames);
            Assert.EndsWith("hosts.txt:3", inventory.Hosts[1].Source);
        }

        [Fact]
        public void ParsesIpv6()
        {
            var inventory = Load("[::1]:22\nroot@[fe80::1%eth0]:2222\n[2001:db8::5]\n2001:db8::6\n");
            Assert.Equal(new[] { "::1", "fe80::1%eth0", "2001:db8::5", "2001:db8::6" }, inventory.Hosts.Select(h => h.Name));
            Assert.Equal(22, inventory.Hosts[0].Port);
            Assert.Equal(("root", 2222), (inventory.Hosts[1].User, inventory.Hosts[1].Port));
            Assert.Null(inventory.Hosts[2].Port);
            Assert.Null(inventory.Hosts[3].Port);
        }

        [Fact]
        public void ExpandsRanges()
        {
            var inventory = Load("ops@web[01-03]:2200\n");
            Assert.Equal(new[] { "web01", "web02", "web03" }, inventory.Hosts.Select(h => h.Name));
            Assert.All(inventory.Hosts, h => Assert.Equal(("ops", 2200), (h.User, h.Port)));
        }

        [Fact]
        public void CrLfLineEndingsWork()
        {
            var path = temp.Path + "/crlf.txt";
            System.IO.File.WriteAllText(path, "a\r\nb:22\r\n");
            Assert.Equal(new[] { "a", "b" }, InventoryLoader.Load(path).Hosts.Select(h => h.Name));
        }

        [Fact]
        public void RepeatedLinesAreOneHost()
        {
            Assert.Single(Load("a\na\n").Hosts);
        }

        [Fact]
        public void RepeatedHostWithOtherSettingsIsAnError()
        {
            var error = Assert.Throws<InventoryException>(() => Load("a:22\nb\n  a:2222\n"));
            Assert.Equal((3, 3), (error.Line, error.Column));
            Assert.Contains("hosts.txt:1:1", error.Message);
        }

        [Theory]
        [InlineData("good\n-oProxyCommand=touch /tmp/x\n", 2, "starts with '-'")]
        [InlineData("web;reboot\n", 1, "';'")]
        [InlineData("web 01\n", 1, "whitespace")]
        [InlineData("web:0\n", 1, "1 to 65535")]
        [InlineData("web:99999\n", 1, "1 to 65535")]
        [InlineData("web:\n", 1, "1 to 65535")]
        [InlineData("@web\n", 1, "user name can't be empty")]
        [InlineData("-x@web\n", 1, "starts with '-'")]
        [InlineData("[::1]x\n", 1, "[address]:port")]
        [InlineData("web[1-\n", 1, "without a matching ']'")]
        public void BadLinesAreErrorsWithTheirLine(string text, int line, string expected)
        {
            var error = Assert.Throws<InventoryException>(() => Load(text));
            Assert.Equal(line, error.Line);
            Assert.True(error.Column > 0);
            Assert.Contains(expected, error.Message);
        }
    }
}
