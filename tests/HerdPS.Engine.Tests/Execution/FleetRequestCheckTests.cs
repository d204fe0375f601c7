using System;
using System.Collections.Generic;
using System.IO;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Execution
{
    /// <summary>
    /// What the engine checks in a request before anything runs, for both front ends: the cmdlets' -UserName
    /// (FleetParameters) and the CLI's --user meet the inventory's user-name rules, and the notice about a missing
    /// inventory only claims the local machine when it is the target.
    /// </summary>
    public sealed class FleetRequestCheckTests : IDisposable
    {
        private readonly TempDirectory _temp = new TempDirectory();
        private readonly Dictionary<string, string> _env = new Dictionary<string, string>();

        public FleetRequestCheckTests()
        {
            _env["HOME"] = _temp.Path; // no inventory there
        }

        public void Dispose() => _temp.Dispose();

        private string? GetEnv(string name) => _env.TryGetValue(name, out var v) ? v : null;

        [Theory]
        [InlineData("-oProxyCommand=touch /tmp/pwned", "starts with '-'")]
        [InlineData("root;reboot", "';'")]
        [InlineData("ro ot", "whitespace")]
        [InlineData("a\u001b]0;x\u0007", "control character")]
        public void TheCmdletUserNameIsValidatedAsInventoryUsersAreBeforeAnythingRuns(string user, string why)
        {
            var parameters = new FleetParameters { UserName = user };
            var e = Assert.Throws<ArgumentException>(() => parameters.ToRequest());
            Assert.Equal("UserName", e.ParamName);
            Assert.StartsWith("-UserName: user name '", e.Message);
            Assert.Contains(why, e.Message);
            Assert.Contains("nothing was run", e.Message);
            Assert.DoesNotContain("may have run", e.Message);
            Assert.DoesNotContain('\u001b', e.Message);
            Assert.Equal(FleetErrorRecords.InvalidParameter, FleetErrorRecords.ForException(e).ErrorId);
        }

        [Fact]
        public void ResolveRefusesABadUserEvenWhenAFrontEndForgotToCheck()
        {
            var request = new FleetCommandRequest { User = "-oProxyCommand=x" };
            var e = Assert.Throws<ArgumentException>(() => FleetEngine.Resolve(request, GetEnv));
            Assert.Contains("nothing was run", e.Message);
            Assert.Equal("deploy", new FleetParameters { UserName = "deploy" }.ToRequest().User);
        }

        [Fact]
        public void WithoutAnInventoryTheNoticeSaysLocalMachineOnlyWhenItIsTheTarget()
        {
            if (OperatingSystem.IsWindows()) return; // where it looks is the platform's
            var local = FleetEngine.Resolve(new FleetCommandRequest(), GetEnv);
            Assert.Equal(HostTransportKind.Local, Assert.Single(local.Hosts).Transport);
            Assert.EndsWith("; using the local machine", local.Notice);

            var named = new FleetCommandRequest();
            named.Selection.Hosts.Add("db1");
            var remote = FleetEngine.Resolve(named, GetEnv);
            Assert.Equal("db1", Assert.Single(remote.Hosts).Name);
            Assert.DoesNotContain("local machine", remote.Notice);
            Assert.Contains("no inventory found", remote.Notice);
            Assert.Contains(Path.Combine(_temp.Path, ".config", "herd", "inventory.yaml"), remote.Notice);

            var both = new FleetCommandRequest();
            both.Selection.Hosts.Add("db1");
            both.Selection.Hosts.Add("localhost");
            Assert.EndsWith("; using the local machine", FleetEngine.Resolve(both, GetEnv).Notice);
        }
    }
}
