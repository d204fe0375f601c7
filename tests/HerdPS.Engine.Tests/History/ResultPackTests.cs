using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using HerdPS.History;
using HerdPS.Transport;
using Xunit;

namespace HerdPS.Tests.History
{
    /// <summary>
    /// The pack format both backends store results in: every field comes back exactly as it went in, whatever its value,
    /// and a record that is damaged, cut short, from a newer HerdPS or unpacks to far more than a pack can hold is an
    /// InvalidDataException, never a misread result.
    /// </summary>
    public sealed class ResultPackTests
    {
        private static readonly DateTime Start = new DateTime(2026, 2, 28, 9, 15, 0, DateTimeKind.Utc).AddTicks(1234567);

        private static PackedResult Entry(int seq, string host, Action<FleetResult>? set = null, string? stdout = null, string? stderr = null,
            long? outBlob = null, long? errBlob = null, bool derived = false)
        {
            var result = new FleetResult
            {
                HostName = host, Status = FleetStatus.Succeeded, ExitCode = 0, Duration = TimeSpan.FromTicks(1_234_567), Attempts = 1,
                StartTime = Start, Transport = "openssh", OutputHash = new string('a', 64),
            };
            set?.Invoke(result);
            return new PackedResult(seq, result) { StdOutText = stdout, StdErrText = stderr, StdOutBlob = outBlob, StdErrBlob = errBlob, HashIsDerived = derived };
        }

