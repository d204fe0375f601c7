using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Files;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Files
{
    /// <summary>herd diff against real sshd hosts whose files really differ (separate mount namespaces).</summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class FileDriftTests
    {
        private readonly DriftFleet _drift;

        public FileDriftTests(SshFleet fleet)
        {
            _drift = DriftFleet.For(fleet);
        }

        private async Task<FileDriftReport> Compare(string relative, FileDriftOptions? options = null, params char[] hosts)
        {
            var request = _drift.Request(hosts);
            return await FileDrift.CompareAsync(DriftFleet.Target(request), request, DriftFleet.Remote(relative), options ?? new FileDriftOptions());
        }

        private static RemoteFileResult Host(FileDriftReport r, char id) => r.Results.Single(x => x.HostName == "drift-" + id);

        [Fact]
        public async Task IdenticalCopiesGroupAndTheOutlierGetsADiffAgainstTheNorm()
        {
            var report = await Compare("app.conf", null, 'a', 'b', 'c', 'd', 'e');

            Assert.Equal(new[] { "drift-a", "drift-b", "drift-c", "drift-d", "drift-e" }, report.Results.Select(r => r.HostName));
            var norm = Assert.Single(report.Groups, g => g.IsNorm);
            Assert.Equal(new[] { "drift-a", "drift-b", "drift-c" }, norm.HostNames);
            Assert.Equal(DriftFleet.Sha256(DriftFleet.AppConf), norm.Sha256);
            foreach (var id in "abc")
            {
                Assert.Equal(RemoteFileStatus.Ok, Host(report, id).Status);
                Assert.True(Host(report, id).IsNorm);
                Assert.Equal(1, Host(report, id).GroupId);
                Assert.Equal("", Host(report, id).Diff);
            }
            var d = Host(report, 'd');
            Assert.False(d.IsNorm);
            Assert.Equal(2, d.GroupId);
            Assert.Equal(DriftFleet.Sha256(DriftFleet.AppConfOutlier), d.Sha256);
            Assert.Equal(DriftFleet.AppConfOutlier.Length, d.Length);
            Assert.Contains("--- norm (3 hosts)\n+++ drift-d\n", d.Diff);
            Assert.Contains("\n-port=80\n+port=8080\n", d.Diff);
            Assert.Equal(RemoteFileStatus.Missing, Host(report, 'e').Status);
            Assert.Null(Host(report, 'e').GroupId);
            Assert.Equal((4, 1, 1), (report.Compared, report.Differing, report.Unread));

            var text = new StringWriter();
            FileDriftTextView.Render(report, text);
            var view = text.ToString();
            Assert.Contains(" 3 hosts identical:\n   drift-a,drift-b,drift-c\n", view);
            Assert.Contains(" 1 host differs:\n   drift-d\n   --- norm (3 hosts)\n", view);
            Assert.Contains(" 1 host without the file:\n   drift-e: no such file\n", view);
            Assert.Contains("4 files compared, 1 differs; 1 host not read", view);
        }

        [Fact]
        public async Task AnEmptyFileIsNotAMissingOne()
        {
            var report = await Compare("empty.conf", null, 'a', 'b');
            var a = Host(report, 'a');
            Assert.Equal(RemoteFileStatus.Ok, a.Status);
            Assert.Equal(0, a.Length);
            Assert.Equal(DriftFleet.Sha256(Array.Empty<byte>()), a.Sha256);
            var b = Host(report, 'b');
            Assert.Equal(RemoteFileStatus.Missing, b.Status);
            Assert.Null(b.Length);
            Assert.Null(b.Sha256);
        }

        [Fact]
        public async Task ADirectoryAndAnUnreadableFileArePerHostStatuses()
        {
            var dir = await Compare("conf.d", null, 'a', 'b');
            Assert.Equal(RemoteFileStatus.IsDirectory, Host(dir, 'a').Status);
            Assert.Equal(RemoteFileStatus.Missing, Host(dir, 'b').Status);

            // Mode 000, owned by root, read as the unprivileged login user.
            var secret = await Compare("secret.conf", null, 'a', 'b');
            Assert.Equal(RemoteFileStatus.PermissionDenied, Host(secret, 'a').Status);
            Assert.Contains("permission denied", Host(secret, 'a').ErrorMessage);
            Assert.Equal(RemoteFileStatus.Ok, Host(secret, 'b').Status);
        }

        [Fact]
        public async Task BinaryFilesCompareByHashWithoutATextDiff()
        {
            var report = await Compare("bin.dat", null, 'a', 'b', 'c');
            Assert.All(report.Results, r => Assert.True(r.IsBinary));
            Assert.Equal(DriftFleet.Sha256(DriftFleet.Binary), Host(report, 'a').Sha256);
            Assert.Equal(DriftFleet.Sha256(DriftFleet.BinaryOther), Host(report, 'c').Sha256);
            Assert.False(Host(report, 'c').IsNorm);
            Assert.Equal("", Host(report, 'c').Diff);
            var text = new StringWriter();
            FileDriftTextView.Render(report, text);
            Assert.Contains("binary: compared by hash only", text.ToString());
        }

        [Fact]
        public async Task FilesOverTheCapAreHashedInFullAndSaySo()
        {
            var report = await Compare("big.dat", new FileDriftOptions { MaxFileBytes = 1024 * 1024 }, 'a', 'b', 'c');
            var big = DriftFleet.BigFile();
            Assert.All(report.Results, r => Assert.Equal(RemoteFileStatus.TooLarge, r.Status));
            Assert.All(report.Results, r => Assert.Equal(big.Length, r.Length));
            Assert.Equal(DriftFleet.Sha256(big), Host(report, 'a').Sha256);
            big[big.Length - 1] ^= 1;
            Assert.Equal(DriftFleet.Sha256(big), Host(report, 'c').Sha256); // the last byte counted: hashed to the end
            Assert.Equal(new[] { "drift-a", "drift-b" }, report.Groups[0].HostNames);
            Assert.Equal("", Host(report, 'c').Diff);
            var text = new StringWriter();
            FileDriftTextView.Render(report, text);
            Assert.Contains("larger than the 1 MiB cap: compared by hash only", text.ToString());
        }

        [Fact]
        public async Task HostilePathsAreReadAsLiteralNamesAndRunNothing()
        {
            foreach (var hostile in _drift.HostilePaths)
            {
                var report = await Compare(hostile, null, 'a', 'b');
                var a = Host(report, 'a');
                Assert.True(a.Status == RemoteFileStatus.Ok, $"{hostile}: {a.Status} {a.ErrorMessage}");
                Assert.Equal(DriftFleet.Sha256("literal:" + hostile), a.Sha256);
                Assert.Equal(RemoteFileStatus.Missing, Host(report, 'b').Status);
            }
            // And where no such file exists, nothing runs either.
            var nowhere = await Compare($"nope/$(touch {_drift.Marker}-6)`touch {_drift.Marker}-7`", null, 'a');
            Assert.Equal(RemoteFileStatus.Missing, Host(nowhere, 'a').Status);
            for (var i = 1; i <= 7; i++) Assert.False(File.Exists($"{_drift.Marker}-{i}"), $"marker {i} was created: a path ran as code");
        }

        [Fact]
        public async Task ARelativePathStartingWithADashIsAFileNotAnOption()
        {
            // Relative paths start in the login user's home, which isolated hosts share with the machine.
            var name = "-n-herd-dash-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            var home = Path.Combine("/home", SshFleet.RootModeUser);
            var file = Path.Combine(home, name);
            File.WriteAllText(file, "dash\n");
            try
            {
                var request = _drift.Request('a');
                var report = await FileDrift.CompareAsync(DriftFleet.Target(request), request, name, new FileDriftOptions());
                var a = Assert.Single(report.Results);
                Assert.Equal(RemoteFileStatus.Ok, a.Status);
                Assert.Equal(DriftFleet.Sha256("dash\n"), a.Sha256);
            }
            finally
            {
                File.Delete(file);
            }
        }

        [Fact]
        public async Task SaveKeepsEveryReadableCopyInAFolderPerHostAndNoTemporaryFiles()
        {
            using var temp = new TempDirectory();
            var save = Path.Combine(temp.Path, "copies");
            var report = await Compare("app.conf", new FileDriftOptions { SaveDirectory = save }, 'a', 'd', 'e');
            Assert.Equal(DriftFleet.AppConf, File.ReadAllText(Path.Combine(save, "drift-a", "app.conf")));
            Assert.Equal(DriftFleet.AppConfOutlier, File.ReadAllText(Path.Combine(save, "drift-d", "app.conf")));
            Assert.Equal(Path.Combine(save, "drift-a", "app.conf"), Host(report, 'a').SavedPath);
            Assert.False(Directory.Exists(Path.Combine(save, "drift-e")) && Directory.EnumerateFileSystemEntries(Path.Combine(save, "drift-e")).Any());
            Assert.Null(Host(report, 'e').SavedPath);
            Assert.Equal(new[] { "app.conf", "app.conf" }, Directory.EnumerateFiles(save, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray());
        }
    }
}
