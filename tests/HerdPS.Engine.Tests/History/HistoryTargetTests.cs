using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using HerdPS.History;
using HerdPS.Inventory;

namespace HerdPS.Tests.History
{
    /// <summary>Which history a value means: a URL or connection string is a server, never a path; the password never shows.</summary>
    public class HistoryTargetTests
    {
        private static string? Env(Dictionary<string, string> env, string name) => env.TryGetValue(name, out var v) ? v : null;

        [Theory]
        [InlineData("postgresql://herd@db.example.com/herd")]
        [InlineData("postgres://db.example.com:5433/herd?sslmode=verify-full")]
        [InlineData("POSTGRESQL://herd@db/herd")]
        [InlineData("Host=db.example.com;Database=herd")]
        [InlineData("  Server = db ; Database=herd;User ID=herd")]
        public void UrlsAndConnectionStringsAreServersNeverFiles(string value)
        {
            var env = new Dictionary<string, string> { ["HERD_HISTORY"] = value, ["HOME"] = "/home/ops" };
            var target = HistoryLocation.ResolveTarget(null, null, null, n => Env(env, n));
            Assert.True(target.IsServer);
            Assert.Null(target.FilePath);
            Assert.StartsWith("postgresql://", target.Display);
            Assert.Throws<ArgumentException>(() => HistoryLocation.Resolve(null, n => Env(env, n))); // never a path
        }

        [Theory]
        [InlineData("/var/lib/herd/history.db")]
        [InlineData("relative/history.db")]
        [InlineData("C:\\herd\\history.db")]
        [InlineData("/tmp/a=b.db")]
        public void PathsStayFiles(string value)
        {
            Assert.False(HistoryTarget.LooksLikeConnection(value));
            Assert.False(HistoryTarget.Parse(value).IsServer);
        }

        [Fact]
        public void LibpqUrlParametersBecomeNpgsqlKeywordsAndTlsSettingsPassThrough()
        {
            var target = HistoryTarget.Server("postgresql://herd%40corp:s3cr%2Ft@[::1]:6432/team%20history?sslmode=verify-full&sslrootcert=/etc/herd/ca.crt" +
                                              "&sslcert=/etc/herd/me.crt&sslkey=/etc/herd/me.key&connect_timeout=7&application_name=nightly&target_session_attrs=read-write");
            var keywords = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = target.ConnectionString };
            Assert.Equal("::1", keywords["Host"]);
            Assert.Equal("6432", keywords["Port"]);
            Assert.Equal("team history", keywords["Database"]);
            Assert.Equal("herd@corp", keywords["Username"]);
            Assert.Equal("s3cr/t", keywords["Password"]);
            Assert.Equal("VerifyFull", keywords["SSL Mode"]);
            Assert.Equal("/etc/herd/ca.crt", keywords["Root Certificate"]);
            Assert.Equal("/etc/herd/me.crt", keywords["SSL Certificate"]);
            Assert.Equal("/etc/herd/me.key", keywords["SSL Key"]);
            Assert.Equal("7", keywords["Timeout"]);
            Assert.Equal("nightly", keywords["Application Name"]);
            Assert.Equal("read-write", keywords["Target Session Attributes"]);
            Assert.Equal("postgresql://herd%40corp@::1:6432/team%20history", target.Display);
            Assert.DoesNotContain("s3cr", target.Display + target);
            Assert.Equal("failed for *** here", target.Scrub("failed for s3cr/t here"));
        }

        [Fact]
        public void ACredentialsUserWinsAndItsPasswordIsScrubbedToo()
        {
            var target = HistoryTarget.Server("Host=db;Database=herd;Username=someone", new NetworkCredential("svc_herd", "pa55-word"));
            Assert.Equal("postgresql://svc_herd@db/herd", target.Display);
            Assert.Equal("no *** here", target.Scrub("no pa55-word here"));
        }

        [Theory]
        [InlineData("mysql://db/herd", "'mysql://' is not supported")]
        [InlineData("postgresql://db/herd?sslmode=sometimes", "sslmode 'sometimes'")]
        [InlineData("postgresql://db/herd?colour=blue", "a parameter HerdPS doesn't know: 'colour'")]
        [InlineData("Host=db;Database=herd;Colour=blue", "a keyword PostgreSQL connections don't have: 'colour'")]
        [InlineData("history=old.db", "a keyword PostgreSQL connections don't have: 'history'")]
        public void MalformedConnectionsAreRefusedNamingWhatIsWrong(string value, string expected)
        {
            var error = Assert.Throws<ArgumentException>(() => HistoryTarget.Parse(value));
            Assert.Contains(expected, error.Message);
        }

        [Fact]
        public void AMalformedConnectionStringNeverQuotesItsPassword()
        {
            var error = Assert.Throws<ArgumentException>(() => HistoryTarget.Parse("Host=db;Password=hunter2;Database='unclosed"));
            Assert.DoesNotContain("hunter2", error.Message);
        }

