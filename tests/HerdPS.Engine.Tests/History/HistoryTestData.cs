using System;
using HerdPS.History;
using Microsoft.Data.Sqlite;

namespace HerdPS.Tests.History
{
    internal static class HistoryTestData
    {
        public static readonly DateTime Now = new DateTime(2026, 2, 28, 9, 15, 0, DateTimeKind.Utc);

        public static FleetResult Result(string host, string stdout = "ok\n", FleetStatus status = FleetStatus.Succeeded,
            int? exitCode = 0, string command = "uptime", string stderr = "") => new FleetResult
        {
            HostName = host,
            Command = command,
            Status = status,
            ExitCode = exitCode,
            StdOut = stdout,
            StdErr = stderr,
            StartTime = Now,
            Duration = TimeSpan.FromMilliseconds(120),
            Attempts = 1,
            // A SHA-256 in hex, as a run's is: equal outputs hash alike, and a 5 MiB output doesn't make a 5 MiB hash.
            OutputHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
                System.Text.Encoding.UTF8.GetBytes(stdout + "\0" + stderr + "\0" + status + ":" + exitCode))).ToLowerInvariant(),
        };

        /// <summary>Records a complete run and returns its id.</summary>
        public static long Record(HistoryStore store, string command, string selection, DateTime startedUtc,
            string kind = "exec", params FleetResult[] results)
        {
            using (var run = store.BeginRun(kind, command, selection, startedUtc))
            {
                foreach (var result in results) run.Add(result);
                run.Complete(startedUtc.AddSeconds(2));
                return run.Id;
            }
        }

        /// <summary>A raw connection, as the sqlite3 tool or an older HerdPS would use.</summary>
        public static SqliteConnection RawConnection(string path)
        {
            var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            return connection;
        }

        public static long Scalar(string path, string sql)
        {
            using (var connection = RawConnection(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql;
                return Convert.ToInt64(command.ExecuteScalar());
            }
        }

        public static byte[] Blob(string path, string sql)
        {
            using (var connection = RawConnection(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql;
                return (byte[])command.ExecuteScalar()!;
            }
        }

        public static string ScalarText(string path, string sql)
        {
            using (var connection = RawConnection(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql;
                return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? "";
            }
        }

        public static void Execute(string path, string sql)
        {
            using (var connection = RawConnection(path))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql;
                command.ExecuteNonQuery();
            }
        }
    }
}
