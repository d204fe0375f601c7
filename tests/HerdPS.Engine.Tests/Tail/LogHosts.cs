using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tail;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

namespace HerdPS.Tests.Tail
{
    /// <summary>
    /// Hosts whose logs really differ: isolated sshd hosts (a mount namespace each, <see cref="SshFleet.StartIsolatedHost"/>)
    /// where <see cref="LogPath"/> is the same path on every host and a different file on each. The test writes a host's
    /// log through <see cref="Append"/> (the host's folder, seen from outside its namespace). Each host is its own sshd,
    /// so it can be killed and started again. Disposed at the end of the test.
    /// </summary>
    internal sealed class LogHosts : IDisposable
    {
        private static int _counter;
        public const string LogName = "app.log";
        public static string LogPath => SshFleet.IsolatedMountPoint + "/" + LogName;

        private readonly SshFleet _fleet;
        private readonly List<ExtraSshHost> _hosts = new List<ExtraSshHost>();

        public LogHosts(SshFleet fleet, int count, string? extraConfig = null)
        {
            _fleet = fleet;
            int id = Interlocked.Increment(ref _counter);
            try
            {
                for (int i = 0; i < count; i++)
                {
                    _hosts.Add(fleet.StartIsolatedHost($"log{id}-{(char)('a' + i)}", dir =>
                    {
                        // The login user (herdtest when root) writes nothing here, but reads everything.
                        File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("755", 8));
                        File.WriteAllText(Path.Combine(dir, LogName), "");
                    }));
                }
                ConfigPath = fleet.WriteCombinedConfig($"logs{id}", _hosts);
                // ssh takes the first value it finds: extra blocks go before the combined ones.
                if (extraConfig != null) File.WriteAllText(ConfigPath, extraConfig + File.ReadAllText(ConfigPath));
                ControlDirectory = Path.Combine(fleet.ControlDirectory, "l" + id);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public IReadOnlyList<ExtraSshHost> Hosts => _hosts;
        public string[] Names => _hosts.Select(h => h.Alias).ToArray();

        /// <summary>Puts a Host block first in <see cref="ConfigPath"/> (ssh takes the first value it finds).</summary>
        public void AddConfigFirst(string block) => File.WriteAllText(ConfigPath, block + File.ReadAllText(ConfigPath));
        public string ConfigPath { get; } = "";
        public string ControlDirectory { get; } = "";
        public ExtraSshHost this[int i] => _hosts[i];

        /// <summary>The file as the test sees it, for a host.</summary>
        public string File_(int host, string name = LogName) => Path.Combine(_hosts[host].FilesDirectory!, name);

        public void Append(int host, params string[] lines) => AppendTo(host, LogName, lines);

        public void AppendTo(int host, string name, params string[] lines)
        {
            using var f = new FileStream(File_(host, name), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            var bytes = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
            f.Write(bytes, 0, bytes.Length);
        }

        public FleetTail Tail(TailOptions options, IEnumerable<string>? hosts = null, string? configPath = null)
        {
            var ssh = new SshOptions { ConfigFile = configPath ?? ConfigPath, ControlDirectory = ControlDirectory };
            var runner = new FleetRunner(new OpenSshTransport(ssh));
            var fleetHosts = (hosts ?? Names).Select(n => new FleetHost(n)).ToList();
            return new FleetTail(runner, fleetHosts, new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(5) }, options);
        }

        /// <summary>Options that react quickly: a short poll and quick reconnects.</summary>
        public static TailOptions Fast(params string[] paths)
        {
            var o = new TailOptions
            {
                PollInterval = TimeSpan.FromMilliseconds(100),
                ReconnectDelay = TimeSpan.FromMilliseconds(200),
                ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            };
            o.Paths.AddRange(paths.Length == 0 ? new[] { LogPath } : paths);
            return o;
        }

        public void Dispose()
        {
            try { ConnectionPool.For(ControlDirectory).DisconnectAllAsync("ssh", CancellationToken.None).GetAwaiter().GetResult(); }
            catch (Exception) { }
            foreach (var h in _hosts) h.Dispose();
        }
    }

