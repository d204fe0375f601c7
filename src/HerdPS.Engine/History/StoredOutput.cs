using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using HerdPS.Transport;

namespace HerdPS.History
{
    /// <summary>
    /// One output (a result's stdout or stderr) as the history stores it: once per distinct content, keyed by the
    /// SHA-256 of its UTF-8 bytes, cut into chunks of at most <see cref="ChunkSize"/> bytes, each deflate-compressed
    /// unless that would not make it smaller. 200 hosts printing the same 5 MiB are one stored copy of it; outputs that
    /// all differ are still stored compressed. Both backends store exactly these chunks, so a copy between them (spool
    /// upload, <c>herd history migrate</c>) moves the chunks as they are.
    /// <para>
    /// The content is read from where it already is, a string or a spilled output's temporary file, once to hash it
    /// (before any transaction) and once more only if the database doesn't have it yet. Neither pass holds more than
    /// one chunk: a spilled 100 MiB output is recorded in flat memory.
    /// </para>
    /// Empty output is no blob at all (a null reference in the result row).
    /// </summary>
    public sealed class StoredOutput : BlobContent
    {
        /// <summary>Uncompressed bytes per chunk: big enough that deflate finds its repeats, small enough to hold one in memory.</summary>
        public const int ChunkSize = 1 << 20;

        private readonly string? _text;
        private readonly CapturedOutput? _spilled;

        private StoredOutput(byte[] hash, long length, string? text, CapturedOutput? spilled)
        {
            Hash = hash;
            Length = length;
            _text = text;
            _spilled = spilled;
        }

        /// <summary>SHA-256 of the UTF-8 content (32 bytes): the blob's key in every backend.</summary>
        public override byte[] Hash { get; }

        /// <summary>The hash as lower-case hex, as messages and the docs show it.</summary>
        public string HashHex => OutputChunks.Hex(Hash);

        /// <summary>Uncompressed length in bytes.</summary>
        public override long Length { get; }

        /// <summary>Short text is at hand already: no need to encode and decode it.</summary>
        public override string? InlineText() => Length <= InlineLimit && _text != null ? _text : base.InlineText();

        /// <summary>The output of text held in memory; null for the empty string.</summary>
        public static StoredOutput? Of(string? text)
        {
            if (string.IsNullOrEmpty(text)) return null;
            var (hash, length) = HashOf(s => WriteUtf8(text!, s));
            return new StoredOutput(hash, length, text, null);
        }

        /// <summary>The output of a spilled result, read from its file (never into a string); null when it is empty.</summary>
        public static StoredOutput? Of(CapturedOutput spilled)
        {
            if (spilled == null) throw new ArgumentNullException(nameof(spilled));
            if (spilled.Length == 0) return null;
            var (hash, length) = HashOf(spilled.CopyTextUtf8To);
            return length == 0 ? null : new StoredOutput(hash, length, null, spilled);
        }

        /// <summary>A result's stdout as stored: from its spill file when it has one, else its text.</summary>
        internal static StoredOutput? StdOutOf(FleetResult result)
            => result.SpilledStdOut is CapturedOutput spilled ? Of(spilled) : Of(result.StdOut);

        internal static StoredOutput? StdErrOf(FleetResult result)
            => result.SpilledStdErr is CapturedOutput spilled ? Of(spilled) : Of(result.StdErr);

        /// <summary>
        /// Produces the stored chunks in order: <paramref name="chunk"/> gets the encoding
        /// (<see cref="OutputChunks.Raw"/> or <see cref="OutputChunks.Deflate"/>), a buffer and how many of its bytes
        /// are the chunk (the buffer is reused: copy what you keep). Returns the total stored bytes.
        /// </summary>
        public override long WriteChunks(Action<int, byte, byte[], int> chunk)
        {
            if (chunk == null) throw new ArgumentNullException(nameof(chunk));
            using (var chunker = new ChunkingStream(chunk, Length))
            {
                if (_spilled != null) _spilled.CopyTextUtf8To(chunker);
                else WriteUtf8(_text!, chunker);
                chunker.Finish();
                if (chunker.RawBytes != Length)
                    throw new InvalidOperationException($"the output changed while it was being recorded ({chunker.RawBytes} bytes, hashed {Length})");
                return chunker.StoredBytes;
            }
        }

        private static (byte[] hash, long length) HashOf(Action<Stream> write)
        {
            using (var hashing = new HashingStream())
            {
                write(hashing);
                return (hashing.Finish(), hashing.Length);
            }
        }

