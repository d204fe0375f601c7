using System;
using System.IO;
using Microsoft.Win32.SafeHandles;

namespace HerdPS.Cli
{
    /// <summary>
    /// stdout or stderr written straight to its file descriptor (see <see cref="Cli.UseTerminalSafeConsole"/>),
    /// behaving as .NET's console stream does when the reader goes away: a broken pipe (<c>herd exec ... | head -1</c>)
    /// drops what is written from then on instead of ending herd with an exception. Other write errors (a full disk
    /// behind a redirect) still throw.
    /// </summary>
    internal sealed class DescriptorStream : Stream
    {
        private const int BrokenPipe = 32; // EPIPE: .NET's IOException carries the errno as its HResult on Unix

        private readonly FileStream _file;
        private bool _broken;

        public DescriptorStream(int descriptor)
        {
            _file = new FileStream(new SafeFileHandle((IntPtr)descriptor, ownsHandle: false), FileAccess.Write, 1);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Guard(() => _file.Write(buffer, offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_broken) return;
            try
            {
                _file.Write(buffer);
            }
            catch (IOException e) when (e.HResult == BrokenPipe)
            {
                _broken = true;
            }
        }

        public override void Flush() => Guard(_file.Flush);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        private void Guard(Action write)
        {
            if (_broken) return;
            try
            {
                write();
            }
            catch (IOException e) when (e.HResult == BrokenPipe)
            {
                _broken = true;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _file.Dispose();
            base.Dispose(disposing);
        }
    }
}
