using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Inventory;

namespace HerdPS.Transport.SshNet
{
    /// <summary>How to start the shared pool process: the herd executable and its arguments (the CLI knows them; the engine does not).</summary>
    public sealed class SharedPoolLauncher
    {
        public SharedPoolLauncher(string fileName, IEnumerable<string> arguments)
        {
            FileName = fileName ?? throw new ArgumentNullException(nameof(fileName));
            Arguments = new List<string>(arguments);
        }

        public string FileName { get; }
        /// <summary>Arguments before the two the transport adds: the folder and the idle seconds.</summary>
        public IReadOnlyList<string> Arguments { get; }
    }

    /// <summary>
    /// The <c>sshnet</c> transport of a short-lived herd process: each attempt goes to the user's shared pool process
    /// (<see cref="SharedPoolServer"/>) over its Unix socket, so a later herd process finds the connections warm, as
    /// ControlMaster keeps them for ssh. The pool process is started on demand. Output comes back as the raw
    /// chunks the channel delivered and is captured here, exactly as <see cref="SshNetTransport"/> captures it in
    /// process (cap, spill, hash, the wrapper's markers, OnStdOut). A stop is sent as a message and the pool
    /// process ends the command on the host; if this process dies instead, its socket closes and the pool process
    /// stops the command all the same.
    /// </summary>
    public sealed class SharedPoolTransport : IFleetTransport
    {
        private static readonly object LaunchGate = new object();
        private readonly SshOptions _options;
        private readonly string _directory;
        private readonly SharedPoolLauncher _launcher;

        public SharedPoolTransport(SshOptions options, string directory, SharedPoolLauncher launcher)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _directory = directory ?? throw new ArgumentNullException(nameof(directory));
            _launcher = launcher ?? throw new ArgumentNullException(nameof(launcher));
        }

        public string Kind => TransportKinds.SshNet;

        /// <summary>The pool process's socket.</summary>
        public string SocketPath => Path.Combine(_directory, SharedPoolProtocol.SocketName);

        /// <summary>
        /// Whether runs with these options may use a shared pool process: multiplexing on, no password or passphrase
        /// (those never leave the process that was given them), our own sntrup761 (a run that asks for BouncyCastle's
        /// through $HERD_SNTRUP761 connects in its own process, so it gets what it asked for), and a runtime with Unix
        /// sockets and peer checks.
        /// </summary>
        public static bool CanShare(SshOptions options) =>
            options.Multiplex != false && options.Credential == null && options.KeyPassphrase == null
            && !SntrupKeyExchange.BouncyCastleRequested()
            && !PrivateDirectory.IsWindows && UnixFiles.UnixSocketEndPoint("/x") != null;

        /// <summary>How long a stopped command may take, past its grace and the host's answer time, before we give up our side.</summary>
        private static readonly TimeSpan StopGuard = TimeSpan.FromSeconds(5);

