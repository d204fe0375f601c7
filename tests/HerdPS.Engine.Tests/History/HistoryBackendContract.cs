using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// What every history backend does, the same way: the one test suite, run against the SQLite file
    /// (<see cref="SqliteHistoryContractTests"/>) and against a real PostgreSQL server (<see cref="PostgresHistoryContractTests"/>).
    /// Rows are counted with SQL against the backend's own tables, which have the same names on both.
    /// </summary>
    public abstract class HistoryBackendContract : IDisposable
    {
        protected readonly TempDirectory Folder = new TempDirectory();
        protected readonly ITestOutputHelper Output;

        protected HistoryBackendContract(ITestOutputHelper output) => Output = output;

        /// <summary>A file path or a PostgreSQL URL, as a front end is given it.</summary>
        protected abstract string Location { get; }

        /// <summary>The history, opened as a recording front end opens it (with the password where needed).</summary>
        protected abstract HistoryStore Open(HistoryStoreOptions? options = null);

        /// <summary>A count from the backend's tables (runs, results, blobs, blob_chunks, snapshots).</summary>
        protected abstract long Count(string sql);

        /// <summary>How many results the history holds, over every run's packs.</summary>
        protected const string ResultCount = "SELECT coalesce(sum(result_count), 0) FROM result_packs";

        /// <summary>Environment a writer process needs to reach the history (the password for a server).</summary>
        protected abstract IDictionary<string, string> WriterEnvironment { get; }

        public virtual void Dispose() => Folder.Dispose();

        // Microseconds: PostgreSQL keeps times to the microsecond, SQLite to the tick (HistoryStoreTests checks ticks).
        private static readonly DateTime Started = new DateTime(2026, 2, 28, 9, 15, 1, DateTimeKind.Utc).AddTicks(1234560);

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
                StartTime = Started,
                Duration = TimeSpan.FromTicks(12_345_678),
                Attempts = 3,
                ErrorKind = FleetErrorKind.CommandTimeout,
                ErrorMessage = "timed out after 30 s — retried",
                OutputHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                Groups = new[] { "web", "prod-ü", "quote\"and\\slash" },
                Tags = new[] { "nginx", "debian12" },
                Transport = "sshnet",
            };
            var neverRan = new FleetResult
            {
                HostName = "db-02", Command = "cat /etc/motd", Status = FleetStatus.Unreachable, ExitCode = null, StdOut = "", StdErr = "",
                StartTime = Now, Duration = TimeSpan.Zero, Attempts = 2, ErrorKind = FleetErrorKind.ConnectionRefused, ErrorMessage = null, OutputHash = "",
            };

            long id;
            using (var store = Open())
                id = Record(store, "cat /etc/motd", "group=web,db", Now, "exec", full, neverRan);

            using (var store = Open())
            {
                var read = store.ReadResults(id).ToList();
                Assert.Equal(new[] { "db-02", "web-01" }, read.Select(r => r.HostName));
                AssertSameResult(neverRan, read[0]);
                AssertSameResult(full, read[1]);
                AssertSameResult(full, store.ReadResults(id, "WEB-01").Single()); // one host, case-insensitively
                Assert.Empty(store.ReadResults(id, "web-99"));
            }
        }

        internal static void AssertSameResult(FleetResult expected, FleetResult actual)
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
            Assert.Equal(expected.Transport ?? "", actual.Transport ?? "");
        }

        [Fact]
        public void RunRecordCarriesCountsTimesSelectionControllerAndUuid()
        {
            long id;
            Guid uuid;
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "uname -r", "group=pis", Now);
                run.Add(Result("pi-1"));
                run.Add(Result("pi-2", status: FleetStatus.Failed, exitCode: 1));
                run.Add(Result("pi-3", status: FleetStatus.TimedOut, exitCode: null));
                run.Complete(Now.AddSeconds(2));
                id = run.Id;
                uuid = run.Uuid;
            }
            using (var store = Open())
            {
                var run = store.GetRun(id)!;
                Assert.Equal("exec", run.Kind);
                Assert.Equal("uname -r", run.Command);
                Assert.Equal("group=pis", run.Selection);
                Assert.Equal(Now, run.StartedUtc);
                Assert.Equal(Now.AddSeconds(2), run.FinishedUtc);
                Assert.True(run.IsComplete);
                Assert.Equal((3, 1, 2), (run.HostCount, run.SucceededCount, run.FailedCount));
                Assert.Null(run.WatchId);
                Assert.Equal(uuid, run.Uuid);
                Assert.NotEqual(Guid.Empty, uuid);
                Assert.Equal(Environment.MachineName, run.ControllerMachine);
                Assert.Equal(Environment.UserName, run.ControllerUser);
                Assert.Equal($"{Environment.UserName}@{Environment.MachineName}", run.Controller);
                Assert.Null(store.GetRun(id + 1));
                Assert.Empty(store.ReadResults(id + 1));
            }
        }

        [Fact]
        public void RunThatNeverCompletesKeepsItsWrittenBatchesAndNoFinishTime()
        {
            long id;
            // The store goes away without Complete or Dispose of the run, as when the process is killed.
            using (var store = Open(new HistoryStoreOptions { BatchSize = 2 }))
            {
                var run = store.BeginRun("exec", "sleep 600", "all", Now);
                id = run.Id;
                for (int i = 0; i < 5; i++) run.Add(Result($"h{i}"));
            }
            using (var store = Open())
            {
                var run = store.GetRun(id)!;
                Assert.Null(run.FinishedUtc);
                Assert.Equal(4, run.HostCount);
                Assert.Equal(4, store.ReadResults(id).Count());
            }
        }

        [Fact]
        public void DisposingAnUncompletedRunWritesItsLastBatchButLeavesItUnfinished()
        {
            using (var store = Open(new HistoryStoreOptions { BatchSize = 10 }))
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
                var run2 = store.BeginRun("exec", "true", "all", Now);
                run2.Complete(Now);
                Assert.Throws<InvalidOperationException>(() => run2.Add(Result("late")));
                Assert.Throws<InvalidOperationException>(() => run2.Complete(Now));
            }
        }

        [Fact]
        public void WatchIterationsShareTheFirstIterationsIdByIdOrUuid()
        {
            using (var store = Open())
            {
                var first = store.BeginRun("watch", "df -h", "group=pis", Now, iteration: 1);
                first.Complete(Now);
                var second = store.BeginRun("watch", "df -h", "group=pis", Now.AddSeconds(30), watchId: first.Id, iteration: 2);
                second.Complete(Now.AddSeconds(31));
                var third = store.BeginRun("watch", "df -h", "group=pis", Now.AddSeconds(60), watchId: first.Id, iteration: 3, watchUuid: first.Uuid);
                third.Complete(Now.AddSeconds(61));

                Assert.Equal((first.Id, 1), (store.GetRun(first.Id)!.WatchId!.Value, store.GetRun(first.Id)!.Iteration!.Value));
                Assert.Equal((first.Id, 2), (store.GetRun(second.Id)!.WatchId!.Value, store.GetRun(second.Id)!.Iteration!.Value));
                Assert.Equal((first.Id, 3), (store.GetRun(third.Id)!.WatchId!.Value, store.GetRun(third.Id)!.Iteration!.Value));
            }
        }

        [Fact]
        public void ListRunsFiltersByLastCommandWildcardSinceKindIdControllerAndHost()
        {
            var alice = new HistoryStoreOptions { ControllerMachine = "admin-01", ControllerUser = "alice" };
            var task = new HistoryStoreOptions { ControllerMachine = "sched-01", ControllerUser = "svc_herd" };
            long oldUname, df, watch, upperUname;
            using (var store = Open(alice))
            {
                oldUname = Record(store, "uname -r", "all", Now.AddDays(-3), results: new[] { Result("web-01"), Result("web-02") });
                df = Record(store, "df -h /", "all", Now.AddDays(-2), results: Result("web-02"));
            }
            using (var store = Open(task))
            {
                watch = Record(store, "systemctl is-active nginx", "group=web", Now.AddDays(-1), kind: "watch", results: Result("WEB-01"));
                upperUname = Record(store, "UNAME -a", "all", Now, results: Result("db-01"));
            }
            using (var store = Open())
            {
                Assert.Equal(new[] { upperUname, watch, df, oldUname }, Ids(store.ListRuns(new HistoryQuery())));
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Last = 2 })));
                Assert.Equal(new[] { upperUname, oldUname }, Ids(store.ListRuns(new HistoryQuery { Command = "uname*" })));
                Assert.Equal(new[] { upperUname }, Ids(store.ListRuns(new HistoryQuery { Command = "uname*", Last = 1 })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { Command = "[a-d]f*" })));
                Assert.Empty(store.ListRuns(new HistoryQuery { Command = "uname" })); // the whole command must match
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Since = Now.AddDays(-1) })));
                Assert.Equal(new[] { watch }, Ids(store.ListRuns(new HistoryQuery { Kind = "WATCH" })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { Id = df })));
                Assert.Empty(store.ListRuns(new HistoryQuery { Id = df, Kind = "watch" }));
                // --from: a machine, a user, or user@machine, in any case.
                Assert.Equal(new[] { df, oldUname }, Ids(store.ListRuns(new HistoryQuery { Controller = "ADMIN-01" })));
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Controller = "svc_herd" })));
                Assert.Equal(new[] { upperUname, watch }, Ids(store.ListRuns(new HistoryQuery { Controller = "svc_herd@sched-01" })));
                Assert.Empty(store.ListRuns(new HistoryQuery { Controller = "alice@sched-01" }));
                Assert.Equal("alice@admin-01", store.GetRun(df)!.Controller);
                // --host: the runs that have a result for it, in any case.
                Assert.Equal(new[] { watch, oldUname }, Ids(store.ListRuns(new HistoryQuery { HostName = "web-01" })));
                Assert.Equal(new[] { watch }, Ids(store.ListRuns(new HistoryQuery { HostName = "web-01", Controller = "svc_herd", Last = 5 })));
                // With a limit the host has as many runs as (found among the newest runs) or fewer (looked up in full).
                Assert.Equal(new[] { watch }, Ids(store.ListRuns(new HistoryQuery { HostName = "web-01", Last = 1 })));
                Assert.Equal(new[] { watch, oldUname }, Ids(store.ListRuns(new HistoryQuery { HostName = "WEB-01", Last = 3 })));
                Assert.Equal(new[] { df, oldUname }, Ids(store.ListRuns(new HistoryQuery { HostName = "web-02", Kind = "exec", Last = 2 })));
                Assert.Equal(new[] { df }, Ids(store.ListRuns(new HistoryQuery { HostName = "web-02", Since = Now.AddDays(-2), Last = 2 })));
                Assert.Empty(store.ListRuns(new HistoryQuery { HostName = "web-02", Since = Now.AddHours(-1), Last = 2 }));
                Assert.Empty(store.ListRuns(new HistoryQuery { HostName = "never-seen", Last = 2 }));
                var narrowed = FleetHistory.GetRunsWithResults(store, new HistoryQuery { HostName = "web-02", Last = 1 }).Single();
                Assert.Equal(df, narrowed.Id);
                Assert.Equal(new[] { "web-02" }, narrowed.Results.Select(r => r.HostName));
                Assert.Throws<ArgumentOutOfRangeException>(() => store.ListRuns(new HistoryQuery { Last = 0 }));
            }
        }

        [Fact]
        public void FindLatestRunMatchesCommandAndSelectionAndSkipsIncompleteRuns()
        {
            using (var store = Open())
            {
                var longCommand = "echo " + new string('x', 5000); // longer than an index entry may be: still found
                long webFirst = Record(store, "rpm -qa | sort", "group=web", Now.AddHours(-3), results: Result("web-01"));
                Record(store, "rpm -qa | sort", "group=db", Now.AddHours(-2), results: Result("db-01"));
                long webSecond = Record(store, "rpm -qa | sort", "group=web", Now.AddHours(-1), results: Result("web-01"));
                long longOne = Record(store, longCommand, "group=web", Now.AddMinutes(-40), results: Result("web-01"));
                Record(store, "rpm -qa", "group=web", Now.AddMinutes(-30), results: Result("web-01"));
                var current = store.BeginRun("exec", "rpm -qa | sort", "group=web", Now);
                current.Add(Result("web-01"));

                Assert.Equal(webSecond, store.FindLatestRun("rpm -qa | sort", "group=web")!.Id);
                Assert.Equal(webSecond, store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: current.Id)!.Id);
                Assert.Equal(webFirst, store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: webSecond)!.Id);
                Assert.Null(store.FindLatestRun("rpm -qa | sort", "group=web", beforeRunId: webFirst));
                Assert.Null(store.FindLatestRun("RPM -QA | SORT", "group=web")); // commands are compared exactly
                Assert.Null(store.FindLatestRun("rpm -qa | sort", "tag=prod"));
                Assert.Equal(longOne, store.FindLatestRun(longCommand, "group=web")!.Id);
            }
        }

        [Fact]
        public void PruneDeletesOldRunsTheirResultsAndOutputsNoRunUsesAnyMore()
        {
            using (var store = Open(new HistoryStoreOptions { Retention = null }))
            {
                // Outputs longer than the inline limit, so they are blobs shared between runs; "short\n" is kept in its row.
                string oldOnly = Long("only the old run said this"), shared = Long("shared"), ok = Long("ok");
                long veryOld = Record(store, "a", "all", Now.AddDays(-40), results: new[] { Result("h1", oldOnly), Result("h2", shared), Result("h3", "short\n") });
                long justOld = Record(store, "b", "all", Now.AddDays(-30).AddMinutes(-1), results: Result("h1", ok));
                long recent = Record(store, "c", "all", Now.AddDays(-29), results: new[] { Result("h1", ok), Result("h2", shared) });
                long today = Record(store, "d", "all", Now, results: Result("h1", ok));
                Assert.Equal(3, Count("SELECT count(*) FROM blobs"));

                Assert.Equal(2, store.Prune(TimeSpan.FromDays(30), Now));

                Assert.Equal(new[] { today, recent }, Ids(store.ListRuns(new HistoryQuery())));
                Assert.Equal(3, Count(ResultCount));
                Assert.Equal(0, Count($"SELECT count(*) FROM result_packs WHERE run_id IN ({veryOld}, {justOld})"));
                Assert.Equal(0, Count($"SELECT count(*) FROM run_blobs WHERE run_id IN ({veryOld}, {justOld})"));
                Assert.Empty(store.ListRuns(new HistoryQuery { HostName = "h3" })); // its only run is gone, and the short output with it
                // "ok" and "shared" are still used; the old run's own output is gone with its chunks.
                Assert.Equal(2, Count("SELECT count(*) FROM blobs"));
                Assert.Equal(0, Count("SELECT count(*) FROM blob_chunks c WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = c.blob_id)"));
                Assert.Equal(shared, store.ReadResults(recent, "h2").Single().StdOut);
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
            using (Open(thirtyDays)) { } // first open: prunes (nothing) and notes the time

            clock = Now.AddHours(1);
            using (var store = Open(keepForever))
            {
                Record(store, "old", "all", Now.AddDays(-31), results: Result("h1"));
                Record(store, "new", "all", Now.AddDays(-1), results: Result("h1"));
            }

            clock = Now.AddHours(23);
            using (var store = Open(thirtyDays))
                Assert.Equal(2, store.ListRuns(new HistoryQuery()).Count); // pruned less than a day ago: not again

            // A process without retention, the first a day later, prunes nothing and leaves the day's prune to others.
            clock = Now.AddHours(25);
            using (var store = Open(keepForever))
                Assert.Equal(2, store.ListRuns(new HistoryQuery()).Count);

            clock = Now.AddHours(26);
            using (var store = Open(thirtyDays))
                Assert.Equal(new[] { "new" }, store.ListRuns(new HistoryQuery()).Select(r => r.Command));
            Assert.Equal(1, Count(ResultCount));
        }

        /// <summary>
        /// The issue's numbers: 200 hosts printing the same 5 MiB were 1 GiB in the history; stored by content they are
        /// one compressed copy. 200 hosts printing different outputs are stored in less than their raw size.
        /// </summary>
        [Fact]
        public void TwoHundredHostsWithTheSameFiveMegabytesStoreOneCompressedCopy()
        {
            var fiveMiB = PackageList(5 * 1024 * 1024, seed: 1);
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "rpm -qa", "all", Now);
                var template = Result("host-000", fiveMiB);
                for (int h = 0; h < 200; h++)
                {
                    var result = Result($"host-{h:D3}", "");
                    result.StdOut = fiveMiB;
                    result.OutputHash = template.OutputHash;
                    run.Add(result);
                }
                run.Complete(Now);
                long stored = Count("SELECT coalesce(sum(stored_length), 0) FROM blobs");
                long chunks = Count("SELECT coalesce(sum(length(data)), 0) FROM blob_chunks") + Count("SELECT coalesce(sum(length(data)), 0) FROM blobs");
                Output.WriteLine($"200 x {fiveMiB.Length} B identical: {Count("SELECT count(*) FROM blobs")} blob, {stored} B stored ({chunks} B in chunks)");
                Assert.Equal(1, Count("SELECT count(*) FROM blobs"));
                Assert.Equal(200, Count(ResultCount));
                Assert.Equal(1, Count($"SELECT count(*) FROM run_blobs WHERE run_id = {run.Id}")); // 200 results, one output
                Assert.Equal(stored, chunks);
                Assert.True(stored < fiveMiB.Length, $"{stored} B stored for one {fiveMiB.Length} B output");
                var back = store.ReadResults(run.Id).ToList();
                Assert.Equal(200, back.Count);
                // (string.Equals: xunit's string Assert.Equal walks 5 MiB a character at a time.)
                Assert.True(string.Equals(fiveMiB, back[0].StdOut, StringComparison.Ordinal), "the output read back differs");
                Assert.All(back, r => Assert.Same(back[0].StdOut, r.StdOut)); // read and decoded once, shared
            }
        }

        [Fact]
        public void OutputsThatAllDifferAreStoredInLessThanTheirRawSize()
        {
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "dpkg -l", "all", Now);
                long raw = 0;
                for (int h = 0; h < 200; h++)
                {
                    var output = PackageList(20_000 + h * 100, seed: h + 2);
                    raw += Encoding.UTF8.GetByteCount(output);
                    run.Add(Result($"host-{h:D3}", output, stderr: h % 10 == 0 ? $"warning on host {h}\n" : ""));
                }
                run.Complete(Now);
                long stored = Count("SELECT sum(stored_length) FROM blobs");
                Output.WriteLine($"200 different outputs, {raw} B raw: {Count("SELECT count(*) FROM blobs")} blobs, {stored} B stored ({100.0 * stored / raw:0.0}%)");
                // The 200 package lists are blobs; the 20 one-line warnings are short enough to stay in the run's packs.
                Assert.Equal(200, Count("SELECT count(*) FROM blobs"));
                Assert.Equal(200, Count($"SELECT count(*) FROM run_blobs WHERE run_id = {run.Id}"));
                Assert.Equal(0, Count("SELECT count(*) FROM blob_chunks")); // each fits in one chunk: inline in its blobs row
                Assert.True(stored < raw / 2, $"{stored} B stored for {raw} B of output");
                var host7 = store.ReadResults(run.Id, "host-007").Single();
                Assert.Equal(PackageList(20_700, seed: 9), host7.StdOut);
                Assert.Equal("warning on host 10\n", store.ReadResults(run.Id, "host-010").Single().StdErr);
            }
        }

        /// <summary>
        /// Short outputs that differ on every host (uptime, a date) are kept in the run's packs, where they compress
        /// together, rather than each as a blob (a row with its hash, the hash's index entry, the run's reference): up to
        /// <see cref="BlobContent.InlineLimit"/> bytes, NUL characters included (a pack is binary); longer ones are blobs.
        /// All read back the same, and compare the same in a diff against the last run.
        /// </summary>
        [Fact]
        public void ShortOutputsAreKeptInTheRunsPacksAndReadBackTheSame()
        {
            string atLimit = new string('x', BlobContent.InlineLimit - 3) + "é\n"; // exactly the limit in UTF-8 bytes
            string overLimit = new string('y', BlobContent.InlineLimit) + "\n";
            string withNul = "a\0b\n";
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "uptime", "all", Now);
                for (int h = 0; h < 25; h++) run.Add(Result($"host-{h:D2}", $" 10:{h:D2}:01 up {h} days,  3:04,  0 users,  load average: 0.{h:D2}, 0.10, 0.05\n", stderr: h == 0 ? "warn\n" : ""));
                run.Add(Result("limit", atLimit));
                run.Add(Result("over", overLimit, stderr: withNul));
                run.Complete(Now);
                Assert.Equal(Encoding.UTF8.GetByteCount(atLimit), BlobContent.InlineLimit);

                Assert.Equal(27, Count(ResultCount));
                Assert.Equal(1, Count("SELECT count(*) FROM blobs")); // only the one over the limit
                Assert.Equal(1, Count($"SELECT count(*) FROM run_blobs WHERE run_id = {run.Id}"));

                var back = store.ReadResults(run.Id).ToDictionary(r => r.HostName);
                Assert.Equal(" 10:07:01 up 7 days,  3:04,  0 users,  load average: 0.07, 0.10, 0.05\n", back["host-07"].StdOut);
                Assert.Equal("warn\n", back["host-00"].StdErr);
                Assert.Equal("", back["host-01"].StdErr);
                Assert.Equal(atLimit, back["limit"].StdOut);
                Assert.Equal(overLimit, back["over"].StdOut);
                Assert.Equal(withNul, back["over"].StdErr);
                Assert.Equal(Result("over", overLimit, stderr: withNul).OutputHash, back["over"].OutputHash);

                // A second run with the same short outputs: nothing differs from the first.
                var again = store.BeginRun("exec", "uptime", "all", Now.AddMinutes(1));
                foreach (var r in store.ReadResults(run.Id)) again.Add(Result(r.HostName!, r.StdOut ?? "", stderr: r.StdErr ?? ""));
                again.Complete(Now.AddMinutes(1));
                var comparison = RunComparison.Compare(store.ReadResults(run.Id), store.ReadResults(again.Id));
                Assert.Equal(27, comparison.Count);
                Assert.All(comparison, c => Assert.Equal(HostChangeKind.Unchanged, c.Change));
            }
        }

        /// <summary>
        /// The issue's last number: 200 one-line outputs that all differ (~70 bytes each) are stored in less than their raw
        /// size. A row per host cost more than the output; in packs the results take what differs between them. The whole
        /// file's or server's growth is measured in bench/history.sh; here, what the packs hold.
        /// </summary>
        [Fact]
        public void TwoHundredOneLineOutputsThatAllDifferAreStoredInLessThanTheirRawSize()
        {
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "uptime", "all", Now);
                long raw = 0;
                var random = new Random(7);
                for (int h = 0; h < 200; h++)
                {
                    var output = $" 09:41:{h % 60:D2} up {random.Next(1, 900)} days, {random.Next(0, 24)}:{random.Next(0, 60):D2},  {random.Next(0, 5)} users,  " +
                                 $"load average: {random.Next(0, 400) / 100.0:0.00}, {random.Next(0, 400) / 100.0:0.00}, {random.Next(0, 400) / 100.0:0.00}\n";
                    raw += Encoding.UTF8.GetByteCount(output);
                    var result = Result($"web-{h:D3}.example.net", output);
                    result.OutputHash = OutputCapture.HashOf(output, "", 0); // as a run computes it
                    run.Add(result);
                }
                run.Complete(Now);
                long packed = Count("SELECT coalesce(sum(length(data)), 0) FROM result_packs");
                Output.WriteLine($"200 different one-line outputs, {raw} B raw: {Count("SELECT count(*) FROM result_packs")} packs, {packed} B");
                Assert.Equal(0, Count("SELECT count(*) FROM blobs"));
                Assert.True(packed < raw / 2, $"{packed} B in packs for {raw} B of output");
                var back = store.ReadResults(run.Id).ToList();
                Assert.Equal(200, back.Count);
                Assert.All(back, r => Assert.Equal(OutputCapture.HashOf(r.StdOut, "", 0), r.OutputHash));
            }
        }

        [Fact]
        public void ASpilledOutputIsStoredFromItsFileBeforeAddReturnsAndReadsBackTheSame()
        {
            var spillDir = Path.Combine(Folder.Path, "spill");
            var text = PackageList(3 * StoredOutput.ChunkSize + 12345, seed: 5) + "é€😀";
            var bytes = Encoding.UTF8.GetBytes(text);
            using (var store = Open())
            {
                var run = store.BeginRun("exec", "cat big", "all", Now);
                run.Add(Result("h000", "small\n"));
                var big = Result("h001", "");
                var err = string.Concat(Enumerable.Repeat("err\n", 1000));
                big.SetSpilledOutput(Spill(spillDir, bytes), Spill(spillDir, Encoding.UTF8.GetBytes(err)));
                run.Add(big);
                // Written before Add returned (the caller frees the file next), with the small one before it.
                big.ReleaseOutput();
                run.Complete(Now);
                Assert.Equal(text, store.ReadResults(run.Id, "h001").Single().StdOut);
                Assert.Equal(err, store.ReadResults(run.Id, "h001").Single().StdErr);
                Assert.Equal(4, Count("SELECT count(*) FROM blob_chunks c JOIN blobs b ON b.id = c.blob_id WHERE b.raw_length > 3000000"));
            }
        }

        private static CapturedOutput Spill(string folder, byte[] data)
        {
            using var capture = new OutputCapture(long.MaxValue) { Spill = new OutputSpill(folder, threshold: 1024) };
            for (var at = 0; at < data.Length; at += 65536)
            {
                var n = Math.Min(65536, data.Length - at);
                var piece = new byte[n];
                Buffer.BlockCopy(data, at, piece, 0, n);
                capture.Append(piece, n);
            }
            Assert.True(capture.IsSpilled);
            return capture.TakeSpilled()!;
        }

        [Fact]
        public void SnapshotsRoundTripWithTheirHosts()
        {
            var snapshot = new FleetSnapshot { TakenUtc = Now, Selection = "group=web" };
            snapshot.Hosts.Add(new HostSnapshot
            {
                HostName = "web-01", Status = SnapshotHostStatus.Captured, Kernel = "Linux 6.1.0 x86_64", OsName = "Debian GNU/Linux 12", OsId = "debian",
                OsVersion = "12", UptimeSeconds = 1234.5, PackageManager = "dpkg",
                Packages = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["nginx"] = "1.22.1", ["openssl"] = "3.0.11" },
                EnabledServices = new List<string> { "nginx" }, RunningServices = new List<string> { "nginx", "sshd" },
                Disks = new List<DiskUsage> { new DiskUsage { Mount = "/", SizeKb = 100, UsedKb = 40 } }, MemoryTotalKb = 2048,
            });
            snapshot.Hosts.Add(new HostSnapshot { HostName = "web-02", Status = SnapshotHostStatus.Unreachable, ErrorMessage = "connection refused" });
            using (var store = Open())
            {
                long id = store.SaveSnapshot(snapshot);
                Assert.Equal(id, snapshot.Id);
                var listed = store.ListSnapshots().Single();
                Assert.Equal((id, Now, "group=web", 2, 1), (listed.Id, listed.TakenUtc, listed.Selection, listed.HostCount, listed.CapturedCount));
                var back = store.GetSnapshot(id)!;
                Assert.Equal(new[] { "web-01", "web-02" }, back.Hosts.Select(h => h.HostName));
                Assert.Equal("1.22.1", back.Hosts[0].Packages["nginx"]);
                Assert.Equal(new[] { "nginx", "sshd" }, back.Hosts[0].RunningServices);
                Assert.Equal(40, back.Hosts[0].Disks.Single().UsedKb);
                Assert.Equal("connection refused", back.Hosts[1].ErrorMessage);
                Assert.True(store.DeleteSnapshot(id));
                Assert.False(store.DeleteSnapshot(id));
                Assert.Null(store.GetSnapshot(id));
            }
        }

        /// <summary>
        /// Many writers at once lose nothing: 8 processes, each with 2 threads of their own store, each recording runs of
        /// 200 hosts (in batches of 32, reading between runs), into one history that none of them has created yet.
        /// How long they took and their slowest batch are printed (bench/history measures them properly).
        /// </summary>
        [Fact]
        public async Task EightWriterProcessesWithParallelWritersLoseNothing()
        {
            const int Processes = 8, Threads = 2, Runs = 3, Hosts = 200;
            string writerDll = Path.Combine(AppContext.BaseDirectory, "HerdPS.HistoryWriter.dll");
            Assert.True(File.Exists(writerDll), $"{writerDll} was not built beside the tests");

            var writers = new List<Process>();
            var stopwatch = new Stopwatch();
            try
            {
                for (int w = 0; w < Processes; w++)
                {
                    var start = ProcessRunner.StartInfo(DotnetHost(), new[] { "exec", writerDll, Location, $"w{w}", $"{Runs}", $"{Hosts}", "32", $"{Threads}" });
                    foreach (var e in WriterEnvironment) start.Environment[e.Key] = e.Value;
                    writers.Add(Process.Start(start)!);
                }
                // Every writer waits for this line before opening, so they also race to create and migrate the database.
                stopwatch.Start();
                foreach (var writer in writers) writer.StandardInput.WriteLine("go");
                var outputs = writers.Select(w => (Out: w.StandardOutput.ReadToEndAsync(), Err: w.StandardError.ReadToEndAsync())).ToList();
                for (int w = 0; w < writers.Count; w++)
                {
                    Assert.True(writers[w].WaitForExit(180_000), "a writer process hung");
                    string stdout = await outputs[w].Out, stderr = await outputs[w].Err;
                    Assert.True(writers[w].ExitCode == 0, $"writer exited {writers[w].ExitCode}: {stderr}");
                    Assert.Equal("", stderr);
                    Output.WriteLine(stdout.Trim());
                }
                stopwatch.Stop();
            }
            finally
            {
                foreach (var writer in writers)
                {
                    if (!writer.HasExited) writer.Kill();
                    writer.Dispose();
                }
            }
            Output.WriteLine($"{Processes} processes x {Threads} threads x {Runs} runs x {Hosts} hosts: {stopwatch.Elapsed.TotalSeconds:0.00} s");

            int runs = Processes * Threads * Runs;
            Assert.Equal(runs, Count("SELECT count(*) FROM runs"));
            Assert.Equal(runs, Count($"SELECT count(*) FROM runs WHERE finished_utc IS NOT NULL AND host_count = {Hosts}"));
            Assert.Equal(runs * Hosts, Count(ResultCount));
            Assert.Equal(0, Count($"SELECT count(*) FROM (SELECT run_id FROM result_packs GROUP BY run_id HAVING sum(result_count) <> {Hosts} OR max(last_seq) <> {Hosts - 1}) x"));
            // Each result is in its own run: the writer's name in the output matches the run's selection.
            using (var store = Open())
            {
                foreach (var run in store.ListRuns(new HistoryQuery()).Where((r, i) => i % 7 == 0))
                {
                    var writer = run.Selection.Substring("writer=".Length);
                    Assert.All(store.ReadResults(run.Id), r => Assert.StartsWith(writer + " run ", r.StdOut));
                }
            }
        }

        [Fact]
        public void OneStoreSharedByThreadsRecordsEveryResult()
        {
            using (var store = Open(new HistoryStoreOptions { BatchSize = 5 }))
            {
                var run = store.BeginRun("exec", "uptime", "all", Now);
                var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
                {
                    for (int h = 0; h < 50; h++) run.Add(Result($"t{t}-host-{h:D2}"));
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                run.Complete(Now);

                Assert.Equal(200, store.ReadResults(run.Id).Select(r => r.HostName).Distinct().Count());
                Assert.Equal(200, store.GetRun(run.Id)!.HostCount);
                Assert.Equal(199, Count($"SELECT max(last_seq) FROM result_packs WHERE run_id = {run.Id}"));
            }
        }

        /// <summary>Lines like a package list: compressible as real output is, different for each seed.</summary>
        /// <summary>A line repeated past <see cref="BlobContent.InlineLimit"/>: an output stored as a blob.</summary>
        private static string Long(string line) => string.Concat(Enumerable.Repeat(line + "\n", BlobContent.InlineLimit / (line.Length + 1) + 1));

        internal static string PackageList(int approximateBytes, int seed)
        {
            var random = new Random(seed);
            var text = new StringBuilder(approximateBytes + 100);
            string[] words = { "lib", "python3", "perl", "gcc", "ssl", "base", "utils", "common", "dev", "data", "core", "tools", "x11", "gnome", "kde" };
            while (text.Length < approximateBytes)
                text.Append(words[random.Next(words.Length)]).Append(words[random.Next(words.Length)]).Append('-').Append(random.Next(1, 30))
                    .Append(' ').Append(random.Next(0, 10)).Append('.').Append(random.Next(0, 40)).Append('.').Append(random.Next(0, 100))
                    .Append("-").Append(random.Next(1, 9)).Append(seed % 3 == 0 ? "+deb12u1" : "").Append(" amd64\n");
            return text.ToString();
        }

        internal static string DotnetHost()
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? current = Environment.ProcessPath;
            if (current != null && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
            return "dotnet";
        }

        private static long[] Ids(IEnumerable<HistoryRunRecord> runs) => runs.Select(r => r.Id).ToArray();

        /// <summary>
        /// Outputs are read back exactly however the reader batches them (PostgreSQL reads a few hundred distinct outputs,
        /// at most some MiB, per round trip): hundreds of distinct outputs, outputs shared by many hosts and by two runs,
        /// short ones kept inline, stderr beside stdout, and outputs of several MiB (stored in chunks) that no batch may
        /// take together.
        /// </summary>
        [Fact]
        public void ManyDistinctSharedAndLargeOutputsReadBackExactlyAcrossReadBatches()
        {
            var random = new Random(15);
            string Large(int seed) => string.Concat(Enumerable.Range(0, 3 * 1024 * 1024 / 64).Select(i => $"{seed:D4} {i:D8} {random.Next():X8} the quick brown fox jumps\n"));
            var large = new[] { Large(1), Large(2), Large(3) };
            FleetResult Host(int h, string run)
            {
                // Longer than the inline limit, so they are blobs, except the "short" ones, kept in the run's packs.
                string stdout = h % 5 == 0 ? "shared by every fifth host " + new string('s', BlobContent.InlineLimit) + "\n"
                    : h % 97 == 0 ? large[h / 97 % 3]
                    : h % 7 == 0 ? $"short {h}\n"
                    : $"{run} host {h:D4} " + string.Concat(Enumerable.Repeat($"line of host {h} ", 80)) + "\n";
                string stderr = h % 3 == 0 ? $"warning on host {h:D4}: " + new string('w', BlobContent.InlineLimit) + "\n" : h % 11 == 0 ? large[0] : "";
                return Result($"h{h:D4}", stdout, stderr: stderr);
            }
            const int hosts = 700;
            var ids = new List<long>();
            using (var store = Open())
                foreach (var run in new[] { "first", "second" })
                    ids.Add(Record(store, "cat out", "all", Now.AddMinutes(ids.Count), "exec", Enumerable.Range(0, hosts).Select(h => Host(h, run)).ToArray()));

            using (var store = Open())
            {
                for (int r = 0; r < ids.Count; r++)
                {
                    var read = store.ReadResults(ids[r]).ToList();
                    var expected = Enumerable.Range(0, hosts).Select(h => Host(h, r == 0 ? "first" : "second")).ToList();
                    Assert.Equal(expected.Select(e => e.HostName), read.Select(x => x.HostName));
                    for (int h = 0; h < hosts; h++)
                    {
                        Assert.True(expected[h].StdOut == read[h].StdOut, $"run {ids[r]} host {read[h].HostName}: stdout differs");
                        Assert.True(expected[h].StdErr == read[h].StdErr, $"run {ids[r]} host {read[h].HostName}: stderr differs");
                    }
                }
                Assert.Equal(Host(582, "second").StdOut, store.ReadResults(ids[1], "H0582").Single().StdOut); // 582 = 6 x 97: a large one
                Assert.Equal(large[0], store.ReadResults(ids[0], "h0011").Single().StdErr);
            }
            // Each distinct output once, the shared and the large ones included.
            long distinct = 1 + 3 + 2 * Enumerable.Range(0, hosts).Count(h => h % 5 != 0 && h % 97 != 0 && h % 7 != 0) + Enumerable.Range(0, hosts).Count(h => h % 3 == 0);
            Assert.Equal(distinct, Count("SELECT count(*) FROM blobs"));
        }
    }

    public sealed class SqliteHistoryContractTests : HistoryBackendContract
    {
        public SqliteHistoryContractTests(ITestOutputHelper output) : base(output) { }

        protected override string Location => Path.Combine(Folder.Path, "history.db");

        protected override HistoryStore Open(HistoryStoreOptions? options = null) => HistoryStore.Open(Location, options);

        protected override long Count(string sql) => Scalar(Location, sql);

        protected override IDictionary<string, string> WriterEnvironment => new Dictionary<string, string>();
    }

    /// <summary>The same suite against a real PostgreSQL server (<see cref="PostgresServer"/>), one database per test.</summary>
    public sealed class PostgresHistoryContractTests : HistoryBackendContract
    {
        private readonly PostgresDatabase _database;

        public PostgresHistoryContractTests(ITestOutputHelper output) : base(output)
        {
            _database = PostgresServer.Shared.CreateDatabase("contract");
        }

        protected override string Location => _database.Url;

        protected override HistoryStore Open(HistoryStoreOptions? options = null)
        {
            options ??= new HistoryStoreOptions();
            // A contract test wants the server or a failure, never a spool; and its own spool folder if one were made.
            options.SpoolWhenUnreachable = false;
            options.SpoolPath = Path.Combine(Folder.Path, "spool.db");
            return HistoryStore.Open(HistoryTarget.Server(_database.Url, _database.Credential), options);
        }

        protected override long Count(string sql) => _database.Count("SET search_path = herd; " + sql);

        protected override IDictionary<string, string> WriterEnvironment => _database.PasswordEnvironment;
    }
}
