using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using HerdPS.Transport;

namespace HerdPS.History
{
    /// <summary>
    /// A batch of one run's results stored as one compressed record, the same way by every backend (SQLite schema 7,
    /// server schema 4). A row per host cost ~250 bytes on SQLite and more on PostgreSQL whatever the output (host,
    /// status, times, the 64-character output hash, groups, tags, index entries), so 200 one-line outputs stored
    /// 4-5 times their size, and a watch every 30 s over a large fleet wrote hundreds of MB a day of row overhead. In a
    /// pack the fields that repeat from host to host (status, groups, tags, transport, most of the output hash, the
    /// shape of a short output) compress away: what is left per host is what really differs.
    /// <para>
    /// Outputs of up to <see cref="BlobContent.InlineLimit"/> bytes are in the pack; a longer one is a reference to its
    /// blob (stored once per content by the backend). The output hash is not stored when it is what the outputs and
    /// exit code give (nearly always): it is computed again on reading.
    /// </para>
    /// Format (docs/history.md has it byte by byte): a version byte (1), the first 4 bytes of the SHA-256 of the unpacked
    /// bytes (a check), then a raw deflate stream (RFC 1951) of: the count, then field by field, each for every result in
    /// order: sequence number (as the difference from the one before), host, status, exit code, duration (ticks), output
    /// hash (derived, 32 bytes, or text), truncated, error kind, error message, attempts, start time (ticks, as the
    /// difference from the one before), groups, tags, transport, stderr, stdout. Numbers are LEB128 (signed ones
    /// zig-zag), strings their UTF-8 byte count then the bytes. Never change this format: add a version.
    /// </summary>
    public static class ResultPack
    {
        private const byte Version1 = 1;
        private const byte HashDerived = 0, HashBinary = 1, HashText = 2;
        private const byte OutputNone = 0, OutputText = 1, OutputBlob = 2;
        private const int CheckLength = 4;
        // A pack holds at most MaxResults results with outputs of at most InlineLimit bytes each, and their fields: far
        // under this. More is a damaged or hostile record, not something to unpack into memory.
        private const int MaxPayload = 64 * 1024 * 1024;
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        private static readonly byte[] EmptyDigest = Sha256(Array.Empty<byte>(), 0);

        /// <summary>The results a backend stores in one pack at most: a recording batch is smaller; a copied run is cut into packs of this many.</summary>
        public const int MaxResults = 256;

        /// <summary>
        /// The pack's entry for a result: its outputs inline when short, else the backend's blob id from <paramref name="blobId"/>
        /// (called once per long output, inside the caller's transaction).
        /// </summary>
        public static PackedResult Entry(StoredResult stored, Func<BlobContent, long> blobId)
        {
            if (stored == null) throw new ArgumentNullException(nameof(stored));
            var entry = new PackedResult(stored.Seq, stored.Result);
            entry.StdOutText = stored.StdOut?.InlineText();
            entry.StdErrText = stored.StdErr?.InlineText();
            if (stored.StdOut != null && entry.StdOutText == null) entry.StdOutBlob = blobId(stored.StdOut);
            if (stored.StdErr != null && entry.StdErrText == null) entry.StdErrBlob = blobId(stored.StdErr);
            string derived = OutputCapture.CombineHash(stored.StdOut?.Hash ?? EmptyDigest, stored.StdErr?.Hash ?? EmptyDigest, stored.Result.ExitCode);
            entry.HashIsDerived = string.Equals(derived, stored.Result.OutputHash ?? "", StringComparison.Ordinal);
            return entry;
        }

