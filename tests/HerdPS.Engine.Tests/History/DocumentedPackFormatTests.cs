using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using HerdPS.History;
using HerdPS.Tests.Inventory;
using Xunit;
using static HerdPS.Tests.History.HistoryTestData;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// docs/history.md tells scripts how to read a pack without herd. This decoder is written from that text alone (not
    /// from ResultPack), and reads what herd recorded: if the docs and the format part, it fails.
    /// </summary>
    public sealed class DocumentedPackFormatTests : IDisposable
    {
        private readonly TempDirectory _folder = new TempDirectory();

        public void Dispose() => _folder.Dispose();

        [Fact]
        public void APackReadAsDocsHistoryDescribesIsWhatHerdRecorded()
        {
            var path = Path.Combine(_folder.Path, "history.db");
            long longBlob;
            var recorded = new[]
            {
                Result("web-01", "up 3 days\n"),
                Result("web-02", new string('x', 2000) + "\n", stderr: "warn\n"),
                Result("db-01", "", FleetStatus.Unreachable, exitCode: null),
            };
            recorded[0].Groups = new[] { "web", "ü" };
            recorded[0].Tags = new[] { "prod" };
            recorded[1].OutputHash = HerdPS.Transport.OutputCapture.HashOf(recorded[1].StdOut, recorded[1].StdErr, 0); // one a pack derives
            recorded[2].ErrorKind = FleetErrorKind.ConnectTimeout;
            recorded[2].ErrorMessage = "no route";
            long run;
            using (var store = HistoryStore.Open(path)) run = Record(store, "uptime", "all", Now, results: recorded);
            longBlob = Scalar(path, "SELECT id FROM blobs");

            var data = Blob(path, $"SELECT data FROM result_packs WHERE run_id = {run}");
            // "a format byte (1), the first 4 bytes of the SHA-256 of the unpacked bytes, and a raw deflate stream"
            Assert.Equal(1, data[0]);
            byte[] unpacked;
            using (var deflate = new DeflateStream(new MemoryStream(data, 5, data.Length - 5), CompressionMode.Decompress))
            using (var copy = new MemoryStream())
            {
                deflate.CopyTo(copy);
                unpacked = copy.ToArray();
            }
            Assert.Equal(SHA256.HashData(unpacked).Take(4), data.Skip(1).Take(4));

            var s = new MemoryStream(unpacked);
            ulong U() { ulong v = 0; for (int shift = 0; ; shift += 7) { int b = s.ReadByte(); v |= (ulong)(b & 0x7f) << shift; if (b < 0x80) return v; } }
            long S() { ulong v = U(); return (long)(v >> 1) ^ -(long)(v & 1); }
            string T() { var bytes = new byte[(int)U()]; s.ReadExactly(bytes); return Encoding.UTF8.GetString(bytes); }
            int n = (int)U();
            var rows = Enumerable.Range(0, n).Select(_ => new Dictionary<string, object?>()).ToList();
            long seq = 0;
            foreach (var r in rows) r["seq"] = seq += S();
            foreach (var r in rows) r["host"] = T();
            foreach (var r in rows) r["status"] = T();
            foreach (var r in rows) r["exit"] = s.ReadByte() == 0 ? null : S();
            foreach (var r in rows) r["duration"] = S();
            foreach (var r in rows)
                r["hash"] = s.ReadByte() switch { 0 => "computed", 1 => Convert.ToHexString(Read(s, 32)).ToLowerInvariant(), _ => T() };
            foreach (var r in rows) r["truncated"] = s.ReadByte();
            foreach (var r in rows) r["errorKind"] = T();
            foreach (var r in rows) r["errorMessage"] = s.ReadByte() == 0 ? null : T();
            foreach (var r in rows) r["attempts"] = S();
            long start = 0;
            foreach (var r in rows) r["start"] = new DateTime(start += S(), DateTimeKind.Utc);
            foreach (var field in new[] { "groups", "tags" })
                foreach (var r in rows) r[field] = string.Join(",", Enumerable.Range(0, (int)U()).Select(_ => T()));
            foreach (var r in rows) r["transport"] = T();
            foreach (var field in new[] { "stderr", "stdout" })
                foreach (var r in rows) r[field] = s.ReadByte() switch { 0 => "", 1 => T(), _ => "blob " + U() };
            Assert.Equal(-1, s.ReadByte());

            Assert.Equal(recorded.Length, n);
            for (int i = 0; i < n; i++)
            {
                var (r, e) = (rows[i], recorded[i]);
                Assert.Equal((long)i, r["seq"]);
                Assert.Equal(e.HostName, r["host"]);
                Assert.Equal(e.Status.ToString(), r["status"]);
                Assert.Equal(e.ExitCode is int x ? x : (long?)null, (long?)r["exit"]);
                Assert.Equal(e.Duration.Ticks, r["duration"]);
                Assert.Equal(i == 1 ? "computed" : e.OutputHash, r["hash"]);
                Assert.Equal(e.Truncated ? 1 : 0, r["truncated"]);
                Assert.Equal(e.ErrorKind.ToString(), r["errorKind"]);
                Assert.Equal(e.ErrorMessage, r["errorMessage"]);
                Assert.Equal((long)e.Attempts, r["attempts"]);
                Assert.Equal(e.StartTime, r["start"]);
                Assert.Equal(string.Join(",", e.Groups), r["groups"]);
                Assert.Equal(string.Join(",", e.Tags), r["tags"]);
                Assert.Equal(e.Transport, r["transport"]);
                Assert.Equal(e.StdErr, r["stderr"]);
                Assert.Equal(i == 1 ? $"blob {longBlob}" : e.StdOut, r["stdout"]); // "longer than 1 KiB is in blobs"
            }
        }

        private static byte[] Read(Stream s, int count)
        {
            var bytes = new byte[count];
            s.ReadExactly(bytes);
            return bytes;
        }
    }
}
