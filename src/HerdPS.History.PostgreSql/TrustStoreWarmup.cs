using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using Npgsql;

namespace HerdPS.History.PostgreSql
{
    /// <summary>
    /// Starts reading the system's trust store on another thread while Npgsql starts and connects, when the connection
    /// will try TLS. On Linux, .NET's <c>SslStream</c> builds the server certificate's chain in every handshake, even when
    /// sslmode prefer or require checks nothing, and the first chain of a process reads every certificate in the trust
    /// store (/etc/ssl/certs: ~55 ms of CPU, the largest single part of a short herd process on a TLS server;
    /// bench/results.md). Nothing in .NET 10 or Npgsql 10 skips that chain, so the only saving in the process is to do it
    /// beside the rest: the handshake then finds the store loaded, or waits only for what is left of it. It changes
    /// nothing about what is trusted: this is the same cached system store the handshake reads, read a little earlier.
    /// </summary>
    internal static class TrustStoreWarmup
    {
        private static int _started;

        public static void StartIfTls(NpgsqlConnectionStringBuilder connection)
        {
            // Allow tries without TLS first; Disable never uses it; a Unix socket (a host that is a path) never does.
            if (connection.SslMode == SslMode.Disable || connection.SslMode == SslMode.Allow) return;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
            var hosts = (connection.Host ?? "").Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(h => h.Trim()).ToArray();
            if (hosts.Length > 0 && hosts.All(h => h.StartsWith("/", StringComparison.Ordinal) || h.StartsWith("@", StringComparison.Ordinal))) return;
            // Once per process: later connections (the pool, a PowerShell session) find the store cached by .NET.
            if (Interlocked.Exchange(ref _started, 1) != 0) return;
            new Thread(Load) { IsBackground = true, Name = "herd trust store warm-up" }.Start();
        }

        private static void Load()
        {
            try
            {
                using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
                store.Open(OpenFlags.ReadOnly);
                foreach (var certificate in store.Certificates) certificate.Dispose();
            }
            catch (Exception)
            {
                // Only a head start: if the store can't be read here, the handshake reads it (and reports) as always.
            }
        }
    }
}