        /// <summary>The compressed record of <paramref name="entries"/> (at most <see cref="MaxResults"/>).</summary>
        public static byte[] Encode(IReadOnlyList<PackedResult> entries)
        {
            if (entries == null) throw new ArgumentNullException(nameof(entries));
            var w = new MemoryStream();
            // Field by field, not result by result: each host's value sits beside the others' values of the same
            // field, where deflate finds what they share (the outputs of 200 hosts running uptime, last).
            WriteUnsigned(w, (ulong)entries.Count);
            int previousSeq = 0;
            foreach (var e in entries) { WriteSigned(w, (long)e.Seq - previousSeq); previousSeq = e.Seq; }
            foreach (var e in entries) WriteString(w, e.Result.HostName ?? "");
            foreach (var e in entries) WriteString(w, e.StatusName.Length > 0 ? e.StatusName : e.Result.Status.ToString());
            foreach (var e in entries)
            {
                if (e.Result.ExitCode is int exit) { w.WriteByte(1); WriteSigned(w, exit); } else w.WriteByte(0);
            }
            foreach (var e in entries) WriteSigned(w, e.Result.Duration.Ticks);
            foreach (var e in entries)
            {
                string hash = e.Result.OutputHash ?? "";
                if (e.HashIsDerived) w.WriteByte(HashDerived);
                else if (IsLowerHex64(hash)) { w.WriteByte(HashBinary); var bytes = FromHex(hash); w.Write(bytes, 0, bytes.Length); }
                else { w.WriteByte(HashText); WriteString(w, hash); }
            }
            foreach (var e in entries) w.WriteByte(e.Result.Truncated ? (byte)1 : (byte)0);
            foreach (var e in entries) WriteString(w, e.ErrorKindName.Length > 0 ? e.ErrorKindName : e.Result.ErrorKind.ToString());
            foreach (var e in entries)
            {
                if (e.Result.ErrorMessage is string message) { w.WriteByte(1); WriteString(w, message); } else w.WriteByte(0);
            }
            foreach (var e in entries) WriteSigned(w, e.Result.Attempts);
            // Start times of one batch are close together: each is stored as its distance from the one before.
            long previousStart = 0;
            foreach (var e in entries)
            {
                long start = HistoryTime.ToUtc(e.Result.StartTime).Ticks;
                WriteSigned(w, start - previousStart);
                previousStart = start;
            }
            foreach (var e in entries) WriteList(w, e.Result.Groups);
            foreach (var e in entries) WriteList(w, e.Result.Tags);
            foreach (var e in entries) WriteString(w, e.Result.Transport ?? "");
            foreach (var e in entries) WriteOutput(w, e.StdErrText, e.StdErrBlob);
            foreach (var e in entries) WriteOutput(w, e.StdOutText, e.StdOutBlob);
            var packed = new MemoryStream((int)(w.Length / 2) + 16);
            packed.WriteByte(Version1);
            packed.Write(Sha256(w.GetBuffer(), (int)w.Length), 0, CheckLength);
            using (var deflate = new DeflateStream(packed, CompressionLevel.Optimal, leaveOpen: true))
                deflate.Write(w.GetBuffer(), 0, (int)w.Length);
            return packed.ToArray();
        }

        /// <summary>The entries of a pack, in the order they were packed.</summary>
        /// <exception cref="InvalidDataException">The record is damaged, or of a format this build doesn't know (a newer HerdPS wrote it).</exception>
        public static List<PackedResult> Decode(byte[] data)
        {
            if (data == null || data.Length == 0) throw new InvalidDataException("the result record is empty");
            if (data[0] != Version1)
                throw new InvalidDataException($"the result record has format {data[0]}, unknown to this HerdPS; a newer HerdPS recorded it");
            if (data.Length < 1 + CheckLength) throw new InvalidDataException("the result record ends early");
            try
            {
                using (var r = Inflate(data))
                {
                    int count = checked((int)ReadUnsigned(r));
                    if (count > MaxResults * 64) throw new InvalidDataException($"the result record says it holds {count} results");
                    var list = new List<PackedResult>(count);
                    long seq = 0;
                    for (int i = 0; i < count; i++)
                    {
                        seq = checked(seq + ReadSigned(r));
                        if (seq < 0 || seq > int.MaxValue) throw new InvalidDataException("a sequence number is out of range");
                        list.Add(new PackedResult((int)seq, new FleetResult()));
                    }
                    foreach (var e in list) e.Result.HostName = ReadString(r);
                    foreach (var e in list) e.StatusName = ReadString(r);
                    foreach (var e in list) e.Result.ExitCode = ReadByte(r) != 0 ? checked((int)ReadSigned(r)) : (int?)null;
                    foreach (var e in list) e.Result.Duration = TimeSpan.FromTicks(ReadSigned(r));
                    foreach (var e in list)
                    {
                        switch (ReadByte(r))
                        {
                            case HashDerived: e.HashIsDerived = true; break;
                            case HashBinary: e.Result.OutputHash = OutputCapture.ToHex(ReadBytes(r, 32)); break;
                            case HashText: e.Result.OutputHash = ReadString(r); break;
                            default: throw new InvalidDataException("an output hash is of an unknown kind");
                        }
                    }
                    foreach (var e in list) e.Result.Truncated = ReadByte(r) != 0;
                    foreach (var e in list) e.ErrorKindName = ReadString(r);
                    foreach (var e in list) e.Result.ErrorMessage = ReadByte(r) != 0 ? ReadString(r) : null;
                    foreach (var e in list) e.Result.Attempts = checked((int)ReadSigned(r));
                    long previousStart = 0;
                    foreach (var e in list)
                    {
                        long start = checked(previousStart + ReadSigned(r));
                        if (start < DateTime.MinValue.Ticks || start > DateTime.MaxValue.Ticks) throw new InvalidDataException("a start time is out of range");
                        e.Result.StartTime = new DateTime(start, DateTimeKind.Utc);
                        previousStart = start;
                    }
                    foreach (var e in list) e.Result.Groups = ReadList(r);
                    foreach (var e in list) e.Result.Tags = ReadList(r);
                    foreach (var e in list) e.Result.Transport = ReadString(r);
                    foreach (var e in list)
                    {
                        ReadOutput(r, out var text, out var blob);
                        e.StdErrText = text;
                        e.StdErrBlob = blob;
                    }
                    foreach (var e in list)
                    {
                        ReadOutput(r, out var text, out var blob);
                        e.StdOutText = text;
                        e.StdOutBlob = blob;
                    }
                    if (r.ReadByte() != -1) throw new InvalidDataException("the result record goes on after its last result");
                    return list;
                }
            }
            catch (Exception e) when (e is OverflowException || e is DecoderFallbackException || e is ArgumentException)
            {
                throw new InvalidDataException($"the result record is damaged ({e.Message})", e);
            }
        }

