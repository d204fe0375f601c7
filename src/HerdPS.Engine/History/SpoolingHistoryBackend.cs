using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using HerdPS.Files;

namespace HerdPS.History
{
    /// <summary>
    /// A server history as a recording run sees it: the server while it answers, and a local spool (a SQLite history
    /// file of the user's own) while it doesn't. A run begun when the server can't be reached is recorded in the spool;
    /// a run whose server write fails midway goes on in the spool under the same UUID. Nothing is lost: every result is
    /// written somewhere before <see cref="WriteResults"/> returns. Nothing is recorded twice: results are numbered within
    /// their run, so the upload adds only what the server lacks.
    /// <para>
    /// The spool is uploaded (oldest run first, each run in one server transaction, then deleted from the spool) when the
    /// server is reached again: on the next open of this history by any herd or cmdlet, and by this store when it begins
    /// a run after <see cref="HistoryStoreOptions.ReconnectInterval"/>. A run still being written by a live process is
    /// left for later. The user is warned once per store, when the server is first found missing.
    /// </para>
    /// Runs begun in the spool have negative ids here (minus their spool id) until they are uploaded and get a server id.
    /// </summary>
    internal sealed class SpoolingHistoryBackend : IHistoryBackend
    {
        private readonly HistoryTarget _target;
        private readonly IHistoryServerFactory _factory;
        private readonly HistoryStoreOptions _options;
        private readonly string _spoolPath;
        private readonly object _gate = new object();
        private readonly Dictionary<long, RunPlace> _runs = new Dictionary<long, RunPlace>();
        private IHistoryBackend? _server;
        private SqliteHistoryBackend? _spool;
        private DateTime _lastAttemptUtc;
        private bool _warned, _disposed;

        public SpoolingHistoryBackend(HistoryTarget target, IHistoryServerFactory factory, IHistoryBackend? server,
            HistoryServerUnreachableException? unreachable, string spoolPath, HistoryStoreOptions options)
        {
            _target = target;
            _factory = factory;
            _options = options;
            _spoolPath = spoolPath;
            _server = server;
            _lastAttemptUtc = DateTime.UtcNow;
            if (server != null) TryUpload(server);
            else WarnOnce(unreachable!);
        }

        public string Location => _target.Display;

        /// <summary>True while runs go to the server (false: to the spool).</summary>
        public bool IsConnected { get { lock (_gate) return _server != null; } }

        public string SpoolPath => _spoolPath;

        private sealed class RunPlace
        {
            public RunPlace(RunHeader header, long? spoolId)
            {
                Header = header;
                SpoolId = spoolId;
            }

            public RunHeader Header { get; }
            /// <summary>Null while the run is on the server.</summary>
            public long? SpoolId { get; set; }
        }

        public long BeginRun(RunHeader header)
        {
            var server = ServerOrReconnect();
            if (server != null)
            {
                try
                {
                    long id = server.BeginRun(header);
                    lock (_gate) _runs[id] = new RunPlace(header, null);
                    return id;
                }
                catch (Exception e) when (IsServerFailure(e))
                {
                    GoOffline(server, e);
                }
            }
            long spoolId = Spool().BeginRun(header);
            lock (_gate) _runs[-spoolId] = new RunPlace(header, spoolId);
            return -spoolId;
        }

        public void WriteResults(long runId, IReadOnlyList<StoredResult> batch, RunCounts counts, DateTime? finishedUtc)
        {
            RunPlace? place;
            IHistoryBackend? server;
            lock (_gate)
            {
                _runs.TryGetValue(runId, out place);
                server = _server;
            }
            if (place == null) throw new HistoryException(Location, $"run {runId} was not begun by this history store");
            if (place.SpoolId == null && server != null)
            {
                try
                {
                    server.WriteResults(runId, batch, counts, finishedUtc);
                    return;
                }
                catch (Exception e) when (IsServerFailure(e))
                {
                    GoOffline(server, e);
                }
            }
            lock (_gate)
            {
                // The rest of this run waits in the spool under the same UUID; the upload merges it by result number, so a
                // batch whose commit the server did make (and we never heard of) is not recorded twice.
                if (place.SpoolId == null) place.SpoolId = Spool().BeginRun(place.Header);
            }
            Spool().WriteResults(place.SpoolId!.Value, batch, counts, finishedUtc);
        }

