using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// The cmdlets with a team history on a real PostgreSQL server: -HistoryConnection and -HistoryCredential, the
    /// controller and host filters, the password kept out of every stream, and Npgsql loaded in the module's own load
    /// context (this test process never loads it itself).
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class HistoryServerTests
    {
        private readonly ModuleFleet _fleet;

        public HistoryServerTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Prop(PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";

        private Dictionary<string, object?> Server(PostgresDatabase db) => new Dictionary<string, object?>
        {
            ["url"] = db.Url,
            ["pw"] = db.Server.Password,
        };

        private const string Credential = "$cred = [pscredential]::new('herd', (ConvertTo-SecureString $pw -AsPlainText -Force))\n";

        [Fact]
        public void Runs_recorded_with_a_credential_read_back_by_controller_and_host_with_the_password_nowhere()
        {
            var db = PostgresServer.Shared.CreateDatabase("cmdlets");
            using var session = _fleet.Session();
            var record = session.Run(Credential + @"
                Invoke-FleetCommand -Group web -Command 'uname -s' -HistoryConnection $url -HistoryCredential $cred -Verbose | Out-Null
                Invoke-FleetCommand -HostName web-02 -Command 'echo only web-02' -HistoryConnection $url -HistoryCredential $cred | Out-Null",
                variables: Server(db)).AssertClean();
            Assert.Contains(record.Verbose, v => v.Message.StartsWith("Recorded as run 1 in postgresql://herd@127.0.0.1:", StringComparison.Ordinal));
            var shown = string.Join("\n", record.Verbose.Select(v => v.Message).Concat(record.Warnings.Select(w => w.Message)));
            Assert.DoesNotContain(db.Server.Password, shown);

            var mine = session.Run(Credential + "Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred -Controller ([Environment]::UserName)",
                variables: Server(db)).AssertClean();
            Assert.Equal(new[] { "echo only web-02", "uname -s" }, mine.Output.Select(o => Prop(o, "Command")));
            Assert.Equal($"{Environment.UserName}@{Environment.MachineName}", Prop(mine.Output[0], "Controller"));
            Assert.Empty(session.Run(Credential + "Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred -Controller nobody@nowhere",
                variables: Server(db)).AssertClean().Output);

            var web02 = session.Run(Credential + "Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred -HostName WEB-02 | ForEach-Object { $_.Results.HostName -join ',' }",
                variables: Server(db)).AssertClean();
            Assert.Equal(new[] { "web-02", "web-02" }, web02.Output.Select(o => o.ToString()));
            Assert.Equal("2", db.Scalar("SELECT count(*) FROM herd.runs"));

            var context = session.Run(@"
                $npgsql = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Npgsql' }
                @($npgsql).Count
                [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($npgsql).Name").AssertClean();
            Assert.Equal(new[] { "1", "HerdPS" }, context.Output.Select(o => o.ToString()));
        }

        [Fact]
        public void Two_cmdlet_calls_in_one_session_reuse_the_logged_in_connection_and_one_the_server_dropped_is_replaced()
        {
            var db = PostgresServer.Shared.CreateDatabase("cmdletpool");
            var application = "cmdlets-" + Guid.NewGuid().ToString("N")[..8];
            var variables = Server(db);
            variables["url"] = db.UrlWith("application_name=" + application);
            string Backends() => db.Scalar($"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE datname = '{db.Name}' AND application_name = '{application}'");
            using var session = _fleet.Session();
            session.Run(Credential + "Invoke-FleetCommand -Group web -Command 'uname -s' -HistoryConnection $url -HistoryCredential $cred | Out-Null", variables: variables).AssertClean();
            var first = Backends();
            Assert.NotEqual("", first);
            var read = session.Run(Credential + "(Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred -Last 1).Results.Count", variables: variables).AssertClean();
            Assert.Equal(ModuleFleet.WebHosts.Length.ToString(), read.Output.Single().ToString());
            Assert.Equal(first, Backends()); // the same server session answered both calls: no new login

            // What a server restart does to the pooled session; the next call logs in anew, and nothing is spooled.
            db.Scalar($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db.Name}' AND application_name = '{application}'");
            var again = session.Run(Credential + "Invoke-FleetCommand -Group web -Command 'uname -s' -HistoryConnection $url -HistoryCredential $cred | Out-Null\n" +
                                    "@(Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred).Count", variables: variables).AssertClean();
            Assert.Empty(again.Warnings);
            Assert.Equal("2", again.Output.Single().ToString());
            Assert.Equal("2", db.Scalar("SELECT count(*) FROM herd.runs"));
        }

        [Fact]
        public void A_url_as_HistoryPath_and_a_wrong_password_stop_before_anything_runs_and_say_why_without_it()
        {
            var db = PostgresServer.Shared.CreateDatabase("refusals");
            using var session = _fleet.Session();
            var asPath = session.Run("Get-FleetHistory -HistoryPath $url", variables: Server(db));
            Assert.Contains("-HistoryConnection", asPath.Describe());
            Assert.False(System.IO.Directory.Exists(System.IO.Path.Combine(_fleet.Scratch, "postgresql:")));

            var marker = System.IO.Path.Combine(_fleet.Scratch, "ran-despite-refusal");
            var wrong = session.Run("$cred = [pscredential]::new('herd', (ConvertTo-SecureString ('x' + $pw) -AsPlainText -Force))\n" +
                                    $"Invoke-FleetCommand -HostName this-box -Command 'touch {marker}' -HistoryConnection $url -HistoryCredential $cred",
                variables: Server(db));
            var error = Assert.Single(wrong.Errors);
            Assert.StartsWith("HistoryUnusable,", error.FullyQualifiedErrorId);
            Assert.Contains("refused the login", error.Exception.Message);
            Assert.DoesNotContain(db.Server.Password, wrong.Describe() + error.Exception);
            Assert.False(System.IO.File.Exists(marker));
        }

        [Fact]
        public void Watch_Fleet_while_the_server_is_away_warns_once_and_keeps_its_iterations_for_later()
        {
            var db = PostgresServer.Shared.CreateDatabase("away");
            using var proxy = new TcpProxy(db.Server.Port);
            proxy.Cut();
            using var session = _fleet.Session();
            var vars = Server(db);
            vars["url"] = $"postgresql://herd@127.0.0.1:{proxy.Port}/{db.Name}";
            var watch = session.Run(Credential + "Watch-Fleet -HostName this-box -Command 'echo tick' -IntervalSec 1 -Count 3 -HistoryConnection $url -HistoryCredential $cred",
                variables: vars);
            Assert.Null(watch.Terminating);
            Assert.Equal(3, watch.Output.Count);
            Assert.Single(watch.Warnings, w => w.Message.Contains("kept in the local spool"));
            proxy.Restore();
            var runs = session.Run(Credential + "Get-FleetHistory -HistoryConnection $url -HistoryCredential $cred", variables: vars).AssertClean();
            Assert.Equal(new[] { "3", "2", "1" }, runs.Output.Select(o => Prop(o, "Iteration")));
        }
    }
}
