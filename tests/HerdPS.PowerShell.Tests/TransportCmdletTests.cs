using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using HerdPS.Tests.Fleet;

namespace HerdPS.PowerShell.Tests
{
    /// <summary>
    /// -Transport, -Credential and -KeyPassphrase as users write them, in a real PowerShell 7.6 runspace against the
    /// docs' fleet; and the in-process SSH.NET pool shared by -AsJob and ForEach-Object -Parallel runspaces.
    /// </summary>
    [Collection(ModuleFleetCollection.Name)]
    public sealed class TransportCmdletTests
    {
        private readonly ModuleFleet _fleet;

        public TransportCmdletTests(ModuleFleet fleet) { _fleet = fleet; }

        private static string Prop(PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";

        private static string Quote(string s) => "'" + s.Replace("'", "''") + "'";

        [Theory]
        [InlineData("SshNet", "sshnet")]
        [InlineData("OpenSsh", "openssh")]
        [InlineData("Auto", "sshnet")]
        public void Transport_chooses_how_a_host_is_reached_and_the_result_says_which(string parameter, string used)
        {
            using var session = _fleet.Session();
            var r = session.Run($"Invoke-FleetCommand -HostName web-01 -Command 'echo via' -Transport {parameter} -NoHistory").AssertClean().Output.Single();
            Assert.Equal("via", Prop(r, "StdOut"));
            Assert.Equal(used, Prop(r, "Transport"));
        }

        [Fact]
        public void Transport_refuses_a_value_it_does_not_know()
        {
            using var session = _fleet.Session();
            var run = session.Run("Invoke-FleetCommand -HostName web-01 -Command 'echo never' -Transport Telnet -NoHistory");
            Assert.True(run.Terminating != null || run.Errors.Count > 0, "an unknown transport ran");
            var text = run.Terminating?.Message ?? run.Errors[0].ToString();
            Assert.Contains("Telnet", text);
            Assert.Contains("SshNet", text);
            Assert.Empty(run.Output);
        }

        [Fact]
        public void Auto_says_in_Verbose_why_a_host_went_to_OpenSSH()
        {
            // h001's ssh settings include SetEnv, which SSH.NET can't send.
            using var session = _fleet.Session();
            var run = session.Run($"Invoke-FleetCommand -HostName {_fleet.Ssh.Hosts[0]} -Command 'echo $HERD_ALIAS' -Transport Auto -NoHistory -Verbose").AssertClean();
            var r = run.Output.Single();
            Assert.Equal("openssh", Prop(r, "Transport"));
            Assert.Equal(_fleet.Ssh.Hosts[0], Prop(r, "StdOut"));
            Assert.Contains(run.Verbose, v => v.Message.Contains($"auto: {_fleet.Ssh.Hosts[0]} runs over openssh because its ssh settings need 'SetEnv"));
        }

        [Fact]
        public void One_pool_serves_the_session_its_jobs_and_ForEach_Parallel_runspaces_without_new_logins()
        {
            using var session = _fleet.Session();
            session.Run("Invoke-FleetCommand -HostName web-02 -Command 'true' -Transport SshNet -NoHistory").AssertClean();
            var logins = _fleet.Ssh.CountAcceptedLogins();
            var run = session.Run(@"
                (Invoke-FleetCommand -HostName web-02 -Command 'echo again' -Transport SshNet -NoHistory).StdOut
                (Invoke-FleetCommand -HostName web-02 -Command 'echo from-job' -Transport SshNet -NoHistory -AsJob | Receive-Job -Wait -AutoRemoveJob).StdOut
                1..3 | ForEach-Object -Parallel { (Invoke-FleetCommand -HostName web-02 -Command ""echo parallel-$_"" -Transport SshNet -NoHistory).StdOut } -ThrottleLimit 3 | Sort-Object",
                TimeSpan.FromMinutes(2)).AssertClean();
            Assert.Equal(new[] { "again", "from-job", "parallel-1", "parallel-2", "parallel-3" }, run.Output.Select(o => o.ToString()));
            Assert.Equal(logins, _fleet.Ssh.CountAcceptedLogins());
        }

        [Fact]
        public void Credential_logs_in_with_a_password_and_never_shows_it_in_Verbose_or_errors()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.Ssh.StartExtraHost("pw-module", _ => PasswordAccount.PasswordLogins(_fleet.Ssh.User).Append("AuthenticationMethods password"));
            using var session = _fleet.Session();
            var login = $"-HostName {host.Alias} -SshConfigPath {Quote(host.SshConfigPath)} -Transport SshNet -NoHistory -UserName {PasswordAccount.Name}";
            var ok = session.Run($@"
                $c = [pscredential]::new('{PasswordAccount.Name}', (ConvertTo-SecureString {Quote(PasswordAccount.Password)} -AsPlainText -Force))
                Invoke-FleetCommand {login} -Credential $c -Command 'id -un' -Verbose").AssertClean();
            Assert.Equal(PasswordAccount.Name, Prop(ok.Output.Single(), "StdOut"));
            Assert.DoesNotContain(ok.Verbose, v => v.Message.Contains(PasswordAccount.Password));

            var wrong = session.Run($@"
                $c = [pscredential]::new('{PasswordAccount.Name}', (ConvertTo-SecureString {Quote("x" + PasswordAccount.Password)} -AsPlainText -Force))
                Invoke-FleetCommand {login} -Credential $c -Command 'id -un' -Verbose -ErrorAction SilentlyContinue -ErrorVariable e; $e");
            var error = wrong.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single();
            Assert.Equal("AuthenticationFailed", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.DoesNotContain(PasswordAccount.Password, error.ToString());
            Assert.DoesNotContain(wrong.Verbose, v => v.Message.Contains(PasswordAccount.Password));
        }

        [Fact]
        public void NoMultiplex_under_SshNet_logs_in_for_every_command_and_leaves_no_pooled_connection()
        {
            using var host = _fleet.Ssh.StartExtraHost("nomux-module", _ => Array.Empty<string>());
            using var session = _fleet.Session();
            var login = $"-HostName {host.Alias} -SshConfigPath {Quote(host.SshConfigPath)} -Transport SshNet -NoHistory -NoMultiplex";
            var run = session.Run($@"
                (Invoke-FleetCommand {login} -Command 'echo one').StdOut
                (Invoke-FleetCommand {login} -Command 'echo two').StdOut").AssertClean();
            Assert.Equal(new[] { "one", "two" }, run.Output.Select(o => o.ToString()));
            Assert.Equal(2, host.CountAcceptedLogins());
            // Each connection closed when its command ended: the host has no session of ours left.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (ProcessTable.Descendants(host.Pid).Any() && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(50);
            Assert.Empty(ProcessTable.Descendants(host.Pid));
        }

        [Fact]
        public void A_password_never_reaches_the_history_or_the_Verbose_stream_even_when_the_run_is_recorded()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.Ssh.StartExtraHost("pw-history", _ => PasswordAccount.PasswordLogins(_fleet.Ssh.User).Append("AuthenticationMethods password"));
            using var session = _fleet.Session();
            // Recorded in the module fleet's history ($HERD_HISTORY), which is then searched, every file of it.
            var run = session.Run($@"
                $c = [pscredential]::new('{PasswordAccount.Name}', (ConvertTo-SecureString {Quote(PasswordAccount.Password)} -AsPlainText -Force))
                Invoke-FleetCommand -HostName {host.Alias} -SshConfigPath {Quote(host.SshConfigPath)} -Transport SshNet -UserName {PasswordAccount.Name} -Credential $c -Command 'id -un' -Verbose").AssertClean();
            var r = run.Output.Single();
            Assert.Equal(PasswordAccount.Name, Prop(r, "StdOut"));
            Assert.Equal("sshnet", Prop(r, "Transport"));
            Assert.DoesNotContain(run.Verbose, v => v.Message.Contains(PasswordAccount.Password));
            var files = Directory.GetFiles(Path.GetDirectoryName(_fleet.HistoryPath)!);
            Assert.NotEmpty(files);
            foreach (var f in files)
                Assert.False(System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f)).Contains(PasswordAccount.Password), $"{f} holds the password");
        }

        [Theory]
        [InlineData("ecdsa", 384)]
        [InlineData("rsa", 3072)]
        public void An_ecdsa_or_rsa_key_with_a_user_certificate_logs_in_to_a_host_known_only_through_its_certificate_authority(string type, int bits)
        {
            var dir = _fleet.Ssh.WorkDir;   // sshd reads authorized files as the login user
            var tag = type + bits;
            var userCa = Path.Combine(dir, "module_user_ca_" + tag);
            var hostCa = Path.Combine(dir, "module_host_ca_" + tag);
            var key = Path.Combine(dir, "id_module_" + tag);
            foreach (var f in new[] { userCa, hostCa, key, key + "-cert.pub" }) { File.Delete(f); File.Delete(f + ".pub"); }
            Keys.Generate(userCa);
            Keys.Generate(hostCa);
            Keys.Generate(key, type, bits: bits);
            Keys.Sign(userCa, key, _fleet.Ssh.User);
            var nothing = Path.Combine(dir, "authorized_module_none_" + tag);
            File.WriteAllText(nothing, "");
            if (_fleet.Ssh.IsRoot) _fleet.Ssh.ChownToLoginUser(nothing);
            var alias = "ca-module-" + tag;
            using var host = _fleet.Ssh.StartExtraHost(alias,
                hostKey =>
                {
                    Keys.Sign(hostCa, hostKey, alias, host: true);
                    return new[] { "HostCertificate " + hostKey + "-cert.pub", "AuthorizedKeysFile " + nothing, "TrustedUserCAKeys " + userCa + ".pub" };
                },
                _ => $"@cert-authority {alias} {Keys.PublicKey(hostCa)}\n");
            using var session = _fleet.Session();
            var run = session.Run($"Invoke-FleetCommand -HostName {alias} -SshConfigPath {Quote(host.SshConfigPath)} -KeyFilePath {Quote(key)} -Transport SshNet -NoHistory -Command 'echo certified'").AssertClean();
            Assert.Equal("certified", Prop(run.Output.Single(), "StdOut"));
            Assert.Contains("-CERT", File.ReadAllText(host.SshdLogPath));
        }

        [Fact]
        public void Credential_answers_a_keyboard_interactive_password_prompt()
        {
            PasswordAccount.Ensure();
            using var host = _fleet.Ssh.StartExtraHost("kbd-module", _ => PasswordAccount.KeyboardInteractiveLogins(_fleet.Ssh.User));
            using var session = _fleet.Session();
            var run = session.Run($@"
                $c = [pscredential]::new('{PasswordAccount.Name}', (ConvertTo-SecureString {Quote(PasswordAccount.Password)} -AsPlainText -Force))
                Invoke-FleetCommand -HostName {host.Alias} -SshConfigPath {Quote(host.SshConfigPath)} -Transport SshNet -NoHistory -UserName {PasswordAccount.Name} -Credential $c -Command 'id -un'").AssertClean();
            Assert.Equal(PasswordAccount.Name, Prop(run.Output.Single(), "StdOut"));
            Assert.Contains("Accepted keyboard-interactive/pam for " + PasswordAccount.Name, File.ReadAllText(host.SshdLogPath));
        }

        [Fact]
        public void KeyPassphrase_unlocks_an_encrypted_key_and_without_it_the_error_says_what_is_missing()
        {
            // In the sshd fleet's folder: sshd reads authorized_keys as the login user, who can't enter the module's.
            var key = Path.Combine(_fleet.Ssh.WorkDir, "id_module_encrypted");
            if (!File.Exists(key)) Keys.Generate(key, "ed25519", passphrase: "module passphrase");
            var authorized = Path.Combine(_fleet.Ssh.WorkDir, "authorized_module_encrypted");
            File.WriteAllText(authorized, Keys.PublicKey(key) + "\n");
            if (_fleet.Ssh.IsRoot) _fleet.Ssh.ChownToLoginUser(authorized);
            using var host = _fleet.Ssh.StartExtraHost("enc-module", _ => new[] { "AuthorizedKeysFile " + authorized });
            using var session = _fleet.Session();
            var login = $"-HostName {host.Alias} -SshConfigPath {Quote(host.SshConfigPath)} -KeyFilePath {Quote(key)} -Transport SshNet -NoHistory";

            var ok = session.Run($"Invoke-FleetCommand {login} -KeyPassphrase (ConvertTo-SecureString 'module passphrase' -AsPlainText -Force) -Command 'echo unlocked'").AssertClean();
            Assert.Equal("unlocked", Prop(ok.Output.Single(), "StdOut"));

            var missing = session.Run($"Invoke-FleetCommand {login} -Command 'echo never' -ErrorAction SilentlyContinue -ErrorVariable e; $e");
            var error = missing.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single();
            Assert.Equal("AuthenticationFailed", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains($"the key {key} is encrypted and no passphrase was given", error.ToString());
        }
    }
}
