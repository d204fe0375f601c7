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
            var before = new SshNetLikePipe(new byte[] { 1, 2, 3 }, ended: false);   // what SSH.NET wrote before the swap
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
        public async Task WhenSshNetEndsItsOwnPipeBecauseTheCommandCompletedDuringTheSwapTheReaderStillReachesTheEnd()
        {
            // SSH.NET's completion disposed the old stream (it took it before the swap) and will never write or
            // end the new one: the reader must not wait for ever.
            var before = new SshNetLikePipe(new byte[] { 7, 8 }, ended: true);
            var pipe = new BoundedOutput.Pipe(before, capacity: 16);
            var reading = Task.Run(() =>
            {
                var got = new MemoryStream();
                var buffer = new byte[8];
                int n;
                while ((n = pipe.Read(buffer, 0, buffer.Length)) > 0) got.Write(buffer, 0, n);
                return got.ToArray();
            });
            Assert.Equal(new byte[] { 7, 8 }, await reading.WaitAsync(TimeSpan.FromSeconds(60)));
        }

        /// <summary>As SSH.NET's pipe reads: its bytes, then it waits until it is disposed, then its end.</summary>
        private sealed class SshNetLikePipe : Stream
        {
            private readonly MemoryStream _bytes;
            private readonly System.Threading.ManualResetEventSlim _ended;

            public SshNetLikePipe(byte[] bytes, bool ended)
            {
                _bytes = new MemoryStream(bytes);
                _ended = new System.Threading.ManualResetEventSlim(ended);
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var n = _bytes.Read(buffer, offset, count);
                if (n > 0) return n;
                _ended.Wait();
                return 0;
            }

            protected override void Dispose(bool disposing)
            {
                _ended.Set();
                base.Dispose(disposing);
            }

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
