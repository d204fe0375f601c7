using System;
using System.IO;

namespace HerdPS.Tests.Inventory
{
    /// <summary>
    /// A real, small file system (a tmpfs mounted inside a temporary folder; root, as CI runs) that a test can fill
    /// to the last byte: disk-full behaviour is tested against the kernel's own ENOSPC, not a simulated one.
    /// </summary>
    internal sealed class SmallDisk : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();
        private string? _filler;

        public SmallDisk(string size)
        {
            Path = System.IO.Path.Combine(_dir.Path, "small-disk");
            Directory.CreateDirectory(Path);
            Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", Path);
        }

        public string Path { get; }

        /// <summary>Fills the disk with a file of zeros until the kernel says there is no space left, keeping about <paramref name="keepBytes"/> free.</summary>
        public void Fill(long keepBytes = 0)
        {
            _filler ??= System.IO.Path.Combine(Path, "filler-" + Guid.NewGuid().ToString("N"));
            var free = new DriveInfo(Path).AvailableFreeSpace;
            using var file = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 1);
            var block = new byte[4096];
            try
            {
                for (long written = 0; keepBytes == 0 || written + block.Length <= free - keepBytes; written += block.Length)
                    file.Write(block, 0, block.Length);
            }
            catch (IOException e) when (e.HResult == 28 || e.Message.Contains("No space left"))
            {
                // full: exactly what was asked for when keepBytes is 0
            }
        }

        /// <summary>Frees what <see cref="Fill"/> took.</summary>
        public void Free()
        {
            if (_filler != null) File.Delete(_filler);
            _filler = null;
        }

        public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

        public void Dispose()
        {
            try { Run("umount", Path); }
            finally { _dir.Dispose(); }
        }

        private static void Run(string file, params string[] args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{file} {string.Join(" ", args)}: {err} (these tests run as root, as CI does)");
        }
    }
}
