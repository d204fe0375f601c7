using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// The fleet itself, driven with plain <c>ssh -F</c>: good hosts answer, each fault host fails the way it
    /// should, multiplexing reuses one login. The stderr texts are written to the test output because the
    /// transport classifies failures from them.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class SshFleetTests
    {
        private readonly SshFleet _fleet;
        private readonly ITestOutputHelper _output;

        public SshFleetTests(SshFleet fleet, ITestOutputHelper output)
        {
            _fleet = fleet;
            _output = output;
        }

        [Fact]
        public async Task GoodHostRunsACommandAsTheFleetUser()
        {
            var r = await _fleet.RunSshAsync(_fleet.Hosts[0], "echo hi; id -un");
            Assert.Equal(0, r.ExitCode);
            Assert.Equal($"hi\n{_fleet.User}\n", r.StdOut);
            Assert.Equal("", r.StdErr);
        }

        [Fact]
        public async Task RemoteExitCodeComesBack()
        {
            var r = await _fleet.RunSshAsync(_fleet.Hosts[1], "echo out; echo err >&2; exit 7");
            Assert.Equal((7, "out\n", "err\n"), (r.ExitCode, r.StdOut, r.StdErr));
        }

        [Fact]
        public async Task RefusedHostIsRefused()
        {
            var r = await Fault(_fleet.RefusedHost);
            Assert.Contains($"connect to host 127.0.0.1 port {_fleet.RefusedPort}: Connection refused", r.StdErr);
        }

        [Fact]
        public async Task BlackholeHostTimesOutDuringBannerExchange()
        {
            var r = await Fault(_fleet.BlackholeHost, "-o", "ConnectTimeout=2");
            Assert.Contains("timed out", r.StdErr);
            Assert.True(r.Elapsed < TimeSpan.FromSeconds(20), $"took {r.Elapsed}");
            Assert.True(_fleet.BlackholeConnectionCount > 0);
        }

        [Fact]
        public async Task UnknownHostKeyIsRefused()
        {
            // With the default StrictHostKeyChecking=ask and BatchMode, ssh says only this one line.
            var r = await Fault(_fleet.UnknownKeyHost);
            Assert.Equal("Host key verification failed.\r\n", r.StdErr);
        }

        [Fact]
        public async Task UnknownHostKeyUnderStrictCheckingIsNamed()
        {
            var r = await Fault(_fleet.UnknownKeyHost, "-o", "StrictHostKeyChecking=yes");
            Assert.Contains($"No ED25519 host key is known for {_fleet.UnknownKeyHost} and you have requested strict checking.", r.StdErr);
            Assert.Contains("Host key verification failed.", r.StdErr);
        }

        [Fact]
        public async Task MismatchedHostKeyIsRefused()
        {
            var r = await Fault(_fleet.MismatchKeyHost);
            Assert.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED!", r.StdErr);
            Assert.Contains("Host key verification failed.", r.StdErr);
        }

        [Fact]
        public async Task UnauthorizedKeyFailsAuthentication()
        {
            var r = await Fault(_fleet.AuthFailHost);
            Assert.Contains($"{_fleet.User}@127.0.0.1: Permission denied (publickey).", r.StdErr);
        }

        [Fact]
        public async Task UnresolvableHostFailsNameResolution()
        {
            var r = await Fault(_fleet.UnresolvableHost);
            Assert.Contains("Could not resolve hostname no-such-host.invalid", r.StdErr);
        }

        [Fact]
        public async Task ExtraHostAnswersAndItsConfigReachesTheFleetToo()
        {
            using var extra = _fleet.StartExtraHost("extra-answers");
            Assert.NotEqual(_fleet.Port, extra.Port);
            var r = await _fleet.RunSshAsync(extra.Alias, "echo extra", configPath: extra.SshConfigPath);
            Assert.Equal((0, "extra\n"), (r.ExitCode, r.StdOut));
            Assert.Equal(1, extra.CountAcceptedLogins());
            r = await _fleet.RunSshAsync(_fleet.Hosts[2], "echo main", configPath: extra.SshConfigPath);
            Assert.Equal((0, "main\n"), (r.ExitCode, r.StdOut));
        }

        [Fact]
        public async Task KilledExtraHostDropsTheCommandInFlight()
        {
            using var extra = _fleet.StartExtraHost("extra-killed");
            var token = UniqueSleep(30);
            var psi = _fleet.SshStartInfo(extra.Alias, token, configPath: extra.SshConfigPath);
            var run = ProcessRunner.RunAsync(psi, TimeSpan.FromSeconds(60));
            WaitFor(() => ProcessTable.FindByCommandLine(token).Any(p => p.Name == "sleep"), "remote sleep to start");

            extra.Kill();

            var r = await run;
            _output.WriteLine($"killed mid-command: exit {r.ExitCode} after {r.Elapsed.TotalSeconds:F1}s, stderr: {r.StdErr}");
            Assert.Equal(255, r.ExitCode);
            Assert.Contains("closed by remote host", r.StdErr);
            Assert.False(extra.IsRunning);
            Assert.Empty(ProcessTable.FindByCommandLine(token)); // the remote command died with its host
        }

        [Fact]
        public async Task MultiplexedCommandsShareOneLogin()
        {
            var options = _fleet.MultiplexOptions();
            // %C hashes the HostName (127.0.0.1), port and user, so every fleet alias maps to the same socket:
            // close a master an earlier test may have left there, or it would serve both commands.
            await _fleet.ControlMasterAsync(_fleet.Hosts[0], "exit", options);
            var before = _fleet.CountAcceptedLogins();

            var first = await _fleet.RunSshAsync(_fleet.Hosts[0], "echo one", options);
            var second = await _fleet.RunSshAsync(_fleet.Hosts[0], "echo two", options);

            Assert.Equal((0, "one\n"), (first.ExitCode, first.StdOut));
            Assert.Equal((0, "two\n"), (second.ExitCode, second.StdOut));
            Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
            Assert.NotEmpty(Directory.GetFileSystemEntries(_fleet.ControlDirectory));
        }

        [Fact]
        public async Task AllHostsAnswer()
        {
            const int parallelism = 8;
            var failures = new ConcurrentBag<string>();
            var sw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(_fleet.Hosts, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (alias, _) =>
            {
                var r = await _fleet.RunSshAsync(alias, "echo " + alias);
                if (r.ExitCode != 0 || r.StdOut != alias + "\n")
                {
                    failures.Add($"{alias}: exit {r.ExitCode}: {r.StdErr}");
                }
            });
            _output.WriteLine($"{_fleet.Hosts.Count} hosts, fresh connections, {parallelism} at a time: {sw.Elapsed.TotalSeconds:F1}s");
            Assert.Empty(failures);
        }

        [Fact]
        public async Task DisposeLeavesNothingBehind()
        {
            // A fleet of its own: the shared one must outlive this test.
            var started = Stopwatch.StartNew();
            var fleet = SshFleet.Start(3);
            _output.WriteLine($"fleet started in {started.Elapsed.TotalSeconds:F2}s");
            var extra = fleet.StartExtraHost("extra-dispose");
            var token = UniqueSleep(300);
            var master = await fleet.RunSshAsync(fleet.Hosts[0], "true", fleet.MultiplexOptions());
            Assert.Equal(0, master.ExitCode);
            var stuck = ProcessRunner.RunAsync(fleet.SshStartInfo(extra.Alias, token, configPath: extra.SshConfigPath), TimeSpan.FromSeconds(60));
            WaitFor(() => ProcessTable.FindByCommandLine(token).Any(), "remote sleep to start");
            var pids = new[] { fleet.SshdPid, extra.Pid };

            fleet.Dispose();

            // 255 when ssh noticed its host die first, 137 when the sweep of clients naming WorkDir killed it.
            var r = await stuck;
            Assert.Contains(r.ExitCode, new[] { 255, 137 });
            Assert.All(pids, pid => Assert.False(ProcessTable.IsAlive(pid)));
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(fleet.WorkDir) || p.CommandLine.Contains(fleet.ControlDirectory) || p.CommandLine.Contains(token), TimeSpan.FromSeconds(5)));
            Assert.False(Directory.Exists(fleet.WorkDir));
            Assert.False(Directory.Exists(fleet.ControlDirectory));
        }

        private async Task<ProcessOutcome> Fault(string alias, params string[] options)
        {
            var r = await _fleet.RunSshAsync(alias, "echo should-not-run", options);
            _output.WriteLine($"{alias}: exit {r.ExitCode} after {r.Elapsed.TotalSeconds:F1}s, stderr: {r.StdErr}");
            Assert.Equal(255, r.ExitCode);
            Assert.Equal("", r.StdOut);
            return r;
        }

        /// <summary>A remote `sleep` whose fractional duration makes its command line unique in the process table.</summary>
        internal static string UniqueSleep(int seconds) =>
            $"sleep {seconds}.{Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture)}";

        internal static void WaitFor(Func<bool> condition, string what)
        {
            var sw = Stopwatch.StartNew();
            while (!condition())
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(20))
                {
                    throw new TimeoutException("timed out waiting for " + what);
                }
                Thread.Sleep(25);
            }
        }
    }
}
