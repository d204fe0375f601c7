using System;
using System.Diagnostics;
using System.Globalization;

namespace HerdPS.History
{
    /// <summary>
    /// Who records: the controller (machine and operating-system user) every run carries, and the process that is still
    /// writing an unfinished run (so a spool upload never takes a run from under the process recording it).
    /// </summary>
    public static class ProcessIdentity
    {
        private static readonly Lazy<string> CurrentText = new Lazy<string>(() => Describe(Process.GetCurrentProcess()));

        /// <summary>This machine's name, as <c>hostname</c> prints it (without a domain).</summary>
        public static string Machine => SafeMachineName();

        /// <summary>The operating-system user this process runs as.</summary>
        public static string User => Environment.UserName;

        /// <summary><c>machine:pid:start</c> of this process.</summary>
        public static string Current => CurrentText.Value;

        /// <summary>
        /// True when <paramref name="recorder"/> (a <see cref="Current"/> text) names a process of this machine that is
        /// still running; false when it ended (killed, crashed). A process of another machine is taken as alive: a spool
        /// is a local file, and only its own machine can tell.
        /// </summary>
        public static bool IsAlive(string recorder)
        {
            var parts = recorder.Split(':');
            if (parts.Length != 3) return false;
            if (!string.Equals(parts[0], Machine, StringComparison.OrdinalIgnoreCase)) return true;
            if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
            try
            {
                using (var process = Process.GetProcessById(pid))
                    return Describe(process) == recorder; // a new process that reused the pid started at another time
            }
            catch (ArgumentException)
            {
                return false; // no such process
            }
            catch (InvalidOperationException)
            {
                return false; // it exited while we looked
            }
        }

        private static string Describe(Process process)
        {
            long start;
            try { start = process.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond; }
            catch (Exception e) when (e is InvalidOperationException || e is System.ComponentModel.Win32Exception || e is NotSupportedException) { start = 0; }
            return string.Join(":", Machine, process.Id.ToString(CultureInfo.InvariantCulture), start.ToString(CultureInfo.InvariantCulture));
        }

        private static string SafeMachineName()
        {
            try { return Environment.MachineName; }
            catch (InvalidOperationException) { return "unknown"; }
        }
    }
}
