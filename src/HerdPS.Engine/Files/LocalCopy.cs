using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using HerdPS.Transport;

namespace HerdPS.Files
{
    /// <summary>
    /// A host's copy of a remote file being written locally as &lt;root&gt;/&lt;host&gt;/&lt;name&gt;: the bytes go to a
    /// hidden partial file in the same folder and are renamed into place only by <see cref="Commit"/>, so a
    /// transfer that fails or is cancelled never leaves a half-written file under the final name.
    /// <para>
    /// The partial file is created 0600 (O_EXCL) and named <c>.&lt;name&gt;.herd-partial-&lt;pid&gt;-&lt;random&gt;</c>, so
    /// one left by a process that was killed (SIGKILL leaves no chance to clean up) is recognisably ours and whose:
    /// <see cref="Begin"/> removes those of processes that are gone. The final copy gets the remote file's
    /// permission bits masked by the umask, never more open than the remote file (0600 when the host couldn't say).
    /// </para>
    /// Not thread-safe; one per host.
    /// </summary>
    public sealed class LocalCopy : IDisposable
    {
        private FileStream? _stream;
        private bool _done;

        private LocalCopy(string finalPath, string tempPath, FileStream stream)
        {
            FinalPath = finalPath;
            TempPath = tempPath;
            _stream = stream;
        }

        public string FinalPath { get; }
        public string TempPath { get; }
        public long BytesWritten { get; private set; }

        private const string PartialMarker = ".herd-partial-";
        private static readonly Regex PartialName = new Regex(@"^\..*\.herd-partial-(\d{1,10})-[0-9a-f]{12}$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
        private static readonly int OwnPid = Process.GetCurrentProcess().Id;

        /// <summary>The final path a host's copy gets (no file is created).</summary>
        public static string PathFor(string root, string hostName, string remotePath) =>
            Path.Combine(Path.GetFullPath(root), SafeName(hostName), SafeName(RemoteBaseName(remotePath)));

        /// <summary>
        /// Hosts whose copies would land on the same local path (their names differ only in characters that
        /// <see cref="SafeName"/> maps to '_', or are ".." and "_..", or differ only in case on a file system that
        /// ignores case): each such host with the sentence that refuses it, naming the other hosts and the path.
        /// Copying them would keep one host's file under the other's name, or lose one.
        /// </summary>
        public static IReadOnlyDictionary<string, string> Collisions(string root, IEnumerable<string> hostNames, string remotePath)
        {
            var comparer = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
            var refused = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var group in hostNames.Distinct(StringComparer.Ordinal).GroupBy(h => PathFor(root, h, remotePath), comparer).Where(g => g.Count() > 1))
            {
                var hosts = group.ToList();
                foreach (var host in hosts)
                {
                    var others = string.Join(", ", hosts.Where(h => h != host).Select(h => $"'{h}'"));
                    refused[host] = $"'{host}' and {others} would be copied to the same local file {group.Key} " +
                                    "(host names become folder names with '/', '\\', ':' and other unsafe characters as '_'); " +
                                    "nothing was copied for any of them. Copy them one at a time into different folders.";
                }
            }
            return refused;
        }

        /// <summary>
        /// Starts a copy: removes stale partial files in the host's folder, then creates this one.
        /// Throws IOException when <paramref name="overwrite"/> is off and the final name exists.
        /// </summary>
        public static LocalCopy Begin(string root, string hostName, string remotePath, bool overwrite)
        {
            var finalPath = PathFor(root, hostName, remotePath);
            var folder = Path.GetDirectoryName(finalPath)!;
            Directory.CreateDirectory(folder);
            if (!overwrite && File.Exists(finalPath)) throw new IOException($"{finalPath} exists (use force to replace it)");
            RemoveStalePartials(folder);
            var temp = Path.Combine(folder, "." + Path.GetFileName(finalPath) + PartialMarker + OwnPid.ToString(System.Globalization.CultureInfo.InvariantCulture)
                                            + "-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            var stream = PrivateDirectory.IsWindows
                ? new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024)
                : UnixFiles.CreateNewFile(temp, UnixFiles.OwnerOnlyFile, FileAccess.Write, 64 * 1024);
            return new LocalCopy(finalPath, temp, stream);
        }

        public void Write(byte[] buffer, int count)
        {
            if (_stream == null) throw new InvalidOperationException("the copy is already finished");
            _stream.Write(buffer, 0, count);
            BytesWritten += count;
        }

