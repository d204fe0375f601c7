using System;
using System.IO;
using System.Runtime.InteropServices;

namespace HerdPS.Cli
{
    /// <summary>
    /// stdout or stderr written straight to its file descriptor (see <see cref="Cli.UseTerminalSafeConsole"/>),
    /// behaving as .NET's console stream does when the reader goes away: a broken pipe (<c>herd exec ... | head -1</c>)
    /// drops what is written from then on instead of ending herd with an exception. Other write errors (a full disk
    /// behind a redirect) still throw.
    /// <para>
    /// Each write is one write(2) on the descriptor, at the file's shared offset. A FileStream over the descriptor
    /// would keep a position of its own and write there: with <c>herd ... &gt;log 2&gt;&amp;1</c> stdout and stderr
    /// share one file description, and two FileStreams each starting at offset 0 overwrote each other's lines.
    /// </para>
    /// </summary>
    internal sealed class DescriptorStream : Stream
    {
        private const int BrokenPipe = 32; // EPIPE
        private const int Interrupted = 4; // EINTR
        private const int TryAgain = 11;   // EAGAIN: a non-blocking descriptor someone else set up

        private readonly int _descriptor;
        private bool _broken;

        public DescriptorStream(int descriptor)
        {
            if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("file descriptors are written directly on Unix only");
            if (fcntl(descriptor, 1 /* F_GETFD */) < 0) throw new IOException($"file descriptor {descriptor} is not open");
            _descriptor = descriptor;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(new ReadOnlySpan<byte>(buffer, offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!_broken && buffer.Length > 0)
            {
                var written = (long)write(_descriptor, ref MemoryMarshal.GetReference(buffer), (nint)buffer.Length);
                if (written >= 0)
                {
                    buffer = buffer.Slice((int)written);
                    continue;
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Interrupted) continue;
                if (errno == TryAgain)
                {
                    System.Threading.Thread.Sleep(1);
                    continue;
                }
                if (errno == BrokenPipe)
                {
                    _broken = true;
                    return;
                }
                throw new IOException($"writing to file descriptor {_descriptor} failed (errno {errno})", errno);
            }
        }

        public override void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(new[] { value }));

        // Nothing is buffered here: every Write went to the descriptor.
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        [DllImport("libc", SetLastError = true)]
        private static extern nint write(int fd, ref byte buffer, nint count);

        [DllImport("libc", SetLastError = true)]
        private static extern int fcntl(int fd, int command);
    }
}
