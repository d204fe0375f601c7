using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Tests.Fleet;

namespace HerdPS.Tests.Cli
{
    /// <summary>herd's --transport and its secrets (a key passphrase, a password), as a process against real sshds.</summary>
    [Collection("ssh fleet")]
    public sealed class SshNetCliTests : IDisposable
    {
        private static int _counter;
        private readonly SshFleet _fleet;
        private readonly string _dir;
        private readonly Dictionary<string, string> _env;

        public SshNetCliTests(SshFleet fleet)
        {
            _fleet = fleet;
            _dir = Directory.CreateTempSubdirectory("herd-sn" + Interlocked.Increment(ref _counter) + "-").FullName;
            _env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(_dir, "cm") };
        }

        public void Dispose()
        {
            HerdProcess.RunAsync(new[] { "disconnect" }, _env).GetAwaiter().GetResult();
            foreach (var p in ProcessTable.Find(p => p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(_dir))) ProcessTable.KillTree(p.Pid);
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        }

        private static JsonElement Only(HerdProcess.Outcome o) => JsonDocument.Parse(o.StdOut.Trim()).RootElement;

        [Theory]
        [InlineData("sshnet")]
        [InlineData("openssh")]
        [InlineData("auto")]
        public async Task TransportChoosesHowTheHostIsReachedAndEveryResultSaysWhich(string transport)
        {
            var o = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", transport, "--no-history", "-H", _fleet.Hosts[160], "--json", "echo via" }, _env);
            Assert.True(o.ExitCode == 0, o.StdErr);
            var r = Only(o);
            Assert.Equal("via\n", r.GetProperty("stdOut").GetString());
            Assert.Equal(transport == "auto" ? "sshnet" : transport, r.GetProperty("transport").GetString());
        }

