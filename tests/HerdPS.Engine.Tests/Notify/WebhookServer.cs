using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Tests.Notify
{
    /// <summary>
    /// A real HTTP server on loopback (HttpListener) that records every request it gets: method, path and query,
    /// headers, body. It answers <see cref="Status"/> (200 unless told otherwise), or, with <see cref="Hang"/>, never
    /// answers until it is released or disposed: an endpoint that accepts the connection and then says nothing.
    /// </summary>
    public sealed class WebhookServer : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly TaskCompletionSource<bool> _release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _loop;

        public sealed record Request(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body);

        public WebhookServer()
        {
            // HttpListener needs a port up front: take one the kernel says is free.
            // Another test may take the port between the probe and Start: then a new listener on a new port (a
            // listener that failed to start is not reused).
            for (var attempt = 0; ; attempt++)
            {
                var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                try
                {
                    listener.Start();
                    _listener = listener;
                    break;
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    try { listener.Abort(); } catch (HttpListenerException) { }
                }
            }
            _loop = Task.Run(LoopAsync);
        }

        public int Port { get; }
        public string Url(string path = "/") => $"http://127.0.0.1:{Port}{path}";

        /// <summary>The status every request is answered with.</summary>
        public int Status { get; set; } = 200;
        /// <summary>When true, requests are held open without an answer (until <see cref="Release"/> or disposal).</summary>
        public bool Hang { get; set; }

        public ConcurrentQueue<Request> Requests { get; } = new ConcurrentQueue<Request>();
        /// <summary>Requests that arrived and are being held (Hang).</summary>
        public int Held => Volatile.Read(ref _held);
        private int _held;

        public void Release() => _release.TrySetResult(true);

        /// <summary>Waits (a generous guard, not a timing) until <paramref name="count"/> requests have arrived.</summary>
        public IReadOnlyList<Request> WaitFor(int count, TimeSpan? guard = null)
        {
            var deadline = DateTime.UtcNow + (guard ?? TimeSpan.FromSeconds(60));
            while (Requests.Count < count && DateTime.UtcNow < deadline) Thread.Sleep(20);
            return Requests.ToList();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync().ConfigureAwait(false); }
                catch (Exception) when (_stop.IsCancellationRequested) { return; }
                catch (HttpListenerException) { return; }
                catch (ObjectDisposedException) { return; }
                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            try
            {
                string body;
                using (var reader = new StreamReader(context.Request.InputStream, context.Request.ContentEncoding)) body = await reader.ReadToEndAsync().ConfigureAwait(false);
                var headers = context.Request.Headers.AllKeys.Where(k => k != null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
                if (Hang)
                {
                    Interlocked.Increment(ref _held);
                    Requests.Enqueue(new Request(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, headers, body));
                    await Task.WhenAny(_release.Task, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
                    if (_stop.IsCancellationRequested)
                    {
                        // Going away: the connection is cut, never answered.
                        context.Response.Abort();
                        return;
                    }
                }
                else Requests.Enqueue(new Request(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, headers, body));
                context.Response.StatusCode = Status;
                context.Response.Close();
            }
            catch (Exception) { /* the client gave up (its timeout) or the server is stopping */ }
        }

        public void Dispose()
        {
            _stop.Cancel();
            // Close alone: Stop and then Close would look the port up again after Stop let it go, and bind it anew
            // (Address already in use, when another test's server has taken the port meanwhile).
            try { _listener.Close(); } catch (ObjectDisposedException) { } catch (HttpListenerException) { }
            try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
