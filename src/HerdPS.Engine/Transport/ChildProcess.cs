using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport
{
    /// <summary>What one child process did: its exit code, its captured output, and whether we had to end it.</summary>
    public sealed class ChildProcessOutcome : IDisposable
    {
        internal ChildProcessOutcome(OutputCapture stdout, OutputCapture stderr)
        {
            StdOut = stdout;
            StdErr = stderr;
        }

        /// <summary>The process's exit status (128+N when a signal N ended it); null when it never started.</summary>
        public int? ExitCode { get; internal set; }
        /// <summary>The stop token fired while the process ran.</summary>
        public bool Stopped { get; internal set; }
        /// <summary>The stop token had fired before the process could be started: nothing ran.</summary>
        public bool StoppedBeforeStart { get; internal set; }
        /// <summary>The strongest signal we sent it ourselves (None when it ended on its own, or only its stdin was closed).</summary>
        public EndSignal KilledWith { get; internal set; }
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

    /// <summary>What <see cref="ChildProcess.RunAsync"/> does to the child when its stop token fires.</summary>
    public enum ChildStop
    {
        /// <summary>SIGTERM to its process group; after <see cref="ChildProcessSettings.StopGrace"/>, SIGKILL. (Local commands.)</summary>
        Terminate,
        /// <summary>
        /// Close its stdin and let it end by itself: the remote wrapper reads the end of stdin as "stop" and ends the
        /// remote command, TERM then KILL, and reports how. SIGKILL only if it is still there after
        /// <see cref="ChildProcessSettings.StopGuard"/> (a connection that no longer answers).
        /// </summary>
        CloseStdin,
        /// <summary>SIGKILL at once (an ssh client without the wrapper: nothing on the other side would hear anything gentler).</summary>
        Kill,
    }

    public sealed class ChildProcessSettings
    {
        public long OutputLimit { get; set; } = long.MaxValue;
        /// <summary>
        /// Keep the child's stdin an open pipe until it exits (or is stopped). The remote wrapper uses the end of
        /// stdin as its signal that we went away, so for ssh this is on; local commands get an immediate end of input.
        /// </summary>
        public bool KeepStdinOpen { get; set; }
        /// <summary>Bytes written to stdin before it is closed (with KeepStdinOpen: written, and stdin stays open).</summary>
        public byte[]? StdinBytes { get; set; }
        /// <summary>A stream copied to stdin (after <see cref="StdinBytes"/>), then disposed; stdin is closed after it.</summary>
        public Func<System.IO.Stream>? StdinSource { get; set; }
        public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>();
        /// <summary>How long to wait, after the child exited, for pipes something else still holds open.</summary>
        public TimeSpan DrainGrace { get; set; } = TimeSpan.FromSeconds(2);
        /// <summary>stderr carries the remote wrapper's start marker and exit trailer, to be taken off (see OutputCapture).</summary>
        public bool ExpectWrapperMarkers { get; set; }
        /// <summary>Called with every chunk of stdout as it arrives (before the cap).</summary>
        public Action<byte[], int>? OnStdOut { get; set; }
        /// <summary>Where kept output past a size goes instead of memory (both streams); null keeps it in memory.</summary>
        public OutputSpill? Spill { get; set; }
        /// <summary>What a stop does to the child.</summary>
        public ChildStop OnStop { get; set; } = ChildStop.Terminate;
        /// <summary>For <see cref="ChildStop.Terminate"/>: how long after SIGTERM before SIGKILL.</summary>
        public TimeSpan StopGrace { get; set; } = RemoteInvocation.DefaultStopGrace;
        /// <summary>For <see cref="ChildStop.CloseStdin"/>: how long the child may take to end by itself before it is killed.</summary>
        public TimeSpan StopGuard { get; set; } = TimeSpan.FromSeconds(10);
    }

    /// <summary>
    /// Runs one child process to its end: captures both streams within a cap, and when told to stop, ends it as
    /// <see cref="ChildProcessSettings.OnStop"/> says, in a process group of its own (<see cref="ProcessGroup"/>)
    /// so nothing is left behind. It has no timeout of its own: the caller's stop token is the only way to end it early.
    /// </summary>
    public static class ChildProcess
    {
        public static async Task<ChildProcessOutcome> RunAsync(string fileName, IReadOnlyList<string> arguments, ChildProcessSettings settings, CancellationToken stop)
        {
            var outcome = new ChildProcessOutcome(new OutputCapture(settings.OutputLimit), new OutputCapture(settings.OutputLimit));
            outcome.StdOut.OnChunk = settings.OnStdOut;
            outcome.StdOut.Spill = settings.Spill;
            outcome.StdErr.Spill = settings.Spill;
            outcome.StdErr.ExpectWrapperMarkers = settings.ExpectWrapperMarkers;
            outcome.StartTime = DateTime.UtcNow;
            if (stop.IsCancellationRequested)
            {
                outcome.StoppedBeforeStart = true;
                return outcome;
            }

            var ownGroup = false;
            var file = fileName;
            IEnumerable<string> args = arguments;
            if (ProcessGroup.Launcher is string launcher)
            {
                // setsid would report a missing program only as its own exit 1; find it first, so "not installed"
                // stays a start error with a clear message.
                var resolved = ProcessGroup.FindExecutable(fileName);
                if (resolved == null)
                {
                    outcome.StartError = $"could not start '{fileName}': not found";
                    return outcome;
                }
                file = launcher;
                args = new[] { resolved }.Concat(arguments);
                ownGroup = true;
            }
            var psi = new ProcessStartInfo(file, ProcessArguments.Join(args))
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
            {
                var pumps = Task.WhenAll(
                    outcome.StdOut.PumpAsync(process.StandardOutput.BaseStream, CancellationToken.None),
                    outcome.StdErr.PumpAsync(process.StandardError.BaseStream, CancellationToken.None));
                using var stdinDone = new CancellationTokenSource();
                // Written alongside the wait, not before it: a large stdin must not hold off a stop.
                var stdin = WriteStdinAsync(process, settings, close: !settings.KeepStdinOpen, stdinDone.Token);

                var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (stop.Register(() => stopped.TrySetResult(true)))
                {
                    await Task.WhenAny(exited.Task, stopped.Task).ConfigureAwait(false);
                }
                if (!exited.Task.IsCompleted)
                {
                    outcome.Stopped = true;
                    stdinDone.Cancel();
                    await EndAsync(process, settings, ownGroup, exited.Task, outcome).ConfigureAwait(false);
                }
                await stdin.ConfigureAwait(false);
                // Exited can fire before the process object has reaped the exit code; WaitForExit() settles it.
                process.WaitForExit();
                outcome.ExitCode = process.ExitCode;

                await Task.WhenAny(pumps, Task.Delay(settings.DrainGrace)).ConfigureAwait(false);
                outcome.StdOut.Seal();
                outcome.StdErr.Seal();
                CloseQuietly(process);
                outcome.Duration = watch.Elapsed;
                return outcome;
            }
        }

        private static async Task EndAsync(Process process, ChildProcessSettings settings, bool ownGroup, Task exited, ChildProcessOutcome outcome)
        {
            var pid = process.Id;
            var ended = false;
            switch (settings.OnStop)
            {
                case ChildStop.CloseStdin:
                    CloseQuietly(process);
                    ended = await Within(exited, settings.StopGuard).ConfigureAwait(false);
                    break;
                case ChildStop.Terminate:
                    outcome.KilledWith = EndSignal.Terminate;
                    ProcessGroup.Signal(process, ProcessGroup.SigTerm, ownGroup);
                    ended = await Within(exited, settings.StopGrace).ConfigureAwait(false);
                    break;
            }
            if (!ended)
            {
                outcome.KilledWith = EndSignal.Kill;
                ProcessGroup.Signal(process, ProcessGroup.SigKill, ownGroup);
                await exited.ConfigureAwait(false);
            }
            // The leader is gone; members of its group that ignored TERM (or outlived it) go too.
            if (ownGroup) ProcessGroup.KillGroup(pid);
        }

        private static async Task<bool> Within(Task task, TimeSpan time)
        {
            if (task.IsCompleted) return true;
            using var delay = new CancellationTokenSource();
            var first = await Task.WhenAny(task, Task.Delay(time, delay.Token)).ConfigureAwait(false);
            delay.Cancel();
            return first == task;
        }

        /// <summary>
        /// Writes the bytes, then (when <paramref name="close"/>) the stream and the end of input. Without
        /// <paramref name="close"/> stdin stays open: the remote wrapper watches it for the stop.
        /// </summary>
        private static async Task WriteStdinAsync(Process process, ChildProcessSettings settings, bool close, CancellationToken cancellationToken)
        {
            try
            {
                var bytes = settings.StdinBytes;
                if (bytes != null && bytes.Length > 0)
                {
                    await process.StandardInput.BaseStream.WriteAsync(bytes, 0, bytes.Length, cancellationToken).ConfigureAwait(false);
                    await process.StandardInput.BaseStream.FlushAsync().ConfigureAwait(false);
                }
                if (close && settings.StdinSource != null)
                {
                    using var source = settings.StdinSource();
                    await source.CopyToAsync(process.StandardInput.BaseStream, 64 * 1024, cancellationToken).ConfigureAwait(false);
                    await process.StandardInput.BaseStream.FlushAsync().ConfigureAwait(false);
                }
            }
            catch (System.IO.IOException) { /* the child stopped reading; its exit tells the rest */ }
            catch (OperationCanceledException) { /* stopped: the process is being ended */ }
            catch (ObjectDisposedException) { }
            if (close) CloseQuietly(process);
        }

        private static void CloseQuietly(Process process)
        {
            try { process.StandardInput.Close(); }
            catch (System.IO.IOException) { }
            catch (InvalidOperationException) { /* never started, or already disposed (ObjectDisposedException) */ }
        }
    }
}
