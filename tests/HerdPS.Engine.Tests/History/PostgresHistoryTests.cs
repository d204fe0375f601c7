using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using Xunit.Abstractions;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// What only a server history does, against a real PostgreSQL: the spool when it can't be reached or fails midway,
    /// the upload that records nothing twice, migrating a SQLite file, TLS settings passed through, credentials that never
    /// show, and a database that isn't ours. The network between herd and the server is a <see cref="TcpProxy"/> the test
    /// cuts; the server itself keeps running for the other tests.
    /// </summary>
    public sealed class PostgresHistoryTests : IDisposable
    {
        private readonly TempDirectory _folder = new TempDirectory();
        private readonly PostgresDatabase _database = PostgresServer.Shared.CreateDatabase("server");
        private readonly ITestOutputHelper _output;
        private readonly List<string> _notices = new List<string>();

        public PostgresHistoryTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _folder.Dispose();

        private string SpoolPath => Path.Combine(_folder.Path, "spool", "server.db");

        private HistoryStoreOptions Recording(TimeSpan? reconnect = null) => new HistoryStoreOptions
        {
            SpoolPath = SpoolPath,
            Notice = m => { lock (_notices) _notices.Add(m); },
            ReconnectInterval = reconnect ?? TimeSpan.FromHours(1),
        };

        private HistoryStoreOptions Reading() => new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false, SpoolPath = SpoolPath };

        private HistoryTarget Through(TcpProxy proxy) =>
            HistoryTarget.Server($"postgresql://{PostgresServer.HerdRole}@127.0.0.1:{proxy.Port}/{_database.Name}", _database.Credential);

        private HistoryTarget Direct => HistoryTarget.Server(_database.Url, _database.Credential);

        private long Count(string sql) => _database.Count("SET search_path = herd; " + sql);

        /// <summary>How many results the server holds (in their packs), all or one run's.</summary>
        private long Results(long? runId = null) =>
            Count("SELECT coalesce(sum(result_count), 0) FROM result_packs" + (runId is long id ? $" WHERE run_id = {id}" : ""));

        [Fact]
        public void AServerThatCantBeReachedKeepsRunsInTheSpoolWarnsOnceAndTheNextOpenUploadsThemOnce()
        {
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            proxy.Cut();
            Guid first, second;
            using (var store = HistoryStore.Open(Through(proxy), Recording()))
            {
                first = store.GetRun(Record(store, "uptime", "all", Now, results: new[] { Result("web-01"), Result("web-02", "other\n") }))!.Uuid;
                var run = store.BeginRun("exec", "df -h", "all", Now.AddMinutes(1));
                Assert.True(run.Id < 0, "a spooled run has a negative id until it is uploaded");
                run.Add(Result("web-01", "42%\n"));
                run.Complete(Now.AddMinutes(1));
                second = run.Uuid;
            }
            var notice = Assert.Single(_notices);
            _output.WriteLine(notice);
            Assert.Contains($"127.0.0.1:{proxy.Port}/{_database.Name}", notice);
            Assert.Contains(SpoolPath, notice);
            Assert.DoesNotContain(PostgresServer.Shared.Password, notice);
            Assert.True(File.Exists(SpoolPath));
            Assert.Equal("t", _database.Scalar("SELECT to_regclass('herd.runs') IS NULL")); // nothing reached the server

            proxy.Restore();
            for (int open = 0; open < 2; open++) // the second open finds nothing left to upload
            {
                using var store = HistoryStore.Open(Through(proxy), Reading());
                var runs = store.ListRuns(new HistoryQuery());
                Assert.Equal(new[] { second, first }, runs.Select(r => r.Uuid));
                Assert.All(runs, r => Assert.True(r.Id > 0));
                Assert.Equal(new[] { "web-01", "web-02" }, store.ReadResults(runs[1].Id).Select(r => r.HostName));
                Assert.Equal("other\n", store.ReadResults(runs[1].Id, "web-02").Single().StdOut);
                Assert.Equal((2, 2, true), (runs[1].HostCount, runs[1].SucceededCount, runs[1].IsComplete));
            }
            Assert.Equal(2, Count("SELECT count(*) FROM runs"));
            Assert.Equal(3, Results());
            using (var spool = SqliteHistoryBackend.Open(SpoolPath, TimeSpan.FromSeconds(10)))
                Assert.Equal((0L, 0L), spool.Count());
        }

        [Fact]
        public void AServerThatFailsMidRunGetsTheRestOfTheRunFromTheSpoolEveryResultOnce()
        {
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            long id;
            using (var store = HistoryStore.Open(Through(proxy), Recording()))
            {
                var run = store.BeginRun("exec", "rpm -qa", "group=web", Now);
                id = run.Id;
                for (int h = 0; h < 40; h++) run.Add(Result($"web-{h:D2}", Packages(h % 3))); // one batch of 32 on the server
                Assert.Equal(32, Results(id));
                proxy.Cut(); // the network goes away in the middle of the run
                for (int h = 40; h < 200; h++) run.Add(Result($"web-{h:D3}", Packages(h % 3)));
                run.Complete(Now.AddSeconds(9));
                Assert.Equal(200, run.WrittenCount); // every result is on disk somewhere
            }
            Assert.Single(_notices);
            Assert.Equal(32, Results(id));

            proxy.Restore();
            using (var store = HistoryStore.Open(Through(proxy), Reading()))
            {
                var run = store.GetRun(id)!;
                Assert.Equal((200, true), (run.HostCount, run.IsComplete));
                Assert.Equal(200, store.ReadResults(id).Count());
            }
            // Every number from 0 to 199 once: 200 results in packs whose ranges don't overlap, within 0..199.
            Assert.Equal(200, Results(id));
            Assert.Equal("0 199", _database.Scalar($"SELECT min(first_seq) || ' ' || max(last_seq) FROM herd.result_packs WHERE run_id = {id}"));
            Assert.Equal(0, Count($"SELECT count(*) FROM result_packs a JOIN result_packs b ON a.run_id = b.run_id AND a.first_seq < b.first_seq AND a.last_seq >= b.first_seq WHERE a.run_id = {id}"));
            Assert.Equal(3, Count("SELECT count(*) FROM blobs"));
        }

        /// <summary>The server-side process ids of this test's pooled connections (tagged by application_name).</summary>
        private string[] Backends(string application) =>
            _database.Scalar($"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE datname = '{_database.Name}' AND application_name = '{application}'")
                .Split(',', StringSplitOptions.RemoveEmptyEntries);

        private HistoryTarget Tagged(string application) => HistoryTarget.Server(_database.UrlWith("application_name=" + application), _database.Credential);

        [Fact]
        public void TwoStoresOpenedOneAfterTheOtherInOneProcessUseTheSameLoggedInConnection()
        {
            var application = "pool-" + Guid.NewGuid().ToString("N")[..8];
            string[] first;
            using (var store = HistoryStore.Open(Tagged(application), Recording()))
                Record(store, "uptime", "all", Now, results: Result("web-01"));
            first = Backends(application);
            Assert.NotEmpty(first); // the connection stays logged in, in the process's pool, after the store is closed
            using (var store = HistoryStore.Open(Tagged(application), Reading()))
            {
                var run = store.ListRuns(new HistoryQuery { Last = 1 }).Single();
                Assert.Equal("ok\n", store.ReadResults(run.Id).Single().StdOut);
            }
            Assert.Equal(first, Backends(application)); // no new login: the same server process answered
            // Another password is another pool, never this one's connections.
            var other = HistoryTarget.Server(_database.UrlWith("application_name=" + application), new NetworkCredential(PostgresServer.HerdRole, "wrong-" + PostgresServer.Shared.Password));
            Assert.IsNotType<HistoryServerUnreachableException>(Assert.Throws<HistoryException>(() => HistoryStore.Open(other, Reading())));
        }

        [Fact]
        public void AServerThatDroppedThePooledConnectionsBetweenTwoCallsIsReconnectedWithoutSpoolingOrRecordingTwice()
        {
            var application = "restart-" + Guid.NewGuid().ToString("N")[..8];
            var uuids = new List<Guid>();
            for (int call = 0; call < 3; call++)
            {
                using (var store = HistoryStore.Open(Tagged(application), Recording()))
                {
                    var run = store.BeginRun("exec", "uptime", "all", Now.AddMinutes(call));
                    for (int h = 0; h < 40; h++) run.Add(Result($"web-{h:D2}", Packages(h % 3)));
                    Assert.True(run.Id > 0, "recorded on the server, not spooled");
                    // What a server restart (pg_ctl restart -m fast) does to every session, here in the middle of a run:
                    // each backend is told "terminating connection due to administrator command" and goes.
                    if (call == 1) Terminate(application);
                    for (int h = 40; h < 80; h++) run.Add(Result($"web-{h:D2}", Packages(h % 3)));
                    run.Complete(Now.AddMinutes(call).AddSeconds(5));
                    uuids.Add(run.Uuid);
                }
                Terminate(application); // and between two calls, while the connections wait in the pool
            }
            Assert.Empty(_notices); // nothing went to the spool
            Assert.False(File.Exists(SpoolPath));
            using (var store = HistoryStore.Open(Tagged(application), Reading()))
            {
                var runs = store.ListRuns(new HistoryQuery());
                Assert.Equal(Enumerable.Reverse(uuids), runs.Select(r => r.Uuid));
                Assert.All(runs, r => Assert.Equal((80, 80, true), (r.HostCount, r.SucceededCount, r.IsComplete)));
                Assert.All(runs, r => Assert.Equal(80, store.ReadResults(r.Id).Count()));
            }
            Assert.Equal(240, Results());
            Assert.Equal(3, Count("SELECT count(*) FROM blobs"));
        }

        [Fact]
        public void ANetworkCutBetweenTwoCallsIsReconnectedWhenTheNetworkIsBack()
        {
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            using (var store = HistoryStore.Open(Through(proxy), Recording()))
                Record(store, "uptime", "all", Now, results: Result("web-01"));
            proxy.Cut(); // the pooled connection is cut while idle
            proxy.Restore();
            using (var store = HistoryStore.Open(Through(proxy), Recording()))
                Record(store, "uptime", "all", Now.AddMinutes(1), results: Result("web-01", "later\n"));
            Assert.Empty(_notices);
            Assert.False(File.Exists(SpoolPath));
            Assert.Equal(2, Count("SELECT count(*) FROM runs"));
            Assert.Equal(2, proxy.Connections);
        }

        /// <summary>Ends this test's server sessions as a restart does, and waits until they are gone.</summary>
        private void Terminate(string application)
        {
            _database.Scalar($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{_database.Name}' AND application_name = '{application}'");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Backends(application).Length > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the terminated sessions did not end");
                System.Threading.Thread.Sleep(20);
            }
        }

        /// <summary>An output longer than <see cref="BlobContent.InlineLimit"/>: stored as a blob, once per content.</summary>
        private static string Packages(int kind) => string.Concat(Enumerable.Repeat($"pkgs {kind} libc6 openssl coreutils\n", BlobContent.InlineLimit / 16)); // ~2 KiB

        /// <summary>
        /// A batch whose commit reached the server but whose answer never came back is also in the spool: the upload
        /// must not record it twice. Results are numbered within their run, and the server keeps each number once.
        /// </summary>
        [Fact]
        public void ABatchTheServerHasAlreadyIsNotRecordedTwiceWhenTheSpoolHasItToo()
        {
            Guid uuid;
            long id;
            using (var store = HistoryStore.Open(Direct, Reading()))
            {
                var run = store.BeginRun("exec", "uname -r", "all", Now);
                for (int h = 0; h < 32; h++) run.Add(Result($"h{h:D2}"));
                (uuid, id) = (run.Uuid, run.Id);
            }
            // The spool holds the same run from its first result on (as if the commit of 0..31 was not heard of), and more.
            using (var spool = SqliteHistoryBackend.Open(SpoolPath, TimeSpan.FromSeconds(10)))
            {
                var header = new RunHeader { Uuid = uuid, Kind = "exec", Command = "uname -r", Selection = "all", StartedUtc = Now, ControllerMachine = "m", ControllerUser = "u" };
                long spoolId = spool.BeginRun(header);
                var results = Enumerable.Range(0, 50).Select(h => new StoredResult(h, Result($"h{h:D2}"), StoredOutput.Of("ok\n"), null)).ToList();
                spool.WriteResults(spoolId, results, new RunCounts(50, 50), Now.AddSeconds(3));
            }
            using (var store = HistoryStore.Open(Direct, Reading()))
            {
                var run = store.GetRun(id)!;
                Assert.Equal((50, true), (run.HostCount, run.IsComplete));
            }
            Assert.Equal(50, Results(id));
            Assert.Equal(1, Count("SELECT count(*) FROM runs"));
        }

        [Fact]
        public void LookingAtTheHistoryWhenTheServerCantBeReachedIsAnErrorThatNamesItWithoutThePassword()
        {
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            proxy.Cut();
            var withPassword = HistoryTarget.Server($"postgresql://herd:{PostgresServer.Shared.Password}@127.0.0.1:{proxy.Port}/{_database.Name}?connect_timeout=5");
            Assert.DoesNotContain(PostgresServer.Shared.Password, withPassword.Display);
            Assert.DoesNotContain(PostgresServer.Shared.Password, withPassword.ToString());
            var error = Assert.Throws<HistoryServerUnreachableException>(() => HistoryStore.Open(withPassword, Reading()));
            _output.WriteLine(error.ToString());
            Assert.Contains($"postgresql://herd@127.0.0.1:{proxy.Port}/{_database.Name}", error.Message);
            Assert.DoesNotContain(PostgresServer.Shared.Password, error.ToString());
        }

        [Fact]
        public void AWrongPasswordIsRefusedClearlyNeverSpooledAndNeverShown()
        {
            var wrong = "not-the-" + PostgresServer.Shared.Password;
            var target = HistoryTarget.Server(_database.Url, new NetworkCredential(PostgresServer.HerdRole, wrong));
            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(target, Recording()));
            _output.WriteLine(error.ToString());
            Assert.IsNotType<HistoryServerUnreachableException>(error); // a refusal stops the command; it doesn't spool
            Assert.Contains("refused the login", error.Message);
            Assert.DoesNotContain(wrong, error.ToString());
            Assert.False(File.Exists(SpoolPath));
        }

        [Fact]
        public void TlsSettingsPassThroughVerifyFullWithTheRightCaConnectsEncryptedAndWithAnotherCaIsRefused()
        {
            var server = PostgresServer.Shared;
            if (!server.IsLocal) return; // an external server's certificate is its own business
            var verified = HistoryTarget.Server(_database.UrlWith($"sslmode=verify-full&sslrootcert={Uri.EscapeDataString(server.CaCertificatePath)}"), _database.Credential);
            using (var store = HistoryStore.Open(verified, Reading()))
            {
                Record(store, "uptime", "all", Now, results: Result("h"));
                Assert.Equal("t", _database.Scalar($"SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '{_database.Name}' AND a.usename = 'herd'"));
            }
            // Tagged: the verified connection above stays open in this process's pool (SharedDataSources).
            var plain = HistoryTarget.Server(_database.UrlWith("sslmode=disable&application_name=plain"), _database.Credential);
            using (var store = HistoryStore.Open(plain, Reading()))
            {
                store.ListRuns(new HistoryQuery { Last = 1 });
                Assert.Equal("f", _database.Scalar($"SELECT bool_or(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '{_database.Name}' AND a.usename = 'herd' AND a.application_name = 'plain'"));
            }
            var otherCa = HistoryTarget.Server($"Host=127.0.0.1;Port={server.Port};Database={_database.Name};Username=herd;SSL Mode=VerifyFull;Root Certificate={server.OtherCaCertificatePath}", _database.Credential);
            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(otherCa, Recording()));
            _output.WriteLine(error.ToString());
            Assert.IsNotType<HistoryServerUnreachableException>(error); // a certificate that doesn't verify is a server we must not use
            Assert.False(File.Exists(SpoolPath));
        }

        [Fact]
        public void ASchemaNamedHerdThatIsNotOursIsLeftAloneAndANewerOneIsRefused()
        {
            var foreign = PostgresServer.Shared.CreateDatabase("foreign");
            foreign.Scalar("CREATE SCHEMA herd AUTHORIZATION herd; CREATE TABLE herd.runs (id int); SELECT 1");
            var error = Assert.Throws<HistoryException>(() => HistoryStore.Open(HistoryTarget.Server(foreign.Url, foreign.Credential), Reading()));
            Assert.Contains("not a HerdPS history", error.Message);
            Assert.Equal("1", foreign.Scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'herd'"));

            using (HistoryStore.Open(Direct, Reading())) { }
            _database.Scalar("UPDATE herd.meta SET value = '99' WHERE key = 'schema_version'; SELECT 1");
            var newer = Assert.Throws<HistoryException>(() => HistoryStore.Open(Direct, Reading()));
            Assert.Contains("newer HerdPS", newer.Message);
        }

        [Fact]
        public void ManyStoresCreatingTheSchemaAtOnceMigrateItOnce()
        {
            var fresh = PostgresServer.Shared.CreateDatabase("race");
            var target = HistoryTarget.Server(fresh.Url, fresh.Credential);
            var errors = new List<Exception>();
            var threads = Enumerable.Range(0, 8).Select(_ => new System.Threading.Thread(() =>
            {
                try { using (HistoryStore.Open(target, Reading())) { } }
                catch (Exception e) { lock (errors) errors.Add(e); }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Empty(errors);
            Assert.Equal(HerdPS.History.PostgreSql.PostgresSchema.CurrentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), fresh.Scalar("SELECT value FROM herd.meta WHERE key = 'schema_version'"));
        }

        /// <summary>
        /// herd history migrate: a SQLite history (runs, a watch's iterations, snapshots) copied into the server once;
        /// copying again changes nothing, and everything reads back the same.
        /// </summary>
        [Fact]
        public void MigratingASqliteHistoryCopiesItOnceWithItsWatchesAndSnapshots()
        {
            var file = Path.Combine(_folder.Path, "history.db");
            var big = HistoryBackendContract.PackageList(2 * StoredOutput.ChunkSize + 99, seed: 8);
            using (var store = HistoryStore.Open(file, new HistoryStoreOptions { Retention = null, ControllerMachine = "laptop", ControllerUser = "alice" }))
            {
                Record(store, "uptime", "all", Now.AddHours(-3), results: new[] { Result("web-01"), Result("web-02", big) });
                var first = store.BeginRun("watch", "df -h", "group=web", Now.AddHours(-2), iteration: 1);
                first.Add(Result("web-01", "40%\n"));
                first.Complete(Now.AddHours(-2));
                var second = store.BeginRun("watch", "df -h", "group=web", Now.AddHours(-1), watchId: first.Id, iteration: 2);
                second.Add(Result("web-01", "41%\n"));
                second.Complete(Now.AddHours(-1));
                var unfinished = store.BeginRun("exec", "sleep 600", "all", Now);
                unfinished.Add(Result("web-01", ""));
                unfinished.Flush();
                store.SaveSnapshot(new FleetSnapshot { TakenUtc = Now, Selection = "group=web", Hosts = { new HostSnapshot { HostName = "web-01", Status = SnapshotHostStatus.Captured, Kernel = "6.1" } } });
            }

            var done = FleetHistory.Migrate(HistoryTarget.File(file), Direct);
            Assert.Equal((4, 0, 0, 1), (done.RunsAdded, done.RunsCompleted, done.RunsAlreadyThere, done.SnapshotsAdded));
            var again = FleetHistory.Migrate(HistoryTarget.File(file), Direct);
            Assert.Equal((0, 0, 4, 0, 1), (again.RunsAdded, again.RunsCompleted, again.RunsAlreadyThere, again.SnapshotsAdded, again.SnapshotsAlreadyThere));
            Assert.Equal(4, Count("SELECT count(*) FROM runs"));
            Assert.Equal(5, Results());

            using (var local = HistoryStore.Open(file, Reading()))
            using (var server = HistoryStore.Open(Direct, Reading()))
            {
                var localRuns = local.ListRuns(new HistoryQuery());
                var serverRuns = server.ListRuns(new HistoryQuery());
                Assert.Equal(localRuns.Select(r => (r.Uuid, r.Command, r.HostCount, r.IsComplete, r.Iteration, r.Controller)),
                             serverRuns.Select(r => (r.Uuid, r.Command, r.HostCount, r.IsComplete, r.Iteration, r.Controller)));
                var watch = serverRuns.Where(r => r.Kind == "watch").OrderBy(r => r.Iteration).ToList();
                Assert.Equal(watch[0].Id, watch[1].WatchId); // linked by the server's own id
                Assert.Equal(watch[0].Id, watch[0].WatchId);
                foreach (var (l, s) in localRuns.Zip(serverRuns))
                    Assert.Equal(local.ReadResults(l.Id).Select(r => (r.HostName, r.StdOut)), server.ReadResults(s.Id).Select(r => (r.HostName, r.StdOut)));
                Assert.Equal("6.1", server.GetSnapshot(server.ListSnapshots().Single().Id)!.Hosts.Single().Kernel);
            }
        }

        /// <summary>
        /// A server history of schema 3 (a row per result, short outputs in the row, longer ones in blobs) is packed on the
        /// first open by this HerdPS: every result reads back with the same fields, outputs and output hash (kept where
        /// the outputs don't give it), the outputs in blobs stay and are referred to by their runs, the old table goes, and
        /// opening again changes nothing.
        /// </summary>
        [Fact]
        public void AServerHistoryOfSchemaThreeIsPackedOnceAndEveryResultReadsBackTheSame()
        {
            // The schema as steps 1 to 3 made it, owned by the role herd logs in as (as its migrations would have left it).
            var steps = string.Join(";\n", Enumerable.Range(1, 3).Select(HerdPS.History.PostgreSql.PostgresSchema.StepSql));
            _database.Scalar($"SET ROLE {PostgresServer.HerdRole}; CREATE SCHEMA herd; {steps};\n" +
                             "INSERT INTO herd.meta (key, value) VALUES ('schema_version', '3'); SELECT 1");
            var longOutputs = Enumerable.Range(0, 3).Select(k => HistoryBackendContract.PackageList(1500 + 100 * k, seed: 30 + k)).ToArray();
            _database.Scalar("INSERT INTO herd.blobs (hash, raw_length, stored_length, encoding, data) VALUES " +
                             string.Join(", ", longOutputs.Select(t => $"('\\x{Hex(Sha256(t))}', {Utf8(t).Length}, {Utf8(t).Length}, 0, '\\x{Convert.ToHexString(Utf8(t))}')")) +
                             "; SELECT 1");
            _database.Scalar("INSERT INTO herd.runs (id, uuid, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count) VALUES " +
                             $"(1, '{Guid.NewGuid()}', 'exec', 'rpm -qa', 'all', '2026-02-28T09:00:00Z', '2026-02-28T09:01:00Z', 300, 240, 60), " +
                             $"(2, '{Guid.NewGuid()}', 'exec', 'uptime', 'all', '2026-02-28T10:00:00Z', '2026-02-28T10:00:05Z', 2, 2, 0), " +
                             $"(3, '{Guid.NewGuid()}', 'exec', 'uptime', 'all', '2026-02-28T11:00:00Z', '2026-02-28T11:00:05Z', 1, 0, 1); SELECT 1");

            // Run 1: 300 results (more than a pack), every kind of field and output; run 2: a host in another case, an output of run 1.
            var expected = new Dictionary<long, List<FleetResult>> { [1] = new List<FleetResult>(), [2] = new List<FleetResult>(), [3] = new List<FleetResult>() };
            var rows = new List<string>();
            void Row(long run, int seq, FleetResult r, bool hashDerived = true)
            {
                r.Command = run == 1 ? "rpm -qa" : "uptime";
                r.OutputHash = hashDerived ? HerdPS.Transport.OutputCapture.HashOf(r.StdOut, r.StdErr, r.ExitCode) : "a hash from an older HerdPS";
                expected[run].Add(r);
                // Schema 3 kept an output of up to 96 bytes in the row, a longer one in a blob (empty: neither).
                (string Blob, string Text) Output(string text) => text.Length == 0 ? ("NULL", "NULL")
                    : Utf8(text).Length > 96 ? ($"(SELECT id FROM herd.blobs WHERE hash = '\\x{Hex(Sha256(text))}')", "NULL") : ("NULL", Literal(text));
                var (outBlob, outText) = Output(r.StdOut);
                var (errBlob, errText) = Output(r.StdErr);
                rows.Add($"({run}, {seq}, {Literal(r.HostName)}, '{r.Status}', {(r.ExitCode is int c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "NULL")}, " +
                         $"{outBlob}, {errBlob}, {ResultFields.DurationMs(r.Duration).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, {Literal(r.OutputHash)}, " +
                         $"{(r.Truncated ? "true" : "false")}, '{r.ErrorKind}', {(r.ErrorMessage is string m ? Literal(m) : "NULL")}, {r.Attempts}, " +
                         $"'{r.StartTime:yyyy-MM-ddTHH:mm:ss.ffffff}Z', {Literal(ResultFields.StringListJson(r.Groups.ToArray()))}, " +
                         $"{Literal(ResultFields.StringListJson(r.Tags.ToArray()))}, {Literal(r.Transport)}, {outText}, {errText})");
            }
            for (int i = 0; i < 300; i++)
            {
                var r = Result($"web-{(i * 7) % 300:D3}", stdout: (i % 5) switch { 0 => longOutputs[i % 3], 2 => "", _ => $"{i} ok\n" },
                    stderr: (i % 5) switch { 1 => "warning: übel\n", 3 => longOutputs[(i + 1) % 3], _ => "" },
                    status: i % 5 == 2 ? FleetStatus.Unreachable : FleetStatus.Succeeded, exitCode: i % 5 == 2 ? null : i % 7);
                r.StartTime = Now.AddTicks(i * 12_340L);
                r.Duration = TimeSpan.FromTicks(1_234_560L + i * 10);
                r.Attempts = 1 + i % 3;
                r.Truncated = i % 11 == 0;
                r.Transport = i % 4 == 0 ? "" : "openssh";
                r.Groups = i % 2 == 0 ? new[] { "web", "ü \"quoted\"" } : Array.Empty<string>();
                r.Tags = i % 3 == 0 ? new[] { "role:db" } : Array.Empty<string>();
                if (i % 5 == 2) (r.ErrorKind, r.ErrorMessage) = (FleetErrorKind.ConnectionRefused, "connect to port 22: refused");
                Row(1, i, r, hashDerived: i % 5 != 4);
            }
            Row(2, 0, Result("WEB-001", stdout: longOutputs[0]));
            Row(2, 1, Result("db-01", stdout: "up 3 days\n"));
            // Run 3: a status a newer HerdPS wrote. Packed as it is, it is the error it was before on reading, never a guess.
            Row(3, 0, Result("db-02"));
            rows[^1] = rows[^1].Replace("'Succeeded'", "'Paused'");
            foreach (var chunk in rows.Chunk(40))
                _database.Scalar("INSERT INTO herd.results (run_id, seq, host, status, exit_code, stdout_blob, stderr_blob, duration_ms, output_hash, truncated, " +
                                 "error_kind, error_message, attempts, start_utc, groups, tags, transport, stdout_text, stderr_text) VALUES " +
                                 string.Join(", ", chunk) + "; SELECT 1");
            _database.Scalar("SELECT setval(pg_get_serial_sequence('herd.runs', 'id'), 3)");

            string State() => _database.Scalar(
                "SELECT (SELECT md5(string_agg(run_id || ':' || first_seq || ':' || last_seq || ':' || result_count || ':' || host_ids::text || ':' || md5(data), ',' ORDER BY run_id, first_seq)) FROM herd.result_packs) || " +
                "(SELECT md5(string_agg(run_id || ':' || blob_id, ',' ORDER BY run_id, blob_id)) FROM herd.run_blobs) || " +
                "(SELECT md5(string_agg(id || ':' || name, ',' ORDER BY id)) FROM herd.hosts) || (SELECT count(*) FROM herd.blobs)");
            string? before = null;
            for (int open = 0; open < 2; open++)
            {
                using (var store = HistoryStore.Open(Direct, Reading()))
                    foreach (var run in new long[] { 1, 2 })
                    {
                        var read = store.ReadResults(run).ToList();
                        var want = expected[run].OrderBy(r => r.HostName, StringComparer.Ordinal).ToList();
                        Assert.Equal(want.Select(Fields), read.Select(Fields));
                    }
                Assert.Equal("t", _database.Scalar("SELECT to_regclass('herd.results') IS NULL"));
                Assert.Equal("4", _database.Scalar("SELECT value FROM herd.meta WHERE key = 'schema_version'"));
                using (var store = HistoryStore.Open(Direct, Reading()))
                {
                    var error = Assert.Throws<HistoryException>(() => store.ReadResults(3).ToList());
                    Assert.Contains("run 3, host 'db-02': status 'Paused' is unknown to this HerdPS", error.Message);
                }
                Assert.Equal(303, Results());
                Assert.Equal(4, Count("SELECT count(*) FROM result_packs")); // 256 + 44 for run 1, one each for runs 2 and 3
                Assert.Equal(3, Count("SELECT count(*) FROM blobs")); // every output in a blob is still referred to
                Assert.Equal(4, Count("SELECT count(*) FROM run_blobs")); // run 1 refers to all three, run 2 to one
                Assert.Equal(302, Count("SELECT count(*) FROM hosts")); // web-001 and WEB-001 are one host
                var state = State();
                if (before != null) Assert.Equal(before, state); // the second open changed nothing
                before = state;
            }
            using (var store = HistoryStore.Open(Direct, Reading()))
            {
                Assert.Equal(new long[] { 2, 1 }, store.ListRuns(new HistoryQuery { HostName = "web-001" }).Select(r => r.Id));
                Assert.Equal(new[] { "WEB-001", "web-001" }, store.ReadResults(2, "Web-001").Concat(store.ReadResults(1, "Web-001")).Select(r => r.HostName));
                // Run 1 pruned: the outputs only it used go; the one run 2 shares stays.
                Assert.Equal(1, store.Prune(TimeSpan.FromMinutes(30), new DateTime(2026, 2, 28, 10, 0, 0, DateTimeKind.Utc)));
                Assert.Equal(1, Count("SELECT count(*) FROM blobs"));
                Assert.Equal(longOutputs[0], store.ReadResults(2, "web-001").Single().StdOut);
            }

            static (string, string, string, FleetStatus, int?, TimeSpan, string, bool, FleetErrorKind, string?, int, DateTime, string, string, string) Fields(FleetResult r)
                => (r.HostName, r.Command, r.Transport, r.Status, r.ExitCode, r.Duration, r.OutputHash, r.Truncated, r.ErrorKind, r.ErrorMessage, r.Attempts,
                    r.StartTime.ToUniversalTime(), string.Join("|", r.Groups) + "/" + string.Join("|", r.Tags), r.StdOut, r.StdErr);
        }

        private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);
        private static byte[] Sha256(string text) => System.Security.Cryptography.SHA256.HashData(Utf8(text));
        private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
        private static string Literal(string text) => "'" + text.Replace("'", "''") + "'";
    }
}
