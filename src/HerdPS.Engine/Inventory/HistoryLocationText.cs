using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Where the history is, as configuration text: the inventory's <c>history:</c> section, <c>$HERD_HISTORY</c>,
    /// <c>-HistoryPath</c>/<c>-HistoryConnection</c>. A value that looks like a URL or a connection string is never taken
    /// for a file path, and a PostgreSQL one is read into Npgsql's keywords here, text only (no driver, no I/O), so the
    /// inventory and the parameters can refuse a malformed one with its file, line or parameter before anything runs.
    /// History turns the keywords into a connection (<c>HistoryTarget</c>).
    /// </summary>
    public static class HistoryLocationText
    {
        private static readonly Regex UrlScheme = new Regex(@"^\s*(?<scheme>[A-Za-z][A-Za-z0-9+.-]*)://", RegexOptions.CultureInvariant);
        // "Host=..." or "User ID = ...": a word (letters and spaces) and '=' first. A path starts otherwise (/, ., ~, C:\).
        private static readonly Regex KeywordFirst = new Regex(@"^\s*[A-Za-z][A-Za-z ]*=", RegexOptions.CultureInvariant);

        /// <summary>True when <paramref name="value"/> is a URL (<c>scheme://</c>) or starts like a connection string (<c>Host=</c>).</summary>
        public static bool LooksLikeConnection(string? value)
            => value != null && (UrlScheme.IsMatch(value) || KeywordFirst.IsMatch(value));

        /// <summary>
        /// Npgsql's keywords from a URL (<c>postgresql://</c> or <c>postgres://</c>, with libpq's parameters such as
        /// <c>sslmode</c>, <c>sslrootcert</c>, <c>connect_timeout</c>) or an Npgsql connection string.
        /// </summary>
        /// <exception cref="ArgumentException">Not a PostgreSQL URL or connection string; the message names what is wrong, never the password.</exception>
        public static Dictionary<string, string> Keywords(string value, string parameterName)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("A PostgreSQL connection (postgresql://... or Host=...;Database=...) is required.", parameterName);
            return UrlScheme.Match(value) is { Success: true } url
                ? FromUrl(value.Trim(), url.Groups["scheme"].Value, parameterName)
                : FromConnectionString(value, parameterName);
        }

        /// <summary>
        /// The history the cmdlet parameters name: -HistoryPath (a file) or -HistoryConnection (a PostgreSQL server), not
        /// both; null when neither is given. Each is checked for being what it says, so a URL given as a path is refused
        /// rather than turned into a folder named <c>postgresql:</c>.
        /// </summary>
        /// <exception cref="ArgumentException">Both given, a URL or connection string as -HistoryPath, a path as -HistoryConnection,
        /// or a malformed connection.</exception>
        public static string? Location(string? historyPath, string? historyConnection)
        {
            if (historyPath != null && historyConnection != null)
                throw new ArgumentException("give -HistoryPath (a SQLite file) or -HistoryConnection (a PostgreSQL server), not both", "HistoryConnection");
            if (historyPath != null && LooksLikeConnection(historyPath))
                throw new ArgumentException("-HistoryPath takes a SQLite file; give a PostgreSQL server (postgresql://... or Host=...;Database=...) with -HistoryConnection", "HistoryPath");
            if (historyConnection != null)
            {
                if (!LooksLikeConnection(historyConnection))
                    throw new ArgumentException("-HistoryConnection takes a PostgreSQL URL (postgresql://user@host/database) or connection string (Host=...;Database=...); for a SQLite file use -HistoryPath", "HistoryConnection");
                Keywords(historyConnection, "HistoryConnection"); // malformed: say so now, before anything runs
            }
            return historyConnection ?? historyPath;
        }

        // libpq's URI parameters and Npgsql's keywords for them. TLS settings pass through as they are.
        private static readonly Dictionary<string, string> UrlParameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["host"] = "Host", ["port"] = "Port", ["dbname"] = "Database", ["user"] = "Username", ["password"] = "Password",
            ["passfile"] = "Passfile", ["connect_timeout"] = "Timeout", ["application_name"] = "Application Name", ["options"] = "Options",
            ["client_encoding"] = "Client Encoding", ["sslmode"] = "SSL Mode", ["sslcert"] = "SSL Certificate", ["sslkey"] = "SSL Key",
            ["sslrootcert"] = "Root Certificate", ["sslpassword"] = "SSL Password", ["sslnegotiation"] = "SSL Negotiation",
            ["target_session_attrs"] = "Target Session Attributes", ["channel_binding"] = "Channel Binding",
            ["gssencmode"] = "GSS Encryption Mode", ["krbsrvname"] = "Kerberos Service Name", ["keepalives_idle"] = "Keepalive",
        };

        // Npgsql's keywords (and their synonyms) by the name this class uses; anything else is refused, not passed on to fail later.
        private static readonly Dictionary<string, string> NpgsqlKeywords = BuildKeywords();

        private static Dictionary<string, string> BuildKeywords()
        {
            var k = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            void Add(string name, params string[] synonyms)
            {
                k[name] = name;
                foreach (var s in synonyms) k[s] = name;
            }
            Add("Host", "Server");
            Add("Port");
            Add("Database", "DB");
            Add("Username", "User Name", "UserName", "User ID", "UserId", "User");
            Add("Password", "PSW", "PWD");
            Add("Passfile");
            Add("Timeout");
            Add("Command Timeout", "CommandTimeout");
            Add("Application Name", "ApplicationName");
            Add("Options");
            Add("Client Encoding", "ClientEncoding");
            Add("Encoding");
            Add("SSL Mode", "SslMode");
            Add("SSL Certificate", "SslCertificate");
            Add("SSL Key", "SslKey");
            Add("SSL Password", "SslPassword");
            Add("Root Certificate", "RootCertificate");
            Add("SSL Negotiation", "SslNegotiation");
            Add("Check Certificate Revocation", "CheckCertificateRevocation");
            Add("Target Session Attributes", "TargetSessionAttributes");
            Add("Channel Binding", "ChannelBinding");
            Add("GSS Encryption Mode", "GssEncryptionMode");
            Add("Kerberos Service Name", "KerberosServiceName", "Krbsrvname");
            Add("Include Realm", "IncludeRealm");
            Add("Persist Security Info", "PersistSecurityInfo");
            Add("Keepalive");
            Add("Tcp Keepalive", "TcpKeepalive");
            Add("Search Path", "SearchPath");
            Add("Pooling");
            Add("Minimum Pool Size", "MinPoolSize");
            Add("Maximum Pool Size", "MaxPoolSize");
            Add("Connection Idle Lifetime", "ConnectionIdleLifetime");
            Add("Load Balance Hosts", "LoadBalanceHosts");
            Add("Host Recheck Seconds", "HostRecheckSeconds");
            Add("Timezone");
            return k;
        }

        private static Dictionary<string, string> FromUrl(string value, string scheme, string parameterName)
        {
            if (!scheme.Equals("postgresql", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("postgres", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"a history URL must be postgresql://... (a PostgreSQL server); '{scheme}://' is not supported. " +
                                            "For a SQLite file give its path.", parameterName);
            var k = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string rest = value.Substring(value.IndexOf("://", StringComparison.Ordinal) + 3);
            string query = "";
            int q = rest.IndexOf('?');
            if (q >= 0) { query = rest.Substring(q + 1); rest = rest.Substring(0, q); }
            int slash = rest.IndexOf('/');
            string authority = slash >= 0 ? rest.Substring(0, slash) : rest;
            string database = slash >= 0 ? rest.Substring(slash + 1) : "";
            int at = authority.LastIndexOf('@');
            if (at >= 0)
            {
                string userInfo = authority.Substring(0, at);
                authority = authority.Substring(at + 1);
                int colon = userInfo.IndexOf(':');
                string user = colon >= 0 ? userInfo.Substring(0, colon) : userInfo;
                if (user.Length > 0) k["Username"] = Decode(user, "user name", parameterName);
                if (colon >= 0) k["Password"] = Decode(userInfo.Substring(colon + 1), "password", parameterName);
            }
            if (authority.Length > 0) HostsAndPorts(Decode(authority, "host", parameterName), k, parameterName);
            if (database.Length > 0) k["Database"] = Decode(database, "database name", parameterName);
            foreach (var pair in query.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                string name = Decode(eq >= 0 ? pair.Substring(0, eq) : pair, "parameter", parameterName);
                string v = eq >= 0 ? Decode(pair.Substring(eq + 1), $"parameter {name}", parameterName) : "";
                if (!UrlParameters.TryGetValue(name, out var keyword))
                    throw new ArgumentException($"the history URL has a parameter HerdPS doesn't know: '{name}' (known: {string.Join(", ", UrlParameters.Keys.OrderBy(n => n, StringComparer.Ordinal))})", parameterName);
                if (keyword == "SSL Mode") v = SslMode(v, parameterName);
                if (keyword == "Host") HostsAndPorts(v, k, parameterName);
                else k[keyword] = v;
            }
            return k;
        }

        // "db1:5432,db2" is Npgsql's form too; one host with a port becomes Host and Port.
        private static void HostsAndPorts(string hosts, Dictionary<string, string> k, string parameterName)
        {
            if (hosts.Contains(","))
            {
                k["Host"] = hosts;
                return;
            }
            var m = Regex.Match(hosts, @"^(?<host>\[[^\]]+\]|[^:]*)(?::(?<port>[0-9]+))?$", RegexOptions.CultureInvariant);
            if (!m.Success) throw new ArgumentException("the history URL's host is not host, host:port or [ipv6]:port", parameterName);
            var host = m.Groups["host"].Value;
            if (host.StartsWith("[", StringComparison.Ordinal)) host = host.Substring(1, host.Length - 2);
            if (host.Length > 0) k["Host"] = host;
            if (m.Groups["port"].Success) k["Port"] = m.Groups["port"].Value;
        }

        private static string SslMode(string libpq, string parameterName)
        {
            switch (libpq.ToLowerInvariant())
            {
                case "disable": return "Disable";
                case "allow": return "Allow";
                case "prefer": return "Prefer";
                case "require": return "Require";
                case "verify-ca": return "VerifyCA";
                case "verify-full": return "VerifyFull";
                default: throw new ArgumentException($"sslmode '{libpq}' is not one of disable, allow, prefer, require, verify-ca, verify-full", parameterName);
            }
        }

        private static string Decode(string text, string what, string parameterName)
        {
            try { return Uri.UnescapeDataString(text); }
            catch (UriFormatException) { throw new ArgumentException($"the history URL's {what} is not properly percent-encoded", parameterName); }
        }

        private static Dictionary<string, string> FromConnectionString(string value, string parameterName)
        {
            var parsed = new DbConnectionStringBuilder();
            try { parsed.ConnectionString = value; }
            catch (ArgumentException)
            {
                // Its message would quote the string, password and all.
                throw new ArgumentException("the history connection string is not a list of keyword=value pairs separated by ';' (Host=...;Database=...)", parameterName);
            }
            var k = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string key in parsed.Keys)
            {
                if (!NpgsqlKeywords.TryGetValue(key.Trim(), out var keyword))
                    throw new ArgumentException($"the history connection string has a keyword PostgreSQL connections don't have: '{key.Trim()}'. " +
                                                "Give Host=...;Database=... (Npgsql's keywords), a postgresql:// URL, or a file path.", parameterName);
                k[keyword] = Convert.ToString(parsed[key], CultureInfo.InvariantCulture) ?? "";
            }
            if (!k.ContainsKey("Host") && !k.ContainsKey("Database"))
                throw new ArgumentException("the history connection string names neither a Host nor a Database", parameterName);
            return k;
        }
    }
}
