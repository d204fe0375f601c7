using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Cli
{
    /// <summary>
    /// herd processes sharing warm SSH.NET connections through the user's pool process (herd pool-serve), as real
    /// processes against the real fleet: one login for two runs, nobody else served, idle exit, disconnect, and a
    /// client's Ctrl-C or death ending its remote command.
    /// </summary>
    [Collection("ssh fleet")]
    public sealed class SharedPoolCliTests : IDisposable
    {
        private static int _counter;
        private readonly SshFleet _fleet;
        private readonly string _dir;
        private readonly Dictionary<string, string> _env;

        public SharedPoolCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            // Short (the socket path has a length limit) and private, as herd requires of $HERD_CONTROL_DIR; directly
            // under /tmp, so one test can open the way to it for another user without opening the fleet's folder.
            _dir = Directory.CreateTempSubdirectory("herd-sp" + Interlocked.Increment(ref _counter) + "-").FullName;
            _env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = _dir };
        }

        public void Dispose()
        {
            HerdProcess.RunAsync(new[] { "disconnect" }, _env).GetAwaiter().GetResult();
            foreach (var p in PoolProcesses()) ProcessTable.KillTree(p.Pid);
            try { Directory.Delete(_dir, recursive: true); }
            catch (IOException) { }
        }

        private string Socket => Path.Combine(_dir, "sshnet.sock");

        private string[] Exec(params string[] rest) =>
            new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", "sshnet", "--connect-timeout", "5s", "--no-history" }.Concat(rest).ToArray();

        private IReadOnlyList<ProcessInfo> PoolProcesses() =>
            ProcessTable.Find(p => !p.IsZombie && p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(_dir));

        private static JsonElement Single(HerdProcess.Outcome o)
        {
            Assert.True(o.ExitCode == 0, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            return JsonDocument.Parse(o.StdOut.Trim()).RootElement;
        }

        [Fact]
        public async Task TwoHerdRunsInARowShareOneLoginAndDisconnectEndsThePoolProcess()
        {
            var host = _fleet.Hosts[150];
            var before = _fleet.CountAcceptedLogins();
            var first = Single(await HerdProcess.RunAsync(Exec("-H", host, "--json", "echo one"), _env));
            var second = Single(await HerdProcess.RunAsync(Exec("-H", host, "--json", "echo two"), _env));
            Assert.Equal("one\n", first.GetProperty("stdOut").GetString());
            Assert.Equal("two\n", second.GetProperty("stdOut").GetString());
            Assert.Equal("sshnet", second.GetProperty("transport").GetString());
            Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
            Assert.Single(PoolProcesses());
            Assert.True(File.Exists(Socket));
            Assert.Equal("0600", UnixMode(Socket));

            var d = await HerdProcess.RunAsync(new[] { "disconnect" }, _env);
            Assert.Equal(0, d.ExitCode);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(_dir), TimeSpan.FromSeconds(30)));
            Assert.False(File.Exists(Socket));
            // The next run starts a new pool process, and logs in again.
            Single(await HerdProcess.RunAsync(Exec("-H", host, "--json", "echo three"), _env));
            Assert.Equal(2, _fleet.CountAcceptedLogins() - before);
        }

        [Fact]
        public async Task AnotherLocalUserCannotReachThePoolAndIsNotServedEvenIfTheFolderIsOpenedUp()
        {
            Single(await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[151], "--json", "true"), _env));
            var marker = Path.Combine("/tmp", "herd-pool-intruder-" + Guid.NewGuid().ToString("N"));
            // A run request for a command that would leave a file behind, written by the other user.
            var request = "{\"host\":\"" + _fleet.Hosts[151] + "\",\"command\":\"touch " + marker + "\",\"configFile\":\"" + _fleet.PlainSshConfigPath +
                          "\",\"connectTimeoutMs\":5000,\"stopGraceMs\":2000,\"controlPersistMs\":60000,\"maxSessions\":10,\"sshPath\":\"ssh\"}";
            const string client =
                "use IO::Socket::UNIX; $SIG{PIPE} = 'IGNORE'; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0], Type => SOCK_STREAM) or die \"connect: $!\\n\"; " +
                "print $s 'R' . pack('N', length($ARGV[1])) . $ARGV[1]; $s->flush; my $n = 0; my $b; while (my $r = sysread($s, $b, 65536)) { $n += $r; } print \"got $n bytes\\n\";";

            var blocked = OtherLocalUser.Run("exec perl -e \"$1\" \"$2\" \"$3\"", client, Socket, request);
            Assert.NotEqual(0, blocked.ExitCode);
            Assert.Contains("Permission denied", blocked.StdErr);

            // Somebody loosened the folder and the socket: the kernel still says who connected, and the pool process
            // serves only its own user.
            File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(Socket, (UnixFileMode)0x1B6); // 0666
            try
            {
                var refused = OtherLocalUser.Run("exec perl -e \"$1\" \"$2\" \"$3\"", client, Socket, request);
                Assert.True(refused.ExitCode == 0, refused.StdErr);
                Assert.Equal("got 0 bytes\n", refused.StdOut);
            }
            finally
            {
                File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.SetUnixFileMode(Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            Assert.False(File.Exists(marker), "the pool process ran a command for another user");
            // Its own user is still served.
            Single(await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[151], "--json", "true"), _env));
        }

        [Fact]
        public async Task ThePoolProcessExitsAfterItsIdleTimeAndRemovesItsSocket()
        {
            Single(await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[152], "--control-persist", "2s", "--json", "true"), _env));
            var pool = Assert.Single(PoolProcesses());
            // Poll for the exit; the guard is generous, the idle time is 2 s.
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Pid == pool.Pid, TimeSpan.FromSeconds(60)));
            Assert.False(File.Exists(Socket));
        }

        [Fact]
        public async Task CtrlCOfTheClientEndsTheRemoteCommandAndTheConnectionStaysWarm()
        {
            var host = _fleet.Hosts[153];
            Single(await HerdProcess.RunAsync(Exec("-H", host, "--json", "true"), _env));
            var logins = _fleet.CountAcceptedLogins();
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var o = await HerdProcess.InterruptAsync(Exec("-H", host, "--json", $"sleep {sleep}"), _env, sleep, 1);
            Assert.True(130 == o.ExitCode, $"exit {o.ExitCode}\n{o.StdOut}\n{o.StdErr}");
            var r = JsonDocument.Parse(o.StdOut.Trim()).RootElement;
            Assert.Equal("Cancelled", r.GetProperty("status").GetString());
            Assert.Equal("cancelled: the command was ended by SIGTERM", r.GetProperty("errorMessage").GetString());
            Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(20)));
            Single(await HerdProcess.RunAsync(Exec("-H", host, "--json", "true"), _env));
            Assert.Equal(logins, _fleet.CountAcceptedLogins());
        }

        [Fact]
        public async Task AClientThatDiesEndsItsRemoteCommandToo()
        {
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            using var herd = Process.Start(HerdProcess.StartInfo(Exec("-H", _fleet.Hosts[154], $"sleep {sleep}"), _env))!;
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!ProcessTable.FindByCommandLine(sleep).Any(x => x.Name == "sleep") && DateTime.UtcNow < deadline) await Task.Delay(20);
                Assert.Contains(ProcessTable.FindByCommandLine(sleep), x => x.Name == "sleep");
                ProcessTable.Signal(herd.Id, ProcessTable.SigKill);
                await herd.WaitForExitAsync();
                Assert.Empty(ProcessTable.WaitUntilGone(x => x.Name == "sleep" && x.CommandLine.Contains(sleep), TimeSpan.FromSeconds(20)));
            }
            finally
            {
                if (!herd.HasExited) herd.Kill(entireProcessTree: true);
            }
        }

        [Fact]
        public async Task NoMultiplexIsAConnectionPerCommandClosedAfterAndNoPoolProcess()
        {
            var before = _fleet.CountAcceptedLogins();
            Single(await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[155], "--no-multiplex", "--json", "true"), _env));
            Single(await HerdProcess.RunAsync(Exec("-H", _fleet.Hosts[155], "--no-multiplex", "--json", "true"), _env));
            Assert.Equal(2, _fleet.CountAcceptedLogins() - before);
            Assert.Empty(PoolProcesses());
            Assert.False(File.Exists(Socket));
        }

        private static string UnixMode(string path) => "0" + Convert.ToString((int)File.GetUnixFileMode(path) & 0xFFF, 8);
    }
}
