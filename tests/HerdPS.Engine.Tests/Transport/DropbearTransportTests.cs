using System;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// Stopping a command on a Dropbear server whose shell and tools are BusyBox (routers, small boards). Issue 11
    /// saw an ordinary sleep live ~10 s past its timeout there: killing our ssh client made the master close the
    /// channel without an end of input, and Dropbear keeps a closed channel's command running with its stdin
    /// open, so the wrapper never heard the stop; and the wrapper's TERM to its own process group would have hit
    /// Dropbear's server process for the connection, which shares that group.
    /// </summary>
    [Collection("ssh fleet")]
    public sealed class DropbearTransportTests : IDisposable
    {
        private readonly SshFleet _fleet;
        private readonly DropbearHost _dropbear;

        public DropbearTransportTests(SshFleet fleet)
        {
            _fleet = fleet;
            _dropbear = new DropbearHost(fleet, "dropbear-" + Guid.NewGuid().ToString("N").Substring(0, 6));
        }

        public void Dispose() => _dropbear.Dispose();

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task ATimeoutEndsTheRemoteCommandBeforeTheResultIsReported(bool multiplex)
        {
            using var t = new FleetTestRun(_fleet, ssh => { ssh.ConfigFile = _dropbear.SshConfigPath; ssh.Multiplex = multiplex; });
            // The login shell really is BusyBox sh (ash has a "help" builtin, dash has none), and sleep is BusyBox's.
            var ok = await t.RunOneAsync(_dropbear.Alias, "help 2>&1 | head -1; sleep --help 2>&1 | head -1");
            Assert.True(ok.Succeeded, ok.ErrorMessage + ok.StdErr);
            Assert.StartsWith("Built-in commands:\nBusyBox v", ok.StdOut);

            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(_dropbear.Alias, $"sleep {sleep}", new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            // "by SIGTERM" is the wrapper's own report: it comes only after the command was reaped on the host.
            Assert.Equal("the command ran longer than 2s and was ended by SIGTERM", r.ErrorMessage);
            Assert.DoesNotContain(ProcessTable.FindByCommandLine(sleep), p => p.Name == "sleep");
            // The stop did not take Dropbear's connection down: the next command runs (over the same master when pooled).
            var after = await t.RunOneAsync(_dropbear.Alias, "echo still");
            Assert.True(after.Succeeded, after.ErrorMessage + after.StdErr);
            if (multiplex) Assert.Single(t.Masters());
        }

        [Fact]
        public async Task ACommandThatIgnoresSigtermIsKilledThereToo()
        {
            using var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = _dropbear.SshConfigPath);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var r = await t.RunOneAsync(_dropbear.Alias, $"trap '' TERM HUP INT; sleep {sleep}; echo never",
                new FleetRunOptions { CommandTimeout = TimeSpan.FromSeconds(2), StopGrace = TimeSpan.FromSeconds(1) });
            Assert.Equal(FleetStatus.TimedOut, r.Status);
            Assert.Contains("SIGKILL", r.ErrorMessage);
            Assert.Empty(ProcessTable.WaitUntilGone(p => p.CommandLine.Contains(sleep), TimeSpan.FromSeconds(15)));
        }
    }
}
