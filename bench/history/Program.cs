using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using HerdPS;
using HerdPS.History;
using HerdPS.Tests.Fleet;

namespace HerdPS.Bench.History
{
    /// <summary>
    /// bench/history.sh: what the history costs, on SQLite and on PostgreSQL (a server this program starts with its
    /// durability settings on, or $HERD_TEST_POSTGRES). Prints markdown for bench/results.md.
    ///   storage  — bytes stored per run of 200 hosts: the same 5 MiB, different package lists, short outputs, a repeat
    ///   writers  — 8 processes x 2 threads recording runs of 200 hosts at once: time, results/s, slowest batch
    ///   scale    — 100k runs and 10M host results: herd history --last 20 and a per-host query, in-process and as herd
    ///   connect  — what one herd process pays to reach the history: SQLite, PostgreSQL with and without TLS, herd --help
    /// </summary>
    internal static class Program
    {
        private static string _work = "";
        private static string _herd = "", _writer = "", _pwsh = "", _module = "";

        private static int Main(string[] args)
        {
            var what = args.Length > 0 ? args[0] : "all";
            _herd = Arg(args, "--herd") ?? "";
            _writer = Arg(args, "--writer") ?? "";
            _pwsh = Arg(args, "--pwsh") ?? "";
            _module = Arg(args, "--module") ?? "";
            int runs = int.Parse(Arg(args, "--runs") ?? "100000", CultureInfo.InvariantCulture);
            int hostsPerRun = int.Parse(Arg(args, "--hosts-per-run") ?? "100", CultureInfo.InvariantCulture);
            int writerRuns = int.Parse(Arg(args, "--writer-runs") ?? "5", CultureInfo.InvariantCulture);
            Environment.SetEnvironmentVariable("HERD_TEST_POSTGRES_DURABLE", "1");
            _work = Directory.CreateTempSubdirectory("historybench-").FullName;
            try
            {
                var server = PostgresServer.Shared;
                Console.WriteLine($"PostgreSQL: {server.Admin("SHOW server_version")} ({(server.IsLocal ? "started by the bench, fsync on" : "$HERD_TEST_POSTGRES")}); " +
                                  $"SQLite: {SqliteVersion()}; {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
                Console.WriteLine();
                if (what is "all" or "storage") Storage();
                if (what is "all" or "writers") Writers(writerRuns);
                if (what is "all" or "scale") Scale(runs, hostsPerRun);
                if (what is "all" or "connect") Connect();
                return 0;
            }
            finally
            {
                PostgresServer.Shared.Stop();
                try { Directory.Delete(_work, recursive: true); } catch (Exception) { }
            }
        }

        private static string? Arg(string[] args, string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        // ---------------------------------------------------------------- storage

        private sealed class Backend
        {
            public string Name = "";
            public Func<HistoryStore> Open = () => throw new InvalidOperationException();
            public Func<long> Size = () => 0;
        }

        private static IEnumerable<Backend> Backends(string purpose)
        {
            var file = Path.Combine(_work, purpose + ".db");
            yield return new Backend
            {
                Name = "SQLite",
                Open = () => HistoryStore.Open(file, new HistoryStoreOptions { Retention = null }),
                Size = () => SqliteSize(file),
            };
            var db = PostgresServer.Shared.CreateDatabase(purpose);
            var target = HistoryTarget.Server(db.Url, db.Credential);
            yield return new Backend
            {
                Name = "PostgreSQL",
                Open = () => HistoryStore.Open(target, new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false }),
                Size = () => long.Parse(db.Scalar("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
                                                  "WHERE n.nspname = 'herd' AND c.relkind IN ('r', 'm')"), CultureInfo.InvariantCulture),
            };
        }

        private static long SqliteSize(string file)
        {
            using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
            {
                c.Open();
                using var checkpoint = c.CreateCommand();
                checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                checkpoint.ExecuteNonQuery();
                using var used = c.CreateCommand();
                used.CommandText = "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())";
                long pages = (long)used.ExecuteScalar()!;
                using var size = c.CreateCommand();
                size.CommandText = "PRAGMA page_size";
                return pages * (long)size.ExecuteScalar()!;
            }
        }

        private static void Storage()
        {
            Console.WriteLine("### Bytes stored per run of 200 hosts");
            Console.WriteLine();
            Console.WriteLine("Growth of the history for one run (SQLite: used pages after a checkpoint; PostgreSQL: the herd tables with their");
            Console.WriteLine("indexes and TOAST), against the outputs' raw size, and for SQLite against what schema 3 (one text copy of each");
            Console.WriteLine("host's output in its results row) stored for the same run, measured the same way in a schema 3 file.");
            Console.WriteLine();
            Console.WriteLine("| run of 200 hosts | raw output | backend | stored for the run | stored / raw | recording took | schema 3 stored | schema 3 took |");
            Console.WriteLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
            var fiveMiB = PackageList(5 * 1024 * 1024, seed: 1);
            // Small runs are measured over 25 runs each (the average is shown), so a page more or less doesn't decide it.
            var scenarios = new (string name, int repeat, Func<int, int, string> output)[]
            {
                ("the same 5 MiB package list", 1, (r, h) => fiveMiB),
                ("different ~100 KiB package lists", 1, (r, h) => PackageList(100 * 1024, seed: 100 + h)),
                ("short different outputs (uptime), per run of 25", 25, (r, h) => $" 09:{r:D2}:0{h % 10} up {h} days,  3:{h % 60:D2},  2 users,  load average: 0.{h % 100:D2}, 0.{r:D2}, 0.09\n"),
                ("the same short output (systemctl is-active), per run of 25", 25, (r, h) => "active\n"),
                ("the same 5 MiB again, a second run", 1, (r, h) => fiveMiB),
            };
            var old = Path.Combine(_work, "schema3.db");
            SqliteExec(old, SchemaThree);
            foreach (var backend in Backends("storage").ToList())
            {
                using var store = backend.Open();
                bool sqlite = backend.Name == "SQLite";
                foreach (var (name, repeat, output) in scenarios)
                {
                    long before = backend.Size(), raw = 0;
                    var took = TimeSpan.Zero;
                    var threeBefore = SqliteSize(old);
                    var threeTook = TimeSpan.Zero;
                    for (int r = 0; r < repeat; r++)
                    {
                        // Outputs and their hashes (as a run computes them: stdout, empty stderr, exit 0) are made before the
                        // clock starts: a run has them already.
                        var texts = Enumerable.Range(0, 200).Select(h => output(r, h)).ToArray();
                        var byText = new Dictionary<string, string>(StringComparer.Ordinal);
                        var hashes = texts.Select(t => byText.TryGetValue(t, out var known) ? known : byText[t] = HerdPS.Transport.OutputCapture.HashOf(t, "", 0)).ToArray();
                        raw += texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
                        var clock = Stopwatch.StartNew();
                        var run = store.BeginRun("exec", name, "all", DateTime.UtcNow);
                        for (int h = 0; h < 200; h++)
                        {
                            run.Add(new FleetResult
                            {
                                HostName = $"host-{h:D3}", Command = name, Status = FleetStatus.Succeeded, ExitCode = 0, StdOut = texts[h],
                                StartTime = DateTime.UtcNow, Duration = TimeSpan.FromMilliseconds(100), Attempts = 1, OutputHash = hashes[h],
                            });
                        }
                        run.Complete(DateTime.UtcNow);
                        took += clock.Elapsed;
                        if (sqlite) threeTook += SchemaThreeRun(old, name, texts, hashes);
                    }
                    long grown = (backend.Size() - before) / repeat;
                    raw /= repeat;
                    var three = sqlite ? (Bytes((SqliteSize(old) - threeBefore) / repeat), $"{threeTook.TotalSeconds / repeat:0.00} s") : ("", "");
                    Console.WriteLine($"| {name} | {Bytes(raw)} | {backend.Name} | {Bytes(grown)} | {100.0 * grown / raw:0.0}% | {took.TotalSeconds / repeat:0.00} s | {three.Item1} | {three.Item2} |");
                }
            }
            Console.WriteLine();
        }

        // The results table as schema 3 had it: every output a text column of its row.
        private const string SchemaThree = @"
            PRAGMA journal_mode = WAL;
            CREATE TABLE runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, command TEXT NOT NULL, selection TEXT NOT NULL, started_utc TEXT NOT NULL,
                finished_utc TEXT, host_count INTEGER NOT NULL DEFAULT 0, succeeded_count INTEGER NOT NULL DEFAULT 0, failed_count INTEGER NOT NULL DEFAULT 0,
                watch_id INTEGER, iteration INTEGER);
            CREATE TABLE results (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, host TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER,
                stdout TEXT NOT NULL, stderr TEXT NOT NULL, duration_ms REAL NOT NULL, output_hash TEXT NOT NULL, truncated INTEGER NOT NULL DEFAULT 0,
                error_kind TEXT NOT NULL DEFAULT 'None', error_message TEXT, attempts INTEGER NOT NULL DEFAULT 1, start_utc TEXT NOT NULL,
                groups TEXT NOT NULL DEFAULT '[]', tags TEXT NOT NULL DEFAULT '[]');
            CREATE INDEX results_by_run ON results (run_id, host);";