        // Deflate alone doesn't notice a record cut short at its end (the data may all be there without the final
        // block's end) nor every damaged byte in it: a check of what was packed does. It is the first bytes of its
        // SHA-256, which every runtime has (a CRC-32 package would be one more assembly for the module to load).
        private static MemoryStream Inflate(byte[] data)
        {
            var payload = new MemoryStream();
            using (var deflate = new DeflateStream(new MemoryStream(data, 1 + CheckLength, data.Length - 1 - CheckLength, writable: false), CompressionMode.Decompress))
            {
                var buffer = new byte[16384];
                int n;
                while ((n = deflate.Read(buffer, 0, buffer.Length)) > 0)
                {
                    if (payload.Length + n > MaxPayload) throw new InvalidDataException($"the result record unpacks to more than {MaxPayload} bytes");
                    payload.Write(buffer, 0, n);
                }
            }
            var check = Sha256(payload.GetBuffer(), (int)payload.Length);
            for (int i = 0; i < CheckLength; i++)
                if (check[i] != data[1 + i]) throw new InvalidDataException("the result record is damaged (its check doesn't match)");
            payload.Position = 0;
            return payload;
        }

        /// <summary>
        /// The output hash of an entry whose hash was derived: from the SHA-256 of each output (a blob's is its key,
        /// an inline text's is computed here) and the exit code, as the run computed it.
        /// </summary>
        public static string DerivedHash(PackedResult entry, Func<long, byte[]> blobHash)
        {
            byte[] Digest(string? text, long? blob)
            {
                if (blob is long id) return blobHash(id);
                if (text == null) return EmptyDigest;
                var bytes = Encoding.UTF8.GetBytes(text);
                return Sha256(bytes, bytes.Length);
            }
            return OutputCapture.CombineHash(Digest(entry.StdOutText, entry.StdOutBlob), Digest(entry.StdErrText, entry.StdErrBlob), entry.Result.ExitCode);
        }

        /// <summary>Host ids as a compact list (LEB128), for the backends that keep a pack's hosts beside it to unindex them.</summary>
        public static byte[] EncodeIds(IEnumerable<long> ids)
        {
            var s = new MemoryStream();
            foreach (var id in ids) WriteUnsigned(s, checked((ulong)id));
            return s.ToArray();
        }

        /// <exception cref="InvalidDataException">The list is damaged.</exception>
        public static List<long> DecodeIds(byte[] data)
        {
            var list = new List<long>();
            var s = new MemoryStream(data, writable: false);
            try
            {
                while (s.Position < s.Length) list.Add(checked((long)ReadUnsigned(s)));
            }
            catch (OverflowException e)
            {
                throw new InvalidDataException("a list of host ids is damaged", e);
            }
            return list;
        }

        private static void WriteOutput(Stream w, string? text, long? blob)
        {
            if (text != null) { w.WriteByte(OutputText); WriteString(w, text); }
            else if (blob is long id) { w.WriteByte(OutputBlob); WriteUnsigned(w, checked((ulong)id)); }
            else w.WriteByte(OutputNone);
        }

        private static void ReadOutput(Stream r, out string? text, out long? blob)
        {
            text = null;
            blob = null;
            switch (ReadByte(r))
            {
                case OutputNone: break;
                case OutputText: text = ReadString(r); break;
                case OutputBlob: blob = checked((long)ReadUnsigned(r)); break;
                default: throw new InvalidDataException("an output is of an unknown kind");
            }
        }

        private static void WriteList(Stream w, NameList? names)
        {
            var items = names ?? NameList.Empty;
            WriteUnsigned(w, (ulong)items.Count);
            foreach (var n in items) WriteString(w, n ?? "");
        }