        /// <summary>
        /// Flushes, gives the file <paramref name="remoteMode"/> masked by the umask (0600 when null), and renames it
        /// to the final name (replacing an older copy when allowed).
        /// </summary>
        /// <param name="remoteMode">The remote file's permission bits (see <see cref="RemoteFileScripts.ReportedMode"/>).</param>
        public void Commit(bool overwrite, int? remoteMode = null)
        {
            if (_stream == null) throw new InvalidOperationException("the copy is already finished");
            _stream.Flush(true);
            if (!PrivateDirectory.IsWindows)
                UnixFiles.ChangeMode(_stream.SafeFileHandle, (remoteMode ?? UnixFiles.OwnerOnlyFile) & 0x1FF & ~UnixFiles.Umask());
            _stream.Dispose();
            _stream = null;
            if (File.Exists(FinalPath))
            {
                if (!overwrite) throw new IOException($"{FinalPath} exists (use force to replace it)");
                File.Replace(TempPath, FinalPath, null); // one rename on Unix: readers see the old or the new file, never half
            }
            else File.Move(TempPath, FinalPath);
            _done = true;
        }

        /// <summary>Removes the temporary file unless the copy was committed.</summary>
        public void Dispose()
        {
            _stream?.Dispose();
            _stream = null;
            if (!_done)
            {
                try { File.Delete(TempPath); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
                _done = true;
            }
        }

        /// <summary>
        /// Deletes partial files in <paramref name="folder"/> that a herd process left when it was killed: named as
        /// ours, regular files of this user (never someone else's), and whose process is gone, or is a newer process
        /// that got the same pid after the file was last written. Partial files of live pulls are left alone.
        /// Returns the paths removed.
        /// </summary>
        public static IReadOnlyList<string> RemoveStalePartials(string folder)
        {
            var removed = new List<string>();
            string[] names;
            try { names = Directory.GetFiles(folder, "." + "*" + PartialMarker + "*"); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return removed; }
            foreach (var path in names)
            {
                var match = PartialName.Match(Path.GetFileName(path));
                if (!match.Success || !int.TryParse(match.Groups[1].Value, out var pid)) continue;
                try
                {
                    if (!PrivateDirectory.IsWindows)
                    {
                        if (!UnixFiles.TryGetStatus(path, out var status) || !status.IsRegularFile || status.OwnerId != UnixFiles.EffectiveUserId) continue;
                    }
                    if (!ProcessIsGone(pid, File.GetLastWriteTimeUtc(path))) continue;
                    File.Delete(path);
                    removed.Add(path);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is PlatformNotSupportedException)
                {
                    // a partial that can't be checked or removed is left as it was
                }
            }
            return removed;
        }

        private static bool ProcessIsGone(int pid, DateTime lastWriteUtc)
        {
            try
            {
                using (var process = Process.GetProcessById(pid))
                {
                    if (process.HasExited) return true;
                    // A pid is reused: a process that started after the partial was last written is not its writer.
                    return process.StartTime.ToUniversalTime() > lastWriteUtc.AddSeconds(1);
                }
            }
            catch (ArgumentException) { return true; }          // no such process
            catch (InvalidOperationException) { return true; }  // it exited meanwhile
            catch (Exception) { return false; }                 // can't tell (access denied): keep the file
        }

        /// <summary>The last path component of a remote path (trailing slashes ignored); refuses one that names no file.</summary>
        public static string RemoteBaseName(string remotePath)
        {
            var trimmed = remotePath.TrimEnd('/');
            var name = trimmed.Substring(trimmed.LastIndexOf('/') + 1);
            if (name.Length == 0 || name == "." || name == "..") throw new ArgumentException($"'{remotePath}' does not name a file");
            return name;
        }

        /// <summary>
        /// A host or file name as one safe local path component: path separators, control characters and the
        /// characters Windows forbids become '_', and "." / ".." can't escape the folder.
        /// </summary>
        public static string SafeName(string name)
        {
            var invalid = Path.GetInvalidFileNameChars();
            var sb = new StringBuilder(name.Length);
            foreach (var c in name)
                sb.Append(char.IsControl(c) || c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|'
                          || Array.IndexOf(invalid, c) >= 0 ? '_' : c);
            var s = sb.ToString();
            if (s.Length == 0 || s == "." || s == "..") s = "_" + s;
            return s;
        }
    }
}