        [Fact]
        public void EveryFieldOfEveryResultComesBackAsPacked()
        {
            var entries = new[]
            {
                Entry(5, "web-01", r => { r.Groups = new[] { "web", "", "ü" }; r.Tags = new[] { "prod" }; }, stdout: "a\0b\n", stderr: "é€😀\n", derived: true),
                Entry(2, "WEB-02", r => { r.Status = FleetStatus.Failed; r.ExitCode = -1; r.Truncated = true; r.ErrorMessage = ""; r.Attempts = 3;
                                          r.StartTime = Start.AddHours(-5); r.OutputHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; }, outBlob: 1L << 40),
                Entry(0, "db-01", r => { r.Status = FleetStatus.Unreachable; r.ExitCode = null; r.ErrorKind = FleetErrorKind.ConnectTimeout;
                                         r.ErrorMessage = "no route"; r.Duration = TimeSpan.Zero; r.StartTime = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
                                         r.OutputHash = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"; r.Transport = ""; }, errBlob: 7),
                Entry(int.MaxValue, "", r => { r.ExitCode = int.MinValue; r.StartTime = DateTime.MaxValue; r.OutputHash = ""; r.Duration = TimeSpan.MaxValue; }),
            };
            var back = ResultPack.Decode(ResultPack.Encode(entries));

            Assert.Equal(entries.Length, back.Count);
            for (int i = 0; i < entries.Length; i++)
            {
                var (e, b) = (entries[i], back[i]);
                Assert.Equal(e.Seq, b.Seq);
                Assert.Equal((e.Result.HostName, e.Result.Status.ToString(), e.Result.ExitCode, e.Result.Duration), (b.Result.HostName, b.StatusName, b.Result.ExitCode, b.Result.Duration));
                Assert.Equal((e.Result.Truncated, e.Result.ErrorKind.ToString(), e.Result.ErrorMessage, e.Result.Attempts), (b.Result.Truncated, b.ErrorKindName, b.Result.ErrorMessage, b.Result.Attempts));
                Assert.Equal(e.Result.StartTime, b.Result.StartTime);
                Assert.Equal(DateTimeKind.Utc, b.Result.StartTime.Kind);
                Assert.Equal(e.Result.Groups, b.Result.Groups);
                Assert.Equal(e.Result.Tags, b.Result.Tags);
                Assert.Equal(e.Result.Transport, b.Result.Transport);
                Assert.Equal((e.StdOutText, e.StdErrText, e.StdOutBlob, e.StdErrBlob), (b.StdOutText, b.StdErrText, b.StdOutBlob, b.StdErrBlob));
                Assert.Equal(e.HashIsDerived, b.HashIsDerived);
                if (!e.HashIsDerived) Assert.Equal(e.Result.OutputHash, b.Result.OutputHash); // lower-case hex packed as bytes, anything else as text
            }
        }

        [Fact]
        public void ADerivedHashIsTheOneTheRunComputedFromItsOutputs()
        {
            var inline = ResultPack.Entry(new StoredResult(0, new FleetResult { ExitCode = 2, OutputHash = OutputCapture.HashOf("out\n", "err\n", 2) },
                StoredOutput.Of("out\n"), StoredOutput.Of("err\n")), _ => throw new InvalidOperationException("short outputs are not blobs"));
            Assert.True(inline.HashIsDerived);
            var back = ResultPack.Decode(ResultPack.Encode(new[] { inline })).Single();
            Assert.Equal(OutputCapture.HashOf("out\n", "err\n", 2), ResultPack.DerivedHash(back, _ => throw new InvalidOperationException()));

            var longText = new string('x', BlobContent.InlineLimit + 1);
            var content = StoredOutput.Of(longText)!;
            var blob = ResultPack.Entry(new StoredResult(1, new FleetResult { ExitCode = null, OutputHash = OutputCapture.HashOf(longText, "", null) }, content, null), _ => 42);
            Assert.Equal((true, (long?)42, (string?)null), (blob.HashIsDerived, blob.StdOutBlob, blob.StdOutText));
            Assert.Equal(OutputCapture.HashOf(longText, "", null), ResultPack.DerivedHash(blob, id => id == 42 ? content.Hash : throw new InvalidOperationException()));

            // A hash the outputs don't give (a truncated output's covers everything the host printed) is kept as it was.
            var other = ResultPack.Entry(new StoredResult(2, new FleetResult { ExitCode = 0, OutputHash = OutputCapture.HashOf("more than kept\n", "", 0) },
                StoredOutput.Of("more\n"), null), _ => 0);
            Assert.False(other.HashIsDerived);
        }

        [Fact]
        public void ADamagedCutShortOrNewerRecordIsRefused()
        {
            var packed = ResultPack.Encode(Enumerable.Range(0, 50).Select(i => Entry(i, $"host-{i:D3}", stdout: $"up {i} days\n", derived: true)).ToArray());
            Assert.Equal(50, ResultPack.Decode(packed).Count);

            // Never misread: every damaged byte and every cut either is refused or still unpacks to exactly what was packed
            // (a bit deflate doesn't use, such as the last byte's padding, can change or go without losing data). The check
            // of the unpacked bytes refuses nearly all the others.
            int read = 0, cases = 0;
            void Damage(byte[] record)
            {
                cases++;
                try
                {
                    Assert.Equal(packed, ResultPack.Encode(ResultPack.Decode(record)));
                    read++;
                }
                catch (InvalidDataException)
                {
                }
            }
            for (int at = 0; at < packed.Length; at++)
            {
                var flipped = (byte[])packed.Clone();
                flipped[at] ^= 0x01;
                Damage(flipped);
            }
            for (int length = 0; length < packed.Length; length++) Damage(packed.Take(length).ToArray());
            Assert.True(read * 50 < cases, $"{read} of {cases} damaged records read back whole");
            var newer = (byte[])packed.Clone();
            newer[0] = 2;
            Assert.Contains("format 2, unknown to this HerdPS", Assert.Throws<InvalidDataException>(() => ResultPack.Decode(newer)).Message);
        }

        [Fact]
        public void ARecordThatUnpacksToFarMoreThanAPackHoldsIsRefusedBeforeItFillsMemory()
        {
            var bomb = new MemoryStream();
            bomb.Write(new byte[] { 1, 0, 0, 0, 0 }, 0, 5);
            using (var deflate = new DeflateStream(bomb, CompressionLevel.Optimal, leaveOpen: true))
            {
                var zeros = new byte[1 << 20];
                for (int i = 0; i < 80; i++) deflate.Write(zeros, 0, zeros.Length);
            }
            Assert.Contains("unpacks to more than", Assert.Throws<InvalidDataException>(() => ResultPack.Decode(bomb.ToArray())).Message);
        }

        [Fact]
        public void HostIdListsComeBackAndADamagedOneIsRefused()
        {
            var ids = new long[] { 1, 127, 128, 16383, 16384, long.MaxValue };
            Assert.Equal(ids, ResultPack.DecodeIds(ResultPack.EncodeIds(ids)));
            Assert.Empty(ResultPack.DecodeIds(Array.Empty<byte>()));
            Assert.Throws<InvalidDataException>(() => ResultPack.DecodeIds(new byte[] { 0x80 }));
            Assert.Throws<InvalidDataException>(() => ResultPack.DecodeIds(Enumerable.Repeat((byte)0xFF, 11).ToArray()));
        }
    }
}
