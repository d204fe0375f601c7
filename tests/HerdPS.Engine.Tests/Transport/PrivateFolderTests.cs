using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// The folders herd keeps private things in, attacked by a real second local user who gets there first: a
    /// folder of theirs (mode 0777) or a symbolic link where herd's default folder would be. herd must neither
    /// write there nor change anything there, and nothing it writes may be readable by that user.
    /// </summary>
    public sealed class PrivateFolderTests : IDisposable
    {
        private const int Mode0700 = 0x1C0, Mode0755 = 0x1ED, Mode0777 = 0x1FF;
        private readonly TempDirectory _dir = new TempDirectory();

        /// <summary>A shared temporary folder (1777, like /tmp) both users can create in.</summary>
        private readonly string _shared;

        public PrivateFolderTests()
        {
            _shared = Path.Combine(_dir.Path, "tmp");
            Directory.CreateDirectory(_shared);
            File.SetUnixFileMode(_dir.Path, (UnixFileMode)Mode0755);
            File.SetUnixFileMode(_shared, (UnixFileMode)0x3FF); // 1777
        }

        public void Dispose() => _dir.Dispose();

        internal static uint Owner(string path) => uint.Parse(Stat("%u", path));
        internal static int Mode(string path) => Convert.ToInt32(Stat("%a", path), 8);

        private static string Stat(string format, string path)
        {
            var r = ProcessRunner.Run("stat", new[] { "-c", format, "--", path }, TimeSpan.FromSeconds(10));
            Assert.True(r.ExitCode == 0, r.StdErr);
            return r.StdOut.Trim();
        }

        /// <summary>Records every inotify event in a folder: herd must cause none there, not even a file made and unlinked at once.</summary>
        internal sealed class FolderWatch : IDisposable
        {
            private readonly FileSystemWatcher _watcher;
            public readonly ConcurrentQueue<string> Events = new ConcurrentQueue<string>();

            public FolderWatch(string folder)
            {
                _watcher = new FileSystemWatcher(folder) { IncludeSubdirectories = true, NotifyFilter = (NotifyFilters)0x17F };
                _watcher.Created += (_, e) => Events.Enqueue("created " + e.FullPath);
                _watcher.Changed += (_, e) => Events.Enqueue("changed " + e.FullPath);
                _watcher.Deleted += (_, e) => Events.Enqueue("deleted " + e.FullPath);
                _watcher.Renamed += (_, e) => Events.Enqueue("renamed " + e.FullPath);
                _watcher.EnableRaisingEvents = true;
            }

            public void Dispose() => _watcher.Dispose();
        }

        /// <summary>Folders named &lt;planted&gt;.XXXXXX (not GetDirectories' "name.*", which also matches "name").</summary>
        private static string[] FreshBeside(string planted) =>
            Directory.GetDirectories(Path.GetDirectoryName(planted)!).Where(d => d.StartsWith(planted + ".", StringComparison.Ordinal)).ToArray();

        [Fact]
        public void ADefaultFolderAnotherUserMadeFirstIsLeftAloneAndAFreshPrivateOneIsUsed()
        {
            var planted = Path.Combine(_shared, "herd-victim");
            OtherLocalUser.RunOk("mkdir -m 777 \"$1\"", planted);
            using var watch = new FolderWatch(planted);

            var chosen = PrivateDirectory.EnsureDefault(planted, planted + ".", out var notice);

            Assert.NotEqual(planted, chosen);
            Assert.StartsWith(planted + ".", chosen);
            Assert.Equal((0u, Mode0700), (Owner(chosen), Mode(chosen)));
            Assert.Equal((OtherLocalUser.Uid, Mode0777), (Owner(planted), Mode(planted))); // not chmodded, not taken
            Assert.NotNull(notice);
            Assert.Contains(planted, notice);
            Assert.Contains($"is owned by uid {OtherLocalUser.Uid}, not by you (uid 0)", notice);
            Assert.Contains("mode 0777", notice);
            Assert.Contains(chosen, notice);
            // The other user can't even list the fresh folder, let alone open what is put there.
            File.WriteAllText(Path.Combine(chosen, "probe"), "secret");
            var look = OtherLocalUser.Run("ls \"$1\" || cat \"$1/probe\"", chosen);
            Assert.NotEqual(0, look.ExitCode);
            Assert.Contains("Permission denied", look.StdErr);
            Assert.Empty(watch.Events);
        }

        [Fact]
        public void ASymbolicLinkInPlaceOfTheDefaultFolderIsNeitherFollowedNorChmodded()
        {
            var victim = Path.Combine(_dir.Path, "victim");
            Directory.CreateDirectory(victim);
            File.SetUnixFileMode(victim, (UnixFileMode)Mode0755);
            var planted = Path.Combine(_shared, "herd-victim");
            OtherLocalUser.RunOk("ln -s \"$1\" \"$2\"", victim, planted);
            using var watch = new FolderWatch(victim);

            var chosen = PrivateDirectory.EnsureDefault(planted, planted + ".", out var notice);

            Assert.NotEqual(planted, chosen);
            Assert.Equal(Mode0755, Mode(victim)); // the old code chmodded the link's target to 0700
            Assert.Empty(Directory.GetFileSystemEntries(victim));
            Assert.Contains($"{planted} is a symbolic link (to {victim})", notice);
            Assert.Empty(watch.Events);
        }

        [Fact]
        public void AConfiguredFolderThatIsNotPrivateIsRefusedNamingTheFolderAndWhatIsWrong()
        {
            var others = Path.Combine(_shared, "theirs");
            OtherLocalUser.RunOk("mkdir -m 700 \"$1\"", others);
            var open = Path.Combine(_dir.Path, "open");
            Directory.CreateDirectory(open);
            File.SetUnixFileMode(open, (UnixFileMode)Mode0755);
            var mine = Path.Combine(_dir.Path, "mine");
            Directory.CreateDirectory(mine, (UnixFileMode)Mode0700);
            var link = Path.Combine(_dir.Path, "link");
            File.CreateSymbolicLink(link, mine);

            PrivateDirectoryException Refused(string path) =>
                Assert.Throws<PrivateDirectoryException>(() => PrivateDirectory.EnsureConfigured(path, "$HERD_SPILL_DIR", "large command output"));

            var owner = Refused(others);
            Assert.Equal(others, owner.Path);
            Assert.Contains($"$HERD_SPILL_DIR names {others}, which is owned by uid {OtherLocalUser.Uid}, not by you (uid 0)", owner.Message);
            Assert.Contains($"{open}, which has mode 0755: group or others can open it", Refused(open).Message);
            Assert.Contains($"{link}, which is a symbolic link (to {mine})", Refused(link).Message);
            Assert.Equal(Mode0755, Mode(open)); // refused, never changed
            Assert.Equal(Mode0700, Mode(others));

            // A private folder of ours is used as it is; a missing one is made 0700 with its missing parents.
            Assert.Equal(mine, PrivateDirectory.EnsureConfigured(mine, "$HERD_SPILL_DIR", "x"));
            Assert.Equal(mine, PrivateDirectory.EnsureDefault(mine, mine + ".", out var none));
            Assert.Null(none);
            var made = Path.Combine(_dir.Path, "new", "spill");
            Assert.Equal(made, PrivateDirectory.EnsureConfigured(made, "$HERD_SPILL_DIR", "x"));
            Assert.Equal((Mode0700, Mode0700), (Mode(made), Mode(Path.GetDirectoryName(made)!)));
        }

        [Fact]
        public void SpillFilesAreMade0600WithOExclAndUnlinked()
        {
            var spillDir = Path.Combine(_dir.Path, "spill");
            var spill = new OutputSpill(spillDir, threshold: 10);
            using var watch = new FolderWatch(_dir.Path);
            using (var file = spill.CreateFile())
            {
                // Still open, already unlinked; the handle says what it was made as.
                Assert.Empty(Directory.GetFileSystemEntries(spillDir));
                var status = UnixFiles.GetStatus(file.SafeFileHandle);
                Assert.True(status.IsRegularFile);
                Assert.Equal(0u, status.OwnerId);
                Assert.Equal(0x180, status.Permissions);
            }
            // O_EXCL: a name that exists, a symbolic link included, is never opened.
            var target = Path.Combine(_dir.Path, "target");
            File.WriteAllText(target, "keep");
            var link = Path.Combine(_dir.Path, "link");
            File.CreateSymbolicLink(link, target);
            Assert.Throws<IOException>(() => UnixFiles.CreateNewFile(link, 0x180, FileAccess.Write, 1));
            Assert.Equal("keep", File.ReadAllText(target));
        }

        [Fact]
        public async Task HerdExecNeverSpillsIntoAFolderAnotherUserMadeAndTheyCanReadNothingOfTheOutput()
        {
            var planted = Path.Combine(_shared, "herd-" + Environment.UserName);
            OtherLocalUser.RunOk("mkdir -m 777 \"$1\"", planted);
            using var watch = new FolderWatch(planted);
            var go = Path.Combine(_dir.Path, "go");
            var history = Path.Combine(_dir.Path, "history", "history.db");
            var env = new Dictionary<string, string> { ["TMPDIR"] = _shared, ["HERD_HISTORY"] = history };
            // 600 KB of output (past the 256 KiB spill threshold), then wait until the test has looked around.
            var command = $"head -c 600000 /dev/zero | tr '\\0' s; echo; echo SECRET-TOKEN; while [ ! -e {go} ]; do sleep 0.05; done";
            using var herd = System.Diagnostics.Process.Start(HerdProcess.StartInfo(new[] { "exec", command }, env))!;
            herd.StandardInput.Close();
            var stdout = herd.StandardOutput.ReadToEndAsync();
            var stderr = herd.StandardError.ReadToEndAsync();
            try
            {
                // The output is spilled once herd made its fresh folder beside the planted one.
                string? fresh = null;
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (fresh == null && DateTime.UtcNow < deadline && !herd.HasExited)
                {
                    fresh = FreshBeside(planted).SingleOrDefault();
                    if (fresh == null) await Task.Delay(20);
                }
                Assert.True(fresh != null, "herd never made a fresh spill folder: " + (herd.HasExited ? await stderr : "still running"));
                Assert.Equal((0u, Mode0700), (Owner(fresh!), Mode(fresh!)));
                // Mid-run, as the other user: the folder can't be listed, and herd's open files can't be reached.
                var look = OtherLocalUser.Run("ls -a \"$1\"; ls /proc/$2/fd; cat /proc/$2/fd/* ", fresh!, herd.Id.ToString());
                Assert.DoesNotContain("SECRET-TOKEN", look.StdOut);
                Assert.DoesNotContain("sss", look.StdOut);
                Assert.Contains($"cannot open directory '{fresh}': Permission denied", look.StdErr);
                File.WriteAllText(go, "");
                using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(60));
                await herd.WaitForExitAsync(cts.Token);
            }
            finally
            {
                if (!herd.HasExited) herd.Kill(entireProcessTree: true);
            }
            var err = await stderr;
            Assert.True(herd.ExitCode == 0, err);
            Assert.Contains("SECRET-TOKEN", await stdout);
            Assert.Contains($"the folder for large output {planted} is owned by uid {OtherLocalUser.Uid}, not by you (uid 0) and has mode 0777", err);
            Assert.Empty(watch.Events); // nothing was ever created in the planted folder, not even for an instant
            Assert.Empty(Directory.GetFileSystemEntries(planted));
            Assert.Equal((OtherLocalUser.Uid, Mode0777), (Owner(planted), Mode(planted)));
            Assert.Empty(FreshBeside(planted)); // the fresh folder went at exit
            // The history holds the output too: the other user can't open it or its folder.
            var read = OtherLocalUser.Run("cat \"$1\" || ls \"$2\"", history, Path.GetDirectoryName(history)!);
            Assert.NotEqual(0, read.ExitCode);
            Assert.DoesNotContain("SECRET-TOKEN", read.StdOut);
            Assert.Equal(Mode0700, Mode(Path.GetDirectoryName(history)!));
            Assert.Equal(0x180, Mode(history));
        }

        [Fact]
        public async Task AConfiguredSpillFolderThatIsNotPrivateStopsHerdBeforeAnythingRuns()
        {
            var planted = Path.Combine(_shared, "spill");
            OtherLocalUser.RunOk("mkdir -m 777 \"$1\"", planted);
            var marker = Path.Combine(_dir.Path, "ran");
            var history = Path.Combine(_dir.Path, "history", "history.db");
            var o = await HerdProcess.RunAsync(new[] { "exec", "touch " + marker },
                new Dictionary<string, string> { ["HERD_SPILL_DIR"] = planted, ["HERD_HISTORY"] = history });
            Assert.Equal(2, o.ExitCode);
            Assert.Contains($"herd: $HERD_SPILL_DIR names {planted}, which is owned by uid {OtherLocalUser.Uid}, not by you (uid 0) and has mode 0777", o.StdErr);
            Assert.False(File.Exists(marker));
            Assert.False(File.Exists(history)); // nothing recorded either: the run was never begun
            Assert.Equal(Mode0777, Mode(planted));
        }
    }
}
