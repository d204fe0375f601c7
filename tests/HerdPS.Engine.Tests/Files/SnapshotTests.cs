using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.History;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Files
{
    /// <summary>
    /// The snapshot parser and differ run on real output of the inspection script on this machine (and on a copy
    /// changed the way an upgrade changes it): the test hosts share this machine's OS, so a real package change
    /// can't be staged on one host alone.
    /// </summary>
    public sealed class SnapshotParsingTests
    {
        internal static string RunScriptHere()
        {
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(SnapshotScript.Script);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            return output;
        }

        [Fact]
        public void RealOutputParsesIntoEverySectionOrSaysWhyNot()
        {
            var snap = SnapshotScript.Parse("here", RunScriptHere());
            Assert.Equal(SnapshotHostStatus.Captured, snap.Status);
            Assert.StartsWith("Linux ", snap.Kernel);
            Assert.False(string.IsNullOrEmpty(snap.OsName));
            Assert.Equal("dpkg", snap.PackageManager); // this image is Debian-family
            Assert.True(snap.Packages.Count > 50);
            Assert.Contains("openssh-server", snap.Packages.Keys);
            Assert.Contains(snap.Disks, d => d.Mount == "/");
            Assert.True(snap.MemoryTotalKb > 0);
            Assert.True(snap.UptimeSeconds > 0);
            if (Directory.Exists("/run/systemd/system")) Assert.Equal("systemd", snap.ServiceManager);
            else Assert.StartsWith("systemd is not running", snap.Unavailable[HostSnapshot.SectionServices]);
        }

        [Fact]
        public void TheDiffReportsPackagesServicesDiskKernelAndReboot()
        {
            var before = SnapshotScript.Parse("h1", RunScriptHere());
            var after = SnapshotScript.Parse("h1", RunScriptHere());
            // What an upgrade-and-reconfigure week does to a host.
            var removed = before.Packages.Keys.First();
            after.Packages.Remove(removed);
            after.Packages["herd-new-tool"] = "1.2-1";
            after.Packages["openssh-server"] = "1:99.0p1-1";
            before.Packages["libdowngraded"] = "2.0~rc1";
            after.Packages["libdowngraded"] = "1.9";
            after.Kernel = before.Kernel + "-next";
            after.UptimeSeconds = 5;
            before.UptimeSeconds = 5000;
            var root = after.Disks.Single(d => d.Mount == "/");
            before.Disks.Single(d => d.Mount == "/").UsePercent = 40;
            root.UsePercent = 93;
            foreach (var s in new[] { before, after }) { s.Unavailable.Remove(HostSnapshot.SectionServices); s.ServiceManager = "systemd"; }
            before.EnabledServices.AddRange(new[] { "cron.service", "nginx.service" });
            after.EnabledServices.AddRange(new[] { "cron.service", "haproxy.service" });
            before.RunningServices.Add("nginx.service");
            after.RunningServices.Add("haproxy.service");

            var diff = SnapshotComparison.Compare(
                new FleetSnapshot { Id = 1, Hosts = { before, SnapshotScript.Parse("h2", RunScriptHere()) } },
                new FleetSnapshot { Id = 2, Hosts = { after, SnapshotScript.Parse("h2", RunScriptHere()), new HostSnapshot { HostName = "h3", Status = SnapshotHostStatus.Unreachable, ErrorMessage = "refused" } } },
                diskThresholdPoints: 50); // h2's real disk use may move a little between the two captures

            var h1 = diff.Hosts.Single(h => h.HostName == "h1");
            Assert.Equal(HostSnapshotChange.Changed, h1.Change);
            Assert.Equal(new[] { "herd-new-tool 1.2-1" }, h1.PackagesAdded.Select(p => p.ToString()));
            Assert.Equal(removed, Assert.Single(h1.PackagesRemoved).Name);
            Assert.Equal("openssh-server", Assert.Single(h1.PackagesUpgraded).Name);
            Assert.Equal("libdowngraded 2.0~rc1 -> 1.9", Assert.Single(h1.PackagesDowngraded).ToString());
            Assert.Equal(new[] { "haproxy.service" }, h1.ServicesStarted);
            Assert.Equal(new[] { "nginx.service" }, h1.ServicesStopped);
            Assert.Equal(new[] { "haproxy.service" }, h1.ServicesEnabled);
            Assert.Equal(new[] { "nginx.service" }, h1.ServicesDisabled);
            var disk = Assert.Single(h1.DiskChanges);
            Assert.Equal(("/", 40, 93, 53), (disk.Mount, disk.BeforePercent, disk.AfterPercent, disk.DeltaPoints));
            Assert.True(h1.KernelChanged);
            Assert.True(h1.Rebooted);
            Assert.Contains("disk /: 40% -> 93% (+53 points)", h1.Describe());

            Assert.Equal(HostSnapshotChange.Unchanged, diff.Hosts.Single(h => h.HostName == "h2").Change);
            Assert.Equal(HostSnapshotChange.Added, diff.Hosts.Single(h => h.HostName == "h3").Change);

            var text = new StringWriter();
            SnapshotTextView.RenderDiff(diff, text);
            Assert.Contains(" 1 host unchanged:\n   h2\n", text.ToString());
            Assert.Contains("3 hosts compared (#1 -> #2): 1 changed, 1 unchanged", text.ToString());
        }

        [Fact]
        public void ASectionUnavailableOnOneSideIsNotedNotDiffed()
        {
            var before = SnapshotScript.Parse("h", RunScriptHere());
            var after = SnapshotScript.Parse("h", RunScriptHere());
            after.Packages.Clear();
            after.Unavailable[HostSnapshot.SectionPackages] = "neither dpkg-query nor rpm is installed";
            var d = SnapshotComparison.CompareHost("h", before, after, 100);
            Assert.Empty(d.PackagesRemoved);
            Assert.Contains("packages: unavailable now (neither dpkg-query nor rpm is installed)", d.Notes);
        }

        [Theory]
        [InlineData("1.0", "1.0", 0)]
        [InlineData("1.0", "1.1", -1)]
        [InlineData("1.10", "1.9", 1)]
        [InlineData("1:1.0", "2.0", 1)]
        [InlineData("1.0~rc1", "1.0", -1)]
        [InlineData("1.0a", "1.0", 1)]
        [InlineData("2.36-9+deb12u4", "2.36-9+deb12u7", -1)]
        [InlineData("9.2p1-2+deb12u2", "9.2p1-2+deb12u3", -1)]
        public void VersionsCompareAsDpkgDoes(string a, string b, int sign)
        {
            Assert.Equal(sign, Math.Sign(SnapshotComparison.CompareVersions(a, b)));
            Assert.Equal(-sign, Math.Sign(SnapshotComparison.CompareVersions(b, a)));
        }

        [Fact]
        public void DfMountPointsMayHoldSpacesAndPseudoFileSystemsAreLeftOut()
        {
            var disks = SnapshotScript.Df("Filesystem 1024-blocks Used Available Capacity Mounted on\n" +
                                          "/dev/sda1 1000 420 580 42% /\n" +
                                          "proc 0 0 0 - /proc\n" +
                                          "/dev/sdb1 2000 200 1800 10% /mnt/my disk\n");
            Assert.Equal(new[] { "/", "/mnt/my disk" }, disks.Select(d => d.Mount));
            Assert.Equal(42, disks[0].UsePercent);
        }
    }

    /// <summary>Snapshots of real fleet hosts, stored in and read back from a history database.</summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class SnapshotFleetTests
    {
        private readonly SshFleet _fleet;

        public SnapshotFleetTests(SshFleet fleet) => _fleet = fleet;

        [Fact]
        public async Task CaptureStoreListShowAndDiffOnRealHosts()
        {
            var request = new FleetCommandRequest
            {
                SshConfigPath = _fleet.SshConfigPath,
                ControlDirectory = Path.Combine(_fleet.ControlDirectory, "snap"),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };
            request.Selection.Hosts.AddRange(new[] { _fleet.Hosts[0], _fleet.Hosts[1], _fleet.RefusedHost });
            var target = FleetEngine.Resolve(request, _ => null);
            var first = await FleetSnapshots.CaptureAsync(target, request);
            var second = await FleetSnapshots.CaptureAsync(target, request);

            Assert.Equal(new[] { _fleet.Hosts[0], _fleet.Hosts[1], _fleet.RefusedHost }, first.Hosts.Select(h => h.HostName));
            var h = first.Hosts[0];
            Assert.Equal(SnapshotHostStatus.Captured, h.Status);
            Assert.StartsWith("Linux ", h.Kernel);
            Assert.NotEmpty(h.Packages);
            Assert.NotEmpty(h.Disks);
            Assert.True(h.MemoryTotalKb > 0);
            // Every section is there or says why not (the test hosts run without systemd).
            foreach (var section in new[] { HostSnapshot.SectionServices })
                Assert.True(h.ServiceManager != null || h.Unavailable.ContainsKey(section));
            Assert.Equal(SnapshotHostStatus.Unreachable, first.Hosts[2].Status);

            using var folder = new TempDirectory();
            using var store = HistoryStore.Open(Path.Combine(folder.Path, "history.db"));
            var id1 = store.SaveSnapshot(first);
            var id2 = store.SaveSnapshot(second);
            Assert.Equal(new[] { id2, id1 }, store.ListSnapshots().Select(s => s.Id));
            Assert.Equal((3, 2), (store.ListSnapshots()[0].HostCount, store.ListSnapshots()[0].CapturedCount));

            var back = store.GetSnapshot(id1)!;
            var b = back.Hosts[0];
            Assert.Equal(h.Packages, b.Packages);
            Assert.Equal(h.Kernel, b.Kernel);
            Assert.Equal(h.Unavailable, b.Unavailable);
            Assert.Equal(h.Disks.Select(d => (d.Mount, d.UsePercent)), b.Disks.Select(d => (d.Mount, d.UsePercent)));
            Assert.Equal(h.MemoryTotalKb, b.MemoryTotalKb);
            Assert.Equal(SnapshotHostStatus.Unreachable, back.Hosts[2].Status);

            var diff = SnapshotComparison.Compare(back, store.GetSnapshot(id2)!, diskThresholdPoints: 100);
            Assert.Equal(HostSnapshotChange.Unchanged, diff.Hosts.Single(x => x.HostName == _fleet.Hosts[0]).Change);
            Assert.Equal(HostSnapshotChange.NotComparable, diff.Hosts.Single(x => x.HostName == _fleet.RefusedHost).Change);
            Assert.True(store.DeleteSnapshot(id1));
            Assert.Null(store.GetSnapshot(id1));
        }
    }

    public sealed class SnapshotSchemaTests
    {
        [Fact]
        public void AVersionTwoDatabaseGainsTheSnapshotTablesAndKeepsItsRuns()
        {
            using var folder = new TempDirectory();
            var path = Path.Combine(folder.Path, "history.db");
            // A version 2 file as HerdPS wrote it then (no snapshot tables), with one run.
            HistoryTestData.Execute(path, HistorySchemaTests.VersionOneDatabase + @"
                ALTER TABLE results ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE results ADD COLUMN tags   TEXT NOT NULL DEFAULT '[]';
                CREATE INDEX runs_by_watch ON runs (watch_id, iteration) WHERE watch_id IS NOT NULL;
                DELETE FROM results; DELETE FROM runs;
                INSERT INTO runs (kind, command, selection, started_utc) VALUES ('exec', 'true', '', '2026-01-01T00:00:00.0000000Z');
                PRAGMA user_version = 2;");
            using (var store = HistoryStore.Open(path, new HistoryStoreOptions { Retention = null }))
            {
                Assert.Single(store.ListRuns(new HistoryQuery()));
                Assert.Empty(store.ListSnapshots());
                store.SaveSnapshot(new FleetSnapshot { TakenUtc = DateTime.UtcNow, Hosts = { new HostSnapshot { HostName = "x", Status = SnapshotHostStatus.Failed } } });
            }
            Assert.Equal(HistorySchema.CurrentVersion, HistoryTestData.Scalar(path, "PRAGMA user_version"));
            Assert.Equal(7, HistorySchema.CurrentVersion);
            Assert.Equal(1, HistoryTestData.Scalar(path, "SELECT count(*) FROM snapshot_hosts"));
        }
    }
}
