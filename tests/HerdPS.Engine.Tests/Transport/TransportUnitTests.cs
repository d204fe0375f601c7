using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using HerdPS.Transport;

namespace HerdPS.Tests.Transport
{
    public class ProcessArgumentsTests
    {
        [Theory]
        [InlineData("plain")]
        [InlineData("two words")]
        [InlineData("")]
        [InlineData("quote\"inside")]
        [InlineData("trailing backslash\\")]
        [InlineData("back\\\\slashes \\\" and quote")]
        [InlineData("new\nline\ttab")]
        [InlineData("'single' $dollar `tick`")]
        public async Task ArgumentsReachTheChildExactlyAsGiven(string arg)
        {
            // A real child prints each argument it got between markers.
            var args = new List<string> { "-c", "for a in \"$@\"; do printf '<%s>' \"$a\"; done", "sh", arg, "x y" };
            using var outcome = await ChildProcess.RunAsync("/bin/sh", args, new ChildProcessSettings(), default);
            Assert.Equal($"<{arg}><x y>", outcome.StdOut.Text());
        }
    }

    public class SshErrorClassifierTests
    {
        // The exact stderr OpenSSH 9.2 prints for each fault host of the test fleet.
        [Theory]
        [InlineData("ssh: connect to host 127.0.0.1 port 36369: Connection refused\r\n", FleetErrorKind.ConnectionRefused)]
        [InlineData("Connection timed out during banner exchange\r\nConnection to UNKNOWN port 65535 timed out\r\n", FleetErrorKind.ConnectTimeout)]
        [InlineData("No ED25519 host key is known for unknown-key and you have requested strict checking.\r\nHost key verification failed.\r\n", FleetErrorKind.HostKeyUnknown)]
        [InlineData("@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\nHost key for mismatch-key has changed and you have requested strict checking.\r\nHost key verification failed.\r\n", FleetErrorKind.HostKeyMismatch)]
        [InlineData("herdtest@127.0.0.1: Permission denied (publickey).\r\n", FleetErrorKind.AuthenticationFailed)]
        [InlineData("ssh: Could not resolve hostname no-such-host.invalid: Name or service not known\r\n", FleetErrorKind.NameResolution)]
        [InlineData("kex_exchange_identification: Connection closed by remote host\r\n", FleetErrorKind.TransportError)]
        public void ReadsEachFailureFromSshsOwnWords(string stderr, FleetErrorKind kind)
        {
            var failure = SshErrorClassifier.Classify(255, stderr, "h");
            Assert.NotNull(failure);
            Assert.Equal(kind, failure!.Kind);
            Assert.True(failure.BeforeSession);
        }

        [Fact]
        public void A255WithoutSshsWordsIsTheCommandsOwn()
        {
            Assert.Null(SshErrorClassifier.Classify(255, "my tool: fatal\n", "h"));
            Assert.Null(SshErrorClassifier.Classify(1, "Permission denied (publickey).", "h")); // only 255 is ssh's
        }

        [Fact]
        public void WithTheWrapperA255WithoutTrailerIsALostConnectionAndWithOneIsTheCommands()
        {
            var lost = OpenSshTransport.ClassifyExit(255, () => "", reportedExit: null, raw: false, "h");
            Assert.Equal(FleetErrorKind.TransportError, lost!.Kind);
            Assert.False(lost.BeforeSession); // the command may have run: never retried
            Assert.Null(OpenSshTransport.ClassifyExit(255, () => "Permission denied (publickey).", reportedExit: 255, raw: false, "h"));
            Assert.Null(OpenSshTransport.ClassifyExit(255, () => "", reportedExit: null, raw: true, "h"));
        }
    }

    public class OutputCaptureTests
    {
        private static OutputCapture Capture(string text, bool trailer, int chunk = 7)
        {
            var c = new OutputCapture(1 << 20) { ExpectExitTrailer = trailer };
            var bytes = Encoding.UTF8.GetBytes(text);
            for (var i = 0; i < bytes.Length; i += chunk)
            {
                var n = Math.Min(chunk, bytes.Length - i);
                c.Append(bytes.Skip(i).Take(n).ToArray(), n);
            }
            c.Seal();
            return c;
        }

