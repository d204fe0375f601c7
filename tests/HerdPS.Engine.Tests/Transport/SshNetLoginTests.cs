using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Tests.Fleet;
using HerdPS.Transport;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// Every way sshnet logs in, against real sshds that accept only that way: passwords, keyboard-interactive,
    /// encrypted keys, ecdsa and rsa keys, user certificates; and a host known only through @cert-authority.
    /// </summary>
    [Collection("ssh fleet")]
    public sealed class SshNetLoginTests
    {
        private readonly SshFleet _fleet;

        public SshNetLoginTests(SshFleet fleet) { _fleet = fleet; }

        private static int _counter;
        private string Name(string what) => what + Interlocked.Increment(ref _counter);

        private FleetTestRun Run(ExtraSshHost host, Action<SshOptions>? configure = null) =>
            new FleetTestRun(_fleet, ssh => { ssh.ConfigFile = host.SshConfigPath; configure?.Invoke(ssh); }, TransportKinds.SshNet);

        /// <summary>An authorized_keys file of its own holding these public keys (and not the fleet's key).</summary>
        private string AuthorizedKeys(params string[] keyPaths)
        {
            var file = Path.Combine(_fleet.WorkDir, Name("authorized_keys_"));
            File.WriteAllText(file, string.Concat(keyPaths.Select(k => Keys.PublicKey(k) + "\n")));
            if (_fleet.IsRoot) _fleet.ChownToLoginUser(file);
            return file;
        }

        private string KeyPath(string name) => Path.Combine(_fleet.WorkDir, Name(name));

        [Fact]
        public async Task AnSshOptionSshNetDoesNotFollowIsNeverIgnoredAutoTakesOpenSshAndSshNetSaysWhy()
        {
            // One fleet host with the user's own Ciphers and KexAlgorithms: options SSH.NET has no way to follow.
            var host = _fleet.Hosts[0];
            var config = Path.Combine(_fleet.WorkDir, Name("ciphers_config_"));
            File.WriteAllText(config, $"Host {host}\n  Ciphers aes256-ctr\n  KexAlgorithms curve25519-sha256\nHost *\nInclude {_fleet.PlainSshConfigPath}\n");

            using (var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = config, TransportKinds.SshNet))
            {
                var refused = await t.RunOneAsync(host, "true");
                Assert.Equal(FleetErrorKind.TransportError, refused.ErrorKind);
                Assert.Contains("ciphers aes256-ctr", refused.ErrorMessage);
                Assert.Contains("kexalgorithms curve25519-sha256", refused.ErrorMessage);
            }
            using (var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = config, TransportKinds.Auto))
            {
                var viaOpenSsh = await t.RunOneAsync(host, "echo ok");
                Assert.True(viaOpenSsh.Succeeded, viaOpenSsh.ErrorMessage);
                Assert.Equal(TransportKinds.OpenSsh, viaOpenSsh.Transport);
            }
            // The fleet's own config (User, IdentityFile, known_hosts, LogLevel, ...) has nothing SSH.NET can't follow.
            using (var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = _fleet.PlainSshConfigPath, TransportKinds.Auto))
            {
                var viaSshNet = await t.RunOneAsync(host, "echo ok");
                Assert.True(viaSshNet.Succeeded, viaSshNet.ErrorMessage);
                Assert.Equal(TransportKinds.SshNet, viaSshNet.Transport);
            }
        }

        [Fact]
        public async Task APasswordLogsInWithTheCredentialAndAWrongOneIsAnAuthenticationFailureThatNeverEchoesIt()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.StartExtraHost(Name("pw"), _ => PasswordAccount.PasswordLogins(_fleet.User).Append("AuthenticationMethods password"));
            using (var t = Run(host, ssh => { ssh.User = PasswordAccount.Name; ssh.Credential = new NetworkCredential(PasswordAccount.Name, PasswordAccount.SecurePassword()); }))
            {
                var r = await t.RunOneAsync(host.Alias, "id -un");
                Assert.True(r.Succeeded, r.ErrorMessage);
                Assert.Equal(PasswordAccount.Name + "\n", r.StdOut);
            }
            using (var t = Run(host, ssh => { ssh.User = PasswordAccount.Name; ssh.Credential = new NetworkCredential(PasswordAccount.Name, PasswordAccount.SecurePassword("wrong-" + PasswordAccount.Password)); }))
            {
                var r = await t.RunOneAsync(host.Alias, "id -un");
                Assert.Equal(FleetStatus.Unreachable, r.Status);
                Assert.Equal(FleetErrorKind.AuthenticationFailed, r.ErrorKind);
                Assert.DoesNotContain(PasswordAccount.Password, r.ErrorMessage);
            }
            using (var t = Run(host, ssh => ssh.User = PasswordAccount.Name))
            {
                var r = await t.RunOneAsync(host.Alias, "id -un");
                Assert.Equal(FleetErrorKind.AuthenticationFailed, r.ErrorKind);
            }
        }

        [Fact]
        public async Task KeyboardInteractiveAnswersThePasswordPromptWithTheCredential()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.StartExtraHost(Name("kbd"), _ => PasswordAccount.KeyboardInteractiveLogins(_fleet.User));
            using var t = Run(host, ssh => { ssh.User = PasswordAccount.Name; ssh.Credential = new NetworkCredential(PasswordAccount.Name, PasswordAccount.SecurePassword()); });
            var r = await t.RunOneAsync(host.Alias, "id -un");
            Assert.True(r.Succeeded, r.ErrorMessage);
            Assert.Equal(PasswordAccount.Name + "\n", r.StdOut);
            Assert.Contains("Accepted keyboard-interactive/pam for " + PasswordAccount.Name, File.ReadAllText(host.SshdLogPath));
        }

        [Fact]
        public async Task AnEncryptedKeyNeedsItsPassphraseAndWithoutOneFailsClearlyWithoutPrompting()
        {
            var key = KeyPath("id_encrypted_");
            Keys.Generate(key, "ed25519", passphrase: "open sesame");
            var authorized = AuthorizedKeys(key);
            using var host = _fleet.StartExtraHost(Name("enc"), _ => new[] { "AuthorizedKeysFile " + authorized });
            using (var t = Run(host, ssh => ssh.IdentityFile = key))
            {
                var r = await t.RunOneAsync(host.Alias, "echo in");
                Assert.Equal(FleetErrorKind.AuthenticationFailed, r.ErrorKind);
                Assert.Contains($"the key {key} is encrypted and no passphrase was given", r.ErrorMessage);
            }
            using (var t = Run(host, ssh => { ssh.IdentityFile = key; ssh.KeyPassphrase = PasswordAccount.SecurePassword("not it"); }))
            {
                var r = await t.RunOneAsync(host.Alias, "echo in");
                Assert.Equal(FleetErrorKind.AuthenticationFailed, r.ErrorKind);
                Assert.True(r.ErrorMessage!.Contains($"the key {key} could not be unlocked with the passphrase given"), r.ErrorMessage);
            }
            using (var t = Run(host, ssh => { ssh.IdentityFile = key; ssh.KeyPassphrase = PasswordAccount.SecurePassword("open sesame"); }))
            {
                var r = await t.RunOneAsync(host.Alias, "echo in");
                Assert.True(r.Succeeded, r.ErrorMessage);
                Assert.Equal("in\n", r.StdOut);
            }
        }

        [Theory]
        [InlineData("ecdsa", 256)]
        [InlineData("ecdsa", 521)]
        [InlineData("rsa", 3072)]
        public async Task EcdsaAndRsaKeysLogIn(string type, int bits)
        {
            var key = KeyPath("id_" + type + bits + "_");
            Keys.Generate(key, type, bits: bits);
            var authorized = AuthorizedKeys(key);
            using var host = _fleet.StartExtraHost(Name(type), _ => new[] { "AuthorizedKeysFile " + authorized });
            using var t = Run(host, ssh => ssh.IdentityFile = key);
            var r = await t.RunOneAsync(host.Alias, "echo in");
            Assert.True(r.Succeeded, r.ErrorMessage);
            Assert.Contains("Accepted publickey for " + _fleet.User, File.ReadAllText(host.SshdLogPath));
        }

        [Fact]
        public async Task AUserCertificateBesideTheKeyLogsInWhereOnlyTheCaIsTrusted()
        {
            var ca = KeyPath("user_ca_");
            Keys.Generate(ca);
            var key = KeyPath("id_certified_");
            Keys.Generate(key);
            Keys.Sign(ca, key, _fleet.User);
            var nothing = AuthorizedKeys();   // the plain key is authorized nowhere
            using var host = _fleet.StartExtraHost(Name("cert"), _ => new[] { "AuthorizedKeysFile " + nothing, "TrustedUserCAKeys " + ca + ".pub" });
            using (var t = Run(host, ssh => ssh.IdentityFile = key))
            {
                var r = await t.RunOneAsync(host.Alias, "echo in");
                Assert.True(r.Succeeded, r.ErrorMessage);
                Assert.Contains("ED25519-CERT", File.ReadAllText(host.SshdLogPath));
            }
            // The same key without its certificate is not enough.
            var bare = KeyPath("id_bare_");
            File.Copy(key, bare);
            File.Copy(key + ".pub", bare + ".pub");
            using (var t = Run(host, ssh => ssh.IdentityFile = bare))
            {
                var r = await t.RunOneAsync(host.Alias, "echo in");
                Assert.Equal(FleetErrorKind.AuthenticationFailed, r.ErrorKind);
            }
        }

        [Fact]
        public async Task AHostKnownOnlyThroughCertAuthorityIsAcceptedAndACertificateForAnotherNameIsNot()
        {
            var ca = KeyPath("host_ca_");
            Keys.Generate(ca);
            var alias = Name("certhost");
            string Lines(string hostKey)
            {
                Keys.Sign(ca, hostKey, alias, host: true);
                return "HostCertificate " + hostKey + "-cert.pub";
            }
            using var host = _fleet.StartExtraHost(alias, hostKey => new[] { Lines(hostKey) }, _ => $"@cert-authority {alias} {Keys.PublicKey(ca)}\n");
            foreach (var kind in new[] { TransportKinds.SshNet, TransportKinds.OpenSsh })
            {
                using var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = host.SshConfigPath, kind);
                var r = await t.RunOneAsync(alias, "echo in");
                Assert.True(r.Succeeded, $"{kind}: {r.ErrorMessage}");
            }

            // Another name for the same host (its certificate names only the first): refused as a mismatch.
            var config = Path.Combine(_fleet.WorkDir, Name("certhost_other_") + "_ssh_config");
            File.WriteAllText(config, $"Host other-name\n  HostName 127.0.0.1\n  Port {host.Port}\n  HostKeyAlias other-name\n  UserKnownHostsFile {host.KnownHostsPath}.other\nHost *\nInclude {_fleet.PlainSshConfigPath}\n");
            File.WriteAllText(host.KnownHostsPath + ".other", $"@cert-authority other-name {Keys.PublicKey(ca)}\n");
            using (var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = config, TransportKinds.SshNet))
            {
                var r = await t.RunOneAsync("other-name", "echo never");
                Assert.Equal(FleetErrorKind.HostKeyMismatch, r.ErrorKind);
                Assert.Contains("not valid for other-name", r.ErrorMessage);
            }
        }
    }

    /// <summary>The in-process pool's lifetime: idle expiry, and a dead connection replaced before a command starts.</summary>
    [Collection("ssh fleet")]
    public sealed class SshNetPoolTests
    {
        private readonly SshFleet _fleet;

        public SshNetPoolTests(SshFleet fleet) { _fleet = fleet; }

        [Fact]
        public async Task AnIdleConnectionClosesAfterItsIdleTimeAndTheNextCommandLogsInAgain()
        {
            using var extra = _fleet.StartExtraHost("idle-pool", _ => Array.Empty<string>());
            using var t = new FleetTestRun(_fleet, ssh => { ssh.ConfigFile = extra.SshConfigPath; ssh.ControlPersist = TimeSpan.FromSeconds(1); }, TransportKinds.SshNet);
            Assert.True((await t.RunOneAsync(extra.Alias, "true")).Succeeded);
            Assert.Equal(1, t.Pool.Count);
            // The sweep runs every few seconds: poll with a generous guard.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (t.Pool.Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(0, t.Pool.Count);
            Assert.True((await t.RunOneAsync(extra.Alias, "true")).Succeeded);
            Assert.Equal(2, extra.CountAcceptedLogins());
        }

        [Fact]
        public async Task AServerThatStopsAnsweringIsDroppedAfterServerAliveCountMaxUnansweredKeepalives()
        {
            using var extra = _fleet.StartExtraHost("frozen-pool", _ => Array.Empty<string>());
            using var t = new FleetTestRun(_fleet, ssh =>
            {
                ssh.ConfigFile = extra.SshConfigPath;
                ssh.ExtraOptions.Add("ServerAliveInterval=1");
                ssh.ExtraOptions.Add("ServerAliveCountMax=2");
            }, TransportKinds.SshNet);
            var sleep = Execution.LocalRunnerTests.UniqueSleep();
            var run = new FleetRunner(t.Transport()).Start(FleetTestRun.Hosts(extra.Alias), $"sleep {sleep}", new FleetRunOptions());
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (ProcessTable.FindByCommandLine(sleep).All(p => p.Name != "sleep") && DateTime.UtcNow < deadline) await Task.Delay(20);
            // The host freezes: its sshd processes stop (the TCP connection stays open, nothing answers).
            var frozen = ProcessTable.Descendants(extra.Pid).Select(p => p.Pid).Append(extra.Pid).ToList();
            foreach (var pid in frozen) ProcessTable.Signal(pid, ProcessTable.SigStop);
            try
            {
                var r = await run.Results.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(FleetStatus.Unreachable, r.Status);
                Assert.Equal(FleetErrorKind.TransportError, r.ErrorKind);
                Assert.Contains("did not answer 2 keepalive(s) in a row", r.ErrorMessage);
                Assert.Contains("may have run in part", r.ErrorMessage);
            }
            finally
            {
                foreach (var pid in frozen) ProcessTable.Signal(pid, 18); // SIGCONT, so the host can be ended
            }
        }

        [Fact]
        public async Task AConnectionThatDiedWhileIdleIsReplacedBeforeTheNextCommandStarts()
        {
            using var extra = _fleet.StartExtraHost("dead-pool", _ => Array.Empty<string>());
            using var t = new FleetTestRun(_fleet, ssh => ssh.ConfigFile = extra.SshConfigPath, TransportKinds.SshNet);
            Assert.True((await t.RunOneAsync(extra.Alias, "true")).Succeeded);
            // The server side of the pooled connection goes (the listener stays): the host rebooted its sshd session.
            foreach (var p in ProcessTable.Descendants(extra.Pid)) ProcessTable.Signal(p.Pid, ProcessTable.SigKill);
            Assert.Empty(ProcessTable.WaitUntilGone(p => ProcessTable.Descendants(extra.Pid).Any(d => d.Pid == p.Pid), TimeSpan.FromSeconds(20)));
            var r = await t.RunOneAsync(extra.Alias, "echo again");
            Assert.True(r.Succeeded, r.ErrorMessage);
            Assert.Equal("again\n", r.StdOut);
            Assert.Equal(1, r.Attempts);
            Assert.Equal(2, extra.CountAcceptedLogins());
        }
    }
}
