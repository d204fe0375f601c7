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

        /// <summary>A spill into <paramref name="directory"/>, as configured: used only if it is private (see <see cref="PrivateDirectory.EnsureConfigured"/>).</summary>
        public OutputSpill(string directory, long threshold = DefaultThreshold) : this(directory, threshold, configured: true)
        {
        }

        private OutputSpill(string directory, long threshold, bool configured)
        {
            if (string.IsNullOrEmpty(directory)) throw new ArgumentException("a spill folder is needed", nameof(directory));
            if (threshold < 0) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the spill threshold can't be negative");
            Directory = directory;
            Threshold = threshold;
            IsConfigured = configured;
        }

        /// <summary>
        /// The spill a front end uses: into $HERD_SPILL_DIR when it is set, checked now, so a folder that is not
        /// private stops the command before anything runs; else into <c>$TMPDIR/herd-&lt;user&gt;</c>, created when
        /// first needed, or a fresh private folder if that one is not private (see <see cref="PrivateDirectory.Notice"/>).
        /// </summary>
        /// <exception cref="PrivateDirectoryException">$HERD_SPILL_DIR names a folder that is not private.</exception>
        public static OutputSpill ForEnvironment(Func<string, string?> getEnv, long threshold = DefaultThreshold)
        {
            if (getEnv == null) throw new ArgumentNullException(nameof(getEnv));
            var explicitDir = getEnv(SpillDirectoryVariable);
            var configured = !string.IsNullOrEmpty(explicitDir);
            var spill = new OutputSpill(DefaultDirectory(getEnv), threshold, configured);
            if (configured) spill.PrepareFolder();
            return spill;
        }

        /// <summary>The environment variable that names the spill folder.</summary>
        public const string SpillDirectoryVariable = "HERD_SPILL_DIR";

        /// <summary>
        /// The folder asked for; the files are created in it once it proved private (0700, ours, not a symbolic
        /// link); each file is unlinked as soon as it is open.
        /// </summary>
        public string Directory { get; }
        public long Threshold { get; }

        /// <summary>
        /// True when the user named the folder: one that is not private is then refused, never replaced. False for
        /// the default folder, which is replaced by a fresh private one when someone else made it first.
        /// </summary>
        public bool IsConfigured { get; }

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
            var explicitDir = getEnv(SpillDirectoryVariable);
            if (!string.IsNullOrEmpty(explicitDir)) return explicitDir!;
            var user = Environment.UserName;
            var safe = new StringBuilder();
            foreach (var c in user) safe.Append(char.IsLetterOrDigit(c) || c == '_' || c == '-' || c == '.' ? c : '_');
            return Path.Combine(Path.GetTempPath(), "herd-" + (safe.Length > 0 ? safe.ToString() : "user"));
        }

        private readonly object _gate = new object();
        private string? _folder;
        private Exception? _folderFailure;

        /// <summary>The folder files are created in: <see cref="Directory"/>, or the fresh one that replaced it.</summary>
        private string PrepareFolder()
        {
            lock (_gate)
            {
                if (_folder != null) return _folder;
                // A folder that was refused stays refused: every host asking again would only repeat the checks.
                if (_folderFailure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_folderFailure).Throw();
                try
                {
                    if (IsConfigured) _folder = PrivateDirectory.EnsureConfigured(Directory, "$" + SpillDirectoryVariable, "large command output");
                    else
                    {
                        var folder = PrivateDirectory.EnsureDefault(Directory, Path.GetFullPath(Directory) + ".", out var notice);
                        if (notice != null)
                        {
                            PrivateDirectory.Tell("the folder for large output " + notice);
                            // Fresh for this process only; its files are unlinked as they are made, so it is empty at exit.
                            AppDomain.CurrentDomain.ProcessExit += (_, __) => { try { System.IO.Directory.Delete(folder); } catch (Exception) { } };
                        }
                        _folder = folder;
                    }
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    _folderFailure = e;
                    throw;
                }
                return _folder;
            }
        }

        /// <summary>
        /// A new empty file only this process can reach: created 0600 with O_EXCL in the private folder (and checked
        /// to be a regular file of ours), then unlinked at once on Unix (the open handle keeps it; nothing is left
        /// behind even if the process is killed), and delete-on-close on Windows.
        /// </summary>
        internal FileStream CreateFile()
        {
            var folder = PrepareFolder();
            var path = Path.Combine(folder, "out-" + Guid.NewGuid().ToString("N"));
            // Unbuffered (a buffer size of 1): each write reaches the OS or throws, so after a failed write the
            // file holds exactly the bytes written before it, and the capture can take them back intact.
            if (PrivateDirectory.IsWindows)
                return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            var file = UnixFiles.CreateNewFile(path, UnixFiles.OwnerOnlyFile, FileAccess.ReadWrite, 1);
            try { File.Delete(path); }
            catch
            {
                file.Dispose();
                throw;
            }
            return file;
        }
    }
}
