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
        public async Task RunsACommandAndKeepsStdoutStderrAndExitCodeApart()
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(_fleet.Hosts[0], "echo out; echo err >&2; exit 7");
            Assert.Equal(FleetStatus.Failed, r.Status);
            Assert.Equal(7, r.ExitCode);
            Assert.Equal("out\n", r.StdOut);
            Assert.Equal("err\n", r.StdErr);
            Assert.Equal(FleetErrorKind.None, r.ErrorKind);
        }

        [Fact]
        public async Task ARemoteExit255IsTheCommandsOwnNotATransportFailure()
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(_fleet.Hosts[1], "echo 'boom' >&2; exit 255");
            Assert.Equal(FleetStatus.Failed, r.Status);
            Assert.Equal(255, r.ExitCode);
        }

        [Fact]
        public async Task TheCommandRunsUnderTheLoginShellWithQuotesIntact()
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(_fleet.Hosts[2], "printf '%s|' \"a b\" 'c'\"'\"'d' \"$((6*7))\"");
            Assert.True(r.Succeeded, r.StdErr);
            Assert.Equal("a b|c'd|42|", r.StdOut);
        }

        [Theory]
        [InlineData("refused", FleetErrorKind.ConnectionRefused, "refused")]
        [InlineData("unknown-key", FleetErrorKind.HostKeyUnknown, "accept-new-host-keys")]
        [InlineData("mismatch-key", FleetErrorKind.HostKeyMismatch, "ssh-keygen -R")]
        [InlineData("auth-fail", FleetErrorKind.AuthenticationFailed, "authentication")]
        [InlineData("unresolvable", FleetErrorKind.NameResolution, "resolved")]
        [InlineData("blackhole", FleetErrorKind.ConnectTimeout, "timed out")]
        public async Task EachFailureKindIsUnreachableWithItsReasonAndAdvice(string host, FleetErrorKind kind, string advice)
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(host, "true", new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(kind, r.ErrorKind);
            Assert.Null(r.ExitCode);
            Assert.Contains(advice, r.ErrorMessage);
        }

        [Fact]
        public async Task AcceptNewLearnsAnUnknownKeyButStillRefusesAChangedOne()
        {
            var knownHosts = Path.Combine(_fleet.WorkDir, "known_hosts.acceptnew");
            File.Copy(_fleet.KnownHostsPath, knownHosts, true);
            using var t = new FleetTestRun(_fleet, ssh =>
            {
                ssh.HostKeyPolicy = HostKeyPolicy.AcceptNew;
                ssh.ExtraOptions.Add("UserKnownHostsFile=" + knownHosts);
            });
            var unknown = await t.RunOneAsync(_fleet.UnknownKeyHost, "echo learned");
            Assert.True(unknown.Succeeded, unknown.ErrorMessage);
            Assert.Contains(_fleet.UnknownKeyHost, File.ReadAllText(knownHosts));
            Assert.DoesNotContain("Permanently added", unknown.StdErr);
            var mismatch = await t.RunOneAsync(_fleet.MismatchKeyHost, "true");
            Assert.Equal(FleetErrorKind.HostKeyMismatch, mismatch.ErrorKind);
        }

        [Fact]
        public async Task InsecureConnectsToAHostWithAnUnknownKey()
        {
            var knownHostsBefore = File.ReadAllText(_fleet.KnownHostsPath);
            using var t = new FleetTestRun(_fleet, ssh => ssh.HostKeyPolicy = HostKeyPolicy.Insecure);
            var r = await t.RunOneAsync(_fleet.UnknownKeyHost, "echo in");
            Assert.True(r.Succeeded, r.ErrorMessage);
            // Nothing learned: a later checked run must still refuse the host, even through the same pool.
            Assert.Equal(knownHostsBefore, File.ReadAllText(_fleet.KnownHostsPath));
            var strict = new FleetRunner(new OpenSshTransport(new SshOptions { ConfigFile = _fleet.SshConfigPath, ControlDirectory = t.ControlDirectory }))
                .Start(FleetTestRun.Hosts(_fleet.UnknownKeyHost), "true", new FleetRunOptions());
            var checkedRun = await strict.Results.ReadAsync();
            Assert.Equal(FleetErrorKind.HostKeyUnknown, checkedRun.ErrorKind);
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
        public async Task ATimeoutEndsTheRemoteCommandToo()
        {
            using var t = new FleetTestRun(_fleet);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(_fleet.Hosts[7], $"sleep {sleep}; echo never", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(3) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal(FleetErrorKind.CommandTimeout, r.ErrorKind);
            Assert.Equal("the command ran longer than 3s and was ended by SIGTERM", r.ErrorMessage);
            Assert.Equal("openssh", r.Transport);
            // The sshd is on this machine, so the remote side's processes are in our process table.
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
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
        public async Task AHostThatNeverConnectedBeforeTheTimeoutTimedOutConnectingAndNothingRan()
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(_fleet.BlackholeHost, "true",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(30) });
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(FleetErrorKind.ConnectTimeout, r.ErrorKind);
            Assert.Null(r.ExitCode);
            Assert.Equal("connecting to blackhole timed out: no session within the 2s timeout, so the command never started", r.ErrorMessage);
            // Nothing ran, so a retry is safe and is made.
            var retried = await t.RunOneAsync(_fleet.BlackholeHost, "true",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(30), Retries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
            Assert.Equal(2, retried.Attempts);
        }

        [Fact]
        public async Task AConnectionLostMidCommandIsUnreachableAndNotRetried()
        {
            using var extra = _fleet.StartExtraHost("killable");
            using var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = extra.SshConfigPath);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var run = new FleetRunner(t.Transport()).Start(FleetTestRun.Hosts(extra.Alias), $"sleep {sleep}", new FleetRunOptions { Retries = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
            var deadline = DateTime.UtcNow.AddSeconds(30);
            // Wait for the remote sleep itself (the local ssh client's command line names it too).
            while (ProcessTable.FindByCommandLine(sleep).All(p => p.Name != "sleep") && DateTime.UtcNow < deadline) await Task.Delay(20);
            extra.Kill();
            var r = await run.Results.ReadAsync();
            Assert.True(r.Status == FleetStatus.Unreachable, $"{r.Status} exit={r.ExitCode} stderr=[{r.StdErr}] {r.ErrorMessage}");
            Assert.Equal(FleetErrorKind.TransportError, r.ErrorKind);
            Assert.Equal(1, r.Attempts);
        }

        [Fact]
        public async Task ConnectionFailuresAreRetriedButACommandThatRanIsNot()
        {
            using var t = new FleetTestRun(_fleet);
            var options = new FleetRunOptions { Retries = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(20), ConnectTimeout = TimeSpan.FromSeconds(2) };
            var refused = await t.RunOneAsync(_fleet.RefusedHost, "true", options);
            Assert.Equal(3, refused.Attempts);
            Assert.Equal(FleetErrorKind.ConnectionRefused, refused.ErrorKind);
            var hostKey = await t.RunOneAsync(_fleet.MismatchKeyHost, "true", options);
            Assert.Equal(1, hostKey.Attempts); // a changed key won't change back in a second
            var failed = await t.RunOneAsync(_fleet.Hosts[8], "exit 1", options);
            Assert.Equal(1, failed.Attempts);
            options.RetryOnFailure = true;
            var asked = await t.RunOneAsync(_fleet.Hosts[8], "exit 1", options);
            Assert.Equal(3, asked.Attempts);
        }

        [Fact]
        public async Task OutputPastTheCapIsCutAndFlagged()
        {
            using var t = new FleetTestRun(_fleet);
            var r = await t.RunOneAsync(_fleet.Hosts[9], "head -c 300000 /dev/zero | tr '\\0' x", new FleetRunOptions { MaxOutputBytes = 4096 });
            Assert.True(r.Succeeded);
            Assert.True(r.Truncated);
            Assert.Equal(4096, r.StdOut.Length);
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
