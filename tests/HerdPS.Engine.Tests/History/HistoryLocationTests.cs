using System.Collections.Generic;
using System.IO;
using HerdPS.History;

namespace HerdPS.Tests.History
{
    public class HistoryLocationTests
    {
        private static string? Env(Dictionary<string, string> vars, string name) => vars.TryGetValue(name, out var v) ? v : null;

        [Fact]
        public void ExplicitPathWinsOverEverything()
        {
            var env = new Dictionary<string, string> { ["HERD_HISTORY"] = "/x/env.db", ["XDG_DATA_HOME"] = "/xdg" };
            Assert.Equal(Path.GetFullPath("/tmp/mine.db"), HistoryLocation.Resolve("/tmp/mine.db", n => Env(env, n), isWindows: false));
        }

        [Fact]
        public void HerdHistoryVariableComesNext()
        {
            var env = new Dictionary<string, string> { ["HERD_HISTORY"] = "/x/env.db", ["XDG_DATA_HOME"] = "/xdg" };
            Assert.Equal(Path.GetFullPath("/x/env.db"), HistoryLocation.Resolve(null, n => Env(env, n), isWindows: false));
            Assert.Equal(Path.GetFullPath("/x/env.db"), HistoryLocation.Resolve("  ", n => Env(env, n), isWindows: false));
        }

        [Fact]
        public void TildeIsExpanded()
        {
            var env = new Dictionary<string, string> { ["HOME"] = "/home/ops", ["HERD_HISTORY"] = "~/h/history.db" };
            Assert.Equal(Path.GetFullPath("/home/ops/h/history.db"), HistoryLocation.Resolve(null, n => Env(env, n), isWindows: false));
        }

        [Fact]
        public void XdgDataHomeOnUnix()
        {
            var env = new Dictionary<string, string> { ["XDG_DATA_HOME"] = "/data", ["HOME"] = "/home/ops" };
            Assert.Equal(Path.Combine("/data", "herd", "history.db"), HistoryLocation.Resolve(null, n => Env(env, n), isWindows: false));
        }

        [Theory]
        [InlineData("")]
        [InlineData("relative/dir")] // the XDG spec says to ignore a relative value
        public void DefaultIsUnderLocalShareWithoutAUsableXdgDataHome(string xdg)
        {
            var env = new Dictionary<string, string> { ["XDG_DATA_HOME"] = xdg, ["HOME"] = "/home/ops" };
            Assert.Equal(Path.Combine("/home/ops", ".local", "share", "herd", "history.db"),
                HistoryLocation.Resolve(null, n => Env(env, n), isWindows: false));
        }

        [Fact]
        public void LocalAppDataOnWindows()
        {
            var env = new Dictionary<string, string> { ["LOCALAPPDATA"] = "C:/Users/ops/AppData/Local", ["XDG_DATA_HOME"] = "/data" };
            Assert.Equal(Path.Combine("C:/Users/ops/AppData/Local", "herd", "history.db"),
                HistoryLocation.Resolve(null, n => Env(env, n), isWindows: true));
        }
    }
}