        public Guid? FindRunUuid(long id)
        {
            lock (_gate)
                if (_runs.TryGetValue(id, out var place)) return place.Header.Uuid;
            return id < 0 ? Spool().FindRunUuid(-id) : Read(s => s.FindRunUuid(id), sp => null);
        }

        public void ListRuns(HistoryQuery query, int? limit, Func<HistoryRunRecord, bool> add)
        {
            if (query.Id is long id && id < 0)
            {
                var spoolQuery = Copy(query);
                spoolQuery.Id = -id;
                Spool().ListRuns(spoolQuery, limit, r => add(FromSpool(r)));
                return;
            }
            Read(s => { s.ListRuns(query, limit, add); return true; }, sp => { sp.ListRuns(query, limit, r => add(FromSpool(r))); return true; });
        }

        public HistoryRunRecord? FindLatestRun(string command, string selection, long? beforeRunId)
            => Read(s => s.FindLatestRun(command, selection, beforeRunId), sp => sp.FindLatestRun(command, selection, null) is HistoryRunRecord r ? FromSpool(r) : null);

        public IEnumerable<FleetResult> ReadResults(long runId, string? hostName)
        {
            if (runId < 0) return Spool().ReadResults(-runId, hostName);
            var server = ServerOrReconnect();
            if (server == null) throw Unreachable();
            return server.ReadResults(runId, hostName);
        }

        public int Prune(DateTime cutoffUtc) => Read(s => s.Prune(cutoffUtc), sp => 0);

        // The server's once-a-day prune is the server's business; a spool is only ever emptied by its upload.
        public void Maintain(TimeSpan? retention, DateTime nowUtc) => Read(s => { s.Maintain(retention, nowUtc); return true; }, sp => true);

        public long SaveSnapshot(FleetSnapshot snapshot, Guid uuid)
        {
            var server = ServerOrReconnect();
            if (server != null)
            {
                try { return server.SaveSnapshot(snapshot, uuid); }
                catch (Exception e) when (IsServerFailure(e)) { GoOffline(server, e); }
            }
            return -Spool().SaveSnapshot(snapshot, uuid);
        }

        public IReadOnlyList<SnapshotRecord> ListSnapshots(int? last) => Read(s => s.ListSnapshots(last), sp => sp.ListSnapshots(last));

        public FleetSnapshot? GetSnapshot(long id) => id < 0 ? Spool().GetSnapshot(-id) : Read(s => s.GetSnapshot(id), sp => null);

        public bool DeleteSnapshot(long id) => id < 0 ? Spool().DeleteSnapshot(-id) : Read(s => s.DeleteSnapshot(id), sp => throw Unreachable());

        public RunImport ImportRun(ExportedRun run) => Read(s => s.ImportRun(run), sp => throw Unreachable());

        public bool ImportSnapshot(FleetSnapshot snapshot, Guid uuid) => Read(s => s.ImportSnapshot(snapshot, uuid), sp => throw Unreachable());

        // Reads go to the server; while it can't be reached, to the runs waiting in the spool (so --diff-last and a run's
        // own record still answer, from what this machine has).
        private T Read<T>(Func<IHistoryBackend, T> onServer, Func<SqliteHistoryBackend, T> onSpool)
        {
            var server = ServerOrReconnect();
            if (server != null)
            {
                try { return onServer(server); }
                catch (HistoryServerUnreachableException e) { GoOffline(server, e); }
            }
            return onSpool(Spool());
        }

