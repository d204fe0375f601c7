using System.Linq;
using System.Security.Cryptography;
using HerdPS.Transport.SshNet;
using Org.BouncyCastle.Pqc.Crypto.NtruPrime;
using Org.BouncyCastle.Security;

namespace HerdPS.Tests.Transport
{
    /// <summary>
    /// Our sntrup761 against an independent implementation (BouncyCastle's, the one SSH.NET ships): keys, ciphertexts
    /// and secrets must cross in every direction, byte for byte, including the implicit-rejection secret of a tampered
    /// ciphertext. The end-to-end check against OpenSSH's sshd is in SshNetKeyExchangeTests.
    /// </summary>
    public sealed class Sntrup761Tests
    {
        private static readonly SNtruPrimeParameters Parameters = SNtruPrimeParameters.sntrup761;

        [Fact]
        public void ThisRuntimeRunsOurImplementation()
        {
            Assert.True(Sntrup761.IsSupported, "Vector<float> is not hardware accelerated here, so SSH.NET's own sntrup761 would be used");
            Assert.True(SntrupKeyExchange.IsAvailable, "SSH.NET no longer has the init message or reply event the key exchange needs");
        }

        [Fact]
        public void OurKeysDecapsulateWhatBouncyCastleEncapsulatesAndBouncyCastleReadsOurSecretKeys()
        {
            using var random = RandomNumberGenerator.Create();
            for (var round = 0; round < 8; round++)
            {
                Sntrup761.KeyGen(out var pk, out var sk, random);
                Assert.Equal(Sntrup761.PublicKeyBytes, pk.Length);
                Assert.Equal(Sntrup761.SecretKeyBytes, sk.Length);
                var encapsulated = new SNtruPrimeKemGenerator(new SecureRandom()).GenerateEncapsulated(new SNtruPrimePublicKeyParameters(Parameters, pk));
                var ciphertext = encapsulated.GetEncapsulation();
                Assert.Equal(Sntrup761.CiphertextBytes, ciphertext.Length);
                Assert.Equal(encapsulated.GetSecret(), Sntrup761.Decap(ciphertext, sk));
                Assert.Equal(encapsulated.GetSecret(), new SNtruPrimeKemExtractor(new SNtruPrimePrivateKeyParameters(Parameters, sk)).ExtractSecret(ciphertext));
            }
        }

        [Fact]
        public void BouncyCastleKeysDecapsulateWhatWeEncapsulateAndWeDecapsulateWhatItEncapsulates()
        {
            using var random = RandomNumberGenerator.Create();
            for (var round = 0; round < 8; round++)
            {
                var generator = new SNtruPrimeKeyPairGenerator();
                generator.Init(new SNtruPrimeKeyGenerationParameters(new SecureRandom(), Parameters));
                var pair = generator.GenerateKeyPair();
                var pk = ((SNtruPrimePublicKeyParameters)pair.Public).GetEncoded();
                var sk = ((SNtruPrimePrivateKeyParameters)pair.Private).GetEncoded();
                var extractor = new SNtruPrimeKemExtractor((SNtruPrimePrivateKeyParameters)pair.Private);

                Sntrup761.Encap(pk, out var ours, out var ourSecret, random);
                Assert.Equal(ourSecret, extractor.ExtractSecret(ours));

                var theirs = new SNtruPrimeKemGenerator(new SecureRandom()).GenerateEncapsulated(pair.Public);
                Assert.Equal(theirs.GetSecret(), Sntrup761.Decap(theirs.GetEncapsulation(), sk));
            }
        }

        [Fact]
        public void ATamperedCiphertextGivesTheSameRejectionSecretAsBouncyCastleAndNotTheRealOne()
        {
            using var random = RandomNumberGenerator.Create();
            Sntrup761.KeyGen(out var pk, out var sk, random);
            Sntrup761.Encap(pk, out var ciphertext, out var secret, random);
            var extractor = new SNtruPrimeKemExtractor(new SNtruPrimePrivateKeyParameters(Parameters, sk));
            foreach (var at in new[] { 0, 500, 1006, 1007, 1038 })   // the rounded polynomial and the confirmation hash
            {
                var tampered = ciphertext.ToArray();
                tampered[at] ^= 0x10;
                var rejected = Sntrup761.Decap(tampered, sk);
                Assert.NotEqual(secret, rejected);
                Assert.Equal(extractor.ExtractSecret(tampered), rejected);
            }
        }

        [Fact]
        public void KeysAreFreshEachTime()
        {
            using var random = RandomNumberGenerator.Create();
            Sntrup761.KeyGen(out var a, out _, random);
            Sntrup761.KeyGen(out var b, out _, random);
            Assert.NotEqual(a, b);
        }
    }
}

namespace HerdPS.Tests.Transport
{
    using System.Threading.Tasks;
    using HerdPS.Tests.Fleet;
    using HerdPS.Transport;

    /// <summary>Our sntrup761x25519-sha512 against OpenSSH's sshd, which offers it by default.</summary>
    [Collection("ssh fleet")]
    public sealed class SshNetKeyExchangeTests
    {
        private readonly SshFleet _fleet;

        public SshNetKeyExchangeTests(SshFleet fleet) { _fleet = fleet; }

        [Fact]
        public async Task SshdAgreesOnOurSntrup761KeyExchangeAndItsHostKeySignature()
        {
            using var t = new FleetTestRun(_fleet, null, TransportKinds.SshNet);
            var before = SntrupKeyExchange.Completed;
            var results = await t.RunAsync(FleetTestRun.Hosts(_fleet.Hosts[60], _fleet.Hosts[61], _fleet.Hosts[62]), "echo agreed");
            Assert.All(results, r => Assert.True(r.Succeeded, r.ErrorMessage));
            Assert.All(results, r => Assert.Equal("agreed\n", r.StdOut));
            Assert.Equal(3, t.Pool.KeyExchanges()[SntrupKeyExchange.AlgorithmName]);
            // Other tests may connect at the same time: at least ours went through this class.
            Assert.True(SntrupKeyExchange.Completed - before >= 3, $"{SntrupKeyExchange.Completed - before} key exchanges went through our sntrup761");
        }

        [Fact]
        public async Task AChangedHostKeyIsStillRefusedThroughOurKeyExchange()
        {
            using var t = new FleetTestRun(_fleet, null, TransportKinds.SshNet);
            var r = await t.RunOneAsync(_fleet.MismatchKeyHost, "echo never");
            Assert.Equal(FleetStatus.Unreachable, r.Status);
            Assert.Equal(FleetErrorKind.HostKeyMismatch, r.ErrorKind);
            Assert.Equal("", r.StdOut);
        }
    }
}
