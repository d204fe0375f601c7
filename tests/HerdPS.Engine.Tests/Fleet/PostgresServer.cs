using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;

namespace HerdPS.Tests.Fleet
{
    /// <summary>
    /// A real PostgreSQL server for the history tests: the one <c>$HERD_TEST_POSTGRES</c> names (a URL of a role that may
    /// create roles and databases), or else a throwaway one this process starts: the distribution's <c>initdb</c> and
    /// <c>pg_ctl</c> (the newest <c>/usr/lib/postgresql/*/bin</c>) in a temporary folder, as a non-root user (this one, or
    /// <c>postgres</c>/<c>herdpg</c> when the tests run as root), on a free loopback port, its socket in that folder, TLS on
    /// with a certificate of a CA made here. It is stopped when the process exits, and a watcher stops it even if the test
    /// host is killed. One server serves the whole test process; each test class takes a database of its own.
    /// Administration goes through <c>psql</c>, so the module's tests (which must not load Npgsql themselves) can use it too.
    /// </summary>
    public sealed class PostgresServer : IDisposable
    {
        public const string EnvironmentVariable = "HERD_TEST_POSTGRES";
        /// <summary>The role the history is recorded as: it owns its databases, and logs in with a password over TCP.</summary>
        public const string HerdRole = "herd";

        private static readonly Lazy<PostgresServer> SharedServer = new Lazy<PostgresServer>(() => new PostgresServer(), LazyThreadSafetyMode.ExecutionAndPublication);
        private static int _databaseCounter;
        private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(60);

        private readonly string? _externalAdmin;
        private readonly string? _runAs;
        private readonly string _bin;
        private bool _stopped;

        /// <summary>The server every test of this process shares, started on first use.</summary>
        public static PostgresServer Shared => SharedServer.Value;

        private PostgresServer()
        {
            Password = "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
            _externalAdmin = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given ? given : null;
            _bin = _externalAdmin != null ? (FindBin(required: false) ?? "") : FindBin(required: true)!;
            if (_externalAdmin != null)
            {
                var uri = new Uri(_externalAdmin);
                Host = uri.Host;
                Port = uri.Port > 0 ? uri.Port : 5432;
                WorkDir = Directory.CreateTempSubdirectory("herd-pg-").FullName;
                CaCertificatePath = "";
            }
            else
            {
                _runAs = UnixUserName() == "root" ? NonRootUser() : null;
                WorkDir = Directory.CreateTempSubdirectory("herd-pg-").FullName;
                Port = FreePort();
                Host = "127.0.0.1";
                CaCertificatePath = Path.Combine(WorkDir, "ca.crt");
                StartLocal();
            }
            Admin($"DO $$BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{HerdRole}') THEN ALTER ROLE {HerdRole} LOGIN PASSWORD '{Password}'; " +
                  $"ELSE CREATE ROLE {HerdRole} LOGIN PASSWORD '{Password}'; END IF; END$$;");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
        }

        public string Host { get; }
        public int Port { get; }
        /// <summary>The password of <see cref="HerdRole"/> (random per test process).</summary>
        public string Password { get; }
        public string WorkDir { get; }
        public string DataDir => Path.Combine(WorkDir, "data");
        public string SocketDir => Path.Combine(WorkDir, "socket");
        public string LogPath => Path.Combine(WorkDir, "postgres.log");
        /// <summary>The CA that signed the server's certificate (sslrootcert); empty for an external server.</summary>
        public string CaCertificatePath { get; }
        /// <summary>A CA that signed nothing this server shows: verify-full against it must fail.</summary>
        public string OtherCaCertificatePath => Path.Combine(WorkDir, "other-ca.crt");
        public bool IsLocal => _externalAdmin == null;

        /// <summary>A new, empty database owned by <see cref="HerdRole"/>.</summary>
        public PostgresDatabase CreateDatabase(string purpose)
        {
            var name = $"herd_{Sanitize(purpose)}_{Environment.ProcessId}_{Interlocked.Increment(ref _databaseCounter)}";
            Admin($"CREATE DATABASE {name} OWNER {HerdRole}");
            return new PostgresDatabase(this, name);
        }

