using System;
using System.IO;
using System.Linq;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// Test tools that come from Debian packages (dropbear-bin, busybox), installed on first use as test.sh does
    /// for openssh-server: as root through apt, once per test run. Without root, a missing tool is a clear failure.
    /// </summary>
    internal static class DebianPackages
    {
        private static readonly object Gate = new object();

        /// <summary>Makes sure <paramref name="file"/> exists, installing <paramref name="package"/> when it does not.</summary>
        public static string Ensure(string file, string package)
        {
            lock (Gate)
            {
                if (File.Exists(file)) return file;
                if (Environment.UserName != "root")
                    throw new InvalidOperationException($"{file} is missing: install the Debian package {package} (apt-get install -y {package})");
                var install = Apt("install", "-y", "-qq", package);
                if (install.ExitCode != 0)
                {
                    Apt("update", "-qq");
                    install = Apt("install", "-y", "-qq", package);
                }
                if (!File.Exists(file))
                    throw new InvalidOperationException($"installing {package} did not give {file}: {install.StdErr}");
                return file;
            }
        }

        private static ProcessOutcome Apt(params string[] args)
        {
            var psi = ProcessRunner.StartInfo("apt-get", args);
            psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            return ProcessRunner.RunAsync(psi, TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
        }

        /// <summary>
        /// A folder whose <c>sh</c>, <c>sleep</c> and <c>setsid</c> are BusyBox applets (symlinks to busybox): put it
        /// first on PATH and use its sh as the shell, and a command runs as it would on a router or a small board.
        /// </summary>
        public static string BusyBoxBin()
        {
            var busybox = Ensure("/usr/bin/busybox", "busybox");
            var dir = Path.Combine(Path.GetTempPath(), "herd-busybox-bin");
            lock (Gate)
            {
                Directory.CreateDirectory(dir);
                foreach (var applet in new[] { "sh", "sleep", "setsid" })
                {
                    var link = Path.Combine(dir, applet);
                    if (!File.Exists(link)) File.CreateSymbolicLink(link, busybox);
                }
            }
            return dir;
        }
    }
}
