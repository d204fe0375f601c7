using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Tests.Fleet
{
    /// <summary>What a finished child process left: exit code, both streams, wall time.</summary>
    public sealed record ProcessOutcome(int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed);

    /// <summary>Runs a short-lived helper program (ssh-keygen, useradd, ssh) to completion and captures its output.</summary>
    internal static class ProcessRunner
    {
        public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo(fileName)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            return psi;
        }

        public static ProcessOutcome Run(string fileName, IEnumerable<string> args, TimeSpan timeout) =>
            RunAsync(StartInfo(fileName, args), timeout).GetAwaiter().GetResult();

        /// <summary>
        /// Runs to exit with stdin closed at once (so nothing waits for input), killing the child on timeout.
        /// Reads to EOF on both pipes, so a grandchild that kept them open would show up as a timeout.
        /// </summary>
        public static async Task<ProcessOutcome> RunAsync(ProcessStartInfo psi, TimeSpan timeout)
        {
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await Task.WhenAll(stdout, stderr).WaitAsync(cts.Token).ConfigureAwait(false);
                await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new TimeoutException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout}");
            }
            return new ProcessOutcome(p.ExitCode, stdout.Result, stderr.Result, sw.Elapsed);
        }
    }
}
