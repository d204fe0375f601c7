using System;
using System.IO;
using System.Runtime.InteropServices;

namespace HerdPS.Transport
{
    /// <summary>
    /// Creates folders and files only their owner can use (0700 / 0600 on Unix). netstandard2.0 has no API for
    /// Unix modes, so this calls libc's chmod; on Windows the per-user profile folders are already private.
    /// </summary>
    public static class PrivateDirectory
    {
        public static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>
        /// Creates the folder (and any missing parent, e.g. ~/.ssh) owner-only, and makes the folder itself
        /// owner-only if it already existed. Parents that already existed are left as they are.
        /// </summary>
        public static string Ensure(string path)
        {
            var full = Path.GetFullPath(path);
            var missing = new System.Collections.Generic.Stack<string>();
            for (var p = full; !string.IsNullOrEmpty(p) && !Directory.Exists(p); p = Path.GetDirectoryName(p)!)
                missing.Push(p);
            while (missing.Count > 0)
            {
                var dir = missing.Pop();
                Directory.CreateDirectory(dir);
                Restrict(dir, 0x1C0); // 0700
            }
            Restrict(full, 0x1C0);
            return path;
        }

        public static void RestrictFile(string path) => Restrict(path, 0x180); // 0600

        private static void Restrict(string path, int mode)
        {
            if (IsWindows) return;
            if (chmod(path, mode) != 0)
                throw new IOException($"could not make '{path}' private (chmod failed, errno {Marshal.GetLastWin32Error()})");
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(string path, int mode);
    }
}