        private static TimeSpan SchemaThreeRun(string file, string name, string[] texts, string[] hashes)
        {
            var clock = Stopwatch.StartNew();
            using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
            {
                c.Open();
                using var run = c.CreateCommand();
                run.CommandText = "INSERT INTO runs (kind, command, selection, started_utc) VALUES ('exec', $c, 'all', '2026-01-01T00:00:00.0000000Z') RETURNING id";
                run.Parameters.AddWithValue("$c", name);
                long id = (long)run.ExecuteScalar()!;
                for (int batch = 0; batch < 200; batch += 32)
                {
                    using var tx = c.BeginTransaction();
                    for (int h = batch; h < Math.Min(200, batch + 32); h++)
                    {
                        using var insert = c.CreateCommand();
                        insert.Transaction = tx;
                        insert.CommandText = "INSERT INTO results (run_id, host, status, exit_code, stdout, stderr, duration_ms, output_hash, start_utc) " +
                                             "VALUES ($r, $h, 'Succeeded', 0, $o, '', 100, $x, '2026-01-01T00:00:00.0000000Z')";
                        insert.Parameters.AddWithValue("$r", id);
                        insert.Parameters.AddWithValue("$h", $"host-{h:D3}");
                        insert.Parameters.AddWithValue("$o", texts[h]);
                        insert.Parameters.AddWithValue("$x", hashes[h]);
                        insert.ExecuteNonQuery();
                    }
                    tx.Commit();
                }
            }
            return clock.Elapsed;
        }

