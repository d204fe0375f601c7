using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// Facts about the OpenSSH client (9.2 here) that the transport's design rests on: what a ControlPersist
    /// master does to the first client's pipes and process tree, how a stale socket recovers, and whether a
    /// remote command outlives a killed client. If an OpenSSH upgrade changes one, this is where it shows.
    /// Each test uses its own alias with a per-alias socket (%n) so no test sees another's master.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class OpenSshMultiplexingFacts
    {
        private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
        private readonly SshFleet _fleet;
        private readonly ITestOutputHelper _output;

        public OpenSshMultiplexingFacts(SshFleet fleet, ITestOutputHelper output)
        {
            _fleet = fleet;
            _output = output;
        }

        private string[] Mux => _fleet.MultiplexOptions(socketName: "%n").ToArray();

        [Fact]
        public async Task A_ForkedMasterDoesNotHoldTheFirstClientsPipesOpen()
        {
            var alias = _fleet.Hosts[189];
            using var client = Process.Start(_fleet.SshStartInfo(alias, "echo out; echo err >&2", Mux))!;
            client.StandardInput.Close();
            var stdout = client.StandardOutput.ReadToEndAsync();
            var stderr = client.StandardError.ReadToEndAsync();
            var both = Task.WhenAll(stdout, stderr);
            var sw = Stopwatch.StartNew();
            var closed = await Task.WhenAny(both, Task.Delay(Guard)) == both;
            _output.WriteLine($"pipes reached EOF: {closed} after {sw.Elapsed.TotalSeconds:F2}s");
            try
            {
                Assert.True(closed, "the backgrounded master kept the client's stdout/stderr pipes open");
                Assert.Equal(("out\n", "err\n"), (await stdout, await stderr));
                var check = await _fleet.ControlMasterAsync(alias, "check", Mux);
                _output.WriteLine($"master still there: {check.StdErr.Trim()}");
                Assert.Equal(0, check.ExitCode);
            }
            finally
            {
                await _fleet.ControlMasterAsync(alias, "exit", Mux);
            }
        }

        [Fact]
        public async Task B_MasterIsDaemonizedAwayFromTheFirstClientsProcessTree()
        {
            // ssh forks the master off the first client and daemon()s it (a second fork and setsid), so
            // killing the client's process tree never takes the master with it.
            var alias = _fleet.Hosts[190];
            using var client = Process.Start(_fleet.SshStartInfo(alias, "sleep 2", Mux))!;
            client.StandardInput.Close();
            var title = $"{Path.Combine(_fleet.ControlDirectory, alias)} [mux]";
            ProcessInfo? master = null;
            SshFleetTests.WaitFor(() => (master = ProcessTable.FindByCommandLine(title).FirstOrDefault()) != null, "the master");
            var parent = ProcessTable.TryGet(master!.ParentPid);
            var descendants = ProcessTable.Descendants(client.Id).Select(p => $"{p.Pid} '{p.CommandLine}'");
            _output.WriteLine($"client pid {client.Id}, running: {!client.HasExited}, descendants: [{string.Join(", ", descendants)}]");
            _output.WriteLine($"master pid {master.Pid} '{master.CommandLine}', ppid {master.ParentPid} ({parent?.Name})");
            try
            {
                Assert.DoesNotContain(ProcessTable.Descendants(client.Id), p => p.Pid == master.Pid);
                await client.WaitForExitAsync();
                Assert.Equal(0, client.ExitCode);
                Assert.True(ProcessTable.IsAlive(master.Pid));
            }
            finally
            {
                await _fleet.ControlMasterAsync(alias, "exit", Mux);
            }
        }

        [Fact]
        public async Task C_StaleSocketOfAKilledMasterRecoversOnItsOwn()
        {
            var alias = _fleet.Hosts[191];
            Assert.Equal(0, (await _fleet.RunSshAsync(alias, "true", Mux)).ExitCode);
            var masterPid = MasterPid(await _fleet.ControlMasterAsync(alias, "check", Mux));
            ProcessTable.Signal(masterPid, ProcessTable.SigKill);
            SshFleetTests.WaitFor(() => !ProcessTable.IsAlive(masterPid), "the master to die");
            var socket = Path.Combine(_fleet.ControlDirectory, alias);
            Assert.True(File.Exists(socket), "SIGKILL leaves the socket file behind");

            var before = _fleet.CountAcceptedLogins();
            var r = await _fleet.RunSshAsync(alias, "echo again", Mux);
            _output.WriteLine($"after SIGKILL of master {masterPid}: exit {r.ExitCode}, stdout '{r.StdOut.Trim()}', stderr '{r.StdErr.Trim()}', new logins {_fleet.CountAcceptedLogins() - before}");
            try
            {
                Assert.Equal((0, "again\n", ""), (r.ExitCode, r.StdOut, r.StdErr));
                Assert.Equal(1, _fleet.CountAcceptedLogins() - before);
                Assert.NotEqual(masterPid, MasterPid(await _fleet.ControlMasterAsync(alias, "check", Mux)));
            }
            finally
            {
                await _fleet.ControlMasterAsync(alias, "exit", Mux);
            }
        }

        [Theory]
        [InlineData(true, false)]
        [InlineData(true, true)]
        [InlineData(false, false)]
        [InlineData(false, true)]
        public async Task D_RemoteCommandAfterSigkillOfTheClient(bool multiplexed, bool stdinWatchdog)
        {
            var alias = _fleet.Hosts[192 + (multiplexed ? 0 : 1)];
            var options = multiplexed ? Mux : Array.Empty<string>();
            if (multiplexed)
            {
                // A master first, so the killed ssh is a pure mux client, not the process that forks the master.
                Assert.Equal(0, (await _fleet.RunSshAsync(alias, "true", options)).ExitCode);
            }
            var sleep = SshFleetTests.UniqueSleep(300);
            // The watchdog runs the command in the background and kills it when stdin reaches EOF.
            var command = stdinWatchdog ? $"{sleep} & p=$!; read _; kill $p" : sleep;
            using var client = Process.Start(_fleet.SshStartInfo(alias, command, options))!;
            // stdin stays an open pipe we never write to: only the client's death can close it.
            SshFleetTests.WaitFor(() => ProcessTable.FindByCommandLine(sleep).Any(p => p.Name == "sleep"), "the remote sleep to start");

            client.Kill();
            await client.WaitForExitAsync();

            var survivors = ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep, StringComparison.Ordinal), TimeSpan.FromSeconds(3));
            _output.WriteLine($"multiplexed={multiplexed} watchdog={stdinWatchdog}: remote '{sleep}' {(survivors.Count == 0 ? "ended" : "still running 3 s after the client's SIGKILL")}");
            foreach (var p in survivors)
            {
                ProcessTable.Signal(p.Pid, ProcessTable.SigKill);
            }
            if (multiplexed)
            {
                await _fleet.ControlMasterAsync(alias, "exit", options);
            }
            Assert.Equal(stdinWatchdog, survivors.Count == 0);
        }

        [Fact]
        public async Task E_PercentCSharesOneMasterAcrossFleetAliasesButPercentNDoesNot()
        {
            var byHash = _fleet.MultiplexOptions();
            await _fleet.ControlMasterAsync(_fleet.Hosts[10], "exit", byHash);
            var before = _fleet.CountAcceptedLogins();
            Assert.Equal(0, (await _fleet.RunSshAsync(_fleet.Hosts[10], "true", byHash)).ExitCode);
            Assert.Equal(0, (await _fleet.RunSshAsync(_fleet.Hosts[11], "true", byHash)).ExitCode);
            var sharedLogins = _fleet.CountAcceptedLogins() - before;
            await _fleet.ControlMasterAsync(_fleet.Hosts[10], "exit", byHash);

            before = _fleet.CountAcceptedLogins();
            Assert.Equal(0, (await _fleet.RunSshAsync(_fleet.Hosts[12], "true", Mux)).ExitCode);
            Assert.Equal(0, (await _fleet.RunSshAsync(_fleet.Hosts[13], "true", Mux)).ExitCode);
            var perAliasLogins = _fleet.CountAcceptedLogins() - before;
            await _fleet.ControlMasterAsync(_fleet.Hosts[12], "exit", Mux);
            await _fleet.ControlMasterAsync(_fleet.Hosts[13], "exit", Mux);

            _output.WriteLine($"two aliases, ControlPath %C: {sharedLogins} login(s); %n: {perAliasLogins} login(s)");
            Assert.Equal((1, 2), (sharedLogins, perAliasLogins));
        }

        private static int MasterPid(ProcessOutcome check)
        {
            var m = Regex.Match(check.StdErr, @"Master running \(pid=(\d+)\)");
            Assert.True(m.Success, $"ssh -O check said: {check.StdErr}");
            return int.Parse(m.Groups[1].Value);
        }
    }
}
