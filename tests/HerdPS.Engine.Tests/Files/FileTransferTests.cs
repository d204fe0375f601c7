using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;

namespace HerdPS.Tests.Files
{
    /// <summary>herd push / pull against isolated sshd hosts: results, layout, verification, no half-written files.</summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class FileTransferTests
    {
        private readonly DriftFleet _drift;

        public FileTransferTests(SshFleet fleet)
        {
            _drift = DriftFleet.For(fleet);
        }

        private static async Task<List<FileTransferResult>> All(IAsyncEnumerable<FileTransferResult> results)
        {
            var list = new List<FileTransferResult>();
            await foreach (var r in results) list.Add(r);
            return list.OrderBy(r => r.HostName, StringComparer.Ordinal).ToList();
        }

        private async Task<List<FileTransferResult>> Push(string local, string remote, FilePushOptions options, params char[] hosts)
        {
            var request = _drift.Request(hosts);
            return await All(FileTransfer.PushAsync(DriftFleet.Target(request), request, local, remote, options));
        }

        private string OnHost(char id, string relative) => Path.Combine(_drift[id].FilesDirectory!, relative);

        private static string Unique(string stem) => stem + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        [Fact]
        public async Task PushWritesNewFilesRefusesExistingOnesWithoutForceAndVerifiesTheChecksum()
        {
            using var temp = new TempDirectory();
            var local = temp.Write("target.conf", "new content\n");
            var results = await Push(local, DriftFleet.Remote("push/target.conf"), new FilePushOptions(), 'a', 'b');

            var a = results[0];
            Assert.Equal(FileTransferStatus.Transferred, a.Status);
            Assert.True(a.Verified);
            Assert.Equal(DriftFleet.Sha256("new content\n"), a.Sha256);
            Assert.Equal(12, a.Bytes);
            Assert.Equal("new content\n", File.ReadAllText(OnHost('a', "push/target.conf")));
            // A new file gets the login user's umask default, never the temporary file's 0600.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                File.GetUnixFileMode(OnHost('a', "push/target.conf")));

            var b = results[1];
            Assert.Equal(FileTransferStatus.Exists, b.Status);
            Assert.False(b.Succeeded);
            Assert.Equal("old\n", File.ReadAllText(OnHost('b', "push/target.conf")));

            var forced = Assert.Single(await Push(local, DriftFleet.Remote("push/target.conf"), new FilePushOptions { Force = true }, 'b'));
            Assert.Equal(FileTransferStatus.Transferred, forced.Status);
            Assert.Equal("new content\n", File.ReadAllText(OnHost('b', "push/target.conf")));
            // Replacing keeps the existing file's mode (0640 here), so a private file never becomes readable.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(OnHost('b', "push/target.conf")));
            Assert.Empty(Directory.GetFiles(OnHost('b', "push"), ".*"));

            // Put things back for the other tests.
            File.WriteAllText(OnHost('b', "push/target.conf"), "old\n");
            File.Delete(OnHost('a', "push/target.conf"));
        }

        [Fact]
        public async Task PushIntoADirectoryUsesTheLocalNameAndModeIsApplied()
        {
            using var temp = new TempDirectory();
            var name = Unique("mode") + ".sh";
            var local = temp.Write(name, "#!/bin/sh\necho hi\n");
            var r = Assert.Single(await Push(local, DriftFleet.Remote("push/"), new FilePushOptions { Mode = "0750" }, 'c'));
            Assert.Equal(FileTransferStatus.Transferred, r.Status);
            var remote = OnHost('c', "push/" + name);
            Assert.Equal("#!/bin/sh\necho hi\n", File.ReadAllText(remote));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
                File.GetUnixFileMode(remote));
            File.Delete(remote);
        }

        [Fact]
        public async Task ALargeFileStreamsThroughAndArrivesIntact()
        {
            using var temp = new TempDirectory();
            var name = Unique("large");
            var data = new byte[12 * 1024 * 1024];
            new Random(7).NextBytes(data);
            var local = Path.Combine(temp.Path, name);
            File.WriteAllBytes(local, data);
            var r = Assert.Single(await Push(local, DriftFleet.Remote("push/" + name), new FilePushOptions(), 'd'));
            Assert.Equal(FileTransferStatus.Transferred, r.Status);
            Assert.True(r.Verified);
            Assert.Equal(DriftFleet.Sha256(data), DriftFleet.Sha256(File.ReadAllBytes(OnHost('d', "push/" + name))));
            File.Delete(OnHost('d', "push/" + name));
        }

