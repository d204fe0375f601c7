using System;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class AdHocHostTests
    {
        [Theory]
        [InlineData("web-01", null, "web-01", null)]
        [InlineData("root@web-01", "root", "web-01", null)]
        [InlineData("web-01:2222", null, "web-01", 2222)]
        [InlineData("root@web-01:2222", "root", "web-01", 2222)]
        [InlineData("[::1]:22", null, "::1", 22)]
        [InlineData("ops@[fe80::1%eth0]", "ops", "fe80::1%eth0", null)]
        [InlineData("::1", null, "::1", null)]
        public void ParsesUserHostPort(string spec, string? user, string name, int? port)
        {
            var host = FleetHost.ParseAdHoc(spec);
            Assert.Equal((user, name, port), (host.User, host.Name, host.Port));
            Assert.Null(host.Source);
            Assert.Equal(HostTransportKind.Ssh, host.Transport);
        }

        [Theory]
        [InlineData("-oProxyCommand=touch /tmp/x")]
        [InlineData("web;id")]
        [InlineData("web 01")]
        [InlineData("web:0")]
        [InlineData("web:x")]
        [InlineData("a@b@c")]
        [InlineData("web[01-03]")]
        [InlineData("")]
        public void RejectsWhatCouldNotBeAHost(string spec)
        {
            Assert.False(FleetHost.TryParseAdHoc(spec, out _, out var reason));
            Assert.NotEmpty(reason);
            Assert.Throws<FormatException>(() => FleetHost.ParseAdHoc(spec));
        }
    }
}
