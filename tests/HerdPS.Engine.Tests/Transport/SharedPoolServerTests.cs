using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Transport;
using HerdPS.Transport.SshNet;

namespace HerdPS.Tests.Transport
{
    /// <summary>The shared pool server's own bookkeeping, without a fleet: clients that come and go at once.</summary>
    public sealed class SharedPoolServerTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("herd-poolserver-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        }

        /// <summary>
        /// Hundreds of clients that connect and hang up at once, many at a time: each is served (its first read ends at
        /// once) and forgotten, and the server still quits cleanly, drains without a fault and removes its socket. (A
        /// client served before its task was registered used to fault the drain with a null key: CI saw it once. This
        /// test did not reproduce that race in 6 runs of the old code; the fix holds by construction, the task being
        /// registered before it starts.)
        /// </summary>
        [Fact]
        public async Task ClientsThatHangUpAtOnceAreServedAndForgottenAndTheServerQuitsCleanly()
        {
            var folder = Path.Combine(_dir, "cm");
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var pool = new SshNetPool();
            var server = SharedPoolServer.ServeAsync(folder, TimeSpan.FromMinutes(10), CancellationToken.None, pool, new SshConfigResolver());
            var socket = Path.Combine(folder, SharedPoolProtocol.SocketName);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(socket) && !server.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(File.Exists(socket), "the pool server did not listen: " + server.Exception);

            var endPoint = new UnixDomainSocketEndPoint(socket);
            await Parallel.ForEachAsync(new int[600], new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
            {
                // A full listen queue (the clients outrun the accept loop) refuses with EAGAIN: try again, as a client would.
                while (true)
                {
                    using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await client.ConnectAsync(endPoint, ct);
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.TryAgain || e.SocketErrorCode == SocketError.WouldBlock)
                    {
                        await Task.Delay(1, ct);
                        continue;
                    }
                    client.Shutdown(SocketShutdown.Both);
                    break;
                }
            });

            await SharedPoolTransport.QuitAsync(folder, CancellationToken.None);
            var finished = await Task.WhenAny(server, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.Same(server, finished);
            Assert.Equal(0, await server); // throws what a faulted drain threw
            Assert.False(File.Exists(socket));
        }
    }
}
