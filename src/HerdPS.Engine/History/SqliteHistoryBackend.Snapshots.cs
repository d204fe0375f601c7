using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HerdPS.Files;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// Fleet snapshots in the history file (schema version 3; a UUID each since 4). Snapshots are kept until deleted: the
    /// daily prune of runs does not touch them, because a baseline from months ago is exactly what a snapshot diff wants.
    /// </summary>
    public sealed partial class SqliteHistoryBackend
    {
        public long SaveSnapshot(FleetSnapshot snapshot, Guid uuid)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            return Write(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    long id = InsertSnapshot(connection, transaction, snapshot, uuid);
                    transaction.Commit();
                    return id;
                }
            });
        }

        private static long InsertSnapshot(SqliteConnection connection, SqliteTransaction transaction, FleetSnapshot snapshot, Guid uuid)
        {
            long newId;
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO snapshots (uuid, taken_utc, selection, host_count, captured_count) VALUES ($uuid, $taken, $selection, $hosts, $captured) RETURNING id";
                insert.Parameters.AddWithValue("$uuid", UuidText(uuid));
                insert.Parameters.AddWithValue("$taken", HistoryTime.ToText(snapshot.TakenUtc));
                insert.Parameters.AddWithValue("$selection", snapshot.Selection ?? "");
                insert.Parameters.AddWithValue("$hosts", snapshot.Hosts.Count);
                insert.Parameters.AddWithValue("$captured", snapshot.CapturedCount);
                newId = (long)insert.ExecuteScalar()!;
            }
            foreach (var h in snapshot.Hosts)
            {
                var f = SnapshotFields.Of(h);
                using (var insert = connection.CreateCommand())
                {
                    insert.Transaction = transaction;
                    insert.CommandText =
                        "INSERT INTO snapshot_hosts (snapshot_id, host, status, error_message, kernel, os_name, os_id, os_version, uptime_seconds, " +
                        "package_manager, packages, service_manager, services, disks, memory, unavailable) VALUES ($id, $host, $status, $error, " +
                        "$kernel, $os_name, $os_id, $os_version, $uptime, $pm, $packages, $sm, $services, $disks, $memory, $unavailable)";
                    insert.Parameters.AddWithValue("$id", newId);
                    insert.Parameters.AddWithValue("$host", h.HostName);
                    insert.Parameters.AddWithValue("$status", h.Status.ToString());
                    insert.Parameters.AddWithValue("$error", (object?)h.ErrorMessage ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$kernel", (object?)h.Kernel ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$os_name", (object?)h.OsName ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$os_id", (object?)h.OsId ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$os_version", (object?)h.OsVersion ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$uptime", (object?)h.UptimeSeconds ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$pm", (object?)h.PackageManager ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$packages", f.Packages);
                    insert.Parameters.AddWithValue("$sm", (object?)h.ServiceManager ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$services", f.Services);
                    insert.Parameters.AddWithValue("$disks", f.Disks);
                    insert.Parameters.AddWithValue("$memory", f.Memory);
                    insert.Parameters.AddWithValue("$unavailable", f.Unavailable);
                    insert.ExecuteNonQuery();
                }
            }
            return newId;
        }

        public IReadOnlyList<SnapshotRecord> ListSnapshots(int? last) => Execute(connection =>
        {
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT id, taken_utc, selection, host_count, captured_count FROM snapshots ORDER BY taken_utc DESC, id DESC" +
                                     (last is int n ? " LIMIT " + n.ToString(CultureInfo.InvariantCulture) : "");
                var list = new List<SnapshotRecord>();
                using (var reader = select.ExecuteReader())
                    while (reader.Read())
                        list.Add(new SnapshotRecord
                        {
                            Id = reader.GetInt64(0),
                            TakenUtc = HistoryTime.Parse(reader.GetString(1)),
                            Selection = reader.GetString(2),
                            HostCount = reader.GetInt32(3),
                            CapturedCount = reader.GetInt32(4),
                        });
                return (IReadOnlyList<SnapshotRecord>)list;
            }
        });

        public FleetSnapshot? GetSnapshot(long id) => Execute(connection => ReadSnapshot(connection, id));

        private static FleetSnapshot? ReadSnapshot(SqliteConnection connection, long id)
        {
            FleetSnapshot snapshot;
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT taken_utc, selection FROM snapshots WHERE id = $id";
                select.Parameters.AddWithValue("$id", id);
                using (var reader = select.ExecuteReader())
                {
                    if (!reader.Read()) return null;
                    snapshot = new FleetSnapshot { Id = id, TakenUtc = HistoryTime.Parse(reader.GetString(0)), Selection = reader.GetString(1) };
                }
            }
            using (var select = connection.CreateCommand())
            {
                select.CommandText =
                    "SELECT host, status, error_message, kernel, os_name, os_id, os_version, uptime_seconds, package_manager, packages, " +
                    "service_manager, services, disks, memory, unavailable FROM snapshot_hosts WHERE snapshot_id = $id ORDER BY rowid";
                select.Parameters.AddWithValue("$id", id);
                using (var r = select.ExecuteReader())
                {
                    while (r.Read())
                    {
                        snapshot.Hosts.Add(SnapshotFields.Host(
                            r.GetString(0), r.GetString(1), Text(r, 2), Text(r, 3), Text(r, 4), Text(r, 5), Text(r, 6),
                            r.IsDBNull(7) ? (double?)null : r.GetDouble(7), Text(r, 8), r.GetString(9), Text(r, 10), r.GetString(11),
                            r.GetString(12), r.GetString(13), r.GetString(14)));
                    }
                }
            }
            return snapshot;
        }

        public bool DeleteSnapshot(long id) => Write(connection =>
        {
            using (var transaction = new HistoryTransaction(connection, deferred: false))
            using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM snapshot_hosts WHERE snapshot_id = $id; DELETE FROM snapshots WHERE id = $id; SELECT changes();";
                delete.Parameters.AddWithValue("$id", id);
                var n = Convert.ToInt64(delete.ExecuteScalar(), CultureInfo.InvariantCulture);
                transaction.Commit();
                return n > 0;
            }
        });

        public bool ImportSnapshot(FleetSnapshot snapshot, Guid uuid)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            return Write(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    using (var find = connection.CreateCommand())
                    {
                        find.Transaction = transaction;
                        find.CommandText = "SELECT 1 FROM snapshots WHERE uuid = $uuid";
                        find.Parameters.AddWithValue("$uuid", UuidText(uuid));
                        if (find.ExecuteScalar() != null) return false;
                    }
                    InsertSnapshot(connection, transaction, snapshot, uuid);
                    transaction.Commit();
                    return true;
                }
            });
        }

        /// <summary>Every snapshot of this file with its UUID, oldest first (a spool's upload, <c>herd history migrate</c>).</summary>
        internal IReadOnlyList<(long id, Guid uuid)> SnapshotIds() => Execute(connection =>
        {
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT id, uuid FROM snapshots ORDER BY id";
                var list = new List<(long, Guid)>();
                using (var reader = select.ExecuteReader())
                    while (reader.Read()) list.Add((reader.GetInt64(0), Guid.Parse(reader.GetString(1))));
                return (IReadOnlyList<(long, Guid)>)list;
            }
        });

        private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    }

    /// <summary>
    /// A snapshot host's structured sections as both backends store them: JSON where a section is a list or a map, so
    /// diffs compare parsed packages and services, not text.
    /// </summary>
    public sealed class SnapshotFields
    {
        public string Packages { get; private set; } = "{}";
        public string Services { get; private set; } = "{}";
        public string Disks { get; private set; } = "[]";
        public string Memory { get; private set; } = "{}";
        public string Unavailable { get; private set; } = "{}";

        public static SnapshotFields Of(HostSnapshot h) => new SnapshotFields
        {
            Packages = JsonSerializer.Serialize(h.Packages, SnapshotJson.Default.SortedDictionaryStringString),
            Services = JsonSerializer.Serialize(new StoredServices { Enabled = h.EnabledServices, Running = h.RunningServices }, SnapshotJson.Default.StoredServices),
            Disks = JsonSerializer.Serialize(h.Disks, SnapshotJson.Default.ListDiskUsage),
            Memory = JsonSerializer.Serialize(new StoredMemory { TotalKb = h.MemoryTotalKb, AvailableKb = h.MemoryAvailableKb, SwapTotalKb = h.SwapTotalKb, SwapFreeKb = h.SwapFreeKb }, SnapshotJson.Default.StoredMemory),
            Unavailable = JsonSerializer.Serialize(h.Unavailable, SnapshotJson.Default.SortedDictionaryStringString),
        };

        /// <summary>A host of a stored snapshot, from its row.</summary>
        public static HostSnapshot Host(string host, string status, string? errorMessage, string? kernel, string? osName, string? osId, string? osVersion,
            double? uptimeSeconds, string? packageManager, string packages, string? serviceManager, string services, string disks, string memory, string unavailable)
        {
            var storedServices = JsonSerializer.Deserialize(services, SnapshotJson.Default.StoredServices) ?? new StoredServices();
            var storedMemory = JsonSerializer.Deserialize(memory, SnapshotJson.Default.StoredMemory) ?? new StoredMemory();
            return new HostSnapshot
            {
                HostName = host,
                Status = Enum.TryParse<SnapshotHostStatus>(status, out var parsed) ? parsed : SnapshotHostStatus.Failed,
                ErrorMessage = errorMessage,
                Kernel = kernel,
                OsName = osName,
                OsId = osId,
                OsVersion = osVersion,
                UptimeSeconds = uptimeSeconds,
                PackageManager = packageManager,
                Packages = new SortedDictionary<string, string>(
                    JsonSerializer.Deserialize(packages, SnapshotJson.Default.DictionaryStringString) ?? new Dictionary<string, string>(), StringComparer.Ordinal),
                ServiceManager = serviceManager,
                EnabledServices = storedServices.Enabled ?? new List<string>(),
                RunningServices = storedServices.Running ?? new List<string>(),
                Disks = JsonSerializer.Deserialize(disks, SnapshotJson.Default.ListDiskUsage) ?? new List<DiskUsage>(),
                MemoryTotalKb = storedMemory.TotalKb,
                MemoryAvailableKb = storedMemory.AvailableKb,
                SwapTotalKb = storedMemory.SwapTotalKb,
                SwapFreeKb = storedMemory.SwapFreeKb,
                Unavailable = new SortedDictionary<string, string>(
                    JsonSerializer.Deserialize(unavailable, SnapshotJson.Default.DictionaryStringString) ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            };
        }

        internal sealed class StoredServices
        {
            public List<string>? Enabled { get; set; }
            public List<string>? Running { get; set; }
        }

        internal sealed class StoredMemory
        {
            public long? TotalKb { get; set; }
            public long? AvailableKb { get; set; }
            public long? SwapTotalKb { get; set; }
            public long? SwapFreeKb { get; set; }
        }
    }

    /// <summary>
    /// The snapshot columns' JSON, generated at compile time: the native herd has no reflection-based JsonSerializer.
    /// Camel case and the default encoder, as these columns have always been written (SnapshotStoredJsonTests pins the text).
    /// </summary>
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    [JsonSerializable(typeof(SortedDictionary<string, string>))]
    [JsonSerializable(typeof(Dictionary<string, string>))]
    [JsonSerializable(typeof(List<DiskUsage>))]
    [JsonSerializable(typeof(SnapshotFields.StoredServices))]
    [JsonSerializable(typeof(SnapshotFields.StoredMemory))]
    internal sealed partial class SnapshotJson : JsonSerializerContext
    {
    }
}