        public async Task<TransportOutcome> ExecuteAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop)
        {
            var (_, outcome) = await RunAsync(host, invocation, stop, auto: false).ConfigureAwait(false);
            return outcome!;
        }

        internal Task<(string? WhyNot, TransportOutcome? Outcome)> ExecuteIfServedAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop) =>
            RunAsync(host, invocation, stop, auto: true);

        private async Task<(string?, TransportOutcome?)> RunAsync(FleetHost host, RemoteInvocation invocation, CancellationToken stop, bool auto)
        {
            if (stop.IsCancellationRequested) return (null, TransportOutcome.NotStarted(FleetErrorKind.None, null));
            var started = DateTime.UtcNow;
            var watch = Stopwatch.StartNew();
            Socket socket;
            try
            {
                socket = await ConnectAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (null, TransportOutcome.NotStarted(FleetErrorKind.None, null));
            }
            catch (Exception e) when (e is SocketException || e is IOException || e is TimeoutException || e is System.ComponentModel.Win32Exception || e is InvalidOperationException)
            {
                var failed = TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"could not reach the shared SSH.NET pool process for {host.Name} ({SocketPath}): {e.Message}");
                failed.Retryable = true;
                return (null, failed);
            }
            using var stream = new NetworkStream(socket, ownsSocket: true);
            var wrapped = !invocation.Raw;
            using var stdout = new OutputCapture(invocation.OutputLimit) { Spill = invocation.Spill, ExpectWrapperMarkers = false, OnChunk = invocation.OnStdOut };
            using var stderr = new OutputCapture(invocation.OutputLimit) { Spill = invocation.Spill, ExpectWrapperMarkers = wrapped };
            var writeGate = new SemaphoreSlim(1, 1);
            async Task Send(byte type, byte[] bytes, int count)
            {
                await writeGate.WaitAsync().ConfigureAwait(false);
                try { await Task.Run(() => SharedPoolProtocol.Write(stream, type, bytes, count)).ConfigureAwait(false); }
                finally { writeGate.Release(); }
            }

            try
            {
                var request = SharedPoolRunRequest.From(host, invocation, _options, auto).Encode();
                await Send(SharedPoolProtocol.Run, request, request.Length).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException)
            {
                var failed = TransportOutcome.NotStarted(FleetErrorKind.TransportError, $"the shared SSH.NET pool process closed the connection for {host.Name}: {e.Message}");
                failed.Retryable = true;
                return (null, failed);
            }
            var feeding = invocation.Stdin != null || invocation.StdinSource != null ? FeedAsync(invocation, Send) : Task.CompletedTask;

            var stopSent = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = stop.Register(() =>
            {
                stopSent.TrySetResult(true);
                _ = SendQuietly(Send, SharedPoolProtocol.Stop);
            });
            SharedPoolRunEnd? end = null;
            string? notServed = null;
            var reading = ReadFramesAsync(stream, stdout, stderr, e => end = e, why => notServed = why);
            // After a stop, the pool process ends the command on the host (TERM, grace, KILL) and answers; if it does
            // not answer in time, our side gives up.
            var guard = stopSent.Task.ContinueWith(_ => Task.Delay(invocation.StopGrace + SshNetTransport.StopAnswerTime + StopGuard), TaskScheduler.Default).Unwrap();
            var first = await Task.WhenAny(reading, guard).ConfigureAwait(false);
            var gaveUp = first != reading;
            if (gaveUp) socket.Dispose();
            try { await reading.ConfigureAwait(false); }
            catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException || e is System.Text.Json.JsonException) { }
            await Task.WhenAny(feeding, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            stdout.Seal();
            stderr.Seal();

            if (notServed != null) return (notServed, null);
            var outcome = new TransportOutcome();
            var stopped = stop.IsCancellationRequested;
            if (end != null && !gaveUp)
            {
                outcome.End = end.End;
                outcome.ExitCode = end.ExitCode;
                outcome.EndedWith = end.EndedWith;
                outcome.ErrorKind = end.ErrorKind;
                outcome.ErrorMessage = end.ErrorMessage;
                outcome.Retryable = end.Retryable;
            }
            else if (stopped)
            {
                var startedRemote = !wrapped || stderr.SawStartMarker;
                outcome.End = startedRemote ? AttemptEnd.EndedByUs : AttemptEnd.NeverStarted;
                outcome.EndedWith = startedRemote ? EndSignal.LocalSideOnly : EndSignal.None;
            }
            else if (wrapped && !stderr.SawStartMarker)
            {
                outcome.End = AttemptEnd.NeverStarted;
                outcome.ErrorKind = FleetErrorKind.TransportError;
                outcome.ErrorMessage = $"the shared SSH.NET pool process went away before the command started on {host.Name}";
                outcome.Retryable = true;
            }
            else
            {
                outcome.End = AttemptEnd.ConnectionLost;
                outcome.ErrorKind = FleetErrorKind.TransportError;
                outcome.ErrorMessage = $"the shared SSH.NET pool process went away while the command ran on {host.Name}; the command may have run in part";
            }
            outcome.TakeOutput(stdout, stderr, end != null ? new DateTime(end.StartTimeTicks, DateTimeKind.Utc) : started, end != null ? TimeSpan.FromTicks(end.DurationTicks) : watch.Elapsed);
            outcome.Transport = TransportKinds.SshNet;
            return (null, outcome);
        }

        private static async Task SendQuietly(Func<byte, byte[], int, Task> send, byte type)
        {
            try { await send(type, Array.Empty<byte>(), 0).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException) { }
        }

        private static async Task ReadFramesAsync(Stream stream, OutputCapture stdout, OutputCapture stderr, Action<SharedPoolRunEnd> onEnd, Action<string> onNotServed)
        {
            var reader = new SharedPoolProtocol.FrameReader(stream);
            while (true)
            {
                var frame = await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (frame == null) return;
                var (type, length) = frame.Value;
                switch (type)
                {
                    case SharedPoolProtocol.StdOut: stdout.Append(reader.Payload, 0, length); break;
                    case SharedPoolProtocol.StdErr: stderr.Append(reader.Payload, 0, length); break;
                    case SharedPoolProtocol.NotServed: onNotServed(SharedPoolNotServed.Decode(reader.Copy(length)).Why); return;
                    case SharedPoolProtocol.Done: onEnd(SharedPoolRunEnd.Decode(reader.Copy(length))); return;
                }
            }
        }

        /// <summary>Stdin to the pool process in chunks, then its end. A retried attempt reads StdinSource from the start again.</summary>
        private static async Task FeedAsync(RemoteInvocation invocation, Func<byte, byte[], int, Task> send)
        {
            try
            {
                if (invocation.Stdin != null)
                {
                    for (var at = 0; at < invocation.Stdin.Length; at += 32 * 1024)
                    {
                        var n = Math.Min(32 * 1024, invocation.Stdin.Length - at);
                        var chunk = new byte[n];
                        Buffer.BlockCopy(invocation.Stdin, at, chunk, 0, n);
                        await send(SharedPoolProtocol.Input, chunk, n).ConfigureAwait(false);
                    }
                }
                else if (invocation.StdinSource != null)
                {
                    using var source = invocation.StdinSource();
                    var buffer = new byte[32 * 1024];
                    int n;
                    while ((n = await source.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
                        await send(SharedPoolProtocol.Input, buffer, n).ConfigureAwait(false);
                }
                await send(SharedPoolProtocol.InputEnd, Array.Empty<byte>(), 0).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException) { }
        }

        // ----- reaching the pool process -----

        /// <summary>How long a freshly started pool process may take to listen.</summary>
        private static readonly TimeSpan StartTime = TimeSpan.FromSeconds(20);

        private async Task<Socket> ConnectAsync(CancellationToken stop)
        {
            var endPoint = UnixFiles.UnixSocketEndPoint(SocketPath) ?? throw new InvalidOperationException("this runtime has no Unix sockets");
            var socket = TryConnect(endPoint);
            if (socket != null) return socket;
            Launch();
            var deadline = DateTime.UtcNow + StartTime;
            var pause = 10;
            while (true)
            {
                stop.ThrowIfCancellationRequested();
                socket = TryConnect(endPoint);
                if (socket != null) return socket;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"the pool process did not listen within {StartTime.TotalSeconds:0} s");
                await Task.Delay(pause, stop).ConfigureAwait(false);
                pause = Math.Min(100, pause * 2);
            }
        }

        private static Socket? TryConnect(System.Net.EndPoint endPoint)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(endPoint);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable || e.SocketErrorCode == SocketError.ConnectionRefused
                                             || e.SocketErrorCode == SocketError.AddressFamilyNotSupported || (int)e.SocketErrorCode == 2 /* ENOENT */
                                             || e.NativeErrorCode == 2 || e.NativeErrorCode == 111)
            {
                socket.Dispose();
                return null;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private DateTime _launched = DateTime.MinValue;

        /// <summary>
        /// Runtime settings for the pool process, set in its environment unless the user's environment has them
        /// (measured: bench/results.md, "200 hosts x 5 MiB"):
        /// - the GC's gen0 budget, fixed at 6 MiB: by default it grows with the CPU's cache (16 MiB on a 32 MiB L3) and
        ///   is allocation room the process keeps between collections; the pool process allocates little per command
        ///   once output is handed over without copies (BoundedOutput), so a small budget costs few, cheap collections
        ///   (2 MiB was too small for 1000 cold connections: each collection stops every SSH.NET reader thread, and
        ///   the pool process's CPU went from ~10 to 17 s);
        /// - no tiered compilation: the precompiled (ReadyToRun) code is kept instead of being recompiled with
        ///   profiling, which cost the pool process ~25 MiB of code and JIT data under load.
        /// These are environment-only knobs (a runtimeconfig.json can't set the gen0 budget, and the pool process
        /// shares herd's), so they apply to the process herd starts, not to herd itself, nor to PowerShell
        /// (docs/transports.md, "Memory").
        /// </summary>
        internal static readonly IReadOnlyDictionary<string, string> PoolRuntimeSettings = new Dictionary<string, string>
        {
            ["DOTNET_GCgen0size"] = "0x600000",
            ["DOTNET_GCGen0MaxBudget"] = "0x600000",
            ["DOTNET_TieredCompilation"] = "0",
        };

        /// <summary>
        /// Starts the pool process in a session of its own (no terminal, so no Ctrl-C or hangup reaches it), with no
        /// pipe of ours held open, and does not wait for it. Several herd processes may start one at once: the lock
        /// file lets one serve and the others exit.
        /// </summary>
        private void Launch()
        {
            lock (LaunchGate)
            {
                // Many attempts of this run find no socket at once: one start is enough.
                if (DateTime.UtcNow - _launched < StartTime) return;
                _launched = DateTime.UtcNow;
                var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : File.Exists("/bin/setsid") ? "/bin/setsid" : null;
                var psi = new ProcessStartInfo(setsid ?? _launcher.FileName)
                {
                    UseShellExecute = false,
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    WorkingDirectory = "/",
                };
                foreach (var setting in PoolRuntimeSettings)
                    if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(setting.Key))) psi.Environment[setting.Key] = setting.Value;
                var args = new List<string>();
                if (setsid != null) args.Add(_launcher.FileName);
                args.AddRange(_launcher.Arguments);
                args.Add(_directory);
                args.Add(((long)Math.Ceiling(_options.ControlPersist.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
                psi.Arguments = ProcessArguments.Join(args);
                using var process = Process.Start(psi) ?? throw new InvalidOperationException("the pool process did not start");
                // The pool process points its own standard streams at /dev/null; ours to it are closed now.
                process.StandardInput.Close();
                process.StandardOutput.Close();
                process.StandardError.Close();
            }
        }

        /// <summary>
        /// Tells the pool process of this folder, if one runs, to close its connections (commands running on them
        /// finish first) and exit. Returns how many connections it had open; 0 when none runs. Never starts one.
        /// </summary>
        public static async Task<int> QuitAsync(string directory, CancellationToken cancellationToken)
        {
            var endPoint = UnixFiles.UnixSocketEndPoint(Path.Combine(directory, SharedPoolProtocol.SocketName));
            if (endPoint == null) return 0;
            var socket = TryConnect(endPoint);
            if (socket == null) return 0;
            using var stream = new NetworkStream(socket, ownsSocket: true);
            try
            {
                SharedPoolProtocol.Write(stream, SharedPoolProtocol.Quit);
                var frame = await SharedPoolProtocol.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
                return frame?.Type == SharedPoolProtocol.Done ? SharedPoolRunEnd.Decode(frame.Value.Payload).Closed : 0;
            }
            catch (Exception e) when (e is IOException || e is SocketException || e is System.Text.Json.JsonException)
            {
                return 0;
            }
        }
    }
}
