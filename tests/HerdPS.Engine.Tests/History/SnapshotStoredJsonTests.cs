using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// The JSON columns of snapshot_hosts (packages, services, disks, memory, unavailable) are a stored format: histories
    /// written by earlier herds must read, and what herd writes must not change under them. The texts below are what
    /// HerdPS wrote before its JSON went to source generation (for the native herd), copied from such a file.
    /// </summary>
    public sealed class SnapshotStoredJsonTests
    {
        private const string Packages = "{\"bash\":\"5.2.15-2\\u002Bb8\",\"l\\u00FCbeck-\\u003Ctool\\u003E\":\"1:2.0~rc1\"}";
        private const string Services = "{\"enabled\":[\"nginx\"],\"running\":[\"nginx\",\"ssh\"]}";
        private const string Disks = "[{\"mount\":\"/\",\"fileSystem\":\"/dev/vda\",\"sizeKb\":264212084,\"usedKb\":19993776,\"availableKb\":76784196,\"usePercent\":21},"
            + "{\"mount\":\"/mnt/my disk\",\"fileSystem\":\"tmpfs\",\"sizeKb\":4,\"usedKb\":0,\"availableKb\":4,\"usePercent\":0}]";
        private const string Memory = "{\"totalKb\":24684084,\"availableKb\":23936664,\"swapTotalKb\":null,\"swapFreeKb\":0}";
        private const string Unavailable = "{\"services\":\"systemd is not running on this host (\\u0027no\\u0027 /run/systemd/system \\u0026 \\u0022more\\u0022)\"}";

        private static HostSnapshot Host() => new HostSnapshot
        {
            HostName = "web-01", Status = SnapshotHostStatus.Captured, Kernel = "Linux 6.1.0 x86_64", PackageManager = "dpkg", ServiceManager = "systemd",
            Packages = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["bash"] = "5.2.15-2+b8", ["lübeck-<tool>"] = "1:2.0~rc1" },
            EnabledServices = new List<string> { "nginx" }, RunningServices = new List<string> { "nginx", "ssh" },
            Disks = new List<DiskUsage>
            {
                new DiskUsage { Mount = "/", FileSystem = "/dev/vda", SizeKb = 264212084, UsedKb = 19993776, AvailableKb = 76784196, UsePercent = 21 },
                new DiskUsage { Mount = "/mnt/my disk", FileSystem = "tmpfs", SizeKb = 4, AvailableKb = 4 },
            },
            MemoryTotalKb = 24684084, MemoryAvailableKb = 23936664, SwapTotalKb = null, SwapFreeKb = 0,
            Unavailable = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["services"] = "systemd is not running on this host ('no' /run/systemd/system & \"more\")" },
        };

        [Fact]
        public void AHostIsWrittenInTheStoredFormByteForByte()
        {
            var f = SnapshotFields.Of(Host());
            Assert.Equal(Packages, f.Packages);
            Assert.Equal(Services, f.Services);
            Assert.Equal(Disks, f.Disks);
            Assert.Equal(Memory, f.Memory);
            Assert.Equal(Unavailable, f.Unavailable);
        }

        [Fact]
        public void TheSqliteFileHoldsThatFormAndARowWrittenEarlierReadsBack()
        {
            using var folder = new TempDirectory();
            var path = Path.Combine(folder.Path, "history.db");
            long id;
            using (var store = HistoryStore.Open(path, new HistoryStoreOptions { Retention = null }))
                id = store.SaveSnapshot(new FleetSnapshot { TakenUtc = Now, Selection = "all", Hosts = { Host() } });
            Assert.Equal(Packages, ScalarText(path, "SELECT packages FROM snapshot_hosts"));
            Assert.Equal(Services, ScalarText(path, "SELECT services FROM snapshot_hosts"));
            Assert.Equal(Disks, ScalarText(path, "SELECT disks FROM snapshot_hosts"));
            Assert.Equal(Memory, ScalarText(path, "SELECT memory FROM snapshot_hosts"));
            Assert.Equal(Unavailable, ScalarText(path, "SELECT unavailable FROM snapshot_hosts"));

            // A second host as an earlier herd stored it, put in with SQL: its text, not what this herd would write.
            Execute(path, "INSERT INTO snapshot_hosts (snapshot_id, host, status, uptime_seconds, package_manager, packages, service_manager, services, disks, memory, unavailable) "
                + $"VALUES ({id}, 'web-02', 'Captured', 12.5, 'dpkg', '{Packages}', 'systemd', '{Services}', '{Disks}', '{Memory}', '{Unavailable.Replace("'", "''")}')");
            using (var store = HistoryStore.Open(path, new HistoryStoreOptions { Retention = null }))
            {
                var back = store.GetSnapshot(id)!;
                Assert.Equal(new[] { "web-01", "web-02" }, back.Hosts.Select(h => h.HostName));
                foreach (var h in back.Hosts) AssertIsTheHost(h);
                Assert.Equal(12.5, back.Hosts[1].UptimeSeconds);
            }
        }

        [Fact]
        public void TheColumnsReadInAnyJsonSpellingAndMissingPartsStayEmpty()
        {
            // PostgreSQL's json functions, or a hand-edited row, may space and order keys differently.
            var h = SnapshotFields.Host("web-01", "Captured", null, null, null, null, null, null, "dpkg",
                "{ \"bash\" : \"5.2.15-2+b8\" }", "systemd", "{\"running\": [\"ssh\"]}", "[ ]", "{\"swapFreeKb\": 7, \"totalKb\": 1}", "{}");
            Assert.Equal("5.2.15-2+b8", h.Packages["bash"]);
            Assert.Empty(h.EnabledServices);
            Assert.Equal(new[] { "ssh" }, h.RunningServices);
            Assert.Empty(h.Disks);
            Assert.Equal((1L, (long?)null, (long?)null, 7L), (h.MemoryTotalKb, h.MemoryAvailableKb, h.SwapTotalKb, h.SwapFreeKb));
            Assert.Empty(h.Unavailable);

            var empty = SnapshotFields.Host("web-02", "Failed", "refused", null, null, null, null, null, null, "null", null, "null", "null", "null", "null");
            Assert.Equal(SnapshotHostStatus.Failed, empty.Status);
            Assert.Empty(empty.Packages);
            Assert.Empty(empty.RunningServices);
            Assert.Empty(empty.Disks);
            Assert.Null(empty.MemoryTotalKb);
        }

        [Fact]
        public void StoredTextReadsBackAsTheHost() =>
            AssertIsTheHost(SnapshotFields.Host("web-01", "Captured", null, "Linux 6.1.0 x86_64", null, null, null, null, "dpkg", Packages, "systemd", Services, Disks, Memory, Unavailable));

        private static void AssertIsTheHost(HostSnapshot h)
        {
            var want = Host();
            Assert.Equal(SnapshotHostStatus.Captured, h.Status);
            Assert.Equal(want.Packages, h.Packages);
            Assert.Equal(want.EnabledServices, h.EnabledServices);
            Assert.Equal(want.RunningServices, h.RunningServices);
            Assert.Equal(
                want.Disks.Select(d => (d.Mount, d.FileSystem, d.SizeKb, d.UsedKb, d.AvailableKb, d.UsePercent)),
                h.Disks.Select(d => (d.Mount, d.FileSystem, d.SizeKb, d.UsedKb, d.AvailableKb, d.UsePercent)));
            Assert.Equal((want.MemoryTotalKb, want.MemoryAvailableKb, want.SwapTotalKb, want.SwapFreeKb), (h.MemoryTotalKb, h.MemoryAvailableKb, h.SwapTotalKb, h.SwapFreeKb));
            Assert.Equal(want.Unavailable, h.Unavailable);
        }
    }
}