        private static void WriteUtf8(string text, Stream destination)
        {
            // In slices, so a large string is never encoded into one large array; the slice buffers come from the shared
            // pool, no larger than the text (new ones for every output were large-object allocations: the hash and the
            // write of each distinct output both came here).
            var encoder = OutputChunks.Utf8.GetEncoder();
            int slice = Math.Max(1, Math.Min(64 * 1024, text.Length));
            var chars = ArrayPool<char>.Shared.Rent(slice);
            var bytes = ArrayPool<byte>.Shared.Rent(OutputChunks.Utf8.GetMaxByteCount(slice));
            try
            {
                for (int start = 0; start < text.Length; start += slice)
                {
                    int count = Math.Min(slice, text.Length - start);
                    text.CopyTo(start, chars, 0, count);
                    bool last = start + count >= text.Length;
                    int n = encoder.GetBytes(chars, 0, count, bytes, 0, last);
                    destination.Write(bytes, 0, n);
                }
            }
            finally
            {
                ArrayPool<char>.Shared.Return(chars);
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }

        /// <summary>A write-only stream that hashes and counts what goes through it.</summary>
        private sealed class HashingStream : Stream
        {
            private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            private long _length;

            public override long Length => _length;
            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Position { get => _length; set => throw new NotSupportedException(); }

            public override void Write(byte[] buffer, int offset, int count)
            {
                _hash.AppendData(buffer, offset, count);
                _length += count;
            }

            public byte[] Finish() => _hash.GetHashAndReset();

            public override void Flush() { }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing) _hash.Dispose();
                base.Dispose(disposing);
            }
        }

        /// <summary>A write-only stream that cuts what goes through it into chunks and compresses each.</summary>
        private sealed class ChunkingStream : Stream
        {
            private readonly Action<int, byte, byte[], int> _chunk;
            // A chunk's worth of the output (ChunkSize, or the whole output when it is smaller), from the shared pool: a new
            // 1 MiB array for every distinct output recorded was a large-object allocation each time.
            private readonly int _size;
            private byte[]? _raw;
            private readonly MemoryStream _compressed = new MemoryStream();
            private int _filled, _seq;

            public ChunkingStream(Action<int, byte, byte[], int> chunk, long expectedLength)
            {
                _chunk = chunk;
                _size = (int)Math.Max(1, Math.Min(ChunkSize, expectedLength));
                _raw = ArrayPool<byte>.Shared.Rent(_size);
            }

            private byte[] Raw => _raw ?? throw new ObjectDisposedException(nameof(ChunkingStream));

            public long RawBytes { get; private set; }
            public long StoredBytes { get; private set; }

            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => RawBytes;
            public override long Position { get => RawBytes; set => throw new NotSupportedException(); }

            public override void Write(byte[] buffer, int offset, int count)
            {
                while (count > 0)
                {
                    int n = Math.Min(count, _size - _filled);
                    Buffer.BlockCopy(buffer, offset, Raw, _filled, n);
                    _filled += n;
                    offset += n;
                    count -= n;
                    RawBytes += n;
                    if (_filled == _size) Emit();
                }
            }

            public void Finish()
            {
                if (_filled > 0) Emit();
            }

            private void Emit()
            {
                _compressed.SetLength(0);
                using (var deflate = new DeflateStream(_compressed, CompressionLevel.Optimal, leaveOpen: true))
                    deflate.Write(Raw, 0, _filled);
                // Incompressible data (already compressed, random) is kept as it is: never stored bigger than it came.
                if (_compressed.Length < _filled)
                {
                    _chunk(_seq, OutputChunks.Deflate, _compressed.GetBuffer(), (int)_compressed.Length);
                    StoredBytes += _compressed.Length;
                }
                else
                {
                    _chunk(_seq, OutputChunks.Raw, Raw, _filled);
                    StoredBytes += _filled;
                }
                _seq++;
                _filled = 0;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing && _raw != null)
                {
                    ArrayPool<byte>.Shared.Return(_raw);
                    _raw = null;
                }
                base.Dispose(disposing);
            }

