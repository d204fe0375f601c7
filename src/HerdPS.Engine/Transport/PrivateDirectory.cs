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

        public static string Ensure(string path)
        {
            Directory.CreateDirectory(path);
            Restrict(path, 0x1C0); // 0700
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