    /// <summary>Runs a tail in the background and keeps what it hands out, for tests to wait on.</summary>
    internal sealed class TailCollector : IDisposable
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly ConcurrentQueue<TailEvent> _events = new ConcurrentQueue<TailEvent>();
        private readonly ManualResetEventSlim _reading;

        public TailCollector(FleetTail tail, bool startReading = true)
        {
            Tail = tail;
            _reading = new ManualResetEventSlim(startReading);
            Completion = Task.Run(async () =>
            {
                await foreach (var e in tail.RunAsync(_stop.Token))
                {
                    _reading.Wait();
                    _events.Enqueue(e);
                }
            });
        }

        public FleetTail Tail { get; }
        public Task Completion { get; }
        public IReadOnlyList<TailEvent> Events => _events.ToArray();
        public IReadOnlyList<FleetLogLine> Lines => _events.Where(e => e.Line != null).Select(e => e.Line!).ToArray();
        public IReadOnlyList<TailNotice> Notices => _events.Where(e => e.Notice != null).Select(e => e.Notice!).ToArray();

        public void StartReading() => _reading.Set();

        public IReadOnlyList<string> LinesOf(string host) => Lines.Where(l => l.HostName == host).Select(l => l.Line).ToArray();

        /// <summary>Polls until the condition holds; fails the test with what arrived when the guard runs out.</summary>
        public void WaitFor(Func<TailCollector, bool> condition, string what, TimeSpan? guard = null)
        {
            var deadline = DateTime.UtcNow + (guard ?? TimeSpan.FromSeconds(60));
            while (!condition(this))
            {
                if (Completion.IsCompleted) Completion.GetAwaiter().GetResult();
                if (DateTime.UtcNow > deadline)
                    Assert.Fail($"timed out waiting for {what}; received:\n" + string.Join("\n", Events.TakeLast(40).Select(e => e.ToString())));
                Thread.Sleep(20);
            }
        }

        public void WaitForLines(string host, int count, TimeSpan? guard = null) =>
            WaitFor(c => c.LinesOf(host).Count >= count, $"{count} lines from {host}", guard);

        /// <summary>Stops the tail and waits for it to return (every follower ended).</summary>
        public void Stop()
        {
            _reading.Set();
            _stop.Cancel();
            Assert.True(Completion.Wait(TimeSpan.FromSeconds(60)), "the tail did not end within 60 s of being stopped");
        }

        public void Dispose()
        {
            try { Stop(); } catch (Exception) { }
            _stop.Dispose();
        }
    }

    /// <summary>
    /// A TCP relay on loopback that counts the bytes it carries each way: put between ssh and sshd, it measures what
    /// really crossed the network (encrypted SSH traffic, framing included).
    /// </summary>
    internal sealed class CountingRelay : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _target;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private long _toServer, _toClient;

        public CountingRelay(int targetPort)
        {
            _target = targetPort;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptAsync();
        }

        public int Port { get; }
        /// <summary>Bytes the server sent to the client so far.</summary>
        public long BytesToClient => Interlocked.Read(ref _toClient);
        public long BytesToServer => Interlocked.Read(ref _toServer);

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
                    var server = new TcpClient();
                    await server.ConnectAsync(IPAddress.Loopback, _target).ConfigureAwait(false);
                    _ = PumpAsync(client, server, toServer: true);
                    _ = PumpAsync(server, client, toServer: false);
                }
            }
            catch (Exception) { /* stopped */ }
        }

        private async Task PumpAsync(TcpClient from, TcpClient to, bool toServer)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                var input = from.GetStream();
                var output = to.GetStream();
                int n;
                while ((n = await input.ReadAsync(buffer, 0, buffer.Length, _stop.Token).ConfigureAwait(false)) > 0)
                {
                    if (toServer) Interlocked.Add(ref _toServer, n); else Interlocked.Add(ref _toClient, n);
                    await output.WriteAsync(buffer, 0, n, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception) { }
            finally
            {
                from.Dispose();
                to.Dispose();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