        // ---------------------------------------------------------------- writers

        private static void Writers(int runsPerThread)
        {
            const int Processes = 8, Threads = 2, Hosts = 200;
            Console.WriteLine($"### Many writers: {Processes} processes x {Threads} threads, each recording {runsPerThread} runs of {Hosts} hosts");
            Console.WriteLine();
            Console.WriteLine("All start at once into a new history (creating its schema too), batches of 32 results, listing the last 5 runs");
            Console.WriteLine("between runs. \"slowest batch\" is the longest any one Add or Complete call waited, over all writers; \"after the");
            Console.WriteLine("first run\" leaves out each thread's first run, which also opened the history, raced to create it and compiled the code.");
            Console.WriteLine("p50 / p90 / p99 are over every call that wrote a batch or completed a run, after each thread's first run.");
            Console.WriteLine();
            Console.WriteLine("| backend | results | wall time | results/s | slowest batch | after the first run | writes p50 / p90 / p99 | every row there once |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var (name, location, env, count) in new (string, string, Dictionary<string, string>, Func<string, long>)[]
            {
                ("SQLite", Path.Combine(_work, "writers.db"), new Dictionary<string, string>(), sql => SqliteScalar(Path.Combine(_work, "writers.db"), sql)),
                PostgresWriters(),
            })
            {
                var clock = Stopwatch.StartNew();
                var writers = Enumerable.Range(0, Processes).Select(w =>
                {
                    var psi = ProcessRunner.StartInfo("dotnet", new[] { _writer, location, $"w{w}", $"{runsPerThread}", $"{Hosts}", "32", $"{Threads}" });
                    foreach (var e in env) psi.Environment[e.Key] = e.Value;
                    return Process.Start(psi)!;
                }).ToList();
                clock.Restart();
                foreach (var w in writers) w.StandardInput.WriteLine("go");
                var outputs = writers.Select(w => (Out: w.StandardOutput.ReadToEndAsync(), Err: w.StandardError.ReadToEndAsync())).ToList();
                double slowest = 0, slowestWarm = 0;
                var waits = new List<double>();
                for (int i = 0; i < writers.Count; i++)
                {
                    writers[i].WaitForExit();
                    if (writers[i].ExitCode != 0) throw new InvalidOperationException($"writer failed: {outputs[i].Err.Result}");
                    var text = outputs[i].Out.Result;
                    double After(string label) => double.Parse(text.Substring(text.LastIndexOf(label, StringComparison.Ordinal) + label.Length).Split(' ')[0], CultureInfo.InvariantCulture);
                    slowest = Math.Max(slowest, After("slowest batch "));
                    slowestWarm = Math.Max(slowestWarm, After("after the first run "));
                    const string WaitsLabel = "write waits ms: ";
                    int at = text.IndexOf(WaitsLabel, StringComparison.Ordinal);
                    if (at >= 0)
                        waits.AddRange(text.Substring(at + WaitsLabel.Length).Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                            .Select(w => double.Parse(w, CultureInfo.InvariantCulture)));
                }
                clock.Stop();
                long expected = (long)Processes * Threads * runsPerThread * Hosts;
                // Every result there once: as many as written, and each run's numbers 0..n-1 with n its results.
                long results = count("SELECT coalesce(sum(result_count), 0) FROM result_packs");
                long distinct = count("SELECT coalesce(sum(n), 0) FROM (SELECT max(last_seq) + 1 AS n FROM result_packs GROUP BY run_id HAVING max(last_seq) + 1 = sum(result_count)) x");
                waits.Sort();
                double Percentile(double p) => waits.Count == 0 ? double.NaN : waits[Math.Min(waits.Count - 1, (int)Math.Ceiling(p * waits.Count) - 1)];
                Console.WriteLine($"| {name} | {results} | {clock.Elapsed.TotalSeconds:0.0} s | {results / clock.Elapsed.TotalSeconds:0} | {slowest:0} ms | {slowestWarm:0} ms | " +
                                  $"{Percentile(0.5):0} / {Percentile(0.9):0} / {Percentile(0.99):0} ms | {(results == expected && distinct == expected ? "yes" : $"NO: {results} of {expected}")} |");
            }
            Console.WriteLine();
        }

