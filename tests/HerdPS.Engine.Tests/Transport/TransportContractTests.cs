using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// The transport contract (docs/transports.md), run against every SSH transport on the real fleet: the same
    /// statuses, exit codes, error kinds, messages and NDJSON fields whichever transport carries the command.
    /// </summary>
    public abstract class TransportContractTests
    {
        protected TransportContractTests(SshFleet fleet)
        {
            Fleet = fleet;
        }

        protected SshFleet Fleet { get; }
        protected abstract string Kind { get; }
        /// <summary>Through a shared pool process (herd's sshnet), not in this process.</summary>
        protected virtual bool SharedPool => false;

        private protected FleetTestRun Run(Action<SshOptions>? configure = null) => new FleetTestRun(Fleet, configure, Kind, SharedPool);

        [Fact]
        public async Task RunsACommandAndKeepsStdoutStderrAndExitCodeApart()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[0], "echo out; echo err >&2; exit 7");
            Assert.Equal(FleetStatus.Failed, r.Status);
            Assert.Equal(7, r.ExitCode);
            Assert.Equal("out\n", r.StdOut);
            Assert.Equal("err\n", r.StdErr);
            Assert.Equal(FleetErrorKind.None, r.ErrorKind);
            Assert.Equal(Kind, r.Transport);
            using var json = JsonDocument.Parse(FleetResultJson.Serialize(r));
            Assert.Equal(Kind, json.RootElement.GetProperty("transport").GetString());
            Assert.Equal(7, json.RootElement.GetProperty("exitCode").GetInt32());
        }

        [Fact]
        public async Task ARemoteExit255IsTheCommandsOwnNotATransportFailure()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[1], "echo 'boom' >&2; exit 255");
            Assert.Equal(FleetStatus.Failed, r.Status);
            Assert.Equal(255, r.ExitCode);
        }

        [Fact]
        public async Task TheCommandRunsUnderTheLoginShellWithQuotesIntact()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[2], "printf '%s|' \"a b\" 'c'\"'\"'d' \"$((6*7))\"");
            Assert.True(r.Succeeded, r.StdErr);
            Assert.Equal("a b|c'd|42|", r.StdOut);
        }

        [Fact]
        public async Task ACommandThatStartsWithADashIsTheCommandNotAShellOption()
        {
            // "sh -c -x..." would read "-x ..." as the shell's own options and never run the echo.
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[3], "-x 2>/dev/null; echo ran");
            Assert.True(r.Succeeded, r.ErrorMessage + r.StdErr);
            Assert.Equal("ran\n", r.StdOut);
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
            using var t = Run();
            var r = await t.RunOneAsync(host, "true", new FleetRunOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(kind, r.ErrorKind);
            Assert.Null(r.ExitCode);
            Assert.Contains(advice, r.ErrorMessage);
            Assert.Equal(Kind, r.Transport);
            var error = FleetErrorRecords.ForResult(r);
            Assert.NotNull(error);
            Assert.Equal(host, error!.Target);
        }

        [Fact]
        public async Task AcceptNewLearnsAnUnknownKeyButStillRefusesAChangedOne()
        {
            var knownHosts = Path.Combine(Fleet.WorkDir, "known_hosts.acceptnew." + Kind);
            File.Copy(Fleet.KnownHostsPath, knownHosts, true);
            using var t = Run(ssh =>
            {
                ssh.HostKeyPolicy = HostKeyPolicy.AcceptNew;
                ssh.ExtraOptions.Add("UserKnownHostsFile=" + knownHosts);
            });
            var unknown = await t.RunOneAsync(Fleet.UnknownKeyHost, "echo learned");
            Assert.True(unknown.Succeeded, unknown.ErrorMessage);
            Assert.Contains(Fleet.UnknownKeyHost, File.ReadAllText(knownHosts));
            Assert.DoesNotContain("Permanently added", unknown.StdErr);
            var mismatch = await t.RunOneAsync(Fleet.MismatchKeyHost, "true");
            Assert.Equal(FleetErrorKind.HostKeyMismatch, mismatch.ErrorKind);
        }

        [Fact]
        public async Task InsecureConnectsToAHostWithAnUnknownKeyAndLearnsNothing()
        {
            var knownHostsBefore = File.ReadAllText(Fleet.KnownHostsPath);
            using var t = Run(ssh => ssh.HostKeyPolicy = HostKeyPolicy.Insecure);
            var r = await t.RunOneAsync(Fleet.UnknownKeyHost, "echo in");
            Assert.True(r.Succeeded, r.ErrorMessage);
            Assert.Equal(knownHostsBefore, File.ReadAllText(Fleet.KnownHostsPath));
            // A later checked run must still refuse the host, even through the same pool.
            var strict = new FleetRunner(t.Transport(new SshOptions { ConfigFile = t.Ssh.ConfigFile, ControlDirectory = t.ControlDirectory }))
                .Start(FleetTestRun.Hosts(Fleet.UnknownKeyHost), "true", new FleetRunOptions());
            var checkedRun = await strict.Results.ReadAsync();
            Assert.Equal(FleetErrorKind.HostKeyUnknown, checkedRun.ErrorKind);
        }

        [Fact]
        public async Task ATimeoutEndsTheRemoteCommandToo()
        {
            using var t = Run();
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(Fleet.Hosts[7], $"sleep {sleep}; echo never", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(3) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal(FleetErrorKind.CommandTimeout, r.ErrorKind);
            Assert.Equal("the command ran longer than 3s and was ended by SIGTERM", r.ErrorMessage);
            Assert.Equal(Kind, r.Transport);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public async Task OnAConnectionThatCarriedACommandAlreadyTheWrapperStillReportsTheExitAndATimeoutStillEndsTheCommand()
        {
            using var t = Run();
            var host = Fleet.Hosts[9];
            // What runs the wrapper (the command's parent): /bin/sh exec'd by the login shell, or, once the SSH.NET pool
            // learnt from a trailer that the login shell is /bin/sh (the fleet user's is), that shell itself (sshd names it "sh").
            const string wrapperArgv = "tr '\\0' ' ' < /proc/$PPID/cmdline | cut -c1-13";
            var first = await t.RunOneAsync(host, wrapperArgv);
            Assert.True(first.Succeeded, first.ErrorMessage);
            Assert.StartsWith("/bin/sh -c ", first.StdOut);
            var second = await t.RunOneAsync(host, wrapperArgv + "; echo err >&2; exit 3");
            Assert.Equal(FleetStatus.Failed, second.Status);
            Assert.Equal(3, second.ExitCode);
            Assert.Equal("err\n", second.StdErr);
            Assert.StartsWith(Kind == TransportKinds.SshNet ? "sh -c set -- " : "/bin/sh -c ", second.StdOut);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var stopped = await t.RunOneAsync(host, $"sleep {sleep}; echo never", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(3) });
            Assert.Equal(FleetStatus.TimedOut, stopped.Status);
            Assert.Equal("the command ran longer than 3s and was ended by SIGTERM", stopped.ErrorMessage);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
            var after = await t.RunOneAsync(host, "echo still");
            Assert.Equal("still\n", after.StdOut);
        }

        [Fact]
        public async Task ATimeoutEndsACommandThatIgnoresSigtermWithSigkillAndTheConnectionStaysUsable()
        {
            using var t = Run();
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(Fleet.Hosts[14], $"trap '' TERM HUP INT; sleep {sleep}; echo never",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2), StopGrace = TimeSpan.FromSeconds(1) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Equal("the command ran longer than 2s and was ended by SIGKILL (it was still running 1s after SIGTERM)", r.ErrorMessage);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
            // The stop went through the session: the pooled connection that carried it carries the next command.
            var before = Fleet.CountAcceptedLogins();
            Assert.True((await t.RunOneAsync(Fleet.Hosts[14], "true")).Succeeded);
            Assert.Equal(0, Fleet.CountAcceptedLogins() - before);
        }

        [Fact]
        public async Task AHostThatNeverConnectedBeforeTheTimeoutTimedOutConnectingAndNothingRan()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.BlackholeHost, "true",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(30) });
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(FleetErrorKind.ConnectTimeout, r.ErrorKind);
            Assert.Null(r.ExitCode);
            Assert.Equal("connecting to blackhole timed out: no session within the 2s timeout, so the command never started", r.ErrorMessage);
            var retried = await t.RunOneAsync(Fleet.BlackholeHost, "true",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(30), Retries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
            Assert.Equal(2, retried.Attempts);
        }

        [Fact]
        public async Task AConnectionLostMidCommandIsUnreachableAndNotRetried()
        {
            using var extra = Fleet.StartExtraHost("killable-" + Kind + (SharedPool ? "-pool" : ""));
            using var t = Run(ssh => ssh.ConfigFile = extra.SshConfigPath);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var run = new FleetRunner(t.Transport()).Start(FleetTestRun.Hosts(extra.Alias), $"sleep {sleep}", new FleetRunOptions { Retries = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (ProcessTable.FindByCommandLine(sleep).All(p => p.Name != "sleep") && DateTime.UtcNow < deadline) await Task.Delay(20);
            extra.Kill();
            var r = await run.Results.ReadAsync();
            Assert.True(r.Status == FleetStatus.Unreachable, $"{r.Status} exit={r.ExitCode} stderr=[{r.StdErr}] {r.ErrorMessage}");
            Assert.Equal(FleetErrorKind.TransportError, r.ErrorKind);
            Assert.Contains("may have run in part", r.ErrorMessage);
            Assert.Equal(1, r.Attempts);
        }

        [Fact]
        public async Task ConnectionFailuresAreRetriedButACommandThatRanIsNot()
        {
            using var t = Run();
            var options = new FleetRunOptions { Retries = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(20), ConnectTimeout = TimeSpan.FromSeconds(2) };
            var refused = await t.RunOneAsync(Fleet.RefusedHost, "true", options);
            Assert.Equal(3, refused.Attempts);
            Assert.Equal(FleetErrorKind.ConnectionRefused, refused.ErrorKind);
            var hostKey = await t.RunOneAsync(Fleet.MismatchKeyHost, "true", options);
            Assert.Equal(1, hostKey.Attempts);
            var failed = await t.RunOneAsync(Fleet.Hosts[8], "exit 1", options);
            Assert.Equal(1, failed.Attempts);
            options.RetryOnFailure = true;
            var asked = await t.RunOneAsync(Fleet.Hosts[8], "exit 1", options);
            Assert.Equal(3, asked.Attempts);
        }

        [Fact]
        public async Task OutputPastTheCapIsCutAndFlagged()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[9], "head -c 300000 /dev/zero | tr '\\0' x", new FleetRunOptions { MaxOutputBytes = 4096 });
            Assert.True(r.Succeeded);
            Assert.True(r.Truncated);
            Assert.Equal(4096, r.StdOut.Length);
        }

        [Fact]
        public async Task HugeOutputSpillsToAPrivateFileAndArrivesWhole()
        {
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var spill = new OutputSpill(Path.Combine(dir.Path, "spill"), 64 * 1024);
            using var t = Run();
            // 6 MiB of numbered lines on stdout, and a little stderr.
            var r = await t.RunOneAsync(Fleet.Hosts[10], "seq 1 800000; echo done >&2", new FleetRunOptions { Spill = spill });
            Assert.True(r.Succeeded, r.ErrorMessage);
            Assert.False(r.Truncated);
            Assert.True(r.HasSpilledOutputForTests());
            var expected = string.Concat(Enumerable.Range(1, 800000).Select(i => i + "\n"));
            Assert.Equal(expected.Length, r.StdOut.Length);
            Assert.Equal(expected, r.StdOut);
            Assert.Equal("done\n", r.StdErr);
            Assert.Equal(OutputCapture.HashOf(expected, "done\n", 0), r.OutputHash);
        }

        [Fact]
        public async Task StdoutAndStderrBusyAtOnceOnSeveralHostsArriveWholeAndInOrder()
        {
            // Both streams of a command come in on one connection, and under sshnet each chunk is handed over on that
            // connection's reader thread (BoundedOutput): every byte must still arrive, in its stream's order, on
            // every host at once, past the spill threshold.
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var spill = new OutputSpill(Path.Combine(dir.Path, "spill"), 64 * 1024);
            using var t = Run();
            var hosts = FleetTestRun.Hosts(Fleet.Hosts.Skip(40).Take(6).ToArray());
            var run = new FleetRunner(t.Transport()).Start(hosts, "seq 1 150000 & seq 500000 600000 >&2; wait",
                new FleetRunOptions { Throttle = 6, Spill = spill }, null, CancellationToken.None);
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            var expectedOut = string.Concat(Enumerable.Range(1, 150000).Select(i => i + "\n"));
            var expectedErr = string.Concat(Enumerable.Range(500000, 100001).Select(i => i + "\n"));
            Assert.Equal(6, results.Count);
            Assert.All(results, r =>
            {
                Assert.True(r.Succeeded, r.ErrorMessage);
                Assert.False(r.Truncated);
                Assert.Equal(expectedOut, r.StdOut);
                Assert.Equal(expectedErr, r.StdErr);
                Assert.Equal(OutputCapture.HashOf(expectedOut, expectedErr, 0), r.OutputHash);
            });
        }

        [Fact]
        public async Task BinaryOutputHashesItsExactBytes()
        {
            using var t = Run();
            var r = await t.RunOneAsync(Fleet.Hosts[11], "printf '\\000\\001\\377\\376abc\\n\\200'");
            Assert.True(r.Succeeded, r.ErrorMessage);
            var bytes = new byte[] { 0, 1, 0xff, 0xfe, (byte)'a', (byte)'b', (byte)'c', (byte)'\n', 0x80 };
            using var sha = SHA256.Create();
            Assert.Equal(OutputCapture.CombineHash(sha.ComputeHash(bytes), sha.ComputeHash(Array.Empty<byte>()), 0), r.OutputHash);
            Assert.Equal(Encoding.UTF8.GetString(bytes), r.StdOut);
        }

        [Fact]
        public async Task CancellingARunEndsEveryRemoteCommandAndReportsEachHostCancelled()
        {
            using var t = Run();
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            using var cts = new CancellationTokenSource();
            var hosts = FleetTestRun.Hosts(Fleet.Hosts.Skip(20).Take(12).ToArray());
            var run = new FleetRunner(t.Transport()).Start(hosts, $"sleep {sleep}", new FleetRunOptions { Throttle = 6 }, null, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (ProcessTable.FindByCommandLine(sleep).Count(p => p.Name == "sleep") < 6 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(6, ProcessTable.FindByCommandLine(sleep).Count(p => p.Name == "sleep"));
            cts.Cancel();
            var results = new List<FleetResult>();
            await foreach (var r in run.ReadAllAsync()) results.Add(r);
            Assert.Equal(12, results.Count);
            Assert.All(results, r => Assert.Equal(FleetStatus.Cancelled, r.Status));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "ssh" && p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(10)));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.Name == "sleep" && p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public async Task AHostNameThatLooksLikeAnOptionIsNeverUsed()
        {
            var marker = Path.Combine(Fleet.WorkDir, "pwned-" + Guid.NewGuid().ToString("N"));
            using var t = Run();
            var r = await t.RunOneAsync("-oProxyCommand=touch " + marker, "true");
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Contains("refused", r.ErrorMessage);
            Assert.False(File.Exists(marker));
        }
    }

    [Collection("ssh fleet")]
    public sealed class OpenSshContractTests : TransportContractTests
    {
        public OpenSshContractTests(SshFleet fleet) : base(fleet) { }
        protected override string Kind => TransportKinds.OpenSsh;
    }

    [Collection("ssh fleet")]
    public sealed class SshNetContractTests : TransportContractTests
    {
        public SshNetContractTests(SshFleet fleet) : base(fleet) { }
        protected override string Kind => TransportKinds.SshNet;
    }

    /// <summary>The same contract through the shared pool process herd runs use (served in this process here).</summary>
    [Collection("ssh fleet")]
    public sealed class SharedPoolContractTests : TransportContractTests
    {
        public SharedPoolContractTests(SshFleet fleet) : base(fleet) { }
        protected override string Kind => TransportKinds.SshNet;
        protected override bool SharedPool => true;
    }

    internal static class FleetResultTestExtensions
    {
        public static bool HasSpilledOutputForTests(this FleetResult r) => r.HasSpilledOutput;
    }
}
