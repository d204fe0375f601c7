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

        [Theory]
        [InlineData(97, false)]
        [InlineData(70000, false)]
        [InlineData(1 << 20, true)]
        [InlineData((1 << 20) + 1, false)]
        [InlineData((2 << 20) + 12345, true)]
        public void WhatIsStoredReadsBackInChunksOfAtMostAMebibyte(int length, bool incompressible)
        {
            string text;
            if (incompressible)
            {
                // Random letters: deflate can't halve them, so some chunks stay raw.
                var random = new Random(length);
                var chars = new char[length];
                for (int i = 0; i < length; i++) chars[i] = (char)random.Next(0x21, 0x7F);
                text = new string(chars);
            }
            else text = Text(length);
            var stored = StoredOutput.Of(text)!;
            var chunks = new List<KeyValuePair<byte, byte[]>>();
            stored.WriteChunks((seq, encoding, buffer, count) =>
            {
                Assert.Equal(chunks.Count, seq);
                chunks.Add(new KeyValuePair<byte, byte[]>(encoding, buffer.AsSpan(0, count).ToArray()));
            });
            // A chunk per ChunkSize of the output (the last one shorter), whatever size the write buffers were.
            long expectedChunks = (stored.Length + StoredOutput.ChunkSize - 1) / StoredOutput.ChunkSize;
            Assert.Equal(expectedChunks, chunks.Count);
            Assert.Equal(text, OutputChunks.Decode(chunks, stored.Length));
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
