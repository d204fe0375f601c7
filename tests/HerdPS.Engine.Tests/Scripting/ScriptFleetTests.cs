using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Scripting;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Scripting
{
    /// <summary>Fleet scripts against the real sshd fleet, through the engine and through the real herd binary.</summary>
    [Collection("ssh fleet")]
    public sealed class ScriptFleetTests : IDisposable
    {
        private readonly SshFleet _fleet;
        private readonly TempDirectory _dir = new TempDirectory();
        /// <summary>The history's folder: ours alone (the history refuses a folder another user owns, as _dir is).</summary>
        private readonly TempDirectory _private = new TempDirectory();

        public ScriptFleetTests(SshFleet fleet)
        {
            _fleet = fleet;
            // The login user writes the marker files these scripts make.
            _fleet.ChownToLoginUser(_dir.Path);
        }

        public void Dispose()
        {
            _dir.Dispose();
            _private.Dispose();
        }

        private string[] Hosts(int first, int count) => _fleet.Hosts.Skip(first).Take(count).ToArray();

        private async Task<(List<FleetScriptStepResult> Results, FleetScriptSummary Summary)> RunAsync(string yaml, string[] hosts,
            Dictionary<string, object?>? parameters = null, CancellationToken ct = default, bool history = false)
        {
            var path = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N") + ".yaml");
            File.WriteAllText(path, yaml);
            var script = FleetScriptReader.ReadFile(path);
            var request = new FleetCommandRequest
            {
                SshConfigPath = _fleet.SshConfigPath,
                ControlDirectory = Path.Combine(_fleet.ControlDirectory, "scripts"),
                ConnectTimeout = TimeSpan.FromSeconds(5),
                NoHistory = !history,
                HistoryPath = Path.Combine(_private.Path, "history.db"),
            };
            request.Selection.Hosts.AddRange(hosts);
            var target = FleetEngine.Resolve(request);
            using var run = ScriptExecutor.Start(script, target, request, new ScriptRunOptions { Parameters = parameters }, ct);
            var results = new List<FleetScriptStepResult>();
            FleetScriptSummary? summary = null;
            await foreach (var e in run.ReadAllAsync())
            {
                if (e.Result != null) results.Add(e.Result);
                if (e.Summary != null) summary = e.Summary;
            }
            return (results, summary!);
        }

        [Fact]
        public async Task OnFailedPicksExactlyTheFailedHosts()
        {
            var hosts = Hosts(120, 4);
            var (results, summary) = await RunAsync($@"
steps:
  - id: probe
    run: '[ ""$(hostname)"" = x ] || case {{{{ host.name }}}} in {hosts[1]}|{hosts[3]}) exit 1;; esac'
    ignore_error: true
  - id: fix
    on: '@failed'
    run: echo fixing {{{{ host.name }}}}
  - id: good
    on: '@ok:probe'
    run: echo fine
", hosts);
            Assert.Equal(new[] { hosts[1], hosts[3] }, results.Where(r => r.StepId == "fix" && r.Status == FleetScriptStepStatus.Succeeded).Select(r => r.HostName).OrderBy(h => h));
            Assert.All(results.Where(r => r.StepId == "fix" && (r.HostName == hosts[0] || r.HostName == hosts[2])), r => Assert.Equal(FleetScriptStepStatus.Skipped, r.Status));
            Assert.Equal(new[] { hosts[0], hosts[2] }, results.Where(r => r.StepId == "good" && r.Status == FleetScriptStepStatus.Succeeded).Select(r => r.HostName).OrderBy(h => h));
            Assert.Equal("fixing " + hosts[1] + "\n", results.Single(r => r.StepId == "fix" && r.HostName == hosts[1]).StdOut);
            Assert.Equal(4, summary.SucceededCount); // the failures were ignored
        }

        [Fact]
        public async Task RollingBatchesStopAtMaxFailPercentage()
        {
            var hosts = Hosts(124, 6);
            var (results, summary) = await RunAsync($@"
strategy: {{ serial: [1, 2], max_fail_percentage: 40 }}
steps:
  - id: work
    run: case {{{{ host.name }}}} in {hosts[1]}|{hosts[2]}) exit 7;; *) echo ok;; esac
  - id: after
    run: echo after
", hosts);
            // batch 1: hosts[0] ok; batch 2: hosts[1..2] both fail (100% > 40%): batches 3 and 4 never start.
            Assert.Equal(FleetScriptStepStatus.Succeeded, results.Single(r => r.HostName == hosts[0] && r.StepId == "work").Status);
            Assert.All(hosts.Skip(1).Take(2), h => Assert.Equal(FleetScriptStepStatus.Failed, results.Single(r => r.HostName == h && r.StepId == "work").Status));
            Assert.All(hosts.Skip(1).Take(2), h => Assert.Equal(FleetScriptStepStatus.NotRun, results.Single(r => r.HostName == h && r.StepId == "after").Status));
            // A host of a batch that never started has a NotRun result for every step, each saying why.
            foreach (var step in new[] { "work", "after" })
                Assert.All(hosts.Skip(3), h =>
                {
                    var r = results.Single(x => x.HostName == h && x.StepId == step);
                    Assert.Equal(FleetScriptStepStatus.NotRun, r.Status);
                    Assert.Contains("max_fail_percentage", r.ErrorMessage);
                });
            Assert.Equal(4, summary.BatchCount);
            Assert.Equal((1, 2, 3), (summary.SucceededCount, summary.FailedCount, summary.NotRunCount));
            Assert.Contains("max_fail_percentage", summary.StoppedReason);
            Assert.False(summary.Succeeded);
        }

        [Fact]
        public async Task IndependentGraphBranchesRunAtTheSameTime()
        {
            // Branch a waits for a file that only branch b creates: it can finish only if b runs while a waits.
            // The guard (60 s) is a bound on a hang, never a timing assertion.
            var marker = Path.Combine(_dir.Path, "b-was-here");
            var hosts = Hosts(130, 1);
            var (results, summary) = await RunAsync($@"
steps:
  - id: start
    run: echo go
  - id: a
    depends_on: start
    run: i=0; while [ ! -e {marker} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 9; sleep 0.1; done; echo saw b
  - id: b
    depends_on: start
    run: sleep 0.5; touch {marker}; echo made it
  - id: join
    depends_on: [a, b]
    run: echo {{{{ steps.a.stdout }}}} and {{{{ steps.b.stdout }}}}
", hosts);
            Assert.True(summary.Succeeded, string.Join("\n", results.Select(r => r + " " + r.ErrorMessage)));
            Assert.Equal("saw b and made it\n", results.Single(r => r.StepId == "join").StdOut);
        }

        [Fact]
        public async Task UntilRetriesUntilItHoldsAndStopsWhenItNeverDoes()
        {
            var counter = Path.Combine(_dir.Path, "count");
            var hosts = Hosts(131, 1);
            var (results, _) = await RunAsync($@"
steps:
  - id: poll
    run: echo x >> {counter}; wc -l < {counter}
    retries: 10
    retry_delay: 100ms
    until: result.stdout == ""3""
  - id: never
    run: echo no
    retries: 2
    retry_delay: 100ms
    until: result.stdout == ""yes""
", hosts);
            var poll = results.Single(r => r.StepId == "poll");
            Assert.Equal((FleetScriptStepStatus.Succeeded, 3), (poll.Status, poll.Attempts));
            Assert.Equal(3, File.ReadAllLines(counter).Length);
            var never = results.Single(r => r.StepId == "never");
            Assert.Equal((FleetScriptStepStatus.Failed, 3), (never.Status, never.Attempts));
            Assert.Contains("until", never.ErrorMessage);
        }

        [Fact]
        public async Task RunOnceRunsOnOneHostAndHandlersRunOnceAtTheEnd()
        {
            var log = Path.Combine(_dir.Path, "log");
            var hosts = Hosts(132, 3);
            var (results, _) = await RunAsync($@"
handlers:
  - id: restart
    run: echo restart {{{{ host.name }}}} >> {log}
steps:
  - id: once
    run_once: true
    run: echo once >> {log}; echo shared
  - id: change
    run: echo changed
    notify: restart
  - id: again
    run: echo {{{{ steps.once.stdout }}}}
    notify: [restart]
", hosts);
            var lines = File.ReadAllLines(log);
            Assert.Single(lines, l => l == "once");
            Assert.Equal(hosts.Select(h => "restart " + h).OrderBy(x => x), lines.Where(l => l.StartsWith("restart")).OrderBy(x => x));
            Assert.Equal(2, results.Count(r => r.StepId == "once" && r.Status == FleetScriptStepStatus.Skipped));
            Assert.All(results.Where(r => r.StepId == "again"), r => Assert.Equal("shared\n", r.StdOut));
            Assert.Equal(3, results.Count(r => r.IsHandler));
        }

        [Theory]
        [InlineData("'; touch {0}/pwned1; echo '")]
        [InlineData("$(touch {0}/pwned2)")]
        [InlineData("`touch {0}/pwned3`")]
        public async Task AHostileParameterRunsNothing(string value)
        {
            var hostile = string.Format(value, _dir.Path);
            var (results, _) = await RunAsync("params:\n  name: { required: true }\nsteps:\n  - id: greet\n    run: echo hello {{ params.name }}\n  - local: echo {{ params.name }}\n",
                Hosts(133, 1), new Dictionary<string, object?> { ["name"] = hostile });
            Assert.Equal("hello " + hostile + "\n", results.Single(r => r.StepId == "greet").StdOut);
            Assert.Empty(Directory.GetFiles(_dir.Path, "pwned*"));
        }

        [Fact]
        public async Task LoopsWhenRegisterDelegateAndExitCodes()
        {
            var hosts = Hosts(134, 2);
            var (results, summary) = await RunAsync($@"
params:
  pkgs: {{ type: list, default: [a, b, c] }}
steps:
  - id: each
    loop: params.pkgs
    run: echo pkg {{{{ item }}}}
  - id: odd
    run: exit 3
    allowed_exit_codes: [0, 3]
    register: odd_result
  - id: only_first
    when: host.name == ""{hosts[0]}""
    run: echo {{{{ odd_result.exit_code }}}}
  - id: delegated
    delegate_to: localhost
    run: echo for {{{{ host.name }}}}
", hosts);
            Assert.True(summary.Succeeded);
            Assert.Equal(new[] { "a", "b", "c" }, results.Where(r => r.StepId == "each" && r.HostName == hosts[0]).Select(r => r.Item));
            Assert.All(results.Where(r => r.StepId == "odd"), r => Assert.Equal((FleetScriptStepStatus.Succeeded, 3), (r.Status, r.ExitCode!.Value)));
            Assert.Equal("3\n", results.Single(r => r.StepId == "only_first" && r.HostName == hosts[0]).StdOut);
            Assert.Equal(FleetScriptStepStatus.Skipped, results.Single(r => r.StepId == "only_first" && r.HostName == hosts[1]).Status);
            var delegated = results.Single(r => r.StepId == "delegated" && r.HostName == hosts[1]);
            Assert.Equal(("localhost", "for " + hosts[1] + "\n"), (delegated.RanOn, delegated.StdOut));
        }

        /// <summary>
        /// A host for reboot-wait: its own sshd in a mount namespace where a file of the test is bind-mounted over
        /// /proc/sys/kernel/random/boot_id, so the built-in's own boot id command reads what the test says the boot is.
        /// </summary>
        private ExtraSshHost RebootableHost(string alias, string bootId) =>
            _fleet.StartIsolatedHost(alias, dir => File.WriteAllText(Path.Combine(dir, "boot_id"), bootId + "\n"),
                $"mount --bind {SshFleet.IsolatedMountPoint}/boot_id /proc/sys/kernel/random/boot_id");

        private (ScriptRun Run, FleetScript Script) StartRebootWait(string sshConfig, string[] hosts, string marker, int attempts, string health = "")
        {
            var script = ScriptCatalog.BuiltIn("reboot-wait");
            var request = new FleetCommandRequest { SshConfigPath = sshConfig, ControlDirectory = Path.Combine(_fleet.ControlDirectory, "reboot"), ConnectTimeout = TimeSpan.FromSeconds(5), NoHistory = true };
            request.Selection.Hosts.AddRange(hosts);
            var target = FleetEngine.Resolve(request);
            var parameters = new Dictionary<string, object?>
            {
                // The "reboot" only tells the test to pull the plug; the test is the power switch.
                ["reboot_command"] = $"touch {marker}",
                ["wait_attempts"] = attempts.ToString(),
                ["wait_delay"] = "500ms",
                ["health"] = health,
            };
            return (ScriptExecutor.Start(script, target, request, new ScriptRunOptions { Parameters = parameters }, default), script);
        }

        private static async Task<(List<FleetScriptStepResult>, FleetScriptSummary)> Collect(ScriptRun run)
        {
            var results = new List<FleetScriptStepResult>();
            FleetScriptSummary? summary = null;
            using (run)
                await foreach (var e in run.ReadAllAsync())
                {
                    if (e.Result != null) results.Add(e.Result);
                    if (e.Summary != null) summary = e.Summary;
                }
            return (results, summary!);
        }

        private static void WaitFor(Func<bool> condition, string what)
        {
            var guard = System.Diagnostics.Stopwatch.StartNew();
            while (!condition())
            {
                if (guard.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException("gave up waiting for " + what);
                Thread.Sleep(50);
            }
        }

        [Fact]
        public async Task RebootWaitWaitsWhileTheSshdIsDownAndGoesOnWhenItComesBackUnderTheSameKeyWithANewBootId()
        {
            const string oldBoot = "0b0a1d00-0000-4000-8000-000000000001", newBoot = "0b0a1d00-0000-4000-8000-000000000002";
            using var host = RebootableHost("reboots", oldBoot);
            var config = _fleet.WriteCombinedConfig("reboots", new[] { host });
            var marker = Path.Combine(_dir.Path, "rebooting");
            var (run, _) = StartRebootWait(config, new[] { "reboots" }, marker, attempts: 120, health: "cat /proc/sys/kernel/random/boot_id");
            var outcome = Collect(run);

            // The host reboots: its sshd dies with every session, and while it is down something answers on its port
            // and hangs up (as a booting host's network does), which shows that reboot-wait kept looking meanwhile.
            WaitFor(() => File.Exists(marker), "the reboot command");
            host.Kill();
            var looks = 0;
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, host.Port);
            listener.Start();
            try
            {
                while (looks < 2)
                {
                    var accept = listener.AcceptTcpClientAsync();
                    Assert.True(accept.Wait(TimeSpan.FromSeconds(90)), "reboot-wait never looked for the host while it was down");
                    accept.Result.Dispose();
                    looks++;
                }
            }
            finally { listener.Stop(); }
            File.WriteAllText(Path.Combine(host.FilesDirectory!, "boot_id"), newBoot + "\n");
            host.Restart(); // the same host key: known_hosts still vouches for it

            var (results, summary) = await outcome;
            Assert.True(summary.Succeeded, string.Join("\n", results.Select(r => $"{r}: {r.ErrorMessage}")));
            Assert.Equal(oldBoot + "\n", results.Single(r => r.StepId == "boot_id").StdOut);
            var back = results.Single(r => r.StepId == "back");
            Assert.Equal((FleetScriptStepStatus.Succeeded, newBoot + "\n"), (back.Status, back.StdOut));
            Assert.True(back.Attempts >= 3, $"back took {back.Attempts} attempt(s): it never saw the host away");
            Assert.Equal(newBoot + "\n", results.Single(r => r.StepId == "health").StdOut);
        }

        [Fact]
        public async Task RebootWaitFailsAHostThatNeverComesBackAndStopsTheRolloutAtMaxFailPercentage()
        {
            using var gone = RebootableHost("a-reboot-gone", "0b0a1d00-0000-4000-8000-00000000000a");
            var config = _fleet.WriteCombinedConfig("reboot-gone", new[] { gone });
            var marker = Path.Combine(_dir.Path, "rebooting-for-good");
            var later = Hosts(145, 1)[0];
            var (run, script) = StartRebootWait(config, new[] { "a-reboot-gone", later }, marker, attempts: 4);
            var outcome = Collect(run);
            WaitFor(() => File.Exists(marker), "the reboot command");
            gone.Kill(); // and it never comes back

            var (results, summary) = await outcome;
            var back = results.Single(r => r.HostName == "a-reboot-gone" && r.StepId == "back");
            Assert.Equal(FleetScriptStepStatus.Unreachable, back.Status);
            Assert.Equal(5, back.Attempts); // the first look and wait_attempts more
            Assert.Equal(FleetScriptStepStatus.NotRun, results.Single(r => r.HostName == "a-reboot-gone" && r.StepId == "health").Status);
            // The second batch never starts: max_fail_percentage 0 counts the host that did not come back.
            Assert.Equal(script.Steps.Select(s => s.Id), results.Where(r => r.HostName == later).Select(r => r.StepId));
            Assert.All(results.Where(r => r.HostName == later), r => Assert.Equal(FleetScriptStepStatus.NotRun, r.Status));
            Assert.Equal((1, 0, 1), (summary.FailedCount, summary.SucceededCount, summary.NotRunCount));
            Assert.Equal(new[] { "a-reboot-gone" }, summary.FailedHosts.ToArray());
            Assert.Contains("max_fail_percentage", summary.StoppedReason);
        }

        private HerdPS.History.HistoryStore History() => HerdPS.History.FleetHistory.OpenForReading(Path.Combine(_private.Path, "history.db"));

        [Fact]
        public async Task AStepIsOneRecordedRunWithOneResultPerHostHoweverManyItemsAndAttempts()
        {
            var counter = Path.Combine(_dir.Path, "attempts");
            var hosts = Hosts(140, 2);
            var (results, summary) = await RunAsync($@"
name: recorded
steps:
  - id: each
    loop: [a, b, c]
    run: echo pkg {{{{ item }}}}
  - id: poll
    run: echo x >> {counter}-{{{{ host.name }}}}; wc -l < {counter}-{{{{ host.name }}}}
    retries: 5
    retry_delay: 50ms
    until: result.stdout == ""3""
", hosts, history: true);
            Assert.True(summary.Succeeded);
            Assert.Equal(2, summary.HistoryRunIds.Length); // one run per step, not per item or attempt
            using var history = History();
            var runs = summary.HistoryRunIds.Select(id => history.GetRun(id)!).ToDictionary(r => r.Command.Substring(0, r.Command.IndexOf(':')));
            Assert.Equal(new[] { "recorded#each", "recorded#poll" }, runs.Keys.OrderBy(k => k));
            var each = history.ReadResults(runs["recorded#each"].Id).ToList();
            Assert.Equal(hosts, each.Select(r => r.HostName).OrderBy(h => h));
            Assert.All(each, r => Assert.Equal("[item a]\npkg a\n[item b]\npkg b\n[item c]\npkg c\n", r.StdOut));
            var poll = history.ReadResults(runs["recorded#poll"].Id).ToList();
            Assert.Equal(hosts, poll.Select(r => r.HostName).OrderBy(h => h));
            Assert.All(poll, r => Assert.Equal(("3\n", 3), (r.StdOut, r.Attempts)));
            // The stream still has one result per item, and the step's change rides on the host's last item.
            Assert.Equal(6, results.Count(r => r.StepId == "each"));
        }

        /// <summary>
        /// Hosts that finish a step at the same moment record into one run: the first result of a step begins its run once.
        /// (Two at once used to begin two runs, one of them left in the history empty and unfinished.)
        /// </summary>
        [Fact]
        public async Task HostsFinishingAStepAtOnceRecordOneFinishedRun()
        {
            var hosts = Hosts(100, 16);
            var (_, summary) = await RunAsync("name: together\nsteps:\n  - id: one\n    run: 'true'\n  - id: two\n    run: 'true'\n", hosts, history: true);
            Assert.True(summary.Succeeded);
            Assert.Equal(2, summary.HistoryRunIds.Length);
            using var history = History();
            var runs = history.ListRuns(new HerdPS.History.HistoryQuery { Last = 100 });
            Assert.Equal(new[] { "together#one: true", "together#two: true" }, runs.Select(r => r.Command).OrderBy(c => c, StringComparer.Ordinal));
            Assert.All(runs, r => Assert.Equal((16, true), (r.HostCount, r.IsComplete)));
        }

        [Fact]
        public async Task ChangedSelectsTheHostsWhoseStepOutputChangedAndReadsTheHistoryWithoutRecordingUnderNoHistory()
        {
            var hosts = Hosts(142, 3);
            var flip = Path.Combine(_dir.Path, "flip");
            string Script() => $@"
name: changes
steps:
  - id: probe
    run: if [ -e {flip}-{{{{ host.name }}}} ]; then echo new; else echo old; fi
  - id: react
    on: '@changed:probe'
    run: echo reacting
";
            // The first run has nothing to compare with: @changed selects nobody, and says why.
            var (first, _) = await RunAsync(Script(), hosts, history: true);
            Assert.All(first.Where(r => r.StepId == "react"), r =>
            {
                Assert.Equal(FleetScriptStepStatus.Skipped, r.Status);
                Assert.Contains("no earlier finished run of step 'probe'", r.ErrorMessage);
            });
            File.WriteAllText(flip + "-" + hosts[1], "");
            var (second, _) = await RunAsync(Script(), hosts, history: true);
            Assert.Equal(new[] { hosts[1] }, second.Where(r => r.StepId == "react" && r.Status == FleetScriptStepStatus.Succeeded).Select(r => r.HostName));
            Assert.Equal("Changed", second.Single(r => r.StepId == "probe" && r.HostName == hosts[1]).Change);

            // -NoHistory: compared with the history all the same (read only), and nothing recorded.
            File.WriteAllText(flip + "-" + hosts[2], "");
            long RunCount() { using var h = History(); return h.ListRuns(new HerdPS.History.HistoryQuery { Last = 100000 }).Count; }
            var before = RunCount();
            var (third, summary) = await RunAsync(Script(), hosts, history: false);
            Assert.Equal(new[] { hosts[2] }, third.Where(r => r.StepId == "react" && r.Status == FleetScriptStepStatus.Succeeded).Select(r => r.HostName));
            Assert.Empty(summary.HistoryRunIds);
            Assert.Equal(before, RunCount());
        }

        /// <summary>
        /// A stand-in for sudo, first on the host's PATH (/usr/local/bin, bind-mounted in the host's own namespace): it
        /// logs the arguments it got, fails -n as sudo does when a password is needed, and with -S reads the password
        /// from stdin and runs the command only when it is the expected one.
        /// </summary>
        private const string FakeSudo = @"#!/bin/sh
printf '%s\n' ""$*"" >> /srv/herd-drift/sudo-argv
mode=
while [ $# -gt 0 ]; do
  case ""$1"" in
    -n) mode=n; shift ;;
    -S) mode=S; shift ;;
    -p|-u) shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ ""$mode"" != S ]; then echo 'sudo: a password is required' >&2; exit 1; fi
IFS= read -r pw || { echo 'sudo: no password on stdin' >&2; exit 1; }
[ ""$pw"" = ""$(cat /srv/herd-drift/expected)"" ] || { echo 'sudo: 1 incorrect password attempt' >&2; exit 1; }
exec ""$@""
";

        [Fact]
        public async Task ASudoPasswordReachesSudoOnStdinAndNeverAnArgumentTheHistoryOrTheOutput()
        {
            var password = "pw-" + Guid.NewGuid().ToString("N");
            using var host = _fleet.StartIsolatedHost("sudoer", dir =>
            {
                File.WriteAllText(Path.Combine(dir, "expected"), password + "\n");
                File.WriteAllText(Path.Combine(dir, "sudo-argv"), "");
                _fleet.ChownToLoginUser(Path.Combine(dir, "sudo-argv"));
                var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
                File.WriteAllText(Path.Combine(bin, "sudo"), FakeSudo);
                File.SetUnixFileMode(Path.Combine(bin, "sudo"), (UnixFileMode)0b111_101_101);
            }, $"mount --bind {SshFleet.IsolatedMountPoint}/bin /usr/local/bin");
            var config = _fleet.WriteCombinedConfig("sudoer", new[] { host });
            var script = Path.Combine(_dir.Path, "sudo.yaml");
            File.WriteAllText(script, "name: elevated\nsteps:\n  - id: root\n    sudo: true\n    run: sleep 1; echo elevated as $(id -un)\n");
            var history = Path.Combine(_private.Path, "sudo-history.db");
            var request = new FleetCommandRequest { SshConfigPath = config, ControlDirectory = Path.Combine(_fleet.ControlDirectory, "sudo"), ConnectTimeout = TimeSpan.FromSeconds(5), HistoryPath = history };
            request.Selection.Hosts.Add("sudoer");
            var target = FleetEngine.Resolve(request);

            // Without a password: sudo -n, which fails where a password is needed, and says so.
            var (without, _) = await Collect(ScriptExecutor.Start(FleetScriptReader.ReadFile(script), target, request, new ScriptRunOptions(), default));
            var refused = without.Single();
            Assert.Equal(FleetScriptStepStatus.Failed, refused.Status);
            Assert.Contains("a password is required", refused.StdErr);

            // With one: on stdin only. While the step runs, no process on this machine has it in its arguments.
            var run = ScriptExecutor.Start(FleetScriptReader.ReadFile(script), target, request, new ScriptRunOptions { SudoPassword = password }, default);
            var outcome = Collect(run);
            var seen = new List<string>();
            while (!outcome.IsCompleted)
            {
                seen.AddRange(ProcessTable.Find(p => p.CommandLine.Contains(password, StringComparison.Ordinal)).Select(p => $"{p.Pid} {p.CommandLine}"));
                await Task.Delay(20);
            }
            var (with, summary) = await outcome;
            Assert.Empty(seen);
            var elevated = with.Single();
            Assert.True(elevated.Status == FleetScriptStepStatus.Succeeded, elevated.StdErr + elevated.ErrorMessage);
            Assert.Equal($"elevated as {_fleet.User}\n", elevated.StdOut);
            Assert.DoesNotContain(password, elevated.Command + elevated.StdOut + elevated.StdErr + elevated.ErrorMessage);
            Assert.StartsWith("sleep 1;", elevated.Command); // the command as written, not the sudo wrapper

            // sudo got -S and the command; the history has the run and the output, never the password.
            var argv = File.ReadAllText(Path.Combine(host.FilesDirectory!, "sudo-argv"));
            Assert.Contains("-S -p  -- /bin/sh -c sleep 1; echo elevated", argv);
            Assert.DoesNotContain(password, argv);
            using (var store = HerdPS.History.FleetHistory.OpenForReading(history))
            {
                var recorded = summary.HistoryRunIds.SelectMany(id => store.ReadResults(id)).ToList();
                Assert.Contains(recorded, r => r.StdOut == $"elevated as {_fleet.User}\n");
            }
            foreach (var file in Directory.GetFiles(Path.GetDirectoryName(history)!, Path.GetFileName(history) + "*")) // the database and its WAL
                Assert.DoesNotContain(password, File.ReadAllText(file));

            // herd run reads it from $HERD_SUDO_PASSWORD (never an option: argv is visible to every user).
            var env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-sudo"),
                ["HERD_HISTORY"] = history,
                ["HERD_SUDO_PASSWORD"] = password,
            };
            var cli = await HerdProcess.RunAsync(new[] { "run", script, "-F", config, "-H", "sudoer", "--json", "--sudo-password-from-env" }, env);
            Assert.True(cli.ExitCode == 0, cli.StdErr);
            Assert.Contains($"elevated as {_fleet.User}", cli.StdOut);
            Assert.DoesNotContain(password, cli.StdOut + cli.StdErr);
            var unset = await HerdProcess.RunAsync(new[] { "run", script, "-F", config, "-H", "sudoer", "--sudo-password-from-env" },
                new Dictionary<string, string>(env) { ["HERD_SUDO_PASSWORD"] = "" });
            Assert.Equal(2, unset.ExitCode);
            Assert.Contains("HERD_SUDO_PASSWORD is not set", unset.StdErr);

            // The wrapper stays: the command's stdin is the password line and then its end (cat returns at once), and
            // a step's timeout ends the command on the host, through either SSH transport.
            foreach (var transport in new[] { "openssh", "sshnet" })
            {
                var sleep = Execution.LocalRunnerTests.UniqueSleep();
                var bounded = Path.Combine(_dir.Path, $"sudo-timeout-{transport}.yaml");
                File.WriteAllText(bounded, $"steps:\n  - id: rest\n    sudo: true\n    run: cat; echo stdin ended\n  - id: long\n    sudo: true\n    timeout: 2s\n    run: sleep {sleep}\n");
                var viaTransport = new FleetCommandRequest { SshConfigPath = config, ControlDirectory = request.ControlDirectory, ConnectTimeout = TimeSpan.FromSeconds(5), Transport = transport, HistoryPath = history };
                viaTransport.Selection.Hosts.Add("sudoer");
                var (steps, _) = await Collect(ScriptExecutor.Start(FleetScriptReader.ReadFile(bounded), FleetEngine.Resolve(viaTransport), viaTransport, new ScriptRunOptions { SudoPassword = password }, default));
                var rest = steps.Single(r => r.StepId == "rest");
                Assert.True(rest.Status == FleetScriptStepStatus.Succeeded, $"{transport}: {rest.Status} {rest.StdErr} {rest.ErrorMessage}");
                Assert.Equal("stdin ended\n", rest.StdOut);
                var timedOut = steps.Single(r => r.StepId == "long");
                Assert.True(timedOut.Status == FleetScriptStepStatus.TimedOut, $"{transport}: {timedOut.Status} {timedOut.StdErr} {timedOut.ErrorMessage}");
                Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
            }
            Assert.DoesNotContain(password, File.ReadAllText(Path.Combine(host.FilesDirectory!, "sudo-argv")));
        }

        [Fact]
        public async Task CtrlCEndsHerdRunWith130AndEndsTheRemoteCommandsAndNoLaterStepRuns()
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var after = Path.Combine(_dir.Path, "after-interrupt");
            var script = Path.Combine(_dir.Path, "interrupted.yaml");
            File.WriteAllText(script, $"steps:\n  - id: wait\n    run: sleep {sleep}\n  - id: after\n    run: touch {after}\n");
            var env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-interrupt"),
                ["HERD_HISTORY"] = Path.Combine(_private.Path, "interrupt.db"),
            };
            var o = await HerdProcess.InterruptAsync(new[] { "run", script, "-F", _fleet.SshConfigPath, "-H", string.Join(",", Hosts(147, 2)), "--json" }, env, sleep, 2);
            Assert.True(o.ExitCode == 130, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            var lines = o.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.All(lines.Where(l => l.GetProperty("type").GetString() == "step"), l => Assert.Equal("Cancelled", l.GetProperty("status").GetString()));
            Assert.True(lines[^1].GetProperty("cancelled").GetBoolean());
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "ssh" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
            Assert.False(File.Exists(after));
        }

        [Fact]
        public async Task EveryBuiltInScriptRunsUnderHerdRunWithTypedFields()
        {
            var env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-builtins"),
                ["HERD_HISTORY"] = Path.Combine(_private.Path, "builtins.db"),
            };
            var host = Hosts(146, 1)[0];
            async Task<(int Exit, List<JsonElement> Steps, string StdErr)> Run(string name, params string[] extra)
            {
                var run = await HerdProcess.RunAsync(new[] { "run", name, "-F", _fleet.SshConfigPath, "-H", host, "--json" }.Concat(extra).ToArray(), env);
                var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
                Assert.True(lines.Count > 0 && lines[^1].GetProperty("type").GetString() == "summary", $"{name}: exit {run.ExitCode}: {run.StdErr}");
                return (run.ExitCode, lines.Where(l => l.GetProperty("type").GetString() == "step").ToList(), run.StdErr);
            }
            JsonElement Parsed(List<JsonElement> steps, string id) => steps.Single(s => s.GetProperty("stepId").GetString() == id).GetProperty("parsed");

            var memory = await Run("memory");
            Assert.Equal(0, memory.Exit);
            Assert.Equal(JsonValueKind.Number, Parsed(memory.Steps, "memory").GetProperty("Total").ValueKind);
            Assert.Equal(JsonValueKind.Number, Parsed(memory.Steps, "memory").GetProperty("UsePercent").ValueKind);

            var os = await Run("os-version");
            Assert.Equal(0, os.Exit);
            var pretty = File.ReadAllLines("/etc/os-release").Single(l => l.StartsWith("PRETTY_NAME=")).Substring(12).Trim('"');
            Assert.Equal(pretty, Parsed(os.Steps, "os").GetProperty("PrettyName").GetString());

            var failed = await Run("failed-services");
            Assert.Equal(0, failed.Exit);
            Assert.Equal(JsonValueKind.Number, Parsed(failed.Steps, "failed").GetProperty("Count").ValueKind);

            var update = await Run("os-update", "--set", "mode=list");
            Assert.True(update.Exit == 0, update.StdErr + string.Join("\n", update.Steps.Select(s => s.ToString())));
            Assert.Equal("apt-get\n", update.Steps.Single(s => s.GetProperty("stepId").GetString() == "detect").GetProperty("stdOut").GetString());
            Assert.Equal(JsonValueKind.Number, Parsed(update.Steps, "pending").GetProperty("Count").ValueKind);
            Assert.Equal("Skipped", update.Steps.Single(s => s.GetProperty("stepId").GetString() == "upgrade").GetProperty("status").GetString());
            Assert.Matches("^(yes|no)\n$", update.Steps.Single(s => s.GetProperty("stepId").GetString() == "reboot_required").GetProperty("stdOut").GetString());

            // Whether this login user may sudo depends on the machine; the script must say what sudo -n says.
            var sudo = await Run("sudo-check");
            var step = sudo.Steps.Single();
            var allowed = step.GetProperty("exitCode").GetInt32() == 0;
            Assert.Equal((allowed ? "Succeeded" : "Failed", allowed ? 0 : 1), (step.GetProperty("status").GetString(), sudo.Exit));
        }

        [Fact]
        public async Task HerdRunExitCodesJsonHistoryAndScriptErrors()
        {
            var env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-scripts"),
                ["HERD_HISTORY"] = Path.Combine(_private.Path, "cli-history.db"),
            };
            var hosts = string.Join(",", Hosts(136, 2));
            var script = Path.Combine(_dir.Path, "s.yaml");
            File.WriteAllText(script, "params:\n  word: { default: hi }\nsteps:\n  - id: say\n    run: echo {{ params.word }}\n  - id: fail\n    run: exit 4\n");
            string[] Herd(params string[] rest) => new[] { "run", script, "-F", _fleet.SshConfigPath, "--connect-timeout", "5s", "-H", hosts }.Concat(rest).ToArray();

            var json = await HerdProcess.RunAsync(Herd("--json", "--set", "word=yo"), env);
            Assert.True(json.ExitCode == 1, $"exit {json.ExitCode}: {json.StdErr}");
            var lines = json.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(5, lines.Count);
            Assert.All(lines.Where(l => l.GetProperty("type").GetString() == "step" && l.GetProperty("stepId").GetString() == "say"), l => Assert.Equal("yo\n", l.GetProperty("stdOut").GetString()));
            var summary = lines.Last();
            Assert.Equal("summary", summary.GetProperty("type").GetString());
            Assert.Equal(2, summary.GetProperty("failedCount").GetInt32());

            var history = await HerdProcess.RunAsync(new[] { "history", "--json" }, env);
            var runs = history.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Contains(runs, r => r.GetProperty("kind").GetString() == "script" && r.GetProperty("command").GetString()!.StartsWith("s#say: "));
            var sayId = runs.First(r => r.GetProperty("command").GetString()!.StartsWith("s#say: ")).GetProperty("id").GetInt64().ToString();
            // The script run is its step runs: the summary names them, and --command 's#*' lists exactly those.
            var stepRuns = summary.GetProperty("historyRunIds").EnumerateArray().Select(e => e.GetInt64()).OrderBy(x => x).ToList();
            Assert.Equal(2, stepRuns.Count);
            Assert.Contains(long.Parse(sayId), stepRuns);
            var listed = await HerdProcess.RunAsync(new[] { "history", "--json", "--command", "s#*" }, env);
            Assert.Equal(stepRuns, listed.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).OrderBy(x => x).ToList());
            var show = await HerdProcess.RunAsync(new[] { "history", "show", sayId }, env);
            Assert.Equal(0, show.ExitCode);
            Assert.True(show.StdOut.Contains("yo"), show.StdOut + "\n--- stderr:\n" + show.StdErr);

            var diff = await HerdProcess.RunAsync(Herd("--json", "--diff-last", "--set", "word=changed"), env);
            var say = diff.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).First(l => l.GetProperty("type").GetString() == "step" && l.GetProperty("stepId").GetString() == "say");
            Assert.Equal("Changed", say.GetProperty("change").GetString());
            Assert.Contains("+changed", say.GetProperty("diff").GetString());

            var dry = await HerdProcess.RunAsync(Herd("--dry-run", "--set", "word=$(id)"), env);
            Assert.Equal(0, dry.ExitCode);
            Assert.Contains("echo '$(id)'", dry.StdOut);

            File.WriteAllText(script, "steps:\n  - run: echo\n    on_fail: x\n");
            var bad = await HerdProcess.RunAsync(Herd(), env);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains($"{script}:3:5: unknown key 'on_fail'", bad.StdErr);
            Assert.Equal("", bad.StdOut);

            var builtIn = await HerdProcess.RunAsync(new[] { "run", "uptime", "-F", _fleet.SshConfigPath, "-H", hosts, "--json" }, env);
            Assert.Equal(0, builtIn.ExitCode);
            var first = JsonDocument.Parse(builtIn.StdOut.Split('\n')[0]).RootElement;
            Assert.Equal(JsonValueKind.Number, first.GetProperty("parsed").GetProperty("Load1").ValueKind);
        }
    }
}
