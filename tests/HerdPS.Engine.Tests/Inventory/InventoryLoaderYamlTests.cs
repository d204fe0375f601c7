using System;
using System.IO;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class InventoryLoaderYamlTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();

        public void Dispose() => temp.Dispose();

        private FleetInventory Load(string yaml) => InventoryLoader.Load(temp.Write("inventory.yaml", yaml));

        private InventoryException LoadFails(string yaml) =>
            Assert.Throws<InventoryException>(() => InventoryLoader.Load(temp.Write("inventory.yaml", yaml)));

        [Fact]
        public void LoadsTheDesignExample()
        {
            var inventory = Load(@"
defaults: { user: deploy, port: 22, throttle: 32, timeout: 30s }
groups:
  web:
    user: deploy
    hosts:
      - web-01                      # bare name
      - host: web-02
        tags: [prod, nginx, debian12]
        hostname: 10.0.0.12
  db:
    hosts: [ ""db[01-03]"" ]
");
            Assert.Equal(new[] { "web-01", "web-02", "db01", "db02", "db03" }, inventory.Hosts.Select(h => h.Name));
            Assert.Equal(new[] { "web", "db" }, inventory.GroupNames);
            Assert.Equal(32, inventory.Defaults.Throttle);
            Assert.Equal(TimeSpan.FromSeconds(30), inventory.Defaults.Timeout);
            Assert.False(inventory.IsEmbeddedDefault);

            var web02 = inventory.Hosts[1];
            Assert.Equal("10.0.0.12", web02.Address);
            Assert.Equal(new[] { "prod", "nginx", "debian12" }, web02.Tags);
            Assert.Equal(new[] { "web" }, web02.Groups);
            Assert.Equal(HostTransportKind.Ssh, web02.Transport);
            Assert.Null(inventory.Hosts[0].Address);
            Assert.Empty(inventory.Hosts[0].Tags);
            Assert.Equal(new[] { "db" }, inventory.Hosts[2].Groups);
        }

        [Fact]
        public void AllDefaultsAreRead()
        {
            var inventory = Load(@"
defaults:
  user: ops
  port: 2222
  throttle: 8
  timeout: 1m
  connect_timeout: 5s
  history_retention: 30d
  identity_file: ~/.ssh/fleet
");
            var d = inventory.Defaults;
            Assert.Equal("ops", d.User);
            Assert.Equal(2222, d.Port);
            Assert.Equal(8, d.Throttle);
            Assert.Equal(TimeSpan.FromMinutes(1), d.Timeout);
            Assert.Equal(TimeSpan.FromSeconds(5), d.ConnectTimeout);
            Assert.Equal(TimeSpan.FromDays(30), d.HistoryRetention);
            Assert.Equal("~/.ssh/fleet", d.IdentityFile);
            Assert.Empty(inventory.Hosts);
        }

        [Fact]
        public void HostBeatsGroupBeatsDefaults()
        {
            var inventory = Load(@"
defaults: { user: d-user, port: 22, identity_file: d-key }
groups:
  web:
    user: g-user
    port: 2200
    hosts:
      - plain
      - host: custom
        user: h-user
        identity_file: h-key
hosts:
  - loose
");
            var plain = inventory.Hosts.Single(h => h.Name == "plain");
            Assert.Equal(("g-user", 2200, "d-key"), (plain.User, plain.Port, plain.IdentityFile));
            var custom = inventory.Hosts.Single(h => h.Name == "custom");
            Assert.Equal(("h-user", 2200, "h-key"), (custom.User, custom.Port, custom.IdentityFile));
            var loose = inventory.Hosts.Single(h => h.Name == "loose");
            Assert.Equal(("d-user", 22, "d-key"), (loose.User, loose.Port, loose.IdentityFile));
            Assert.Empty(loose.Groups);
        }

        [Fact]
        public void DefaultsApplyEvenWhenWrittenAfterTheGroups()
        {
            var inventory = Load(@"
groups:
  web: { hosts: [web-01] }
defaults: { user: late }
");
            Assert.Equal("late", inventory.Hosts[0].User);
        }

        [Fact]
        public void GroupTagsComeFirstThenHostTagsWithoutDuplicates()
        {
            var inventory = Load(@"
groups:
  web:
    tags: [prod, nginx]
    hosts:
      - host: web-01
        tags: [nginx, debian12, PROD]
");
            Assert.Equal(new[] { "prod", "nginx", "debian12" }, inventory.Hosts[0].Tags);
        }

        [Fact]
        public void AHostInSeveralGroupsIsOneHostWithTheUnion()
        {
            var inventory = Load(@"
groups:
  web:
    tags: [nginx]
    hosts:
      - host: box-1
        tags: [prod]
      - box-2
  monitored:
    tags: [monitored]
    hosts: [box-1, BOX-2]
");
            Assert.Equal(new[] { "box-1", "box-2" }, inventory.Hosts.Select(h => h.Name));
            var box1 = inventory.Hosts[0];
            Assert.Equal(new[] { "web", "monitored" }, box1.Groups);
            Assert.Equal(new[] { "nginx", "prod", "monitored" }, box1.Tags);
            Assert.Equal(new[] { "web", "monitored" }, inventory.Hosts[1].Groups);
            Assert.EndsWith("inventory.yaml:6", box1.Source);
        }

        [Fact]
        public void ConflictingDuplicateNamesBothLocations()
        {
            var error = LoadFails(@"groups:
  web:
    user: deploy
    hosts: [box-1]
  db:
    user: postgres
    hosts:
      - box-1
");
            Assert.Equal(8, error.Line);
            Assert.Equal(9, error.Column);
            Assert.Contains("box-1", error.Message);
            Assert.Contains("inventory.yaml:4:13", error.Message);
            Assert.Contains("inventory.yaml:8:9", error.Message);
            Assert.Contains("user ('deploy' vs 'postgres')", error.Message);
        }

        [Theory]
        [InlineData("hostname: 10.0.0.2", "hostname")]
        [InlineData("port: 2222", "port")]
        [InlineData("identity_file: other", "identity_file")]
        [InlineData("transport: local", "transport")]
        public void EveryConnectionSettingCanConflict(string setting, string named)
        {
            var error = LoadFails($@"groups:
  a:
    hosts: [box]
  b:
    hosts:
      - host: box
        {setting}
");
            Assert.Contains("different " + named, error.Message);
        }

        [Fact]
        public void UnknownKeyIsAnErrorWithLineAndColumn()
        {
            var error = LoadFails(@"groups:
  web:
    usr: deploy
    hosts: [web-01]
");
            Assert.Equal(3, error.Line);
            Assert.Equal(5, error.Column);
            Assert.StartsWith(Path.Combine(temp.Path, "inventory.yaml") + ":3:5: ", error.Message);
            Assert.Contains("unknown key 'usr' in group 'web'", error.Message);
            Assert.Contains("allowed keys are user, port, tags, identity_file, transport, hosts", error.Message);
            Assert.Contains("did you mean 'user'", error.Message);
        }

        [Theory]
        [InlineData("inventory: []\n", 1, 1, "at the top level")]
        [InlineData("defaults:\n  retries: 3\n", 2, 3, "in defaults")]
        [InlineData("hosts:\n  - host: a\n    tag: [x]\n", 3, 5, "in a host entry")]
        [InlineData("defaults:\n  connect-timeout: 5s\n", 2, 3, "did you mean 'connect_timeout'")]
        public void UnknownKeysAreErrorsAtEveryLevel(string yaml, int line, int column, string expected)
        {
            var error = LoadFails(yaml);
            Assert.Equal((line, column), (error.Line, error.Column));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void BadDurationIsAnErrorAtTheValue()
        {
            var error = LoadFails("defaults:\n  timeout: 30 seconds\n");
            Assert.Equal((2, 12), (error.Line, error.Column));
            Assert.Contains("'30 seconds' is not a duration", error.Message);
        }

        [Theory]
        [InlineData("0")]
        [InlineData("65536")]
        [InlineData("-1")]
        [InlineData("ssh")]
        [InlineData("22.5")]
        public void PortOutsideRangeIsAnError(string port)
        {
            var error = LoadFails($"hosts:\n  - host: a\n    port: {port}\n");
            Assert.Equal((3, 11), (error.Line, error.Column));
            Assert.Contains("1 to 65535", error.Message);
        }

        [Fact]
        public void ProxyCommandInjectionAsHostNameIsRejected()
        {
            var error = LoadFails("hosts:\n  - \"-oProxyCommand=touch /tmp/x\"\n");
            Assert.Equal((2, 5), (error.Line, error.Column));
            Assert.Contains("starts with '-'", error.Message);
        }

        [Theory]
        [InlineData("\"web;reboot\"", "';'")]
        [InlineData("\"web 01\"", "whitespace")]
        [InlineData("root@web", "'@'")]
        public void ShellWordsAsHostNamesAreRejected(string host, string expected)
        {
            var error = LoadFails($"groups:\n  web:\n    hosts:\n      - {host}\n");
            Assert.Equal(4, error.Line);
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void BadHostnameAddressIsRejected()
        {
            var error = LoadFails("hosts:\n  - host: a\n    hostname: \"$(reboot)\"\n");
            Assert.Equal(3, error.Line);
            Assert.Contains("hostname:", error.Message);
        }

        [Theory]
        [InlineData("groups:\n  \"-web\":\n    hosts: [a]\n", "group name")]
        [InlineData("groups:\n  web:\n    tags: [\"!prod\"]\n", "tag")]
        [InlineData("hosts:\n  - host: a\n    tags: [\"a b\"]\n", "tag")]
        [InlineData("defaults: { user: \"-oX\" }\n", "user name")]
        public void BadGroupTagAndUserNamesAreRejected(string yaml, string what)
        {
            var error = LoadFails(yaml);
            Assert.Contains(what, error.Message);
            Assert.True(error.Line > 0 && error.Column > 0);
        }

        [Theory]
        [InlineData("groups: [web]\n", "'groups' must be a mapping")]
        [InlineData("groups:\n  web: [a, b]\n", "group 'web' must be a mapping")]
        [InlineData("hosts: web-01\n", "'hosts' must be a list")]
        [InlineData("hosts:\n  - host: a\n    tags: prod\n", "'tags' must be a list")]
        [InlineData("defaults: { port: [22] }\n", "'port' must be a single value, not a list")]
        [InlineData("defaults: { throttle: 0 }\n", "at least 1")]
        [InlineData("defaults: { user: }\n", "'user' needs a value")]
        [InlineData("hosts:\n  - { user: a }\n", "no 'host:' key")]
        [InlineData("hosts:\n  - host: a\n    transport: telnet\n", "auto, openssh, sshnet, local or ssh")]
        [InlineData("hosts:\n  - [a, b]\n", "a host is a name")]
        [InlineData("- a\n- b\n", "an inventory is a mapping")]
        [InlineData("hosts:\n  - host: \"web[1-3]\"\n    hostname: 10.0.0.1\n", "same address")]
        [InlineData("hosts: [\"web[3-1]\"]\n", "reversed range")]
        public void WrongShapesAreErrors(string yaml, string expected)
        {
            var error = LoadFails(yaml);
            Assert.Contains(expected, error.Message);
            Assert.True(error.Line > 0 && error.Column > 0, error.Message);
        }

        [Fact]
        public void DuplicateKeysAreErrors()
        {
            var error = LoadFails("defaults:\n  user: a\n  user: b\n");
            Assert.Equal(3, error.Line);
            Assert.Contains("'user' appears twice", error.Message);
        }

        [Fact]
        public void DuplicateGroupsAreErrors()
        {
            var error = LoadFails("groups:\n  web: { hosts: [a] }\n  Web: { hosts: [b] }\n");
            Assert.Equal((3, 3), (error.Line, error.Column));
            Assert.Contains("already defined at", error.Message);
        }

        [Fact]
        public void YamlSyntaxErrorsCarryTheirPosition()
        {
            var error = LoadFails("groups:\n  web:\n    hosts: [a, b\n");
            Assert.Equal(Path.Combine(temp.Path, "inventory.yaml"), error.File);
            Assert.True(error.Line >= 3, error.Message);
            Assert.True(error.Column > 0);
            Assert.DoesNotContain("(Line:", error.Reason);
        }

        [Fact]
        public void TabIndentationIsASyntaxError()
        {
            var error = LoadFails("groups:\n  web:\n\t  hosts: [a]\n");
            Assert.Equal((3, 1), (error.Line, error.Column));
            Assert.Contains("indent with spaces", error.Message);
        }

        [Fact]
        public void SecondDocumentIsAnError()
        {
            var error = LoadFails("hosts: [a]\n---\nhosts: [b]\n");
            Assert.Equal(3, error.Line);
            Assert.Contains("single YAML document", error.Message);
        }

        [Fact]
        public void EmptyGroupsAndEmptyFilesAreAllowed()
        {
            var inventory = Load("groups:\n  spare:\n  later: { hosts: [] }\n");
            Assert.Empty(inventory.Hosts);
            Assert.Equal(new[] { "spare", "later" }, inventory.GroupNames);

            Assert.Empty(Load("").Hosts);
            Assert.Empty(Load("# nothing yet\n").Hosts);
        }

        [Fact]
        public void LocalTransportAndIpv6Hosts()
        {
            var inventory = Load("hosts:\n  - host: me\n    transport: local\n  - \"::1\"\n  - host: \"fe80::1%eth0\"\n");
            Assert.Equal(HostTransportKind.Local, inventory.Hosts[0].Transport);
            Assert.Equal(new[] { "me", "::1", "fe80::1%eth0" }, inventory.Hosts.Select(h => h.Name));
        }

        [Fact]
        public void RangeInAHostMappingGivesEachHostTheSettings()
        {
            var inventory = Load("hosts:\n  - host: \"n[1-2]\"\n    port: 2200\n    tags: [compute]\n");
            Assert.Equal(new[] { "n1", "n2" }, inventory.Hosts.Select(h => h.Name));
            Assert.All(inventory.Hosts, h => Assert.Equal(2200, h.Port));
            Assert.All(inventory.Hosts, h => Assert.Equal(new[] { "compute" }, h.Tags));
        }

        [Fact]
        public void SeedRoadmapExampleLoads()
        {
            var inventory = Load(@"
groups:
  pis:
    hosts:
      - host: pi-garage
        tags: [debian12, arm64, indoor]
      - host: pi-workshop
        tags: [debian11, arm64, outdoor]
      - pi-backyard  # bare string still works, no tags
  web:
    hosts:
      - host: web-01
        tags: [nginx, prod, us-east]
");
            Assert.Equal(4, inventory.Hosts.Count);
            Assert.Empty(inventory.Hosts.Single(h => h.Name == "pi-backyard").Tags);
        }

        [Fact]
        public void YmlExtensionAndSniffedYamlAreYaml()
        {
            var yml = InventoryLoader.Load(temp.Write("fleet.yml", "hosts: [a]\n"));
            Assert.Equal("a", yml.Hosts.Single().Name);
            var sniffed = InventoryLoader.Load(temp.Write("fleet.conf", "# my fleet\ngroups:\n  web: { hosts: [b] }\n"));
            Assert.Equal(new[] { "web" }, sniffed.Hosts.Single().Groups);
        }

        [Fact]
        public void MissingFileIsAnErrorNamingIt()
        {
            string path = Path.Combine(temp.Path, "nope.yaml");
            var error = Assert.Throws<InventoryException>(() => InventoryLoader.Load(path));
            Assert.Equal(path, error.File);
            Assert.Contains("not found", error.Message);
        }

        [Fact]
        public void DirectoryIsAnError()
        {
            var error = Assert.Throws<InventoryException>(() => InventoryLoader.Load(temp.Path));
            Assert.Contains("directory", error.Message);
        }

        [Fact]
        public void UnreadableFileIsAnError()
        {
            if (OperatingSystem.IsWindows() || Environment.UserName == "root") return; // root reads anything
            string path = temp.Write("locked.yaml", "hosts: [a]\n");
            File.SetUnixFileMode(path, UnixFileMode.None);
            var error = Assert.Throws<InventoryException>(() => InventoryLoader.Load(path));
            Assert.Contains("can't read", error.Message);
        }
    }
}
