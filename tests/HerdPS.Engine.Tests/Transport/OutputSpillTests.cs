using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using HerdPS.Execution;
using HerdPS.History;
using HerdPS.Tests.History;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// Output past the spill threshold goes to a private, already-unlinked temporary file, and every reader
    /// (the text, NDJSON, the history) gets exactly what it would have got from memory.
    /// </summary>
    public class OutputSpillTests
    {
        private static readonly Encoding Replacing = new UTF8Encoding(false, false);

        /// <summary>Multi-byte characters of every length, repeated so they straddle every read and chunk boundary.</summary>
        private static byte[] Mixed(int repeat, bool invalidTail = false)
        {
            var text = string.Concat(Enumerable.Repeat("é€😀x\n\"\\\u0001", repeat));
            var bytes = Encoding.UTF8.GetBytes(text);
            if (!invalidTail) return bytes;
            // A lone continuation byte, an overlong lead, and a 4-byte sequence cut short.
            return bytes.Concat(new byte[] { 0x80, (byte)'a', 0xC0, 0xAF, (byte)'b', 0xF0, 0x9F, 0x98 }).ToArray();
        }

        private static OutputCapture Capture(OutputSpill? spill, byte[] data, long limit = long.MaxValue, int piece = 7001)
        {
            var capture = new OutputCapture(limit) { Spill = spill };
            for (var at = 0; at < data.Length; at += piece)
            {
                var n = Math.Min(piece, data.Length - at);
                var buffer = new byte[n];
                Buffer.BlockCopy(data, at, buffer, 0, n);
                capture.Append(buffer, n);
            }
            return capture;
        }

        private static CapturedOutput Spilled(TempDirectory dir, byte[] data)
        {
            using var capture = Capture(new OutputSpill(Path.Combine(dir.Path, "spill"), threshold: 1024), data);
            Assert.True(capture.IsSpilled);
            return capture.TakeSpilled()!;
        }

        [Fact]
        public void OutputPastTheThresholdLeavesMemoryAndNoFileIsVisible()
        {
            using var dir = new TempDirectory();
            var spillDir = Path.Combine(dir.Path, "spill");
            var data = Mixed(20000);
            using var capture = Capture(new OutputSpill(spillDir, threshold: 64 * 1024), data);
            Assert.True(capture.IsSpilled);
            // The file was unlinked as soon as it was open: nothing to leave behind, even if the process is killed.
            Assert.Empty(Directory.GetFileSystemEntries(spillDir));
            if (!PrivateDirectory.IsWindows) Assert.Equal("700", UnixMode(spillDir));
            using var output = capture.TakeSpilled()!;
            Assert.Equal(data.Length, output.Length);
            using var copy = new MemoryStream();
            output.OpenRead().CopyTo(copy);
            Assert.Equal(data, copy.ToArray());
            Assert.Equal(Encoding.UTF8.GetString(data), output.ReadText());
        }

        [Fact]
        public void OutputUnderTheThresholdStaysInMemory()
        {
            using var dir = new TempDirectory();
            var data = Mixed(100);
            using var capture = Capture(new OutputSpill(Path.Combine(dir.Path, "spill"), threshold: data.Length), data);
            Assert.False(capture.IsSpilled);
            Assert.Null(capture.TakeSpilled());
            Assert.Equal(Encoding.UTF8.GetString(data), capture.Text());
        }

        [Fact]
        public void TheOutputCapStillAppliesAndTheHashStillCoversEverything()
        {
            using var dir = new TempDirectory();
            var data = Mixed(20000);
            var spill = new OutputSpill(Path.Combine(dir.Path, "spill"), threshold: 1000);
            using var spilled = Capture(spill, data, limit: 50000);
            using var inMemory = Capture(null, data, limit: 50000);
            Assert.True(spilled.Truncated);
            Assert.Equal(inMemory.Digest(), spilled.Digest());
            using var output = spilled.TakeSpilled()!;
            Assert.Equal(50000, output.Length);
            Assert.Equal(inMemory.Text(), output.ReadText());
        }

        [Fact]
        public void TextOfInvalidUtf8MatchesTheInMemoryTextAndItsUtf8IsValid()
        {
            using var dir = new TempDirectory();
            var data = Mixed(5000, invalidTail: true);
            using var output = Spilled(dir, data);
            var expected = Replacing.GetString(data);
            Assert.Equal(expected, output.ReadText());
            var expectedBytes = Encoding.UTF8.GetBytes(expected);
            Assert.Equal(expectedBytes.Length, output.TextUtf8Length());
            using var copy = new MemoryStream();
            output.CopyTextUtf8To(copy);
            Assert.Equal(expectedBytes, copy.ToArray());
        }

        [Fact]
        public void ASpillFolderThatCannotBeMadeKeepsTheOutputInMemoryAndSaysSo()
        {
            using var dir = new TempDirectory();
            var blocker = Path.Combine(dir.Path, "a-file");
            File.WriteAllText(blocker, "not a folder");
            var warnings = new List<string>();
            var spill = new OutputSpill(Path.Combine(blocker, "spill"), threshold: 100) { OnFailure = warnings.Add };
            var data = Mixed(2000);
            using var capture = Capture(spill, data);
            Assert.False(capture.IsSpilled);
            Assert.Equal(Encoding.UTF8.GetString(data), capture.Text());
            var warning = Assert.Single(warnings);
            Assert.Contains(blocker, warning);
            Assert.Contains("keeping it in memory", warning);
        }

        [Fact]
        public void ADiskThatFillsMidOutputLosesNothingTheOutputComesBackIntoMemory()
        {
            // A real, really full file system: a 256 KiB tmpfs (root, as CI runs; the drift hosts need it too).
            using var disk = new SmallDisk("256k");
            var warnings = new List<string>();
            var spill = new OutputSpill(Path.Combine(disk.Path, "spill"), threshold: 64 * 1024) { OnFailure = warnings.Add };
            var data = Mixed(60000); // about 1.7 MiB: the disk fills part of the way through
            using var capture = Capture(spill, data);
            Assert.False(capture.IsSpilled);
            Assert.Null(capture.TakeSpilled());
            Assert.False(capture.Truncated);
            Assert.Equal(Encoding.UTF8.GetString(data), capture.Text());
            var warning = Assert.Single(warnings);
            Assert.Contains("keeping it in memory", warning);
            Assert.Contains("No space left", warning); // it failed mid-output, not at creation
        }

        [Fact]
        public void AResultReadsItsSpilledOutputOnceAndAReleasedOneCannotBeReadAsEmpty()
        {
            using var dir = new TempDirectory();
            var data = Mixed(3000);
            var read = new FleetResult { HostName = "h1" };
            read.SetSpilledOutput(Spilled(dir, data), null);
            Assert.True(read.HasSpilledOutput);
            Assert.Equal(Encoding.UTF8.GetString(data), read.StdOut);
            Assert.False(read.HasSpilledOutput);
            read.ReleaseOutput(); // read already: nothing to release, the text stays
            Assert.Equal(Encoding.UTF8.GetString(data), read.StdOut);

            var released = new FleetResult { HostName = "h2" };
            var output = Spilled(dir, data);
            released.SetSpilledOutput(output, null);
            released.ReleaseOutput();
            Assert.Throws<InvalidOperationException>(() => released.StdOut);
            Assert.Throws<ObjectDisposedException>(() => output.OpenRead().ReadByte());
            Assert.Equal("", released.StdErr);
        }

        [Fact]
        public void NdjsonOfASpilledResultIsByteForByteTheInMemoryOne()
        {
            using var dir = new TempDirectory();
            var outBytes = Mixed(6000, invalidTail: true);
            var errBytes = Mixed(4000);
            var inMemory = Sample();
            inMemory.StdOut = Replacing.GetString(outBytes);
            inMemory.StdErr = Replacing.GetString(errBytes);
            var spilled = Sample();
            spilled.SetSpilledOutput(Spilled(dir, outBytes), Spilled(dir, errBytes));
            var expected = FleetResultJson.Serialize(inMemory);
            Assert.Equal(expected, FleetResultJson.Serialize(spilled));
            Assert.True(spilled.HasSpilledOutput); // written from the files, never read into strings
        }

        [Fact]
        public void TheHistoryStoresASpilledOutputAsTheSameTextAtOnce()
        {
            using var dir = new TempDirectory();
            var path = Path.Combine(dir.Path, "history.db");
            var outBytes = Mixed(8000, invalidTail: true);
            var errBytes = Encoding.UTF8.GetBytes(new string('e', 3000));
            using var store = HistoryStore.Open(path, new HistoryStoreOptions { BatchSize = 32 });
            using var run = store.BeginRun("exec", "cat big", "all", DateTime.UtcNow);
            run.Add(HistoryTestData.Result("h000", "small\n"));
            var big = Sample();
            big.HostName = "h001";
            big.SetSpilledOutput(Spilled(dir, outBytes), Spilled(dir, errBytes));
            run.Add(big);
            // Written before Add returned (the caller frees the file next), with the small one before it.
            big.ReleaseOutput();
            using (var reader = HistoryStore.Open(path))
            {
                var stored = reader.ReadResults(run.Id).ToDictionary(r => r.HostName);
                Assert.Equal(new[] { "h000", "h001" }, stored.Keys.OrderBy(k => k).ToArray());
                Assert.Equal(Replacing.GetString(outBytes), stored["h001"].StdOut);
                Assert.Equal(new string('e', 3000), stored["h001"].StdErr);
            }
            run.Complete(DateTime.UtcNow);
            // Stored by content, as any output is: each in its own blob, the same bytes as the text re-encoded.
            // (h000's short output is in the run's pack; h001's two are the run's only blobs.)
            Assert.Equal(2, HistoryTestData.Scalar(path, $"SELECT count(*) FROM run_blobs WHERE run_id = {run.Id}"));
            Assert.Equal(1, HistoryTestData.Scalar(path, $"SELECT count(*) FROM blobs WHERE raw_length = {Encoding.UTF8.GetByteCount(Replacing.GetString(outBytes))}"));
            Assert.Equal(1, HistoryTestData.Scalar(path, "SELECT count(*) FROM blobs WHERE raw_length = 3000"));
        }

        private static FleetResult Sample() => new FleetResult
        {
            HostName = "web01",
            Command = "cat big",
            Status = FleetStatus.Succeeded,
            ExitCode = 0,
            StartTime = new DateTime(2026, 11, 23, 4, 0, 0, DateTimeKind.Utc),
            Duration = TimeSpan.FromMilliseconds(1234),
            Attempts = 1,
            OutputHash = "abc",
            Groups = new[] { "web" },
            Tags = new[] { "prod" },
        };

        private static string UnixMode(string path)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("stat", "-c %a " + path) { RedirectStandardOutput = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var mode = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return mode;
        }
    }
}
