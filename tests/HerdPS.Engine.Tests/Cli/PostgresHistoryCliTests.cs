using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using Xunit.Abstractions;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// herd with a PostgreSQL history, as users set it up: HERD_HISTORY or the inventory's history: naming the server,
    /// the password from PGPASSWORD or ~/.pgpass, the commands run on this machine (no inventory hosts needed).
    /// </summary>
    public sealed class PostgresHistoryCliTests : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly PostgresDatabase _database = PostgresServer.Shared.CreateDatabase("cli");
        private readonly ITestOutputHelper _output;

        public PostgresHistoryCliTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _dir.Dispose();

        private static string Password => PostgresServer.Shared.Password;

        /// <summary>The server in HERD_HISTORY, its password in PGPASSWORD, the spool and data folder in this test's folder.</summary>
        private Dictionary<string, string> Env(string? history = null) => new Dictionary<string, string>
        {
            ["HERD_HISTORY"] = history ?? _database.Url,
            ["PGPASSWORD"] = Password,
            ["XDG_DATA_HOME"] = Path.Combine(_dir.Path, "data"),
            ["HOME"] = Path.Combine(_dir.Path, "home"),
        };

        private static List<JsonElement> JsonLines(string stdout) =>
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        [Fact]
        public async Task HerdHistoryAsAUrlRecordsOnTheServerAndNeverMakesAFolderNamedPostgresql()
        {
            var cwd = Directory.CreateDirectory(Path.Combine(_dir.Path, "cwd")).FullName;
            var psi = HerdProcess.StartInfo(new[] { "exec", "echo recorded on the server" }, Env());
            psi.WorkingDirectory = cwd;
            var run = await ProcessRunner.RunAsync(psi, TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0, run.StdErr);
            Assert.Empty(Directory.GetFileSystemEntries(cwd)); // no 'postgresql:' folder, nor anything else

            var list = await HerdProcess.RunAsync(new[] { "history", "--json" }, Env());
            Assert.True(list.ExitCode == 0, list.StdErr);
            var line = Assert.Single(JsonLines(list.StdOut));
            Assert.Equal("echo recorded on the server", line.GetProperty("command").GetString());
            Assert.Equal($"{Environment.UserName}@{Environment.MachineName}", line.GetProperty("controller").GetString());
            Assert.True(Guid.TryParse(line.GetProperty("uuid").GetString(), out _));

            var mine = await HerdProcess.RunAsync(new[] { "history", "--from", Environment.UserName.ToUpperInvariant() }, Env());
            Assert.Contains("echo recorded on the server", mine.StdOut);
            Assert.Contains("FROM", mine.StdOut);
            var others = await HerdProcess.RunAsync(new[] { "history", "--from", "someone-else@elsewhere" }, Env());
            Assert.Equal(0, others.ExitCode);
            Assert.Contains("no runs in the history postgresql://herd@", others.StdErr);
            Assert.DoesNotContain(Password, others.StdErr);
        }

        [Fact]
        public async Task TheInventorysHistorySectionNamesTheServerForRecordingAndLooking()
        {
            var inventory = _dir.Write("inventory.yaml",
                $"history:\n  connection: \"Host=127.0.0.1;Port={PostgresServer.Shared.Port};Database={_database.Name};Username=herd\"\n" +
                "hosts:\n  - { host: this-box, transport: local }\n");
            var env = Env(history: "");
            var run = await HerdProcess.RunAsync(new[] { "exec", "-i", inventory, "-H", "this-box", "hostname" }, env);
            Assert.True(run.ExitCode == 0, run.StdErr);
            // Looking at the history has no -i: the inventory herd finds by itself ($HERD_INVENTORY here) names it.
            var list = await HerdProcess.RunAsync(new[] { "history", "--host", "THIS-BOX", "--json" }, new Dictionary<string, string>(env) { ["HERD_INVENTORY"] = inventory });
            Assert.True(list.ExitCode == 0, list.StdErr);
            Assert.Equal("hostname", Assert.Single(JsonLines(list.StdOut)).GetProperty("command").GetString());
            Assert.Equal("1", _database.Scalar("SELECT count(*) FROM herd.runs"));
            Assert.False(File.Exists(Path.Combine(_dir.Path, "data", "herd", "history.db")), "the per-user file was used instead of the inventory's server");

            var typo = _dir.Write("typo.yaml", "history:\n  connection: \"mysql://db/herd\"\nhosts: [ this-box ]\n");
            var bad = await HerdProcess.RunAsync(new[] { "exec", "-i", typo, "true" }, env);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains($"{typo}:2:", bad.StdErr);
            Assert.Contains("postgresql://", bad.StdErr);
        }

        [Fact]
        public async Task ThePasswordFileIsUsedAndAWrongPasswordStopsTheCommandWithoutShowingIt()
        {
            var home = Directory.CreateDirectory(Path.Combine(_dir.Path, "home")).FullName;
            var pgpass = Path.Combine(home, ".pgpass");
            File.WriteAllText(pgpass, $"127.0.0.1:{PostgresServer.Shared.Port}:{_database.Name}:herd:{Password}\n");
            File.SetUnixFileMode(pgpass, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var env = Env();
            env.Remove("PGPASSWORD");
            var fromFile = await HerdProcess.RunAsync(new[] { "exec", "echo from pgpass" }, env);
            Assert.True(fromFile.ExitCode == 0, fromFile.StdErr);
            Assert.Equal("1", _database.Scalar("SELECT count(*) FROM herd.runs"));

            var wrong = "wrong-" + Password;
            var marker = Path.Combine(_dir.Path, "ran");
            var refused = await HerdProcess.RunAsync(new[] { "exec", "touch " + marker }, new Dictionary<string, string>(Env()) { ["PGPASSWORD"] = wrong });
            _output.WriteLine(refused.StdErr);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("refused the login", refused.StdErr);
            Assert.DoesNotContain(wrong, refused.StdErr + refused.StdOut);
            Assert.False(File.Exists(marker), "the command ran although its history refused it");
        }

        /// <summary>
        /// The password reaches the server and nothing else: not herd's output, not the command line of herd or of anything
        /// it starts, not the history (its tables are dumped whole and searched).
        /// </summary>
        [Fact]
        public async Task ThePasswordIsInNoOutputNoProcessArgumentsAndNotInTheHistory()
        {
            var run = await HerdProcess.RunAsync(new[] { "exec", "--json", "--", "ps -eo args" }, Env());
            Assert.True(run.ExitCode == 0, run.StdErr);
            var processes = Assert.Single(JsonLines(run.StdOut)).GetProperty("stdOut").GetString()!;
            Assert.Contains("exec --json -- ps -eo args", processes); // the list was taken while herd ran, herd's own line in it
            Assert.DoesNotContain(Password, processes + run.StdErr);
            var dump = ProcessRunner.Run(Path.Combine(Path.GetDirectoryName(PostgresServer.Shared.AdminPsql)!, "pg_dump"),
                PostgresServer.Shared.AdminArguments(_database.Name).Concat(new[] { "--data-only", "--schema=herd" }), TimeSpan.FromSeconds(60));
            Assert.True(dump.ExitCode == 0, dump.StdErr);
            Assert.Contains("ps -eo args", dump.StdOut);
            Assert.DoesNotContain(Password, dump.StdOut);

            // A password written into the URL (not advised) is still never echoed back, even when the server is away.
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            proxy.Cut();
            var inline = $"postgresql://herd:{Password}@127.0.0.1:{proxy.Port}/{_database.Name}";
            var away = await HerdProcess.RunAsync(new[] { "exec", "echo still runs" }, Env(inline));
            Assert.True(away.ExitCode == 0, away.StdErr);
            Assert.Contains("still runs", away.StdOut);
            Assert.Contains($"postgresql://herd@127.0.0.1:{proxy.Port}/{_database.Name}", away.StdErr);
            Assert.DoesNotContain(Password, away.StdErr + away.StdOut);
        }

        /// <summary>
        /// A watch while the server is away: every iteration is recorded in the spool, herd warns once, and the next herd
        /// that reaches the server uploads them, the iterations still linked as one watch.
        /// </summary>
        [Fact]
        public async Task AWatchWhileTheServerIsAwayWarnsOnceAndItsIterationsArriveLaterAsOneWatch()
        {
            using var proxy = new TcpProxy(PostgresServer.Shared.Port);
            proxy.Cut();
            // The cut proxy closes connections at once, so the timeout only bounds a connection that works: generous, since a
            // Debug herd compiles Npgsql's connect and TLS code as it goes, which takes seconds on a loaded machine.
            var env = Env($"postgresql://herd@127.0.0.1:{proxy.Port}/{_database.Name}?connect_timeout=60");
            var watch = await HerdProcess.RunAsync(new[] { "watch", "--count", "3", "--interval", "1s", "echo tick" }, env);
            _output.WriteLine(watch.StdErr);
            Assert.True(watch.ExitCode == 0, watch.StdErr);
            Assert.Equal(1, watch.StdErr.Split('\n').Count(l => l.Contains("kept in the local spool")));
            var spools = Directory.GetFiles(Path.Combine(_dir.Path, "data", "herd", "spool"), "*.db");
            Assert.Single(spools);

            proxy.Restore();
            var list = await HerdProcess.RunAsync(new[] { "history", "--json" }, env);
            Assert.True(list.ExitCode == 0, list.StdErr);
            var runs = JsonLines(list.StdOut).OrderBy(r => r.GetProperty("iteration").GetInt32()).ToList();
            Assert.Equal(new[] { 1, 2, 3 }, runs.Select(r => r.GetProperty("iteration").GetInt32()));
            var first = runs[0].GetProperty("id").GetInt64();
            Assert.All(runs, r => Assert.Equal(first, r.GetProperty("watchId").GetInt64()));
            Assert.Equal("3", _database.Scalar("SELECT count(*) FROM herd.runs"));
            var again = await HerdProcess.RunAsync(new[] { "history", "--json" }, env);
            Assert.True(again.ExitCode == 0, again.StdErr);
            Assert.Equal(3, JsonLines(again.StdOut).Count);
        }

        [Fact]
        public async Task MigrateCopiesAHistoryFileOnceAndSaysSo()
        {
            var file = Path.Combine(_dir.Path, "old", "history.db");
            foreach (var command in new[] { "echo one", "echo two" })
                Assert.Equal(0, (await HerdProcess.RunAsync(new[] { "exec", command }, Env(file))).ExitCode);

            var migrate = await HerdProcess.RunAsync(new[] { "history", "migrate", "--history", file, "--to", _database.Url }, Env());
            _output.WriteLine(migrate.StdOut + migrate.StdErr);
            Assert.True(migrate.ExitCode == 0, migrate.StdErr);
            Assert.Contains($"{file} -> {_database.Url}: 2 runs copied, 0 completed, 0 already there", migrate.StdOut);
            var again = await HerdProcess.RunAsync(new[] { "history", "migrate", "--history", file, "--to", _database.Url }, Env());
            Assert.Contains("0 runs copied, 0 completed, 2 already there", again.StdOut);
            Assert.Equal("2", _database.Scalar("SELECT count(*) FROM herd.runs"));

            var notAServer = await HerdProcess.RunAsync(new[] { "history", "migrate", "--history", file, "--to", file }, Env());
            Assert.Equal(2, notAServer.ExitCode);
            Assert.Contains("--to takes a PostgreSQL URL", notAServer.StdErr);
        }
    }
}