        [Fact]
        public void TheExitTrailerIsTakenOffAndReported()
        {
            using var c = Capture("warning: x\n" + RemoteCommand.ExitTrailerPrefix + "3\n", trailer: true);
            Assert.Equal("warning: x\n", c.Text());
            Assert.Equal(3, c.ReportedExitCode);
            using var plain = Capture("warning: x\n", trailer: false);
            Assert.Equal(plain.Digest(), c.Digest()); // the hash is of the output alone
        }

        [Fact]
        public void WithoutATrailerEverythingIsKept()
        {
            using var c = Capture(new string('a', 500) + "\nend", trailer: true);
            Assert.Equal(new string('a', 500) + "\nend", c.Text());
            Assert.Null(c.ReportedExitCode);
        }

        [Fact]
        public void TheWrapperPrintsATrailerTheCaptureRecognises()
        {
            // Run the wrapper as sshd would: in a session (and process group) of its own, with stdin held open
            // by us. Its watcher ends the whole group when stdin closes, so it must never share ours.
            var psi = new ProcessStartInfo("setsid", new[] { "/bin/sh", "-c", RemoteCommand.Wrap("echo out; echo err >&2; exit 4") })
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            p.StandardInput.Close();
            Assert.Equal(4, p.ExitCode);
            using var c = Capture(err, trailer: true);
            Assert.Equal("err\n", c.Text());
            Assert.Equal(4, c.ReportedExitCode);
        }

        [Fact]
        public void TheWrappersWatcherEndsTheCommandWhenStdinCloses()
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var psi = new ProcessStartInfo("setsid", new[] { "/bin/sh", "-c", RemoteCommand.Wrap($"sleep {sleep}; echo never") })
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            using var p = Process.Start(psi)!;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Fleet.ProcessTable.FindByCommandLine(sleep).All(x => x.Name != "sleep") && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
            Assert.Contains(Fleet.ProcessTable.FindByCommandLine(sleep), x => x.Name == "sleep");
            p.StandardInput.Close(); // what a dying ssh client does to the remote session's stdin
            Assert.True(p.WaitForExit(30_000));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(x => x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Equal("", p.StandardOutput.ReadToEnd());
        }
    }

    public class ConnectionPoolDirectoryTests
    {
        [Fact]
        public void PrefersTheExplicitFolderThenTheRuntimeFolderThenHome()
        {
            var runtime = Directory.CreateTempSubdirectory("herd-rt").FullName;
            try
            {
                Assert.Equal("/x/y", ConnectionPool.DefaultDirectory(n => n == "HERD_CONTROL_DIR" ? "/x/y" : null));
                Assert.Equal(Path.Combine(runtime, "herd"), ConnectionPool.DefaultDirectory(n => n == "XDG_RUNTIME_DIR" ? runtime : n == "HOME" ? "/home/a" : null));
                Assert.Equal("/home/a/.ssh/herd", ConnectionPool.DefaultDirectory(n => n == "HOME" ? "/home/a" : null));
                var longHome = "/home/" + new string('h', 60);
                // Too long for a socket path: none (For makes a fresh private temporary folder with mkdtemp).
                Assert.Null(ConnectionPool.DefaultDirectory(n => n == "HOME" ? longHome : null));
            }
            finally { Directory.Delete(runtime, true); }
        }

        [Fact]
        public void TheFolderAndTheParentsItCreatesAreOwnerOnly()
        {
            var root = Directory.CreateTempSubdirectory("herd-priv").FullName;
            try
            {
                var dir = Path.Combine(root, "made", "sockets");
                Assert.Equal(dir, PrivateDirectory.EnsureConfigured(dir, "$TEST_DIR", "test files"));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(root, "made")));
            }
            finally { Directory.Delete(root, true); }
        }

        [Fact]
        public void EachHostAndSecurityContextGetsItsOwnSocket()
        {
            var pool = ConnectionPool.For(Directory.CreateTempSubdirectory("hp").FullName);
            var a = pool.ControlPathFor("web-01", null, null, null, null, null, "Strict", "");
            Assert.Equal(a, pool.ControlPathFor("web-01", null, null, null, null, null, "Strict", ""));
            Assert.NotEqual(a, pool.ControlPathFor("web-01-alias", null, null, null, null, null, "Strict", ""));
            Assert.NotEqual(a, pool.ControlPathFor("web-01", null, null, null, null, null, "Insecure", ""));
            Assert.NotEqual(a, pool.ControlPathFor("web-01", "root", null, null, null, null, "Strict", ""));
            Assert.Equal(40, Path.GetFileName(a).Length);
        }
    }
}
