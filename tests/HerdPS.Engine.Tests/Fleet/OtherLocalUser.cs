using System;
using System.IO;
using System.Linq;
using System.Threading;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A real second local account ("the other user", an attacker sharing the machine) for the private-folder
    /// tests: created with useradd when missing (tests run as root, as CI does; without root this throws, so the
    /// tests fail loudly rather than pass without proving anything), removed again when the test process exits if
    /// this process created it. Commands run as that user through setpriv, with its uid, gid and no other groups.
    /// </summary>
    internal static class OtherLocalUser
    {
        public const string Name = "herdother";
        private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(30);
        private static readonly object Gate = new object();
        private static bool _ready;

        public static uint Uid => Ensure().Uid;
        public static uint Gid => Ensure().Gid;

        /// <summary>Runs <paramref name="shellCommand"/> with /bin/sh as the other user; $1, $2, ... are <paramref name="args"/>.</summary>
        public static ProcessOutcome Run(string shellCommand, params string[] args)
        {
            var (uid, gid) = Ensure();
            var argv = new[] { $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--", "/bin/sh", "-c", shellCommand, "other-user" }.Concat(args);
            var psi = ProcessRunner.StartInfo("setpriv", argv);
            psi.WorkingDirectory = "/";
            psi.Environment["HOME"] = "/";
            return ProcessRunner.RunAsync(psi, HelperTimeout).GetAwaiter().GetResult();
        }

        /// <summary>Runs as the other user and fails the test unless the command succeeds.</summary>
        public static string RunOk(string shellCommand, params string[] args)
        {
            var r = Run(shellCommand, args);
            Assert.True(r.ExitCode == 0, $"as {Name}: `{shellCommand}` exited {r.ExitCode}: {r.StdErr}");
            return r.StdOut;
        }

        private static (uint Uid, uint Gid) Ensure()
        {
            lock (Gate)
            {
                if (!_ready)
                {
                    if (Environment.UserName != "root" && ProcessRunner.Run("id", new[] { "-u" }, HelperTimeout).StdOut.Trim() != "0")
                        throw new InvalidOperationException("the private-folder tests need root to create a second local user (useradd): run them as root, as CI does. They are not skipped on purpose.");
                    if (Entry() == null)
                    {
                        // -M: no home; nologin: nobody logs in as it. Exit 9 = another test run created it meanwhile.
                        var r = ProcessRunner.Run("useradd", new[] { "-M", "-s", "/usr/sbin/nologin", Name }, HelperTimeout);
                        if (r.ExitCode != 0 && r.ExitCode != 9) throw new InvalidOperationException($"useradd {Name} exited {r.ExitCode}: {r.StdErr}");
                        if (r.ExitCode == 0) AppDomain.CurrentDomain.ProcessExit += (_, __) => ProcessRunner.Run("userdel", new[] { Name }, HelperTimeout);
                    }
                    _ready = true;
                }
                var fields = Entry() ?? throw new InvalidOperationException($"user {Name} is missing from /etc/passwd");
                return (uint.Parse(fields[2]), uint.Parse(fields[3]));
            }
        }

        private static string[]? Entry() => File.ReadLines("/etc/passwd")
            .Select(l => l.Split(':'))
            .FirstOrDefault(f => f.Length > 3 && f[0] == Name);
    }
}
