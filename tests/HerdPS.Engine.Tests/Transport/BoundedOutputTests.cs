using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Transport.SshNet;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// The sinks under sshnet's command output: each chunk goes to its consumer on SSH.NET's thread before the write
    /// returns (so a slow consumer holds the connection instead of output piling up), in order, after what SSH.NET
    /// had in its own pipe.
    /// </summary>
    public sealed class BoundedOutputTests
    {
        [Fact]
        public void SshNetStillHasTheOutputStreamFieldsTheSwapNeeds()
        {
            Assert.True(BoundedOutput.IsAvailable, "SSH.NET's SshCommand no longer keeps its output streams in auto-property fields: output would be unbounded again");
        }

        [Fact]
        public async Task EverythingArrivesInOrderAndThePredecessorsBytesComeFirst()
        {
            var before = new SshNetLikePipe(new byte[] { 1, 2, 3 }, ended: false);   // what SSH.NET wrote before the swap
            var got = new MemoryStream();
            var sink = new BoundedOutput.Sink(before, (b, o, n) => got.Write(b, o, n));
            sink.DrainPredecessor();
            var data = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();
            // SSH.NET reuses its buffer: each chunk sits at an offset in a larger array that is overwritten after the write.
            var reused = new byte[2048];
            await Task.Run(() =>
            {
                for (var at = 0; at < data.Length; at += 777)
                {
                    var n = Math.Min(777, data.Length - at);
                    Buffer.BlockCopy(data, at, reused, 100, n);
                    sink.Write(reused, 100, n);
                    Array.Clear(reused, 0, reused.Length);
                }
                sink.Dispose();   // the command ended
            }).WaitAsync(TimeSpan.FromSeconds(60));
            await sink.Ended.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(new byte[] { 1, 2, 3 }.Concat(data).ToArray(), got.ToArray());
        }

        [Fact]
        public async Task AWriteReturnsOnlyOnceItsConsumerTookItSoASlowConsumerHoldsTheWriter()
        {
            using var entered = new ManualResetEventSlim(false);
            using var release = new ManualResetEventSlim(false);
            var delivered = 0;
            var sink = new BoundedOutput.Sink(null, (b, o, n) =>
            {
                entered.Set();
                release.Wait();
                Interlocked.Add(ref delivered, n);
            });
            var writer = Task.Run(() => sink.Write(new byte[10], 0, 10));
            Assert.True(entered.Wait(TimeSpan.FromSeconds(60)), "the consumer was never called");
            // The writer (SSH.NET's reader thread) waits for the consumer: nothing is taken off the connection meanwhile.
            Assert.False(writer.IsCompleted);
            Assert.Equal(0, Volatile.Read(ref delivered));
            sink.Dispose();
            Assert.False(sink.Ended.IsCompleted);   // a chunk is on its way: the stream has not ended yet
            release.Set();
            await writer.WaitAsync(TimeSpan.FromSeconds(60));
            await sink.Ended.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(10, delivered);
        }

        [Fact]
        public async Task WhenSshNetEndsItsOwnPipeBecauseTheCommandCompletedDuringTheSwapTheSinkStillEnds()
        {
            // SSH.NET's completion disposed the old stream (it took it before the swap) and will never write or
            // end the new one: the sink must not wait for ever.
            var before = new SshNetLikePipe(new byte[] { 7, 8 }, ended: true);
            var got = new MemoryStream();
            var sink = new BoundedOutput.Sink(before, (b, o, n) => got.Write(b, o, n));
            sink.DrainPredecessor();
            await sink.Ended.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(new byte[] { 7, 8 }, got.ToArray());
        }

        [Fact]
        public async Task AConsumerThatThrowsNeverReachesSshNetsThreadAndWritesAfterTheEndAreDropped()
        {
            var calls = 0;
            var sink = new BoundedOutput.Sink(null, (b, o, n) =>
            {
                calls++;
                throw new IOException("the client went away");
            });
            sink.Write(new byte[4], 0, 4);   // never throws at SSH.NET's reader thread
            sink.Dispose();
            await sink.Ended.WaitAsync(TimeSpan.FromSeconds(60));
            sink.Write(new byte[4], 0, 4);
            Assert.Equal(1, calls);
        }

        /// <summary>As SSH.NET's pipe reads: its bytes, then it waits until it is disposed, then its end.</summary>
        private sealed class SshNetLikePipe : Stream
        {
            private readonly MemoryStream _bytes;
            private readonly ManualResetEventSlim _ended;

            public SshNetLikePipe(byte[] bytes, bool ended)
            {
                _bytes = new MemoryStream(bytes);
                _ended = new ManualResetEventSlim(ended);
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
    }
}
