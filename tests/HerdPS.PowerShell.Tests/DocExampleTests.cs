using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// Every PowerShell example in README.md and docs/*.md runs, as written, against the docs' fleet (web, db, pis on
    /// the loopback sshd), in a fresh runspace with the module on $PSModulePath and a working folder of its own
    /// holding the files the examples name (servers.csv, nginx.conf, deploy.sh, and the fleet scripts deploy.yaml
    /// and nightly.yaml). An example passes when it runs to
    /// its end with no error record and no terminating error; a documented example that fails is a failing test.
    /// Blocks marked "not run" (with the reason) are parsed by PowerShell's parser instead.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class DocExampleTests
    {
        private readonly ModuleFleet _fleet;

        public DocExampleTests(ModuleFleet fleet) { _fleet = fleet; }

        public static IEnumerable<object[]> Examples() => DocExample.All().Select(e => new object[] { e.Id });

        [Fact]
        public void The_docs_have_examples_and_most_of_them_run()
        {
            var all = DocExample.All();
            Assert.True(all.Count >= 40, $"only {all.Count} examples found: is the extractor still reading the docs?");
            var notRun = all.Where(e => e.NotRunBecause != null).ToList();
            Assert.True(notRun.Count * 5 <= all.Count, "more than a fifth of the examples are marked 'not run': " + string.Join(", ", notRun));
        }

        [Theory]
        [MemberData(nameof(Examples))]
        public void Documented_example_runs(string example)
        {
            var e = DocExample.All().Single(x => x.Id == example);
            Parser.ParseInput(e.Script, out _, out var errors);
            Assert.True(errors.Length == 0, $"{e.Id} does not parse:\n" + string.Join("\n", errors.Select(x => $"  line {x.Extent.StartLineNumber}: {x.Message}")) + "\n" + e.Script);
            if (e.NotRunBecause != null) return;

            var folder = _fleet.ExampleFolder(e.WindowsPaths);
            // A team history example reaches the test server's database, its password where a user's would be.
            var team = e.TeamHistory ? _fleet.Postgres : null;
            if (team != null) Environment.SetEnvironmentVariable("PGPASSWORD", team.Server.Password);
            try
            {
                using var session = PowerShellSession.Start(importModule: false, location: folder);
                var script = e.ScriptFor(folder, team?.Url);
                if (e.RunsUntilStopped)
                {
                    RunUntilStopped(session, e, script);
                    return;
                }
                var run = session.Run(script + "\n$global:__exampleExit = $LASTEXITCODE", TimeSpan.FromMinutes(3));
                Assert.True(run.Terminating == null && run.Errors.Count == 0, $"{e.Id} failed:\n{run.Describe()}\n--- the example as run:\n{script}");
                var exit = session.Run("$global:__exampleExit").Output.SingleOrDefault()?.BaseObject;
                Assert.True(exit == null || Equals(exit, 0), $"{e.Id} exited {exit}");
            }
            finally
            {
                if (team != null) Environment.SetEnvironmentVariable("PGPASSWORD", null);
                Directory.Delete(folder, recursive: true);
            }
        }

        /// <summary>A watch that runs until Ctrl-C: still running after <see cref="DocExample.RunFor"/>, stopped then, no error written.</summary>
        private static void RunUntilStopped(PowerShellSession session, DocExample e, string script)
        {
            var (shell, pending, _) = session.Begin(script);
            using (shell)
            {
                var ended = pending.AsyncWaitHandle.WaitOne(DocExample.RunFor);
                var errors = shell.Streams.Error.ReadAll();
                Assert.False(ended, $"{e.Id} is marked 'runs until stopped' but ended by itself ({shell.InvocationStateInfo.State}): " + string.Join("; ", errors));
                shell.Stop();
                Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)), $"{e.Id} did not stop");
                Assert.True(errors.Count == 0, $"{e.Id} wrote errors while it ran:\n" + string.Join("\n", errors.Select(x => $"  {x.FullyQualifiedErrorId}: {x}")));
            }
        }
    }
}