        private static (string, string, Dictionary<string, string>, Func<string, long>) PostgresWriters()
        {
            var db = PostgresServer.Shared.CreateDatabase("writers");
            return ("PostgreSQL", db.Url, new Dictionary<string, string>(db.PasswordEnvironment), sql => db.Count("SET search_path = herd; " + sql));
        }

        // ---------------------------------------------------------------- scale

        private static void Scale(int runs, int hostsPerRun)
        {
            const int Outputs = 1000;
            long results = (long)runs * hostsPerRun;
            Console.WriteLine($"### Queries at {runs:N0} runs and {results:N0} host results");
            Console.WriteLine();
            Console.WriteLine($"Runs of {hostsPerRun} hosts out of a fleet of {FleetSize} (each host in {results / FleetSize:N0} runs), {Outputs} distinct outputs, written");
            Console.WriteLine("straight into the tables; then each query 25 times warm (median, and the slowest), through the engine (HistoryStore), and");
            Console.WriteLine("as a whole `herd history` process (the herd bench/history.sh publishes: process start, connecting and the query).");
            Console.WriteLine();
            Console.WriteLine("`herd --help` is the process start alone, for comparison. PostgreSQL: TLS (sslmode prefer), SCRAM password.");
            Console.WriteLine();
            Console.WriteLine("| backend | size | load took | `--last 20` (engine) | `--host h-0042` last 20 (engine) | the same with its results | `herd history --last 20` | `herd history --host h-0042` | `herd --help` |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

            var file = Path.Combine(_work, "scale.db");
            using (HistoryStore.Open(file, new HistoryStoreOptions { Retention = null })) { }
            var clock = Stopwatch.StartNew();
            LoadScaleSqlite(file, runs, hostsPerRun, FleetSize, Outputs);
            var sqliteLoad = clock.Elapsed;
            ScaleRow("SQLite", () => HistoryStore.Open(file, new HistoryStoreOptions { Retention = null }), file, new Dictionary<string, string>(),
                new FileInfo(file).Length, sqliteLoad);

            var db = PostgresServer.Shared.CreateDatabase("scale");
            var target = HistoryTarget.Server(db.Url, db.Credential);
            using (HistoryStore.Open(target, new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false })) { }
            clock.Restart();
            LoadScalePostgres(db, runs, hostsPerRun, FleetSize, Outputs);
            var pgLoad = clock.Elapsed;
            long pgSize = long.Parse(db.Scalar("SELECT pg_database_size(current_database())"), CultureInfo.InvariantCulture);
            _transactions = () => long.Parse(db.Scalar("SELECT pg_stat_force_next_flush(); SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()").Split('\n')[^1], CultureInfo.InvariantCulture);
            ScaleRow("PostgreSQL", () => HistoryStore.Open(target, new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false }), db.Url,
                new Dictionary<string, string>(db.PasswordEnvironment), pgSize, pgLoad);
            Console.WriteLine();
        }

        private static Func<long>? _transactions;

        /// <summary>Transactions the server counted during one call (every statement outside a transaction is one, a batch too): its round trips, about.</summary>
        private static string RoundTrips(Func<int> call)
        {
            call();
            System.Threading.Thread.Sleep(11000); // an idle session publishes its counters within 10 s (PGSTAT_IDLE_INTERVAL)
            long before = _transactions!();
            call();
            System.Threading.Thread.Sleep(11000);
            long after = _transactions!();
            return (after - before - 1).ToString(CultureInfo.InvariantCulture); // less the counting query's own
        }

