using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// Streamlined NTRU Prime sntrup761, the post-quantum half of OpenSSH's default key exchange
    /// (sntrup761x25519-sha512), written from the NTRU Prime specification (round 3) with the same encodings and
    /// hashes as its reference code, so keys, ciphertexts and secrets are byte for byte those of OpenSSH.
    ///
    /// Why our own: SSH.NET takes it from BouncyCastle, whose scalar polynomial arithmetic costs ~45 ms of CPU per
    /// handshake here (measured with perf: 78% of a cold connect in NtruPrimeEngine.RqMult/RqRecip3/R3Recip). A
    /// fleet of 100 cold hosts spent 4.5 s of CPU in one process, and since a Linux scheduler with autogroups shares
    /// CPU per session, that one process got a fraction of what pdsh's 32 ssh processes (each its own session) got.
    /// Here the two reciprocals (the "divstep" loops) run on Vector&lt;float&gt; lanes: every value is an integer
    /// below 2^24 in magnitude, so float arithmetic is exact, and a value is brought back into [-2296, 2296] after
    /// each step by subtracting round(x/q)*q. Products use Vector&lt;int&gt;. Nothing branches or indexes on
    /// secret data.
    /// </summary>
    internal static class Sntrup761
    {
        public const int P = 761;
        public const int Q = 4591;
        public const int W = 286;
        private const int Q12 = (Q - 1) / 2;

        public const int PublicKeyBytes = 1158;
        public const int SecretKeyBytes = 1763;
        public const int CiphertextBytes = RoundedBytes + HashBytes;   // 1039
        public const int SharedSecretBytes = HashBytes;
        private const int SmallBytes = (P + 3) / 4;                   // 191
        private const int RoundedBytes = 1007;
        private const int HashBytes = 32;

        /// <summary>
        /// True when this runtime computes Vector&lt;float&gt; in IEEE single precision in SIMD registers (RyuJIT on
        /// x64 and arm64). Without it (a 32-bit x87 JIT could keep extra precision) the rounding step is not exact,
        /// and callers use SSH.NET's own implementation instead.
        /// </summary>
        public static bool IsSupported => Supported.Value;

        private static readonly Lazy<bool> Supported = new Lazy<bool>(() => Vector.IsHardwareAccelerated && IntPtr.Size == 8 && SelfTest());

        // ----- the KEM -----

        /// <summary>A key pair: the public key (1158 bytes) and the secret key (1763 bytes, the reference layout).</summary>
        public static void KeyGen(out byte[] publicKey, out byte[] secretKey, RandomNumberGenerator random)
        {
            var g = new sbyte[P];
            var ginv = new sbyte[P];
            var words = new byte[4 * P];
            while (true)
            {
                random.GetBytes(words);
                SmallRandom(g, words);
                if (R3Recip(ginv, g) == 0) break;
            }
            var f = new sbyte[P];
            random.GetBytes(words);
            ShortFromList(f, words);
            var finv = new short[P];
            Rq3Recip(finv, f);                       // always works: 3f is invertible mod q
            var h = new short[P];
            RqMultSmall(h, finv, g);

            publicKey = RqEncode(h);
            secretKey = new byte[SecretKeyBytes];
            SmallEncode(secretKey, 0, f);
            SmallEncode(secretKey, SmallBytes, ginv);
            Buffer.BlockCopy(publicKey, 0, secretKey, 2 * SmallBytes, PublicKeyBytes);
            var rho = new byte[SmallBytes];
            random.GetBytes(rho);
            Buffer.BlockCopy(rho, 0, secretKey, 2 * SmallBytes + PublicKeyBytes, SmallBytes);
            var cache = HashPrefix(4, publicKey, 0, PublicKeyBytes);
            Buffer.BlockCopy(cache, 0, secretKey, 2 * SmallBytes + PublicKeyBytes + SmallBytes, HashBytes);
            Array.Clear(words, 0, words.Length);
            Array.Clear(g, 0, g.Length);
            Array.Clear(f, 0, f.Length);
            Array.Clear(ginv, 0, ginv.Length);
            Array.Clear(rho, 0, rho.Length);
        }

        /// <summary>A ciphertext (1039 bytes) and the 32-byte secret it carries, for a public key (the server's half; tests use it).</summary>
        public static void Encap(byte[] publicKey, out byte[] ciphertext, out byte[] secret, RandomNumberGenerator random)
        {
            if (publicKey == null || publicKey.Length != PublicKeyBytes) throw new ArgumentException("an sntrup761 public key is 1158 bytes", nameof(publicKey));
            var cache = HashPrefix(4, publicKey, 0, PublicKeyBytes);
            var words = new byte[4 * P];
            random.GetBytes(words);
            var r = new sbyte[P];
            ShortFromList(r, words);
            ciphertext = new byte[CiphertextBytes];
            var rEnc = Hide(ciphertext, r, publicKey, cache);
            secret = HashSession(1, rEnc, ciphertext);
        }

        /// <summary>
        /// The 32-byte secret of a ciphertext. A ciphertext that does not re-encrypt to itself yields a pseudo-random
        /// secret derived from the key's rho (implicit rejection): the key exchange then fails on the host key
        /// signature, as with OpenSSH, and nothing about the secret key leaks through timing.
        /// </summary>
        public static byte[] Decap(byte[] ciphertext, byte[] secretKey)
        {
            if (ciphertext == null || ciphertext.Length != CiphertextBytes) throw new ArgumentException("an sntrup761 ciphertext is 1039 bytes", nameof(ciphertext));
            if (secretKey == null || secretKey.Length != SecretKeyBytes) throw new ArgumentException("an sntrup761 secret key is 1763 bytes", nameof(secretKey));
            var f = new sbyte[P];
            var v = new sbyte[P];
            SmallDecode(f, secretKey, 0);
            SmallDecode(v, secretKey, SmallBytes);
            var c = RoundedDecode(ciphertext);

            // Decrypt: e = 3cf in R3, ev = e/g
            var cf = new short[P];
            RqMultSmall(cf, c, f);
            var e = new sbyte[P];
            for (var i = 0; i < P; i++) e[i] = F3Freeze(FqFreeze(3 * cf[i]));
            var ev = new sbyte[P];
            R3Mult(ev, e, v);
            var mask = WeightMask(ev);                // 0 when ev has weight w, else -1
            var r = new sbyte[P];
            for (var i = 0; i < W; i++) r[i] = (sbyte)(((ev[i] ^ 1) & ~mask) ^ 1);
            for (var i = W; i < P; i++) r[i] = (sbyte)(ev[i] & ~mask);

            var publicKey = new byte[PublicKeyBytes];
            Buffer.BlockCopy(secretKey, 2 * SmallBytes, publicKey, 0, PublicKeyBytes);
            var cache = new byte[HashBytes];
            Buffer.BlockCopy(secretKey, 2 * SmallBytes + PublicKeyBytes + SmallBytes, cache, 0, HashBytes);
            var again = new byte[CiphertextBytes];
            var rEnc = Hide(again, r, publicKey, cache);
            var differ = 0;
            for (var i = 0; i < CiphertextBytes; i++) differ |= ciphertext[i] ^ again[i];
            var reject = (int)((1 & ((uint)(differ - 1) >> 8)) - 1);   // 0 when equal, else -1
            var rhoAt = 2 * SmallBytes + PublicKeyBytes;
            for (var i = 0; i < SmallBytes; i++) rEnc[i] = (byte)(rEnc[i] ^ (reject & (rEnc[i] ^ secretKey[rhoAt + i])));
            var secret = HashSession(1 + reject, rEnc, ciphertext);
            Array.Clear(f, 0, P);
            Array.Clear(v, 0, P);
            Array.Clear(r, 0, P);
            Array.Clear(e, 0, P);
            Array.Clear(ev, 0, P);
            Array.Clear(rEnc, 0, rEnc.Length);
            return secret;
        }

        /// <summary>c = ZEncrypt(r, pk) || HashConfirm(r, cache); returns r encoded.</summary>
        private static byte[] Hide(byte[] ciphertext, sbyte[] r, byte[] publicKey, byte[] cache)
        {
            var rEnc = new byte[SmallBytes];
            SmallEncode(rEnc, 0, r);
            var h = RqDecode(publicKey);
            var hr = new short[P];
            RqMultSmall(hr, h, r);
            for (var i = 0; i < P; i++) hr[i] = (short)(hr[i] - F3Freeze(hr[i]));   // Round
            RoundedEncode(ciphertext, hr);
            // HashConfirm: Hash2(Hash3(r) || cache)
            var x = new byte[2 * HashBytes];
            Buffer.BlockCopy(HashPrefix(3, rEnc, 0, SmallBytes), 0, x, 0, HashBytes);
            Buffer.BlockCopy(cache, 0, x, HashBytes, HashBytes);
            Buffer.BlockCopy(HashPrefix(2, x, 0, x.Length), 0, ciphertext, RoundedBytes, HashBytes);
            return rEnc;
        }

        /// <summary>HashSession(b, r, c) = Hash_b(Hash3(r) || c).</summary>
        private static byte[] HashSession(int b, byte[] rEnc, byte[] ciphertext)
        {
            var x = new byte[HashBytes + CiphertextBytes];
            Buffer.BlockCopy(HashPrefix(3, rEnc, 0, SmallBytes), 0, x, 0, HashBytes);
            Buffer.BlockCopy(ciphertext, 0, x, HashBytes, CiphertextBytes);
            return HashPrefix(b, x, 0, x.Length);
        }

        /// <summary>The first 32 bytes of SHA-512(b || input).</summary>
        private static byte[] HashPrefix(int b, byte[] input, int offset, int count)
        {
            var x = new byte[count + 1];
            x[0] = (byte)b;
            Buffer.BlockCopy(input, offset, x, 1, count);
            using var sha = SHA512.Create();
            var h = sha.ComputeHash(x);
            var result = new byte[HashBytes];
            Buffer.BlockCopy(h, 0, result, 0, HashBytes);
            return result;
        }

        // ----- field arithmetic (constant-time: division by a constant compiles to a multiply) -----

        private static sbyte F3Freeze(int x)
        {
            var r = (x + 1) % 3;
            r += (r >> 31) & 3;
            return (sbyte)(r - 1);
        }

        private static short FqFreeze(int x)
        {
            var r = (x + Q12) % Q;
            r += (r >> 31) & Q;
            return (short)(r - Q12);
        }

        /// <summary>1/a mod q as a^(q-2), by a fixed chain of squarings and multiplications.</summary>
        private static int FqRecip(int a)
        {
            var result = 1;
            var b = FqFreeze(a);
            for (var e = Q - 2; e > 0; e >>= 1)          // the exponent is public: the same steps for every a
            {
                var bit = e & 1;
                var product = FqFreeze(result * b);
                result += (-bit) & (product - result);
                b = FqFreeze(b * b);
            }
            return result;
        }

        private static int NonzeroMask(int x) => (x | -x) >> 31;     // -1 when x != 0
        private static int NegativeMask(int x) => x >> 31;           // -1 when x < 0

        private static int WeightMask(sbyte[] r)
        {
            var weight = 0;
            for (var i = 0; i < P; i++) weight += r[i] & 1;
            return NonzeroMask(weight - W);
        }

        // ----- randomness -----

        private static uint Word(byte[] b, int i) => (uint)(b[4 * i] | b[4 * i + 1] << 8 | b[4 * i + 2] << 16 | b[4 * i + 3] << 24);

        /// <summary>Uniform coefficients in {-1, 0, 1}.</summary>
        private static void SmallRandom(sbyte[] output, byte[] words)
        {
            for (var i = 0; i < P; i++) output[i] = (sbyte)((((Word(words, i) & 0x3fffffff) * 3) >> 30) - 1);
        }

        /// <summary>A uniform polynomial with exactly w nonzero coefficients: the spec's sort of tagged random words.</summary>
        private static void ShortFromList(sbyte[] output, byte[] words)
        {
            var list = new uint[1024];
            for (var i = 0; i < W; i++) list[i] = Word(words, i) & unchecked((uint)-2);
            for (var i = W; i < P; i++) list[i] = (Word(words, i) & unchecked((uint)-3)) | 1;
            for (var i = P; i < list.Length; i++) list[i] = uint.MaxValue;   // padding sorts last
            BitonicSort(list);
            for (var i = 0; i < P; i++) output[i] = (sbyte)((list[i] & 3) - 1);
            Array.Clear(list, 0, list.Length);
        }

        /// <summary>A sorting network (the same comparisons whatever the data) over 1024 words.</summary>
        private static void BitonicSort(uint[] a)
        {
            var n = a.Length;
            for (var k = 2; k <= n; k <<= 1)
                for (var j = k >> 1; j > 0; j >>= 1)
                    for (var i = 0; i < n; i++)
                    {
                        var l = i ^ j;
                        if (l <= i) continue;                 // index arithmetic only: public
                        uint x = a[i], y = a[l];
                        var greater = (uint)(((long)y - x) >> 63);   // all ones when x > y
                        var less = (uint)(((long)x - y) >> 63);      // all ones when x < y
                        var swap = (i & k) == 0 ? greater : less;      // the direction depends on the index only
                        var t = swap & (x ^ y);
                        a[i] = x ^ t;
                        a[l] = y ^ t;
                    }
        }

        // ----- encodings -----

        private static void SmallEncode(byte[] s, int at, sbyte[] f)
        {
            var k = 0;
            for (var i = 0; i < P / 4; i++)
            {
                var x = f[k++] + 1;
                x += (f[k++] + 1) << 2;
                x += (f[k++] + 1) << 4;
                x += (f[k++] + 1) << 6;
                s[at++] = (byte)x;
            }
            s[at] = (byte)(f[k] + 1);
        }

        private static void SmallDecode(sbyte[] f, byte[] s, int at)
        {
            var k = 0;
            for (var i = 0; i < P / 4; i++)
            {
                int x = s[at++];
                f[k++] = (sbyte)((x & 3) - 1); x >>= 2;
                f[k++] = (sbyte)((x & 3) - 1); x >>= 2;
                f[k++] = (sbyte)((x & 3) - 1); x >>= 2;
                f[k++] = (sbyte)((x & 3) - 1);
            }
            f[k] = (sbyte)((s[at] & 3) - 1);
        }

        private static byte[] RqEncode(short[] r)
        {
            var values = new ushort[P];
            var moduli = new ushort[P];
            for (var i = 0; i < P; i++) { values[i] = (ushort)(r[i] + Q12); moduli[i] = Q; }
            var output = new byte[PublicKeyBytes];
            var at = 0;
            Encode(output, ref at, values, moduli);
            return output;
        }

        private static short[] RqDecode(byte[] s)
        {
            var moduli = new ushort[P];
            for (var i = 0; i < P; i++) moduli[i] = Q;
            var at = 0;
            var values = Decode(s, ref at, moduli);
            var r = new short[P];
            for (var i = 0; i < P; i++) r[i] = (short)(values[i] - Q12);
            return r;
        }

        private static void RoundedEncode(byte[] output, short[] r)
        {
            var values = new ushort[P];
            var moduli = new ushort[P];
            for (var i = 0; i < P; i++) { values[i] = (ushort)(((r[i] + Q12) * 10923) >> 15); moduli[i] = (Q + 2) / 3; }
            var at = 0;
            Encode(output, ref at, values, moduli);
        }

        private static short[] RoundedDecode(byte[] s)
        {
            var moduli = new ushort[P];
            for (var i = 0; i < P; i++) moduli[i] = (Q + 2) / 3;
            var at = 0;
            var values = Decode(s, ref at, moduli);
            var r = new short[P];
            for (var i = 0; i < P; i++) r[i] = (short)(values[i] * 3 - Q12);
            return r;
        }

        /// <summary>The spec's mixed-radix encoding: 0 &lt;= values[i] &lt; moduli[i] &lt;= 16384.</summary>
        private static void Encode(byte[] output, ref int at, ushort[] values, ushort[] moduli)
        {
            var len = values.Length;
            if (len == 1)
            {
                uint r = values[0], m = moduli[0];
                while (m > 1)
                {
                    output[at++] = (byte)r;
                    r >>= 8;
                    m = (m + 255) >> 8;
                }
                return;
            }
            var half = (len + 1) / 2;
            var r2 = new ushort[half];
            var m2 = new ushort[half];
            int i;
            for (i = 0; i < len - 1; i += 2)
            {
                uint m0 = moduli[i];
                var r = values[i] + values[i + 1] * m0;
                var m = moduli[i + 1] * m0;
                while (m >= 16384)
                {
                    output[at++] = (byte)r;
                    r >>= 8;
                    m = (m + 255) >> 8;
                }
                r2[i / 2] = (ushort)r;
                m2[i / 2] = (ushort)m;
            }
            if (i < len)
            {
                r2[i / 2] = values[i];
                m2[i / 2] = moduli[i];
            }
            Encode(output, ref at, r2, m2);
        }

        private static ushort[] Decode(byte[] s, ref int at, ushort[] moduli)
        {
            var len = moduli.Length;
            var output = new ushort[len];
            if (len == 1)
            {
                if (moduli[0] == 1) output[0] = 0;
                else if (moduli[0] <= 256) output[0] = (ushort)(s[at] % moduli[0]);
                else output[0] = (ushort)((s[at] + (s[at + 1] << 8)) % moduli[0]);
                return output;
            }
            var half = (len + 1) / 2;
            var m2 = new ushort[half];
            var bottomR = new uint[len / 2];
            var bottomT = new uint[len / 2];
            int i;
            for (i = 0; i < len - 1; i += 2)
            {
                var m = (uint)moduli[i] * moduli[i + 1];
                if (m > 256 * 16383)
                {
                    bottomT[i / 2] = 256 * 256;
                    bottomR[i / 2] = (uint)(s[at] + 256 * s[at + 1]);
                    at += 2;
                    m2[i / 2] = (ushort)((((m + 255) >> 8) + 255) >> 8);
                }
                else if (m >= 16384)
                {
                    bottomT[i / 2] = 256;
                    bottomR[i / 2] = s[at];
                    at += 1;
                    m2[i / 2] = (ushort)((m + 255) >> 8);
                }
                else
                {
                    bottomT[i / 2] = 1;
                    bottomR[i / 2] = 0;
                    m2[i / 2] = (ushort)m;
                }
            }
            if (i < len) m2[i / 2] = moduli[i];
            var r2 = Decode(s, ref at, m2);
            var o = 0;
            for (i = 0; i < len - 1; i += 2)
            {
                var r = bottomR[i / 2] + bottomT[i / 2] * r2[i / 2];
                var r1 = r / moduli[i];
                var r0 = r % moduli[i];
                r1 %= moduli[i + 1];                          // only matters for invalid input
                output[o++] = (ushort)r0;
                output[o++] = (ushort)r1;
            }
            if (i < len) output[o] = r2[i / 2];
            return output;
        }

        // ----- polynomial products -----

        /// <summary>h = f*g in Rq = Z_q[x]/(x^p - x - 1), g small.</summary>
        [MethodImpl((MethodImplOptions)512)]   // AggressiveOptimization: fully optimized from the first call (a cold herd runs it 100 times)
        private static void RqMultSmall(short[] h, short[] f, sbyte[] g)
        {
            var product = Product(f, g);
            Fold(product);
            for (var i = 0; i < P; i++) h[i] = FqFreeze(product[i]);
        }

        /// <summary>h = f*g in R3 = Z_3[x]/(x^p - x - 1).</summary>
        [MethodImpl((MethodImplOptions)512)]
        private static void R3Mult(sbyte[] h, sbyte[] f, sbyte[] g)
        {
            var wide = new short[P];
            for (var i = 0; i < P; i++) wide[i] = f[i];
            var product = Product(wide, g);
            Fold(product);
            for (var i = 0; i < P; i++) h[i] = F3Freeze(product[i]);
        }

        /// <summary>The 2p-1 coefficients of f*g over the integers (|f| &lt;= 2295, g in {-1,0,1}: every sum fits an int).</summary>
        [MethodImpl((MethodImplOptions)512)]
        private static int[] Product(short[] f, sbyte[] g)
        {
            var lanes = Vector<int>.Count;
            var width = (P + lanes - 1) / lanes * lanes;
            var fw = new int[width];
            for (var i = 0; i < P; i++) fw[i] = f[i];
            var acc = new int[2 * P + width];
            var fv = new Vector<int>[width / lanes];
            for (var k = 0; k < fv.Length; k++) fv[k] = new Vector<int>(fw, k * lanes);
            for (var i = 0; i < P; i++)
            {
                var gi = new Vector<int>(g[i]);
                for (var k = 0; k < fv.Length; k++)
                {
                    var at = i + k * lanes;
                    (new Vector<int>(acc, at) + fv[k] * gi).CopyTo(acc, at);
                }
            }
            return acc;
        }

        /// <summary>Reduces a product mod x^p - x - 1 (x^p = x + 1), leaving the result in the first p entries.</summary>
        private static void Fold(int[] product)
        {
            for (var i = 2 * P - 2; i >= P; i--)
            {
                product[i - P] += product[i];
                product[i - P + 1] += product[i];
            }
        }

        // ----- reciprocals (constant-time divsteps, as in the reference) -----

        private const float RoundingMagic = 12582912f;   // 1.5 * 2^23: (t + m) - m rounds t to the nearest integer

        /// <summary>out = 1/in in R3; 0 when in is invertible, else -1.</summary>
        private static int R3Recip(sbyte[] output, sbyte[] input)
        {
            var v = Divsteps(input, 3, 1, out var delta, out var f0);
            // f0 is 1 or -1 here: its own inverse.
            for (var i = 0; i < P; i++) output[i] = F3Freeze(f0 * v[P - 1 - i]);
            return NonzeroMask(delta);
        }

        /// <summary>out = 1/(3*in) in Rq; 0 when invertible (always, for a short in).</summary>
        private static int Rq3Recip(short[] output, sbyte[] input)
        {
            var v = Divsteps(input, Q, FqRecip(3), out var delta, out var f0);
            var scale = FqRecip(f0);
            for (var i = 0; i < P; i++) output[i] = FqFreeze(scale * v[P - 1 - i]);
            return NonzeroMask(delta);
        }

        /// <summary>
        /// The reference's 2p-1 divsteps on f = x^p - x - 1 (reversed) and g = in (reversed), modulo m, with
        /// r starting at <paramref name="r0"/>. Returns v (p+1 coefficients, reversed; the caller scales by 1/f0),
        /// delta (0 when in was invertible) and f0. g shifts down and v shifts up one coefficient per step: both
        /// live in longer buffers whose start moves instead of copying.
        /// </summary>
        [MethodImpl((MethodImplOptions)512)]
        private static int[] Divsteps(sbyte[] input, int modulus, int r0, out int delta, out int f0)
        {
            var lanes = Vector<float>.Count;
            var width = (P + 1 + lanes - 1) / lanes * lanes;
            var steps = 2 * P - 1;
            var f = new float[width];
            var r = new float[width];
            var g = new float[width + steps];
            var v = new float[width + steps];
            f[0] = 1;
            f[P - 1] = -1;
            f[P] = -1;
            for (var i = 0; i < P; i++) g[P - 1 - i] = input[i];
            r[0] = r0;
            var gAt = 0;          // g[i] is g[gAt + i]
            var vAt = steps;      // v[i] is v[vAt + i]
            delta = 1;
            var inverse = new Vector<float>(1f / modulus);
            var modulusV = new Vector<float>((float)modulus);
            var magic = new Vector<float>(RoundingMagic);

            for (var step = 0; step < steps; step++)
            {
                // v = x*v, keeping p+1 coefficients
                vAt--;
                v[vAt + P + 1] = 0;

                var g0 = (int)g[gAt];
                var fz = (int)f[0];
                var swap = NegativeMask(-delta) & NonzeroMask(g0);
                delta ^= swap & (delta ^ -delta);
                delta += 1;
                var newF0 = fz ^ (swap & (fz ^ g0));
                var newG0 = g0 ^ (swap & (fz ^ g0));
                var mask = new Vector<int>(swap);
                var fs = new Vector<float>(newF0);
                var gs = new Vector<float>(newG0);

                for (var k = 0; k < width; k += lanes)
                {
                    var fk = new Vector<float>(f, k);
                    var gk = new Vector<float>(g, gAt + k);
                    var vk = new Vector<float>(v, vAt + k);
                    var rk = new Vector<float>(r, k);
                    var nf = Vector.ConditionalSelect(mask, gk, fk);
                    var ng = Vector.ConditionalSelect(mask, fk, gk);
                    var nv = Vector.ConditionalSelect(mask, rk, vk);
                    var nr = Vector.ConditionalSelect(mask, vk, rk);
                    // g = f0*g - g0*f and r = f0*r - g0*v, reduced to [-(m+1)/2, (m+1)/2]; every term is an exact integer below 2^24
                    var xg = fs * ng - gs * nf;
                    var xr = fs * nr - gs * nv;
                    xg -= ((xg * inverse + magic) - magic) * modulusV;
                    xr -= ((xr * inverse + magic) - magic) * modulusV;
                    nf.CopyTo(f, k);
                    nv.CopyTo(v, vAt + k);
                    xg.CopyTo(g, gAt + k);
                    xr.CopyTo(r, k);
                }
                // g = g/x: the constant term is 0 now
                gAt++;
            }
            f0 = (int)f[0];
            var result = new int[P + 1];
            for (var i = 0; i <= P; i++) result[i] = (int)v[vAt + i];
            Array.Clear(f, 0, f.Length);
            Array.Clear(g, 0, g.Length);
            Array.Clear(v, 0, v.Length);
            Array.Clear(r, 0, r.Length);
            return result;
        }

        // ----- a known answer, checked once per process -----

        /// <summary>
        /// Keys made here decapsulate what was encapsulated for them, and a tampered ciphertext is rejected: a
        /// runtime whose float arithmetic is not exact fails this and SSH.NET's own implementation is used.
        /// </summary>
        private static bool SelfTest()
        {
            try
            {
                using var random = RandomNumberGenerator.Create();
                KeyGen(out var pk, out var sk, random);
                Encap(pk, out var c, out var k1, random);
                var k2 = Decap(c, sk);
                c[0] ^= 1;
                var k3 = Decap(c, sk);
                return Equal(k1, k2) && !Equal(k1, k3);
            }
            catch (Exception)
            {
                return false;
            }
        }

        private static bool Equal(byte[] a, byte[] b)
        {
            if (a.Length != b.Length) return false;
            var d = 0;
            for (var i = 0; i < a.Length; i++) d |= a[i] ^ b[i];
            return d == 0;
        }
    }
}
