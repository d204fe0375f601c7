using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A loopback TCP forwarder to a real server, which a test can cut: <see cref="Cut"/> closes every connection through
    /// it and refuses new ones (the network between herd and its history server went away), <see cref="Restore"/> lets
    /// them through again. The server itself is never touched, so other tests using it go on.
    /// </summary>
    public sealed class TcpProxy : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _targetPort;
        private readonly List<TcpClient> _open = new List<TcpClient>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private volatile bool _cut;

        public TcpProxy(int targetPort)
        {
            _targetPort = targetPort;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoop();
        }

        public int Port { get; }

        /// <summary>Connections made through the proxy so far.</summary>
        public int Connections { get; private set; }

        public void Cut()
        {
            _cut = true;
            lock (_open)
            {
                foreach (var c in _open) { try { c.Client.LingerState = new LingerOption(true, 0); c.Close(); } catch (Exception) { } }
                _open.Clear();
            }
        }

        public void Restore() => _cut = false;

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                if (_cut)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Close();
                    continue;
                }
                var upstream = new TcpClient();
                try { await upstream.ConnectAsync(IPAddress.Loopback, _targetPort); }
                catch (Exception) { client.Close(); upstream.Dispose(); continue; }
                lock (_open) { _open.Add(client); _open.Add(upstream); Connections++; }
                _ = Pump(client, upstream);
                _ = Pump(upstream, client);
            }
        }

        private static async Task Pump(TcpClient from, TcpClient to)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                var source = from.GetStream();
                var sink = to.GetStream();
                int n;
                while ((n = await source.ReadAsync(buffer)) > 0) await sink.WriteAsync(buffer.AsMemory(0, n));
            }
            catch (Exception) { }
            try { to.Close(); } catch (Exception) { }
            try { from.Close(); } catch (Exception) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            Cut();
        }
    }
}
