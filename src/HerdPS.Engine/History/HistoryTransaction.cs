using System;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// A SQLite transaction whose roll-back can't hide the error that caused it. When a write fails for want of
    /// space or with an I/O error, SQLite may roll the whole transaction back on its own; SqliteTransaction's
    /// Dispose then sends ROLLBACK anyway and throws "cannot rollback - no transaction is active", and that
    /// exception replaced the real one ("database or disk is full"). Here a failed roll-back is ignored when SQLite
    /// has no transaction open any more, so the first error is the one that propagates. Used exactly like the
    /// SqliteTransaction it converts to.
    /// </summary>
    internal sealed class HistoryTransaction : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteTransaction _transaction;

        public HistoryTransaction(SqliteConnection connection, bool deferred)
        {
            _connection = connection;
            _transaction = connection.BeginTransaction(deferred);
        }

        public static implicit operator SqliteTransaction(HistoryTransaction transaction) => transaction._transaction;

        public void Commit() => _transaction.Commit();

        public void Dispose()
        {
            try
            {
                _transaction.Dispose(); // rolls back unless committed
            }
            catch (SqliteException) when (SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) != 0)
            {
                // SQLite already rolled back by itself: nothing was written, and the failure that made it roll back
                // is already on its way up.
            }
        }
    }
}
