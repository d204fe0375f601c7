using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>Parameters as PowerShell's parser and binder really deliver them, and the herd ⇄ cmdlet surfaces kept equal.</summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class ParameterTests
    {
        private readonly ModuleFleet _fleet;

        public ParameterTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Prop(PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";

        [Theory]
        [InlineData("-Interval 10s")]   // PowerShell: the short 10
        [InlineData("-Interval 2d")]    // the decimal 2
        [InlineData("-Interval 30")]    // an int
        public void A_number_for_Interval_stops_before_anything_runs_and_says_what_to_write(string interval)
        {
            using var session = _fleet.Session();
            var run = session.Run($"Watch-Fleet -Group web -Command 'echo x' {interval} -Count 1 -NoHistory");
            // A binding error ends the statement (PowerShell writes it to the error stream and runs nothing).
            var error = Assert.Single(run.Errors);
            Assert.Empty(run.Output);
            Assert.Equal("ParameterArgumentTransformationError,HerdPS.Commands.WatchFleetCommand", error.FullyQualifiedErrorId);
            Assert.Contains("-IntervalSec", error.Exception.Message);
        }

        [Theory]
        [InlineData("-IntervalSec 1")]
        [InlineData("-IntervalSec 1.5")]
        [InlineData("-Interval '1s'")]
        [InlineData("-Interval '00:00:01'")]
        [InlineData("-Interval (New-TimeSpan -Seconds 1)")]
        public void The_interval_forms_that_work(string interval)
        {
            using var session = _fleet.Session();
            var run = session.Run($"Watch-Fleet -HostName web-01 -Command 'echo x' {interval} -Count 2 -NoHistory").AssertClean();
            Assert.Equal(new[] { "1", "2" }, run.Output.Select(o => Prop(o, "Iteration")));
        }

        [Fact]
        public void Both_interval_forms_at_once_is_an_error()
        {
            using var session = _fleet.Session();
            var run = session.Run("Watch-Fleet -HostName web-01 -Command 'echo x' -IntervalSec 1 -Interval '1s' -Count 1 -NoHistory");
            Assert.Contains("not both", run.Describe());
            Assert.Empty(run.Output);
        }

        [Fact]
        public void Since_takes_dates_timespans_and_quoted_durations_but_not_a_bare_7d()
        {
            using var session = _fleet.Session();
            var bare = session.Run("Get-FleetHistory -Since 7d");
            Assert.Contains("'7d'", Assert.Single(bare.Errors).Exception.Message);
            Assert.Empty(bare.Output);
            foreach (var since in new[] { "'7d'", "(New-TimeSpan -Days 7)", "(Get-Date).AddDays(-7)", "([datetime]::UtcNow.AddHours(-1))" })
            {
                var run = session.Run($"@(Get-FleetHistory -Since {since} -Last 1000).Count").AssertClean();
                Assert.True((int)run.Output.Single().BaseObject > 0, $"-Since {since} found no run in a history seeded minutes ago");
            }
        }

        [Fact]
        public void Tags_combine_as_documented_comma_is_and_several_values_are_or()
        {
            using var session = _fleet.Session();
            string Hosts(string tags) => string.Join(",", session.Run($"(Get-FleetHost -Tag {tags}).HostName | Sort-Object").AssertClean().Output.Select(o => o.ToString()));
            Assert.Equal("web-01,web-02", Hosts("'nginx,!staging'"));
            Assert.Equal("web-01,web-02", Hosts("'prod,debian12'"));
            Assert.Equal("db01,db02,web-01,web-02,web-03", Hosts("prod, staging"));
            Assert.Equal("db01,db02,web-01,web-02,web-03", Hosts("prod, staging"));
        }

        [Fact]
        public void MaxOutputBytes_caps_what_is_kept_but_the_hash_covers_everything()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                $short = Invoke-FleetCommand -HostName web-01 -Command 'seq 1 10000' -MaxOutputBytes 1KB -NoHistory
                $full = Invoke-FleetCommand -HostName web-01 -Command 'seq 1 10000' -NoHistory
                $short.Truncated; $short.StdOut.Length -le 1024; $full.Truncated; $short.OutputHash -eq $full.OutputHash").AssertClean();
            Assert.Equal(new object[] { true, true, false, true }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void RetryFailed_retries_a_failing_command_with_RetryDelaySec()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                (Invoke-FleetCommand -HostName web-02 -Command 'exit 4' -RetryFailed -RetryCount 2 -RetryDelaySec 0.05 -NoHistory).Attempts
                (Invoke-FleetCommand -HostName web-02 -Command 'exit 4' -RetryCount 2 -RetryDelaySec 0.05 -NoHistory).Attempts").AssertClean();
            Assert.Equal(new object[] { 3, 1 }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void Insecure_reaches_a_host_with_an_unknown_key_and_warns_every_time()
        {
            using var session = _fleet.Session();
            var strict = session.Run($"Invoke-FleetCommand -HostName {_fleet.Ssh.UnknownKeyHost} -Command true -NoHistory -ErrorAction SilentlyContinue");
            Assert.Equal("HostKeyUnknown", Prop(strict.Output.Single(), "ErrorKind"));
            var insecure = session.Run($"Invoke-FleetCommand -HostName {_fleet.Ssh.UnknownKeyHost} -Command true -NoHistory -Insecure -NoMultiplex").AssertClean();
            Assert.Equal("Succeeded", Prop(insecure.Output.Single(), "Status"));
            Assert.Contains(insecure.Warnings, w => w.Message.Contains("host key checking is OFF"));
            var both = session.Run("Invoke-FleetCommand -HostName web-01 -Command true -NoHistory -Insecure -AcceptNewHostKey");
            Assert.Contains("contradict", both.Describe());
            Assert.Empty(both.Output);
        }

        [Fact]
        public void NoMultiplex_logs_in_afresh_and_ControlPersistSec_reaches_the_pooled_connection()
        {
            using var session = _fleet.Session();
            var before = _fleet.Ssh.CountAcceptedLogins();
            session.Run("Invoke-FleetCommand -Group pis -Command true -NoMultiplex -NoHistory | Out-Null").AssertClean();
            Assert.Equal(before + ModuleFleet.PiHosts.Length, _fleet.Ssh.CountAcceptedLogins());

            // A master with ControlPersist 1 s goes away soon after its run; one with 600 s stays. (The master renames
            // itself "ssh: <socket> [mux]", so masters are told apart by when they appeared; only this fleet's
            // control folder counts, as other test processes open masters of their own meanwhile.)
            session.Run("Disconnect-Fleet -HostName web-03, pi-garage").AssertClean();
            var controlDirectory = _fleet.Ssh.ControlDirectory;
            HashSet<int> Masters() => ProcessTable.Find(p => p.CommandLine.EndsWith("[mux]", StringComparison.Ordinal) && p.CommandLine.Contains(controlDirectory, StringComparison.Ordinal))
                .Select(p => p.Pid).ToHashSet();
            var existing = Masters();
            session.Run("Invoke-FleetCommand -HostName pi-garage -Command true -ControlPersistSec 600 -NoHistory | Out-Null").AssertClean();
            var longLived = Masters().Except(existing).Single();
            session.Run("Invoke-FleetCommand -HostName web-03 -Command true -ControlPersistSec 1 -NoHistory | Out-Null").AssertClean();
            var shortLived = Masters().Except(existing).Except(new[] { longLived }).Single();
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Pid == shortLived, TimeSpan.FromSeconds(30)));
            Assert.True(ProcessTable.IsAlive(longLived), "the master with ControlPersist 600 s went away too");
            session.Run("Disconnect-Fleet -HostName pi-garage").AssertClean();
        }

        [Fact]
        public void Raw_sends_the_command_without_the_wrapper()
        {
            using var session = _fleet.Session();
            // The wrapper runs the command under the login shell with stdin from /dev/null and reports its status;
            // raw, the login shell runs it directly: both see exit codes, only raw sees ssh's stdin.
            var run = session.Run(@"
                (Invoke-FleetCommand -HostName web-01 -Command 'exit 7' -Raw -NoHistory).ExitCode
                (Invoke-FleetCommand -HostName web-01 -Command 'readlink /proc/self/fd/0' -NoHistory).StdOut
                (Invoke-FleetCommand -HostName web-01 -Command 'readlink /proc/self/fd/0' -Raw -NoHistory).StdOut").AssertClean();
            Assert.Equal(7, run.Output[0].BaseObject);
            Assert.Equal("/dev/null", run.Output[1].BaseObject);
            Assert.NotEqual("/dev/null", run.Output[2].BaseObject);
        }

        /// <summary>
        /// Every option of herd exec, herd watch and herd run has its cmdlet parameter (or is listed here as CLI-only,
        /// with the PowerShell way to get the same), so the surfaces can't drift apart again. The options are read from
        /// the real herd's --help, the parameters from the real cmdlets.
        /// </summary>
        [Theory]
        [InlineData("exec", "Invoke-FleetCommand")]
        [InlineData("watch", "Watch-Fleet")]
        [InlineData("run", "Invoke-FleetScript")]
        [InlineData("history", "Get-FleetHistory")]
        [InlineData("tail", "Watch-FleetLog")]
        public void Every_herd_option_has_its_cmdlet_parameter(string subcommand, string cmdlet)
        {
            var mapping = new Dictionary<string, string>
            {
                ["--inventory"] = "InventoryPath", ["--group"] = "Group", ["--tag"] = "Tag", ["--host"] = "HostName", ["--exclude"] = "Exclude",
                ["--ssh-config"] = "SshConfigPath", ["--user"] = "UserName", ["--identity"] = "KeyFilePath", ["--throttle"] = "ThrottleLimit",
                ["--timeout"] = "TimeoutSec", ["--connect-timeout"] = "ConnectTimeoutSec", ["--retries"] = "RetryCount", ["--retry-delay"] = "RetryDelaySec",
                ["--retry-failed"] = "RetryFailed", ["--fail-fast"] = "FailFast", ["--accept-new-host-keys"] = "AcceptNewHostKey", ["--insecure"] = "Insecure",
                ["--max-output"] = "MaxOutputBytes", ["--no-multiplex"] = "NoMultiplex", ["--control-persist"] = "ControlPersistSec", ["--raw"] = "Raw",
                ["--transport"] = "Transport", ["--key-passphrase-file"] = "KeyPassphrase", ["--password-file"] = "Credential",
                ["--history"] = "HistoryPath", ["--no-history"] = "NoHistory", ["--diff-last"] = "DiffLast",
                ["--notify"] = "Notify", ["--notify-on-resolve"] = "NotifyOnResolve",
                ["--interval"] = "IntervalSec", ["--count"] = "Count", ["--changes-only"] = "ChangesOnly",
                ["--parse"] = "Parser",
                ["--set"] = "Parameter", ["--dry-run"] = "WhatIf", ["--sudo-password-from-env"] = "SudoCredential",
                ["--last"] = "Last", ["--command"] = "Command", ["--since"] = "Since", ["--from"] = "Controller",
                ["--journalctl"] = "JournalUnit", ["--lines"] = "Lines", ["--grep"] = "Pattern", ["--grep-exclude"] = "ExcludePattern",
            };
            var cliOnly = new Dictionary<string, string>
            {
                ["--json"] = "the cmdlets write objects; ConvertTo-Json makes JSON of them",
                ["--errors-only"] = "Where-Object Status -ne 'Succeeded'",
                ["--output"] = "the cmdlets write objects: Format-Table shows them, ConvertTo-Json makes JSON, Group-Object OutputHash groups them",
                ["--no-hostname"] = "the objects carry HostName as a property; Select-Object -ExpandProperty Line drops it",
                ["--help"] = "Get-Help",
                ["--version"] = "(Get-Module HerdPS).Version",
            };
            var help = ProcessRunner.Run(TestPaths.Herd, new[] { subcommand, "--help" }, TimeSpan.FromSeconds(60));
            Assert.Equal(0, help.ExitCode);
            var options = Regex.Matches(help.StdOut, @"(?m)^\s+(?:-\S, )*(--[a-z][a-z-]*)").Select(m => m.Groups[1].Value).Distinct().ToList();
            Assert.Contains(subcommand == "history" ? "--since" : subcommand == "tail" ? "--inventory" : "--timeout", options); // the help format is still what this test reads

            using var session = _fleet.Session();
            var parameters = session.Run($"(Get-Command {cmdlet}).Parameters.Keys").AssertClean().Output.Select(o => o.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var missing = options.Where(o => !cliOnly.ContainsKey(o) && !(mapping.TryGetValue(o, out var p) && parameters.Contains(p)))
                .Select(o => mapping.TryGetValue(o, out var p) ? $"{o} -> -{p} (missing on {cmdlet})" : $"{o} (no cmdlet parameter named for it: add one, or list it as CLI-only with the PowerShell way)")
                .ToList();
            Assert.True(missing.Count == 0, string.Join(Environment.NewLine, missing));
        }
    }
}
