using System;
using System.IO;
using System.Linq;
using System.Threading;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>Watch-FleetLog in a real PowerShell 7.6 runspace, the packaged module, the docs' loopback fleet.</summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class WatchFleetLogTests : IDisposable
    {
        private readonly ModuleFleet _fleet;
        private readonly string _folder;

        public WatchFleetLogTests(ModuleFleet fleet)
        {
            _fleet = fleet;
            // The fleet's hosts log in as another user (herdtest, when root): the log must be readable by it.
            _folder = Directory.CreateTempSubdirectory("herd-watchlog-").FullName;
            File.SetUnixFileMode(_folder, (UnixFileMode)Convert.ToInt32("755", 8));
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        private string Log(string name, string content)
        {
            var path = Path.Combine(_folder, name);
            File.WriteAllText(path, content);
            return path;
        }

        /// <summary>Follower shells of this log, without the subshells a follower forks for a moment ($(...)).</summary>
        private static int Followers(string path)
        {
            // The follower is "/bin/sh -c <its script> herd-tail ..."; the ssh client and the remote wrapper name the path too.
            var shells = ProcessTable.FindByCommandLine(path).Where(p => p.CommandLine.StartsWith("/bin/sh -c set -f;", StringComparison.Ordinal)).ToList();
            return shells.Count(p => !shells.Any(parent => parent.Pid == p.ParentPid));
        }

        [Fact]
        public void Where_Object_and_Select_Object_First_1_stop_everything_at_the_first_match()
        {
            var log = Log("app.log", "boot\n");
            using var session = _fleet.Session();
            var (shell, pending, output) = session.Begin(
                $"Watch-FleetLog -Path '{log}' -Group web -Lines 0 | Where-Object Line -match 'panic' | Select-Object -First 1");
            using (shell)
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                // One follower per web host (all three are this machine): then lines written will arrive.
                while (Followers(log) < ModuleFleet.WebHosts.Length && DateTime.UtcNow < deadline) Thread.Sleep(20);
                Assert.Equal(ModuleFleet.WebHosts.Length, Followers(log));
                File.AppendAllText(log, "all fine\nkernel panic: not syncing\nafter the panic\n");
                Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(60)), "the pipeline did not stop at the first match");
                shell.EndInvoke(pending);
                Assert.Empty(shell.Streams.Error);
            }
            var line = Assert.Single(output);
            Assert.Equal("HerdPS.Tail.FleetLogLine", line.BaseObject.GetType().FullName);
            Assert.Contains((string)line.Properties["HostName"].Value, ModuleFleet.WebHosts);
            Assert.Equal("kernel panic: not syncing", line.Properties["Line"].Value);
            Assert.Equal(log, line.Properties["Path"].Value);
            // Every remote follower and ssh client is gone by the time the pipeline has returned (the masters stay pooled).
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(log, StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public void Ctrl_C_ends_every_follower_and_a_refused_host_is_a_LogFollowFailed_error()
        {
            var log = Log("stop.log", "one\ntwo\n");
            using var session = _fleet.Session();
            var (shell, pending, output) = session.Begin($"Watch-FleetLog -Path '{log}' -HostName web-01, {_fleet.Ssh.MismatchKeyHost} -Lines 1");
            using (shell)
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while ((output.Count < 1 || shell.Streams.Error.Count < 1) && DateTime.UtcNow < deadline) Thread.Sleep(20);
                shell.Stop(); // what Ctrl-C does: StopProcessing on the running cmdlet
                Assert.True(pending.IsCompleted);
                var error = Assert.Single(shell.Streams.Error);
                Assert.StartsWith("LogFollowFailed,", error.FullyQualifiedErrorId);
                Assert.Equal(_fleet.Ssh.MismatchKeyHost, error.TargetObject);
                Assert.Contains("does not match", error.Exception.Message);
            }
            Assert.Equal("two", Assert.Single(output).Properties["Line"].Value);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(log, StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        }

        [Theory]
        [InlineData("-Path /x -TimeoutSec 5", "does not apply")]
        [InlineData("-Path /x -Pattern 'a(b'", "-Pattern 'a(b'")]
        [InlineData("-JournalUnit nginx.service -Since 5", "the number 5")]
        [InlineData("-JournalUnit 'nginx; reboot'", "not a unit name")]
        [InlineData("-Path /x -Since '5m'", "Parameter set cannot be resolved")]
        public void Bad_parameters_stop_before_anything_runs(string parameters, string expected)
        {
            using var session = _fleet.Session();
            var run = session.Run($"Watch-FleetLog -HostName web-01 {parameters}", TimeSpan.FromSeconds(60));
            Assert.Empty(run.Output);
            Assert.Contains(expected, run.Describe());
        }
    }
}
