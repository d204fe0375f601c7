using System;
using System.IO;
using System.Linq;
using System.Security;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A local account with a password, for password and keyboard-interactive logins against an extra sshd that
    /// allows them (<see cref="SshFleet.StartExtraHost(string, Func{string, System.Collections.Generic.IEnumerable{string}}, Func{string, string})"/>).
    /// Created as root with useradd when missing and kept, like the fleet's login user: test runs on one machine
    /// overlap, so the password is a fixed one (a random one per run would lock the other run out). The account
    /// has /bin/sh, no home and no groups; only the tests' own sshds (AllowUsers) let it in over the network. The
    /// password is distinctive so the secrets tests can search for it in argv, history and logs.
    /// </summary>
    internal static class PasswordAccount
    {
        public const string Name = "herdpass";
        public const string Password = "Herd-Test-Pw-9c41e7";
        private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(30);
        private static readonly object Gate = new object();
        private static bool _ready;

        public static SecureString SecurePassword(string? password = null)
        {
            var s = new SecureString();
            foreach (var c in password ?? Password) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        /// <summary>sshd lines for a host that takes this account's password (and the fleet user's key).</summary>
        public static string[] PasswordLogins(string fleetUser) => new[]
        {
            $"AllowUsers {fleetUser} {Name}",
            "PasswordAuthentication yes",
            "PermitEmptyPasswords no",
        };

        /// <summary>sshd lines for a host that takes the password only through keyboard-interactive (PAM asks for it).</summary>
        public static string[] KeyboardInteractiveLogins(string fleetUser) => new[]
        {
            $"AllowUsers {fleetUser} {Name}",
            "UsePAM yes",
            "KbdInteractiveAuthentication yes",
            "PasswordAuthentication no",
            "AuthenticationMethods keyboard-interactive",
        };

        public static void Ensure()
        {
            lock (Gate)
            {
                if (_ready) return;
                if (ProcessRunner.Run("id", new[] { "-u" }, HelperTimeout).StdOut.Trim() != "0")
                    throw new InvalidOperationException("password login tests need root to create a local account: run them as root, as CI does. They are not skipped on purpose.");
                if (!File.ReadLines("/etc/passwd").Any(l => l.StartsWith(Name + ":", StringComparison.Ordinal)))
                {
                    var r = ProcessRunner.Run("useradd", new[] { "-M", "-d", "/tmp", "-s", "/bin/sh", Name }, HelperTimeout);
                    if (r.ExitCode != 0 && r.ExitCode != 9) throw new InvalidOperationException($"useradd {Name} exited {r.ExitCode}: {r.StdErr}");
                }
                // chpasswd reads "name:password" on stdin: the password is never in an argv.
                var psi = ProcessRunner.StartInfo("chpasswd", Array.Empty<string>());
                psi.RedirectStandardInput = true;
                using (var p = System.Diagnostics.Process.Start(psi)!)
                {
                    p.StandardInput.Write($"{Name}:{Password}\n");
                    p.StandardInput.Close();
                    p.WaitForExit((int)HelperTimeout.TotalMilliseconds);
                    if (p.ExitCode != 0) throw new InvalidOperationException($"chpasswd exited {p.ExitCode}: {p.StandardError.ReadToEnd()}");
                }
                _ready = true;
            }
        }
    }
}