        [Fact]
        public async Task APushThatCannotWriteLeavesNothingBehind()
        {
            using var temp = new TempDirectory();
            var local = temp.Write("x.conf", "x\n");
            var r = Assert.Single(await Push(local, DriftFleet.Remote("ro/x.conf"), new FilePushOptions(), 'e'));
            Assert.Equal(FileTransferStatus.NotWritable, r.Status);
            Assert.Empty(Directory.EnumerateFileSystemEntries(OnHost('e', "ro")));

            var missingDir = Assert.Single(await Push(local, DriftFleet.Remote("no/such/dir/x.conf"), new FilePushOptions(), 'e'));
            Assert.Equal(FileTransferStatus.NoSuchDirectory, missingDir.Status);
        }

        [Fact]
        public async Task ContentThatDoesNotMatchTheExpectedChecksumIsDiscardedNotRenamedIntoPlace()
        {
            // What a cut connection looks like to the remote script: stdin ends early, so the bytes that arrived
            // don't hash to what we announced. Sent on purpose here: the content and the announced hash differ.
            var request = _drift.Request('e');
            var target = DriftFleet.Target(request);
            var name = Unique("partial");
            var command = RemoteFileScripts.WriteCommand(DriftFleet.Remote("push/" + name), DriftFleet.Sha256("the whole file\n"), false, null, name);
            using var run = FleetEngine.Start(target, command, request, null, default, raw: true,
                prepare: (_, invocation) => invocation.Stdin = System.Text.Encoding.UTF8.GetBytes("the wh"));
            var result = Assert.Single(await run.ReadAllAsync().ToListAsync());
            Assert.Equal(RemoteFileScripts.ExitChecksumMismatch, result.ExitCode);
            Assert.Empty(Directory.EnumerateFileSystemEntries(OnHost('e', "push")));
        }

        [Fact]
        public async Task PullWritesOneFolderPerHostVerifiedAndSkipsExistingCopiesWithoutForce()
        {
            using var temp = new TempDirectory();
            var request = _drift.Request('a', 'd', 'e');
            var results = await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, DriftFleet.Remote("app.conf"), temp.Path, new FilePullOptions()));

            Assert.Equal(FileTransferStatus.Transferred, results[0].Status);
            Assert.True(results[0].Verified);
            Assert.Equal(Path.Combine(temp.Path, "drift-a", "app.conf"), results[0].LocalPath);
            Assert.Equal(DriftFleet.AppConf, File.ReadAllText(Path.Combine(temp.Path, "drift-a", "app.conf")));
            Assert.Equal(DriftFleet.AppConfOutlier, File.ReadAllText(Path.Combine(temp.Path, "drift-d", "app.conf")));
            Assert.Equal(FileTransferStatus.Missing, results[2].Status);
            Assert.False(File.Exists(Path.Combine(temp.Path, "drift-e", "app.conf")));
            Assert.Equal(2, Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories).Count()); // no temporary files

            var again = await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, DriftFleet.Remote("app.conf"), temp.Path, new FilePullOptions()));
            Assert.Equal(FileTransferStatus.Exists, again[0].Status);
            var forced = await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, DriftFleet.Remote("app.conf"), temp.Path, new FilePullOptions { Force = true }));
            Assert.Equal(FileTransferStatus.Transferred, forced[0].Status);
        }

        [Fact]
        public async Task PullOfAnUnreadableFileIsPermissionDenied()
        {
            using var temp = new TempDirectory();
            var request = _drift.Request('a');
            var r = Assert.Single(await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, DriftFleet.Remote("secret.conf"), temp.Path, new FilePullOptions())));
            Assert.Equal(FileTransferStatus.PermissionDenied, r.Status);
            Assert.Empty(Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories));
        }
    }

    internal static class AsyncEnumerableTestExtensions
    {
        public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> source)
        {
            var list = new List<T>();
            await foreach (var x in source) list.Add(x);
            return list;
        }
    }
}
