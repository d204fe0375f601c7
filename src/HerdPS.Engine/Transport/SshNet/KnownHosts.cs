using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace HerdPS.Transport.SshNet
{
    /// <summary>What known_hosts says about a key a host presented.</summary>
    public enum HostKeyVerdict
    {
        /// <summary>A line for this host lists this key (or the CA that signed its valid host certificate).</summary>
        Known,
        /// <summary>No line for this host lists a key of this type, nor a CA for it.</summary>
        Unknown,
        /// <summary>Lines for this host list other keys: the key changed (or someone intercepts the connection).</summary>
        Changed,
        /// <summary>The key (or its CA) is marked @revoked: never accepted, whatever the policy.</summary>
        Revoked,
        /// <summary>The host presented a certificate that no @cert-authority line for it vouches for, or one not valid for it now.</summary>
        BadCertificate,
    }

    /// <summary>A host's key as presented: its type name and wire blob, and for a certificate, what the certificate says.</summary>
    public sealed class PresentedHostKey
    {
        public PresentedHostKey(string type, byte[] blob)
        {
            Type = type;
            Blob = blob;
        }

        /// <summary>The key's type ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"; for a certificate, the plain key's type).</summary>
        public string Type { get; }
        /// <summary>The public key as it appears base64-decoded in known_hosts.</summary>
        public byte[] Blob { get; }
        /// <summary>Set when the host presented a certificate: the SHA-256 fingerprint of the signing CA's key (base64, no padding, as ssh prints it).</summary>
        public string? CertificateAuthorityFingerprint { get; set; }
        public bool IsHostCertificate { get; set; }
        public IReadOnlyList<string> Principals { get; set; } = Array.Empty<string>();
        public DateTimeOffset ValidAfter { get; set; } = DateTimeOffset.MinValue;
        public DateTimeOffset ValidBefore { get; set; } = DateTimeOffset.MaxValue;
    }

    /// <summary>
    /// OpenSSH's known_hosts, read and checked as ssh does (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): comma-separated
    /// host patterns with <c>*</c>, <c>?</c> and <c>!</c> negation, <c>[host]:port</c> for non-standard ports, hashed
    /// names (<c>|1|salt|HMAC-SHA1</c>), <c>@revoked</c> and <c>@cert-authority</c> markers. Malformed lines are skipped,
    /// as ssh skips them: a hostile file can make a host unknown, never make a wrong key known. Files that can't be
    /// read count as empty. Learning a key (accept-new) appends one line under a lock, so concurrent hosts and
    /// processes never interleave their writes.
    /// </summary>
    public static class KnownHosts
    {
        private const int MaxLineLength = 64 * 1024;
        private const long MaxFileLength = 64L * 1024 * 1024;

        /// <summary>Checks <paramref name="key"/> presented by the host known as <paramref name="lookupName"/> against the files.</summary>
        public static HostKeyVerdict Check(IEnumerable<string> files, string lookupName, PresentedHostKey key, DateTimeOffset now)
        {
            var plainMatch = false;
            var sameTypeOther = false;
            var caMatch = false;
            foreach (var entry in files.SelectMany(Read))
            {
                if (!entry.Matches(lookupName)) continue;
                if (entry.Marker == "@revoked")
                {
                    if (entry.KeyBlob.SequenceEqual(key.Blob) || key.CertificateAuthorityFingerprint != null && Fingerprint(entry.KeyBlob) == key.CertificateAuthorityFingerprint)
                        return HostKeyVerdict.Revoked;
                    continue;
                }
                if (entry.Marker == "@cert-authority")
                {
                    if (key.CertificateAuthorityFingerprint != null && Fingerprint(entry.KeyBlob) == key.CertificateAuthorityFingerprint) caMatch = true;
                    continue;
                }
                if (entry.Marker != null) continue;
                if (entry.KeyBlob.SequenceEqual(key.Blob)) plainMatch = true;
                else if (SameFamily(entry.KeyType, key.Type)) sameTypeOther = true;
            }
            if (key.CertificateAuthorityFingerprint != null)
            {
                // A certificate is accepted through its CA only; ssh falls back to the plain key when the CA is unknown.
                if (caMatch)
                {
                    var valid = key.IsHostCertificate && now >= key.ValidAfter && now < key.ValidBefore
                        && key.Principals.Any(p => string.Equals(p, StripPort(lookupName), StringComparison.OrdinalIgnoreCase));
                    return valid ? HostKeyVerdict.Known : HostKeyVerdict.BadCertificate;
                }
            }
            if (plainMatch) return HostKeyVerdict.Known;
            return sameTypeOther ? HostKeyVerdict.Changed : HostKeyVerdict.Unknown;
        }

        /// <summary>SHA-256 of a key blob as ssh prints it: base64 without padding.</summary>
        public static string Fingerprint(byte[] blob)
        {
            using var sha = SHA256.Create();
            return Convert.ToBase64String(sha.ComputeHash(blob)).TrimEnd('=');
        }

        private static string StripPort(string name)
        {
            if (name.StartsWith("[", StringComparison.Ordinal))
            {
                var close = name.IndexOf("]:", StringComparison.Ordinal);
                if (close > 0) return name.Substring(1, close - 1);
            }
            return name;
        }

        /// <summary>ssh compares a presented key with known keys of the same type (RSA's signature variants are one type).</summary>
        private static bool SameFamily(string a, string b) => Family(a) == Family(b);

        private static string Family(string type) => type.StartsWith("rsa-sha2-", StringComparison.Ordinal) ? "ssh-rsa" : type;

        internal sealed class Entry
        {
            public string? Marker;
            public string[] Patterns = Array.Empty<string>();
            public string KeyType = "";
            public byte[] KeyBlob = Array.Empty<byte>();

            public bool Matches(string name)
            {
                var positive = false;
                foreach (var pattern in Patterns)
                {
                    if (pattern.StartsWith("|1|", StringComparison.Ordinal))
                    {
                        if (HashedMatches(pattern, name)) positive = true;
                        continue;
                    }
                    var negated = pattern.StartsWith("!", StringComparison.Ordinal);
                    var p = negated ? pattern.Substring(1) : pattern;
                    if (!Glob(p, name)) continue;
                    if (negated) return false;
                    positive = true;
                }
                return positive;
            }
        }

        private static bool HashedMatches(string pattern, string name)
        {
            var parts = pattern.Split('|');
            if (parts.Length != 4) return false;
            try
            {
                var salt = Convert.FromBase64String(parts[2]);
                var expected = Convert.FromBase64String(parts[3]);
                if (salt.Length != 20 || expected.Length != 20) return false;
                using var hmac = new HMACSHA1(salt);
                var actual = hmac.ComputeHash(Encoding.UTF8.GetBytes(name));
                return FixedTimeEquals(actual, expected);
            }
            catch (FormatException)
            {
                return false;
            }
        }

        private static bool FixedTimeEquals(byte[] a, byte[] b)
        {
            if (a.Length != b.Length) return false;
            var diff = 0;
            for (var i = 0; i < a.Length; i++) diff |= a[i] ^ b[i];
            return diff == 0;
        }

        /// <summary>ssh's match_pattern: '*' any run, '?' one character, case-insensitive for host names.</summary>
        internal static bool Glob(string pattern, string text)
        {
            int p = 0, t = 0, star = -1, mark = 0;
            while (t < text.Length)
            {
                if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t]))) { p++; t++; }
                else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
                else if (star >= 0) { p = star + 1; t = ++mark; }
                else return false;
            }
            while (p < pattern.Length && pattern[p] == '*') p++;
            return p == pattern.Length;
        }

        /// <summary>The usable lines of one file; a missing, unreadable or oversized file gives none.</summary>
        internal static IEnumerable<Entry> Read(string path)
        {
            string[] lines;
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists || info.Length > MaxFileLength) return Array.Empty<Entry>();
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, new UTF8Encoding(false), false);
                lines = reader.ReadToEnd().Split('\n');
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return Array.Empty<Entry>();
            }
            var entries = new List<Entry>();
            foreach (var line in lines)
                if (TryParse(line, out var entry)) entries.Add(entry!);
            return entries;
        }

        internal static bool TryParse(string line, out Entry? entry)
        {
            entry = null;
            if (line.Length > MaxLineLength) return false;
            var fields = line.Trim().Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0].StartsWith("#", StringComparison.Ordinal)) return false;
            var i = 0;
            string? marker = null;
            if (fields[0].StartsWith("@", StringComparison.Ordinal))
            {
                marker = fields[0];
                if (marker != "@revoked" && marker != "@cert-authority") return false;
                i = 1;
            }
            if (fields.Length < i + 3) return false;
            byte[] blob;
            try { blob = Convert.FromBase64String(fields[i + 2]); }
            catch (FormatException) { return false; }
            // The blob names its own type: a line whose type field disagrees with it, or whose blob is not a whole
            // key (a run of SSH strings that ends exactly at its end), is skipped as ssh skips it.
            if (!string.Equals(BlobType(blob), fields[i + 1], StringComparison.Ordinal) || !IsWholeKey(blob)) return false;
            var patterns = fields[i].Split(',').Where(p => p.Length > 0).ToArray();
            if (patterns.Length == 0) return false;
            entry = new Entry { Marker = marker, Patterns = patterns, KeyType = fields[i + 1], KeyBlob = blob };
            return true;
        }

        /// <summary>A key blob is SSH strings (type, then the key's parts), at least two, ending exactly at its end.</summary>
        internal static bool IsWholeKey(byte[] blob)
        {
            var at = 0;
            var count = 0;
            while (at < blob.Length)
            {
                if (blob.Length - at < 4) return false;
                var length = ((long)blob[at] << 24) | ((long)blob[at + 1] << 16) | ((long)blob[at + 2] << 8) | blob[at + 3];
                at += 4;
                if (length > blob.Length - at) return false;
                at += (int)length;
                count++;
            }
            return count >= 2;
        }

        /// <summary>The type string at the start of an SSH public key blob, or null when the blob is malformed.</summary>
        internal static string? BlobType(byte[] blob)
        {
            if (blob.Length < 4) return null;
            var length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
            if (length <= 0 || length > 64 || 4 + length > blob.Length) return null;
            return Encoding.ASCII.GetString(blob, 4, length);
        }

        private static readonly object AppendGate = new object();

        /// <summary>
        /// Appends "name type base64" to the file (accept-new), creating it and its folder owner-only when missing.
        /// Under an in-process lock and an exclusive lock file beside it, so concurrent hosts of this and other
        /// processes each write a whole line; a key learned meanwhile by someone else is not written twice.
        /// </summary>
        public static void Append(string path, string lookupName, PresentedHostKey key)
        {
            var type = BlobType(key.Blob) ?? key.Type;
            var line = lookupName + " " + type + " " + Convert.ToBase64String(key.Blob) + "\n";
            lock (AppendGate)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(path));
                if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir))
                {
                    if (PrivateDirectory.IsWindows) Directory.CreateDirectory(dir);
                    else UnixFiles.TryCreateDirectory(dir!, 0x1C0);
                }
                // A lock file beside it, left in place: deleting it on close would let two writers lock different files.
                using var lockFile = OpenLock(path + ".herd-lock");
                if (Read(path).Any(e => e.Marker == null && e.Matches(lookupName) && e.KeyBlob.SequenceEqual(key.Blob))) return;
                var exists = File.Exists(path);
                using var stream = exists || PrivateDirectory.IsWindows
                    ? new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)
                    : UnixFiles.CreateNewFile(path, 0x180, FileAccess.Write, 4096);
                if (!exists) stream.Seek(0, SeekOrigin.End);
                var bytes = Encoding.ASCII.GetBytes(line);
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(true);
            }
        }

        private static FileStream OpenLock(string path)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }
}
