using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;
using HerdPS.Cli;
using HerdPS.Files;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// herd's --json objects come from a source-generated context (the native herd has no reflection-based serializer).
    /// This process still has the reflection serializer: each object must print exactly as it did through it, with the
    /// options and anonymous objects herd used before.
    /// </summary>
    public sealed class CliJsonTests
    {
        private static readonly JsonSerializerOptions SnapshotOptionsBefore = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            Converters = { new JsonStringEnumConverter() },
        };

        private static FleetSnapshot Snapshot() => new FleetSnapshot
        {
            Id = 7, TakenUtc = new DateTime(2026, 2, 28, 9, 15, 0, 123, DateTimeKind.Utc), Selection = "group=web tag='<prod>'",
            Hosts =
            {
                new HostSnapshot
                {
                    HostName = "web-01", Status = SnapshotHostStatus.Captured, Kernel = "Linux 6.1.0 x86_64", OsName = "Debian \"12\" ü", PackageManager = "dpkg",
                    Packages = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["bash"] = "5.2+b8", ["l\u00FCbeck"] = "1:2~rc1" },
                    EnabledServices = { "nginx" }, RunningServices = { "nginx", "ssh" },
                    Disks = { new DiskUsage { Mount = "/mnt/a & b", FileSystem = "tmpfs", SizeKb = long.MaxValue, UsePercent = 100 } },
                    MemoryTotalKb = 2048, SwapFreeKb = 0, UptimeSeconds = 1234.5678901234,
                    Unavailable = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["services"] = "no systemd" },
                },
                new HostSnapshot { HostName = "web-02", Status = SnapshotHostStatus.Unreachable, ErrorKind = FleetErrorKind.ConnectionRefused, ErrorMessage = "refused" },
            },
        };

        [Fact]
        public void ASnapshotAndItsDiffPrintAsTheReflectionSerializerPrintedThem()
        {
            var snapshot = Snapshot();
            Assert.Equal(JsonSerializer.Serialize(snapshot, SnapshotOptionsBefore), JsonSerializer.Serialize(snapshot, CliJson.Default.FleetSnapshot));

            var after = Snapshot();
            after.Id = 8;
            after.Hosts[0].Kernel = "Linux 6.2.0 x86_64";
            after.Hosts[0].Packages.Remove("bash");
            after.Hosts[0].Packages["nginx"] = "1.22";
            after.Hosts[0].Disks[0].UsePercent = 3;
            after.Hosts[0].UptimeSeconds = 1;
            var diff = SnapshotComparison.Compare(snapshot, after);
            Assert.Equal(JsonSerializer.Serialize(diff, SnapshotOptionsBefore), JsonSerializer.Serialize(diff, CliJson.Default.SnapshotDiff));
        }

        [Fact]
        public void HostTagAndScriptLinesPrintAsTheAnonymousObjectsDid()
        {
            IReadOnlyList<string> groups = new[] { "web", "\u00FCber" }, tags = Array.Empty<string>();
            Assert.Equal(
                JsonSerializer.Serialize(new { name = "web-01", address = (string?)null, port = (int?)2222, user = "deploy", transport = "Ssh", groups, tags }),
                JsonSerializer.Serialize(new HostLine("web-01", null, 2222, "deploy", "Ssh", groups, tags), CliJson.Default.HostLine));
            var hosts = new NameList(new[] { "web-01", "web-02" });
            Assert.Equal(
                JsonSerializer.Serialize(new { tag = "prod", hostCount = 2, hosts }),
                JsonSerializer.Serialize(new TagLine("prod", 2, hosts), CliJson.Default.TagLine));
            string[] parameters = { "service" }, steps = { "a", "b" };
            Assert.Equal(
                JsonSerializer.Serialize(new { name = "restart", source = "Recipe", description = (string?)"Restart <nginx> & 'co' \u2014 \U0001F600", path = (string?)"/etc/herd/x.yaml", parameters, steps, valid = false, error = (string?)"x.yaml:1:2: \"bad\"" }),
                JsonSerializer.Serialize(new ScriptLine("restart", "Recipe", "Restart <nginx> & 'co' \u2014 \U0001F600", "/etc/herd/x.yaml", parameters, steps, false, "x.yaml:1:2: \"bad\""), CliJson.Default.ScriptLine));
        }
    }
}
