using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// The shared pool process: one per user and control folder, started on demand by the first herd run that
    /// uses SSH.NET (<see cref="SharedPoolTransport"/>), holding its connections warm for later herd processes as
    /// ControlMaster does for ssh. It listens on <c>sshnet.sock</c> in the private control folder (0700, checked by
    /// <see cref="PrivateDirectory"/>; the socket itself 0600) and serves only connections whose peer is this user
    /// (SO_PEERCRED): a folder's mode keeps others out only until somebody loosens it. It never prompts (no
    /// terminal, no secrets: runs that need a password or passphrase connect in their own process), ends a
    /// command whose client went away as a stop (TERM, then KILL, through the remote wrapper), and exits once
    /// nothing ran for the idle time (the latest client's --control-persist), closing its connections.
    /// </summary>
    public static class SharedPoolServer
    {
        /// <summary>
        /// Serves until idle or told to quit. Returns 0, also when another pool process already serves the folder
        /// (it holds the lock file), so racing starters settle on one.
        /// </summary>
        public static Task<int> ServeAsync(string directory, TimeSpan idle, CancellationToken cancellationToken) =>
            ServeAsync(directory, idle, cancellationToken, SshNetPool.Shared, SshConfigResolver.Shared);

        /// <summary>Serves with a pool and resolver of the caller's (tests run a pool process in their own process).</summary>
        internal static async Task<int> ServeAsync(string directory, TimeSpan idle, CancellationToken cancellationToken, SshNetPool pool, SshConfigResolver resolver)
        {
            var full = PrivateDirectory.EnsureConfigured(directory, "the shared pool's folder", "the shared SSH.NET pool's socket");
            var socketPath = Path.Combine(full, SharedPoolProtocol.SocketName);
            var lockFile = await TakeLockAsync(full, socketPath, cancellationToken).ConfigureAwait(false);
            if (lockFile == null) return 0;
            using (lockFile)
            {
                // We hold the lock: a socket left there is a dead pool process's.
                if (File.Exists(socketPath)) File.Delete(socketPath);
                var endPoint = UnixFiles.UnixSocketEndPoint(socketPath) ?? throw new PlatformNotSupportedException("this runtime has no Unix sockets");
                using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                listener.Bind(endPoint);
                UnixFiles.ChangeMode(socketPath, 0x180); // 0600
                listener.Listen(512);
                using var server = new Server(listener, idle, pool, resolver);
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                server.OnQuit = () => stop.Cancel();
                var accepting = server.AcceptLoopAsync(stop.Token);
                await server.WaitIdleAsync(stop.Token).ConfigureAwait(false);
                // New clients find no socket and start a new pool process; running commands finish first.
                TryDelete(socketPath);
                try { listener.Close(); } catch (Exception) { }
                await accepting.ConfigureAwait(false);
                await server.DrainAsync().ConfigureAwait(false);
                pool.DisconnectAll();
                return 0;
            }
        }

        /// <summary>
        /// The folder's lock (FileShare.None is an exclusive flock on Unix: one pool process per folder), or null when
        /// a live pool process holds it and answers on the socket. A pool process that is closing (after
        /// <c>herd disconnect</c> or its idle time) has removed its socket but may hold the lock a moment longer:
        /// that one is waited for, so the run that started us is not left without a pool.
        /// </summary>
        private static async Task<FileStream?> TakeLockAsync(string folder, string socketPath, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    return new FileStream(Path.Combine(folder, SharedPoolProtocol.LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    if (File.Exists(socketPath) || DateTime.UtcNow > deadline) return null;
                }
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Points this process's stdin, stdout and stderr at /dev/null: the pool process holds no pipe of the run that started it.</summary>
        public static void DetachStandardStreams() => UnixFiles.DetachStandardStreams();

        private static void TryDelete(string path)
        {
            try { File.Delete(path); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
        }

        private sealed class Server : IDisposable
        {
            private readonly Socket _listener;
            private readonly ConcurrentDictionary<Task, bool> _running = new ConcurrentDictionary<Task, bool>();
            private readonly uint _me = UnixFiles.EffectiveUserId;
            private long _idleTicks;
            private long _lastActivity = DateTime.UtcNow.Ticks;
            private int _active;

            private readonly SshNetPool _pool;
            private readonly SshConfigResolver _resolver;

            public Server(Socket listener, TimeSpan idle, SshNetPool pool, SshConfigResolver resolver)
            {
                _listener = listener;
                _idleTicks = idle.Ticks;
                _pool = pool;
                _resolver = resolver;
            }

            public Action? OnQuit { get; set; }

            public async Task AcceptLoopAsync(CancellationToken stop)
            {
                while (!stop.IsCancellationRequested)
                {
                    Socket client;
                    try
                    {
                        client = await Task.Factory.FromAsync(_listener.BeginAccept, _listener.EndAccept, null).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is SocketException || e is ObjectDisposedException || e is InvalidOperationException)
                    {
                        return;
                    }
                    // Registered before it starts, removed by a continuation: a client served (or refused) at once must
                    // not finish before its task is known (its removal then threw on a null key and faulted the drain).
                    var start = new Task<Task>(() => ServeClientAsync(client));
                    var task = start.Unwrap();
                    _running[task] = true;
                    _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    start.Start(TaskScheduler.Default);
                }
            }

            /// <summary>Returns when nothing has run for the idle time, or when stopped (quit, or the caller's token).</summary>
            public async Task WaitIdleAsync(CancellationToken stop)
            {
                while (!stop.IsCancellationRequested)
                {
                    try { await Task.Delay(TimeSpan.FromMilliseconds(250), stop).ConfigureAwait(false); }
                    catch (OperationCanceledException) { return; }
                    if (Volatile.Read(ref _active) == 0 && DateTime.UtcNow.Ticks - Interlocked.Read(ref _lastActivity) > Interlocked.Read(ref _idleTicks)) return;
                }
            }

            public Task DrainAsync() => Task.WhenAll(_running.Keys);

            private async Task ServeClientAsync(Socket socket)
            {
                using var stream = new NetworkStream(socket, ownsSocket: true);
                try
                {
                    // Only this user: the kernel says who connected.
                    if (UnixFiles.PeerUserId(socket) != _me) return;
                }
                catch (PlatformNotSupportedException)
                {
                    return;
                }
                Interlocked.Increment(ref _active);
                try
                {
                    var first = await SharedPoolProtocol.ReadAsync(stream, CancellationToken.None).ConfigureAwait(false);
                    if (first == null) return;
                    switch (first.Value.Type)
                    {
                        case SharedPoolProtocol.Run:
                            await RunAsync(socket, stream, SharedPoolRunRequest.Decode(first.Value.Payload)).ConfigureAwait(false);
                            break;
                        case SharedPoolProtocol.Quit:
                            var closed = _pool.DisconnectAll();
                            var answer = new SharedPoolRunEnd { Closed = closed }.Encode();
                            SharedPoolProtocol.Write(stream, SharedPoolProtocol.Done, answer, answer.Length);
                            OnQuit?.Invoke();
                            break;
                    }
                }
                catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException || e is System.Text.Json.JsonException)
                {
                    // The client went away or spoke nonsense: its command (if any) was stopped in RunAsync.
                }
                finally
                {
                    Interlocked.Exchange(ref _lastActivity, DateTime.UtcNow.Ticks);
                    Interlocked.Decrement(ref _active);
                }
            }

            private async Task RunAsync(Socket socket, NetworkStream stream, SharedPoolRunRequest request)
            {
                var options = request.Options();
                Interlocked.Exchange(ref _idleTicks, options.ControlPersist.Ticks);
                var transport = new SshNetTransport(options, _pool, _resolver);
                using var stop = new CancellationTokenSource();
                var writeGate = new object();
                var clientGone = 0;
                void Send(byte type, byte[] bytes, int offset, int count)
                {
                    if (Volatile.Read(ref clientGone) != 0) return;
                    try
                    {
                        lock (writeGate) SharedPoolProtocol.Write(stream, type, bytes, offset, count);
                    }
                    catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException)
                    {
                        // Nobody to tell any more: end the command as a stop.
                        Interlocked.Exchange(ref clientGone, 1);
                        try { stop.Cancel(); } catch (ObjectDisposedException) { }
                    }
                }

                var input = request.HasStdin ? new FramedInput() : null;
                var invocation = new RemoteInvocation(request.Command)
                {
                    Raw = request.Raw,
                    OutputLimit = 0,   // the client keeps the output; here it only passes through
                    ConnectTimeout = TimeSpan.FromMilliseconds(Math.Max(1, request.ConnectTimeoutMs)),
                    StopGrace = TimeSpan.FromMilliseconds(Math.Max(1, request.StopGraceMs)),
                };
                if (input != null) invocation.StdinSource = () => input;
                // Stdin frames, a stop, or the client's end (its Ctrl-C, a crash): the last two stop the command.
                var listening = ListenAsync(stream, input, stop);
                // On SSH.NET's reader thread for the connection: a client slower than the host holds it here, so the
                // connection stops reading and the host waits (BoundedOutput); nothing piles up in this process.
                Action<bool, byte[], int, int> forward = (isStdErr, bytes, offset, count) => Send(isStdErr ? SharedPoolProtocol.StdErr : SharedPoolProtocol.StdOut, bytes, offset, count);
                string? why = null;
                TransportOutcome? outcome;
                if (request.Auto)
                    (why, outcome) = await transport.ExecuteIfServedAsync(request.Host(), invocation, stop.Token, request.AgentSocket, forward).ConfigureAwait(false);
                else
                    outcome = await transport.ExecuteAsync(request.Host(), invocation, stop.Token, forward).ConfigureAwait(false);
                input?.Abandon();
                if (why != null)
                {
                    var text = new SharedPoolNotServed { Why = why }.Encode();
                    Send(SharedPoolProtocol.NotServed, text, 0, text.Length);
                }
                else
                {
                    var end = SharedPoolRunEnd.From(outcome!).Encode();
                    Send(SharedPoolProtocol.Done, end, 0, end.Length);
                }
                try { socket.Shutdown(SocketShutdown.Send); } catch (Exception) { }
                await Task.WhenAny(listening, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            }

            private static async Task ListenAsync(NetworkStream stream, FramedInput? input, CancellationTokenSource stop)
            {
                try
                {
                    while (true)
                    {
                        var frame = await SharedPoolProtocol.ReadAsync(stream, CancellationToken.None).ConfigureAwait(false);
                        if (frame == null) break;
                        switch (frame.Value.Type)
                        {
                            case SharedPoolProtocol.Input: input?.Add(frame.Value.Payload); break;
                            case SharedPoolProtocol.InputEnd: input?.Complete(); break;
                            case SharedPoolProtocol.Stop:
                                try { stop.Cancel(); } catch (ObjectDisposedException) { }
                                return;
                        }
                    }
                }
                catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException) { }
                // The client closed its end (done, Ctrl-C, or it died): a command still running is stopped.
                try { stop.Cancel(); } catch (ObjectDisposedException) { }
            }

            public void Dispose() { }
        }

        /// <summary>
        /// A command's stdin as the client sends it: a few chunks buffered (bounded, so a fast client can't fill
        /// the pool's memory), read by the transport's feed.
        /// </summary>
        private sealed class FramedInput : Stream
        {
            private readonly BlockingCollection<byte[]> _chunks = new BlockingCollection<byte[]>(16);
            private byte[]? _current;
            private int _at;

            public void Add(byte[] chunk)
            {
                try { _chunks.Add(chunk); }
                catch (InvalidOperationException) { }
            }

            public void Complete() => _chunks.CompleteAdding();

            public void Abandon()
            {
                _chunks.CompleteAdding();
                while (_chunks.TryTake(out _)) { }
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                while (_current == null || _at >= _current.Length)
                {
                    if (!_chunks.TryTake(out _current, Timeout.Infinite)) return 0;
                    _at = 0;
                }
                var n = Math.Min(count, _current.Length - _at);
                Buffer.BlockCopy(_current, _at, buffer, offset, n);
                _at += n;
                return n;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                BlockingThreads.Run(() => Read(buffer, offset, count));

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