        private static void ScaleRow(string name, Func<HistoryStore> open, string location, Dictionary<string, string> env, long size, TimeSpan load)
        {
            using var store = open();
            var last = Time(() => store.ListRuns(new HistoryQuery { Last = 20 }).Count);
            var host = Time(() => store.ListRuns(new HistoryQuery { Last = 20, HostName = "h-0042" }).Count);
            var hostResults = Time(() => FleetHistory.GetRunsWithResults(store, new HistoryQuery { Last = 20, HostName = "h-0042" }).Sum(r => r.Results.Count));
            // What Get-FleetHistory -Last 20 does: the 20 runs with all their results, in an open store, and as a cmdlet call
            // (a store opened and closed around it), with the transactions (round trips) one call costs on PostgreSQL.
            int LastWithResults(HistoryStore s) => FleetHistory.GetRunsWithResults(s, new HistoryQuery { Last = 20 }).Sum(r => r.Results.Count);
            var lastResults = Time(() => LastWithResults(store), 10);
            var lastResultsCall = Time(() => { using var s = open(); return LastWithResults(s); }, 10);
            var lastCall = Time(() => { using var s = open(); return s.ListRuns(new HistoryQuery { Last = 20 }).Count; }, 25);
            var trips = _transactions != null ? RoundTrips(() => LastWithResults(store)) : "-";
            var cliLast = _herd.Length > 0 ? Time(() => Herd(location, env, "history", "--last", "20"), 10) : "-";
            var cliHost = _herd.Length > 0 ? Time(() => Herd(location, env, "history", "--host", "h-0042"), 10) : "-";
            var cliHelp = _herd.Length > 0 ? Time(() => Herd(location, env, "--help"), 10) : "-";
            var rare = Time(() => store.ListRuns(new HistoryQuery { Last = 20, HostName = $"h-{FleetSize:D4}" }).Count);
            var cliRare = _herd.Length > 0 ? Time(() => Herd(location, env, "history", "--host", $"h-{FleetSize:D4}"), 10) : "-";
            Console.WriteLine($"| {name} | {Bytes(size)} | {load.TotalSeconds:0} s | {last} | {host} | {hostResults} | {cliLast} | {cliHost} | {cliHelp} |");
            Console.Error.WriteLine($"{name}: a host in one run of all, `--host h-{FleetSize:D4}` last 20: engine {rare}, herd history {cliRare}");
            Console.Error.WriteLine($"{name}: `--last 20` with its results (engine, open store) {lastResults}; a store opened per call {lastResultsCall}; transactions per call {trips}; `--last 20` alone in a store opened per call {lastCall}");
            if (_pwsh.Length > 0) Console.Error.WriteLine($"{name}: the module in one PowerShell session: {Module(location, env)}");
            _transactions = null;
        }

        // ---------------------------------------------------------------- connect

