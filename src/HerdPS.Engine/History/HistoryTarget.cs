using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

using HerdPS.Inventory;

namespace HerdPS.History
{
    /// <summary>
    /// Which history a front end means: a SQLite file, or a PostgreSQL server given as a URL
    /// (<c>postgresql://user@host:port/database?sslmode=verify-full</c>, libpq's form) or as a connection string
    /// (<c>Host=...;Database=...</c>, Npgsql's form). A value that looks like a URL or a connection string is never taken
    /// for a file path: <c>HERD_HISTORY=postgresql://...</c> once made a folder named <c>postgresql:</c>.
    /// <para>
    /// The password, when the value carries one, stays inside: <see cref="Display"/> and <see cref="ToString"/> never show
    /// it, and <see cref="Scrub"/> takes it out of any message that might. Prefer the connection's usual sources instead
    /// (<c>PGPASSWORD</c>, <c>~/.pgpass</c>, a PSCredential), which keep it off command lines.
    /// </para>
    /// </summary>
    public sealed class HistoryTarget
    {
        private HistoryTarget(string? filePath, string? connectionString, string display, string serverKey, string? password, NetworkCredential? credential)
        {
            FilePath = filePath;
            ConnectionString = connectionString;
            Display = display;
            ServerKey = serverKey;
            _password = password;
            Credential = credential;
        }

        private readonly string? _password;

        /// <summary>True for a PostgreSQL server, false for a SQLite file.</summary>
        public bool IsServer => ConnectionString != null;

        /// <summary>The file's full path; null for a server.</summary>
        public string? FilePath { get; }

        /// <summary>
        /// The server as an Npgsql connection string (libpq URL parameters translated); null for a file. It may hold a
        /// password: only the PostgreSQL backend reads it, and nothing prints it.
        /// </summary>
        internal string? ConnectionString { get; }

        /// <summary>What messages show: the file path, or <c>postgresql://user@host:port/database</c> without any password.</summary>
        public string Display { get; }

        /// <summary>The user name and password given apart from the connection (-HistoryCredential); they override the connection's.</summary>
        public NetworkCredential? Credential { get; }

        /// <summary>Host, port, database and user in lower case: which server's spool file a run waits in.</summary>
        internal string ServerKey { get; }

        public override string ToString() => Display;

        /// <summary>A SQLite file (a relative path is made absolute against the current directory).</summary>
        public static HistoryTarget File(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A history database path is required.", nameof(path));
            return FileAt(Path.GetFullPath(path));
        }

        /// <summary>A SQLite file at a path already made absolute for its platform.</summary>
        internal static HistoryTarget FileAt(string fullPath) => new HistoryTarget(fullPath, null, fullPath, "", null, null);

        /// <summary>True when <paramref name="value"/> is a URL (<c>scheme://</c>) or starts like a connection string (<c>Host=</c>).</summary>
        public static bool LooksLikeConnection(string? value) => HistoryLocationText.LooksLikeConnection(value);

        /// <summary>
        /// A server when <paramref name="value"/> looks like a URL or connection string (see <see cref="Server"/>), else the
        /// file at that path (made absolute against the current directory).
        /// </summary>
        /// <exception cref="ArgumentException">A URL of another scheme, or a connection string with a keyword Npgsql doesn't have.</exception>
        public static HistoryTarget Parse(string value, NetworkCredential? credential = null, string parameterName = "HistoryConnection")
            => LooksLikeConnection(value) ? Server(value, credential, parameterName) : File(value);

        /// <summary>
        /// A PostgreSQL server from a URL (<c>postgresql://</c> or <c>postgres://</c>, with libpq's parameters such as
        /// <c>sslmode</c>, <c>sslrootcert</c>, <c>connect_timeout</c>) or an Npgsql connection string.
        /// </summary>
        /// <exception cref="ArgumentException">Not a PostgreSQL URL or connection string; the message names what is wrong, never the password.</exception>
        public static HistoryTarget Server(string value, NetworkCredential? credential = null, string parameterName = "HistoryConnection")
        {
            var keywords = HistoryLocationText.Keywords(value, parameterName);
            if (credential != null && !string.IsNullOrEmpty(credential.UserName)) keywords["Username"] = credential.UserName;

            keywords.TryGetValue("Password", out var password);
            var builder = new DbConnectionStringBuilder();
            foreach (var k in keywords) builder[k.Key] = k.Value;
            string Get(string key) => keywords.TryGetValue(key, out var v) ? v : "";
            var host = Get("Host");
            var display = new StringBuilder("postgresql://");
            if (Get("Username").Length > 0) display.Append(Uri.EscapeDataString(Get("Username"))).Append('@');
            display.Append(host.StartsWith("/", StringComparison.Ordinal) ? Uri.EscapeDataString(host) : host);
            if (Get("Port").Length > 0) display.Append(':').Append(Get("Port"));
            display.Append('/').Append(Uri.EscapeDataString(Get("Database")));
            var key = string.Join("|", Get("Host"), Get("Port"), Get("Database"), Get("Username")).ToLowerInvariant();
            return new HistoryTarget(null, builder.ConnectionString, display.ToString(), key, password, credential);
        }

        /// <summary>The same server with <paramref name="credential"/>'s user name and password.</summary>
        public HistoryTarget WithCredential(NetworkCredential? credential)
        {
            if (!IsServer) throw new InvalidOperationException("a credential is for a PostgreSQL history; a SQLite file has none");
            return credential == null ? this : new HistoryTarget(null, ConnectionString, Display, ServerKey, _password, credential);
        }

        /// <summary>
        /// <paramref name="message"/> with any password this target knows replaced by <c>***</c>: for every message that
        /// came from the driver or the server before it reaches a user, a log or -Verbose.
        /// </summary>
        public string Scrub(string message)
        {
            if (string.IsNullOrEmpty(message)) return message;
            foreach (var secret in new[] { _password, Credential?.Password })
                if (!string.IsNullOrEmpty(secret)) message = message.Replace(secret, "***");
            return message;
        }

        /// <summary>The spool file name for this server: a short hash of host, port, database and user.</summary>
        internal string SpoolFileName()
        {
            using (var sha = SHA256.Create())
            {
                var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(ServerKey));
                return OutputChunks.Hex(hash).Substring(0, 16) + ".db";
            }
        }
    }
}