        private static string[] ReadList(Stream r)
        {
            int count = checked((int)ReadUnsigned(r));
            if (count > 1 << 20) throw new InvalidDataException("a list of names is too long");
            var items = new string[count];
            for (int i = 0; i < count; i++) items[i] = ReadString(r);
            return items;
        }

        private static void WriteString(Stream w, string value)
        {
            var bytes = Utf8.GetBytes(value);
            WriteUnsigned(w, (ulong)bytes.Length);
            w.Write(bytes, 0, bytes.Length);
        }

        private static string ReadString(Stream r)
        {
            ulong length = ReadUnsigned(r);
            if (length > int.MaxValue) throw new InvalidDataException("a text is too long");
            return Utf8.GetString(ReadBytes(r, (int)length));
        }

        private static byte[] ReadBytes(Stream r, int count)
        {
            var bytes = new byte[count];
            int read = 0;
            while (read < count)
            {
                int n = r.Read(bytes, read, count - read);
                if (n <= 0) throw new InvalidDataException("the result record ends early");
                read += n;
            }
            return bytes;
        }

        private static byte ReadByte(Stream r)
        {
            int b = r.ReadByte();
            if (b < 0) throw new InvalidDataException("the result record ends early");
            return (byte)b;
        }

        private static void WriteUnsigned(Stream w, ulong value)
        {
            while (value >= 0x80)
            {
                w.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            w.WriteByte((byte)value);
        }

        private static ulong ReadUnsigned(Stream r)
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = ReadByte(r);
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
            throw new InvalidDataException("a number in the result record is too long");
        }

        private static void WriteSigned(Stream w, long value) => WriteUnsigned(w, (ulong)((value << 1) ^ (value >> 63)));

        private static long ReadSigned(Stream r)
        {
            ulong v = ReadUnsigned(r);
            return (long)(v >> 1) ^ -(long)(v & 1);
        }

        private static bool IsLowerHex64(string s)
        {
            if (s.Length != 64) return false;
            foreach (char c in s)
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
            return true;
        }

        private static byte[] FromHex(string s)
        {
            var bytes = new byte[s.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = (byte)((HexValue(s[2 * i]) << 4) | HexValue(s[2 * i + 1]));
            return bytes;
        }

        private static int HexValue(char c) => c <= '9' ? c - '0' : c - 'a' + 10;

        private static byte[] Sha256(byte[] buffer, int count)
        {
            using (var sha = SHA256.Create()) return sha.ComputeHash(buffer, 0, count);
        }
    }

    /// <summary>
    /// One result in a pack: its fields, and where its outputs are (inline text, or a blob id of the backend that wrote
    /// it). Read back, <see cref="StatusName"/> and <see cref="ErrorKindName"/> are the stored names, parsed by the
    /// backend so that a name from a newer HerdPS is an error naming the run and host.
    /// </summary>
    public sealed class PackedResult
    {
        public PackedResult(int seq, FleetResult result)
        {
            Seq = seq;
            Result = result ?? throw new ArgumentNullException(nameof(result));
        }

        public int Seq { get; }
        /// <summary>The fields; its outputs are not read when packing (the texts and blobs below are).</summary>
        public FleetResult Result { get; }
        public string? StdOutText { get; set; }
        public string? StdErrText { get; set; }
        public long? StdOutBlob { get; set; }
        public long? StdErrBlob { get; set; }
        /// <summary>The output hash is what the outputs and exit code give, so it isn't stored (<see cref="ResultPack.DerivedHash"/>).</summary>
        public bool HashIsDerived { get; set; }
        /// <summary>The status as stored (read back, or copied from an older row); empty: <see cref="FleetResult.Status"/>'s name.</summary>
        public string StatusName { get; set; } = "";
        /// <summary>The error kind as stored; empty: <see cref="FleetResult.ErrorKind"/>'s name.</summary>
        public string ErrorKindName { get; set; } = "";

        /// <summary>
        /// The result as read back, without its outputs (the caller sets them, reading blobs as it goes): the command,
        /// the status and error kind parsed, the output hash derived where it wasn't stored (<paramref name="blobHash"/>
        /// gives a blob's SHA-256 by id).
        /// </summary>
        /// <exception cref="HistoryException">A name this build doesn't know (a newer HerdPS recorded it).</exception>
        public FleetResult Complete(string command, long runId, string location, Func<long, byte[]> blobHash)
        {
            string host = Result.HostName;
            Result.Command = command;
            Result.Status = ResultFields.ParseName<FleetStatus>(StatusName, "status", runId, host, location);
            Result.ErrorKind = ResultFields.ParseName<FleetErrorKind>(ErrorKindName, "error kind", runId, host, location);
            if (HashIsDerived) Result.OutputHash = ResultPack.DerivedHash(this, blobHash);
            return Result;
        }
    }
}
