using System;
using System.IO;
using System.Reflection;
using System.Threading;
using Renci.SshNet;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// Flow control for a command's output. SSH.NET puts what the server sends into an unbounded pipe and opens the
    /// channel's window as soon as data arrives, not when it is read: a reader slower than the network (the shared
    /// pool process forwarding to a busy herd, a slow spill disk) made the pool process hold 400+ MiB for 64 hosts of
    /// 5 MiB. Here the command's output streams are swapped for pipes that hold at most <see cref="Capacity"/>
    /// bytes: a write past it waits for the reader, and since SSH.NET writes on the connection's reader thread,
    /// the connection stops reading and TCP pushes back on the server, as OpenSSH's channel windows do.
    ///
    /// The swap happens right after the exec was accepted; what SSH.NET wrote into its own pipe before it is read
    /// first (its pipe is ended at the first write into ours, or when ours ends: SSH.NET writes from one thread per
    /// connection, so no write into the old pipe can come after either). SSH.NET's streams are auto-property fields
    /// (reached by reflection once); without them the output stays unbounded as before.
    /// </summary>
    internal static class BoundedOutput
    {
        /// <summary>Bytes held per stream before the connection stops reading.</summary>
        public const int Capacity = 128 * 1024;

        private static readonly FieldInfo? StdOutField = typeof(SshCommand).GetField("<OutputStream>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
        private static readonly FieldInfo? StdErrField = typeof(SshCommand).GetField("<ExtendedOutputStream>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);

        public static bool IsAvailable => StdOutField != null && StdErrField != null
            && typeof(Stream).IsAssignableFrom(StdOutField.FieldType) && typeof(Stream).IsAssignableFrom(StdErrField.FieldType);

        /// <summary>Puts bounded pipes under <paramref name="command"/>'s output streams (after its exec was sent).</summary>
        public static void Install(SshCommand command)
        {
            if (!IsAvailable) return;
            StdOutField!.SetValue(command, new Pipe((Stream)StdOutField.GetValue(command)!, Capacity));
            StdErrField!.SetValue(command, new Pipe((Stream)StdErrField.GetValue(command)!, Capacity));
        }

        /// <summary>
        /// A one-writer, one-reader pipe of bounded size; reads its predecessor's bytes first. Held as a queue of the
        /// chunks written (an SSH packet each, under 32 KiB), so a quiet command costs nothing and nothing lands on
        /// the large object heap.
        /// </summary>
        internal sealed class Pipe : Stream
        {
            private readonly object _gate = new object();
            private readonly int _capacity;
            private readonly System.Collections.Generic.Queue<byte[]> _chunks = new System.Collections.Generic.Queue<byte[]>();
            private Stream? _predecessor;
            private int _predecessorEndedByUs;
            private int _headOffset;
            private int _count;
            private bool _ended;

            public Pipe(Stream? predecessor, int capacity)
            {
                _predecessor = predecessor;
                _capacity = Math.Max(1, capacity);
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                EndPredecessor();
                while (count > 0)
                {
                    lock (_gate)
                    {
                        while (_count >= _capacity && !_ended) Monitor.Wait(_gate);
                        if (_ended) return;   // nobody reads any more: dropped, never thrown at SSH.NET's reader thread
                        var n = Math.Min(count, _capacity - _count);
                        var chunk = new byte[n];
                        Buffer.BlockCopy(buffer, offset, chunk, 0, n);
                        _chunks.Enqueue(chunk);
                        _count += n;
                        offset += n;
                        count -= n;
                        Monitor.PulseAll(_gate);
                    }
                }
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var predecessor = Volatile.Read(ref _predecessor);
                if (predecessor != null)
                {
                    // SSH.NET's pipe gives its bytes, then 0 once it is ended: by us (at our first write or our
                    // end), or by SSH.NET itself when the command completed while we swapped (its completion took the
                    // old stream). In that case nothing will ever be written here: this pipe ends too.
                    var n = predecessor.Read(buffer, offset, count);
                    if (n > 0) return n;
                    Interlocked.CompareExchange(ref _predecessor, null, predecessor);
                    if (Volatile.Read(ref _predecessorEndedByUs) == 0)
                    {
                        lock (_gate)
                        {
                            _ended = true;
                            Monitor.PulseAll(_gate);
                        }
                    }
                }
                lock (_gate)
                {
                    while (_count == 0 && !_ended) Monitor.Wait(_gate);
                    var read = 0;
                    while (read < count && _chunks.Count > 0)
                    {
                        var head = _chunks.Peek();
                        var n = Math.Min(count - read, head.Length - _headOffset);
                        Buffer.BlockCopy(head, _headOffset, buffer, offset + read, n);
                        read += n;
                        _headOffset += n;
                        if (_headOffset == head.Length)
                        {
                            _chunks.Dequeue();
                            _headOffset = 0;
                        }
                    }
                    _count -= read;
                    if (read > 0) Monitor.PulseAll(_gate);
                    return read;
                }
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
                EndPredecessor();
                lock (_gate)
                {
                    _ended = true;
                    Monitor.PulseAll(_gate);
                }
                base.Dispose(disposing);
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}
