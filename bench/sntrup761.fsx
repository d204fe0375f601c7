// CPU per handshake of the client side of sntrup761 (key generation + one decapsulation): ours against BouncyCastle's.
// Needs a Release build of the engine and a Debug build of the tests (for BouncyCastle and SSH.NET):
//   dotnet build src/HerdPS.Engine -c Release && dotnet build tests/HerdPS.Engine.Tests && dotnet fsi --optimize+ bench/sntrup761.fsx
#r "../tests/HerdPS.Engine.Tests/bin/Debug/net10.0/BouncyCastle.Cryptography.dll"
#r "../tests/HerdPS.Engine.Tests/bin/Debug/net10.0/Renci.SshNet.dll"
#r "../src/HerdPS.Engine/bin/Release/netstandard2.0/HerdPS.Engine.dll"
open System
open System.Reflection
open Org.BouncyCastle.Pqc.Crypto.NtruPrime
open Org.BouncyCastle.Security
let t = Type.GetType("HerdPS.Transport.SshNet.Sntrup761, HerdPS.Engine")
let keygen = t.GetMethod("KeyGen")
let decap = t.GetMethod("Decap")
let rng = Security.Cryptography.RandomNumberGenerator.Create()
let p = SNtruPrimeParameters.sntrup761
let cpu () = Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds
let n = 100
// warm-up
for i in 1..60 do
  let args = [| null; null; box rng |]
  keygen.Invoke(null, args) |> ignore
// ours: keygen + decap of a BC ciphertext (the client's side of a handshake)
let mutable oursMs = 0.0
let mutable bcMs = 0.0
for i in 1..n do
  let args = [| null; null; box rng |]
  let c0 = cpu ()
  keygen.Invoke(null, args) |> ignore
  let pk = args.[0] :?> byte[]
  let sk = args.[1] :?> byte[]
  let c1 = cpu ()
  let e = SNtruPrimeKemGenerator(SecureRandom()).GenerateEncapsulated(SNtruPrimePublicKeyParameters(p, pk))
  let c2 = cpu ()
  decap.Invoke(null, [| box (e.GetEncapsulation()); box sk |]) |> ignore
  let c3 = cpu ()
  oursMs <- oursMs + (c1 - c0) + (c3 - c2)
  // BC: keygen + decap
  let g = SNtruPrimeKeyPairGenerator()
  g.Init(SNtruPrimeKeyGenerationParameters(SecureRandom(), p))
  let c4 = cpu ()
  let pair = g.GenerateKeyPair()
  let c5 = cpu ()
  let e2 = SNtruPrimeKemGenerator(SecureRandom()).GenerateEncapsulated(pair.Public)
  let c6 = cpu ()
  SNtruPrimeKemExtractor(pair.Private :?> SNtruPrimePrivateKeyParameters).ExtractSecret(e2.GetEncapsulation()) |> ignore
  let c7 = cpu ()
  bcMs <- bcMs + (c5 - c4) + (c7 - c6)
printfn "client side keygen+decap per handshake: ours %.2f ms CPU, BouncyCastle %.2f ms CPU (n=%d)" (oursMs / float n) (bcMs / float n) n
