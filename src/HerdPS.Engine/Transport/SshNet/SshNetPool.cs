using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// The process-wide pool of SSH.NET connections: one per (user, address, port, identity, host key name and
    /// policy), shared by every runner, runspace, job and <c>ForEach-Object -Parallel</c> thread of this process.
    /// Each connection carries at most <see cref="SshOptions.MaxSessionsPerConnection"/> commands at once (sshd's
    /// MaxSessions defaults to 10; the rest wait for a channel), sends keepalives, and is closed after it has been idle
    /// for the pool's idle time. A connection found dead before a command starts is replaced once; a command that may
    /// have started is never sent again (the runner decides about retries, and it never retries those).
    /// </summary>
    public sealed class SshNetPool : IDisposable
    {
        private readonly object _gate = new object();
        private readonly Dictionary<string, PooledConnection> _connections = new Dictionary<string, PooledConnection>(StringComparer.Ordinal);
        private readonly Timer _sweeper;

        /// <summary>The pool of this process.</summary>
        public static SshNetPool Shared { get; } = new SshNetPool();

        internal SshNetPool()
        {
            _sweeper = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        }

        /// <summary>How long an idle connection stays open; each use sets it (the caller's ControlPersist).</summary>
        public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>Connections open now.</summary>
        public int Count
        {
            get { lock (_gate) return _connections.Count; }
        }

        /// <summary>The keys of the open connections ("user@address:port ..."), for Disconnect-Fleet's report.</summary>
        public IReadOnlyList<string> Keys()
        {
            lock (_gate) return _connections.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        }

        /// <summary>The key exchange each open connection negotiated, counted (benchmarks report it).</summary>
        public IReadOnlyDictionary<string, int> KeyExchanges()
        {
            lock (_gate)
                return _connections.Values.Where(c => c.IsConnectedOrFailed && !c.IsDead)
                    .GroupBy(c => c.Client.ConnectionInfo.CurrentKeyExchangeAlgorithm ?? "?")
                    .ToDictionary(g => g.Key, g => g.Count());
        }

        /// <summary>
        /// A connection for the key: the pooled one when it is alive, else a new one from <paramref name="connect"/>.
        /// Callers asking for the same key at once share one connect. A connect failure is not pooled.
        /// </summary>
        internal async Task<PooledConnection> AcquireAsync(string key, Func<Task<SshClient>> connect, int maxSessions, CancellationToken stop)
        {
            PooledConnection? entry;
            lock (_gate)
            {
                if (_connections.TryGetValue(key, out entry) && entry.IsDead)
                {
                    _connections.Remove(key);
                    entry.Close();
                    entry = null;
                }
                if (entry == null)
                {
                    entry = new PooledConnection(key, maxSessions, connect);
                    _connections[key] = entry;
                }
                entry.Touch();
            }
            try
            {
                await WithStop(entry.Connected, stop).ConfigureAwait(false);
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                lock (_gate)
                {
                    if (_connections.TryGetValue(key, out var current) && ReferenceEquals(current, entry)) _connections.Remove(key);
                }
                throw;
            }
            return entry;
        }

        /// <summary>Takes a dead connection out of the pool (it is replaced on the next acquire).</summary>
        internal void Discard(PooledConnection connection)
        {
            lock (_gate)
            {
                if (_connections.TryGetValue(connection.Key, out var current) && ReferenceEquals(current, connection)) _connections.Remove(connection.Key);
            }
            connection.Close();
        }

        /// <summary>Closes every connection that is not carrying a command now, and marks busy ones to close when they are done. Returns how many it closed or marked.</summary>
        public int DisconnectAll()
        {
            List<PooledConnection> all;
            lock (_gate)
            {
                all = _connections.Values.ToList();
                _connections.Clear();
            }
            foreach (var c in all) c.CloseWhenIdle();
            return all.Count;
        }

        /// <summary>Closes the connections whose keys <paramref name="select"/> picks; returns the keys closed.</summary>
        public IReadOnlyList<string> Disconnect(Func<string, bool> select)
        {
            List<PooledConnection> chosen;
            lock (_gate)
            {
                chosen = _connections.Values.Where(c => select(c.Key)).ToList();
                foreach (var c in chosen) _connections.Remove(c.Key);
            }
            foreach (var c in chosen) c.CloseWhenIdle();
            return chosen.Select(c => c.Key).ToArray();
        }

        private void Sweep()
        {
            List<PooledConnection> expired;
            var now = DateTime.UtcNow;
            lock (_gate)
            {
                expired = _connections.Values.Where(c => c.IsDead || c.Busy == 0 && c.IsConnectedOrFailed && now - c.LastUsed > IdleTimeout).ToList();
                foreach (var c in expired) _connections.Remove(c.Key);
            }
            foreach (var c in expired) c.CloseWhenIdle();
        }

        internal static async Task WithStop(Task task, CancellationToken stop)
        {
            if (task.IsCompleted || !stop.CanBeCanceled)
            {
                await task.ConfigureAwait(false);
                return;
            }
            var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (stop.Register(() => stopped.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, stopped.Task).ConfigureAwait(false) != task)
                {
                    _ = task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default); // observed: the shared connect goes on for others
                    throw new OperationCanceledException(stop);
                }
            }
            await task.ConfigureAwait(false);
        }

        public void Dispose()
        {
            _sweeper.Dispose();
            DisconnectAll();
        }
    }

    /// <summary>One pooled connection: the client, its channel slots, and how busy and how idle it is.</summary>
    internal sealed class PooledConnection
    {
        private readonly Lazy<Task<SshClient>> _client;
        private readonly SemaphoreSlim _channels;
        private int _busy;
        private int _uses;
        private long _lastUsedTicks;
        private int _closeWhenIdle;
        private int _closed;

        public PooledConnection(string key, int maxSessions, Func<Task<SshClient>> connect)
        {
            Key = key;
            _channels = new SemaphoreSlim(Math.Max(1, maxSessions));
            _client = new Lazy<Task<SshClient>>(connect);
            Touch();
        }

        public string Key { get; }
        public Task Connected => _client.Value;
        public int Busy => Volatile.Read(ref _busy);
        /// <summary>Commands started on it so far, this one included (1 = a fresh connection's first command).</summary>
        public int Uses => Volatile.Read(ref _uses);
        public DateTime LastUsed => new DateTime(Interlocked.Read(ref _lastUsedTicks), DateTimeKind.Utc);
        public bool IsConnectedOrFailed => _client.IsValueCreated && _client.Value.IsCompleted;

        public SshClient Client => _client.Value.Result;

        /// <summary>
        /// The login shell on this connection is /bin/sh, as a wrapper's trailer said (<see cref="RemoteCommand.Wrap"/>).
        /// sshd reads the user's shell once, at login, so it holds for the connection's life; a new connection learns again.
        /// </summary>
        public bool LoginShellIsSh
        {
            get => Volatile.Read(ref _loginShellIsSh) != 0;
            set => Volatile.Write(ref _loginShellIsSh, value ? 1 : 0);
        }

        private int _loginShellIsSh;

        /// <summary>The connection was up and has gone (the server closed it, keepalives failed, the network dropped).</summary>
        public bool IsDead => Volatile.Read(ref _closed) != 0
            || _client.IsValueCreated && _client.Value.IsCompleted && (_client.Value.Status != TaskStatus.RanToCompletion || !ServerAlive.IsUp(_client.Value.Result));

        public void Touch() => Interlocked.Exchange(ref _lastUsedTicks, DateTime.UtcNow.Ticks);

        /// <summary>Waits for a free channel slot; false when <paramref name="stop"/> fired first.</summary>
        public async Task<bool> EnterAsync(CancellationToken stop)
        {
            try
            {
                await _channels.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            Interlocked.Increment(ref _busy);
            Interlocked.Increment(ref _uses);
            Touch();
            return true;
        }

        public void Leave()
        {
            Touch();
            Interlocked.Decrement(ref _busy);
            _channels.Release();
            if (Volatile.Read(ref _closeWhenIdle) != 0 && Busy == 0) Close();
        }

        /// <summary>Closes now when no command runs on it, else after the last one ends (like ssh -O stop).</summary>
        public void CloseWhenIdle()
        {
            Interlocked.Exchange(ref _closeWhenIdle, 1);
            if (Busy == 0) Close();
        }

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0) return;
            if (!_client.IsValueCreated) return;
            _ = _client.Value.ContinueWith(t =>
            {
                if (t.Status != TaskStatus.RanToCompletion) return;
                try { t.Result.Disconnect(); }
                catch (Exception) { /* already gone */ }
                try { t.Result.Dispose(); }
                catch (Exception) { }
            }, TaskScheduler.Default);
        }
    }
}
