using System;
using System.IO;
using System.Text;

namespace HerdPS.Transport
{
    /// <summary>
    /// One stream's kept output that went past the spill threshold, in its unlinked temporary file. Read it as a
    /// stream or as text chunks; <see cref="ReadText"/> builds the whole string only when someone asks for it.
    /// Readers on several threads are safe (each read seeks under a lock). Dispose frees the disk space; an
    /// undisposed one is freed when the garbage collector finalizes its file handle.
    /// </summary>
    public sealed class CapturedOutput : IDisposable
    {
        private readonly FileStream _file;
        private readonly object _gate = new object();
        private bool _disposed;

        internal CapturedOutput(FileStream file, long length)
        {
            _file = file;
            Length = length;
        }

        /// <summary>Kept bytes (the output cap applies before spilling).</summary>
        public long Length { get; }

        /// <summary>A read-only view from the first byte; several may be open at once.</summary>
        public Stream OpenRead() => new Reader(this);

        /// <summary>The whole output as text; invalid UTF-8 becomes U+FFFD, as for output kept in memory.</summary>
        public string ReadText()
        {
            var text = new StringBuilder((int)Math.Min(Length, int.MaxValue / 2));
            ForEachTextChunk((chars, count, _) => text.Append(chars, 0, count));
            return text.ToString();
        }

        /// <summary>
        /// Decodes the output in bounded chunks. <paramref name="chunk"/> gets each piece of text and, last, a call
        /// with <c>final</c> true (possibly with no characters); surrogate pairs may be split across pieces.
        /// </summary>
        public void ForEachTextChunk(Action<char[], int, bool> chunk)
        {
            if (chunk == null) throw new ArgumentNullException(nameof(chunk));
            var decoder = OutputText.Utf8.GetDecoder();
            var bytes = new byte[32 * 1024];
            // Room for the decoder's carried-over bytes of a character split between reads, too.
            var chars = new char[OutputText.Utf8.GetMaxCharCount(bytes.Length + 4)];
            using var reader = OpenRead();
            while (true)
            {
                var n = reader.Read(bytes, 0, bytes.Length);
                var final = n == 0;
                var count = decoder.GetChars(bytes, 0, n, chars, 0, final);
                chunk(chars, count, final);
                if (final) return;
            }
        }

        /// <summary>How many bytes <see cref="CopyTextUtf8To"/> writes: the text re-encoded, with any invalid input replaced.</summary>
        public long TextUtf8Length()
        {
            long total = 0;
            var encoder = OutputText.Utf8.GetEncoder();
            ForEachTextChunk((chars, count, final) => total += encoder.GetByteCount(chars, 0, count, final));
            return total;
        }

        /// <summary>Writes the text as valid UTF-8: the same bytes as the output unless it held invalid sequences.</summary>
        public void CopyTextUtf8To(Stream destination)
        {
            if (destination == null) throw new ArgumentNullException(nameof(destination));
            var encoder = OutputText.Utf8.GetEncoder();
            byte[]? buffer = null;
            ForEachTextChunk((chars, count, final) =>
            {
                var size = OutputText.Utf8.GetMaxByteCount(count);
                if (buffer == null || buffer.Length < size) buffer = new byte[Math.Max(size, 4)];
                var n = encoder.GetBytes(chars, 0, count, buffer, 0, final);
                destination.Write(buffer, 0, n);
            });
        }

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _file.Dispose();
            }
        }

        private int ReadAt(long position, byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(CapturedOutput), "this output's temporary file was already released");
                if (position >= Length) return 0;
                _file.Position = position;
                var total = 0;
                var want = (int)Math.Min(count, Length - position);
                while (total < want)
                {
                    var n = _file.Read(buffer, offset + total, want - total);
                    if (n <= 0) throw new IOException($"the temporary file holding this output ended early ({position + total} of {Length} bytes)");
                    total += n;
                }
                return total;
            }
        }

        private sealed class Reader : Stream
        {
            private readonly CapturedOutput _owner;
            private long _position;

            public Reader(CapturedOutput owner) { _owner = owner; }

            public override bool CanRead => true;
            public override bool CanSeek => true;
            public override bool CanWrite => false;
            public override long Length => _owner.Length;
            public override long Position
            {
                get => _position;
                set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var n = _owner.ReadAt(_position, buffer, offset, count);
                _position += n;
                return n;
            }

            public override long Seek(long offset, SeekOrigin origin)
            {
                Position = origin == SeekOrigin.Begin ? offset : origin == SeekOrigin.Current ? _position + offset : Length + offset;
                return _position;
            }

            public override void Flush() { }
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }

    /// <summary>
    /// One stream of a result's output: text held in memory, or a <see cref="CapturedOutput"/> read into text the
    /// first time someone asks for the string. A streaming reader uses <see cref="Spilled"/> instead and never
    /// builds the string.
    /// </summary>
    internal sealed class OutputText
    {
        internal static readonly Encoding Utf8 = new UTF8Encoding(false, false);

        private readonly object _gate = new object();
        private string _text = "";
        private CapturedOutput? _spilled;
        private bool _released;

        /// <summary>The output in a temporary file, not yet read into a string; null when it is in memory.</summary>
        public CapturedOutput? Spilled
        {
            get { lock (_gate) return _spilled; }
        }

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    if (_spilled != null)
                    {
                        _text = _spilled.ReadText();
                        _spilled.Dispose();
                        _spilled = null;
                    }
                    else if (_released) throw new InvalidOperationException("this result's output was released (ReleaseOutput) before it was read");
                    return _text;
                }
            }
            set
            {
                lock (_gate)
                {
                    _spilled?.Dispose();
                    _spilled = null;
                    _released = false;
                    _text = value ?? "";
                }
            }
        }

        /// <summary>Holds <paramref name="spilled"/> instead of text; this now owns it.</summary>
        public void SetSpilled(CapturedOutput spilled)
        {
            lock (_gate)
            {
                _spilled?.Dispose();
                _spilled = spilled;
                _released = false;
                _text = "";
            }
        }

        /// <summary>Takes <paramref name="source"/>'s output over: its text is copied, its spill file changes owner.</summary>
        public void MoveFrom(OutputText source)
        {
            CapturedOutput? spilled;
            lock (source._gate)
            {
                spilled = source._spilled;
                source._spilled = null;
            }
            if (spilled != null) SetSpilled(spilled);
            else Text = source.Text;
        }

        /// <summary>Frees a spilled output nobody read; reading the text afterwards is an error, not an empty string.</summary>
        public void Release()
        {
            lock (_gate)
            {
                if (_spilled == null) return;
                _spilled.Dispose();
                _spilled = null;
                _released = true;
            }
        }
    }
}