        // The scale table shows the queries themselves take a few ms at most, and a herd process on PostgreSQL far more:
        // this splits that process time into .NET's start (herd --help), the connection and the TLS handshake, on a small
        // history (the query doesn't depend on its size, the table above says).
        private static void Connect()
        {
            Console.WriteLine("### What one herd process pays to reach the history");
            Console.WriteLine();
            Console.WriteLine("`herd history --last 20` as a whole process (15 times, median and slowest) on a history of 20 runs of 10 hosts:");
            Console.WriteLine("SQLite, PostgreSQL as the scale table connects (TLS, sslmode prefer, SCRAM password), PostgreSQL without TLS");
            Console.WriteLine("(sslmode=disable), and PostgreSQL through its Unix socket (`Host=<socket folder>`: no TCP, no TLS; this server's pg_hba.conf");
            Console.WriteLine("trusts local connections, so no password exchange either, as with peer authentication); `herd --help` is the process start alone.");
            Console.WriteLine();
            Console.WriteLine("| `herd --help` | SQLite | PostgreSQL, TLS | PostgreSQL, no TLS | PostgreSQL, Unix socket |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
            var file = Path.Combine(_work, "connect.db");
            var db = PostgresServer.Shared.CreateDatabase("connect");
            var env = new Dictionary<string, string>(db.PasswordEnvironment);
            foreach (var open in new Func<HistoryStore>[]
            {
                () => HistoryStore.Open(file, new HistoryStoreOptions { Retention = null }),
                () => HistoryStore.Open(HistoryTarget.Server(db.Url, db.Credential), new HistoryStoreOptions { Retention = null, SpoolWhenUnreachable = false }),
            })
            {
                using var store = open();
                for (int r = 0; r < 20; r++)
                {
                    var run = store.BeginRun("exec", "uptime", "all", DateTime.UtcNow);
                    for (int h = 0; h < 10; h++)
                        run.Add(new FleetResult
                        {
                            HostName = $"h-{h:D4}", Command = "uptime", Status = FleetStatus.Succeeded, ExitCode = 0, StdOut = $"up {r} days\n",
                            StartTime = DateTime.UtcNow, Duration = TimeSpan.FromMilliseconds(10), Attempts = 1, OutputHash = HerdPS.Transport.OutputCapture.HashOf($"up {r} days\n", "", 0),
                        });
                    run.Complete(DateTime.UtcNow);
                }
            }
            var help = Time(() => Herd(file, env, "--help"), 15);
            var sqlite = Time(() => Herd(file, env, "history", "--last", "20"), 15);
            var tls = Time(() => Herd(db.Url, env, "history", "--last", "20"), 15);
            var plain = Time(() => Herd(db.UrlWith("sslmode=disable"), env, "history", "--last", "20"), 15);
            var socket = db.Server.IsLocal
                ? Time(() => Herd($"Host={db.Server.SocketDir};Port={db.Server.Port};Database={db.Name};Username={PostgresServer.HerdRole}", env, "history", "--last", "20"), 15)
                : "- (external server)";
            Console.WriteLine($"| {help} | {sqlite} | {tls} | {plain} | {socket} |");
            Console.WriteLine();
        }

        /// <summary>
        /// Get-FleetHistory in one PowerShell session (the module as published, pwsh from tools/pwsh): the first call (the
        /// module's and Npgsql's start, the connection), then 10 more of each query, median and slowest. -Last 20 returns
        /// each run's results too (2000 here); -HostName returns that host's results of its last 20 runs.
        /// </summary>
        private static string Module(string location, Dictionary<string, string> env)
        {
            var where = location.Contains("://", StringComparison.Ordinal) ? "-HistoryConnection" : "-HistoryPath";
            var script = $@"$ErrorActionPreference = 'Stop'
Import-Module '{_module}'
function T([scriptblock]$b) {{ $w = [Diagnostics.Stopwatch]::StartNew(); $n = @(& $b).Count; $w.Stop(); [pscustomobject]@{{ Ms = $w.Elapsed.TotalMilliseconds; N = $n }} }}
function M($runs) {{ $s = @($runs | Sort-Object Ms); '{{0:0}} ms (max {{1:0}}, {{2}} objects)' -f $s[[int][math]::Floor($s.Count / 2)].Ms, $s[-1].Ms, $s[0].N }}
$first = T {{ Get-FleetHistory {where} $env:BENCH_HISTORY -Last 20 }}
$last = 1..10 | ForEach-Object {{ T {{ Get-FleetHistory {where} $env:BENCH_HISTORY -Last 20 }} }}
$hostRuns = 1..10 | ForEach-Object {{ T {{ Get-FleetHistory {where} $env:BENCH_HISTORY -HostName h-0042 -Last 20 }} }}
'first call -Last 20 {{0:0}} ms; later -Last 20 {{1}}; -HostName h-0042 -Last 20 {{2}}' -f $first.Ms, (M $last), (M $hostRuns)
";
            var file = Path.Combine(_work, "module-timing.ps1");
            File.WriteAllText(file, script);
            var psi = ProcessRunner.StartInfo(_pwsh, new[] { "-NoProfile", "-NonInteractive", "-File", file });
            psi.Environment["BENCH_HISTORY"] = location;
            psi.Environment["XDG_CONFIG_HOME"] = Path.Combine(_work, "no-config");
            foreach (var e in env) psi.Environment[e.Key] = e.Value;
            var r = ProcessRunner.RunAsync(psi, TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
            if (r.ExitCode != 0) throw new InvalidOperationException($"pwsh: {r.StdErr}{r.StdOut}");
            return r.StdOut.Trim();
        }

        private static int Herd(string location, Dictionary<string, string> env, params string[] args)
        {
            var psi = ProcessRunner.StartInfo(_herd, args);
            psi.Environment["HERD_HISTORY"] = location;
            psi.Environment["XDG_CONFIG_HOME"] = Path.Combine(_work, "no-config");
            psi.Environment.Remove("HERD_INVENTORY");
            foreach (var e in env) psi.Environment[e.Key] = e.Value;
            var r = ProcessRunner.RunAsync(psi, TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            if (r.ExitCode != 0) throw new InvalidOperationException($"herd {string.Join(' ', args)}: {r.StdErr}");
            return r.StdOut.Split('\n').Length;
        }

        private static string Time(Func<int> query, int repeat = 25)
        {
            query(); // warm: connections, JIT, caches
            var times = new List<double>();
            for (int i = 0; i < repeat; i++)
            {
                var clock = Stopwatch.StartNew();
                query();
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return $"{times[times.Count / 2]:0.0} ms (max {times[^1]:0})";
        }

        /// <summary>
        /// The scale history in a SQLite file, written straight into the tables in one transaction: the runs by SQL, each
        /// run's results as one pack (ResultPack, as herd writes them) with the per-host index beside it. Outputs are ~100
        /// bytes, so they are in the packs (as herd keeps them), and the output hashes are the derived ones.
        /// </summary>
        private static void LoadScaleSqlite(string file, int runs, int hostsPerRun, int fleet, int outputs)
        {
            SqliteExec(file, $@"
                PRAGMA synchronous = OFF;
                WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {fleet})
                INSERT INTO hosts (id, name) SELECT i + 1, 'h-' || printf('%04d', i) FROM g;
                WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {runs})
                INSERT INTO runs (id, uuid, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, controller_machine, controller_user)
                SELECT i, lower(hex(randomblob(16))), 'exec', 'command ' || (i % 50), 'group=g' || (i % 10),
                       strftime('%Y-%m-%dT%H:%M:%f0000Z', 'now', '-' || (({runs} - i) * 25) || ' seconds'),
                       strftime('%Y-%m-%dT%H:%M:%f0000Z', 'now', '-' || (({runs} - i) * 25 - 3) || ' seconds'),
                       {hostsPerRun}, {hostsPerRun}, 0, 'm' || (i % 8), 'u' || (i % 4) FROM g;");
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=600");
            c.Open();
            using (var off = c.CreateCommand()) { off.CommandText = "PRAGMA synchronous = OFF"; off.ExecuteNonQuery(); }
            using var transaction = c.BeginTransaction();
            using var pack = c.CreateCommand();
            pack.Transaction = transaction;
            pack.CommandText = "INSERT INTO result_packs (run_id, first_seq, last_seq, result_count, host_ids, data) VALUES ($run, 0, $last, $count, $hosts, $data)";
            var packRun = pack.Parameters.Add("$run", Microsoft.Data.Sqlite.SqliteType.Integer);
            pack.Parameters.AddWithValue("$last", hostsPerRun - 1);
            pack.Parameters.AddWithValue("$count", hostsPerRun);
            var packHosts = pack.Parameters.Add("$hosts", Microsoft.Data.Sqlite.SqliteType.Blob);
            var packData = pack.Parameters.Add("$data", Microsoft.Data.Sqlite.SqliteType.Blob);
            using var index = c.CreateCommand();
            index.Transaction = transaction;
            index.CommandText = "INSERT INTO host_runs (host_id, run_id) VALUES ($host, $run)";
            var indexHost = index.Parameters.Add("$host", Microsoft.Data.Sqlite.SqliteType.Integer);
            var indexRun = index.Parameters.Add("$run", Microsoft.Data.Sqlite.SqliteType.Integer);
            var started = DateTime.UtcNow;
            for (int run = 1; run <= runs; run++)
            {
                var (hosts, data) = ScalePack(run, hostsPerRun, fleet, outputs, started.AddSeconds(-(runs - run) * 25.0));
                (packRun.Value, packHosts.Value, packData.Value) = (run, ResultPack.EncodeIds(hosts.Select(h => (long)h + 1)), data);
                pack.ExecuteNonQuery();
                foreach (var h in hosts)
                {
                    (indexHost.Value, indexRun.Value) = (h + 1, run);
                    index.ExecuteNonQuery();
                }
            }
            transaction.Commit();
            SqliteExec(file, "ANALYZE");
        }

        /// <summary>One scale run's results as one pack: host numbers (0 .. fleet-1) in result order, and the pack.</summary>
        private static (int[] hosts, byte[] data) ScalePack(long run, int hostsPerRun, int fleet, int outputs, DateTime started)
        {
            var hosts = new int[hostsPerRun];
            var entries = new List<PackedResult>(hostsPerRun);
            for (int j = 0; j < hostsPerRun; j++)
            {
                // One host is in one old run only (h-2000 in a fleet of 2000): a per-host query must find it fast too.
                hosts[j] = run == RareHostRun && j == 0 ? fleet : (int)((run * 37 + j) % fleet);
                var output = ScaleOutput((int)((run + j) % outputs));
                entries.Add(new PackedResult(j, new FleetResult
                {
                    HostName = $"h-{hosts[j]:D4}", Status = FleetStatus.Succeeded, ExitCode = 0, Duration = TimeSpan.FromMilliseconds(12.5),
                    Attempts = 1, StartTime = started, Groups = new[] { "web" }, Transport = "openssh",
                }) { StdOutText = output, HashIsDerived = true });
            }
            return (hosts, ResultPack.Encode(entries));
        }

        // The scale fleet: 2000 hosts, and one more (h-2000) in one run only.
        private const int FleetSize = 2000;
        private const long RareHostRun = 17;

        private static string ScaleOutput(int n) => $"output {n:D4} " + new string((char)('a' + n % 26), 87) + "\n";

        /// <summary>
        /// The same runs and results on the server, as its backend stores them (schema 4): each run's results as one pack
        /// (<see cref="ScalePack"/>, as the SQLite load writes them), the hosts numbered once, and each pack's host numbers
        /// for the GIN index. The outputs (~100 bytes) are in the packs, so no run refers to a blob, and the output hashes are
        /// the derived ones. Packs go in by COPY, in slices of runs, each slice a transaction.
        /// </summary>
        private static void LoadScalePostgres(PostgresDatabase db, int runs, int hostsPerRun, int fleet, int outputs)
        {
            db.Scalar($@"INSERT INTO herd.runs (uuid, kind, command, selection, started_utc, finished_utc, host_count, succeeded_count, failed_count, controller_machine, controller_user)
                SELECT gen_random_uuid(), 'exec', 'command ' || (g % 50), 'group=g' || (g % 10), now() - ({runs} - g) * interval '25 seconds',
                       now() - ({runs} - g) * interval '25 seconds' + interval '3 seconds', {hostsPerRun}, {hostsPerRun}, 0, 'm' || (g % 8), 'u' || (g % 4)
                FROM generate_series(1, {runs}) g");
            db.Scalar($"INSERT INTO herd.hosts (name) SELECT 'h-' || lpad(g::text, 4, '0') FROM generate_series(0, {fleet}) g");
            var builder = new Npgsql.NpgsqlConnectionStringBuilder
            {
                Host = db.Server.Host, Port = db.Server.Port, Database = db.Name, Username = PostgresServer.HerdRole, Password = db.Server.Password,
                CommandTimeout = 0,
            };
            using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            var hostIds = new Dictionary<string, int>(StringComparer.Ordinal);
            var runList = new List<(long Id, DateTime Started)>();
            using (var select = new Npgsql.NpgsqlCommand("SELECT id, name FROM herd.hosts", connection))
            using (var reader = select.ExecuteReader())
                while (reader.Read()) hostIds[reader.GetString(1)] = reader.GetInt32(0);
            using (var select = new Npgsql.NpgsqlCommand("SELECT id, started_utc FROM herd.runs ORDER BY id", connection))
            using (var reader = select.ExecuteReader())
                while (reader.Read()) runList.Add((reader.GetInt64(0), reader.GetFieldValue<DateTime>(1)));
            // In slices, so one transaction doesn't hold millions of results of WAL; the packs of a slice encoded on every core.
            const int Slice = 10000;
            for (int from = 0; from < runList.Count; from += Slice)
            {
                // The packs the SQLite load writes (ScalePack: one per run, the same hosts and outputs), with the server's host numbers.
                var packs = runList.Skip(from).Take(Slice).AsParallel().AsOrdered().Select(run =>
                {
                    var (hosts, data) = ScalePack(run.Id, hostsPerRun, fleet, outputs, run.Started);
                    return (RunId: run.Id, Count: hosts.Length, Hosts: hosts.Select(h => hostIds[$"h-{h:D4}"]).Distinct().OrderBy(i => i).ToArray(), Data: data);
                }).ToList();
                using var copy = connection.BeginBinaryImport(
                    "COPY herd.result_packs (run_id, first_seq, last_seq, result_count, host_ids, data) FROM STDIN (FORMAT BINARY)");
                foreach (var p in packs)
                {
                    copy.StartRow();
                    copy.Write(p.RunId, NpgsqlTypes.NpgsqlDbType.Bigint);
                    copy.Write(0, NpgsqlTypes.NpgsqlDbType.Integer);
                    copy.Write(p.Count - 1, NpgsqlTypes.NpgsqlDbType.Integer);
                    copy.Write(p.Count, NpgsqlTypes.NpgsqlDbType.Integer);
                    copy.Write(p.Hosts, NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Integer);
                    copy.Write(p.Data, NpgsqlTypes.NpgsqlDbType.Bytea);
                }
                copy.Complete();
            }
            db.Scalar("VACUUM ANALYZE");
        }

        // ---------------------------------------------------------------- helpers

        private static string SqliteVersion()
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
            c.Open();
            return c.ServerVersion;
        }

        private static long SqliteScalar(string file, string sql)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        private static void SqliteExec(string file, string sql)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=600");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandTimeout = 3600;
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }


        private static string Bytes(long b) => b >= 10L * 1024 * 1024 ? $"{b / 1024.0 / 1024:0.0} MiB" : b >= 10 * 1024 ? $"{b / 1024.0:0} KiB" : $"{b} B";

        private static string PackageList(int approximateBytes, int seed)
        {
            var random = new Random(seed);
            var text = new StringBuilder(approximateBytes + 100);
            string[] words = { "lib", "python3", "perl", "gcc", "ssl", "base", "utils", "common", "dev", "data", "core", "tools", "x11", "gnome", "kde" };
            while (text.Length < approximateBytes)
                text.Append(words[random.Next(words.Length)]).Append(words[random.Next(words.Length)]).Append('-').Append(random.Next(1, 30))
                    .Append(' ').Append(random.Next(0, 10)).Append('.').Append(random.Next(0, 40)).Append('.').Append(random.Next(0, 100))
                    .Append('-').Append(random.Next(1, 9)).Append(" amd64\n");
            return text.ToString();
        }
    }

}
