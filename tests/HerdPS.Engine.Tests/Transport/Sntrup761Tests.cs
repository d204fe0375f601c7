using System;
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

        // Randomized: fresh keys, messages and tamperings every run, from the system's generator (a failure names
        // the round; the keys and ciphertext that failed are printed so it can be replayed).
        private const int Rounds = 128;

        [Fact]
        public void OurKeyGenAndDecapAgreeWithBouncyCastleEncapOverManyKeyPairs()
        {
            using var random = RandomNumberGenerator.Create();
            var bcRandom = new SecureRandom();
            for (var round = 0; round < Rounds; round++)
            {
                Sntrup761.KeyGen(out var pk, out var sk, random);
                Assert.Equal(Sntrup761.PublicKeyBytes, pk.Length);
                Assert.Equal(Sntrup761.SecretKeyBytes, sk.Length);
                var encapsulated = new SNtruPrimeKemGenerator(bcRandom).GenerateEncapsulated(new SNtruPrimePublicKeyParameters(Parameters, pk));
                var ciphertext = encapsulated.GetEncapsulation();
                Assert.Equal(Sntrup761.CiphertextBytes, ciphertext.Length);
                var ours = Sntrup761.Decap(ciphertext, sk);
                Assert.True(encapsulated.GetSecret().AsSpan().SequenceEqual(ours), Replay(round, pk, sk, ciphertext));
                // BouncyCastle reads our secret key the same way (the reference layout, cached hash included).
                var theirs = new SNtruPrimeKemExtractor(new SNtruPrimePrivateKeyParameters(Parameters, sk)).ExtractSecret(ciphertext);
                Assert.True(encapsulated.GetSecret().AsSpan().SequenceEqual(theirs), Replay(round, pk, sk, ciphertext));
            }
        }

        [Fact]
        public void BouncyCastleKeyGenAndDecapAgreeWithOurEncapOverManyKeyPairs()
        {
            using var random = RandomNumberGenerator.Create();
            var bcRandom = new SecureRandom();
            for (var round = 0; round < Rounds; round++)
            {
                var generator = new SNtruPrimeKeyPairGenerator();
                generator.Init(new SNtruPrimeKeyGenerationParameters(bcRandom, Parameters));
                var pair = generator.GenerateKeyPair();
                var pk = ((SNtruPrimePublicKeyParameters)pair.Public).GetEncoded();
                var sk = ((SNtruPrimePrivateKeyParameters)pair.Private).GetEncoded();

                Sntrup761.Encap(pk, out var ciphertext, out var secret, random);
                var theirs = new SNtruPrimeKemExtractor((SNtruPrimePrivateKeyParameters)pair.Private).ExtractSecret(ciphertext);
                Assert.True(secret.AsSpan().SequenceEqual(theirs), Replay(round, pk, sk, ciphertext));
                // And our decapsulation with BouncyCastle's secret key.
                Assert.True(secret.AsSpan().SequenceEqual(Sntrup761.Decap(ciphertext, sk)), Replay(round, pk, sk, ciphertext));
            }
        }

        [Fact]
        public void ATamperedCiphertextGivesTheImplicitRejectionSecretBouncyCastleComputesAndNeverTheRealOne()
        {
            using var random = RandomNumberGenerator.Create();
            var bcRandom = new SecureRandom();
            var pick = new byte[8];
            for (var round = 0; round < Rounds / 8; round++)
            {
                // Keys from both sides, alternately; the ciphertext from the other side.
                byte[] pk, sk, ciphertext, secret;
                if (round % 2 == 0)
                {
                    Sntrup761.KeyGen(out pk, out sk, random);
                    var e = new SNtruPrimeKemGenerator(bcRandom).GenerateEncapsulated(new SNtruPrimePublicKeyParameters(Parameters, pk));
                    ciphertext = e.GetEncapsulation();
                    secret = e.GetSecret();
                }
                else
                {
                    var generator = new SNtruPrimeKeyPairGenerator();
                    generator.Init(new SNtruPrimeKeyGenerationParameters(bcRandom, Parameters));
                    var pair = generator.GenerateKeyPair();
                    pk = ((SNtruPrimePublicKeyParameters)pair.Public).GetEncoded();
                    sk = ((SNtruPrimePrivateKeyParameters)pair.Private).GetEncoded();
                    Sntrup761.Encap(pk, out ciphertext, out secret, random);
                }
                var extractor = new SNtruPrimeKemExtractor(new SNtruPrimePrivateKeyParameters(Parameters, sk));
                // Fixed places (the first and last byte of the rounded polynomial, the first and last of the
                // confirmation hash) and random ones, each with a random non-zero flip.
                random.GetBytes(pick);
                var places = new[] { 0, 1006, 1007, 1038, pick[0] * 1039 / 256, (pick[1] << 8 | pick[2]) % 1007, 1007 + pick[3] % 32 };
                foreach (var at in places)
                {
                    var tampered = ciphertext.ToArray();
                    tampered[at] ^= (byte)(1 + pick[4] % 255);
                    var rejected = Sntrup761.Decap(tampered, sk);
                    Assert.False(secret.AsSpan().SequenceEqual(rejected), Replay(round, pk, sk, tampered));
                    Assert.True(extractor.ExtractSecret(tampered).AsSpan().SequenceEqual(rejected), Replay(round, pk, sk, tampered) + $" (byte {at})");
                }
            }
        }

        private static string Replay(int round, byte[] pk, byte[] sk, byte[] ciphertext) =>
            $"round {round}: pk={System.Convert.ToBase64String(pk)} sk={System.Convert.ToBase64String(sk)} ct={System.Convert.ToBase64String(ciphertext)}";

        [Fact]
        public void HerdSntrup761PicksOursByDefaultAndBouncyCastlesOnRequestAndRefusesAnythingElse()
        {
            Assert.False(SntrupKeyExchange.BouncyCastleRequested(null));
            Assert.False(SntrupKeyExchange.BouncyCastleRequested(""));
            Assert.False(SntrupKeyExchange.BouncyCastleRequested("herd"));
            Assert.True(SntrupKeyExchange.BouncyCastleRequested("BouncyCastle"));
            var e = Assert.Throws<System.ArgumentException>(() => SntrupKeyExchange.BouncyCastleRequested("openssl"));
            Assert.Equal("$HERD_SNTRUP761: 'openssl' is not an sntrup761 implementation; choose herd (the default) or bouncycastle", e.Message);

            var ours = new Renci.SshNet.ConnectionInfo("127.0.0.1", "x", new Renci.SshNet.PasswordAuthenticationMethod("x", "y"));
            Assert.True(SntrupKeyExchange.Install(ours));
            Assert.IsType<SntrupKeyExchange>(ours.KeyExchangeAlgorithms[SntrupKeyExchange.AlgorithmName]());
            var theirs = new Renci.SshNet.ConnectionInfo("127.0.0.1", "x", new Renci.SshNet.PasswordAuthenticationMethod("x", "y"));
            Assert.False(SntrupKeyExchange.Install(theirs, bouncyCastle: true));
            Assert.IsNotType<SntrupKeyExchange>(theirs.KeyExchangeAlgorithms[SntrupKeyExchange.AlgorithmName]());
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
