using System;
using System.IO;
using System.Text;

namespace HerdPS.Files
{
    /// <summary>
    /// A host's copy of a remote file being written locally as &lt;root&gt;/&lt;host&gt;/&lt;name&gt;: the bytes go to a
    /// hidden temporary name in the same folder and are renamed into place only by <see cref="Commit"/>, so a
    /// transfer that fails or is cancelled never leaves a half-written file under the final name.
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

        /// <summary>The final path a host's copy gets (no file is created).</summary>
        public static string PathFor(string root, string hostName, string remotePath) =>
            Path.Combine(Path.GetFullPath(root), SafeName(hostName), SafeName(RemoteBaseName(remotePath)));

        /// <summary>Starts a copy. Throws IOException when <paramref name="overwrite"/> is off and the final name exists.</summary>
        public static LocalCopy Begin(string root, string hostName, string remotePath, bool overwrite)
        {
            var finalPath = PathFor(root, hostName, remotePath);
            var folder = Path.GetDirectoryName(finalPath)!;
            Directory.CreateDirectory(folder);
            if (!overwrite && File.Exists(finalPath)) throw new IOException($"{finalPath} exists (use force to replace it)");
            var temp = Path.Combine(folder, "." + Path.GetFileName(finalPath) + ".herd-" + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024);
            return new LocalCopy(finalPath, temp, stream);
        }

        public void Write(byte[] buffer, int count)
        {
            if (_stream == null) throw new InvalidOperationException("the copy is already finished");
            _stream.Write(buffer, 0, count);
            BytesWritten += count;
        }

        /// <summary>Flushes and renames the temporary file to the final name (replacing an older copy when allowed).</summary>
        public void Commit(bool overwrite)
        {
            if (_stream == null) throw new InvalidOperationException("the copy is already finished");
            _stream.Flush(true);
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
