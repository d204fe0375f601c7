using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport
{
    /// <summary>What one child process did: its exit code, its captured output, and why it was ended if it was.</summary>
    public sealed class ChildProcessOutcome : IDisposable
    {
        internal ChildProcessOutcome(OutputCapture stdout, OutputCapture stderr)
        {
            StdOut = stdout;
            StdErr = stderr;
        }

        /// <summary>Null when the process could not start or was killed before it exited on its own.</summary>
        public int? ExitCode { get; internal set; }
        public bool TimedOut { get; internal set; }
        public bool Cancelled { get; internal set; }
        /// <summary>Set when the executable could not be started at all (not found, not executable).</summary>
        public string? StartError { get; internal set; }
        public OutputCapture StdOut { get; }
        public OutputCapture StdErr { get; }
        public DateTime StartTime { get; internal set; }
        public TimeSpan Duration { get; internal set; }

        public void Dispose()
        {
            StdOut.Dispose();
            StdErr.Dispose();
        }
    }

    public sealed class ChildProcessSettings
    {
        public long OutputLimit { get; set; } = long.MaxValue;
        /// <summary>Ends the process (and its tree) after this long; the outcome says TimedOut.</summary>
        public TimeSpan? Timeout { get; set; }
        /// <summary>
        /// Keep the child's stdin an open pipe until it exits. The remote wrapper uses the end of stdin as its
        /// signal that we went away, so for ssh this is on; local commands get an immediate end of input.
        /// </summary>
        public bool KeepStdinOpen { get; set; }
        /// <summary>Bytes written to stdin before it is closed (ignored when KeepStdinOpen).</summary>
        public byte[]? StdinBytes { get; set; }
        /// <summary>A stream copied to stdin (after <see cref="StdinBytes"/>), then disposed; stdin is closed after it.</summary>
        public Func<System.IO.Stream>? StdinSource { get; set; }
        public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>();
        /// <summary>How long to wait, after the child exited, for pipes something else still holds open.</summary>
        public TimeSpan DrainGrace { get; set; } = TimeSpan.FromSeconds(2);
        /// <summary>stderr ends with the remote wrapper's exit trailer, to be taken off (see OutputCapture).</summary>
        public bool ExpectExitTrailer { get; set; }
        /// <summary>Called with every chunk of stdout as it arrives (before the cap).</summary>
        public Action<byte[], int>? OnStdOut { get; set; }
        /// <summary>Where kept output past a size goes instead of memory (both streams); null keeps it in memory.</summary>
        public OutputSpill? Spill { get; set; }
    }

    /// <summary>
    /// Runs one child process to its end: captures both streams within a cap, and on timeout or cancellation
    /// kills the whole process tree so nothing is left behind.
    /// </summary>
    public static class ChildProcess
    {
        public static async Task<ChildProcessOutcome> RunAsync(string fileName, IReadOnlyList<string> arguments, ChildProcessSettings settings, CancellationToken cancellationToken)
        {
            var outcome = new ChildProcessOutcome(new OutputCapture(settings.OutputLimit), new OutputCapture(settings.OutputLimit));
            outcome.StdOut.OnChunk = settings.OnStdOut;
            outcome.StdOut.Spill = settings.Spill;
            outcome.StdErr.Spill = settings.Spill;
            outcome.StdErr.ExpectExitTrailer = settings.ExpectExitTrailer;
            var psi = new ProcessStartInfo(fileName, ProcessArguments.Join(arguments))
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
            };
            foreach (var kv in settings.Environment)
            {
                if (kv.Value == null) psi.Environment.Remove(kv.Key);
                else psi.Environment[kv.Key] = kv.Value;
            }

            var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            var exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.Exited += (_, __) => exited.TrySetResult(true);
            var watch = Stopwatch.StartNew();
            outcome.StartTime = DateTime.UtcNow;
            if (cancellationToken.IsCancellationRequested)
            {
                outcome.Cancelled = true;
                return outcome;
            }
            try
            {
                process.Start();
            }
            catch (Exception e) when (e is Win32Exception || e is InvalidOperationException)
            {
                outcome.StartError = $"could not start '{fileName}': {e.Message}";
                process.Dispose();
                return outcome;
            }

            using (process)
            using (var timeout = settings.Timeout is TimeSpan t ? new CancellationTokenSource(t) : new CancellationTokenSource())
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                var pumps = Task.WhenAll(
                    outcome.StdOut.PumpAsync(process.StandardOutput.BaseStream, CancellationToken.None),
                    outcome.StdErr.PumpAsync(process.StandardError.BaseStream, CancellationToken.None));
                // Written alongside the wait, not before it: a large stdin must not hold off a timeout or Ctrl-C.
                var stdin = settings.KeepStdinOpen ? Task.CompletedTask : WriteStdinAndCloseAsync(process, settings, stop.Token);

                using (stop.Token.Register(() => ProcessTree.Kill(process)))
                {
                    await exited.Task.ConfigureAwait(false);
                }
                await stdin.ConfigureAwait(false);
                // Exited can fire before the process object has reaped the exit code; WaitForExit() settles it.
                process.WaitForExit();
                if (stop.IsCancellationRequested)
                {
                    outcome.TimedOut = timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
                    outcome.Cancelled = cancellationToken.IsCancellationRequested;
                }
                else
                {
                    outcome.ExitCode = process.ExitCode;
                }

                await Task.WhenAny(pumps, Task.Delay(settings.DrainGrace)).ConfigureAwait(false);
                outcome.StdOut.Seal();
                outcome.StdErr.Seal();
                if (settings.KeepStdinOpen) CloseQuietly(process);
                outcome.Duration = watch.Elapsed;
                return outcome;
            }
        }

        private static async Task WriteStdinAndCloseAsync(Process process, ChildProcessSettings settings, CancellationToken cancellationToken)
        {
            try
            {
                var bytes = settings.StdinBytes;
                if (bytes != null && bytes.Length > 0)
                {
                    await process.StandardInput.BaseStream.WriteAsync(bytes, 0, bytes.Length, cancellationToken).ConfigureAwait(false);
                    await process.StandardInput.BaseStream.FlushAsync().ConfigureAwait(false);
                }
                if (settings.StdinSource != null)
                {
                    using var source = settings.StdinSource();
                    await source.CopyToAsync(process.StandardInput.BaseStream, 64 * 1024, cancellationToken).ConfigureAwait(false);
                    await process.StandardInput.BaseStream.FlushAsync().ConfigureAwait(false);
                }
            }
            catch (System.IO.IOException) { /* the child stopped reading; its exit tells the rest */ }
            catch (OperationCanceledException) { /* timeout or Ctrl-C: the process is being killed */ }
            catch (ObjectDisposedException) { }
            CloseQuietly(process);
        }

        private static void CloseQuietly(Process process)
        {
            try { process.StandardInput.Close(); }
            catch (System.IO.IOException) { }
            catch (InvalidOperationException) { }
        }
    }
}