        [Fact]
        public async Task TheHistoryKeepsTheTransportOfEveryResultAndShowsItAgain()
        {
            var env = new Dictionary<string, string>(_env) { ["HERD_HISTORY"] = Path.Combine(_dir, "history.db") };
            // h001's settings need SetEnv, so auto sends it to OpenSSH; the plain config's hosts go to SSH.NET.
            var o = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.SshConfigPath, "--transport", "auto", "-H", _fleet.Hosts[163], "--json", "echo recorded" }, env);
            Assert.True(o.ExitCode == 0, o.StdErr);
            var p = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", "auto", "-H", _fleet.Hosts[164], "--json", "echo recorded" }, env);
            Assert.True(p.ExitCode == 0, p.StdErr);
            var runs = await HerdProcess.RunAsync(new[] { "history", "--json" }, env);
            Assert.True(runs.ExitCode == 0, runs.StdErr);
            var ids = runs.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).OrderBy(i => i).ToList();
            Assert.Equal(2, ids.Count);
            var first = await HerdProcess.RunAsync(new[] { "history", "show", ids[0].ToString(), "--json" }, env);
            var second = await HerdProcess.RunAsync(new[] { "history", "show", ids[1].ToString(), "--json" }, env);
            Assert.Equal("openssh", Only(first).GetProperty("transport").GetString());
            Assert.Equal("sshnet", Only(second).GetProperty("transport").GetString());
        }

        /// <summary>
        /// test.sh runs every herd test on the native herd ($HERD_TEST_HERD). The framework-dependent herd built beside the
        /// tests (what <c>dotnet run</c> and the README's other publish give) is the same code under the JIT, started
        /// differently (its pool process too): both run the same commands to the same results, each with its own pool
        /// process and history.
        /// </summary>
        [Fact]
        public async Task TheFrameworkDependentHerdGivesWhatTheNativeOneGives()
        {
            var builds = new Dictionary<string, string> { ["under-test"] = HerdProcess.Path, ["jit"] = HerdProcess.BuiltBesideTests };
            var seen = new Dictionary<string, List<JsonElement>>();
            foreach (var (name, herd) in builds)
            {
                var env = new Dictionary<string, string> { ["HERD_CONTROL_DIR"] = Path.Combine(_dir, name + "-cm"), ["HERD_HISTORY"] = Path.Combine(_dir, name + ".db") };
                var local = await HerdProcess.RunAsync(new[] { "exec", "--json", "echo local; exit 3" }, env, herd: herd);
                Assert.True(local.ExitCode == 1, name + ": " + local.StdErr);
                var remote = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", "sshnet", "-H", _fleet.Hosts[165], "--json", "echo via-sshnet" }, env, herd: herd);
                Assert.True(remote.ExitCode == 0, name + ": " + remote.StdErr);
                // Each build started its own pool process, from its own executable.
                var pool = Assert.Single(ProcessTable.Find(p => p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(name + "-cm")));
                Assert.StartsWith(herd, pool.CommandLine);
                var history = await HerdProcess.RunAsync(new[] { "history", "--json" }, env, herd: herd);
                Assert.True(history.ExitCode == 0, name + ": " + history.StdErr);
                seen[name] = new[] { local.StdOut, remote.StdOut }.Concat(history.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    .Select(l => JsonDocument.Parse(l).RootElement).ToList();
                await HerdProcess.RunAsync(new[] { "disconnect" }, env, herd: herd);
            }
            // Times, ids and UUIDs differ from run to run; everything else is the same.
            string[] varying = { "startTime", "duration", "startedUtc", "finishedUtc", "id", "uuid" };
            string Stable(JsonElement e) => string.Join(",", e.EnumerateObject().Where(p => !varying.Contains(p.Name)).Select(p => p.Name + "=" + p.Value.GetRawText()));
            Assert.Equal(4, seen["jit"].Count);
            Assert.Equal(seen["under-test"].Select(Stable), seen["jit"].Select(Stable));
            Assert.Equal("via-sshnet\n", seen["jit"][1].GetProperty("stdOut").GetString());
        }

        [Fact]
        public async Task AnUnknownTransportIsAUsageErrorAndNothingRuns()
        {
            var o = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", "telnet", "-H", _fleet.Hosts[160], "echo never" }, _env);
            Assert.Equal(2, o.ExitCode);
            Assert.Equal("", o.StdOut);
            Assert.Contains("--transport: 'telnet' is not a transport; choose auto, openssh, sshnet or local", o.StdErr);
        }

        [Fact]
        public async Task HerdSntrup761BouncyCastleConnectsThroughSshNetsOwnKeyExchangeAndABadValueRunsNothing()
        {
            var args = new[] { "exec", "-F", _fleet.PlainSshConfigPath, "--transport", "sshnet", "--no-history", "-H", _fleet.Hosts[162], "--json", "echo via-bc" };
            var bc = await HerdProcess.RunAsync(args, new Dictionary<string, string>(_env) { ["HERD_SNTRUP761"] = "bouncycastle" });
            Assert.True(bc.ExitCode == 0, bc.StdErr);
            Assert.Equal("via-bc\n", Only(bc).GetProperty("stdOut").GetString());
            // It connected in its own process: a pool process would use the implementation it was started with.
            Assert.Empty(ProcessTable.Find(p => p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(_dir)));

            var bad = await HerdProcess.RunAsync(args, new Dictionary<string, string>(_env) { ["HERD_SNTRUP761"] = "openssl" });
            Assert.Equal(2, bad.ExitCode);
            Assert.Equal("", bad.StdOut);
            Assert.Contains("$HERD_SNTRUP761: 'openssl' is not an sntrup761 implementation; choose herd (the default) or bouncycastle", bad.StdErr);
        }

        [Fact]
        public async Task AutoSendsAHostSshNetCantServeToOpenSsh()
        {
            // The fleet's own config sets SetEnv, which SSH.NET can't send.
            var o = await HerdProcess.RunAsync(new[] { "exec", "-F", _fleet.SshConfigPath, "--transport", "auto", "--no-history", "-H", _fleet.Hosts[161], "--json", "echo $HERD_ALIAS" }, _env);
            Assert.True(o.ExitCode == 0, o.StdErr);
            var r = Only(o);
            Assert.Equal("openssh", r.GetProperty("transport").GetString());
            Assert.Equal(_fleet.Hosts[161] + "\n", r.GetProperty("stdOut").GetString());
        }

        [Fact]
        public async Task AnEncryptedKeyIsUnlockedFromTheEnvironmentOrAFileAndWithoutEitherFailsWithoutPrompting()
        {
            var key = Path.Combine(_dir, "id_encrypted");
            Keys.Generate(key, "ed25519", passphrase: "cli passphrase");
            var authorized = Path.Combine(_fleet.WorkDir, "authorized_cli_" + Interlocked.Increment(ref _counter));
            File.WriteAllText(authorized, Keys.PublicKey(key) + "\n");
            if (_fleet.IsRoot) _fleet.ChownToLoginUser(authorized);
            using var host = _fleet.StartExtraHost("cli-enc" + _counter, _ => new[] { "AuthorizedKeysFile " + authorized });
            string[] Args(params string[] more) => new[] { "exec", "-F", host.SshConfigPath, "--transport", "sshnet", "--no-history", "-k", key, "-H", host.Alias, "--json" }.Concat(more).Append("echo unlocked").ToArray();

            var none = await HerdProcess.RunAsync(Args(), _env, TimeSpan.FromMinutes(1));
            Assert.True(none.ExitCode == 1, $"exit {none.ExitCode}: {none.StdErr}");
            var failed = Only(none);
            Assert.Equal("AuthenticationFailed", failed.GetProperty("errorKind").GetString());
            Assert.Contains($"the key {key} is encrypted and no passphrase was given", failed.GetProperty("errorMessage").GetString());

            var fromEnv = await HerdProcess.RunAsync(Args(), new Dictionary<string, string>(_env) { ["HERD_KEY_PASSPHRASE"] = "cli passphrase" });
            Assert.True(fromEnv.ExitCode == 0, fromEnv.StdOut + fromEnv.StdErr);
            Assert.Equal("unlocked\n", Only(fromEnv).GetProperty("stdOut").GetString());

            var file = Path.Combine(_dir, "passphrase");
            File.WriteAllText(file, "cli passphrase\n");
            var fromFile = await HerdProcess.RunAsync(Args("--key-passphrase-file", file), _env);
            Assert.True(fromFile.ExitCode == 0, fromFile.StdOut + fromFile.StdErr);
            Assert.Equal("unlocked\n", Only(fromFile).GetProperty("stdOut").GetString());
        }

        [Fact]
        public async Task APasswordNeverReachesArgvTheHistoryTheOutputOrThePoolProcess()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.StartExtraHost("cli-pw" + Interlocked.Increment(ref _counter), _ => PasswordAccount.PasswordLogins(_fleet.User).Append("AuthenticationMethods password"));
            var historyDir = Path.Combine(_dir, "history");
            Directory.CreateDirectory(historyDir);
            var env = new Dictionary<string, string>(_env) { ["HERD_PASSWORD"] = PasswordAccount.Password, ["HERD_HISTORY"] = Path.Combine(historyDir, "history.db") };
            var args = new[] { "exec", "-F", host.SshConfigPath, "--transport", "sshnet", "-u", PasswordAccount.Name, "-H", host.Alias, "--json", "sleep 2; id -un" };

            // While it runs, no process's command line holds the password.
            using var herd = Process.Start(HerdProcess.StartInfo(args, env))!;
            herd.StandardInput.Close();
            var stdout = herd.StandardOutput.ReadToEndAsync();
            var stderr = herd.StandardError.ReadToEndAsync();
            var seen = 0;
            while (!herd.HasExited)
            {
                Assert.Empty(ProcessTable.Find(p => p.CommandLine.Contains(PasswordAccount.Password)));
                seen++;
                await Task.Delay(50);
            }
            await herd.WaitForExitAsync();
            Assert.True(seen > 0);
            Assert.True(herd.ExitCode == 0, await stdout + await stderr);
            Assert.Equal(PasswordAccount.Name + "\n", Only(new HerdProcess.Outcome(0, await stdout, "")).GetProperty("stdOut").GetString());
            Assert.DoesNotContain(PasswordAccount.Password, await stdout + await stderr);
            // A run with a password never goes to the shared pool process: secrets stay in the process they were given to.
            Assert.Empty(ProcessTable.Find(p => p.CommandLine.Contains("pool-serve") && p.CommandLine.Contains(_dir)));

            // A wrong one fails without being echoed.
            var wrong = await HerdProcess.RunAsync(args, new Dictionary<string, string>(env) { ["HERD_PASSWORD"] = PasswordAccount.Password + "-wrong" });
            Assert.Equal(1, wrong.ExitCode);
            Assert.DoesNotContain(PasswordAccount.Password, wrong.StdOut + wrong.StdErr);

            // The history that recorded both runs, every file of it, and the server's log.
            var files = Directory.GetFiles(historyDir, "*", SearchOption.AllDirectories);
            Assert.NotEmpty(files);
            foreach (var f in files.Append(host.SshdLogPath))
                Assert.False(Contains(File.ReadAllBytes(f), PasswordAccount.Password), $"{f} holds the password");
        }

        private static bool Contains(byte[] haystack, string needle)
        {
            foreach (var encoding in new Encoding[] { Encoding.UTF8, Encoding.Unicode })
            {
                var n = encoding.GetBytes(needle);
                for (var i = 0; i + n.Length <= haystack.Length; i++)
                    if (haystack.AsSpan(i, n.Length).SequenceEqual(n)) return true;
            }
            return false;
        }
    }
}
