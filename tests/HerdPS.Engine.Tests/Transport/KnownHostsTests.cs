using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Tests.Fleet;
using HerdPS.Tests.Inventory;
using HerdPS.Transport;
using HerdPS.Transport.SshNet;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// The sshnet transport's own known_hosts checking, against real files written by ssh-keygen and by hand,
    /// hostile ones included: a line may make a host unknown, never make a wrong key known.
    /// </summary>
    public sealed class KnownHostsTests : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();
        private readonly string _keyLine;      // "ssh-ed25519 AAAA..."
        private readonly string _otherLine;
        private readonly string _caLine;
        private readonly PresentedHostKey _key;

        public KnownHostsTests()
        {
            _keyLine = NewKey("host");
            _otherLine = NewKey("other");
            _caLine = NewKey("ca");
            _key = Presented(_keyLine);
        }

        public void Dispose() => _dir.Dispose();

        private string NewKey(string name)
        {
            var path = Path.Combine(_dir.Path, name);
            Keys.Generate(path);
            return Keys.PublicKey(path);
        }

        private static PresentedHostKey Presented(string line)
        {
            var parts = line.Split(' ');
            return new PresentedHostKey(parts[0], Convert.FromBase64String(parts[1]));
        }

        private string File(string text)
        {
            var path = Path.Combine(_dir.Path, "kh-" + Guid.NewGuid().ToString("N"));
            System.IO.File.WriteAllText(path, text);
            return path;
        }

        private HostKeyVerdict Check(string text, string name, PresentedHostKey? key = null) =>
            KnownHosts.Check(new[] { File(text) }, name, key ?? _key, DateTimeOffset.UtcNow);

        [Fact]
        public void APlainEntryIsKnownAnotherKeyOfTheSameTypeIsAChangeAndNoEntryIsUnknown()
        {
            Assert.Equal(HostKeyVerdict.Known, Check($"web-01 {_keyLine}\n", "web-01"));
            Assert.Equal(HostKeyVerdict.Known, Check($"db,web-01,WEB-02 {_keyLine} comment\n", "web-02"));
            Assert.Equal(HostKeyVerdict.Changed, Check($"web-01 {_otherLine}\n", "web-01"));
            Assert.Equal(HostKeyVerdict.Unknown, Check($"web-02 {_keyLine}\n", "web-01"));
            Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(new[] { Path.Combine(_dir.Path, "missing"), _dir.Path }, "web-01", _key, DateTimeOffset.UtcNow));
        }

        [Fact]
        public void HashedEntriesWrittenBySshKeygenMatchAndNonStandardPortsUseBrackets()
        {
            var path = File($"web-01 {_keyLine}\n[web-02]:2222 {_keyLine}\n");
            var r = ProcessRunner.Run("ssh-keygen", new[] { "-H", "-f", path }, TimeSpan.FromSeconds(30));
            Assert.Equal(0, r.ExitCode);
            var text = System.IO.File.ReadAllText(path);
            Assert.DoesNotContain("web-0", text); // really hashed
            Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("|1|", l));
            Assert.Equal(HostKeyVerdict.Known, KnownHosts.Check(new[] { path }, "web-01", _key, DateTimeOffset.UtcNow));
            Assert.Equal(HostKeyVerdict.Known, KnownHosts.Check(new[] { path }, "[web-02]:2222", _key, DateTimeOffset.UtcNow));
            Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(new[] { path }, "web-02", _key, DateTimeOffset.UtcNow));
            Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(new[] { path }, "[web-01]:2222", _key, DateTimeOffset.UtcNow));
            Assert.Equal("[web-02]:2222", new SshHostConfig { HostName = "web-02", Port = 2222 }.KnownHostsName);
            Assert.Equal("alias", new SshHostConfig { HostName = "web-02", Port = 2222, HostKeyAlias = "alias" }.KnownHostsName);
        }

        [Fact]
        public void WildcardsAndNegationFollowSsh()
        {
            Assert.Equal(HostKeyVerdict.Known, Check($"*.example.com {_keyLine}\n", "a.example.com"));
            Assert.Equal(HostKeyVerdict.Known, Check($"web-?? {_keyLine}\n", "web-01"));
            Assert.Equal(HostKeyVerdict.Unknown, Check($"*.example.com,!bad.example.com {_keyLine}\n", "bad.example.com"));
            Assert.Equal(HostKeyVerdict.Unknown, Check($"!web-01 {_keyLine}\n", "web-01"));
        }

        [Fact]
        public void ARevokedKeyIsNeverAcceptedEvenWhenAlsoListed()
        {
            Assert.Equal(HostKeyVerdict.Revoked, Check($"web-01 {_keyLine}\n@revoked * {_keyLine}\n", "web-01"));
            Assert.Equal(HostKeyVerdict.Known, Check($"web-01 {_keyLine}\n@revoked * {_otherLine}\n", "web-01"));
        }

        [Fact]
        public void AHostCertificateIsTrustedThroughItsCaOnlyWhenValidForThisHostNow()
        {
            var ca = Presented(_caLine);
            PresentedHostKey Cert(string principal, bool host = true, int fromHours = -1, int toHours = 1) => new PresentedHostKey(_key.Type, _key.Blob)
            {
                CertificateAuthorityFingerprint = KnownHosts.Fingerprint(ca.Blob),
                IsHostCertificate = host,
                Principals = new[] { principal },
                ValidAfter = DateTimeOffset.UtcNow.AddHours(fromHours),
                ValidBefore = DateTimeOffset.UtcNow.AddHours(toHours),
            };
            var trusted = $"@cert-authority *.example.com {_caLine}\n";
            Assert.Equal(HostKeyVerdict.Known, Check(trusted, "a.example.com", Cert("a.example.com")));
            Assert.Equal(HostKeyVerdict.BadCertificate, Check(trusted, "a.example.com", Cert("b.example.com")));
            Assert.Equal(HostKeyVerdict.BadCertificate, Check(trusted, "a.example.com", Cert("a.example.com", host: false)));
            Assert.Equal(HostKeyVerdict.BadCertificate, Check(trusted, "a.example.com", Cert("a.example.com", fromHours: -3, toHours: -2)));
            // A CA for other names does not vouch here; nor does a revoked CA anywhere.
            Assert.Equal(HostKeyVerdict.Unknown, Check($"@cert-authority *.other.org {_caLine}\n", "a.example.com", Cert("a.example.com")));
            Assert.Equal(HostKeyVerdict.Revoked, Check(trusted + $"@revoked * {_caLine}\n", "a.example.com", Cert("a.example.com")));
            // A CA line never counts as the host's own key.
            Assert.Equal(HostKeyVerdict.Unknown, Check($"@cert-authority a.example.com {_keyLine}\n", "a.example.com"));
        }

        [Fact]
        public void HostileLinesNeverMakeAWrongKeyKnown()
        {
            var blob = _keyLine.Split(' ')[1];
            var hostile = string.Join("\n",
                $"web-01 ssh-rsa {blob}",                         // the type field lies about the blob
                $"web-01 ssh-ed25519 {blob.Substring(0, 20)}!!", // not base64
                "web-01 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",       // a truncated blob
                $"@trusted web-01 {_keyLine}",                   // an unknown marker
                $"@cert-authority web-01",                       // a marker without a key
                "web-01",                                        // a name alone
                "|1|bm90LWEtc2FsdA==|bm90LWEtaGFzaA== " + _keyLine, // a hash of the wrong length
                "\0\x1b[31m\u202e garbage \uFFFD",
                new string('a', 200_000) + " " + _keyLine,       // an endless line
                "") ;
            Assert.Equal(HostKeyVerdict.Unknown, Check(hostile, "web-01"));
            // Good lines among hostile ones still count, CRLF line ends included.
            Assert.Equal(HostKeyVerdict.Known, Check(hostile.Replace("\n", "\r\n") + $"\r\nweb-01 {_keyLine}\r\n", "web-01"));
        }

        [Fact]
        public async Task AcceptNewAppendsWholeLinesUnderALockFromManyThreadsAtOnce()
        {
            var path = Path.Combine(_dir.Path, "ssh", "known_hosts");
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => KnownHosts.Append(path, "h" + i, _key))));
            KnownHosts.Append(path, "h0", _key); // already there: not written twice
            var lines = System.IO.File.ReadAllLines(path);
            Assert.Equal(40, lines.Length);
            Assert.All(lines, l => Assert.Matches("^h[0-9]+ ssh-ed25519 [A-Za-z0-9+/=]+$", l));
            Assert.All(Enumerable.Range(0, 40), i => Assert.Equal(HostKeyVerdict.Known, KnownHosts.Check(new[] { path }, "h" + i, _key, DateTimeOffset.UtcNow)));
            Assert.True(UnixFiles.TryGetStatus(path, out var status));
            Assert.Equal(0x180, status.Mode & 0x1FF); // a new known_hosts is 0600
        }
    }

    /// <summary>The same checks end to end: sshnet against the real fleet with rewritten known_hosts files.</summary>
    [Collection("ssh fleet")]
    public sealed class SshNetHostKeyTests
    {
        private readonly SshFleet _fleet;

        public SshNetHostKeyTests(SshFleet fleet) { _fleet = fleet; }

        private async Task<FleetResult> RunWith(string knownHosts, string host)
        {
            using var t = new FleetTestRun(_fleet, ssh => ssh.ExtraOptions.Add("UserKnownHostsFile=" + knownHosts), TransportKinds.SshNet);
            return await t.RunOneAsync(host, "echo in");
        }

        [Fact]
        public async Task AHashedKnownHostsFileIsReadAndARevokedKeyIsRefusedAsAMismatch()
        {
            var hashed = Path.Combine(_fleet.WorkDir, "known_hosts.hashed");
            System.IO.File.Copy(_fleet.KnownHostsPath, hashed, true);
            Assert.Equal(0, ProcessRunner.Run("ssh-keygen", new[] { "-H", "-f", hashed }, TimeSpan.FromSeconds(30)).ExitCode);
            var ok = await RunWith(hashed, _fleet.Hosts[40]);
            Assert.True(ok.Succeeded, ok.ErrorMessage);

            var revoked = Path.Combine(_fleet.WorkDir, "known_hosts.revoked");
            var hostKey = System.IO.File.ReadLines(_fleet.KnownHostsPath).First().Split(' ', 2)[1];
            System.IO.File.WriteAllText(revoked, System.IO.File.ReadAllText(_fleet.KnownHostsPath) + "@revoked * " + hostKey + "\n");
            var r = await RunWith(revoked, _fleet.Hosts[41]);
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(FleetErrorKind.HostKeyMismatch, r.ErrorKind);
            Assert.Contains("@revoked", r.ErrorMessage);
        }
    }
}
