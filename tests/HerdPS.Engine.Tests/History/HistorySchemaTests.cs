using System;
using System.IO;
using System.Linq;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;
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
        internal const string VersionOneDatabase = @"
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
                Assert.Equal("", results[1].Transport); // recorded before version 5 kept the transport

                // New runs use the new columns, beside the old rows.
                var tagged = Result("pi-garage");
                tagged.Tags = new[] { "arm64" };
                tagged.Transport = "sshnet";
                long id = Record(store, "uname -r", "group=pis", Now, results: tagged);
                var recorded = store.ReadResults(id).Single();
                Assert.Equal(new[] { "arm64" }, recorded.Tags);
                Assert.Equal("sshnet", recorded.Transport);
            }
            Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            // The old rows and the new result are all in packs now; the table of rows is gone.
            Assert.Equal(3, Scalar(DbPath, "SELECT sum(result_count) FROM result_packs"));
            Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE name = 'results'"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_by_watch'"));
        }

        /// <summary>
        /// Version 3 kept every output in results.stdout: 150 hosts printing the same 20 KB were 150 copies. Version 4
        /// moves them into blobs, once per content and compressed, gives every run and snapshot a UUID (a watch's
        /// iterations their first's), and gives the freed space back to the disk.
        /// </summary>
        [Fact]
        public void VersionThreeOutputsMoveIntoBlobsOnceEachAndTheFileShrinks()
        {
            var same = HistoryBackendContract.PackageList(20_000, seed: 3);
            var sql = new System.Text.StringBuilder(VersionOneDatabase.Replace("PRAGMA user_version = 1;", "DELETE FROM results; DELETE FROM runs;"));
            sql.Append(@"
                ALTER TABLE results ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE results ADD COLUMN tags   TEXT NOT NULL DEFAULT '[]';
                CREATE INDEX runs_by_watch ON runs (watch_id, iteration) WHERE watch_id IS NOT NULL;
                CREATE TABLE snapshots (id INTEGER PRIMARY KEY, taken_utc TEXT NOT NULL, selection TEXT NOT NULL, host_count INTEGER NOT NULL, captured_count INTEGER NOT NULL);
                CREATE INDEX snapshots_by_taken ON snapshots (taken_utc);
                CREATE TABLE snapshot_hosts (snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE, host TEXT NOT NULL, status TEXT NOT NULL,
                    error_message TEXT, kernel TEXT, os_name TEXT, os_id TEXT, os_version TEXT, uptime_seconds REAL, package_manager TEXT,
                    packages TEXT NOT NULL DEFAULT '{}', service_manager TEXT, services TEXT NOT NULL DEFAULT '{}', disks TEXT NOT NULL DEFAULT '[]',
                    memory TEXT NOT NULL DEFAULT '{}', unavailable TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (snapshot_id, host));
                INSERT INTO snapshots VALUES (1, '2026-02-27T14:00:00.0000000Z', 'group=web', 1, 1);
                INSERT INTO snapshot_hosts (snapshot_id, host, status) VALUES (1, 'web-01', 'Captured');
                INSERT INTO runs VALUES (1, 'watch', 'rpm -qa', 'group=web', '2026-02-27T14:30:00.0000000Z', '2026-02-27T14:30:05.0000000Z', 150, 150, 0, 1, 1);
                INSERT INTO runs VALUES (2, 'watch', 'rpm -qa', 'group=web', '2026-02-27T14:31:00.0000000Z', '2026-02-27T14:31:05.0000000Z', 2, 1, 1, 1, 2);
                PRAGMA user_version = 3;");
            Execute(DbPath, sql.ToString());
            using (var raw = RawConnection(DbPath))
            using (var insert = raw.CreateCommand())
            {
                insert.CommandText = "INSERT INTO results (run_id, host, status, exit_code, stdout, stderr, duration_ms, output_hash, start_utc, groups) " +
                                     "VALUES ($run, $host, 'Succeeded', 0, $out, $err, 12.5, 'h', '2026-02-27T14:30:00.0000000Z', '[\"web\"]')";
                var run = insert.Parameters.Add("$run", Microsoft.Data.Sqlite.SqliteType.Integer);
                var host = insert.Parameters.Add("$host", Microsoft.Data.Sqlite.SqliteType.Text);
                var output = insert.Parameters.Add("$out", Microsoft.Data.Sqlite.SqliteType.Text);
                var error = insert.Parameters.Add("$err", Microsoft.Data.Sqlite.SqliteType.Text);
                for (int h = 0; h < 150; h++)
                {
                    (run.Value, host.Value, output.Value, error.Value) = (1, $"web-{h:D3}", same, "");
                    insert.ExecuteNonQuery();
                }
                (run.Value, host.Value, output.Value, error.Value) = (2, "web-000", same, "");
                insert.ExecuteNonQuery();
                (run.Value, host.Value, output.Value, error.Value) = (2, "web-001", "changed\n", "warning\n");
                insert.ExecuteNonQuery();
            }
            long before = new FileInfo(DbPath).Length;

            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { Retention = null }))
            {
                var first = store.GetRun(1)!;
                var second = store.GetRun(2)!;
                Assert.NotEqual(Guid.Empty, first.Uuid);
                Assert.NotEqual(first.Uuid, second.Uuid);
                Assert.Equal((1L, 2), (second.WatchId!.Value, second.Iteration!.Value));
                Assert.Equal("", first.Controller); // recorded before HerdPS kept it
                var results = store.ReadResults(1).ToList();
                Assert.Equal(150, results.Count);
                Assert.All(results, r => Assert.True(string.Equals(same, r.StdOut, StringComparison.Ordinal)));
                Assert.Equal(new[] { "web" }, results[0].Groups);
                var changed = store.ReadResults(2, "web-001").Single();
                Assert.Equal(("changed\n", "warning\n"), (changed.StdOut, changed.StdErr));
                Assert.Equal("web-01", store.GetSnapshot(1)!.Hosts.Single().HostName);
            }
            Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            Assert.Equal(3, Scalar(DbPath, "SELECT count(*) FROM blobs"));
            Assert.Equal(152, Scalar(DbPath, "SELECT sum(result_count) FROM result_packs"));
            Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE name = 'results'"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM runs r JOIN runs w ON w.uuid = r.watch_uuid WHERE r.id = 2 AND w.id = 1"));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM snapshots WHERE uuid IS NOT NULL"));
            long after = new FileInfo(DbPath).Length;
            _output.WriteLine($"version 3 file: {before} bytes; version 4: {after} bytes");
            Assert.True(after < before / 5, $"the file kept {after} of its {before} bytes");
        }

        /// <summary>
        /// Version 7 packs the result rows of versions 4-6: every field reads back as it was (a short output kept in its
        /// row and a blob alike), the output hash whether the outputs give it or it was something else, the per-host query
        /// finds the runs by host in any case, a status this build doesn't know is still reported rather than guessed, and
        /// opening again changes nothing.
        /// </summary>
        [Fact]
        public void VersionSixResultRowsBecomePacksThatReadBackTheSame()
        {
            using (var raw = RawConnection(DbPath)) HistorySchema.Migrate(raw, DbPath, 6);
            var longOutput = string.Concat(Enumerable.Range(0, 200).Select(i => $"package-{i} 1.{i}\n"));
            var longBytes = System.Text.Encoding.UTF8.GetBytes(longOutput);
            string Hex(byte[] b) => Convert.ToHexString(b);
            Execute(DbPath, $@"
                INSERT INTO runs (id, uuid, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, controller_machine, controller_user)
                VALUES (1, '6f1c1f43-51a4-4f0e-9d0a-3f1f4f6f0a01', 'exec', 'rpm -qa', 'group=web', '2026-02-27T14:30:00.0000000Z', '2026-02-27T14:30:05.0000000Z', 2, 1, 1, 'ops-01', 'ada'),
                       (2, '6f1c1f43-51a4-4f0e-9d0a-3f1f4f6f0a02', 'exec', 'rpm -qa', 'group=db', '2026-02-27T14:31:00.0000000Z', '2026-02-27T14:31:05.0000000Z', 1, 1, 0, 'ops-01', 'ada');
                INSERT INTO blobs (id, hash, raw_length, stored_length, encoding, data)
                VALUES (5, X'{Hex(System.Security.Cryptography.SHA256.HashData(longBytes))}', {longBytes.Length}, {longBytes.Length}, 0, X'{Hex(longBytes)}');
                INSERT INTO results (run_id, seq, host, status, exit_code, stdout_blob, stderr_blob, duration_ms, output_hash, truncated, error_kind,
                                     error_message, attempts, start_utc, groups, tags, transport, stdout_text, stderr_text)
                VALUES (1, 0, 'web-01', 'Succeeded', 0, NULL, NULL, 12.5, '{OutputCapture.HashOf("short\n", "", 0)}', 0, 'None',
                        NULL, 2, '2026-02-27T14:30:00.1234567Z', '[""web""]', '[""prod"",""eu""]', 'openssh', 'short' || char(10), NULL),
                       (1, 1, 'WEB-02', 'Failed', 3, 5, NULL, 800, 'not-a-sha', 1, 'None',
                        'exit 3', 1, '2026-02-27T14:30:00.5000000Z', '[]', '[]', '', NULL, 'boom' || char(10)),
                       (2, 0, 'db-01', 'Exploded', 0, 5, NULL, 1, '', 0, 'None', NULL, 1, '2026-02-27T14:31:00.0000000Z', '[]', '[]', 'sshnet', NULL, NULL);");

            for (int open = 0; open < 2; open++)
            {
                using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { Retention = null }))
                {
                    var results = store.ReadResults(1).ToList();
                    Assert.Equal(new[] { "WEB-02", "web-01" }, results.Select(r => r.HostName)); // ordinal, as before
                    var (failed, ok) = (results[0], results[1]);
                    Assert.Equal(("rpm -qa", FleetStatus.Succeeded, (int?)0, "short\n", ""), (ok.Command, ok.Status, ok.ExitCode, ok.StdOut, ok.StdErr));
                    Assert.Equal(OutputCapture.HashOf("short\n", "", 0), ok.OutputHash);
                    Assert.Equal((TimeSpan.FromMilliseconds(12.5), 2, "openssh"), (ok.Duration, ok.Attempts, ok.Transport));
                    Assert.Equal(new DateTime(2026, 2, 27, 14, 30, 0, DateTimeKind.Utc).AddTicks(1234567), ok.StartTime);
                    Assert.Equal(new[] { "web" }, ok.Groups);
                    Assert.Equal(new[] { "prod", "eu" }, ok.Tags);
                    Assert.Equal((FleetStatus.Failed, (int?)3, "not-a-sha", true, "exit 3"), (failed.Status, failed.ExitCode, failed.OutputHash, failed.Truncated, failed.ErrorMessage));
                    Assert.Equal((longOutput, "boom\n"), (failed.StdOut, failed.StdErr));
                    Assert.Equal(new long[] { 1 }, store.ListRuns(new HistoryQuery { HostName = "web-02" }).Select(r => r.Id));
                    Assert.Equal(new long[] { 2 }, store.ListRuns(new HistoryQuery { HostName = "DB-01" }).Select(r => r.Id));
                    var error = Assert.Throws<HistoryException>(() => store.ReadResults(2).ToList());
                    Assert.Contains("run 2, host 'db-01': status 'Exploded' is unknown to this HerdPS", error.Message);
                }
                Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
                Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM result_packs"));
                Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM run_blobs WHERE blob_id = 5"));
                Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE name = 'results'"));
            }

            // The blob two runs used goes with the last of them.
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { Retention = null }))
            {
                Assert.Equal(1, store.Prune(TimeSpan.FromSeconds(30), new DateTime(2026, 2, 27, 14, 31, 0, DateTimeKind.Utc)));
                Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM blobs"));
                Assert.Equal(1, store.Prune(TimeSpan.FromSeconds(1), new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc)));
                Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM blobs"));
                Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM hosts"));
                Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM host_runs"));
            }
        }

        [Fact]
        public void NewDatabaseGetsEveryMigrationAndTheHerdApplicationId()
        {
            using (HistoryStore.Open(DbPath)) { }
            Assert.Equal(HistorySchema.CurrentVersion, Scalar(DbPath, "PRAGMA user_version"));
            Assert.Equal(0x48657264, Scalar(DbPath, "PRAGMA application_id"));
            foreach (var index in new[] { "runs_by_started", "runs_by_command_selection", "runs_by_watch", "runs_by_uuid", "result_packs_by_run", "run_blobs_by_blob" })
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
