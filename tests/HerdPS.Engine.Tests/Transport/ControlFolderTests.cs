using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using HerdPS.Tests.Cli;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// The folder of the pooled connections' control sockets, against the real fleet, when a real second local user
    /// made it first: whoever can write there can plant a socket that poses as a master and sees every command.
    /// </summary>
    [Collection(SshFleetCollection.Name)]
    public sealed class ControlFolderTests : IDisposable
    {
        private readonly SshFleet _fleet;
        /// <summary>A short, shared runtime folder (1777): XDG_RUNTIME_DIR/herd must fit a socket path.</summary>
        private readonly string _runtime;

        public ControlFolderTests(SshFleet fleet)
        {
            _fleet = fleet;
            _runtime = Path.Combine("/tmp", "hx-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(_runtime);
            File.SetUnixFileMode(_runtime, (UnixFileMode)0x3FF); // 1777
        }

        public void Dispose()
        {
            try { Directory.Delete(_runtime, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        private string[] Exec(string command) =>
            new[] { "exec", "-F", _fleet.SshConfigPath, "-H", _fleet.Hosts[120], "--connect-timeout", "5s", "--control-persist", "1s", command };

        [Fact]
        public async Task ADefaultSocketFolderAnotherUserMadeIsNotUsedAndTheRunStillPoolsItsConnection()
        {
            var planted = Path.Combine(_runtime, "herd");
            OtherLocalUser.RunOk("mkdir -m 777 \"$1\"", planted);
            using var watch = new PrivateFolderTests.FolderWatch(planted);
            var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = "", ["XDG_RUNTIME_DIR"] = _runtime, ["HERD_HISTORY"] = Path.Combine(_runtime, "h", "history.db") };

            var o = await HerdProcess.RunAsync(Exec("echo pooled"), env);

            string? fresh = null;
            try
            {
                Assert.True(o.ExitCode == 0, o.StdErr);
                Assert.Contains("pooled", o.StdOut);
                var notice = Regex.Match(o.StdErr, @"herd: warning: the folder for pooled ssh connections (\S+) is owned by uid (\d+), not by you \(uid 0\) and has mode 0777: .* uses the new private folder (\S+) instead");
                Assert.True(notice.Success, o.StdErr);
                Assert.Equal((planted, OtherLocalUser.Uid.ToString()), (notice.Groups[1].Value, notice.Groups[2].Value));
                fresh = notice.Groups[3].Value;
                Assert.Equal((0u, 0x1C0), (PrivateFolderTests.Owner(fresh), PrivateFolderTests.Mode(fresh)));
                Assert.Empty(watch.Events); // no socket, no probe, nothing ever made in the planted folder
                Assert.Empty(Directory.GetFileSystemEntries(planted));
                Assert.Equal(0x1FF, PrivateFolderTests.Mode(planted));
            }
            finally
            {
                // The master lives a second past its last use and removes its socket; the folder goes after it.
                if (fresh != null)
                {
                    foreach (var socket in Directory.GetFileSystemEntries(fresh))
                        ProcessRunner.Run("ssh", new[] { "-O", "exit", "-S", socket, "x" }, TimeSpan.FromSeconds(10));
                    try { Directory.Delete(fresh, recursive: true); } catch (IOException) { }
                }
            }
        }

        [Fact]
        public async Task AConfiguredSocketFolderThatIsNotPrivateStopsHerdBeforeAnyHostIsContacted()
        {
            var planted = Path.Combine(_runtime, "sockets");
            OtherLocalUser.RunOk("mkdir -m 777 \"$1\"", planted);
            var logins = _fleet.CountAcceptedLogins();
            var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = planted, ["HERD_HISTORY"] = Path.Combine(_runtime, "h", "history.db") };

            var o = await HerdProcess.RunAsync(Exec("echo never"), env);

            Assert.Equal(2, o.ExitCode);
            Assert.Contains($"herd: $HERD_CONTROL_DIR names {planted}, which is owned by uid {OtherLocalUser.Uid}, not by you (uid 0) and has mode 0777", o.StdErr);
            Assert.DoesNotContain("never", o.StdOut);
            Assert.Equal(logins, _fleet.CountAcceptedLogins());
            Assert.Empty(Directory.GetFileSystemEntries(planted));
            Assert.False(File.Exists(Path.Combine(_runtime, "h", "history.db"))); // nothing recorded: nothing began
        }
    }
}
