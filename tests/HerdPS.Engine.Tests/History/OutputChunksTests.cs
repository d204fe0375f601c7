using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using HerdPS.History;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// Reading stored chunks back into text, with buffers sized to the output (and shared between reads): every size,
    /// characters of one to four bytes cut across chunks and across reads, raw and deflated chunks mixed.
    /// </summary>
    public sealed class OutputChunksTests
    {
        private static string Text(int length)
        {
            // ASCII, 2-, 3- and 4-byte characters in turn, so cuts fall inside characters of every width.
            string[] pieces = { "a", "\u00E9", "\u65E5", "\U0001F600", "\n" };
            var s = new StringBuilder();
            for (int i = 0; s.Length < length; i++) s.Append(pieces[i % pieces.Length]);
            return s.ToString();
        }

        private static byte[] Deflated(byte[] raw)
        {
            using var buffer = new MemoryStream();
            using (var deflate = new DeflateStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(raw, 0, raw.Length);
            return buffer.ToArray();
        }

        /// <summary>The output cut into chunks of <paramref name="chunk"/> bytes (mid-character), every other one deflated.</summary>
        private static List<KeyValuePair<byte, byte[]>> Chunks(byte[] raw, int chunk)
        {
            var chunks = new List<KeyValuePair<byte, byte[]>>();
            for (int at = 0, i = 0; at < raw.Length; at += chunk, i++)
            {
                var part = raw.Skip(at).Take(chunk).ToArray();
                chunks.Add(i % 2 == 0 ? new KeyValuePair<byte, byte[]>(OutputChunks.Raw, part) : new KeyValuePair<byte, byte[]>(OutputChunks.Deflate, Deflated(part)));
            }
            return chunks;
        }

        [Theory]
        [InlineData(1, 1)]
        [InlineData(7, 3)]
        [InlineData(100, 7)]
        [InlineData(4000, 1000)]
        [InlineData(70000, 65537)]
        [InlineData(200000, 65536)]
        [InlineData(300000, 100003)]
        public void EverySizeAndCutReadsBackAsWritten(int length, int chunk)
        {
            var text = Text(length);
            var raw = new UTF8Encoding(false).GetBytes(text);
            Assert.Equal(text, OutputChunks.Decode(Chunks(raw, chunk), raw.Length));
            // Reads after it share the pooled buffers: a small output after a large one is still itself.
            Assert.Equal("\u00E9x", OutputChunks.Decode(Chunks(new UTF8Encoding(false).GetBytes("\u00E9x"), 1), 3));
        }

        [Fact]
        public void ALengthThatIsNotTheRecordsIsDamage()
        {
            var raw = Encoding.UTF8.GetBytes("hello");
            Assert.Throws<InvalidDataException>(() => OutputChunks.Decode(Chunks(raw, 2), 4));
            Assert.Throws<InvalidDataException>(() => OutputChunks.Decode(Chunks(raw, 2), 6));
            Assert.Equal("", OutputChunks.Decode(new List<KeyValuePair<byte, byte[]>>(), 0));
        }
    }
}
