using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.History
{
    /// <summary>
    /// Creates the history folder and file readable by their owner only (0700 / 0600 on Unix), because run output
    /// often holds things other local users shouldn't read. SQLite gives its -wal and -shm files the database
    /// file's mode, so they follow. On Windows the per-user %LOCALAPPDATA% ACL already does this.
    /// netstandard2.0 has no API for Unix modes: we use <c>File.SetUnixFileMode</c> when the runtime has it
    /// (.NET 7+, i.e. PowerShell 7.3+) and fall back to libc's chmod.
    /// </summary>
    internal static class OwnerOnlyAccess
    {
        private const int OwnerReadWrite = 0x180;        // 0600
        private const int OwnerReadWriteExecute = 0x1C0; // 0700

        private static readonly bool IsUnix = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        // File.SetUnixFileMode(string, UnixFileMode), looked up once; null on runtimes before .NET 7.
        private static readonly MethodInfo? SetUnixFileMode = typeof(File).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .FirstOrDefault(m => m.Name == "SetUnixFileMode"
                                 && m.GetParameters() is { Length: 2 } p
                                 && p[0].ParameterType == typeof(string)
                                 && p[1].ParameterType.IsEnum);

        /// <summary>Creates <paramref name="directory"/> (and missing parents); the folder itself gets 0700.</summary>
        /// <remarks>Only a folder we create is restricted: an existing one (say /tmp) is the user's business.</remarks>
        public static void CreateDirectory(string directory)
        {
            if (Directory.Exists(directory)) return;
            Directory.CreateDirectory(directory);
            Restrict(directory, OwnerReadWriteExecute);
        }

        /// <summary>
        /// Creates an empty file with mode 0600 if none exists, so SQLite opens a file that was private from its
        /// first byte (an empty file is a valid empty database). Losing a creation race to another process is fine.
        /// </summary>
        public static void CreateFile(string path)
        {
            if (File.Exists(path)) return;
            try
            {
                using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite)) { }
            }
            catch (IOException) when (File.Exists(path))
            {
                return; // another process created it first; it restricted it too
            }
            Restrict(path, OwnerReadWrite);
        }

        private static void Restrict(string path, int mode)
        {
            if (!IsUnix) return;
            if (SetUnixFileMode != null)
            {
                var unixFileMode = Enum.ToObject(SetUnixFileMode.GetParameters()[1].ParameterType, mode);
                try
                {
                    SetUnixFileMode.Invoke(null, new[] { path, unixFileMode });
                }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    throw new HistoryException(path, $"can't make it private to its owner: {e.InnerException.Message}", e.InnerException);
                }
                return;
            }
            if (chmod(path, (uint)mode) != 0)
                throw new HistoryException(path, $"can't make it private to its owner: chmod {Convert.ToString(mode, 8)} failed (errno {Marshal.GetLastWin32Error()}).");
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(string path, uint mode);
    }
}
