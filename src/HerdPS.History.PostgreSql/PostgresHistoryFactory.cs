using System;
using System.IO;
using System.Net.Sockets;
using Npgsql;

namespace HerdPS.History.PostgreSql
{
    /// <summary>
    /// Connects to a PostgreSQL history (loaded by <see cref="ServerHistory"/>). The connection string comes from the
    /// engine's <see cref="HistoryTarget"/> (a libpq URL already translated); the password from, in this order, a
    /// PSCredential (-HistoryCredential), the connection itself, <c>PGPASSWORD</c>, or the password file (<c>PGPASSFILE</c>,
    /// else <c>~/.pgpass</c>, <c>%APPDATA%\postgresql\pgpass.conf</c> on Windows): Npgsql reads those as libpq does. TLS
    /// settings (SSL Mode, Root Certificate, SSL Certificate, SSL Key) pass through as given.
    /// </summary>
    public sealed class PostgresHistoryFactory : IHistoryServerFactory
    {
        public IHistoryBackend Connect(HistoryTarget target, HistoryStoreOptions options)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (!target.IsServer) throw new ArgumentException("not a PostgreSQL history", nameof(target));
            SharedDataSources.Lease dataSource;
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(target.ConnectionString);
                if (target.Credential is { } credential)
                {
                    if (!string.IsNullOrEmpty(credential.UserName)) builder.Username = credential.UserName;
                    if (!string.IsNullOrEmpty(credential.Password)) builder.Password = credential.Password;
                }
                if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "herd";
                // The history uses only PostgreSQL's built-in types: reading the server's type catalog on the first
                // connection of every herd process is time spent for nothing. Set on the data source (the connection
                // string's Server Compatibility Mode is obsolete), unless the connection string names a mode itself.
#pragma warning disable CS0618 // read only to honour a mode the user's connection string sets
                bool userMode = builder.ServerCompatibilityMode != ServerCompatibilityMode.None;
#pragma warning restore CS0618
                // Never hand the password back through the connection's ConnectionString once it is open.
                builder.PersistSecurityInfo = false;
                // One pool per connection per process: a PowerShell session's cmdlet calls reuse its logged-in connections.
                dataSource = SharedDataSources.Acquire(builder.ConnectionString, connectionString =>
                {
                    TrustStoreWarmup.StartIfTls(builder);
                    var source = new NpgsqlDataSourceBuilder(connectionString);
                    if (!userMode) source.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
                    return source.Build();
                });
            }
            catch (ArgumentException e)
            {
                // Npgsql's message may quote the value it could not use; scrub it, and say which setting.
                throw new ArgumentException($"the history connection {target.Display} has a setting PostgreSQL connections can't use: {target.Scrub(e.Message)}", "HistoryConnection");
            }
            var backend = new PostgresHistoryBackend(target, dataSource, options);
            try
            {
                backend.Initialize();
                return backend;
            }
            catch
            {
                backend.Dispose();
                throw;
            }
        }
    }

    /// <summary>Npgsql's and the server's failures as <see cref="HistoryException"/>s: unreachable or refusing, always without a password.</summary>
    internal static class PostgresErrors
    {
        public static HistoryException Translate(HistoryTarget target, Exception e, string doing)
        {
            var message = target.Scrub(e is PostgresException p ? $"{p.SqlState}: {p.MessageText}" : Innermost(e));
            if (IsUnreachable(e))
                return new HistoryServerUnreachableException(target.Display, $"the history server can't be reached while {doing} ({message})", e);
            if (e is PostgresException pe)
            {
                switch (pe.SqlState)
                {
                    case PostgresErrorCodes.InvalidPassword:
                    case PostgresErrorCodes.InvalidAuthorizationSpecification:
                        return new HistoryException(target.Display,
                            $"the history server refused the login ({message}). Give the password with -HistoryCredential, PGPASSWORD or ~/.pgpass " +
                            "(never in a URL on a command line).", e);
                    case PostgresErrorCodes.InvalidCatalogName:
                        return new HistoryException(target.Display, $"the database does not exist on the history server ({message}); create it (createdb) or fix the connection.", e);
                    case PostgresErrorCodes.InsufficientPrivilege:
                        return new HistoryException(target.Display,
                            $"the history server does not allow this user to {doing} ({message}). The user needs to own the herd schema, or to be allowed to create it " +
                            "(GRANT CREATE ON DATABASE ...).", e);
                }
            }
            return new HistoryException(target.Display, $"the history server failed while {doing} ({message})", e);
        }

        /// <summary>
        /// The server can't be reached now: no connection (refused, timed out, name not found, TLS or socket broken), or
        /// the server said it is shutting down, starting, or out of connections. A refused login or a missing table is not.
        /// </summary>
        public static bool IsUnreachable(Exception e)
        {
            if (e is PostgresException p)
                return p.SqlState.StartsWith("08", StringComparison.Ordinal)     // connection_exception
                       || p.SqlState.StartsWith("53", StringComparison.Ordinal)  // insufficient resources: too many connections
                       || p.SqlState == PostgresErrorCodes.AdminShutdown || p.SqlState == PostgresErrorCodes.CrashShutdown
                       || p.SqlState == PostgresErrorCodes.CannotConnectNow;
            // A certificate that doesn't verify is not "unreachable": it is a server we must not talk to, and an error.
            if (HasInner<System.Security.Authentication.AuthenticationException>(e)) return false;
            if (e is NpgsqlException n && (n.IsTransient || n.InnerException is SocketException || n.InnerException is IOException || n.InnerException is TimeoutException))
                return true;
            return e is TimeoutException || e is SocketException || e is IOException
                   || (e is InvalidOperationException && e.InnerException is NpgsqlException inner && IsUnreachable(inner));
        }

        private static bool HasInner<T>(Exception e) where T : Exception
        {
            for (Exception? x = e; x != null; x = x.InnerException) if (x is T) return true;
            return false;
        }

        private static string Innermost(Exception e)
        {
            var text = e.Message;
            for (var inner = e.InnerException; inner != null; inner = inner.InnerException)
                if (!string.IsNullOrEmpty(inner.Message) && !text.Contains(inner.Message, StringComparison.Ordinal)) text += ": " + inner.Message;
            return text;
        }
    }
}
