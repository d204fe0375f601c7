using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// What only the SQLite file does (its mode, WAL, ticks, closing the file); what every backend does is in
    /// <see cref="HistoryBackendContract"/>, run against SQLite and PostgreSQL.
    /// </summary>
    public class HistoryStoreTests : IDisposable
    {
        private readonly TempDirectory _folder = new TempDirectory();
        private readonly ITestOutputHelper _output;

        public HistoryStoreTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _folder.Dispose();

        private string DbPath => InFolder("history.db");

        private string InFolder(string name) => Path.Combine(_folder.Path, name);

        [Fact]
        public void EveryResultFieldRoundTrips()
        {
            var full = new FleetResult
            {
                HostName = "web-01",
                Command = "cat /etc/motd",
                Status = FleetStatus.Failed,
                ExitCode = 3,
                StdOut = "line one\r\nzweite Zeile: äöü ß\n日本語 🐑 e\u0301\n",
                StdErr = "warning: ☃\n",
                Truncated = true,
                StartTime = new DateTime(2026, 2, 28, 9, 15, 1, DateTimeKind.Utc).AddTicks(1234567),
                Duration = TimeSpan.FromTicks(12_345_678),
                Attempts = 3,
                ErrorKind = FleetErrorKind.CommandTimeout,
                ErrorMessage = "timed out after 30 s — retried",
                OutputHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                Groups = new[] { "web", "prod-ü" },
                Tags = new[] { "nginx", "debian12" },
            };
            var neverRan = new FleetResult
            {
                HostName = "db-02",
                Command = "cat /etc/motd",
                Status = FleetStatus.Unreachable,
                ExitCode = null,
                StdOut = "",
                StdErr = "",
                StartTime = Now,
                Duration = TimeSpan.Zero,
                Attempts = 2,
                ErrorKind = FleetErrorKind.ConnectionRefused,
                ErrorMessage = null,
                OutputHash = "",
            };

            long id;
            using (var store = HistoryStore.Open(DbPath))
                id = Record(store, "cat /etc/motd", "group=web,db", Now, "exec", full, neverRan);

            using (var store = HistoryStore.Open(DbPath))
            {
                var read = store.ReadResults(id).ToList();
                Assert.Equal(new[] { "db-02", "web-01" }, read.Select(r => r.HostName));
                AssertSameResult(neverRan, read[0]);
                AssertSameResult(full, read[1]);
            }
        }

        private static void AssertSameResult(FleetResult expected, FleetResult actual)
        {
            Assert.Equal(expected.HostName, actual.HostName);
            Assert.Equal(expected.Command, actual.Command);
            Assert.Equal(expected.Status, actual.Status);
            Assert.Equal(expected.ExitCode, actual.ExitCode);
            Assert.Equal(expected.StdOut, actual.StdOut);
            Assert.Equal(expected.StdErr, actual.StdErr);
            Assert.Equal(expected.Truncated, actual.Truncated);
            Assert.Equal(expected.StartTime, actual.StartTime);
            Assert.Equal(DateTimeKind.Utc, actual.StartTime.Kind);
            Assert.Equal(expected.Duration, actual.Duration);
            Assert.Equal(expected.Attempts, actual.Attempts);
            Assert.Equal(expected.ErrorKind, actual.ErrorKind);
            Assert.Equal(expected.ErrorMessage, actual.ErrorMessage);
            Assert.Equal(expected.OutputHash, actual.OutputHash);
            Assert.Equal(expected.Groups, actual.Groups);
            Assert.Equal(expected.Tags, actual.Tags);
        }

        [Fact]
        public void SinceInLocalTimeIsConvertedToUtc()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                long id = Record(store, "uptime", "all", Now);
                Assert.Single(store.ListRuns(new HistoryQuery { Since = Now.AddSeconds(-1).ToLocalTime() }));
                Assert.Empty(store.ListRuns(new HistoryQuery { Since = Now.AddSeconds(1).ToLocalTime() }));
                Assert.Equal(id, store.ListRuns(new HistoryQuery { Since = Now.ToLocalTime() }).Single().Id);
            }
        }

        [Fact]
        public void DefaultRetentionIsThirtyDays()
        {
            Assert.Equal(TimeSpan.FromDays(30), new HistoryStoreOptions().Retention);
        }

        [Fact]
        public void DatabaseIsWalWithTheCurrentSchemaVersion()
        {
            using (HistoryStore.Open(DbPath))
            {
                using (var raw = RawConnection(DbPath))
                using (var command = raw.CreateCommand())
                {
                    command.CommandText = "PRAGMA journal_mode";
                    Assert.Equal("wal", command.ExecuteScalar() as string);
                }
                Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            }
        }

        [Fact]
        public void FolderAndFileAreOwnerOnlyOnUnix()
        {
            if (OperatingSystem.IsWindows()) return; // %LOCALAPPDATA%'s ACL does this on Windows
            string folder = InFolder("nested");
            string path = Path.Combine(folder, "herd", "history.db");
            using (var store = HistoryStore.Open(path))
                Record(store, "id", "all", Now, results: Result("h1"));

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }

        [Fact]
        public void UncreatableLocationIsAHistoryError()
        {
            File.WriteAllText(InFolder("not-a-folder"), "");
            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(Path.Combine(InFolder("not-a-folder"), "history.db")));
            Assert.Contains("can't create the history database", error.Message);
        }

        [Fact]
        public void GroupsAndTagsReadBackAsRecordedAndADamagedPackIsAHistoryError()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                var r = Result("h1");
                r.Groups = new[] { "web", "quote\"and\\slash", "ü", "" };
                r.Tags = Array.Empty<string>();
                var id = Record(store, "tags", "all", Now, results: r);
                var back = store.ReadResults(id).Single();
                Assert.Equal(r.Groups, back.Groups);
                Assert.Empty(back.Tags);
            }
            // A pack with a damaged byte, or cut short (a damaged page, a copy cut off): an error naming the file and the
            // run, never a guess.
            var packed = HistoryTestData.Blob(DbPath, "SELECT data FROM result_packs");
            foreach (var damaged in new[] { Flip(packed, packed.Length / 2), packed.Take(packed.Length / 2).ToArray(), packed.Take(packed.Length - 1).ToArray() })
            {
                HistoryTestData.Execute(DbPath, $"UPDATE result_packs SET data = X'{Convert.ToHexString(damaged)}'");
                using (var store = HistoryStore.Open(DbPath))
                {
                    var run = store.ListRuns(new HistoryQuery()).Single().Id;
                    var error = Assert.Throws<HistoryException>(() => store.ReadResults(run).ToList());
                    Assert.Contains($"run {run}: a stored batch of results can't be read", error.Message);
                    Assert.Contains(DbPath, error.Message);
                }
            }
            // One from a newer HerdPS (another format): said so.
            HistoryTestData.Execute(DbPath, $"UPDATE result_packs SET data = X'09{Convert.ToHexString(packed, 1, packed.Length - 1)}'");
            using (var store = HistoryStore.Open(DbPath))
            {
                var error = Assert.Throws<HistoryException>(() => store.ReadResults(store.ListRuns(new HistoryQuery()).Single().Id).ToList());
                Assert.Contains("format 9, unknown to this HerdPS; a newer HerdPS recorded it", error.Message);
            }
        }

        private static byte[] Flip(byte[] bytes, int at)
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x20;
            return copy;
        }

        [Fact]
        public void StoreClosesTheFileOnDisposeSoItCanBeMovedAside()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                Record(store, "id", "all", Now, results: Result("h1"));
                foreach (var _ in store.ReadResults(1)) { }
            }
            File.Move(DbPath, DbPath + ".moved");
            Assert.False(File.Exists(DbPath + "-wal")); // the last connection closed: checkpointed and removed
        }

        [Fact]
        public void RecordingTwoHundredResultsIsQuick()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                Record(store, "warm-up", "all", Now, results: Result("h"));
                var stopwatch = Stopwatch.StartNew();
                var run = store.BeginRun("exec", "cat /etc/os-release", "all", Now);
                for (int i = 0; i < 200; i++) run.Add(Result($"host-{i:D3}", stdout: new string('x', 500) + "\n"));
                run.Complete(Now);
                stopwatch.Stop();
                _output.WriteLine($"200 results (500 B stdout each), default batch size: {stopwatch.Elapsed.TotalMilliseconds:0.0} ms");
                Assert.Equal(200, store.ReadResults(run.Id).Count());
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
            }
        }

        private static long[] Ids(System.Collections.Generic.IEnumerable<HistoryRunRecord> runs) => runs.Select(r => r.Id).ToArray();
    }
}