        [Fact]
        public void CmdletParametersSayWhichIsWhich()
        {
            Assert.Null(HerdPS.Inventory.HistoryLocationText.Location(null, null));
            Assert.Equal("/tmp/h.db", HerdPS.Inventory.HistoryLocationText.Location("/tmp/h.db", null));
            Assert.Equal("postgresql://db/herd", HerdPS.Inventory.HistoryLocationText.Location(null, "postgresql://db/herd"));
            Assert.Contains("-HistoryConnection", Assert.Throws<ArgumentException>(() => HerdPS.Inventory.HistoryLocationText.Location("postgresql://db/herd", null)).Message);
            Assert.Contains("-HistoryPath", Assert.Throws<ArgumentException>(() => HerdPS.Inventory.HistoryLocationText.Location(null, "/tmp/h.db")).Message);
            Assert.Contains("not both", Assert.Throws<ArgumentException>(() => HerdPS.Inventory.HistoryLocationText.Location("/tmp/h.db", "postgresql://db/herd")).Message);
            var env = new Dictionary<string, string> { ["HOME"] = "/home/ops" };
            Assert.Contains("-HistoryCredential is for a PostgreSQL history",
                Assert.Throws<ArgumentException>(() => HistoryLocation.ResolveTarget("/tmp/h.db", new NetworkCredential("u", "p"), null, n => Env(env, n))).Message);
        }

        /// <summary>Windows PowerShell 5.1 can't run here; what it is told is checked with its runtime's description.</summary>
        [Fact]
        public void WindowsPowerShellAndDotNetBeforeEightAreToldToUseASqliteFileOrPowerShell7()
        {
            var windows = ServerHistory.RuntimeRefusal(".NET Framework 4.8.9232.0", new Version(4, 0, 30319, 42000));
            Assert.Contains("Windows PowerShell 5.1 can record into a SQLite history file (-HistoryPath)", windows);
            Assert.Contains("PowerShell 7.4 or later, or herd", windows);
            Assert.Contains("PowerShell 7.4", ServerHistory.RuntimeRefusal(".NET 6.0.36", new Version(6, 0, 36)));
            Assert.Null(ServerHistory.RuntimeRefusal(".NET 8.0.11", new Version(8, 0, 11)));
            Assert.Null(ServerHistory.RuntimeRefusal(".NET 10.0.0", new Version(10, 0, 0)));
        }

        [Fact]
        public void OrderIsExplicitThenEnvironmentThenInventoryThenTheUsersFile()
        {
            var env = new Dictionary<string, string> { ["HOME"] = "/home/ops" };
            string? Get(string n) => Env(env, n);
            const string configured = "postgresql://team-db/herd";
            Assert.Equal("postgresql://team-db/herd", HistoryLocation.ResolveTarget(null, null, configured, Get).Display);
            Assert.Equal(Path.GetFullPath("/x/mine.db"), HistoryLocation.ResolveTarget("/x/mine.db", null, configured, Get).Display);
            env["HERD_HISTORY"] = "/x/env.db";
            Assert.Equal(Path.GetFullPath("/x/env.db"), HistoryLocation.ResolveTarget(null, null, configured, Get).Display);
            env.Remove("HERD_HISTORY");
            Assert.Equal("/home/ops/.local/share/herd/history.db", HistoryLocation.ResolveTarget(null, null, null, Get).Display);
        }

        [Fact]
        public void TheInventorysHistorySectionIsReadAndCheckedWithItsLine()
        {
            using var dir = new HerdPS.Tests.Inventory.TempDirectory();
            var good = dir.Write("team.yaml", "history:\n  connection: postgresql://herd@db.example.com/herd?sslmode=verify-full\nhosts: [ web-01 ]\n");
            Assert.Equal("postgresql://herd@db.example.com/herd?sslmode=verify-full", InventoryLoader.Load(good).Defaults.HistoryLocation);
            var file = dir.Write("file.yaml", "history: { path: ./history/team.db }\nhosts: [ web-01 ]\n");
            Assert.Equal(Path.Combine(dir.Path, "./history/team.db"), InventoryLoader.Load(file).Defaults.HistoryLocation);
            var both = dir.Write("both.yaml", "history:\n  connection: postgresql://db/herd\n  path: /tmp/h.db\n");
            Assert.Contains("not both", Assert.Throws<InventoryException>(() => InventoryLoader.Load(both)).Message);
            var typo = dir.Write("typo.yaml", "history:\n  conection: postgresql://db/herd\n");
            Assert.Contains("conection", Assert.Throws<InventoryException>(() => InventoryLoader.Load(typo)).Message);
            var urlAsPath = dir.Write("path.yaml", "history:\n  path: postgresql://db/herd\n");
            var error = Assert.Throws<InventoryException>(() => InventoryLoader.Load(urlAsPath));
            Assert.Contains("connection:", error.Message);
            Assert.Contains(":2:", error.Message);
        }
    }
}
