using System;
using System.Collections.Generic;
using System.IO;
using HerdPS.Inventory;

namespace HerdPS.Tests.Inventory
{
    public class InventoryLocatorTests : IDisposable
    {
        private readonly TempDirectory temp = new TempDirectory();
        private readonly Dictionary<string, string> environment = new Dictionary<string, string>();

        public void Dispose() => temp.Dispose();

        private string? GetEnv(string name) => environment.TryGetValue(name, out var value) ? value : null;

        private string? Find(string? explicitPath, bool isWindows = false) => InventoryLocator.Find(explicitPath, GetEnv, isWindows);

        [Fact]
        public void ExplicitPathWins()
        {
            string explicitPath = temp.Write("explicit.yaml", "hosts: [a]\n");
            environment["HERD_INVENTORY"] = temp.Write("env.yaml", "hosts: [b]\n");
            environment["XDG_CONFIG_HOME"] = temp.Path;
            temp.Write("herd/inventory.yaml", "hosts: [c]\n");
            Assert.Equal(explicitPath, Find(explicitPath));
        }

        [Fact]
        public void EnvironmentVariableBeatsTheUserFile()
        {
            string fromEnv = temp.Write("env.yaml", "hosts: [b]\n");
            environment["HERD_INVENTORY"] = fromEnv;
            environment["XDG_CONFIG_HOME"] = temp.Path;
            temp.Write("herd/inventory.yaml", "hosts: [c]\n");
            Assert.Equal(fromEnv, Find(null));
        }

        [Fact]
        public void XdgConfigHomeBeatsHome()
        {
            environment["XDG_CONFIG_HOME"] = Path.Combine(temp.Path, "xdg");
            environment["HOME"] = Path.Combine(temp.Path, "home");
            string xdg = temp.Write("xdg/herd/inventory.yaml", "hosts: [x]\n");
            temp.Write("home/.config/herd/inventory.yaml", "hosts: [h]\n");
            Assert.Equal(xdg, Find(null));
        }

        [Fact]
        public void HomeConfigIsTheDefault()
        {
            environment["HOME"] = Path.Combine(temp.Path, "home");
            string home = temp.Write("home/.config/herd/inventory.yaml", "hosts: [h]\n");
            Assert.Equal(home, Find(null));
            environment["XDG_CONFIG_HOME"] = "relative/ignored";
            Assert.Equal(home, Find(null));
        }

        [Fact]
        public void WindowsUsesAppData()
        {
            environment["APPDATA"] = Path.Combine(temp.Path, "roaming");
            environment["XDG_CONFIG_HOME"] = temp.Path;
            temp.Write("herd/inventory.yaml", "hosts: [c]\n");
            string appData = temp.Write("roaming/herd/inventory.yaml", "hosts: [w]\n");
            Assert.Equal(appData, Find(null, isWindows: true));
        }

        [Fact]
        public void NothingFoundIsNull()
        {
            environment["HOME"] = temp.Path;
            Assert.Null(Find(null));
            environment.Clear();
            Assert.Null(Find(null));
            Assert.Null(Find("", isWindows: true));
        }

        [Fact]
        public void MissingExplicitPathIsAnErrorNotAFallback()
        {
            environment["HOME"] = Path.Combine(temp.Path, "home");
            temp.Write("home/.config/herd/inventory.yaml", "hosts: [h]\n");
            string missing = Path.Combine(temp.Path, "missing.yaml");
            var error = Assert.Throws<InventoryException>(() => Find(missing));
            Assert.Equal(missing, error.File);
        }

        [Fact]
        public void MissingEnvironmentPathIsAnErrorNamingTheVariable()
        {
            environment["HERD_INVENTORY"] = Path.Combine(temp.Path, "missing.yaml");
            var error = Assert.Throws<InventoryException>(() => Find(null));
            Assert.Contains("$HERD_INVENTORY", error.Message);
            Assert.Contains("missing.yaml", error.Message);
        }

        [Fact]
        public void TildeMeansHome()
        {
            environment["HOME"] = temp.Path;
            string path = temp.Write("fleet.yaml", "hosts: [a]\n");
            Assert.Equal(path, Find("~/fleet.yaml"));
        }

        [Fact]
        public void LoadOrDefaultFallsBackWithANotice()
        {
            environment["HOME"] = temp.Path;
            var inventory = InventoryLoader.LoadOrDefault(null, GetEnv, out var notice);
            if (OperatingSystem.IsWindows()) return; // the real platform decides where it looks
            Assert.True(inventory.IsEmbeddedDefault);
            Assert.NotNull(notice);
            Assert.Contains("no inventory found", notice);
            Assert.Contains(Path.Combine(temp.Path, ".config", "herd", "inventory.yaml"), notice);
            Assert.Contains("local machine", notice);
        }

        [Fact]
        public void LoadOrDefaultLoadsWhatItFinds()
        {
            string path = temp.Write("fleet.yaml", "hosts: [a]\n");
            var inventory = InventoryLoader.LoadOrDefault(path, GetEnv, out var notice);
            Assert.Null(notice);
            Assert.Equal(path, inventory.SourcePath);
            Assert.Equal("a", Assert.Single(inventory.Hosts).Name);
        }
    }
}