            public override void Flush() { }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }

    /// <summary>The stored chunk format, and reading chunks back into text.</summary>
    public static class OutputChunks
    {
        /// <summary>The chunk's bytes are the output's bytes.</summary>
        public const byte Raw = 0;
        /// <summary>The chunk's bytes are a raw deflate stream (RFC 1951) of the output's bytes.</summary>
        public const byte Deflate = 1;

        internal static readonly Encoding Utf8 = new UTF8Encoding(false, false);

        private const int DecodeBufferBytes = 64 * 1024;

        /// <summary>Decodes chunks, in order, back into the text they store.</summary>
        /// <exception cref="InvalidDataException">A chunk has an unknown encoding or is damaged, or the length is wrong.</exception>
        public static string Decode(IEnumerable<KeyValuePair<byte, byte[]>> chunks, long rawLength)
        {
            if (chunks == null) throw new ArgumentNullException(nameof(chunks));
            if (rawLength > int.MaxValue) throw new InvalidDataException($"a stored output of {rawLength} bytes is too large to read into text");
            var decoder = Utf8.GetDecoder();
            var text = new StringBuilder((int)Math.Min(rawLength, 64L * 1024 * 1024));
            // Buffers from the shared pool, no larger than the output needs: a new 64 KiB + 128 KiB pair for every output
            // read (2000 of them for Get-FleetHistory -Last 20 of 100-host runs) was 390 MB of large-object allocations
            // and a full collection every few outputs, most of that call's time.
            int size = (int)Math.Max(1, Math.Min(rawLength, DecodeBufferBytes));
            var bytes = ArrayPool<byte>.Shared.Rent(size);
            var chars = ArrayPool<char>.Shared.Rent(Utf8.GetMaxCharCount(size) + 4);
            try
            {
                long total = 0;
                foreach (var chunk in chunks)
                {
                    using (var source = Open(chunk.Key, chunk.Value))
                    {
                        int n;
                        while ((n = source.Read(bytes, 0, size)) > 0)
                        {
                            total += n;
                            int c = decoder.GetChars(bytes, 0, n, chars, 0, flush: false);
                            text.Append(chars, 0, c);
                        }
                    }
                }
                text.Append(chars, 0, decoder.GetChars(bytes, 0, 0, chars, 0, flush: true));
                if (total != rawLength) throw new InvalidDataException($"a stored output has {total} bytes, its record says {rawLength}");
                return text.ToString();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
                ArrayPool<char>.Shared.Return(chars);
            }
        }

        private static Stream Open(byte encoding, byte[] data)
        {
            switch (encoding)
            {
                case Raw: return new MemoryStream(data, writable: false);
                case Deflate: return new DeflateStream(new MemoryStream(data, writable: false), CompressionMode.Decompress);
                default: throw new InvalidDataException($"a stored output chunk has encoding {encoding}, which this HerdPS doesn't know (a newer HerdPS wrote it)");
            }
        }

        internal static string Hex(byte[] bytes)
        {
            var s = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) s.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            return s.ToString();
        }
    }

    /// <summary>
    /// Texts of stored outputs already read while one run (or one listing) is replayed, by blob id, so 200 results
    /// holding the same 5 MiB read and decode it once and share one string. Bounded: at most
    /// <see cref="MaxChars"/> characters are kept, least recently used first out.
    /// </summary>
    public sealed class BlobTextCache
    {
        /// <summary>Characters kept (about 64 MiB of UTF-16).</summary>
        public const long MaxChars = 32L * 1024 * 1024;

        private readonly Dictionary<long, LinkedListNode<KeyValuePair<long, string>>> _byId = new Dictionary<long, LinkedListNode<KeyValuePair<long, string>>>();
        private readonly LinkedList<KeyValuePair<long, string>> _order = new LinkedList<KeyValuePair<long, string>>();
        private long _chars;

        /// <summary>The text of blob <paramref name="id"/> if it is kept (counts as a use).</summary>
        public bool TryGet(long id, out string text)
        {
            if (_byId.TryGetValue(id, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                text = node.Value.Value;
                return true;
            }
            text = "";
            return false;
        }

        /// <summary>The text of blob <paramref name="id"/>, read with <paramref name="read"/> the first time.</summary>
        public string Get(long id, Func<long, string> read)
        {
            if (read == null) throw new ArgumentNullException(nameof(read));
            if (TryGet(id, out var kept)) return kept;
            var text = read(id);
            if (text.Length > MaxChars) return text;
            _byId[id] = _order.AddFirst(new KeyValuePair<long, string>(id, text));
            _chars += text.Length;
            while (_chars > MaxChars && _order.Last != null)
            {
                var last = _order.Last;
                _order.RemoveLast();
                _byId.Remove(last.Value.Key);
                _chars -= last.Value.Value.Length;
            }
            return text;
        }
    }
}
