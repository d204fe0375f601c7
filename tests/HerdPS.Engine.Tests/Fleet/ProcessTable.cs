using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;

namespace HerdPS.Tests.Fleet
{
    /// <summary>One live process as /proc saw it at the moment of the snapshot.</summary>
    /// <param name="State">The state letter from /proc/PID/stat ('R', 'S', 'T', 'Z', ...).</param>
    /// <param name="CommandLine">argv joined by spaces; empty for zombies and kernel threads.</param>
    public sealed record ProcessInfo(int Pid, int ParentPid, char State, string Name, string CommandLine)
    {
        public bool IsZombie => State == 'Z';
    }

    /// <summary>
    /// The live process table, read from /proc. Tests use it to prove that nothing is left behind
    /// (no ssh child, no remote command) and the fleet uses it to kill process trees: .NET offers
    /// neither a parent pid nor a portable process list on Linux.
    /// </summary>
    public static class ProcessTable
    {
        public const int SigKill = 9;
        public const int SigStop = 19;

        public static IReadOnlyList<ProcessInfo> Snapshot()
        {
            var result = new List<ProcessInfo>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    continue;
                }
                var info = TryRead(pid);
                if (info != null)
                {
                    result.Add(info);
                }
            }
            return result;
        }

        public static IReadOnlyList<ProcessInfo> Find(Func<ProcessInfo, bool> predicate) =>
            Snapshot().Where(predicate).ToList();

        /// <summary>Live (non-zombie) processes whose command line contains <paramref name="token"/>.</summary>
        public static IReadOnlyList<ProcessInfo> FindByCommandLine(string token) =>
            Find(p => !p.IsZombie && p.CommandLine.Contains(token, StringComparison.Ordinal) && p.Pid != Environment.ProcessId);

        public static ProcessInfo? TryGet(int pid) => TryRead(pid);

        public static bool IsAlive(int pid)
        {
            var p = TryRead(pid);
            return p != null && !p.IsZombie;
        }

        /// <summary>All descendants of <paramref name="pid"/> (children, grandchildren, ...) in one snapshot.</summary>
        public static IReadOnlyList<ProcessInfo> Descendants(int pid, IReadOnlyList<ProcessInfo>? snapshot = null)
        {
            snapshot ??= Snapshot();
            var byParent = snapshot.ToLookup(p => p.ParentPid);
            var result = new List<ProcessInfo>();
            var queue = new Queue<int>();
            queue.Enqueue(pid);
            while (queue.Count > 0)
            {
                foreach (var child in byParent[queue.Dequeue()])
                {
                    result.Add(child);
                    queue.Enqueue(child.Pid);
                }
            }
            return result;
        }

        /// <summary>
        /// Polls until no live process matches, or the deadline passes. Returns the survivors (empty = gone).
        /// A remote command ends a moment after its connection does, so tests need a deadline, not a snapshot.
        /// </summary>
        public static IReadOnlyList<ProcessInfo> WaitUntilGone(Func<ProcessInfo, bool> predicate, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var left = Find(p => !p.IsZombie && predicate(p));
                if (left.Count == 0 || deadline.Elapsed > timeout)
                {
                    return left;
                }
                Thread.Sleep(50);
            }
        }

        /// <summary>Sends a signal; false when the process is already gone. .NET only offers SIGKILL of a Process.</summary>
        public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

        /// <summary>
        /// SIGKILLs <paramref name="rootPid"/> and every descendant. Stops the tree first (SIGSTOP, repeated
        /// until no new member appears) so that nothing can fork or be reparented away from the tree
        /// between the snapshot and the kill. sshd puts each session in its own session/process group,
        /// so killing a process group would miss them.
        /// </summary>
        public static void KillTree(int rootPid)
        {
            var stopped = new HashSet<int>();
            if (!Signal(rootPid, SigStop))
            {
                return;
            }
            stopped.Add(rootPid);
            while (true)
            {
                var fresh = Descendants(rootPid).Where(p => !p.IsZombie && stopped.Add(p.Pid)).ToList();
                if (fresh.Count == 0)
                {
                    break;
                }
                foreach (var p in fresh)
                {
                    Signal(p.Pid, SigStop);
                }
            }
            foreach (var pid in stopped)
            {
                Signal(pid, SigKill);
            }
        }

        private static ProcessInfo? TryRead(int pid)
        {
            try
            {
                // Format: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split at the last ')'.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var name = stat.Substring(open + 1, close - open - 1);
                var rest = stat.Substring(close + 2).Split(' ');
                var state = rest[0][0];
                var ppid = int.Parse(rest[1], CultureInfo.InvariantCulture);
                var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').TrimEnd();
                return new ProcessInfo(pid, ppid, state, name, cmdline);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null; // exited while we looked
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);
    }
}
