using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Watch
{
    /// <summary>The real herd binary against the real fleet: recording, --diff-last, herd history, herd watch.</summary>
    [Collection("ssh fleet")]
    public sealed class HistoryAndWatchCliTests : IDisposable
    {
        private readonly SshFleet _fleet;
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly Dictionary<string, string> _env;

        public HistoryAndWatchCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _env = new Dictionary<string, string>
            {
                ["HERD_CONTROL_DIR"] = Path.Combine(fleet.ControlDirectory, "cli-watch"),
                ["HERD_HISTORY"] = Path.Combine(_dir.Path, "history.db"),
            };
        }

        public void Dispose() => _dir.Dispose();

        private string[] Herd(string verb, params string[] rest) =>
            new[] { verb, "-F", _fleet.SshConfigPath, "--connect-timeout", "3s" }.Concat(rest).ToArray();

        private static List<JsonElement> JsonLines(string stdout) =>
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        [Fact]
        public async Task HistorySurvivesProcessRestartsAndShowsARunAgain()
        {
            var hosts = $"{_fleet.Hosts[110]},{_fleet.Hosts[111]}";
            Assert.Equal(0, (await HerdProcess.RunAsync(Herd("exec", "-H", hosts, "echo first"), _env)).ExitCode);
            Assert.Equal(0, (await HerdProcess.RunAsync(Herd("exec", "-H", hosts, "echo second"), _env)).ExitCode);
            Assert.Equal(0, (await HerdProcess.RunAsync(Herd("exec", "-H", hosts, "--no-history", "echo unrecorded"), _env)).ExitCode);

            var list = await HerdProcess.RunAsync(new[] { "history", "--json" }, _env);
            Assert.Equal(0, list.ExitCode);
            var runs = JsonLines(list.StdOut);
            Assert.Equal(new[] { "echo second", "echo first" }, runs.Select(r => r.GetProperty("command").GetString()));
            Assert.All(runs, r =>
            {
                Assert.Equal("exec", r.GetProperty("kind").GetString());
                Assert.Equal($"host={_fleet.Hosts[110]} host={_fleet.Hosts[111]}", r.GetProperty("selection").GetString());
                Assert.Equal(2, r.GetProperty("hostCount").GetInt32());
                Assert.Equal(2, r.GetProperty("succeededCount").GetInt32());
                Assert.NotEqual(JsonValueKind.Null, r.GetProperty("finishedUtc").ValueKind);
            });

            var table = await HerdProcess.RunAsync(new[] { "history", "--command", "*FIRST" }, _env);
            Assert.Contains("ID  KIND  COMMAND", table.StdOut);
            Assert.Contains("echo first", table.StdOut);
            Assert.DoesNotContain("echo second", table.StdOut);

            var firstId = runs[1].GetProperty("id").GetInt64().ToString();
            var show = await HerdProcess.RunAsync(new[] { "history", "show", firstId }, _env);
            Assert.Equal(0, show.ExitCode);
            Assert.Contains("2 hosts identical:", show.StdOut);
            Assert.Contains("first", show.StdOut);
            var showJson = JsonLines((await HerdProcess.RunAsync(new[] { "history", "show", firstId, "--json" }, _env)).StdOut);
            Assert.Equal(new[] { _fleet.Hosts[110], _fleet.Hosts[111] }, showJson.Select(r => r.GetProperty("hostName").GetString()));
            Assert.All(showJson, r => Assert.Equal("first\n", r.GetProperty("stdOut").GetString()));

            var unknown = await HerdProcess.RunAsync(new[] { "history", "show", "999999" }, _env);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("no run 999999", unknown.StdErr);
            Assert.Equal(2, (await HerdProcess.RunAsync(new[] { "history", "diff", firstId, "999999" }, _env)).ExitCode);
            Assert.Equal(2, (await HerdProcess.RunAsync(new[] { "history", "--since", "yesterdayish" }, _env)).ExitCode);
        }

        [Fact]
        public async Task DiffLastSaysSoWithoutAnEarlierRunAndShowsTheDiffAfterAChange()
        {
            var hosts = new[] { _fleet.Hosts[112], _fleet.Hosts[113], _fleet.Hosts[114] };
            using var files = new WatchFiles();
            foreach (var h in hosts) files.Write(h, "nginx-1.25.3\n");
            var args = Herd("exec", "-H", string.Join(",", hosts), "--diff-last", files.CatCommand);

            var first = await HerdProcess.RunAsync(args, _env);
            Assert.Equal(0, first.ExitCode);
            Assert.Contains("no earlier finished run", first.StdOut);
            Assert.Contains("3 hosts identical:", first.StdOut);

            files.Write(hosts[2], "nginx-1.26.0\n");
            var second = await HerdProcess.RunAsync(args, _env);
            Assert.Equal(0, second.ExitCode);
            Assert.Contains("2 hosts unchanged since last run", second.StdOut);
            Assert.Contains("1 host changed:", second.StdOut);
            Assert.Contains("   " + hosts[2], second.StdOut);
            Assert.Contains("-nginx-1.25.3", second.StdOut);
            Assert.Contains("+nginx-1.26.0", second.StdOut);
            Assert.Contains("1 changed", second.StdOut);

            // --json: each line says whether its host changed since the last run (the second run now).
            files.Write(hosts[0], "nginx-1.26.0\n");
            var third = JsonLines((await HerdProcess.RunAsync(Herd("exec", "-H", string.Join(",", hosts), "--diff-last", "--json", files.CatCommand), _env)).StdOut);
            Assert.Equal(3, third.Count);
            var changed = third.Where(l => l.GetProperty("changed").GetBoolean()).Select(l => l.GetProperty("hostName").GetString()).ToList();
            Assert.Equal(new[] { hosts[0] }, changed);
            Assert.All(third, l => Assert.Equal(l.GetProperty("hostName").GetString() == hosts[0] ? "Changed" : "Unchanged", l.GetProperty("change").GetString()));

            // herd history diff compares any two runs: the first and the third differ on two hosts.
            var ids = JsonLines((await HerdProcess.RunAsync(new[] { "history", "--json" }, _env)).StdOut).Select(r => r.GetProperty("id").GetInt64()).ToList();
            var diff = await HerdProcess.RunAsync(new[] { "history", "diff", ids[2].ToString(), ids[0].ToString() }, _env);
            Assert.Equal(1, diff.ExitCode);
            Assert.Contains("1 host unchanged", diff.StdOut);
            Assert.Contains("2 hosts changed:", diff.StdOut);
            var same = await HerdProcess.RunAsync(new[] { "history", "diff", ids[0].ToString(), ids[0].ToString() }, _env);
            Assert.Equal(0, same.ExitCode);
        }

        [Fact]
        public async Task AnUnusableHistoryStopsTheRunBeforeAnyHostRuns()
        {
            var broken = Path.Combine(_dir.Path, "broken.db");
            File.WriteAllText(broken, new string('x', 4096));
            var marker = Path.Combine(_fleet.WorkDir, "history-ran-" + Guid.NewGuid().ToString("N"));
            var o = await HerdProcess.RunAsync(Herd("exec", "-H", _fleet.Hosts[115], "--history", broken, $"touch {marker}"), _env);
            Assert.Equal(2, o.ExitCode);
            Assert.Contains(broken, o.StdErr);
            Assert.Equal("", o.StdOut);
            Assert.False(File.Exists(marker));
            Assert.Equal(new string('x', 4096), File.ReadAllText(broken)); // never reset

            // Opting out runs without touching it.
            var optOut = await HerdProcess.RunAsync(Herd("exec", "-H", _fleet.Hosts[115], "--history", broken, "--no-history", "true"), _env);
            Assert.Equal(0, optOut.ExitCode);
        }

        [Fact]
        public async Task WatchJsonEmitsOneLinePerHostPerIterationAndRecordsEachIteration()
        {
            var hosts = new[] { _fleet.Hosts[116], _fleet.Hosts[117] };
            var o = await HerdProcess.RunAsync(Herd("watch", "-H", string.Join(",", hosts), "--interval", "1s", "--count", "3", "--json", "echo \"$HERD_ALIAS\""), _env);
            Assert.Equal(0, o.ExitCode);
            var lines = JsonLines(o.StdOut);
            Assert.Equal(6, lines.Count);
            Assert.Equal(new[] { 1, 1, 2, 2, 3, 3 }, lines.Select(l => l.GetProperty("iteration").GetInt32()));
            Assert.All(lines, l => Assert.False(l.GetProperty("changed").GetBoolean()));
            foreach (var iteration in lines.GroupBy(l => l.GetProperty("iteration").GetInt32()))
                Assert.Equal(hosts, iteration.Select(l => l.GetProperty("hostName").GetString()).OrderBy(h => h));

            var runs = JsonLines((await HerdProcess.RunAsync(new[] { "history", "--json" }, _env)).StdOut)
                .Where(r => r.GetProperty("kind").GetString() == "watch").ToList();
            Assert.Equal(new[] { 3, 2, 1 }, runs.Select(r => r.GetProperty("iteration").GetInt32()));
            Assert.Single(runs.Select(r => r.GetProperty("watchId").GetInt64()).Distinct());
        }

        [Fact]
        public async Task WatchHumanViewMarksTheChangedHostAndCountEndsWithTheLastIterationsCode()
        {
            var hosts = new[] { _fleet.Hosts[118], _fleet.Hosts[119] };
            using var files = new WatchFiles();
            files.Write(hosts[0], "up\n");
            files.Write(hosts[1], "up\n");
            // Iteration 1 sees both files; the file of hosts[1] goes away (cat fails) once iteration 1 is recorded.
            using var p = System.Diagnostics.Process.Start(HerdProcess.StartInfo(
                Herd("watch", "-H", string.Join(",", hosts), "--interval", "2s", "--count", "2", files.CatCommand), _env))!;
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            var historyPath = _env["HERD_HISTORY"];
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!IterationRecorded(historyPath, 1) && DateTime.UtcNow < deadline) await Task.Delay(20);
            File.Delete(Path.Combine(files.Folder, hosts[1]));
            using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(cts.Token);
            var output = await stdout;
            Assert.True(1 == p.ExitCode, $"exit {p.ExitCode}\n{output}\n{await stderr}");
            Assert.Contains("iteration 1", output);
            Assert.Contains("iteration 2", output);
            Assert.Contains($"[changed] {hosts[1]} (Succeeded -> Failed)", output);
            Assert.DoesNotContain($"[changed] {hosts[0]}", output);
            Assert.Contains("-up", output);
        }

        private static bool IterationRecorded(string historyPath, int iteration)
        {
            if (!File.Exists(historyPath)) return false;
            try
            {
                return HerdPS.Tests.History.HistoryTestData.Scalar(historyPath,
                    $"SELECT count(*) FROM runs WHERE kind = 'watch' AND iteration = {iteration} AND finished_utc IS NOT NULL") > 0;
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                return false; // still being created
            }
        }

        [Fact]
        public async Task InterruptingAWatchEndsWith130AndLeavesNoSshClient()
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var o = await HerdProcess.InterruptAsync(
                Herd("watch", "-H", $"{_fleet.Hosts[120]},{_fleet.Hosts[121]}", "--interval", "1s", $"sleep {sleep}"), _env, sleep, 2);
            Assert.True(130 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            Assert.Contains("2 cancelled", o.StdOut);
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "ssh" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }
    }
}
