using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Npgsql;

namespace HerdPS.History.PostgreSql
{
    /// <summary>
    /// One <see cref="NpgsqlDataSource"/> (one connection pool) per connection per process, so the cmdlet calls of a
    /// PowerShell session (and its runspaces and jobs, which share the process) reuse logged-in connections instead of
    /// paying a new connection, login and TLS handshake each. A source is kept while a history store uses it and for
    /// <see cref="IdleLifetime"/> after the last one closes (Npgsql's own idle connection lifetime), then disposed,
    /// which closes its connections and drops the password it holds; all are disposed when the process exits.
    /// <para>
    /// The key is an HMAC-SHA256 of the whole connection string (password included, so another credential never gets
    /// this one's connections) under a random key made once per process: no password is kept in the dictionary in
    /// plain text, and the key can't be tried against guessed passwords outside this process. The password itself is
    /// held by the source's connection string only, for as long as the source lives.
    /// </para>
    /// </summary>
    internal static class SharedDataSources
    {
        /// <summary>How long a source no store uses is kept: Npgsql's default Connection Idle Lifetime.</summary>
        internal static TimeSpan IdleLifetime = TimeSpan.FromMinutes(5);

        private static readonly byte[] KeySecret = RandomNumberGenerator.GetBytes(32);
        private static readonly object Gate = new object();
        private static readonly Dictionary<string, Entry> Sources = new Dictionary<string, Entry>(StringComparer.Ordinal);
        private static bool _exitHooked;

        internal sealed class Entry
        {
            public Entry(string key, NpgsqlDataSource source) { Key = key; Source = source; }
            public readonly string Key;
            public readonly NpgsqlDataSource Source;
            public int Users;
            public Timer? Expiry;
        }

        /// <summary>A use of a shared source; <see cref="Dispose"/> gives it back (once).</summary>
        internal sealed class Lease : IDisposable
        {
            private Entry? _entry;
            internal Lease(Entry entry) => _entry = entry;
            public NpgsqlDataSource Source => (_entry ?? throw new ObjectDisposedException(nameof(Lease))).Source;
            public void Dispose()
            {
                var entry = Interlocked.Exchange(ref _entry, null);
                if (entry != null) Release(entry);
            }
        }

        /// <summary>The source for this connection string (built with <paramref name="build"/> the first time).</summary>
        public static Lease Acquire(string connectionString, Func<string, NpgsqlDataSource> build)
        {
            var key = KeyOf(connectionString);
            lock (Gate)
            {
                if (!_exitHooked)
                {
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAll();
                    _exitHooked = true;
                }
                if (!Sources.TryGetValue(key, out var entry))
                {
                    entry = new Entry(key, build(connectionString));
                    Sources[key] = entry;
                }
                entry.Users++;
                entry.Expiry?.Dispose();
                entry.Expiry = null;
                return new Lease(entry);
            }
        }

        private static void Release(Entry entry)
        {
            lock (Gate)
            {
                if (--entry.Users > 0 || !Sources.TryGetValue(entry.Key, out var current) || current != entry) return;
                entry.Expiry?.Dispose();
                entry.Expiry = new Timer(_ => Expire(entry), null, IdleLifetime, Timeout.InfiniteTimeSpan);
            }
        }

        private static void Expire(Entry entry)
        {
            lock (Gate)
            {
                if (entry.Users > 0 || !Sources.TryGetValue(entry.Key, out var current) || current != entry) return;
                Sources.Remove(entry.Key);
                entry.Expiry?.Dispose();
                entry.Expiry = null;
            }
            entry.Source.Dispose();
        }

        // At exit, close the pooled connections politely (the server logs no lost client), as disposing each store did.
        private static void DisposeAll()
        {
            List<Entry> all;
            lock (Gate)
            {
                all = new List<Entry>(Sources.Values);
                Sources.Clear();
            }
            foreach (var e in all)
                try { e.Source.Dispose(); } catch (Exception) { /* exiting */ }
        }

        private static string KeyOf(string connectionString)
        {
            using (var hmac = new HMACSHA256(KeySecret))
                return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(connectionString)));
        }
    }
}