        private IHistoryBackend? ServerOrReconnect()
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(HistoryStore), $"The history store for {Location} is closed.");
                if (_server != null) return _server;
                if (DateTime.UtcNow - _lastAttemptUtc < _options.ReconnectInterval) return null;
                _lastAttemptUtc = DateTime.UtcNow;
            }
            IHistoryBackend server;
            try { server = _factory.Connect(_target, _options); }
            catch (HistoryException) { return null; }
            lock (_gate)
            {
                if (_server != null || _disposed) { server.Dispose(); return _server; }
                _server = server;
            }
            TryUpload(server);
            return server;
        }

        private void GoOffline(IHistoryBackend server, Exception e)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_server, server)) _server = null;
                _lastAttemptUtc = DateTime.UtcNow;
            }
            try { server.Dispose(); } catch (Exception) { /* it failed already */ }
            WarnOnce(e);
        }

        private void WarnOnce(Exception cause)
        {
            lock (_gate)
            {
                if (_warned) return;
                _warned = true;
            }
            var reason = cause is HistoryException h ? h.Reason : _target.Scrub(cause.Message);
            Tell($"{Location}: {reason.TrimEnd('.')}. Runs are kept in the local spool {_spoolPath} and uploaded the next time herd " +
                 "reaches the server; the commands run as usual.");
        }

        private void Tell(string message)
        {
            if (_options.Notice != null) _options.Notice(message);
            else Transport.PrivateDirectory.Tell(message);
        }

        private HistoryServerUnreachableException Unreachable()
            => new HistoryServerUnreachableException(Location, $"the history server can't be reached now; runs recorded meanwhile wait in the local spool {_spoolPath}");

        // Any failure of the server while recording sends the run to the spool; only a mistake in the call itself does not.
        private static bool IsServerFailure(Exception e)
            => !(e is ArgumentException || e is ObjectDisposedException || e is OutOfMemoryException);

        private SqliteHistoryBackend Spool()
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(HistoryStore), $"The history store for {Location} is closed.");
                return _spool ??= SqliteHistoryBackend.Open(_spoolPath, _options.BusyTimeout);
            }
        }

        private void TryUpload(IHistoryBackend server)
        {
            try
            {
                if (!File.Exists(_spoolPath)) return;
                Upload(Spool(), server);
            }
            catch (Exception e) when (IsServerFailure(e))
            {
                // What was uploaded is deleted from the spool; the rest waits for the next time.
                GoOffline(server, e);
            }
        }

        /// <summary>Uploads a spool file if there is one (a store opened only to look at the history does this too).</summary>
        internal static void UploadIfAny(string spoolPath, IHistoryBackend server, HistoryStoreOptions options)
        {
            if (!File.Exists(spoolPath)) return;
            try
            {
                using (var spool = SqliteHistoryBackend.Open(spoolPath, options.BusyTimeout)) Upload(spool, server);
            }
            catch (HistoryException e)
            {
                var message = $"runs waiting in the local spool {spoolPath} could not all be uploaded to {server.Location} ({e.Reason.TrimEnd('.')}); they are kept for the next time";
                if (options.Notice != null) options.Notice(message);
                else Transport.PrivateDirectory.Tell(message);
            }
        }

        /// <summary>
        /// Copies every run (except those a live process is still writing) and snapshot of <paramref name="spool"/> to
        /// <paramref name="server"/>, one run per transaction, deleting each from the spool once the server has it.
        /// </summary>
        internal static int Upload(SqliteHistoryBackend spool, IHistoryBackend server)
        {
            int uploaded = 0;
            spool.ExportRuns(
                (id, recorder) => recorder == null || !ProcessIdentity.IsAlive(recorder),
                (id, run) =>
                {
                    server.ImportRun(run);
                    spool.DeleteRun(id);
                    uploaded++;
                });
            foreach (var (id, uuid) in spool.SnapshotIds())
            {
                if (spool.GetSnapshot(id) is FleetSnapshot snapshot) server.ImportSnapshot(snapshot, uuid);
                spool.DeleteSnapshot(id);
            }
            return uploaded;
        }

        private static HistoryRunRecord FromSpool(HistoryRunRecord run)
        {
            run.Id = -run.Id;
            if (run.WatchId is long w) run.WatchId = -w;
            return run;
        }

        private static HistoryQuery Copy(HistoryQuery q) => new HistoryQuery
        {
            Id = q.Id, Last = q.Last, Command = q.Command, Since = q.Since, Kind = q.Kind, Controller = q.Controller, HostName = q.HostName,
        };

        public void Dispose()
        {
            IHistoryBackend? server;
            SqliteHistoryBackend? spool;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                server = _server;
                spool = _spool;
                _server = null;
                _spool = null;
            }
            server?.Dispose();
            spool?.Dispose();
        }
    }
}
