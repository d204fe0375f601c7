using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// Every cmdlet as users run it: the packaged module in a real PowerShell 7.6 runspace against the loopback sshd
    /// fleet. Objects are read through PowerShell (property access, Where-Object, Export-Csv), never by casting to
    /// our own types, which this test project deliberately can't name.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class CmdletTests
    {
        private readonly ModuleFleet _fleet;

        public CmdletTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Prop(PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";
        private static IEnumerable<string> Hosts(PowerShellRun run) => run.Output.Select(o => Prop(o, "HostName"));

        [Fact]
        public void Hosts_bind_from_Get_FleetHost_Import_Csv_strings_and_earlier_results()
        {
            using var session = _fleet.Session();
            var fromHosts = session.Run("Get-FleetHost -Tag prod | Invoke-FleetCommand 'echo $HERD_NOTHING ok' -NoHistory").AssertClean();
            Assert.Equal(new[] { "db01", "db02", "web-01", "web-02" }, Hosts(fromHosts).OrderBy(h => h));
            Assert.All(fromHosts.Output, o => Assert.Equal("ok", Prop(o, "StdOut")));

            var fromCsv = session.Run("Import-Csv servers.csv | Invoke-FleetCommand 'true' -NoHistory").AssertClean();
            Assert.Equal(new[] { "db01", "web-01" }, Hosts(fromCsv).OrderBy(h => h));

            var fromStrings = session.Run("'web-03', 'pi-garage' | Invoke-FleetCommand 'true' -NoHistory").AssertClean();
            Assert.Equal(new[] { "pi-garage", "web-03" }, Hosts(fromStrings).OrderBy(h => h));

            var again = session.Run("Invoke-FleetCommand -Group web -Command 'exit 0' -NoHistory | Where-Object Succeeded | Invoke-FleetCommand 'echo again' -NoHistory").AssertClean();
            Assert.Equal(ModuleFleet.WebHosts, Hosts(again).OrderBy(h => h));
        }

        [Fact]
        public void An_empty_pipeline_runs_nothing_and_never_means_every_host()
        {
            using var session = _fleet.Session();
            Assert.Empty(session.Run("@() | Invoke-FleetCommand 'echo should-not-run'").AssertClean().Output);
            var csv = Path.Combine(_fleet.Scratch, "empty.csv");
            File.WriteAllText(csv, "ComputerName\n");
            Assert.Empty(session.Run($"Import-Csv '{csv}' | Invoke-FleetCommand 'echo should-not-run'").AssertClean().Output);
        }

        [Fact]
        public void Results_are_typed_with_readable_groups_tags_and_output()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                $r = Invoke-FleetCommand -HostName web-01 -Command 'printf ""line1\nline2\n""' -NoHistory
                $r.PSObject.TypeNames[0]
                $r.StdOut
                $r.Tags -contains 'prod'
                $r.Groups[0]
                $r.Tags.ToString()
                ""$($r.Tags)""
                $r.ExitCode
                $r.Succeeded
                ($r | ConvertTo-Json -EnumsAsStrings | ConvertFrom-Json).Status
                ($r | ConvertTo-Json | ConvertFrom-Json).Tags.Count").AssertClean();
            var values = run.Output.Select(o => o.BaseObject).ToList();
            Assert.Equal("HerdPS.FleetResult", values[0]);
            Assert.Equal("line1\nline2", values[1]);
            Assert.Equal(true, values[2]);
            Assert.Equal("web", values[3]);
            Assert.Equal("nginx,prod,debian12", values[4]);
            Assert.Equal("nginx prod debian12", values[5]); // interpolation joins a list with $OFS, as for an array
            Assert.Equal(0, values[6]);
            Assert.Equal(true, values[7]);
            Assert.Equal("Succeeded", values[8]);
            Assert.Equal(3, values[9]);
        }

        [Fact]
        public void Export_Csv_writes_readable_cells_and_reads_back()
        {
            using var session = _fleet.Session();
            var csv = Path.Combine(_fleet.Scratch, "results-" + Guid.NewGuid().ToString("N") + ".csv");
            session.Run($"Invoke-FleetCommand -Group web -Command 'echo up' -NoHistory | Export-Csv -NoTypeInformation -LiteralPath '{csv}'").AssertClean();
            var text = File.ReadAllText(csv);
            Assert.DoesNotContain("System.String[]", text);
            Assert.DoesNotContain("HerdPS.NameList", text);
            var rows = session.Run($"Import-Csv -LiteralPath '{csv}' | Sort-Object HostName").AssertClean().Output;
            Assert.Equal(ModuleFleet.WebHosts, rows.Select(r => Prop(r, "HostName")));
            Assert.All(rows, r => Assert.Equal("up", Prop(r, "StdOut")));
            Assert.All(rows, r => Assert.Equal("Succeeded", Prop(r, "Status")));
            Assert.All(rows, r => Assert.Equal("web", Prop(r, "Groups")));
            Assert.Equal("nginx,prod,debian12", Prop(rows[0], "Tags"));
            Assert.Equal("nginx,staging", Prop(rows[2], "Tags"));
        }

        [Fact]
        public void A_host_that_fails_writes_its_result_and_an_error_with_a_stable_id_and_the_host_as_target()
        {
            using var session = _fleet.Session();
            var run = session.Run("Invoke-FleetCommand -Group faults -Command true -NoHistory -ErrorVariable hostErrors -ErrorAction SilentlyContinue; $hostErrors");
            Assert.Null(run.Terminating);
            var results = run.Output.Where(o => o.TypeNames.Contains("HerdPS.FleetResult")).ToList();
            var errors = run.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().ToList();
            Assert.Equal(3, results.Count);
            Assert.All(results, r => Assert.Equal("Unreachable", Prop(r, "Status")));
            var byHost = errors.ToDictionary(e => e.TargetObject?.ToString() ?? "", e => e);
            Assert.Equal("ConnectionRefused", byHost[_fleet.Ssh.RefusedHost].FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal("HostKeyMismatch", byHost[_fleet.Ssh.MismatchKeyHost].FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal("AuthenticationFailed", byHost[_fleet.Ssh.AuthFailHost].FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.SecurityError, byHost[_fleet.Ssh.MismatchKeyHost].CategoryInfo.Category);
            // A non-zero exit code is a result, never an error.
            var failed = session.Run("Invoke-FleetCommand -HostName web-01 -Command 'exit 3' -NoHistory").AssertClean();
            Assert.Equal(("Failed", "3"), (Prop(failed.Output.Single(), "Status"), Prop(failed.Output.Single(), "ExitCode")));
        }

        [Fact]
        public void ErrorAction_Stop_ends_the_pipeline_at_the_first_failing_host()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                try { Invoke-FleetCommand -HostName refused -Command true -NoHistory -ErrorAction Stop; 'not reached' }
                catch { $_.FullyQualifiedErrorId; $_.TargetObject }").AssertClean();
            // The host's result is written first (reports stay complete), then its error stops the pipeline.
            Assert.Equal(new[] { $"{_fleet.Ssh.RefusedHost}: Unreachable", "ConnectionRefused,HerdPS.Commands.InvokeFleetCommandCommand", _fleet.Ssh.RefusedHost },
                run.Output.Select(o => o.ToString()));
            var status = session.Run("Invoke-FleetCommand -HostName refused -Command true -NoHistory -ErrorAction SilentlyContinue | Out-Null; $?");
            Assert.Equal(false, status.Output.Single().BaseObject);
        }

        [Fact]
        public void AsJob_is_listed_by_its_command_and_Receive_Wait_and_Remove_work()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                $job = Invoke-FleetCommand -Group web -Command 'echo from-job' -AsJob
                $job.Name
                (Get-Job -Id $job.Id).PSJobTypeName
                $results = $job | Receive-Job -Wait -AutoRemoveJob
                $results.Count
                ($results | Select-Object -ExpandProperty StdOut -Unique)
                [bool](Get-Job -Id $job.Id -ErrorAction SilentlyContinue)").AssertClean();
            Assert.Equal(new object[] { "echo from-job", "FleetJob", 3, "from-job", false }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void Stop_Job_ends_the_remote_commands_and_leaves_no_ssh_child()
        {
            using var session = _fleet.Session();
            var marker = "sleep 7" + Random.Shared.Next(100, 999) + ".5";
            var run = session.Run($@"
                $job = Invoke-FleetCommand -Group web -Command '{marker}' -NoHistory -AsJob
                $job").AssertClean();
            Assert.NotEmpty(RemoteProcessesEventually(marker, 3));
            var stopped = session.Run("Get-Job | Where-Object PSJobTypeName -eq FleetJob | Stop-Job -PassThru | Wait-Job -Timeout 30 | ForEach-Object { $_.State.ToString() }").AssertClean();
            Assert.Contains("Stopped", stopped.Output.Select(o => o.ToString()));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(marker), TimeSpan.FromSeconds(20)));
            Assert.Empty(LocalSshChildren());
            session.Run("Get-Job | Remove-Job -Force").AssertClean();
        }

        [Fact]
        public void Ctrl_C_mid_run_ends_every_remote_command_and_ssh_child()
        {
            using var session = _fleet.Session();
            var marker = "sleep 8" + Random.Shared.Next(100, 999) + ".5";
            var (shell, pending, output) = session.Begin($"Invoke-FleetCommand -Group web -Command '{marker}' -NoHistory");
            using (shell)
            {
                Assert.Equal(3, RemoteProcessesEventually(marker, 3).Count);
                var stopwatch = Stopwatch.StartNew();
                shell.Stop(); // what Ctrl-C does: StopProcessing on the running cmdlet
                Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "Invoke-FleetCommand did not stop");
                Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
            }
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(marker), TimeSpan.FromSeconds(20)));
            Assert.Empty(LocalSshChildren());
        }

        [Fact]
        public void ForEach_Object_Parallel_runspaces_share_the_connection_pool()
        {
            using var session = _fleet.Session();
            // Opens a pooled connection per host, then runs from three parallel runspaces: no new login may happen.
            session.Run("Invoke-FleetCommand -Group pis -Command true -NoHistory | Out-Null").AssertClean();
            var logins = _fleet.Ssh.CountAcceptedLogins();
            var run = session.Run($@"
                'pi-garage', 'pi-livingroom', 'pi-workshop', 'pi-backyard' | ForEach-Object -ThrottleLimit 4 -Parallel {{
                    Import-Module '{TestPaths.Manifest}'
                    Invoke-FleetCommand -HostName $_ -Command 'echo parallel' -NoHistory
                }} | ForEach-Object {{ '{{0}}={{1}}:{{2}}' -f $_.HostName, $_.StdOut, ($_ -is [HerdPS.FleetResult]) }}").AssertClean();
            Assert.Equal(ModuleFleet.PiHosts.Select(h => h + "=parallel:True").OrderBy(x => x), run.Output.Select(o => o.ToString()).OrderBy(x => x));
            Assert.Equal(logins, _fleet.Ssh.CountAcceptedLogins());
        }

        [Fact]
        public void WhatIf_runs_nothing_and_records_nothing()
        {
            using var session = _fleet.Session();
            var remote = "/tmp/herd-whatif-" + Guid.NewGuid().ToString("N");
            var before = session.Run("(Get-FleetHistory -Last 1).Id").AssertClean().Output.Single().ToString();
            var run = session.Run($@"
                Invoke-FleetCommand -Group web -Command 'touch {remote}' -WhatIf
                Send-FleetFile -Path nginx.conf -Destination '{remote}' -Group web -WhatIf
                Disconnect-Fleet -WhatIf").AssertClean();
            Assert.Empty(run.Output);
            Assert.False(File.Exists(remote));
            Assert.Equal(before, session.Run("(Get-FleetHistory -Last 1).Id").AssertClean().Output.Single().ToString());
        }

        [Fact]
        public void Tab_completion_offers_the_inventorys_groups_tags_and_hosts()
        {
            using var session = _fleet.Session();
            IEnumerable<string> Complete(string line) =>
                session.Run($"(TabExpansion2 -inputScript '{line}' -cursorColumn {line.Length}).CompletionMatches.CompletionText").AssertClean().Output.Select(o => o.ToString());
            Assert.Equal(new[] { "db", "faults", "local", "pis", "web" }, Complete("Invoke-FleetCommand -Group ").OrderBy(x => x));
            Assert.Contains("prod", Complete("Get-FleetHost -Tag "));
            Assert.Contains("debian12", Complete("Get-FleetHost -Tag deb"));
            Assert.Equal(ModuleFleet.WebHosts, Complete("Test-FleetConnection -HostName web-").OrderBy(x => x));
        }

        [Fact]
        public void Get_Help_Full_comes_from_the_MAML_with_examples_and_every_parameter()
        {
            using var session = _fleet.Session();
            foreach (var cmdlet in session.Run("(Get-Command -Module HerdPS).Name").AssertClean().Output.Select(o => o.ToString()))
            {
                var help = session.Run($@"
                    $h = Get-Help {cmdlet} -Full
                    $h.Synopsis
                    @($h.Examples.Example).Count
                    @($h.Parameters.Parameter.Name) -join ','
                    @((Get-Command {cmdlet}).Parameters.Keys | Where-Object {{ $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }}) -join ','").AssertClean().Output;
                Assert.False(string.IsNullOrWhiteSpace(help[0].ToString()) || help[0].ToString().StartsWith(cmdlet, StringComparison.Ordinal), $"{cmdlet}: no synopsis from the MAML");
                Assert.True((int)help[1].BaseObject >= 2, $"{cmdlet}: fewer than two examples");
                var documented = help[2].ToString()!.Split(',').ToHashSet();
                var actual = help[3].ToString()!.Split(',');
                Assert.Empty(actual.Where(p => !documented.Contains(p)));
            }
        }

        [Fact]
        public void Default_views_render_every_output_type()
        {
            using var session = _fleet.Session();
            var table = session.Run("Invoke-FleetCommand -HostName web-01, refused -Command 'echo first-line; echo second' -NoHistory -ErrorAction SilentlyContinue | Out-String -Width 200").AssertClean().Output.Single().ToString()!;
            Assert.Matches(@"HostName\s+Status\s+ExitCode\s+Duration\s+Output", table);
            Assert.Contains("first-line", table);
            Assert.DoesNotContain("second", table);
            Assert.Matches(@"refused\s+Unreachable\s+.*refused", table);
            var rendered = session.Run(@"
                $views = @(
                    (Get-FleetHost -Group web), (Get-FleetTag), (Test-FleetConnection -HostName web-01),
                    (Get-FleetHistory -Last 2), (Compare-FleetFile -Path /etc/hostname -Group web),
                    (Watch-Fleet -HostName web-01 -Command 'echo w' -Count 1 -NoHistory),
                    (Get-FleetSnapshot -List -Last 1))
                foreach ($v in $views) { $v | Format-Table | Out-String; $v | Format-List | Out-String }").AssertClean();
            Assert.All(rendered.Output, o => Assert.False(string.IsNullOrWhiteSpace(o.ToString())));
        }

        /// <summary>
        /// What a host prints can't drive the terminal through PowerShell's views (a window title, cursor moves, the
        /// clipboard, a reversed line), while the objects, and so Export-Csv and ConvertTo-Json, keep every byte.
        /// </summary>
        [Fact]
        public void Default_views_escape_control_characters_and_the_objects_keep_them()
        {
            using var session = _fleet.Session();
            const string hostile = @"printf '\033]0;pwned\007\033[1A\033[2K\033]52;c;cHduZWQ=\007\342\200\256evil\n' >&2; printf '\033]0;out\007ok\n'";
            var run = session.Run($@"
                $r = Invoke-FleetCommand -HostName web-01 -Command {PowerShellQuote(hostile)} -NoHistory
                $r | Format-Table | Out-String -Width 300
                $r | Format-List | Out-String -Width 300
                $r.StdOut.Contains([char]27)
                $r.StdErr.Contains([char]0x202E)").AssertClean();
            foreach (var view in run.Output.Take(2).Select(o => o.ToString()!))
            {
                Assert.DoesNotContain('', view);
                Assert.DoesNotContain('', view);
                Assert.DoesNotContain('‮', view);
            }
            Assert.Contains(@"\x1b]0;out\x07ok", run.Output[1].ToString());
            Assert.Contains(@"\u202e", run.Output[1].ToString());
            Assert.Equal(new object[] { true, true }, run.Output.Skip(2).Select(o => o.BaseObject).ToArray());
        }

        private static string PowerShellQuote(string text) => "'" + text.Replace("'", "''") + "'";

        [Fact]
        public void File_snapshot_history_watch_and_disconnect_cmdlets_work_against_the_fleet()
        {
            using var session = _fleet.Session();
            var remote = "/tmp/herd-ps-" + Guid.NewGuid().ToString("N") + ".conf";
            var collected = Path.Combine(_fleet.Scratch, "collected-" + Guid.NewGuid().ToString("N"));
            try
            {
                var run = session.Run($@"
                    (Send-FleetFile -Path nginx.conf -Destination '{remote}' -HostName web-01).Status.ToString()
                    (Compare-FleetFile -Path '{remote}' -HostName web-01).Status.ToString()
                    (Receive-FleetFile -Path '{remote}' -Destination '{collected}' -HostName web-01).Verified
                    $old = Get-FleetSnapshot -Group web; $new = Get-FleetSnapshot -Group web
                    @(Compare-FleetSnapshot -ReferenceId $old.Id -DifferenceId $new.Id).Count
                    $runs = Get-FleetHistory -Command 'dpkg -l*' -Last 2
                    @(Compare-FleetHistory -ReferenceRun $runs[1] -DifferenceRun $runs[0]).Count
                    @(Watch-Fleet -Group web -Command 'echo w' -Count 2 -IntervalSec 1 -NoHistory).Count
                    @(Disconnect-Fleet -HostName web-01 -PassThru).Count").AssertClean();
                Assert.Equal(new object[] { "Transferred", "Ok", true, 3, 3, 6, 1 }, run.Output.Select(o => o.BaseObject).ToArray());
                Assert.Equal(File.ReadAllText(Path.Combine(_fleet.Scratch, "nginx.conf")), File.ReadAllText(Path.Combine(collected, "web-01", Path.GetFileName(remote))));
            }
            finally
            {
                File.Delete(remote);
                if (Directory.Exists(collected)) Directory.Delete(collected, recursive: true);
            }
        }

        [Fact]
        public void The_engines_notices_reach_PowerShell_as_warnings()
        {
            using var session = _fleet.Session();
            var history = Path.Combine(_fleet.WorkDir, "notice-" + Guid.NewGuid().ToString("N"), "history.db");
            session.Run($"Invoke-FleetCommand -HostName web-01 -Command true -HistoryPath '{history}' | Out-Null").AssertClean();
            File.SetUnixFileMode(history, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            var run = session.Run($"Get-FleetHistory -HistoryPath '{history}' -Last 1 | Out-Null").AssertClean();
            Assert.Contains(run.Warnings, w => w.Message.Contains(history, StringComparison.Ordinal));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(history));
        }

        /// <summary>Remote processes running <paramref name="marker"/>, once there are <paramref name="count"/> (polled; generous guard).</summary>
        internal static IReadOnlyList<ProcessInfo> RemoteProcessesEventually(string marker, int count)
        {
            var guard = Stopwatch.StartNew();
            while (true)
            {
                var found = ProcessTable.Find(p => p.CommandLine.StartsWith(marker, StringComparison.Ordinal) || p.CommandLine.Contains(" " + marker)).Where(p => p.Name == "sleep").ToList();
                if (found.Count >= count) return found;
                if (guard.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"only {found.Count} of {count} remote '{marker}' started");
                System.Threading.Thread.Sleep(50);
            }
        }

        /// <summary>ssh clients this test process started that are still running (pooled masters daemonize away and don't count).</summary>
        internal static IReadOnlyList<ProcessInfo> LocalSshChildren() =>
            ProcessTable.WaitUntilGone(p => p.Name == "ssh" && ProcessTable.Descendants(Environment.ProcessId).Any(d => d.Pid == p.Pid), TimeSpan.FromSeconds(20));
    }
}
