using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport
{
    /// <summary>
    /// Reads one output stream to its end, keeping at most <c>limit</c> bytes and hashing every byte, so memory
    /// stays bounded at any output size while identical outputs still hash alike.
    /// </summary>
    public sealed class OutputCapture : IDisposable
    {
        private readonly long _limit;
        // Kept bytes live in fixed-size chunks, not a MemoryStream: a MemoryStream doubles its array as it grows,
        // so a 5 MiB output held an 8 MiB array plus ~8 MiB of discarded smaller ones on the large-object heap
        // per host (bench/results.md).
        private const int ChunkSize = 64 * 1024;
        private readonly List<byte[]> _chunks = new List<byte[]>();
        private long _keptLength;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly object _gate = new object();
        private byte[]? _digest;
        private bool _sealed;

        public OutputCapture(long limit)
        {
            _limit = limit;
        }

        /// <summary>
        /// Where kept output past <see cref="OutputSpill.Threshold"/> goes instead of memory; null keeps it all in
        /// memory (within the cap). Set before the first byte arrives.
        /// </summary>
        public OutputSpill? Spill { get; set; }

        // Once the kept bytes pass the spill threshold they move to this file and later ones are appended to it.
        private FileStream? _spillFile;
        private bool _spillFailed;

        /// <summary>True when the kept output is in a spill file rather than memory.</summary>
        public bool IsSpilled
        {
            get { lock (_gate) return _spillFile != null; }
        }

        /// <summary>
        /// Watch for the remote wrapper's markers (<see cref="RemoteCommand"/>): its start marker near the beginning
        /// of this stream (the first bytes are held back until it is found or can no longer come), and its exit
        /// trailer at the very end (the last bytes are held back until the end). Both are removed from the output
        /// and the hash and reported as <see cref="SawStartMarker"/>, <see cref="ReportedExitCode"/> and
        /// <see cref="ReportedStop"/>.
        /// </summary>
        public bool ExpectWrapperMarkers { get; set; }

        /// <summary>The wrapper started: the command was started (or about to be) on the host.</summary>
        public bool SawStartMarker { get; private set; }

        /// <summary>The exit code the remote wrapper reported, or null when no trailer ended the stream.</summary>
        public int? ReportedExitCode { get; private set; }

        /// <summary>How the wrapper ended the command when it was told to stop (None when it ended by itself).</summary>
        public EndSignal ReportedStop { get; private set; }

        /// <summary>The wrapper's trailer said the login shell is /bin/sh (see <see cref="RemoteCommand.Wrap"/>).</summary>
        public bool ReportedLoginShellIsSh { get; private set; }

        // ssh's own messages (LogLevel=ERROR) may come before the wrapper's first line; past this many bytes without
        // the marker, it is not coming.
        private const int HeadWindow = 4096;
        private static readonly byte[] StartMarkerBytes = Encoding.ASCII.GetBytes(RemoteCommand.StartMarker);
        private byte[]? _head;
        private int _headLength;
        private bool _headDone;

        private const int TailWindow = 48;
        private readonly byte[] _tail = new byte[TailWindow * 2];
        private int _tailLength;

        public long TotalBytes { get; private set; }
        public bool Truncated => TotalBytes > _keptLength;

        /// <summary>Optional observer of every chunk as it arrives (e.g. streaming a file to disk); called before capping.</summary>
        public Action<byte[], int>? OnChunk { get; set; }

        public async Task PumpAsync(Stream source, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int n;
                try
                {
                    n = await source.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectDisposedException) { break; }
                catch (IOException) { break; }
                if (n <= 0) break;
                Append(buffer, n);
            }
        }

        public void Append(byte[] buffer, int count) => Append(buffer, 0, count);

        /// <summary>Takes <paramref name="count"/> bytes at <paramref name="offset"/>; the buffer is not kept.</summary>
        public void Append(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_sealed) return;
                if (!ExpectWrapperMarkers)
                {
                    Commit(buffer, offset, count);
                    return;
                }
                if (!_headDone)
                {
                    AppendHead(buffer, offset, offset + count);
                    return;
                }
                AppendTail(buffer, offset, count);
            }
        }

        private void AppendHead(byte[] buffer, int offset, int end)
        {
            _head ??= new byte[HeadWindow + StartMarkerBytes.Length];
            while (offset < end && !_headDone)
            {
                var take = Math.Min(end - offset, _head.Length - _headLength);
                Buffer.BlockCopy(buffer, offset, _head, _headLength, take);
                _headLength += take;
                offset += take;
                var at = IndexOf(_head, _headLength, StartMarkerBytes);
                if (at >= 0)
                {
                    SawStartMarker = true;
                    EndHead(at, StartMarkerBytes.Length);
                }
                else if (_headLength >= HeadWindow) EndHead(_headLength, 0);
            }
            if (offset < end) AppendTail(buffer, offset, end - offset);
        }

        /// <summary>Passes the held-back head on, without the <paramref name="skip"/> marker bytes at <paramref name="at"/>.</summary>
        private void EndHead(int at, int skip)
        {
            _headDone = true;
            var head = _head!;
            var length = _headLength;
            _head = null;
            _headLength = 0;
            AppendTail(head, 0, at);
            AppendTail(head, at + skip, length - at - skip);
        }

        private static int IndexOf(byte[] haystack, int length, byte[] needle)
        {
            for (var i = 0; i + needle.Length <= length; i++)
            {
                var j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        /// <summary>Keeps the last TailWindow bytes back (they may be the trailer); everything before them is final output.</summary>
        private void AppendTail(byte[] buffer, int offset, int count)
        {
            {
                count += offset;
                while (offset < count)
                {
                    var take = Math.Min(count - offset, _tail.Length - _tailLength);
                    Buffer.BlockCopy(buffer, offset, _tail, _tailLength, take);
                    _tailLength += take;
                    offset += take;
                    if (_tailLength > TailWindow)
                    {
                        var release = _tailLength - TailWindow;
                        Commit(_tail, 0, release);
                        Buffer.BlockCopy(_tail, release, _tail, 0, TailWindow);
                        _tailLength = TailWindow;
                    }
                }
            }
        }

        private void Commit(byte[] buffer, int offset, int count)
        {
            if (count <= 0) return;
            if (OnChunk != null)
            {
                if (offset == 0) OnChunk(buffer, count);
                else
                {
                    var copy = new byte[count];
                    Buffer.BlockCopy(buffer, offset, copy, 0, count);
                    OnChunk(copy, count);
                }
            }
            _hash.AppendData(buffer, offset, count);
            TotalBytes += count;
            var take = (int)Math.Max(0, Math.Min(_limit - _keptLength, count));
            if (take > 0 && ShouldSpill(take))
            {
                try
                {
                    _spillFile!.Write(buffer, offset, take);
                    _keptLength += take;
                    return;
                }
                catch (IOException e)
                {
                    // Disk full mid-output: what is in the file so far comes back into memory, and the rest stays there.
                    SpillFailed(e);
                    if (_spillFile != null) Unspill();
                }
            }
            AppendKept(buffer, offset, take);
        }

        private bool ShouldSpill(int take)
        {
            if (_spillFile != null) return true;
            if (Spill == null || _spillFailed || _keptLength + take <= Spill.Threshold) return false;
            try
            {
                _spillFile = Spill.CreateFile();
                foreach (var (chunk, length) in KeptChunks()) _spillFile.Write(chunk, 0, length);
                _chunks.Clear();
                return true;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The chunks are still all here (they are cleared only once the file holds them): drop the file.
                SpillFailed(e);
                _spillFile?.Dispose();
                _spillFile = null;
                return false;
            }
        }

        private void SpillFailed(Exception e)
        {
            _spillFailed = true;
            try { Spill?.OnFailure?.Invoke($"could not keep large output in a temporary file in {Spill.Directory} ({e.Message}); keeping it in memory instead"); }
            catch (Exception) { /* a front end's warning must not break the capture */ }
        }

        /// <summary>Brings what reached the spill file back into memory chunks and drops the file.</summary>
        private void Unspill()
        {
            var file = _spillFile!;
            _spillFile = null;
            var kept = _keptLength;
            _keptLength = 0;
            _chunks.Clear();
            try
            {
                file.Flush();
                file.Position = 0;
                var buffer = new byte[ChunkSize];
                long left = kept;
                while (left > 0)
                {
                    var n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (n <= 0) break;
                    AppendKept(buffer, 0, n);
                    left -= n;
                }
            }
            catch (IOException) { /* the file can't even be read back: what it held is lost, and the warning said so */ }
            finally { file.Dispose(); }
        }

        private void AppendKept(byte[] buffer, int offset, int take)
        {
            while (take > 0)
            {
                var used = (int)(_keptLength % ChunkSize);
                if (used == 0) _chunks.Add(new byte[ChunkSize]);
                var n = Math.Min(take, ChunkSize - used);
                Buffer.BlockCopy(buffer, offset, _chunks[_chunks.Count - 1], used, n);
                offset += n;
                take -= n;
                _keptLength += n;
            }
        }

        private IEnumerable<(byte[] chunk, int length)> KeptChunks()
        {
            long at = 0;
            foreach (var chunk in _chunks)
            {
                var n = (int)Math.Min(ChunkSize, _keptLength - at);
                yield return (chunk, n);
                at += n;
            }
        }

        /// <summary>
        /// After the stream has ended: hands the spill file over as a <see cref="CapturedOutput"/> the caller now
        /// owns (null when the output stayed in memory; read it with <see cref="Text"/>).
        /// </summary>
        public CapturedOutput? TakeSpilled()
        {
            lock (_gate)
            {
                if (!_sealed) FinishTail();
                _sealed = true;
                if (_spillFile == null) return null;
                try { _spillFile.Flush(); }
                catch (IOException e)
                {
                    // The last bytes could not reach the disk: keep what can be read back, in memory. What could
                    // not is missing, so the result says Truncated, and OnFailure has said why.
                    SpillFailed(e);
                    Unspill();
                    return null;
                }
                var file = _spillFile;
                _spillFile = null;
                return new CapturedOutput(file, _keptLength);
            }
        }

        /// <summary>Takes the trailer off the held-back tail, if it is there, and commits the rest.</summary>
        private void FinishTail()
        {
            if (ExpectWrapperMarkers && !_headDone && _head != null) EndHead(_headLength, 0);
            _headDone = true;
            if (_tailLength == 0) return;
            var text = Encoding.ASCII.GetString(_tail, 0, _tailLength);
            var at = text.LastIndexOf(RemoteCommand.ExitTrailerPrefix, StringComparison.Ordinal);
            if (at >= 0 && RemoteCommand.TryParseTrailer(text.Substring(at), out var code, out var stop, out var loginShellIsSh))
            {
                ReportedExitCode = code;
                ReportedStop = stop;
                ReportedLoginShellIsSh = loginShellIsSh;
                Commit(_tail, 0, at);
            }
            else Commit(_tail, 0, _tailLength);
            _tailLength = 0;
        }

        /// <summary>
        /// Stops taking output. Used when the process has exited but something it left behind (a background
        /// job) still holds the pipe open: what arrives later is not this command's result.
        /// </summary>
        public void Seal()
        {
            lock (_gate)
            {
                if (_sealed) return;
                FinishTail();
                _sealed = true;
            }
        }

        /// <summary>SHA-256 of everything read (not only what was kept).</summary>
        public byte[] Digest()
        {
            lock (_gate)
            {
                if (!_sealed) FinishTail();
                _sealed = true;
                return _digest ??= _hash.GetHashAndReset();
            }
        }

        public byte[] KeptBytes()
        {
            lock (_gate) return Contiguous();
        }

        private byte[] Contiguous()
        {
            // Spilled output is read through the CapturedOutput that TakeSpilled hands over, never copied whole.
            if (_spillFile != null) throw new InvalidOperationException("this output is in a spill file; take it with TakeSpilled()");
            var all = new byte[_keptLength];
            var at = 0;
            foreach (var (chunk, length) in KeptChunks())
            {
                Buffer.BlockCopy(chunk, 0, all, at, length);
                at += length;
            }
            return all;
        }

        /// <summary>The kept bytes as text. Invalid UTF-8 becomes U+FFFD; the hash keeps the exact bytes.</summary>
        public string Text()
        {
            lock (_gate)
            {
                if (_keptLength == 0) return "";
                if (_chunks.Count == 1) return Utf8.GetString(_chunks[0], 0, (int)_keptLength);
                return Utf8.GetString(Contiguous());
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _sealed = true;
                _hash.Dispose();
                _chunks.Clear();
                _spillFile?.Dispose();
                _spillFile = null;
            }
        }

        private static Encoding Utf8 => OutputText.Utf8;

        /// <summary>
        /// The contract's OutputHash: SHA-256 over the digests of stdout and stderr and the exit code, in that
        /// order, as lowercase hex. Two hosts hash alike exactly when all three are identical.
        /// </summary>
        public static string CombineHash(byte[] stdoutDigest, byte[] stderrDigest, int? exitCode)
        {
            using var sha = SHA256.Create();
            var exit = Encoding.ASCII.GetBytes(exitCode.HasValue ? "exit:" + exitCode.Value : "exit:none");
            var all = new byte[stdoutDigest.Length + stderrDigest.Length + exit.Length];
            Buffer.BlockCopy(stdoutDigest, 0, all, 0, stdoutDigest.Length);
            Buffer.BlockCopy(stderrDigest, 0, all, stdoutDigest.Length, stderrDigest.Length);
            Buffer.BlockCopy(exit, 0, all, stdoutDigest.Length + stderrDigest.Length, exit.Length);
            return ToHex(sha.ComputeHash(all));
        }

        /// <summary>OutputHash of already-captured text (history, local rebuilds).</summary>
        public static string HashOf(string stdout, string stderr, int? exitCode)
        {
            using var sha = SHA256.Create();
            return CombineHash(sha.ComputeHash(Utf8.GetBytes(stdout)), sha.ComputeHash(Utf8.GetBytes(stderr)), exitCode);
        }

        public static string ToHex(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) sb.Append(b.ToString("x2"));
            return sb.ToString();
        }
    }
}
