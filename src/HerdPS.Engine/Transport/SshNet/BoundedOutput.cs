using System;
using System.IO;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// Flow control for a command's output. SSH.NET puts what the server sends into an unbounded pipe and opens the
    /// channel's window as soon as data arrives, not when it is read: a reader slower than the network (the shared
    /// pool process forwarding to a busy herd, a slow spill disk) made the pool process hold 400+ MiB for 64 hosts of
    /// 5 MiB. Here the command's output streams are swapped for <see cref="Sink"/>s that hand each chunk to its
    /// consumer (the capture, the pool's client) on the thread SSH.NET writes it from, and return when it was taken.
    /// SSH.NET writes on the connection's reader thread, so a slow consumer stops the connection's reading and TCP
    /// pushes back on the server, as OpenSSH's channel windows do. Nothing is held in between: no buffer per stream,
    /// no copy of each chunk, no thread per stream (a pipe of 128 KiB per stream, a copy of every chunk and two pump
    /// threads per command before; bench/results.md, "200 hosts x 5 MiB").
    ///
    /// The swap happens right after the exec was accepted; what SSH.NET wrote into its own pipe before it is
    /// delivered first (its pipe is ended at the first write into ours, or when ours ends: SSH.NET writes from one
    /// thread per connection, so no write into the old pipe can come after either). SSH.NET's streams are
    /// auto-property fields (reached by reflection once); without them the output is read from SSH.NET's own
    /// unbounded pipes as before.
    /// </summary>
    internal static class BoundedOutput
    {
        private static readonly FieldInfo? StdOutField = typeof(SshCommand).GetField("<OutputStream>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
        private static readonly FieldInfo? StdErrField = typeof(SshCommand).GetField("<ExtendedOutputStream>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);

        public static bool IsAvailable => StdOutField != null && StdErrField != null
            && typeof(Stream).IsAssignableFrom(StdOutField.FieldType) && typeof(Stream).IsAssignableFrom(StdErrField.FieldType);

        /// <summary>
        /// Puts sinks under <paramref name="command"/>'s output streams (after its exec was sent), or returns null
        /// when SSH.NET's fields are not there (read its streams then).
        /// </summary>
        public static (Sink StdOut, Sink StdErr)? Install(SshCommand command, Action<byte[], int, int> stdout, Action<byte[], int, int> stderr)
        {
            if (!IsAvailable) return null;
            var o = new Sink((Stream)StdOutField!.GetValue(command)!, stdout);
            var e = new Sink((Stream)StdErrField!.GetValue(command)!, stderr);
            StdOutField.SetValue(command, o);
            StdErrField.SetValue(command, e);
            o.DrainPredecessor();
            e.DrainPredecessor();
            return (o, e);
        }

        /// <summary>
        /// One output stream of a command, written by SSH.NET: each write is delivered to the consumer before it
        /// returns, in order, after whatever SSH.NET had put into its own pipe before the swap. <see cref="Ended"/>
        /// completes once everything was delivered and the stream ended (the command completed, or it was disposed).
        /// A consumer's failure never reaches SSH.NET's thread.
        /// </summary>
        internal sealed class Sink : Stream
        {
            private readonly Action<byte[], int, int> _deliver;
            private readonly object _gate = new object();
            private readonly TaskCompletionSource<bool> _ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            private readonly ManualResetEventSlim _predecessorDrained = new ManualResetEventSlim(false);
            private Stream? _predecessor;
            private int _predecessorEndedByUs;
            private bool _disposed;
            private bool _drained;
            private int _delivering;

            public Sink(Stream? predecessor, Action<byte[], int, int> deliver)
            {
                _predecessor = predecessor;
                _deliver = deliver ?? throw new ArgumentNullException(nameof(deliver));
                if (predecessor == null)
                {
                    _drained = true;
                    _predecessorDrained.Set();
                }
            }

            /// <summary>Completes when all output was delivered and the stream ended.</summary>
            public Task Ended => _ended.Task;

            /// <summary>
            /// Reads SSH.NET's pipe to its end on a blocking thread and delivers it. Its end comes when we end it (our
            /// first write, our end), or when SSH.NET's completion ended it because it took the old stream during the
            /// swap: then nothing will ever be written here, and this sink ends too.
            /// </summary>
            internal void DrainPredecessor()
            {
                var predecessor = _predecessor;
                if (predecessor == null) return;
                _ = BlockingThreads.Run(() =>
                {
                    var buffer = new byte[32 * 1024];
                    try
                    {
                        int n;
                        while ((n = predecessor.Read(buffer, 0, buffer.Length)) > 0) Deliver(buffer, 0, n);
                    }
                    catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is SshException) { }
                    lock (_gate)
                    {
                        _drained = true;
                        _predecessor = null;
                        if (Volatile.Read(ref _predecessorEndedByUs) == 0) _disposed = true;
                    }
                    _predecessorDrained.Set();
                    EndIfDone();
                });
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                if (count <= 0) return;
                if (!Volatile.Read(ref _drained))
                {
                    EndPredecessor();
                    _predecessorDrained.Wait();
                }
                lock (_gate)
                {
                    if (_disposed) return;   // nobody takes it any more: dropped, never thrown at SSH.NET's reader thread
                    _delivering++;
                }
                try { Deliver(buffer, offset, count); }
                finally
                {
                    lock (_gate) _delivering--;
                    EndIfDone();
                }
            }

            /// <summary>Ends the sink once it was disposed, the predecessor is drained and no chunk is being delivered.</summary>
            private void EndIfDone()
            {
                lock (_gate)
                {
                    if (!_disposed || !_drained || _delivering > 0) return;
                }
                _ended.TrySetResult(true);
            }

            private void Deliver(byte[] buffer, int offset, int count)
            {
                try { _deliver(buffer, offset, count); }
                catch (Exception e) when (!(e is OutOfMemoryException)) { /* the consumer's trouble is not SSH.NET's */ }
            }

            private void EndPredecessor()
            {
                var predecessor = Volatile.Read(ref _predecessor);
                if (predecessor == null) return;
                Interlocked.Exchange(ref _predecessorEndedByUs, 1);
                try { predecessor.Dispose(); }
                catch (Exception) { /* it only ends */ }
            }

            /// <summary>The writer's end (SSH.NET: the command completed) or ours (the command is disposed).</summary>
            protected override void Dispose(bool disposing)
            {
                lock (_gate) _disposed = true;
                EndPredecessor();
                // Not drained yet, or a chunk on its way: the drain or that delivery ends the sink when done.
                EndIfDone();
                base.Dispose(disposing);
            }

            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}
