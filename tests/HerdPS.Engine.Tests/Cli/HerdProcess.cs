using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace HerdPS.Tests.Cli
{
    /// <summary>Runs the real herd executable (built next to the tests) as a user would.</summary>
    internal static class HerdProcess
    {
        /// <summary>
        /// The herd under test: <c>$HERD_TEST_HERD</c> when set (test.sh sets it to the native herd it publishes, the build
        /// the README recommends), else the one built beside the tests.
        /// </summary>
        public static string Path => UnderTest.Value;

        private static readonly Lazy<string> UnderTest = new Lazy<string>(() =>
        {
            var given = Environment.GetEnvironmentVariable("HERD_TEST_HERD");
            if (string.IsNullOrEmpty(given)) return BuiltBesideTests;
            // A wrong path must fail every test loudly, never fall back to another build in silence.
            if (!File.Exists(given)) throw new FileNotFoundException($"HERD_TEST_HERD names {given}, which does not exist", given);
            return System.IO.Path.GetFullPath(given);
        });

        /// <summary>A private folder (0700) for this test process's default history, removed when the process ends.</summary>
        private static readonly Lazy<string> TestRunHistory = new Lazy<string>(() =>
        {
            var dir = Directory.CreateTempSubdirectory("herd-test-history-").FullName;
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            };
            return dir;
        });

        public sealed record Outcome(int ExitCode, string StdOut, string StdErr);

        public static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string>? env = null)
        {
            var psi = new ProcessStartInfo(Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            // A private config home: no inventory of the machine's user leaks into the test.
            psi.Environment["XDG_CONFIG_HOME"] = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "herd-test-no-config");
            psi.Environment.Remove("HERD_INVENTORY");
            // herd exec records every run: keep the tests' runs out of the machine user's own history, and out of
            // every other test run's (a fixed folder in /tmp was shared with other checkouts, whose newer HerdPS
            // could leave a history this build refuses to touch).
            psi.Environment["HERD_HISTORY"] = System.IO.Path.Combine(TestRunHistory.Value, "history.db");
            if (env != null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            return psi;
        }

        /// <summary>
        /// Starts herd, waits until <paramref name="expectedSleeps"/> remote <c>sleep</c> processes carrying
        /// <paramref name="sleepMarker"/> run, then sends SIGINT as Ctrl-C does and waits for herd to end.
        /// herd is started through <c>env --default-signal=INT</c>: a shell starts background jobs with SIGINT
        /// ignored, and a test host started that way (CI in the background, <c>./test.sh &amp;</c>) would hand that
        /// on, so herd would rightly ignore the Ctrl-C this test sends.
        /// </summary>
        public static async Task<Outcome> InterruptAsync(IEnumerable<string> args, IDictionary<string, string> env, string sleepMarker, int expectedSleeps)
        {
            var psi = StartInfo(args, env);
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.ArgumentList.Insert(0, "--default-signal=INT");
            psi.FileName = "env";
            using var p = Process.Start(psi)!;
            try
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (Fleet.ProcessTable.FindByCommandLine(sleepMarker).Count(x => x.Name == "sleep") < expectedSleeps && DateTime.UtcNow < deadline)
                    await Task.Delay(20);
                Assert.Equal(expectedSleeps, Fleet.ProcessTable.FindByCommandLine(sleepMarker).Count(x => x.Name == "sleep"));
                Fleet.ProcessTable.Signal(p.Id, 2); // SIGINT; env exec'd herd, so this is herd's pid
                using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(30));
                await p.WaitForExitAsync(cts.Token);
                return new Outcome(p.ExitCode, await stdout, await stderr);
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
        }

        public sealed record RawOutcome(int ExitCode, byte[] StdOut, byte[] StdErr)
        {
            public string StdOutText => System.Text.Encoding.UTF8.GetString(StdOut);
            public string StdErrText => System.Text.Encoding.UTF8.GetString(StdErr);
        }

        /// <summary>Runs herd and keeps stdout and stderr as the bytes it wrote, for tests that check bytes, not text.</summary>
        public static async Task<RawOutcome> RunRawAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
        {
            using var p = Process.Start(StartInfo(args, env))!;
            p.StandardInput.Close();
            var stdout = new MemoryStream();
            var stderr = new MemoryStream();
            var copyOut = p.StandardOutput.BaseStream.CopyToAsync(stdout);
            var copyErr = p.StandardError.BaseStream.CopyToAsync(stderr);
            using var cts = new System.Threading.CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(cts.Token);
            await Task.WhenAll(copyOut, copyErr);
            return new RawOutcome(p.ExitCode, stdout.ToArray(), stderr.ToArray());
        }

        /// <summary>
        /// A terminal's Ctrl-C: herd runs as the leader of a process group of its own (setsid, as a shell starts a
        /// foreground job), and once <paramref name="expectedSleeps"/> remote sleeps carrying
        /// <paramref name="sleepMarker"/> run, SIGINT goes to that whole group, herd and every child it left in its
        /// group alike. Returns the outcome and how long herd took to exit after the signal.
        /// </summary>
        public static async Task<(Outcome Outcome, TimeSpan ExitAfterSignal)> InterruptGroupAsync(IEnumerable<string> args, IDictionary<string, string> env, string sleepMarker, int expectedSleeps)
        {
            var psi = StartInfo(args, env);
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.ArgumentList.Insert(0, "--default-signal=INT");
            psi.ArgumentList.Insert(0, "env");
            psi.FileName = "setsid";
            using var p = Process.Start(psi)!;
            try
            {
                p.StandardInput.Close();
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                var deadline = DateTime.UtcNow.AddSeconds(120);
                while (Fleet.ProcessTable.FindByCommandLine(sleepMarker).Count(x => x.Name == "sleep") < expectedSleeps && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
                Assert.Equal(expectedSleeps, Fleet.ProcessTable.FindByCommandLine(sleepMarker).Count(x => x.Name == "sleep"));
                var watch = Stopwatch.StartNew();
                Assert.True(Fleet.ProcessTable.Signal(-p.Id, 2)); // setsid and env exec'd herd: its pid is the group's id
                using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(60));
                await p.WaitForExitAsync(cts.Token);
                var elapsed = watch.Elapsed;
                return (new Outcome(p.ExitCode, await stdout, await stderr), elapsed);
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
        }

        /// <summary>The herd built beside the tests (framework-dependent, JIT): what <c>dotnet run</c> gives.</summary>
        public static string BuiltBesideTests => System.IO.Path.Combine(AppContext.BaseDirectory, "herd");

        /// <summary>Runs the herd under test, or the one <paramref name="herd"/> names, to its end.</summary>
        public static async Task<Outcome> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null, string? herd = null)
        {
            var psi = StartInfo(args, env);
            if (herd != null) psi.FileName = herd;
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new System.Threading.CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(cts.Token);
            return new Outcome(p.ExitCode, await stdout, await stderr);
        }
    }
}
