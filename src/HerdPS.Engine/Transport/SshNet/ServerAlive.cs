using System;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using Renci.SshNet;
using Renci.SshNet.Messages;
using Renci.SshNet.Messages.Connection;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// OpenSSH's ServerAliveInterval and ServerAliveCountMax for an SSH.NET connection: every interval a
    /// <c>keepalive@openssh.com</c> global request that wants a reply (servers answer it, usually with a failure);
    /// when <c>ServerAliveCountMax</c> of them in a row got no answer, the server is gone and the connection is
    /// closed, so a command on it ends as a lost connection instead of hanging. SSH.NET's own keepalive sends
    /// SSH_MSG_IGNORE, which nobody answers, so it can't tell a dead server from a quiet one.
    ///
    /// The request goes through SSH.NET's internal send (its message type is public, its constructor and the send
    /// are not), and a dead server's socket is shut down under SSH.NET (its private field): reached by reflection once
    /// per process; without them the plain keepalive stays (<see cref="Start"/> returns false).
    /// </summary>
    internal sealed class ServerAlive : IDisposable
    {
        private static readonly PropertyInfo? SessionProperty = typeof(BaseClient).GetProperty("Session", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        private static readonly ConstructorInfo? RequestConstructor = typeof(GlobalRequestMessage).GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, new[] { typeof(byte[]), typeof(bool) }, null);
        private static readonly MethodInfo? Send = typeof(Session).GetMethod("SendMessage", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, new[] { typeof(Message) }, null);
        private static readonly FieldInfo? SocketField = typeof(Session).GetField("_socket", BindingFlags.Instance | BindingFlags.NonPublic);
        private static readonly byte[] RequestName = Encoding.ASCII.GetBytes("keepalive@openssh.com");
        // Keeps each monitor alive as long as its client.
        private static readonly ConditionalWeakTable<SshClient, ServerAlive> Monitors = new ConditionalWeakTable<SshClient, ServerAlive>();

        private readonly SshClient _client;
        private readonly Session _session;
        private readonly int _countMax;
        private readonly Timer _timer;
        private int _unanswered;
        private int _disposed;

        public static bool IsAvailable => SessionProperty != null && RequestConstructor != null && Send != null && SocketField != null;

        /// <summary>Why the connection was closed, when it was: said in the lost connection's message.</summary>
        public string? Verdict { get; private set; }

        private ServerAlive(SshClient client, Session session, TimeSpan interval, int countMax)
        {
            _client = client;
            _session = session;
            _countMax = Math.Max(1, countMax);
            _session.RequestSuccessReceived += OnAnswer;
            _session.RequestFailureReceived += OnAnswer;
            _timer = new Timer(_ => Tick(interval), null, interval, interval);
        }

        /// <summary>Starts checking <paramref name="client"/> (connected); false when SSH.NET does not let us.</summary>
        public static bool Start(SshClient client, TimeSpan interval, int countMax)
        {
            if (!IsAvailable || interval <= TimeSpan.Zero) return false;
            if (!(SessionProperty!.GetValue(client) is Session session)) return false;
            Monitors.Add(client, new ServerAlive(client, session, interval, countMax));
            return true;
        }

        /// <summary>
        /// Whether the client is connected; false once it is disposed (a monitor or the pool may dispose it while
        /// another thread asks, and SSH.NET's IsConnected throws then: on a timer thread that would end the process).
        /// </summary>
        public static bool IsUp(SshClient client)
        {
            try { return client.IsConnected; }
            catch (ObjectDisposedException) { return false; }
        }

        /// <summary>The reason a connection was closed by its monitor, or null.</summary>
        public static string? VerdictFor(SshClient client) => Monitors.TryGetValue(client, out var m) ? m.Verdict : null;

        private void OnAnswer<T>(object? sender, MessageEventArgs<T> e) => Interlocked.Exchange(ref _unanswered, 0);

        private void Tick(TimeSpan interval)
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            if (!IsUp(_client))
            {
                Dispose();
                return;
            }
            if (Interlocked.Increment(ref _unanswered) > _countMax)
            {
                Verdict = $"the server did not answer {_countMax} keepalive(s) in a row, {interval.TotalSeconds:0.###} s apart (ServerAliveInterval, ServerAliveCountMax)";
                Dispose();
                Drop();
                return;
            }
            try
            {
                Send!.Invoke(_session, new[] { RequestConstructor!.Invoke(new object[] { RequestName, true }) });
            }
            catch (Exception)
            {
                // The connection is going: the next tick sees it.
            }
        }

        /// <summary>
        /// Ends the connection as a vanished server would: its socket is shut down under SSH.NET, whose reader then
        /// sees the end of the stream and fails every channel and command on it (they end as a lost connection).
        /// Disposing the client instead would be a disconnect of our own, which SSH.NET does not report to the
        /// commands waiting on it: they would wait for ever.
        /// </summary>
        private void Drop()
        {
            try
            {
                if (SocketField?.GetValue(_session) is Socket socket)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                return; // already gone
            }
            try { _client.Dispose(); }
            catch (Exception) { /* going anyway */ }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _timer.Dispose();
            _session.RequestSuccessReceived -= OnAnswer;
            _session.RequestFailureReceived -= OnAnswer;
        }
    }
}
