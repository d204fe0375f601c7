using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// Every herd line of the sh and bash blocks of README.md and docs/*.md runs, as written, as a reader's shell runs
    /// it: <c>sh -c 'the line'</c> with the built herd on $PATH (so a <c>| jq ...</c> pipeline runs too), in a working
    /// folder of its own holding the files the examples name, against the docs' fleet (<see cref="CliDocsFleet"/>)
    /// and the seeded history. A line passes when it exits 0 (or the exit its marker documents) and herd wrote no
    /// "herd: ..." error or warning on stderr. herd watch and herd tail run for <see cref="ShellExample.RunFor"/>,
    /// must still be running then (unless a watch's --count ended it, with exit 0), and are stopped with SIGINT
    /// sent to the line's process group, as Ctrl-C in a terminal does.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class ShellExampleTests
    {
        private readonly ModuleFleet _fleet;

        public ShellExampleTests(ModuleFleet fleet) { _fleet = fleet; }

        public static IEnumerable<object[]> Examples() => ShellExample.All().Select(e => new object[] { e.Id });

        [Fact]
        public void The_docs_have_herd_examples_and_most_of_them_run()
        {
            var all = ShellExample.All();
            Assert.True(all.Count >= 60, $"only {all.Count} herd lines found: is the extractor still reading the docs?");
            var notRun = all.Where(e => e.NotRunBecause != null).ToList();
            Assert.True(notRun.Count * 5 <= all.Count, "more than a fifth of the herd lines are marked 'not run': " + string.Join(", ", notRun));
        }

        [Fact]
        public void The_tools_the_examples_pipe_into_are_installed()
        {
            // A pipeline into a missing jq would fail every such example with "not found": say what is missing instead.
            foreach (var tool in ShellExample.All().SelectMany(e => e.PipedInto).Distinct())
                Assert.True(ProcessRunner.Run("sh", new[] { "-c", "command -v " + tool }, TimeSpan.FromSeconds(30)).ExitCode == 0,
                    $"the docs pipe herd into {tool}, which is not installed (.ci/run installs it)");
        }

        [Theory]
        [MemberData(nameof(Examples))]
        public async Task Documented_herd_line_runs(string example)
        {
            var e = ShellExample.All().Single(x => x.Id == example);
            if (e.NotRunBecause != null) return;

            var outcome = await RunsOf(_fleet)[e.Id];
            var herdErrors = outcome.StdErr.Split('\n').Where(l => l.StartsWith("herd:", StringComparison.Ordinal) && !StatusLine.IsMatch(l)).ToList();
            var story = $"\n--- as run (in {outcome.Folder}): {outcome.Command}\n--- exit {outcome.ExitCode}\n--- stdout:\n{Cut(outcome.StdOut)}\n--- stderr:\n{Cut(outcome.StdErr)}";
            if (outcome.Stopped)
                Assert.True(outcome.ExitCode == 0 || outcome.ExitCode == 130, $"{e.Id} did not end cleanly on Ctrl-C (exit 0, or 130 as herd gives when interrupted)" + story);
            else if (e.RunsUntilStopped && !e.MayEndByItself)
                Assert.Fail($"{e.Id} runs until Ctrl-C, but ended by itself within {ShellExample.RunFor.TotalSeconds} s" + story);
            else
                Assert.True(outcome.ExitCode == e.ExpectedExit, $"{e.Id} exited {outcome.ExitCode}, not {e.ExpectedExit}" + (e.ExitBecause != null ? $" ({e.ExitBecause})" : "") + story);
            Assert.True(herdErrors.Count == 0, $"{e.Id} wrote herd errors:\n" + string.Join("\n", herdErrors) + story);
        }

        /// <summary>
        /// What herd says on stderr, as "herd: ...", that is not an error: it writes errors, warnings and these status
        /// lines alike (docs/building.md lists them). Anything else that starts with "herd:" fails the example.
        /// </summary>
        private static readonly Regex StatusLine = new Regex(
            @"^herd: (watching \d+ hosts? every \S+(; printing only hosts that change)?" +
            @"|closed \d+ pooled connections?" +
            @"|sending a sample event to notification '[^']+' .*|delivered \(HTTP \d+\)" +
            @"|notification '[^']+' sent: .*)$");

        private sealed record Outcome(string Command, string Folder, int ExitCode, string StdOut, string StdErr, bool Stopped);

        /// <summary>How many lines run at once: they wait on ssh and on watches' intervals far more than on the CPU.</summary>
        private const int Parallel = 8;

        private static readonly object RunsGate = new object();
        private static IReadOnlyDictionary<string, Task<Outcome>>? _runs;

        /// <summary>
        /// Every runnable line, started once, side by side (each in its own folder and process group), when the first
        /// test asks; each test then judges its own line. herd disconnect closes the pooled connections the other lines
        /// ride on, so it runs after all of them, as a reader would run it at the end of a session.
        /// </summary>
        private static IReadOnlyDictionary<string, Task<Outcome>> RunsOf(ModuleFleet fleet)
        {
            lock (RunsGate)
            {
                if (_runs != null) return _runs;
                var cli = fleet.Cli;
                var examples = ShellExample.All().Where(e => e.NotRunBecause == null).ToList();
                var slots = new SemaphoreSlim(Parallel);
                var runs = new Dictionary<string, Task<Outcome>>();
                foreach (var e in examples.Where(e => !ClosesConnections(e)))
                    runs[e.Id] = Task.Run(async () =>
                    {
                        await slots.WaitAsync();
                        try { return await RunAsync(fleet, cli, e); }
                        finally { slots.Release(); }
                    });
                var others = runs.Values.ToArray();
                foreach (var e in examples.Where(ClosesConnections))
                    runs[e.Id] = Task.Run(async () =>
                    {
                        await Task.WhenAll(others.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
                        return await RunAsync(fleet, cli, e);
                    });
                return _runs = runs;
            }
        }

        private static bool ClosesConnections(ShellExample e) => Regex.IsMatch(e.Command, @"(^|\s)herd\s+disconnect(\s|$)");

        private static async Task<Outcome> RunAsync(ModuleFleet fleet, CliDocsFleet cli, ShellExample e)
        {
            var folder = fleet.ExampleFolder(windowsPaths: false);
            var env = cli.Environment();
            foreach (var kv in e.Exports) env[kv.Key] = kv.Value;
            var command = e.Command;
            if (e.TeamHistory)
            {
                // The team's server, with the options that reach it (TLS against its CA), is the test database.
                var team = await cli.TeamHistory;
                if (!ShellExample.TeamHistoryUrl.IsMatch(command) && !e.Exports.Values.Any(ShellExample.TeamHistoryUrl.IsMatch))
                    throw new FormatException($"{e.Id} is marked team history but never names {DocExample.TeamHistoryUrl}");
                command = ShellExample.TeamHistoryUrl.Replace(command, team.Url);
                foreach (var kv in e.Exports) env[kv.Key] = ShellExample.TeamHistoryUrl.Replace(kv.Value, team.Url);
                env["PGPASSWORD"] = team.Server.Password;
            }
            try
            {
                var (exit, stdout, stderr, stopped) = await RunLineAsync(command, env, folder, e);
                return new Outcome(command, folder, exit, stdout, stderr, stopped);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        /// <summary>
        /// The line in a shell of its own process group (setsid, as a terminal starts a foreground job), SIGINT at the
        /// default disposition (a test host started in the background would hand on an ignored SIGINT).
        /// </summary>
        private static async Task<(int Exit, string StdOut, string StdErr, bool Stopped)> RunLineAsync(string command, IDictionary<string, string> env, string folder, ShellExample e)
        {
            var psi = new ProcessStartInfo("setsid")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = folder,
            };
            foreach (var a in new[] { "env", "--default-signal=INT", "sh", "-c", command }) psi.ArgumentList.Add(a);
            foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            using var p = Process.Start(psi)!;
            try
            {
                p.StandardInput.Close();
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                var exited = p.WaitForExitAsync();
                var stopped = false;
                if (e.RunsUntilStopped)
                {
                    if (await Task.WhenAny(exited, Task.Delay(ShellExample.RunFor)) != exited)
                    {
                        // setsid and env exec'd: the pid is the group's id.
                        if (!ProcessTable.Signal(-p.Id, 2)) throw new InvalidOperationException($"{e.Id}: SIGINT to its process group failed");
                        stopped = true;
                        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(30))) != exited) throw new TimeoutException($"{e.Id} did not stop within 30 s of Ctrl-C");
                    }
                }
                else if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(2))) != exited) throw new TimeoutException($"{e.Id} did not end within 2 minutes");
                await exited;
                return (p.ExitCode, await stdout, await stderr, stopped);
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
        }

        private static string Cut(string text) => text.Length <= 4000 ? text : text.Substring(0, 4000) + "\n...";
    }
}
