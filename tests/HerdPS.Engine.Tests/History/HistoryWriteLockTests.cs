using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Tests.Transport;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// The turn writers of one SQLite history take (<see cref="HistoryWriteLock"/>), held by a real second process: a
    /// holder killed with SIGKILL blocks nobody, a writer past its busy timeout gets a clear error and leaves nothing
    /// locked, readers never wait for it, and the lock file is as private and as hard to redirect as the database.
    /// (Many writer processes at once: EightWriterProcessesWithParallelWritersLoseNothing in the contract suite.)
    /// </summary>
    public sealed class HistoryWriteLockTests : IDisposable
    {
        private const int Mode0600 = 0x180;
        private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly ITestOutputHelper _output;

        public HistoryWriteLockTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _dir.Dispose();

        private string DbPath => Path.Combine(_dir.Path, "history.db");

        /// <summary>A HistoryWriter process that has taken the write lock (it said "held").</summary>
        private async Task<Process> HoldLockInAnotherProcess()
        {
            string writerDll = Path.Combine(AppContext.BaseDirectory, "HerdPS.HistoryWriter.dll");
            var holder = Process.Start(ProcessRunner.StartInfo(HistoryBackendContract.DotnetHost(), new[] { "exec", writerDll, "--hold-write-lock", DbPath }))!;
            var said = holder.StandardOutput.ReadLineAsync();
            if (await Task.WhenAny(said, Task.Delay(Guard)) != said || await said != "held")
            {
                if (!holder.HasExited) holder.Kill();
                Assert.Fail($"the holder never took the lock: {holder.StandardError.ReadToEnd()}");
            }
            return holder;
        }

        /// <summary>Whether the lock can be had at once, asked as another writer would (a zero timeout: one try, no wait).</summary>
        private bool LockIsFree()
        {
            try
            {
                return new HistoryWriteLock(DbPath, TimeSpan.Zero).Run(() => true);
            }
            catch (HistoryException)
            {
                return false;
            }
        }

        [Fact]
        public async Task AHolderKilledWithSigkillDoesNotBlockTheNextWriter()
        {
            using (var store = HistoryStore.Open(DbPath)) Record(store, "before", "all", Now, results: Result("h1"));
            var holder = await HoldLockInAnotherProcess();
            try
            {
                Assert.False(LockIsFree()); // the holder really holds it

                holder.Kill(); // SIGKILL: no managed code runs, the kernel closes its files
                Assert.True(holder.WaitForExit((int)Guard.TotalMilliseconds));
                Assert.Equal(128 + 9, holder.ExitCode);

                // Another writer gets in (the busy timeout here is only a guard against hanging).
                using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BusyTimeout = Guard }))
                {
                    Record(store, "after", "all", Now.AddMinutes(1), results: Result("h1"));
                    Assert.Equal(new[] { "after", "before" }, store.ListRuns(new HistoryQuery()).Select(r => r.Command));
                }
            }
            finally
            {
                if (!holder.HasExited) holder.Kill();
                holder.Dispose();
            }
        }

        [Fact]
        public async Task AWriterPastItsTimeoutGetsAClearErrorReadersDontWaitAndNoLockIsLeft()
        {
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(300) }))
            {
                Record(store, "before", "all", Now, results: Result("h1"));
                var holder = await HoldLockInAnotherProcess();
                try
                {
                    var error = Assert.Throws<HistoryException>(() => store.BeginRun("exec", "blocked", "all", Now.AddMinutes(1)));
                    _output.WriteLine(error.Message);
                    Assert.Equal(DbPath, error.DatabasePath);
                    Assert.StartsWith($"{DbPath}: waited more than 0.3 s for its turn to write", error.Message);
                    Assert.Contains($"held the history's write lock ({DbPath}-lock) all that time", error.Message);

                    // Reading takes no turn: the history can be looked at while a writer holds it.
                    var run = Assert.Single(store.ListRuns(new HistoryQuery()));
                    Assert.Equal("h1", Assert.Single(store.ReadResults(run.Id)).HostName);

                    // The holder lets go; the given-up waiter's thread then takes the lock and drops it at once.
                    holder.StandardInput.WriteLine();
                    Assert.Equal("released", await holder.StandardOutput.ReadLineAsync());
                    Assert.True(holder.WaitForExit((int)Guard.TotalMilliseconds));
                    Assert.Equal(0, holder.ExitCode);
                }
                finally
                {
                    if (!holder.HasExited) holder.Kill();
                    holder.Dispose();
                }

                var free = Stopwatch.StartNew();
                while (!LockIsFree()) // the abandoned waiter lets go as soon as it had its turn
                {
                    Assert.True(free.Elapsed < Guard, "the lock stayed taken after its holder and every waiter left");
                    await Task.Delay(20);
                }
                Record(store, "after", "all", Now.AddMinutes(2), results: Result("h1"));
                Assert.Equal(new[] { "after", "before" }, store.ListRuns(new HistoryQuery()).Select(r => r.Command));
            }
        }

        [Fact]
        public void TheLockFileIsCreatedPrivateAndANarrowedModeIsRestored()
        {
            using (var store = HistoryStore.Open(DbPath)) Record(store, "x", "all", Now, results: Result("h1"));
            Assert.True(File.Exists(DbPath + "-lock"));
            Assert.Equal(Mode0600, PrivateFolderTests.Mode(DbPath + "-lock"));
            Assert.Equal(0, new FileInfo(DbPath + "-lock").Length); // a lock, never data

            File.Delete(DbPath + "-lock"); // removed while nothing runs: the next write creates it again, private
            using (var store = HistoryStore.Open(DbPath))
            {
                File.Delete(DbPath + "-lock"); // and removed between two writes of an open store
                Record(store, "y", "all", Now, results: Result("h1"));
                Assert.Equal(Mode0600, PrivateFolderTests.Mode(DbPath + "-lock"));

                File.SetUnixFileMode(DbPath + "-lock", (UnixFileMode)0x1B6); // 0666: anyone could have held it
                Record(store, "z", "all", Now, results: Result("h1"));
                Assert.Equal(Mode0600, PrivateFolderTests.Mode(DbPath + "-lock"));
                Assert.Equal(3, store.ListRuns(new HistoryQuery()).Count());
            }
        }

        [Fact]
        public void ASymbolicLinkAtTheLockFilesNameIsNeverFollowed()
        {
            var elsewhere = Path.Combine(_dir.Path, "elsewhere");
            File.WriteAllText(elsewhere, "not yours to lock");
            File.SetUnixFileMode(elsewhere, (UnixFileMode)0x1A4); // 0644

            // Planted before the history is opened: refused at open, like a planted -wal.
            File.CreateSymbolicLink(DbPath + "-lock", elsewhere);
            var atOpen = Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath).Dispose());
            Assert.Contains("history.db-lock beside it is a symbolic link", atOpen.Message);

            // Planted while a store is open: the next write refuses to take its turn through it.
            File.Delete(DbPath + "-lock");
            using (var store = HistoryStore.Open(DbPath))
            {
                File.Delete(DbPath + "-lock");
                File.CreateSymbolicLink(DbPath + "-lock", elsewhere);
                var atWrite = Assert.Throws<HistoryException>(() => store.BeginRun("exec", "x", "all", Now));
                Assert.StartsWith($"{DbPath}: history.db-lock beside it is a symbolic link", atWrite.Message);
                Assert.Empty(store.ListRuns(new HistoryQuery())); // nothing written
            }
            Assert.Equal("not yours to lock", File.ReadAllText(elsewhere));
            Assert.Equal(0x1A4, PrivateFolderTests.Mode(elsewhere)); // not narrowed through the link either
        }

        [Fact]
        public void ALockFileAnotherUserOwnsIsRefusedNamingTheOwner()
        {
            using (var store = HistoryStore.Open(DbPath)) Record(store, "x", "all", Now, results: Result("h1"));
            var chown = ProcessRunner.Run("chown", new[] { OtherLocalUser.Uid.ToString(), DbPath + "-lock" }, TimeSpan.FromSeconds(10));
            Assert.True(chown.ExitCode == 0, chown.StdErr);
            var refused = Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath).Dispose());
            Assert.Contains($"history.db-lock beside it is owned by uid {OtherLocalUser.Uid}", refused.Message);
        }
    }
}
