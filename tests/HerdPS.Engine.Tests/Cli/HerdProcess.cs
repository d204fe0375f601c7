using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;

namespace HerdPS.Tests.Cli
{
    /// <summary>Runs the real herd executable (built next to the tests) as a user would.</summary>
    internal static class HerdProcess
    {
        public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "herd");

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
            // herd exec records every run: keep the tests' runs out of the machine user's own history.
            psi.Environment["HERD_HISTORY"] = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "herd-test-history", "history.db");
            if (env != null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            return psi;
        }

        public static async Task<Outcome> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
        {
            using var p = Process.Start(StartInfo(args, env))!;
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new System.Threading.CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(cts.Token);
            return new Outcome(p.ExitCode, await stdout, await stderr);
        }
    }
}