        /// <summary>psql (or a tool beside it, such as pg_dump), as the administrator uses it.</summary>
        public string AdminPsql => _bin.Length > 0 ? Path.Combine(_bin, "psql") : "psql";

        /// <summary>The connection arguments psql and pg_dump take for <paramref name="database"/> as the administrator.</summary>
        public IEnumerable<string> AdminArguments(string database)
        {
            if (_externalAdmin != null) return new[] { new UriBuilder(_externalAdmin) { Path = "/" + database }.Uri.ToString() };
            return new[] { "-h", SocketDir, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database };
        }

        /// <summary>Runs SQL as the administrator on <paramref name="database"/> and returns psql's unaligned, tuples-only output.</summary>
        public string Admin(string sql, string database = "postgres")
        {
            var args = AdminArguments(database).Concat(new[] { "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql });
            var r = ProcessRunner.Run(AdminPsql, args, HelperTimeout);
            if (r.ExitCode != 0) throw new InvalidOperationException($"psql failed ({r.ExitCode}) on {database}: {r.StdErr}\n{sql}");
            return r.StdOut.Trim();
        }

        /// <summary>Stops the server (an external one is left alone) and removes its folder.</summary>
        public void Stop()
        {
            lock (this)
            {
                if (_stopped) return;
                _stopped = true;
            }
            if (IsLocal && Directory.Exists(DataDir))
                try { AsServerUser(Path.Combine(_bin, "pg_ctl"), "-D", DataDir, "-m", "fast", "-w", "-t", "30", "stop"); } catch (Exception) { }
            try { Directory.Delete(WorkDir, recursive: true); } catch (Exception) { }
        }

        public void Dispose() => Stop();

        private void StartLocal()
        {
            Directory.CreateDirectory(SocketDir);
            WriteCertificates();
            if (_runAs != null) Chown(WorkDir);
            AsServerUser(Path.Combine(_bin, "initdb"), "-D", DataDir, "-U", "postgres", "-A", "trust", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
            var conf = new StringBuilder()
                .AppendLine("listen_addresses = '127.0.0.1'")
                .AppendLine($"port = {Port}")
                .AppendLine($"unix_socket_directories = '{SocketDir}'")
                .AppendLine("max_connections = 300");
            // A throwaway server: durability would only slow the tests down (bench/history.sh asks for it, to measure it).
            if (Environment.GetEnvironmentVariable("HERD_TEST_POSTGRES_DURABLE") != "1")
                conf.AppendLine("fsync = off").AppendLine("synchronous_commit = off").AppendLine("full_page_writes = off");
            conf
                .AppendLine("ssl = on")
                .AppendLine($"ssl_cert_file = '{Path.Combine(WorkDir, "server.crt")}'")
                .AppendLine($"ssl_key_file = '{Path.Combine(WorkDir, "server.key")}'")
                .AppendLine("log_min_messages = warning");
            File.AppendAllText(Path.Combine(DataDir, "postgresql.conf"), conf.ToString());
            File.WriteAllText(Path.Combine(DataDir, "pg_hba.conf"),
                "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
            if (_runAs != null) Chown(DataDir);
            AsServerUser(Path.Combine(_bin, "pg_ctl"), "-D", DataDir, "-l", LogPath, "-w", "-t", "60", "start");
            StartWatcher();
        }

        // If the test host dies without running its exit handlers, this stops the server and removes its folder.
        private void StartWatcher()
        {
            var pgCtl = Path.Combine(_bin, "pg_ctl");
            var stop = _runAs != null ? $"runuser -u {_runAs} -- {pgCtl}" : pgCtl;
            var script = $"while [ -d /proc/{Environment.ProcessId} ]; do sleep 2; done; " +
                         $"[ -d '{DataDir}' ] && {stop} -D '{DataDir}' -m immediate stop >/dev/null 2>&1; rm -rf '{WorkDir}'";
            var psi = new ProcessStartInfo("setsid", new[] { "sh", "-c", script }) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            using var watcher = Process.Start(psi);
            watcher?.StandardInput.Close();
        }

        private void WriteCertificates()
        {
            var now = DateTimeOffset.UtcNow;
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=HerdPS test CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            using var server = request.Create(ca, now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(8));
            File.WriteAllText(Path.Combine(WorkDir, "server.crt"), server.ExportCertificatePem());
            var keyPath = Path.Combine(WorkDir, "server.key");
            File.WriteAllText(keyPath, serverKey.ExportPkcs8PrivateKeyPem());
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.WriteAllText(Path.Combine(WorkDir, "ca.crt"), ca.ExportCertificatePem());
            using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var otherRequest = new CertificateRequest("CN=Some other CA", otherKey, HashAlgorithmName.SHA256);
            otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var other = otherRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            File.WriteAllText(OtherCaCertificatePath, other.ExportCertificatePem());
        }

        private void AsServerUser(string program, params string[] args)
        {
            var outcome = _runAs != null
                ? ProcessRunner.Run("runuser", new[] { "-u", _runAs, "--", program }.Concat(args), HelperTimeout)
                : ProcessRunner.Run(program, args, HelperTimeout);
            if (outcome.ExitCode != 0)
            {
                var log = File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";
                throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} exited {outcome.ExitCode}: {outcome.StdErr}{outcome.StdOut}\n{log}");
            }
        }

        private void Chown(string path)
        {
            var r = ProcessRunner.Run("chown", new[] { "-R", _runAs!, path }, HelperTimeout);
            if (r.ExitCode != 0) throw new InvalidOperationException($"chown {path}: {r.StdErr}");
        }

        /// <summary>PostgreSQL refuses to run as root: the distribution's postgres user, else one made for the tests.</summary>
        private static string NonRootUser()
        {
            if (ProcessRunner.Run("id", new[] { "-u", "postgres" }, HelperTimeout).ExitCode == 0) return "postgres";
            const string user = "herdpg";
            if (ProcessRunner.Run("id", new[] { "-u", user }, HelperTimeout).ExitCode != 0)
            {
                var r = ProcessRunner.Run("useradd", new[] { "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user }, HelperTimeout);
                if (r.ExitCode is not (0 or 9)) throw new InvalidOperationException($"useradd {user}: {r.StdErr}");
            }
            return user;
        }

        private static string UnixUserName() => ProcessRunner.Run("id", new[] { "-un" }, HelperTimeout).StdOut.Trim();

        private static string? FindBin(bool required)
        {
            var bin = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .Select(d => Path.Combine(d, "bin"))
                    .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                    .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                    .FirstOrDefault()
                : null;
            if (bin == null && required)
                throw new InvalidOperationException($"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install the postgresql package " +
                                                    $"(.ci/run does), or point ${EnvironmentVariable} at a server");
            return bin;
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        private static string Sanitize(string s) => new string(s.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(24).ToArray());
    }

    /// <summary>One database of the test server, owned by <see cref="PostgresServer.HerdRole"/>.</summary>
    public sealed class PostgresDatabase
    {
        internal PostgresDatabase(PostgresServer server, string name)
        {
            Server = server;
            Name = name;
        }

        public PostgresServer Server { get; }
        public string Name { get; }

        /// <summary>The URL herd is given: no password in it (that comes from PGPASSWORD, ~/.pgpass or a credential).</summary>
        public string Url => $"postgresql://{PostgresServer.HerdRole}@{Server.Host}:{Server.Port}/{Name}";

        /// <summary>The URL with TLS settings (sslmode, sslrootcert) passed through.</summary>
        public string UrlWith(string query) => Url + "?" + query;

        public NetworkCredential Credential => new NetworkCredential(PostgresServer.HerdRole, Server.Password);

        /// <summary>Environment for a herd process: the password where libpq and Npgsql look for it.</summary>
        public IDictionary<string, string> PasswordEnvironment => new Dictionary<string, string> { ["PGPASSWORD"] = Server.Password };

        /// <summary>A query's single value, as text.</summary>
        public string Scalar(string sql) => Server.Admin(sql, Name);

        public long Count(string sql) => long.Parse(Scalar(sql), CultureInfo.InvariantCulture);
    }
}
