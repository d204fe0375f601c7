using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

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

        private static ChildProcessOutcome Run(string stderr, int exit, bool stopped = false)
        {
            var run = new ChildProcessOutcome(new OutputCapture(1 << 20), new OutputCapture(1 << 20) { ExpectWrapperMarkers = true })
            {
                ExitCode = exit,
                Stopped = stopped,
            };
            var bytes = Encoding.UTF8.GetBytes(stderr);
            run.StdErr.Append(bytes, bytes.Length);
            run.StdErr.Seal();
            return run;
        }

        [Fact]
        public void TheWrappersMarkersSayWhetherTheCommandStartedExitedOrWasEnded()
        {
            using (var lost = Run(RemoteCommand.StartMarker, 255))
            {
                var o = OpenSshTransport.Read(lost, raw: false, "h");
                Assert.Equal(AttemptEnd.ConnectionLost, o.End); // started, never reported: it may have run in part
                Assert.False(o.Retryable);
                Assert.Contains("may have run in part", o.ErrorMessage);
            }
            using (var own255 = Run(RemoteCommand.StartMarker + "Permission denied (publickey).\n" + RemoteCommand.ExitTrailerPrefix + "255\n", 255))
            {
                var o = OpenSshTransport.Read(own255, raw: false, "h");
                Assert.Equal(AttemptEnd.Exited, o.End);
                Assert.Equal(255, o.ExitCode);
            }
            using (var refused = Run("herdtest@127.0.0.1: Permission denied (publickey).\r\n", 255))
            {
                var o = OpenSshTransport.Read(refused, raw: false, "h");
                Assert.Equal(AttemptEnd.NeverStarted, o.End);
                Assert.Equal(FleetErrorKind.AuthenticationFailed, o.ErrorKind);
            }
            using (var closed = Run("Connection closed by 127.0.0.1 port 22\r\n", 255))
            {
                // Closed before the wrapper wrote its first line: nothing ran, so a retry is safe.
                var o = OpenSshTransport.Read(closed, raw: false, "h");
                Assert.Equal(AttemptEnd.NeverStarted, o.End);
                Assert.True(o.Retryable);
            }
            using (var killed = Run(RemoteCommand.StartMarker + RemoteCommand.ExitTrailerPrefix + "137,stopped=KILL\n", 0, stopped: true))
            {
                var o = OpenSshTransport.Read(killed, raw: false, "h");
                Assert.Equal(AttemptEnd.EndedByUs, o.End);
                Assert.Equal(EndSignal.Kill, o.EndedWith);
            }
            using (var connecting = Run("", 255, stopped: true))
                Assert.Equal(AttemptEnd.NeverStarted, OpenSshTransport.Read(connecting, raw: false, "h").End);
            using (var unanswered = Run(RemoteCommand.StartMarker, 255, stopped: true))
            {
                var o = OpenSshTransport.Read(unanswered, raw: false, "h");
                Assert.Equal(AttemptEnd.EndedByUs, o.End);
                Assert.Equal(EndSignal.LocalSideOnly, o.EndedWith);
            }
        }

        [Fact]
        public void WithoutTheWrapperA255WithoutSshsWordsIsTheCommandsOwn()
        {
            using var raw = new ChildProcessOutcome(new OutputCapture(100), new OutputCapture(100)) { ExitCode = 255 };
            raw.StdErr.Seal();
            var o = OpenSshTransport.Read(raw, raw: true, "h");
            Assert.Equal(AttemptEnd.Exited, o.End);
            Assert.Equal(255, o.ExitCode);
        }
    }

    public class OutputCaptureTests
    {
        private static OutputCapture Capture(string text, bool trailer, int chunk = 7)
        {
            var c = new OutputCapture(1 << 20) { ExpectWrapperMarkers = trailer };
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
        public void TheStartMarkerIsTakenOffEvenAfterSshsOwnWordsAndAStopIsReported()
        {
            using var c = Capture("Warning: something\n" + RemoteCommand.StartMarker + "err\n" + RemoteCommand.ExitTrailerPrefix + "143,stopped=TERM\n", trailer: true, chunk: 3);
            Assert.True(c.SawStartMarker);
            Assert.Equal("Warning: something\nerr\n", c.Text());
            Assert.Equal(143, c.ReportedExitCode);
            Assert.Equal(EndSignal.Terminate, c.ReportedStop);
            using var none = Capture("ssh: connect to host x port 22: Connection refused\n", trailer: true);
            Assert.False(none.SawStartMarker);
            Assert.Equal("ssh: connect to host x port 22: Connection refused\n", none.Text());
        }

        [Fact]
        public void TheTrailerMaySayTheLoginShellIsBinShAfterTheStop()
        {
            using var c = Capture("err\n" + RemoteCommand.ExitTrailerPrefix + "143,stopped=TERM,sh\n", trailer: true);
            Assert.Equal("err\n", c.Text());
            Assert.Equal(143, c.ReportedExitCode);
            Assert.Equal(EndSignal.Terminate, c.ReportedStop);
            Assert.True(c.ReportedLoginShellIsSh);
            Assert.True(RemoteCommand.TryParseTrailer(RemoteCommand.ExitTrailerPrefix + "0,sh\n", out var code, out var stop, out var sh));
            Assert.Equal((0, EndSignal.None, true), (code, stop, sh));
            Assert.True(RemoteCommand.TryParseTrailer(RemoteCommand.ExitTrailerPrefix + "5\n", out _, out _, out sh));
            Assert.False(sh);
            // Out of order, twice, unknown or empty fields: not a trailer, so the text stays output.
            foreach (var bad in new[] { "0,sh,stopped=TERM", "0,sh,sh", "0,bash", "0,", "0,stopped=HUP,sh", "sh" })
                Assert.False(RemoteCommand.TryParseTrailer(RemoteCommand.ExitTrailerPrefix + bad + "\n", out _, out _, out _), bad);
            using var forged = Capture("x\n" + RemoteCommand.ExitTrailerPrefix + "0,sh,sh\n", trailer: true);
            Assert.Null(forged.ReportedExitCode);
            Assert.False(forged.ReportedLoginShellIsSh);
        }

        [Fact]
        public void WithoutATrailerEverythingIsKept()
        {
            using var c = Capture(new string('a', 500) + "\nend", trailer: true);
            Assert.Equal(new string('a', 500) + "\nend", c.Text());
            Assert.Null(c.ReportedExitCode);
        }

    }

    /// <summary>
    /// The remote wrapper run by real shells, as a server would run it: dash (Debian's /bin/sh) and BusyBox sh
    /// (routers, small boards), in a session of its own as sshd starts it, or sharing its group with its parent as
    /// Dropbear starts it. Closing its stdin is what our ssh client does to stop it.
    /// </summary>
    public class RemoteWrapperTests
    {
        public static TheoryData<string, bool> Shells => new TheoryData<string, bool>
        {
            { "dash", true }, { "dash", false }, { "busybox", true }, { "busybox", false },
        };

        private static Process Start(string shell, bool ownSession, string command, TimeSpan? grace = null, bool withInputLine = false)
        {
            var sh = shell == "busybox" ? Path.Combine(Fleet.DebianPackages.BusyBoxBin(), "sh") : "/bin/dash";
            // sshd makes the session its own group; Dropbear leaves it in the group of the connection's server
            // process, played here by a shell that leads the group, runs the wrapper as its child and says it survived.
            var psi = new ProcessStartInfo("setsid")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            };
            if (!ownSession) foreach (var a in new[] { "/bin/dash", "-c", "\"$@\"; echo \"server survived\"", "server" }) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(sh);
            foreach (var a in new[] { "-c", withInputLine ? RemoteCommand.WrapperScriptWithInputLine : RemoteCommand.WrapperScript, "herd", command, ((int)(grace ?? TimeSpan.FromSeconds(1)).TotalMilliseconds / 100).ToString() })
                psi.ArgumentList.Add(a);
            psi.Environment["SHELL"] = sh;
            if (shell == "busybox") psi.Environment["PATH"] = Path.GetDirectoryName(sh) + ":" + psi.Environment["PATH"];
            return Process.Start(psi)!;
        }

        private static void WaitFor(string marker)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Fleet.ProcessTable.FindByCommandLine(marker).All(x => x.Name != "sleep") && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
            Assert.Contains(Fleet.ProcessTable.FindByCommandLine(marker), x => x.Name == "sleep");
        }

        private static OutputCapture Read(string stderr)
        {
            var c = new OutputCapture(1 << 20) { ExpectWrapperMarkers = true };
            var bytes = Encoding.UTF8.GetBytes(stderr);
            c.Append(bytes, bytes.Length);
            c.Seal();
            return c;
        }

        [Theory]
        [MemberData(nameof(Shells))]
        public void ReportsTheCommandsExitBetweenItsMarkers(string shell, bool ownSession)
        {
            using var p = Start(shell, ownSession, "echo out; echo err >&2; exit 4");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var err = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(30_000));
            p.StandardInput.Close();
            Assert.Equal(ownSession ? 4 : 0, p.ExitCode); // without a session of its own, the "server" answers
            using var c = Read(err);
            Assert.True(c.SawStartMarker);
            Assert.Equal("err\n", c.Text());
            Assert.Equal(4, c.ReportedExitCode);
            Assert.Equal(EndSignal.None, c.ReportedStop);
            Assert.Equal(ownSession ? "out\n" : "out\nserver survived\n", stdout.Result);
        }

        [Theory]
        [MemberData(nameof(Shells))]
        public void WithAnInputLineTheCommandReadsThatLineThenItsEndAndTheEndOfStdinStillStopsIt(string shell, bool ownSession)
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var secret = @"p w\n'$(id)\";
            using var p = Start(shell, ownSession, $"IFS= read -r x; printf '<%s>\\n' \"$x\"; cat; echo eof; sleep {sleep}", withInputLine: true);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var err = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write(secret + "\nnot for the command\n");
            p.StandardInput.Flush();
            WaitFor(sleep);
            Assert.Empty(Fleet.ProcessTable.Find(x => x.CommandLine.Contains("p w")));
            p.StandardInput.Close();
            Assert.True(p.WaitForExit(30_000));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(x => x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Equal($"<{secret}>\neof\n" + (ownSession ? "" : "server survived\n"), stdout.Result);
            using var c = Read(err.Result);
            Assert.Equal("", c.Text());
            Assert.Equal(EndSignal.Terminate, c.ReportedStop);
        }

        [Theory]
        [MemberData(nameof(Shells))]
        public void TheEndOfStdinEndsTheCommandWithTerm(string shell, bool ownSession)
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            using var p = Start(shell, ownSession, $"sleep {sleep}; echo never");
            var err = p.StandardError.ReadToEndAsync();
            WaitFor(sleep);
            p.StandardInput.Close(); // what our ssh client's stop does to the remote session's stdin
            Assert.True(p.WaitForExit(30_000));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(x => x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Equal(ownSession ? "" : "server survived\n", p.StandardOutput.ReadToEnd());
            using var c = Read(err.Result);
            Assert.Equal(EndSignal.Terminate, c.ReportedStop);
            Assert.Equal(143, c.ReportedExitCode);
        }

        /// <summary>
        /// As sshd runs a command string: the login shell with -c, $SHELL naming it, in a session of its own.
        /// <paramref name="loginShellIsSh"/> picks the form the SSH.NET pool sends once it knows the login shell is /bin/sh.
        /// </summary>
        private static Process StartAsSshdWould(string loginShell, string command, bool loginShellIsSh, bool withInputLine = false)
        {
            var psi = new ProcessStartInfo("setsid")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            };
            foreach (var a in new[] { loginShell, "-c", RemoteCommand.Wrap(command, TimeSpan.FromSeconds(1), withInputLine, loginShellIsSh) }) psi.ArgumentList.Add(a);
            psi.Environment["SHELL"] = loginShell;
            return Process.Start(psi)!;
        }

        [Theory]
        [InlineData("/bin/sh", true)]
        [InlineData("/bin/dash", false)] // the same program under another name: only /bin/sh itself may skip the hop
        public void TheTrailerSaysShOnlyWhenTheLoginShellIsBinSh(string loginShell, bool reported)
        {
            using var p = StartAsSshdWould(loginShell, "echo out; echo err >&2; exit 3", loginShellIsSh: false);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var err = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(30_000));
            Assert.Equal(3, p.ExitCode);
            using var c = Read(err);
            Assert.True(c.SawStartMarker);
            Assert.Equal("err\n", c.Text());
            Assert.Equal(3, c.ReportedExitCode);
            Assert.Equal(reported, c.ReportedLoginShellIsSh);
            Assert.Equal("out\n", stdout.Result);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void WithoutTheHopTheLoginShellRunsTheSameWrapperWithTheSameArguments(bool withInputLine)
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var command = (withInputLine ? "IFS= read -r x; printf '<%s>\\n' \"$x\"; " : "") +
                $"printf '%s|%s\\n' \"it's\" \"$#\"; echo err >&2; sleep {sleep}; echo never";
            using var p = StartAsSshdWould("/bin/sh", command, loginShellIsSh: true, withInputLine);
            var stdout = p.StandardOutput.ReadToEndAsync();
            var err = p.StandardError.ReadToEndAsync();
            if (withInputLine)
            {
                p.StandardInput.Write("the line\n");
                p.StandardInput.Flush();
            }
            WaitFor(sleep);
            // The wrapper is the login shell itself now (no /bin/sh exec'd for it), and its command the one given.
            var wrapper = Fleet.ProcessTable.TryGet(p.Id);
            Assert.NotNull(wrapper);
            Assert.StartsWith("/bin/sh -c set -- ", wrapper!.CommandLine);
            Assert.Contains(sleep, wrapper.CommandLine);
            p.StandardInput.Close();
            Assert.True(p.WaitForExit(30_000));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(x => x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Equal((withInputLine ? "<the line>\n" : "") + "it's|0\n", stdout.Result);
            using var c = Read(err.Result);
            Assert.True(c.SawStartMarker);
            Assert.Equal("err\n", c.Text());
            Assert.Equal(EndSignal.Terminate, c.ReportedStop);
            Assert.Equal(143, c.ReportedExitCode);
            Assert.True(c.ReportedLoginShellIsSh);
        }

        [Theory]
        [MemberData(nameof(Shells))]
        public void ACommandThatIgnoresTermIsKilledAfterTheGracePeriod(string shell, bool ownSession)
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            using var p = Start(shell, ownSession, $"trap '' TERM HUP INT; sleep {sleep}; echo never", TimeSpan.FromSeconds(1));
            var err = p.StandardError.ReadToEndAsync();
            WaitFor(sleep);
            p.StandardInput.Close();
            Assert.True(p.WaitForExit(30_000));
            Assert.Empty(Fleet.ProcessTable.WaitUntilGone(x => x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Equal(ownSession ? "" : "server survived\n", p.StandardOutput.ReadToEnd());
            using var c = Read(err.Result);
            Assert.Equal(EndSignal.Kill, c.ReportedStop);
            Assert.Equal(137, c.ReportedExitCode);
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
