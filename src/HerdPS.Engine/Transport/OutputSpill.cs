using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace HerdPS.Transport
{
    /// <summary>
    /// Where a run keeps output past a size instead of memory: a private temporary file per stream. A front end
    /// that streams its results (<c>herd exec</c>) turns this on, so a fleet of hosts printing megabytes each costs
    /// disk, not memory; a front end that hands results to someone who keeps them (the cmdlets) leaves it off.
    /// </summary>
    public sealed class OutputSpill
    {
        /// <summary>Output up to this many bytes per stream stays in memory (one capture chunk).</summary>
        public const long DefaultThreshold = 256 * 1024;

        public OutputSpill(string directory, long threshold = DefaultThreshold)
        {
            if (string.IsNullOrEmpty(directory)) throw new ArgumentException("a spill folder is needed", nameof(directory));
            if (threshold < 0) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the spill threshold can't be negative");
            Directory = directory;
            Threshold = threshold;
        }

        /// <summary>Private (0700) folder the files are created in; each file is unlinked as soon as it is open.</summary>
        public string Directory { get; }
        public long Threshold { get; }

        /// <summary>
        /// Told when a spill file can't be created or written (disk full, no temporary folder). The output is then
        /// kept in memory, within the output cap, as without spilling: nothing is lost, and the user is told why
        /// memory grew. May be called from several threads.
        /// </summary>
        public Action<string>? OnFailure { get; set; }

        /// <summary>
        /// <c>$TMPDIR/herd-&lt;user&gt;</c> (the system's temporary folder when TMPDIR is unset), or $HERD_SPILL_DIR.
        /// </summary>
        public static string DefaultDirectory(Func<string, string?> getEnv)
        {
            var explicitDir = getEnv("HERD_SPILL_DIR");
            if (!string.IsNullOrEmpty(explicitDir)) return explicitDir!;
            var user = Environment.UserName;
            var safe = new StringBuilder();
            foreach (var c in user) safe.Append(char.IsLetterOrDigit(c) || c == '_' || c == '-' || c == '.' ? c : '_');
            return Path.Combine(Path.GetTempPath(), "herd-" + (safe.Length > 0 ? safe.ToString() : "user"));
        }

        private readonly object _gate = new object();
        private bool _directoryReady;

        /// <summary>
        /// A new empty file only this process can reach: created in the private folder, then unlinked at once on
        /// Unix (the open handle keeps it; nothing is left behind even if the process is killed) and delete-on-close
        /// on Windows.
        /// </summary>
        internal FileStream CreateFile()
        {
            lock (_gate)
            {
                if (!_directoryReady)
                {
                    PrivateDirectory.Ensure(Directory);
                    _directoryReady = true;
                }
            }
            var path = Path.Combine(Directory, "out-" + Guid.NewGuid().ToString("N"));
            var options = PrivateDirectory.IsWindows ? FileOptions.DeleteOnClose : FileOptions.None;
            // Unbuffered (a buffer size of 1): each write reaches the OS or throws, so after a failed write the
            // file holds exactly the bytes written before it, and the capture can take them back intact.
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, options);
            if (!PrivateDirectory.IsWindows)
            {
                try { File.Delete(path); }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }
            return file;
        }
    }
}
