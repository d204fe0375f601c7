using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Transport;
using HerdPS.Transport;

namespace HerdPS.Tests.Files
{
    /// <summary>
    /// Local copies of remote files (pull, diff --save) against the real isolated drift hosts: they keep the remote
    /// file's permission bits masked by the umask, never more; two hosts whose copies would share a path are refused;
    /// a pull killed with SIGKILL leaves a partial file named as ours, and the next pull into that folder removes it.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class LocalCopySafetyTests : IDisposable
    {
        private const int Mode0600 = 0x180, Mode0640 = 0x1A0, Mode0644 = 0x1A4, Mode0700 = 0x1C0, Mode0755 = 0x1ED, Mode4755 = 0x9ED;
        private readonly DriftFleet _drift;
        private readonly TempDirectory _temp = new TempDirectory();
        private readonly string _modes = "modes-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        public LocalCopySafetyTests(SshFleet fleet)
        {
            _drift = DriftFleet.For(fleet);
            // On drift-a: files of the login user with the modes under test (the login user can read even 0600).
            var folder = Path.Combine(_drift['a'].FilesDirectory!, _modes);
            Directory.CreateDirectory(folder);
            foreach (var (name, mode) in new[] { ("m600.conf", Mode0600), ("m640.conf", Mode0640), ("m755.sh", Mode0755), ("m4755.sh", Mode4755) })
            {
                var path = Path.Combine(folder, name);
                File.WriteAllText(path, name + " content\n");
                _drift.Fleet.ChownToLoginUser(path); // before the mode: chown clears the setuid bit
                File.SetUnixFileMode(path, (UnixFileMode)mode);
            }
        }

        public void Dispose()
        {
            _temp.Dispose();
            try { Directory.Delete(Path.Combine(_drift['a'].FilesDirectory!, _modes), recursive: true); } catch (IOException) { }
        }

        private string Remote(string name) => DriftFleet.Remote(_modes + "/" + name);

        private static async Task<List<T>> All<T>(IAsyncEnumerable<T> results)
        {
            var list = new List<T>();
            await foreach (var r in results) list.Add(r);
            return list;
        }

        [Fact]
        public async Task PulledFilesKeepTheRemoteModeMaskedByTheUmaskAndNeverWider()
        {
            var umask = UnixFiles.Umask();
            var outDir = Path.Combine(_temp.Path, "pulled");
            // An older copy that is more open than the remote file: replaced with -Force, it must not stay 0644.
            var old = Path.Combine(outDir, "drift-a", "m600.conf");
            Directory.CreateDirectory(Path.GetDirectoryName(old)!);
            File.WriteAllText(old, "old copy\n");
            File.SetUnixFileMode(old, (UnixFileMode)Mode0644);
            // The setuid script arrives as a plain 0755 one: setuid, setgid and sticky bits are never copied.
            Assert.Equal(Mode4755, PrivateFolderTests.Mode(Path.Combine(_drift['a'].FilesDirectory!, _modes, "m4755.sh")));
            foreach (var (name, remoteMode) in new[] { ("m600.conf", Mode0600), ("m640.conf", Mode0640), ("m755.sh", Mode0755), ("m4755.sh", Mode0755) })
            {
                var request = _drift.Request('a');
                var r = Assert.Single(await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, Remote(name), outDir, new FilePullOptions { Force = true })));
                Assert.True(r.Status == FileTransferStatus.Transferred, r.ErrorMessage);
                Assert.Equal(name + " content\n", File.ReadAllText(r.LocalPath!));
                Assert.Equal(remoteMode & ~umask, PrivateFolderTests.Mode(r.LocalPath!));
            }
            Assert.Equal(Mode0600, PrivateFolderTests.Mode(old));
        }

        [Fact]
        public async Task DiffSaveCopiesKeepTheRemoteModeToo()
        {
            var umask = UnixFiles.Umask();
            foreach (var (name, remoteMode) in new[] { ("m600.conf", Mode0600), ("m640.conf", Mode0640), ("m755.sh", Mode0755) })
            {
                var request = _drift.Request('a');
                var saveDir = Path.Combine(_temp.Path, "saved-" + name);
                var report = await FileDrift.CompareAsync(DriftFleet.Target(request), request, Remote(name),
                    new FileDriftOptions { SaveDirectory = saveDir, MaxFileBytes = 1 << 20 });
                var r = Assert.Single(report.Results);
                Assert.True(r.Status == RemoteFileStatus.Ok, r.ErrorMessage);
                Assert.Equal(remoteMode & ~umask, PrivateFolderTests.Mode(r.SavedPath!));
            }
        }

        [Fact]
        public async Task HerdPullAndDiffSaveUnderUmask077GiveOwnerOnlyCopies()
        {
            var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(_drift.Fleet.ControlDirectory, "modes-cli") };
            async Task<HerdProcess.Outcome> Herd(params string[] args)
            {
                // The user's umask applies: herd is started the way a shell with `umask 077` starts it.
                var psi = HerdProcess.StartInfo(args, env);
                psi.ArgumentList.Insert(0, psi.FileName); // sh -c 'umask 077; exec "$0" "$@"' herd args...
                psi.ArgumentList.Insert(0, "umask 077; exec \"$0\" \"$@\"");
                psi.ArgumentList.Insert(0, "-c");
                psi.FileName = "/bin/sh";
                var o = await ProcessRunner.RunAsync(psi, TimeSpan.FromMinutes(2));
                return new HerdProcess.Outcome(o.ExitCode, o.StdOut, o.StdErr);
            }
            var outDir = Path.Combine(_temp.Path, "cli");
            foreach (var (name, expected) in new[] { ("m640.conf", Mode0600), ("m755.sh", Mode0700) })
            {
                var pull = await Herd("pull", "-F", _drift.ConfigPath, "-H", "drift-a", Remote(name), outDir);
                Assert.True(pull.ExitCode == 0, pull.StdErr + pull.StdOut);
                Assert.Equal(expected, PrivateFolderTests.Mode(Path.Combine(outDir, "drift-a", name)));
                var save = await Herd("diff", "-F", _drift.ConfigPath, "-H", "drift-a", Remote(name), "--save", Path.Combine(outDir, "saved"));
                Assert.True(save.ExitCode == 0, save.StdErr + save.StdOut);
                Assert.Equal(expected, PrivateFolderTests.Mode(Path.Combine(outDir, "saved", "drift-a", name)));
            }
        }

        /// <summary>An ssh config where the hosts ".." and "_.." both reach drift-a; their copies would share the folder "_..".</summary>
        private string CollidingConfig()
        {
            var a = _drift['a'];
            var path = Path.Combine(_temp.Path, "colliding_ssh_config");
            File.WriteAllText(path,
                $"Host .. _..\n  HostName 127.0.0.1\n  Port {a.Port}\n  HostKeyAlias {a.Alias}\n  UserKnownHostsFile {a.KnownHostsPath}\n" +
                $"Host *\nInclude {_drift.ConfigPath}\n");
            return path;
        }

        [Fact]
        public async Task HostsWhoseCopiesWouldCollideAreRefusedAndTheOthersStillCopy()
        {
            var request = _drift.Request('b');
            request.SshConfigPath = CollidingConfig();
            request.Selection.Hosts.Add("..");
            request.Selection.Hosts.Add("_..");
            var outDir = Path.Combine(_temp.Path, "collide");
            var results = (await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, DriftFleet.Remote("app.conf"), outDir,
                new FilePullOptions { Force = true }))).ToDictionary(r => r.HostName);

            Assert.Equal(FileTransferStatus.Transferred, results["drift-b"].Status);
            var shared = Path.Combine(outDir, "_..", "app.conf");
            foreach (var (host, other) in new[] { ("..", "_.."), ("_..", "..") })
            {
                Assert.Equal(FileTransferStatus.Failed, results[host].Status);
                Assert.StartsWith($"'{host}' and '{other}' would be copied to the same local file {shared}", results[host].ErrorMessage);
            }
            Assert.False(Directory.Exists(Path.Combine(outDir, "_..")));

            // diff --save: both are still read and compared, neither is saved.
            var saveDir = Path.Combine(_temp.Path, "collide-save");
            var report = await FileDrift.CompareAsync(DriftFleet.Target(request), request, DriftFleet.Remote("app.conf"),
                new FileDriftOptions { SaveDirectory = saveDir, MaxFileBytes = 1 << 20 });
            var byHost = report.Results.ToDictionary(r => r.HostName);
            Assert.Equal(RemoteFileStatus.Ok, byHost["drift-b"].Status);
            Assert.Equal(RemoteFileStatus.Failed, byHost[".."].Status);
            Assert.Contains($"read, but not saved: '..' and '_..' would be copied to the same local file {Path.Combine(saveDir, "_..", "app.conf")}", byHost[".."].ErrorMessage);
            Assert.Equal(DriftFleet.Sha256(DriftFleet.AppConf), byHost["_.."].Sha256);
            Assert.False(Directory.Exists(Path.Combine(saveDir, "_..")));
        }

        [Fact]
        public void CollisionsAreFoundForEveryNameThatMapsToTheSameFolder()
        {
            var root = _temp.Path;
            var c = LocalCopy.Collisions(root, new[] { "a:b", "a_b", "web01", "..", "_..", "fe80::1", "fe80__1", "fe80:_1" }, "/etc/hosts");
            Assert.Equal(new[] { "..", "_..", "a:b", "a_b", "fe80::1", "fe80:_1", "fe80__1" }, c.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Contains("'fe80::1' and 'fe80__1', 'fe80:_1' would be copied", c["fe80::1"]);
            Assert.Empty(LocalCopy.Collisions(root, new[] { "web01", "web02", "web01" }, "/etc/hosts"));
        }

        [Fact]
        public async Task APullKilledWithSigkillLeavesAPartialNamedWithItsPidAndTheNextPullRemovesIt()
        {
            // A remote file big enough (sparse) that the pull is still streaming when it is killed.
            var sparse = Path.Combine(_drift['a'].FilesDirectory!, _modes, "huge.dat");
            using (var f = new FileStream(sparse, FileMode.CreateNew)) f.SetLength(8L << 30);
            var outDir = Path.Combine(_temp.Path, "killed");
            var hostDir = Path.Combine(outDir, "drift-a");
            var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(_drift.Fleet.ControlDirectory, "kill-cli") };
            string partial;
            int killedPid;
            using (var herd = Process.Start(HerdProcess.StartInfo(new[] { "pull", "-F", _drift.ConfigPath, "-H", "drift-a", Remote("huge.dat"), outDir }, env))!)
            {
                killedPid = herd.Id;
                herd.StandardInput.Close();
                _ = herd.StandardOutput.ReadToEndAsync();
                var stderr = herd.StandardError.ReadToEndAsync();
                string? found = null;
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (found == null && !herd.HasExited && DateTime.UtcNow < deadline)
                {
                    found = Directory.Exists(hostDir) ? Directory.GetFiles(hostDir).FirstOrDefault(f => new FileInfo(f).Length > 0) : null;
                    if (found == null) await Task.Delay(10);
                }
                Assert.True(found != null, "no partial file appeared while pulling: " + (herd.HasExited ? await stderr : "timed out"));
                herd.Kill(); // SIGKILL: herd gets no chance to clean up
                await herd.WaitForExitAsync();
                partial = found!;
            }
            try
            {
                Assert.True(File.Exists(partial));
                Assert.Matches($@"^\.huge\.dat\.herd-partial-{killedPid}-[0-9a-f]{{12}}$", Path.GetFileName(partial));
                Assert.Equal(Mode0600, PrivateFolderTests.Mode(partial)); // partial content was never more open than 0600
                Assert.False(File.Exists(Path.Combine(hostDir, "huge.dat")));

                // Not to be touched: a partial of a live process (this one, written just now) and files that aren't ours.
                var live = Path.Combine(hostDir, $".other.conf.herd-partial-{Environment.ProcessId}-0123456789ab");
                File.WriteAllText(live, "in progress");
                var unrelated = Path.Combine(hostDir, ".keep");
                File.WriteAllText(unrelated, "");

                var request = _drift.Request('a');
                var r = Assert.Single(await All(FileTransfer.PullAsync(DriftFleet.Target(request), request, Remote("m640.conf"), outDir, new FilePullOptions())));
                Assert.Equal(FileTransferStatus.Transferred, r.Status);
                Assert.False(File.Exists(partial));
                Assert.True(File.Exists(live));
                Assert.True(File.Exists(unrelated));
                Assert.Equal(new[] { ".keep", Path.GetFileName(live), "m640.conf" }, Directory.GetFiles(hostDir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            }
            finally
            {
                File.Delete(sparse);
            }
        }
    }
}
