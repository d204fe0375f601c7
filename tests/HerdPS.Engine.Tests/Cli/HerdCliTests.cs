using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Cli
{
    [Collection("ssh fleet")]
    public class HerdCliTests
    {
        private readonly SshFleet _fleet;
        private readonly Dictionary<string, string> _env;

        public HerdCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(fleet.ControlDirectory, "cli") };
        }

        private string[] Exec(params string[] rest) => new[] { "exec", "-F", _fleet.SshConfigPath, "--connect-timeout", "3s" }.Concat(rest).ToArray();

        private static readonly string[] ContractFields =
        {
            "hostName", "command", "status", "exitCode", "succeeded", "stdOut", "stdErr", "truncated", "startTime",
            "duration", "attempts", "transport", "errorKind", "errorMessage", "outputHash", "groups", "tags",
        };

        [Fact]
        public async Task JsonIsOneContractObjectPerHostAndNothingElse()
        {
            var o = await HerdProcess.RunAsync(Exec("-H", $"{_fleet.Hosts[50]},{_fleet.Hosts[51]}", "--json", "echo \"$HERD_ALIAS\""), _env);
            Assert.Equal(0, o.ExitCode);
            var lines = o.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                Assert.Equal(ContractFields.OrderBy(f => f), root.EnumerateObject().Select(p => p.Name).OrderBy(f => f));
                Assert.Equal("Succeeded", root.GetProperty("status").GetString());
                Assert.Equal(root.GetProperty("hostName").GetString() + "\n", root.GetProperty("stdOut").GetString());
                Assert.Equal(0, root.GetProperty("exitCode").GetInt32());
                Assert.Equal("openssh", root.GetProperty("transport").GetString());
                Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("outputHash").GetString());
            }
        }

        [Fact]
        public async Task ExitCodeIsOneWhenAnyHostFailsAndTheHumanViewGroupsAndExplains()
        {
            var o = await HerdProcess.RunAsync(Exec("-H", $"{_fleet.Hosts[52]},{_fleet.Hosts[53]},{_fleet.RefusedHost}", "echo same"), _env);
            Assert.Equal(1, o.ExitCode);
            Assert.Contains("2 hosts identical:", o.StdOut);
            Assert.Contains("1 host unreachable (ConnectionRefused):", o.StdOut);
            Assert.Contains("3 hosts: 2 succeeded, 1 unreachable", o.StdOut);
        }

        [Fact]
        public async Task AnOutlierIsShownAsADiffAgainstTheMajority()
        {
            var marker = Path.Combine(_fleet.WorkDir, "outlier-" + Guid.NewGuid().ToString("N"));
            // h054 and h055 print the same; h056 prints one line differently.
            var cmd = $"echo one; if [ \"$HERD_ALIAS\" = {_fleet.Hosts[56]} ]; then echo TWO; else echo two; fi; echo three";
            var o = await HerdProcess.RunAsync(Exec("-H", $"{_fleet.Hosts[54]},{_fleet.Hosts[55]},{_fleet.Hosts[56]}", cmd), _env);
            Assert.Equal(0, o.ExitCode);
            Assert.Contains("2 hosts identical:", o.StdOut);
            Assert.Contains("1 host differs:", o.StdOut);
            Assert.Contains("-two", o.StdOut);
            Assert.Contains("+TWO", o.StdOut);
            Assert.False(File.Exists(marker));
        }

        [Fact]
        public async Task UsageAndInventoryErrorsExitTwoAndRunNothing()
        {
            var bad = Path.Combine(_fleet.WorkDir, "bad-inventory.yaml");
            File.WriteAllText(bad, "groups:\n  web:\n    hosts: [a]\n    colour: blue\n");
            var o = await HerdProcess.RunAsync(new[] { "exec", "-i", bad, "true" }, _env);
            Assert.Equal(2, o.ExitCode);
            Assert.Contains("bad-inventory.yaml:4:5", o.StdErr);
            Assert.Equal("", o.StdOut);

            var badFlag = await HerdProcess.RunAsync(new[] { "exec", "--timeout", "soon", "true" }, _env);
            Assert.Equal(2, badFlag.ExitCode);
            Assert.Contains("--timeout", badFlag.StdErr);

            var nothing = await HerdProcess.RunAsync(Exec("-H", "zz*", "true"), _env);
            Assert.Equal(2, nothing.ExitCode);

            var unknownOption = await HerdProcess.RunAsync(new[] { "exec", "--frobnicate", "true" }, _env);
            Assert.Equal(2, unknownOption.ExitCode);
        }

        [Fact]
        public async Task WithoutAnInventoryTheLocalMachineRunsAndStderrSaysSo()
        {
            var o = await HerdProcess.RunAsync(new[] { "exec", "echo local" }, _env);
            Assert.Equal(0, o.ExitCode);
            Assert.Contains("using the local machine", o.StdErr);
            Assert.Contains("local", o.StdOut);
        }

        [Fact]
        public async Task PoolingWorksAcrossHerdProcesses()
        {
            var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(_fleet.ControlDirectory, "cli-pool") };
            var before = _fleet.CountAcceptedLogins();
            for (var i = 0; i < 3; i++)
                Assert.Equal(0, (await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[60], "true"), env)).ExitCode);
            Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
            var d = await HerdProcess.RunAsync(new[] { "disconnect" }, env);
            Assert.Equal(0, d.ExitCode);
            Assert.Contains("closed 1 pooled connection", d.StdErr);
        }

        [Fact]
        public async Task InsecureWarnsOnEveryRun()
        {
            var o = await HerdProcess.RunAsync(Exec("-H", _fleet.UnknownKeyHost, "--insecure", "true"), _env);
            Assert.Equal(0, o.ExitCode);
            Assert.Contains("host key checking is OFF", o.StdErr);
        }

        [Fact]
        public async Task InterruptEndsWith130AndLeavesNoSshClient()
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var o = await HerdProcess.InterruptAsync(Exec("-H", $"{_fleet.Hosts[61]},{_fleet.Hosts[62]}", $"sleep {sleep}"), _env, sleep, 2);
            Assert.True(130 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            Assert.Contains("2 cancelled", o.StdOut);
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "ssh" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public async Task ACtrlCToTheWholeProcessGroupCancelsEveryHostInFlightAndRecordsThemSo()
        {
            // Issue 11: a real Ctrl-C reached every ssh child too, and most hosts were reported Unreachable ("may
            // have run in part"). Now each ssh child has a process group of its own and herd ends them itself.
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var hosts = _fleet.Hosts.Skip(140).Take(50).ToArray();
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var env = new Dictionary<string, string>(_env) { ["HERD_HISTORY"] = Path.Combine(dir.Path, "history.db") };
            var (o, _) = await HerdProcess.InterruptGroupAsync(
                Exec("-H", string.Join(",", hosts), "-T", "50", "--json", $"sleep {sleep}"), env, sleep, hosts.Length);
            Assert.True(130 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            var lines = o.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(hosts.OrderBy(h => h), lines.Select(l => l.GetProperty("hostName").GetString()).OrderBy(h => h));
            Assert.All(lines, l => Assert.True("Cancelled" == l.GetProperty("status").GetString(),
                $"{l.GetProperty("hostName")}: {l.GetProperty("status")} {l.GetProperty("errorMessage")}"));
            Assert.All(lines, l => Assert.Equal("cancelled: the command was ended by SIGTERM", l.GetProperty("errorMessage").GetString()));
            using (var store = HerdPS.History.FleetHistory.OpenForReading(env["HERD_HISTORY"]))
            {
                var run = Assert.Single(HerdPS.History.FleetHistory.GetRuns(store, new HerdPS.History.HistoryQuery()));
                Assert.Equal(50, run.Results.Count);
                Assert.All(run.Results, r => Assert.Equal(FleetStatus.Cancelled, r.Status));
            }
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "ssh" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public async Task ACtrlCWhileTheInventoryLoadsEndsHerdAtOnceWithNothingRun()
        {
            // Issue 11: SIGINT and SIGTERM were ignored while the inventory loaded. The inventory here is a named
            // pipe we hold open without writing: herd stays in the middle of reading it until it is interrupted.
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var inv = Path.Combine(dir.Path, "inventory.yaml");
            Assert.Equal(0, mkfifo(inv, 0x180));
            foreach (var (signal, exit) in new[] { (2, 130), (15, 143) })
            {
                var psi = HerdProcess.StartInfo(new[] { "exec", "-i", inv, "--json", "true" }, _env);
                psi.ArgumentList.Insert(0, psi.FileName);
                psi.ArgumentList.Insert(0, "--default-signal=INT");
                psi.FileName = "env";
                using var p = System.Diagnostics.Process.Start(psi)!;
                p.StandardInput.Close();
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                // Opening a pipe's write end without blocking succeeds only once a reader has it open: herd is loading.
                int writer = -1;
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while ((writer = open(inv, 1 /* O_WRONLY */ | 0x800 /* O_NONBLOCK */)) < 0 && !p.HasExited && DateTime.UtcNow < deadline) await Task.Delay(10);
                Assert.True(writer >= 0, "herd never opened the inventory");
                try
                {
                    Assert.True(ProcessTable.Signal(p.Id, signal));
                    using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await p.WaitForExitAsync(cts.Token);
                }
                finally { close(writer); }
                Assert.True(exit == p.ExitCode, $"signal {signal}: exit {p.ExitCode}\n{await stderr}");
                Assert.Equal("", await stdout); // nothing ran
            }
        }

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int mkfifo(string path, int mode);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        private static extern int open(string path, int flags);

        [System.Runtime.InteropServices.DllImport("libc")]
        private static extern int close(int fd);

        [Fact]
        public async Task HostsAndTagsListTheInventory()
        {
            var inv = Path.Combine(_fleet.WorkDir, "inv-list.yaml");
            File.WriteAllText(inv, "groups:\n  web:\n    hosts:\n      - host: web-01\n        tags: [prod, nginx]\n      - host: web-02\n        tags: [staging, nginx]\n");
            var hosts = await HerdProcess.RunAsync(new[] { "hosts", "-i", inv, "-t", "prod" }, _env);
            Assert.Equal(0, hosts.ExitCode);
            Assert.Contains("web-01", hosts.StdOut);
            Assert.DoesNotContain("web-02", hosts.StdOut);
            var tags = await HerdProcess.RunAsync(new[] { "tags", "-i", inv, "--json" }, _env);
            Assert.Equal(0, tags.ExitCode);
            var nginx = tags.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
                .Single(e => e.GetProperty("tag").GetString() == "nginx");
            Assert.Equal(2, nginx.GetProperty("hostCount").GetInt32());
        }
    }
}
