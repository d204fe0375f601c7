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
        public void RunRecordCarriesCountsTimesAndSelection()
        {
            long id;
            using (var store = HistoryStore.Open(DbPath))
            {
                id = Record(store, "uname -r", "group=pis", Now, "exec",
                    Result("pi-1"), Result("pi-2", status: FleetStatus.Failed, exitCode: 1), Result("pi-3", status: FleetStatus.TimedOut, exitCode: null));
            }
            using (var store = HistoryStore.Open(DbPath))
            {
                var run = store.GetRun(id)!;
                Assert.Equal("exec", run.Kind);
                Assert.Equal("uname -r", run.Command);
                Assert.Equal("group=pis", run.Selection);
                Assert.Equal(Now, run.StartedUtc);
                Assert.Equal(Now.AddSeconds(2), run.FinishedUtc);
                Assert.True(run.IsComplete);
                Assert.Equal(3, run.HostCount);
                Assert.Equal(1, run.SucceededCount);
                Assert.Equal(2, run.FailedCount);
                Assert.Null(run.WatchId);
                Assert.Null(store.GetRun(id + 1));
                Assert.Empty(store.ReadResults(id + 1));
            }
        }

        [Fact]
        public void RunThatNeverCompletesKeepsItsWrittenBatchesAndNoFinishTime()
        {
            long id;
            // The store goes away without Complete or Dispose of the run, as when the process is killed.
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BatchSize = 2 }))
            {
                var run = store.BeginRun("exec", "sleep 600", "all", Now);
                id = run.Id;
                for (int i = 0; i < 5; i++) run.Add(Result($"h{i}"));
            }
            using (var store = HistoryStore.Open(DbPath))
            {
                var run = store.GetRun(id)!;
                Assert.Null(run.FinishedUtc);
                Assert.False(run.IsComplete);
                Assert.Equal(4, run.HostCount);
                Assert.Equal(4, store.ReadResults(id).Count());
            }
        }

        [Fact]
        public void DisposingAnUncompletedRunWritesItsLastBatchButLeavesItUnfinished()
        {
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { BatchSize = 10 }))
            {
                long id;
                using (var run = store.BeginRun("exec", "false", "all", Now))
                {
                    id = run.Id;
                    run.Add(Result("a"));
                    run.Add(Result("b"));
                }
                Assert.Equal(2, store.ReadResults(id).Count());
                Assert.Null(store.GetRun(id)!.FinishedUtc);
            }
        }

        [Fact]
        public void AddAfterCompleteIsRefused()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                var run = store.BeginRun("exec", "true", "all", Now);
                run.Complete(Now);
                Assert.Throws<InvalidOperationException>(() => run.Add(Result("late")));
                Assert.Throws<InvalidOperationException>(() => run.Complete(Now));
            }
        }

        [Fact]
        public void WatchIterationsShareTheFirstIterationsId()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                var first = store.BeginRun("watch", "df -h", "group=pis", Now, iteration: 1);
                first.Complete(Now);
                var second = store.BeginRun("watch", "df -h", "group=pis", Now.AddSeconds(30), watchId: first.Id, iteration: 2);
                second.Complete(Now.AddSeconds(31));

                Assert.Equal(first.Id, store.GetRun(first.Id)!.WatchId);
                Assert.Equal(1, store.GetRun(first.Id)!.Iteration);
                Assert.Equal(first.Id, store.GetRun(second.Id)!.WatchId);
                Assert.Equal(2, store.GetRun(second.Id)!.Iteration);
            }
        }

        [Fact]
        public void ListRunsFiltersByLastCommandWildcardSinceKindAndId()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                long oldUname = Record(store, "uname -r", "all", Now.AddDays(-3));
                long df = Record(store, "df -h /", "all", Now.AddDays(-2));
                long watch = Record(store, "systemctl is-active nginx", "group=web", Now.AddDays(-1), kind: "watch");
                long upperUname = Record(store, "UNAME -a", "all", Now);

                Assert.Equal(new[] { upperUname, watch, df, oldUname }, Ids(store.ListRuns(new HistoryQuery())));
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Last = 2 })));
                Assert.Equal(new[] { upperUname, oldUname }, Ids(store.ListRuns(new HistoryQuery { Command = "uname*" })));
                Assert.Equal(new[] { upperUname }, Ids(store.ListRuns(new HistoryQuery { Command = "uname*", Last = 1 })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { Command = "?f -h *" })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { Command = "[a-d]f*" })));
                Assert.Empty(store.ListRuns(new HistoryQuery { Command = "uname" })); // the whole command must match
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Since = Now.AddDays(-1) })));
                Assert.Equal(new[] { watch }, Ids(store.ListRuns(new HistoryQuery { Kind = "WATCH" })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { Id = df })));
                Assert.Empty(store.ListRuns(new HistoryQuery { Id = df, Kind = "watch" }));
                Assert.Throws<ArgumentOutOfRangeException>(() => store.ListRuns(new HistoryQuery { Last = 0 }));
            }
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
        public void FindLatestRunMatchesCommandAndSelectionAndSkipsIncompleteRuns()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                long webFirst = Record(store, "rpm -qa | sort", "group=web", Now.AddHours(-3), results: Result("web-01"));
                Record(store, "rpm -qa | sort", "group=db", Now.AddHours(-2), results: Result("db-01"));
                long webSecond = Record(store, "rpm -qa | sort", "group=web", Now.AddHours(-1), results: Result("web-01"));
                Record(store, "rpm -qa", "group=web", Now.AddMinutes(-30), results: Result("web-01"));
                var current = store.BeginRun("exec", "rpm -qa | sort", "group=web", Now);
                current.Add(Result("web-01"));

                Assert.Equal(webSecond, store.FindLatestRun("rpm -qa | sort", "group=web")!.Id);
                Assert.Equal(webSecond, store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: current.Id)!.Id);
                Assert.Equal(webFirst, store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: webSecond)!.Id);
                Assert.Null(store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: webFirst));
                Assert.Null(store.FindLatestRun("RPM -QA | SORT", "group=web")); // commands are compared exactly
                Assert.Null(store.FindLatestRun("rpm -qa | sort", "tag=prod"));
            }
        }

        [Fact]
        public void PruneDeletesOldRunsAndTheirResults()
        {
            using (var store = HistoryStore.Open(DbPath, new HistoryStoreOptions { Retention = null }))
            {
                long veryOld = Record(store, "a", "all", Now.AddDays(-40), results: Result("h1"));
                long justOld = Record(store, "b", "all", Now.AddDays(-30).AddMinutes(-1), results: Result("h1"));
                long recent = Record(store, "c", "all", Now.AddDays(-29), results: Result("h1"));
                long today = Record(store, "d", "all", Now, results: Result("h1"));

                Assert.Equal(2, store.Prune(TimeSpan.FromDays(30), Now));

                Assert.Equal(new[] { today, recent }, Ids(store.ListRuns(new HistoryQuery())));
                Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM results"));
                Assert.Equal(0, Scalar(DbPath, $"SELECT count(*) FROM results WHERE run_id IN ({veryOld}, {justOld})"));
                Assert.Equal(0, store.Prune(TimeSpan.FromDays(30), Now));
                Assert.Equal(0, store.Prune(TimeSpan.MaxValue, Now)); // "forever" keeps everything
            }
        }

        [Fact]
        public void OpeningPrunesAtMostOnceADay()
        {
            DateTime clock = Now;
            var thirtyDays = new HistoryStoreOptions { Retention = TimeSpan.FromDays(30), UtcNow = () => clock };
            var keepForever = new HistoryStoreOptions { Retention = null, UtcNow = () => clock };
            using (HistoryStore.Open(DbPath, thirtyDays)) { } // first open: prunes (nothing) and notes the time

            clock = Now.AddHours(1);
            using (var store = HistoryStore.Open(DbPath, keepForever))
            {
                Record(store, "old", "all", Now.AddDays(-31), results: Result("h1"));
                Record(store, "new", "all", Now.AddDays(-1), results: Result("h1"));
            }

            clock = Now.AddHours(23);
            using (var store = HistoryStore.Open(DbPath, thirtyDays))
                Assert.Equal(2, store.ListRuns(new HistoryQuery()).Count); // pruned less than a day ago: not again

            // A process without retention, the first a day later, prunes nothing and leaves the day's prune to others.
            clock = Now.AddHours(25);
            using (var store = HistoryStore.Open(DbPath, keepForever))
                Assert.Equal(2, store.ListRuns(new HistoryQuery()).Count);

            clock = Now.AddHours(26);
            using (var store = HistoryStore.Open(DbPath, thirtyDays))
                Assert.Equal(new[] { "new" }, store.ListRuns(new HistoryQuery()).Select(r => r.Command));
            Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM results"));
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
        public void GroupsAndTagsAreStoredAsJsonArraysAndADamagedOneIsAHistoryError()
        {
            using (var store = HistoryStore.Open(DbPath))
            {
                var r = Result("h1");
                r.Groups = new[] { "web", "quote\"and\\slash", "ü" };
                r.Tags = Array.Empty<string>();
                var id = Record(store, "tags", "all", Now, results: r);
                var back = store.ReadResults(id).Single();
                Assert.Equal(r.Groups, back.Groups);
                Assert.Empty(back.Tags);
            }
            // Any JSON writer reads them: the stored text is the plain JSON form.
            Assert.Equal("[\"web\",\"quote\\u0022and\\\\slash\",\"\\u00FC\"]", HistoryTestData.ScalarText(DbPath, "SELECT groups FROM results"));
            HistoryTestData.Execute(DbPath, "UPDATE results SET tags = '{\"not\": \"a list\"}'");
            using (var store = HistoryStore.Open(DbPath))
            {
                var error = Assert.Throws<HistoryException>(() => store.ReadResults(store.ListRuns(new HistoryQuery()).Single().Id).ToList());
                Assert.Contains("tags is not a list of names", error.Message);
                Assert.Contains(DbPath, error.Message);
            }
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
