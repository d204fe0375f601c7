using System;
using System.IO;
using System.Linq;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>Migrations, and the files the store must refuse rather than reset.</summary>
    public class HistorySchemaTests : IDisposable
    {
        private readonly TempDirectory _folder = new TempDirectory();
        private readonly ITestOutputHelper _output;

        public HistorySchemaTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _folder.Dispose();

        private string DbPath => InFolder("history.db");

        private string InFolder(string name) => Path.Combine(_folder.Path, name);

        // The version 1 schema exactly as HerdPS wrote it then; kept here verbatim, independent of the
        // migration code, so this test keeps proving that a real old file upgrades.
        private const string VersionOneDatabase = @"
            PRAGMA journal_mode = WAL;
            PRAGMA application_id = 1214607972;
            CREATE TABLE runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, command TEXT NOT NULL, selection TEXT NOT NULL,
                started_utc TEXT NOT NULL, finished_utc TEXT, host_count INTEGER NOT NULL DEFAULT 0,
                succeeded_count INTEGER NOT NULL DEFAULT 0, failed_count INTEGER NOT NULL DEFAULT 0,
                watch_id INTEGER, iteration INTEGER);
            CREATE INDEX runs_by_started ON runs (started_utc);
            CREATE INDEX runs_by_command_selection ON runs (command, selection);
            CREATE TABLE results (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, host TEXT NOT NULL,
                status TEXT NOT NULL, exit_code INTEGER, stdout TEXT NOT NULL, stderr TEXT NOT NULL,
                duration_ms REAL NOT NULL, output_hash TEXT NOT NULL, truncated INTEGER NOT NULL DEFAULT 0,
                error_kind TEXT NOT NULL DEFAULT 'None', error_message TEXT, attempts INTEGER NOT NULL DEFAULT 1,
                start_utc TEXT NOT NULL);
            CREATE INDEX results_by_run ON results (run_id, host);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO runs VALUES (7, 'exec', 'uname -r', 'group=pis', '2026-02-27T14:30:00.0000000Z',
                '2026-02-27T14:30:02.5000000Z', 2, 1, 1, NULL, NULL);
            INSERT INTO results VALUES (7, 'pi-garage', 'Succeeded', 0, '6.1.0-rpi7' || char(10), '', 812.5, 'abc', 0,
                'None', NULL, 1, '2026-02-27T14:30:00.1000000Z');
            INSERT INTO results VALUES (7, 'pi-backyard', 'Unreachable', NULL, '', '', 3000, '', 0,
                'ConnectTimeout', 'no route to host', 2, '2026-02-27T14:30:00.2000000Z');
            PRAGMA user_version = 1;";

        [Fact]
        public void VersionOneDatabaseIsUpgradedAndKeepsItsRuns()
        {
            Execute(DbPath, VersionOneDatabase);

            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { Retention = null }))
            {
                var run = store.GetRun(7)!;
                Assert.Equal("uname -r", run.Command);
                Assert.Equal(new DateTime(2026, 2, 27, 14, 30, 2, 500, DateTimeKind.Utc), run.FinishedUtc);
                Assert.Equal(2, run.HostCount);

                var results = store.ReadResults(7).ToList();
                Assert.Equal(new[] { "pi-backyard", "pi-garage" }, results.Select(r => r.HostName));
                Assert.Equal(FleetStatus.Unreachable, results[0].Status);
                Assert.Null(results[0].ExitCode);
                Assert.Equal(FleetErrorKind.ConnectTimeout, results[0].ErrorKind);
                Assert.Equal("no route to host", results[0].ErrorMessage);
                Assert.Equal("6.1.0-rpi7\n", results[1].StdOut);
                Assert.Equal(TimeSpan.FromMilliseconds(812.5), results[1].Duration);
                Assert.Empty(results[1].Groups); // recorded before version 2 kept groups
                Assert.Empty(results[1].Tags);
                Assert.Equal("", results[1].Transport); // recorded before version 4 kept the transport

                // New runs use the new columns, beside the old rows.
                var tagged = Result("pi-garage");
                tagged.Tags = new[] { "arm64" };
                tagged.Transport = "sshnet";
                long id = Record(store, "uname -r", "group=pis", Now, results: tagged);
                var recorded = store.ReadResults(id).Single();
                Assert.Equal(new[] { "arm64" }, recorded.Tags);
                Assert.Equal("sshnet", recorded.Transport);
            }
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM pragma_table_info('results') WHERE name = 'transport'"));

            Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM pragma_table_info('results') WHERE name = 'groups'"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM pragma_table_info('results') WHERE name = 'tags'"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_by_watch'"));
        }

        [Fact]
        public void NewDatabaseGetsEveryMigrationAndTheHerdApplicationId()
        {
            using (HistoryStore.Open(DbPath)) { }
            Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            Assert.Equal(0x48657264, Scalar(DbPath, "PRAGMA application_id"));
            foreach (var index in new[] { "runs_by_started", "runs_by_command_selection", "results_by_run", "runs_by_watch" })
                Assert.Equal(1, Scalar(DbPath, $"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"));
        }

        [Fact]
        public void DatabaseFromANewerHerdIsRefusedAndLeftAlone()
        {
            using (HistoryStore.Open(DbPath)) { }
            Execute(DbPath, "PRAGMA user_version = 99");

            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath));
            _output.WriteLine(error.Message);
            Assert.Contains("created by a newer HerdPS", error.Message);
            Assert.Contains(DbPath, error.Message);
            Assert.Equal(DbPath, error.DatabasePath);
            Assert.Equal(99, Scalar(DbPath, "PRAGMA user_version"));
        }

        [Fact]
        public void SomeoneElsesSqliteDatabaseIsRefusedAndLeftAlone()
        {
            Execute(DbPath, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");

            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath));
            _output.WriteLine(error.Message);
            Assert.Contains("not a HerdPS history", error.Message);
            Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"));
            using (var raw = RawConnection(DbPath))
            using (var command = raw.CreateCommand())
            {
                command.CommandText = "PRAGMA journal_mode";
                Assert.Equal("delete", command.ExecuteScalar() as string); // not switched to WAL either
            }
        }

        [Fact]
        public void SomeoneElsesDatabaseThatAlsoUsesUserVersionIsRefused()
        {
            Execute(DbPath, "CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = 2;");
            Assert.Contains("not a HerdPS history", Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath)).Message);
        }

        [Fact]
        public void FileOfGarbageIsReportedNotReset()
        {
            var garbage = new byte[8192];
            new Random(42).NextBytes(garbage);
            File.WriteAllBytes(DbPath, garbage);

            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath));
            AssertSaysMoveAside(error);
            Assert.Equal(garbage, File.ReadAllBytes(DbPath));
        }

        [Fact]
        public void FileCutInsideTheHeaderIsReportedNotReset()
        {
            using (var store = HistoryStore.Open(DbPath))
                Record(store, "uptime", "all", Now, results: Result("h1"));
            using (var file = new FileStream(DbPath, FileMode.Open)) file.SetLength(60);

            AssertSaysMoveAside(Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath)));
            Assert.Equal(60, new FileInfo(DbPath).Length);
        }

        [Fact]
        public void TruncatedDatabaseIsReportedAtTheDailyCheckWhenOpened()
        {
            long halfLength = WriteDatabaseAndCutItInHalf();
            var nextDay = new HistoryStoreOptions { UtcNow = () => DateTime.UtcNow.AddDays(2) };

            AssertSaysMoveAside(Assert.Throws<HistoryException>(() => HistoryStore.Open(DbPath, nextDay)));
            Assert.Equal(halfLength, new FileInfo(DbPath).Length);
        }

        [Fact]
        public void TruncatedDatabaseIsReportedWhenReadBeforeTheDailyCheck()
        {
            long halfLength = WriteDatabaseAndCutItInHalf();

            var error = Assert.Throws<HistoryException>(() =>
            {
                using (var store = HistoryStore.Open(DbPath))
                {
                    foreach (var run in store.ListRuns(new HistoryQuery()))
                        foreach (var _ in store.ReadResults(run.Id)) { }
                }
            });
            AssertSaysMoveAside(error);
            Assert.Equal(halfLength, new FileInfo(DbPath).Length);
        }

        private long WriteDatabaseAndCutItInHalf()
        {
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BatchSize = 50 }))
            {
                for (int r = 0; r < 40; r++)
                    Record(store, $"cat log {r}", "all", Now.AddMinutes(r), results:
                        Enumerable.Range(0, 20).Select(h => Result($"host-{h:D2}", stdout: new string((char)('a' + r % 26), 400) + "\n")).ToArray());
            }
            long halfLength = new FileInfo(DbPath).Length / 2;
            using (var file = new FileStream(DbPath, FileMode.Open)) file.SetLength(halfLength);
            return halfLength;
        }

        private void AssertSaysMoveAside(HistoryException error)
        {
            _output.WriteLine(error.ToString());
            Assert.Contains(DbPath, error.Message);
            Assert.Contains("Move it aside", error.Message);
            Assert.Contains("damaged", error.Message);
        }
    }
}
