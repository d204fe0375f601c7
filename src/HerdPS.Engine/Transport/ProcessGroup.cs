using System;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.Transport
{
    /// <summary>
    /// Starts children in a process group of their own and signals that group whole. On Unix each child is
    /// started through <c>setsid</c> (util-linux; it execs in place, so the child keeps its pid and is its group's
    /// leader): a terminal's Ctrl-C, which signals the terminal's foreground group, then reaches herd alone, and herd
    /// decides what becomes of each host; and ending a child is one <c>kill(-pgid)</c> instead of a walk over /proc
    /// for its tree (issue 11 measured 37,138 opens for one Ctrl-C at 50 hosts). Where there is no setsid (macOS,
    /// Windows) children share our group and are ended with the runtime's process-tree kill.
    /// </summary>
    public static class ProcessGroup
    {
        public const int SigKill = 9;
        public const int SigTerm = 15;

        private static readonly Lazy<string?> SetsidPath = new Lazy<string?>(() =>
            PrivateDirectory.IsWindows ? null : FindExecutable("setsid"));

        /// <summary>The launcher that gives a child its own group, or null where none exists.</summary>
        public static string? Launcher => SetsidPath.Value;

        /// <summary>True when children started by <see cref="ChildProcess"/> lead a process group of their own.</summary>
        public static bool Available => Launcher != null;

        /// <summary>Sends a signal to the group a child leads (to the child alone, or the runtime's tree kill for KILL, without one).</summary>
        public static void Signal(Process process, int signal, bool ownGroup)
        {
            try
            {
                if (process.HasExited) return;
                if (ownGroup)
                {
                    kill(-process.Id, signal);
                    return;
                }
                if (signal == SigKill || PrivateDirectory.IsWindows) KillTree(process);
                else kill(process.Id, signal);
            }
            catch (InvalidOperationException) { /* it exited, or never started */ }
        }

        /// <summary>
        /// SIGKILL to every member of a group whose leader has exited (the kernel keeps a group's id from being
        /// reused as a pid while members remain, so this reaches only them). Only for groups we started.
        /// </summary>
        public static void KillGroup(int pgid)
        {
            if (pgid > 1) kill(-pgid, SigKill);
        }

        private static readonly MethodInfo? KillTreeMethod =
            typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);

        /// <summary>
        /// Ends a process and everything it started, by the runtime's tree kill (a walk over every process). Only for
        /// children without a group of their own. <c>Process.Kill(bool)</c> exists on every runtime that hosts us
        /// on Unix (.NET Core 3+) but not in netstandard2.0; on .NET Framework the plain Kill is the fallback.
        /// </summary>
        public static void KillTree(Process process)
        {
            try
            {
                if (process.HasExited) return;
                if (KillTreeMethod != null) KillTreeMethod.Invoke(process, new object[] { true });
                else process.Kill();
            }
            catch (TargetInvocationException) { /* it exited while we were killing it */ }
            catch (InvalidOperationException) { /* it exited, or never started */ }
            catch (System.ComponentModel.Win32Exception) { /* access denied on an exiting process */ }
        }

        /// <summary>The full path of an executable: as given when it names a path, else the first match on PATH.</summary>
        public static string? FindExecutable(string name)
        {
            if (name.IndexOf('/') >= 0 || name.IndexOf('\\') >= 0) return File.Exists(name) ? name : null;
            var path = Environment.GetEnvironmentVariable("PATH") ?? "";
            foreach (var dir in path.Split(Path.PathSeparator))
            {
                if (dir.Length == 0) continue;
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate) && (PrivateDirectory.IsWindows || access(candidate, 1 /* X_OK */) == 0)) return candidate;
            }
            return null;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);

        [DllImport("libc", SetLastError = true)]
        private static extern int access(string path, int mode);
    }
}
