using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;
using HerdPS.Transport.OpenSsh;

namespace HerdPS.Tests.Transport
{
    [Collection("ssh fleet")]
    public class OpenSshTransportTests
    {
        private readonly SshFleet _fleet;

        public OpenSshTransportTests(SshFleet fleet)
        {
            _fleet = fleet;
        }

        [Fact]
        public async Task ConnectionsArePooledAcrossCommands()
        {
            using var t = new FleetTestRun(_fleet);
            var before = _fleet.CountAcceptedLogins();
            for (var i = 0; i < 5; i++) Assert.True((await t.RunOneAsync(_fleet.Hosts[3], "true")).Succeeded);
            Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
            Assert.Single(t.Masters());
        }

        [Fact]
        public async Task WithoutMultiplexingEveryCommandLogsInAgain()
        {
            using var t = new FleetTestRun(_fleet, ssh => ssh.Multiplex = false);
            var before = _fleet.CountAcceptedLogins();
            for (var i = 0; i < 3; i++) Assert.True((await t.RunOneAsync(_fleet.Hosts[4], "true")).Succeeded);
            Assert.Equal(3, _fleet.CountAcceptedLogins() - before);
            Assert.Empty(t.Masters());
        }

        [Fact]
        public async Task AStaleSocketIsReplacedByANewMaster()
        {
            using var t = new FleetTestRun(_fleet);
            Assert.True((await t.RunOneAsync(_fleet.Hosts[5], "true")).Succeeded);
            var master = Assert.Single(t.Masters());
            ProcessTable.Signal(master.Pid, ProcessTable.SigKill);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Pid == master.Pid, TimeSpan.FromSeconds(10)));
            Assert.NotEmpty(ConnectionPool.For(t.ControlDirectory).Sockets()); // the socket file outlived its master
            var before = _fleet.CountAcceptedLogins();
            var again = await t.RunOneAsync(_fleet.Hosts[5], "echo back");
            Assert.True(again.Succeeded, again.ErrorMessage);
            Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
            Assert.NotEqual(master.Pid, Assert.Single(t.Masters()).Pid);
        }

        [Fact]
        public async Task DisconnectClosesEveryMaster()
        {
            using var t = new FleetTestRun(_fleet);
            Assert.True((await t.RunOneAsync(_fleet.Hosts[6], "true")).Succeeded);
            Assert.Single(t.Masters());
            var closed = await ConnectionPool.For(t.ControlDirectory).DisconnectAllAsync("ssh", default);
            Assert.True(Assert.Single(closed).Value);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(t.ControlDirectory) && p.CommandLine.Contains("[mux]"), TimeSpan.FromSeconds(10)));
            Assert.Empty(ConnectionPool.For(t.ControlDirectory).Sockets());
        }

        [Fact]
        public async Task DisconnectDuringARunLetsItsCommandsFinishAndClosesTheMasterAfterwards()
        {
            using var t = new FleetTestRun(_fleet);
            var host = _fleet.Hosts[15];
            Assert.True((await t.RunOneAsync(host, "true")).Succeeded);
            var master = Assert.Single(t.Masters());
            // A command in flight on the master: it waits for a file the test creates once the disconnect is done.
            var release = Path.Combine(_fleet.WorkDir, "release-" + Guid.NewGuid().ToString("N"));
            var marker = Execution.LocalRunnerTests.UniqueSleep();
            var run = new FleetRunner(t.Transport()).Start(FleetTestRun.Hosts(host),
                $"while [ ! -e {release} ]; do sleep 0.05; done; echo finished {marker}", new FleetRunOptions());
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (ProcessTable.FindByCommandLine(marker).All(p => p.Name != "sh") && DateTime.UtcNow < deadline) await Task.Delay(20);
            var closed = await ConnectionPool.For(t.ControlDirectory).DisconnectAllAsync("ssh", default);
            Assert.True(Assert.Single(closed).Value);
            Assert.Empty(ConnectionPool.For(t.ControlDirectory).Sockets()); // nothing new can join it
            Assert.True(ProcessTable.IsAlive(master.Pid)); // but it still carries the running command
            File.WriteAllText(release, "");
            var r = await run.Results.ReadAsync();
            Assert.True(r.Succeeded, $"{r.Status}: {r.ErrorMessage} {r.StdErr}");
            Assert.Equal($"finished {marker}\n", r.StdOut);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Pid == master.Pid, TimeSpan.FromSeconds(15))); // and then it closes
        }

        [Fact]
        public async Task DisconnectingSelectedHostsClosesOnlyTheirMasters()
        {
            using var t = new FleetTestRun(_fleet);
            Assert.All(await t.RunAsync(FleetTestRun.Hosts(_fleet.Hosts[12], _fleet.Hosts[13]), "true"), r => Assert.True(r.Succeeded));
            Assert.Equal(2, t.Masters().Count);
            var request = new FleetCommandRequest { SshConfigPath = _fleet.SshConfigPath, ControlDirectory = t.ControlDirectory };
            request.Selection.Hosts.Add(_fleet.Hosts[12]);
            var results = await FleetDisconnect.RunAsync(request, default);
            Assert.True(Assert.Single(results).Closed);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (t.Masters().Count > 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Single(t.Masters()); // the other host's master is untouched
            Assert.True((await t.RunOneAsync(_fleet.Hosts[13], "true")).Succeeded);
        }

        [Fact]
        public async Task ATimeoutEndsACommandThatIgnoresSigtermWithSigkillAndSaysSo()
        {
            using var t = new FleetTestRun(_fleet);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(_fleet.Hosts[14], $"trap '' TERM HUP INT; sleep {sleep}; echo never",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2), StopGrace = TimeSpan.FromSeconds(1) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal("the command ran longer than 2s and was ended by SIGKILL (it was still running 1s after SIGTERM)", r.ErrorMessage);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
            // The stop went through the session: the pooled master that carried it is still up for the next command.
            Assert.True((await t.RunOneAsync(_fleet.Hosts[14], "true")).Succeeded);
        }

        [Fact]
        public void TheArgumentVectorNeverPromptsChecksKeysAndEndsOptionsBeforeTheHost()
        {
            var transport = new OpenSshTransport(new SshOptions { ConfigFile = "/x/cfg", Multiplex = false });
            var args = transport.BuildArguments(new FleetHost("web-01") { User = "deploy", Port = 2222 }, new RemoteInvocation("uptime")).ToList();
            Assert.Contains("BatchMode=yes", args);
            Assert.Contains("StrictHostKeyChecking=yes", args);
            Assert.Contains("ControlPath=none", args);
            var dashes = args.IndexOf("--");
            Assert.Equal("web-01", args[dashes + 1]);
            Assert.Equal(dashes + 3, args.Count); // host, then the one command word
            Assert.True(args.IndexOf("-l") < dashes && args.IndexOf("-p") < dashes);
        }

        [Fact]
        public async Task AHostNameThatLooksLikeAnOptionIsNeverPassedToSsh()
        {
            var marker = Path.Combine(_fleet.WorkDir, "pwned-" + Guid.NewGuid().ToString("N"));
            var evil = "-oProxyCommand=touch " + marker;
            // The inventory/selection layer rejects it...
            Assert.Throws<FormatException>(() => FleetHost.ParseAdHoc(evil));
            var selection = new HerdPS.Selection.HostSelection();
            selection.Hosts.Add("-oProxyCommand=touch_" + "x");
            Assert.ThrowsAny<Exception>(() => HerdPS.Selection.HostSelector.Select(FleetInventory.EmbeddedDefault(), selection));
            // ...and the transport refuses it even if a caller builds such a host by hand.
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(evil, "true");
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Contains("refused", r.ErrorMessage);
            Assert.False(File.Exists(marker));
        }
    }
}
