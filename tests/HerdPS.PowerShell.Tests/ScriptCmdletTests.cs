using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// Invoke-FleetScript, Get-FleetScript and Invoke-FleetCommand -Parser as users run them: the packaged module in a
    /// real PowerShell 7.6 runspace against the docs' fleet on the loopback sshd. Objects are read through PowerShell
    /// (-is, property access, Sort-Object, Receive-Job), never cast to our types.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class ScriptCmdletTests
    {
        private readonly ModuleFleet _fleet;

        public ScriptCmdletTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Prop(PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";

        /// <summary>A script file of this test's own, in the fleet's work folder; returns its path.</summary>
        private string Script(string yaml)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_fleet.WorkDir, "scripts-" + Guid.NewGuid().ToString("N"))).FullName;
            var path = Path.Combine(dir, "script.yaml");
            File.WriteAllText(path, yaml);
            return path;
        }

        /// <summary>Runs <paramref name="command"/>, which must end in a terminating error, and reads that error as a catch block sees it.</summary>
        private static (string Id, string Category, string? Target, string Message, int Written) Terminating(PowerShellSession session, string command)
        {
            var run = session.Run($@"
                $written = 0
                try {{ {command} | ForEach-Object {{ $written++ }}; 'not reached' }}
                catch {{ $_.FullyQualifiedErrorId; $_.CategoryInfo.Category.ToString(); [string]$_.TargetObject; $_.Exception.Message; $written }}").AssertClean();
            var values = run.Output.Select(o => o.BaseObject).ToList();
            Assert.True(values.Count == 5, "no terminating error: " + string.Join(" | ", values));
            return ((string)values[0], (string)values[1], (string?)values[2], (string)values[3], (int)values[4]);
        }

        private static string RemotePath(string what) => "/tmp/herd-ps-" + what + "-" + Guid.NewGuid().ToString("N");

        [Fact]
        public void Results_are_typed_step_results_then_one_summary_and_parsed_fields_are_numbers()
        {
            using var session = _fleet.Session();
            var path = Script("name: typed\nsteps:\n  - id: hello\n    run: echo hello {{ host.name }}\n  - id: fail\n    run: exit 3\n    ignore_error: true\n");
            var run = session.Run($@"
                $r = Invoke-FleetScript -Path '{path}' -Group web -NoHistory
                $steps = $r | Where-Object {{ $_ -is [HerdPS.FleetScriptStepResult] }}
                $summary = $r[-1]
                $steps.Count
                $summary -is [HerdPS.FleetScriptSummary]
                ($steps | Where-Object StepId -eq hello | Sort-Object HostName | ForEach-Object StdOut) -join ','
                ($steps | Where-Object StepId -eq fail)[0].Status -is [HerdPS.FleetScriptStepStatus]
                ($steps | Where-Object StepId -eq fail | ForEach-Object {{ '{{0}}:{{1}}:{{2}}' -f $_.Status, $_.ExitCode, $_.Ignored }} | Select-Object -Unique)
                $summary.Succeeded; $summary.SucceededCount; $summary.HostCount
                $disk = Invoke-FleetScript -Name disk -Group web -NoHistory | Where-Object StepId -eq disk
                ($disk | ForEach-Object {{ $_.UsePercent.GetType().Name }} | Select-Object -Unique)
                $disk[0].Parsed['MountedOn']").AssertClean();
            Assert.Equal(new object[]
            {
                6, true, "hello web-01\nhello web-02\nhello web-03".Replace("\n", ","), true, "Failed:3:True", true, 3, 3, "Int64", "/",
            }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        /// <summary>
        /// A host a step can't reach writes its result and an error with the same id Invoke-FleetCommand uses, the host
        /// as target, once: its later steps are NotRun results, not more errors. A step that exits non-zero is a result.
        /// </summary>
        [Fact]
        public void A_host_a_step_cannot_reach_writes_an_error_with_the_commands_id_once()
        {
            using var session = _fleet.Session();
            var path = Script("steps:\n  - echo one\n  - echo two\n  - { id: three, run: 'exit 3' }\n");
            var run = session.Run($"Invoke-FleetScript -Path '{path}' -HostName web-01, {_fleet.Ssh.RefusedHost} -NoHistory -ErrorVariable stepErrors -ErrorAction SilentlyContinue; $stepErrors");
            Assert.Null(run.Terminating);
            var errors = run.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().ToList();
            var error = Assert.Single(errors);
            Assert.Equal("ConnectionRefused", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(_fleet.Ssh.RefusedHost, error.TargetObject);
            var refused = run.Output.Where(o => Prop(o, "HostName") == _fleet.Ssh.RefusedHost).Select(o => Prop(o, "Status")).ToList();
            Assert.Equal(new[] { "Unreachable", "NotRun", "NotRun" }, refused);
            Assert.Contains(run.Output, o => Prop(o, "HostName") == "web-01" && Prop(o, "Status") == "Failed");
        }

        [Fact]
        public void WhatIf_writes_the_plan_per_batch_step_and_host_and_runs_and_records_nothing()
        {
            using var session = _fleet.Session();
            var remote = RemotePath("whatif");
            var path = Script($"params:\n  word: {{ default: hi }}\nstrategy: {{ serial: [1, 2] }}\nsteps:\n  - id: touch\n    run: touch {remote}; echo {{{{ params.word }}}}\n");
            var before = session.Run("(Get-FleetHistory -Last 1).Id").AssertClean().Output.Single().ToString();
            var run = session.Run($@"Invoke-FleetScript -Path '{path}' -Group web -Parameter @{{ word = '$(id)' }} -WhatIf | ForEach-Object {{
                '{{0}}|{{1}}|{{2}}|{{3}}|{{4}}' -f $_.PSObject.TypeNames[0], $_.Batch, $_.StepId, $_.HostName, $_.Action }}").AssertClean();
            Assert.Equal(new[]
            {
                $"HerdPS.FleetScriptPlanStep|1|touch|web-01|touch {remote}; echo '$(id)'",
                $"HerdPS.FleetScriptPlanStep|2|touch|web-02|touch {remote}; echo '$(id)'",
                $"HerdPS.FleetScriptPlanStep|2|touch|web-03|touch {remote}; echo '$(id)'",
            }, run.Output.Select(o => o.ToString()));
            Assert.False(File.Exists(remote));
            Assert.Equal(before, session.Run("(Get-FleetHistory -Last 1).Id").AssertClean().Output.Single().ToString());
        }

        [Fact]
        public void Parameter_takes_a_hashtable_lists_included_and_a_hostile_value_is_only_printed()
        {
            using var session = _fleet.Session();
            var pwned = RemotePath("pwned");
            var path = Script("params:\n  word: { required: true }\n  items: { type: list, default: [x] }\n  count: { type: int, default: 1 }\n" +
                              "steps:\n  - id: say\n    run: echo {{ params.word }} {{ params.count }}\n  - id: each\n    loop: params.items\n    run: echo item {{ item }}\n");
            var run = session.Run($@"
                $r = Invoke-FleetScript -Path '{path}' -HostName web-01 -NoHistory -Parameter @{{ word = ""'; touch {pwned}; echo '""; items = 'a', 'b'; count = 42 }}
                ($r | Where-Object StepId -eq say).StdOut
                ($r | Where-Object StepId -eq each | ForEach-Object {{ '{{0}}={{1}}' -f $_.Item, $_.StdOut }}) -join ','").AssertClean();
            Assert.Equal(new[] { $"'; touch {pwned}; echo ' 42", "a=item a,b=item b" }, run.Output.Select(o => o.ToString()));
            Assert.False(File.Exists(pwned));

            foreach (var (parameters, message) in new[]
            {
                ("@{ word = 'w'; nope = 1 }", "'nope' is not a parameter of script (its parameters: word, items, count); nothing was run"),
                ("@{ items = 'a' }", "parameter 'word' is required"),
                ("@{ word = 'w'; count = 'many' }", "parameter 'count'"),
            })
            {
                var bad = Terminating(session, $"Invoke-FleetScript -Path '{path}' -HostName web-01 -NoHistory -Parameter {parameters}");
                Assert.Equal("ScriptInvalid,HerdPS.Commands.InvokeFleetScriptCommand", bad.Id);
                Assert.Contains(message, bad.Message);
                Assert.Equal(0, bad.Written);
            }
        }

        [Fact]
        public void A_script_error_stops_before_any_host_with_its_id_file_line_and_column()
        {
            using var session = _fleet.Session();
            var marker = RemotePath("error");
            var path = Script($"steps:\n  - run: touch {marker}\n    on_fail: continue\n");
            var error = Terminating(session, $"Invoke-FleetScript -Path '{path}' -Group web -NoHistory");
            Assert.Equal(("ScriptInvalid,HerdPS.Commands.InvokeFleetScriptCommand", "InvalidData", path), (error.Id, error.Category, error.Target));
            Assert.StartsWith($"{path}:3:5: unknown key 'on_fail' in a step", error.Message);
            Assert.Equal(0, error.Written);
            Assert.False(File.Exists(marker));

            // Get-FleetScript -Path checks without running: the info says why, and the error has the same id and location.
            var good = Script("steps: [uptime]\n");
            var check = session.Run($"Get-FleetScript -Path '{good}', '{path}' -ErrorAction SilentlyContinue -ErrorVariable problems; $problems");
            var infos = check.Output.Where(o => o.TypeNames.Contains("HerdPS.FleetScriptInfo")).ToList();
            Assert.Equal(new[] { "True", "False" }, infos.Select(i => Prop(i, "IsValid")));
            Assert.StartsWith($"{path}:3:5: unknown key 'on_fail'", Prop(infos[1], "Error"));
            var problem = Assert.Single(check.Output.Select(o => o.BaseObject).OfType<ErrorRecord>());
            Assert.Equal("ScriptInvalid,HerdPS.Commands.GetFleetScriptCommand", problem.FullyQualifiedErrorId);
        }

        [Fact]
        public void Get_FleetScript_lists_the_built_ins_and_an_inventorys_recipes_which_run_by_name()
        {
            using var session = _fleet.Session();
            var builtIns = session.Run("Get-FleetScript | Where-Object Source -eq BuiltIn | ForEach-Object Name").AssertClean().Output.Select(o => o.ToString()).ToList();
            foreach (var name in new[] { "os-update", "reboot-wait", "sudo-check", "disk", "memory", "uptime", "os-version", "failed-services" })
                Assert.Contains(name, builtIns);
            Assert.Equal(new[] { "reboot-wait" }, session.Run("(Get-FleetScript -Name 'reboot*').Name").AssertClean().Output.Select(o => o.ToString()));

            // herd's own config.yaml, as it is: a group, recipes with selector steps and {{.name}} parameters.
            var config = Path.Combine(Path.GetDirectoryName(Script("steps: [true]\n"))!, "config.yaml");
            File.WriteAllText(config, "defaults:\n  concurrency: 4\ngroups:\n  web:\n    hosts: [web-01, web-02]\nrecipes:\n  greet:\n    description: Say hello\n" +
                                      "    params:\n      who: { default: world }\n    steps:\n      - echo hello {{.who}}\n      - \"@failed echo never\"\n" +
                                      "parsers:\n  words:\n    extract:\n      - field: first\n        column: 1\n");
            var run = session.Run($@"
                $info = Get-FleetScript -InventoryPath '{config}' -Name greet
                '{{0}}|{{1}}|{{2}}' -f $info.Source, $info.Description, ($info.Parameters -join ',')
                Invoke-FleetScript -Name greet -InventoryPath '{config}' -Group web -Parameter @{{ who = 'fleet' }} -NoHistory |
                    Where-Object {{ $_ -is [HerdPS.FleetScriptStepResult] }} | Sort-Object StepId, HostName | ForEach-Object {{ '{{0}} {{1}} {{2}}' -f $_.StepId, $_.HostName, $_.Status }}").AssertClean();
            Assert.Equal(new[] { "Recipe|Say hello|who", "step1 web-01 Succeeded", "step1 web-02 Succeeded", "step2 web-01 Skipped", "step2 web-02 Skipped" },
                run.Output.Select(o => o.ToString()));
            // -Path with -InventoryPath also checks the parsers a file names against that inventory.
            var usesWords = Script("steps:\n  - id: w\n    run: echo a b\n    parse: words\n");
            var usesNope = Script("steps:\n  - id: w\n    run: echo a b\n    parse: nope\n");
            var checks = session.Run($"Get-FleetScript -Path '{usesWords}', '{usesNope}' -InventoryPath '{config}' -ErrorAction SilentlyContinue | ForEach-Object {{ '{{0}}|{{1}}' -f $_.IsValid, $_.Error }}").AssertClean();
            Assert.Equal("True|", checks.Output[0].ToString());
            Assert.StartsWith($"False|{usesNope}:2:5: step 'w': parse: no parser named 'nope' (parsers: disk, free, uptime, os-release, failed-units, package-list, words)", checks.Output[1].ToString());

            var line = $"Invoke-FleetScript -InventoryPath '{config}' -Name gr";
            Assert.Contains("greet", session.Run($"(TabExpansion2 -inputScript \"{line}\" -cursorColumn {line.Length}).CompletionMatches.CompletionText").AssertClean().Output.Select(o => o.ToString()));
        }

        [Fact]
        public void The_built_in_scripts_run_under_the_module_with_typed_fields()
        {
            using var session = _fleet.Session();
            var run = session.Run(@"
                $m = Invoke-FleetScript -Name memory -HostName web-01 -NoHistory | Where-Object StepId -eq memory
                $m.Total -is [long]; $m.UsePercent -is [long]
                (Invoke-FleetScript -Name os-version -HostName web-01 -NoHistory | Where-Object StepId -eq os).Id
                (Invoke-FleetScript -Name failed-services -HostName web-01 -NoHistory | Where-Object StepId -eq failed).Count -is [long]
                $u = Invoke-FleetScript -Name os-update -HostName web-01 -NoHistory
                ($u | Where-Object StepId -eq detect).StdOut
                ($u | Where-Object StepId -eq pending).Count -is [long]
                ($u | Where-Object StepId -eq upgrade).Status.ToString()
                $u[-1].Succeeded
                $s = Invoke-FleetScript -Name sudo-check -HostName web-01 -NoHistory | Where-Object StepId -eq sudo
                ($s.ExitCode -eq 0) -eq ($s.Status -eq 'Succeeded')").AssertClean();
            var osId = File.ReadAllLines("/etc/os-release").Single(l => l.StartsWith("ID=", StringComparison.Ordinal)).Substring(3).Trim('"');
            Assert.Equal(new object[] { true, true, osId, true, "apt-get", true, "Skipped", true, true }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void AsJob_runs_in_the_background_and_Receive_Job_gets_the_results_and_summary()
        {
            using var session = _fleet.Session();
            var path = Script("name: backgrounded\nsteps:\n  - id: one\n    run: echo from-job\n");
            var run = session.Run($@"
                $job = Invoke-FleetScript -Path '{path}' -Group web -NoHistory -AsJob
                $job.PSJobTypeName
                $job.Name
                $results = $job | Receive-Job -Wait -AutoRemoveJob
                ($results | Where-Object {{ $_ -is [HerdPS.FleetScriptStepResult] }} | ForEach-Object StdOut | Select-Object -Unique)
                $results[-1].GetType().FullName
                $results[-1].SucceededCount
                [bool](Get-Job -Id $job.Id -ErrorAction SilentlyContinue)").AssertClean();
            Assert.Equal(new object[] { "FleetScriptJob", "script backgrounded", "from-job", "HerdPS.FleetScriptSummary", 3, false }, run.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void Ctrl_C_mid_script_ends_the_remote_commands_and_leaves_no_ssh_child()
        {
            using var session = _fleet.Session();
            var marker = "sleep 9" + Random.Shared.Next(100, 999) + ".5";
            var after = RemotePath("after-stop");
            var path = Script($"steps:\n  - id: first\n    run: echo started\n  - id: wait\n    run: {marker}\n  - id: after\n    run: touch {after}\n");
            var (shell, pending, output) = session.Begin($"Invoke-FleetScript -Path '{path}' -Group web -NoHistory");
            using (shell)
            {
                Assert.Equal(3, CmdletTests.RemoteProcessesEventually(marker, 3).Count);
                shell.Stop(); // what Ctrl-C does: StopProcessing on the running cmdlet
                Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "Invoke-FleetScript did not stop");
                Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
            }
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(marker), TimeSpan.FromSeconds(20)));
            Assert.Empty(CmdletTests.LocalSshChildren());
            Assert.False(File.Exists(after), "a step after the stop ran");

            // Stop-Job does the same to a script running as a job.
            var jobMarker = "sleep 9" + Random.Shared.Next(100, 999) + ".25";
            var jobPath = Script($"steps:\n  - id: wait\n    run: {jobMarker}\n");
            session.Run($"$null = Invoke-FleetScript -Path '{jobPath}' -Group web -NoHistory -AsJob").AssertClean();
            Assert.Equal(3, CmdletTests.RemoteProcessesEventually(jobMarker, 3).Count);
            var stopped = session.Run("Get-Job | Where-Object PSJobTypeName -eq FleetScriptJob | Stop-Job -PassThru | Wait-Job -Timeout 30 | ForEach-Object { $_.State.ToString() }").AssertClean();
            Assert.Contains("Stopped", stopped.Output.Select(o => o.ToString()));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(jobMarker), TimeSpan.FromSeconds(20)));
            Assert.Empty(CmdletTests.LocalSshChildren());
            session.Run("Get-Job | Remove-Job -Force").AssertClean();
        }

        [Fact]
        public void Invoke_FleetCommand_Parser_adds_typed_properties_that_sort_as_numbers()
        {
            using var session = _fleet.Session();
            // Three hosts, three df lines: 9%, 10% and 100% sort as numbers, never as the text "10", "100", "9".
            string Df(int percent) => $"printf 'Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/vda 1000 {percent * 10} {1000 - percent * 10} {percent}%% /\\n'";
            var run = session.Run($@"
                $r = @(
                    Invoke-FleetCommand -HostName web-01 -Command ""{Df(100)}"" -Parser disk -NoHistory
                    Invoke-FleetCommand -HostName web-02 -Command ""{Df(9)}"" -Parser disk -NoHistory
                    Invoke-FleetCommand -HostName web-03 -Command ""{Df(10)}"" -Parser disk -NoHistory -AsJob | Receive-Job -Wait -AutoRemoveJob)
                ($r | Sort-Object UsePercent | ForEach-Object {{ '{{0}}={{1}}' -f $_.HostName, $_.UsePercent }}) -join ','
                $r[0].UsePercent.GetType().Name
                $r[0].Parsed['MountedOn']
                $r[0] -is [HerdPS.FleetResult]").AssertClean();
            Assert.Equal(new object[] { "web-02=9,web-03=10,web-01=100", "Int64", "/", true }, run.Output.Select(o => o.BaseObject).ToArray());

            var marker = RemotePath("parser");
            var unknown = Terminating(session, $"Invoke-FleetCommand -Group web -Command 'touch {marker}' -Parser nope -NoHistory");
            Assert.Equal("InvalidParameter,HerdPS.Commands.InvokeFleetCommandCommand", unknown.Id);
            Assert.Contains("-Parser: no parser named 'nope' (parsers: disk, free, uptime", unknown.Message);
            Assert.False(File.Exists(marker));
            const string line = "Invoke-FleetCommand -Parser d";
            Assert.Contains("disk", session.Run($"(TabExpansion2 -inputScript '{line}' -cursorColumn {line.Length}).CompletionMatches.CompletionText").AssertClean().Output.Select(o => o.ToString()));
        }
    }
}
