using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Transport;
using HerdPS.Transport;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// The history holds every run's output, so its folder and files are private, checked with lstat before SQLite
    /// opens anything: a real second local user may have planted the file, a companion or the folder, or be able
    /// to read an existing file.
    /// </summary>
    public sealed class HistoryPermissionTests : IDisposable
    {
        private const int Mode0600 = 0x180, Mode0644 = 0x1A4, Mode0700 = 0x1C0, Mode0755 = 0x1ED;
        private readonly TempDirectory _dir = new TempDirectory();

        public HistoryPermissionTests()
        {
            File.SetUnixFileMode(_dir.Path, (UnixFileMode)Mode0755); // the other user may pass through, not write
        }

        public void Dispose() => _dir.Dispose();

        private string Folder(string name, int mode = Mode0700)
        {
            var path = Path.Combine(_dir.Path, name);
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, (UnixFileMode)mode);
            return path;
        }

        private static void Chown(string path, uint uid)
        {
            var r = ProcessRunner.Run("chown", new[] { uid.ToString(), path }, TimeSpan.FromSeconds(10));
            Assert.True(r.ExitCode == 0, r.StdErr);
        }

        private static HistoryException Refused(string path) => Assert.Throws<HistoryException>(() => HistoryStore.Open(path).Dispose());

        [Fact]
        public void AFileOthersCouldReadIsNarrowedTo0600AndTheUserIsTold()
        {
            var path = Path.Combine(Folder("h", Mode0755), "history.db"); // a folder others may pass through
            using (var store = HistoryStore.Open(path)) Record(store, "echo SECRET", "all", Now, results: Result("h1", "SECRET\n"));
            File.SetUnixFileMode(path, (UnixFileMode)Mode0644);
            Assert.Contains("SECRET", OtherLocalUser.RunOk("cat \"$1\"", path)); // what the bug allowed

            var notices = new List<string>();
            void Listen(string m) { lock (notices) notices.Add(m); }
            PrivateDirectory.Notice += Listen;
            try
            {
                using (var store = HistoryStore.Open(path)) Assert.Single(store.ListRuns(new HistoryQuery()));
            }
            finally { PrivateDirectory.Notice -= Listen; }

            Assert.Equal(Mode0600, PrivateFolderTests.Mode(path));
            var notice = Assert.Single(notices, n => n.Contains(path));
            Assert.Contains($"{path} had mode 0644 (group or others could read the recorded output); herd made it 0600", notice);
            var read = OtherLocalUser.Run("cat \"$1\"", path);
            Assert.NotEqual(0, read.ExitCode);
            Assert.Contains("Permission denied", read.StdErr);
        }

        [Fact]
        public void ANewHistoryIsPrivateFromItsFirstByteAndTheOtherUserCanOpenNothingOfIt()
        {
            var path = Path.Combine(_dir.Path, "new", "herd", "history.db");
            using (var store = HistoryStore.Open(path))
            {
                Record(store, "echo SECRET", "all", Now, results: Result("h1", "SECRET\n"));
                var files = Directory.GetFiles(Path.GetDirectoryName(path)!);
                Assert.Contains(path + "-wal", files); // WAL mode: the output is in the -wal file until a checkpoint
                foreach (var f in files) Assert.Equal(Mode0600, PrivateFolderTests.Mode(f));
                var read = OtherLocalUser.Run("ls \"$1\"; cat \"$2\" \"$2-wal\" \"$2-shm\"", Path.GetDirectoryName(path)!, path);
                Assert.DoesNotContain("SECRET", read.StdOut);
                Assert.Contains("Permission denied", read.StdErr);
            }
            Assert.Equal(Mode0700, PrivateFolderTests.Mode(Path.GetDirectoryName(path)!));
            Assert.Equal(Mode0700, PrivateFolderTests.Mode(Path.GetDirectoryName(Path.GetDirectoryName(path))!));
        }

        [Fact]
        public void AFileOrCompanionAnotherUserOwnsIsRefusedNamingTheOwner()
        {
            var folder = Folder("owned");
            var path = Path.Combine(folder, "history.db");
            using (var store = HistoryStore.Open(path)) Record(store, "x", "all", Now, results: Result("h1"));
            Chown(path, OtherLocalUser.Uid);
            var file = Refused(path);
            Assert.Contains($"{path}: it is owned by uid {OtherLocalUser.Uid}, not by you (uid 0)", file.Message);
            Assert.Equal(OtherLocalUser.Uid, PrivateFolderTests.Owner(path)); // nothing changed

            // A planted -wal: SQLite would write every run's output into the other user's file.
            var other = Path.Combine(Folder("planted"), "history.db");
            File.WriteAllText(other + "-wal", "");
            Chown(other + "-wal", OtherLocalUser.Uid);
            var wal = Refused(other);
            Assert.Contains($"history.db-wal beside it is owned by uid {OtherLocalUser.Uid}", wal.Message);
            Assert.False(File.Exists(other) && new FileInfo(other).Length > 0);
        }

        [Fact]
        public void ASymbolicLinkAsTheFileOrTheFolderIsRefused()
        {
            var target = Path.Combine(Folder("real"), "elsewhere.db");
            File.WriteAllText(target, "");
            var linkFolder = Folder("links");
            var link = Path.Combine(linkFolder, "history.db");
            File.CreateSymbolicLink(link, target);
            Assert.Contains($"{link}: it is a symbolic link", Refused(link).Message);
            Assert.Equal(0, new FileInfo(target).Length);

            var folderLink = Path.Combine(_dir.Path, "folder-link");
            File.CreateSymbolicLink(folderLink, Folder("real2"));
            var path = Path.Combine(folderLink, "history.db");
            Assert.Contains($"its folder {folderLink} is a symbolic link", Refused(path).Message);
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dir.Path, "real2")));
        }

        [Fact]
        public void AFolderOthersCanWriteInOrAnotherUserOwnsIsRefused()
        {
            var open = Folder("open", 0x1FF);
            var e = Refused(Path.Combine(open, "history.db"));
            Assert.Contains($"its folder {open} has mode 0777: group or others can write in it", e.Message);
            Assert.Contains($"chmod 700 {open}", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(open));
            Assert.Equal(0x1FF, PrivateFolderTests.Mode(open));

            var theirs = Folder("theirs", Mode0755);
            Chown(theirs, OtherLocalUser.Uid);
            Assert.Contains($"its folder {theirs} is owned by uid {OtherLocalUser.Uid}, not by you (uid 0)", Refused(Path.Combine(theirs, "history.db")).Message);

            // A folder of ours that others may read but not write (a home folder, say) is fine: the files are 0600.
            var readable = Folder("readable", Mode0755);
            using (HistoryStore.Open(Path.Combine(readable, "history.db"))) { }
            Assert.Equal(Mode0755, PrivateFolderTests.Mode(readable));
        }
    }
}
