using System;
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
        private readonly MemoryStream _kept = new MemoryStream();
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly object _gate = new object();
        private byte[]? _digest;
        private bool _sealed;

        public OutputCapture(long limit)
        {
            _limit = limit;
        }

        public long TotalBytes { get; private set; }
        public bool Truncated => TotalBytes > _kept.Length;

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

        public void Append(byte[] buffer, int count)
        {
            lock (_gate)
            {
                if (_sealed) return;
                OnChunk?.Invoke(buffer, count);
                _hash.AppendData(buffer, 0, count);
                TotalBytes += count;
                var room = _limit - _kept.Length;
                if (room > 0) _kept.Write(buffer, 0, (int)Math.Min(room, count));
            }
        }

        /// <summary>
        /// Stops taking output. Used when the process has exited but something it left behind (a background
        /// job) still holds the pipe open: what arrives later is not this command's result.
        /// </summary>
        public void Seal()
        {
            lock (_gate) _sealed = true;
        }

        /// <summary>SHA-256 of everything read (not only what was kept).</summary>
        public byte[] Digest()
        {
            lock (_gate)
            {
                _sealed = true;
                return _digest ??= _hash.GetHashAndReset();
            }
        }

        public byte[] KeptBytes()
        {
            lock (_gate) return _kept.ToArray();
        }

        /// <summary>The kept bytes as text. Invalid UTF-8 becomes U+FFFD; the hash keeps the exact bytes.</summary>
        public string Text()
        {
            lock (_gate) return _kept.Length == 0 ? "" : Utf8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length);
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _sealed = true;
                _hash.Dispose();
                _kept.Dispose();
            }
        }

        private static readonly Encoding Utf8 = new UTF8Encoding(false, false);

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
