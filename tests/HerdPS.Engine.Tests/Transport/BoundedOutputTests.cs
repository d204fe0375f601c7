using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Transport.SshNet;

namespace HerdPS.Tests.Transport
{
    /// <summary>The bounded pipe under sshnet's command output (the connection waits for the reader instead of piling up).</summary>
    public sealed class BoundedOutputTests
    {
        [Fact]
        public void SshNetStillHasTheOutputStreamFieldsTheSwapNeeds()
        {
            Assert.True(BoundedOutput.IsAvailable, "SSH.NET's SshCommand no longer keeps its output streams in auto-property fields: output would be unbounded again");
        }

        [Fact]
        public async Task EverythingArrivesInOrderThroughAPipeSmallerThanTheOutputAndThePredecessorsBytesComeFirst()
        {
            var before = new MemoryStream(new byte[] { 1, 2, 3 });   // what SSH.NET wrote before the swap
            var pipe = new BoundedOutput.Pipe(before, capacity: 1000);
            var data = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();
            var writer = Task.Run(() =>
            {
                for (var at = 0; at < data.Length; at += 777) pipe.Write(data, at, Math.Min(777, data.Length - at));
                pipe.Dispose();   // the command ended
            });
            var got = new MemoryStream();
            var buffer = new byte[313];
            int n;
            while ((n = pipe.Read(buffer, 0, buffer.Length)) > 0) got.Write(buffer, 0, n);
            await writer.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(new byte[] { 1, 2, 3 }.Concat(data).ToArray(), got.ToArray());
        }

        [Fact]
        public async Task AWriterWaitingOnAFullPipeIsReleasedWhenTheCommandIsDisposedAndLaterWritesAreDropped()
        {
            var pipe = new BoundedOutput.Pipe(null, capacity: 16);
            pipe.Write(new byte[16], 0, 16);                                 // full now
            var writer = Task.Run(() => pipe.Write(new byte[64], 0, 64));   // waits for a reader that never comes
            pipe.Dispose();
            await writer.WaitAsync(TimeSpan.FromSeconds(60));
            pipe.Write(new byte[8], 0, 8);   // never throws at SSH.NET's reader thread
            var buffer = new byte[64];
            var total = 0;
            int n;
            while ((n = pipe.Read(buffer, 0, buffer.Length)) > 0) total += n;
            Assert.Equal(16, total);   // what was in it; nothing past the capacity
        }
    }
}
