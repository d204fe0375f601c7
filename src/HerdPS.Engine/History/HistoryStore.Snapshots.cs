using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using HerdPS.Files;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// Fleet snapshots in the history database (schema version 3). Snapshots are kept until deleted: the daily
    /// prune of runs does not touch them, because a baseline from months ago is exactly what a snapshot diff wants.
    /// </summary>
    public sealed partial class HistoryStore
    {
        private static readonly JsonSerializerOptions SnapshotJson = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        /// <summary>Stores a snapshot with all its hosts in one transaction; sets and returns its <see cref="FleetSnapshot.Id"/>.</summary>
        public long SaveSnapshot(FleetSnapshot snapshot)
        {
            if (snapshot == null) throw new ArgumentNullException(nameof(snapshot));
            long id = Execute(connection =>
            {
                using (var transaction = new HistoryTransaction(connection, deferred: false))
                {
                    long newId;
                    using (var insert = connection.CreateCommand())
                    {
                        insert.Transaction = transaction;
                        insert.CommandText = "INSERT INTO snapshots (taken_utc, selection, host_count, captured_count) VALUES ($taken, $selection, $hosts, $captured); SELECT last_insert_rowid();";
                        insert.Parameters.AddWithValue("$taken", HistoryTime.ToText(snapshot.TakenUtc));
                        insert.Parameters.AddWithValue("$selection", snapshot.Selection ?? "");
                        insert.Parameters.AddWithValue("$hosts", snapshot.Hosts.Count);
                        insert.Parameters.AddWithValue("$captured", snapshot.CapturedCount);
                        newId = (long)insert.ExecuteScalar()!;
                    }
                    foreach (var h in snapshot.Hosts)
                    {
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
                            insert.Parameters.AddWithValue("$packages", JsonSerializer.Serialize(h.Packages, SnapshotJson));
                            insert.Parameters.AddWithValue("$sm", (object?)h.ServiceManager ?? DBNull.Value);
                            insert.Parameters.AddWithValue("$services", JsonSerializer.Serialize(new StoredServices { Enabled = h.EnabledServices, Running = h.RunningServices }, SnapshotJson));
                            insert.Parameters.AddWithValue("$disks", JsonSerializer.Serialize(h.Disks, SnapshotJson));
                            insert.Parameters.AddWithValue("$memory", JsonSerializer.Serialize(new StoredMemory
                            {
                                TotalKb = h.MemoryTotalKb, AvailableKb = h.MemoryAvailableKb, SwapTotalKb = h.SwapTotalKb, SwapFreeKb = h.SwapFreeKb,
                            }, SnapshotJson));
                            insert.Parameters.AddWithValue("$unavailable", JsonSerializer.Serialize(h.Unavailable, SnapshotJson));
                            insert.ExecuteNonQuery();
                        }
                    }
                    transaction.Commit();
                    return newId;
                }
            });
            snapshot.Id = id;
            return id;
        }

        /// <summary>Stored snapshots, newest first (at most <paramref name="last"/>).</summary>
        public IReadOnlyList<SnapshotRecord> ListSnapshots(int? last = null)
        {
            if (last is int l && l < 1) throw new ArgumentOutOfRangeException(nameof(last), "last must be at least 1");
            return Execute(connection =>
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
        }

        /// <summary>The snapshot with this id and all its hosts, or null.</summary>
        public FleetSnapshot? GetSnapshot(long id) => Execute(connection =>
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
                        var services = JsonSerializer.Deserialize<StoredServices>(r.GetString(11), SnapshotJson) ?? new StoredServices();
                        var memory = JsonSerializer.Deserialize<StoredMemory>(r.GetString(13), SnapshotJson) ?? new StoredMemory();
                        snapshot.Hosts.Add(new HostSnapshot
                        {
                            HostName = r.GetString(0),
                            Status = Enum.TryParse<SnapshotHostStatus>(r.GetString(1), out var status) ? status : SnapshotHostStatus.Failed,
                            ErrorMessage = Text(r, 2),
                            Kernel = Text(r, 3),
                            OsName = Text(r, 4),
                            OsId = Text(r, 5),
                            OsVersion = Text(r, 6),
                            UptimeSeconds = r.IsDBNull(7) ? (double?)null : r.GetDouble(7),
                            PackageManager = Text(r, 8),
                            Packages = new SortedDictionary<string, string>(
                                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(9), SnapshotJson) ?? new Dictionary<string, string>(), StringComparer.Ordinal),
                            ServiceManager = Text(r, 10),
                            EnabledServices = services.Enabled ?? new List<string>(),
                            RunningServices = services.Running ?? new List<string>(),
                            Disks = JsonSerializer.Deserialize<List<DiskUsage>>(r.GetString(12), SnapshotJson) ?? new List<DiskUsage>(),
                            MemoryTotalKb = memory.TotalKb,
                            MemoryAvailableKb = memory.AvailableKb,
                            SwapTotalKb = memory.SwapTotalKb,
                            SwapFreeKb = memory.SwapFreeKb,
                            Unavailable = new SortedDictionary<string, string>(
                                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(14), SnapshotJson) ?? new Dictionary<string, string>(), StringComparer.Ordinal),
                        });
                    }
                }
            }
            return snapshot;
        });

        /// <summary>Deletes a snapshot and its hosts; false if there was none.</summary>
        public bool DeleteSnapshot(long id) => Execute(connection =>
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

        private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

        private sealed class StoredServices
        {
            public List<string>? Enabled { get; set; }
            public List<string>? Running { get; set; }
        }

        private sealed class StoredMemory
        {
            public long? TotalKb { get; set; }
            public long? AvailableKb { get; set; }
            public long? SwapTotalKb { get; set; }
            public long? SwapFreeKb { get; set; }
        }
    }
}
