using System;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Org.BouncyCastle.Math.EC.Rfc7748;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Messages;
using Renci.SshNet.Messages.Transport;
using Renci.SshNet.Security;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// sntrup761x25519-sha512 (OpenSSH's default key exchange up to 9.8) for SSH.NET, over our <see cref="Sntrup761"/>
    /// instead of BouncyCastle's, which cost ~45 ms of CPU per connect (see Sntrup761). The protocol is OpenSSH's
    /// (kexsntrup761x25519.c): the client sends its sntrup761 public key and an X25519 public key in
    /// SSH_MSG_KEX_ECDH_INIT; the server answers with a ciphertext and its X25519 key; the shared secret is
    /// SHA-512(sntrup761 secret || X25519 secret), encoded as a string in the exchange hash.
    ///
    /// SSH.NET exposes the key exchange base class but not the init message or the reply event; those two are reached
    /// by reflection once per process, and when they are missing (another SSH.NET version) <see cref="Install"/>
    /// leaves SSH.NET's own implementation in place, so a connect never depends on it.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The one type reached by name is kept by the DynamicDependency on InitMessage.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The one type reached by name is kept by the DynamicDependency on InitMessage.")]
    public sealed class SntrupKeyExchange : KeyExchange
    {
        public const string AlgorithmName = "sntrup761x25519-sha512";

        // The native herd compiles in only what it sees used: name the init message's constructor, reached by name here.
        [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.NonPublicConstructors,
            "Renci.SshNet.Messages.Transport.KeyExchangeEcdhInitMessage", "Renci.SshNet")]
        private static readonly ConstructorInfo? InitMessage = typeof(KeyExchangeEcdhReplyMessage).Assembly
            .GetType("Renci.SshNet.Messages.Transport.KeyExchangeEcdhInitMessage")?
            .GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, new[] { typeof(byte[]) }, null);
        private static readonly EventInfo? ReplyEvent = typeof(Session).GetEvent("KeyExchangeEcdhReplyMessageReceived", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        private static long _completed;

        private byte[]? _secretKey;
        private byte[]? _x25519Private;
        private byte[]? _clientPayload;
        private byte[]? _serverPayload;
        private byte[]? _clientExchangeValue;
        private byte[]? _serverExchangeValue;
        private byte[]? _hostKey;
        private byte[]? _signature;
        private EventHandler<MessageEventArgs<KeyExchangeEcdhReplyMessage>>? _onReply;

        /// <summary>True when this process can use it (see <see cref="Sntrup761.IsSupported"/> and the reflection above).</summary>
        public static bool IsAvailable => InitMessage != null && ReplyEvent?.GetAddMethod(true) != null && Sntrup761.IsSupported;

        /// <summary>Key exchanges completed by this class in this process (tests and benchmarks read it).</summary>
        public static long Completed => Interlocked.Read(ref _completed);

        /// <summary>
        /// The environment variable that picks the sntrup761 used: unset, empty or <c>herd</c> for ours,
        /// <c>bouncycastle</c> for SSH.NET's own (BouncyCastle's), the way back should ours ever be doubted.
        /// </summary>
        public const string ImplementationVariable = "HERD_SNTRUP761";

        /// <summary>Whether <see cref="ImplementationVariable"/> asks for SSH.NET's (BouncyCastle's) sntrup761.</summary>
        /// <exception cref="ArgumentException">It holds anything else than herd or bouncycastle.</exception>
        public static bool BouncyCastleRequested() => BouncyCastleRequested(Environment.GetEnvironmentVariable(ImplementationVariable));

        internal static bool BouncyCastleRequested(string? value)
        {
            switch ((value ?? "").Trim().ToLowerInvariant())
            {
                case "":
                case "herd":
                    return false;
                case "bouncycastle":
                    return true;
                default:
                    throw new ArgumentException($"${ImplementationVariable}: '{(value!.Length > 40 ? value.Substring(0, 40) + "..." : value)}' is not an sntrup761 implementation; choose herd (the default) or bouncycastle");
            }
        }

        /// <summary>
        /// Puts this implementation in place of SSH.NET's for sntrup761x25519-sha512 in <paramref name="info"/>,
        /// keeping the algorithm's place in the client's preference order. Returns false when it left SSH.NET's:
        /// when <paramref name="bouncyCastle"/> asks for it (<see cref="ImplementationVariable"/>), or when this
        /// process can't run ours.
        /// </summary>
        public static bool Install(ConnectionInfo info, bool bouncyCastle = false)
        {
            if (bouncyCastle || !IsAvailable || !info.KeyExchangeAlgorithms.ContainsKey(AlgorithmName)) return false;
            info.KeyExchangeAlgorithms[AlgorithmName] = () => new SntrupKeyExchange();
            return true;
        }

        public override string Name => AlgorithmName;

        public override void Start(Session session, KeyExchangeInitMessage message, bool sendClientInitMessage)
        {
            base.Start(session, message, sendClientInitMessage);
            _serverPayload = message.GetBytes();
            _clientPayload = Session.ClientInitMessage.GetBytes();

            Session.RegisterMessage("SSH_MSG_KEX_ECDH_REPLY");
            _onReply = OnReply;
            ReplyEvent!.GetAddMethod(true)!.Invoke(Session, new object[] { _onReply });

            using var random = RandomNumberGenerator.Create();
            Sntrup761.KeyGen(out var publicKey, out _secretKey, random);
            _x25519Private = new byte[X25519.ScalarSize];
            random.GetBytes(_x25519Private);
            var x25519Public = new byte[X25519.PointSize];
            X25519.GeneratePublicKey(_x25519Private, 0, x25519Public, 0);
            _clientExchangeValue = Concat(publicKey, x25519Public);
            SendMessage((Message)InitMessage!.Invoke(new object[] { _clientExchangeValue }));
        }

        private void OnReply(object? sender, MessageEventArgs<KeyExchangeEcdhReplyMessage> e)
        {
            Session.UnRegisterMessage("SSH_MSG_KEX_ECDH_REPLY");
            var reply = e.Message;
            _hostKey = reply.KS;
            _signature = reply.Signature;
            _serverExchangeValue = reply.QS;
            if (_serverExchangeValue == null || _serverExchangeValue.Length != Sntrup761.CiphertextBytes + X25519.PointSize)
                throw new SshConnectionException($"Bad Q_S length: {_serverExchangeValue?.Length ?? 0}.", DisconnectReason.KeyExchangeFailed);
            var ciphertext = new byte[Sntrup761.CiphertextBytes];
            Buffer.BlockCopy(_serverExchangeValue, 0, ciphertext, 0, ciphertext.Length);
            var pq = Sntrup761.Decap(ciphertext, _secretKey!);
            var classic = new byte[X25519.PointSize];
            if (!X25519.CalculateAgreement(_x25519Private!, 0, _serverExchangeValue, Sntrup761.CiphertextBytes, classic, 0))
                throw new SshConnectionException("The server's X25519 key gives an all-zero secret.", DisconnectReason.KeyExchangeFailed);
            using (var sha = SHA512.Create()) SharedKey = sha.ComputeHash(Concat(pq, classic));
            Array.Clear(pq, 0, pq.Length);
            Array.Clear(classic, 0, classic.Length);
            Array.Clear(_secretKey!, 0, _secretKey!.Length);
            Array.Clear(_x25519Private!, 0, _x25519Private!.Length);
            Finish();
        }

        public override void Finish()
        {
            if (_onReply != null) ReplyEvent!.GetRemoveMethod(true)!.Invoke(Session, new object[] { _onReply });
            _onReply = null;
            base.Finish();
            Interlocked.Increment(ref _completed);
        }

        protected override bool ValidateExchangeHash()
        {
            var info = Session.ConnectionInfo;
            var hostKey = info.HostKeyAlgorithms[info.CurrentHostKeyAlgorithm!](_hostKey!);
            return hostKey.VerifySignature(CalculateHash(), _signature!) && CanTrustHostKey(hostKey);
        }

        /// <summary>H = SHA-512(V_C, V_S, I_C, I_S, K_S, Q_C, Q_S, K), each an SSH string.</summary>
        protected override byte[] CalculateHash()
        {
            using var data = new MemoryStream();
            WriteString(data, Encoding.UTF8.GetBytes(Session.ClientVersion));
            WriteString(data, Encoding.UTF8.GetBytes(Session.ServerVersion));
            WriteString(data, _clientPayload!);
            WriteString(data, _serverPayload!);
            WriteString(data, _hostKey!);
            WriteString(data, _clientExchangeValue!);
            WriteString(data, _serverExchangeValue!);
            WriteString(data, SharedKey);
            return Hash(data.ToArray());
        }

        protected override byte[] Hash(byte[] hashData)
        {
            using var sha = SHA512.Create();
            return sha.ComputeHash(hashData);
        }

        private static void WriteString(Stream s, byte[] value)
        {
            var n = value.Length;
            s.WriteByte((byte)(n >> 24));
            s.WriteByte((byte)(n >> 16));
            s.WriteByte((byte)(n >> 8));
            s.WriteByte((byte)n);
            s.Write(value, 0, n);
        }

        private static byte[] Concat(byte[] a, byte[] b)
        {
            var r = new byte[a.Length + b.Length];
            Buffer.BlockCopy(a, 0, r, 0, a.Length);
            Buffer.BlockCopy(b, 0, r, a.Length, b.Length);
            return r;
        }
    }
}
