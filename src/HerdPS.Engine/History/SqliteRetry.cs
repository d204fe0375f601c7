using System;
using System.Diagnostics;
using System.Threading;
using Microsoft.Data.Sqlite;

namespace HerdPS.History
{
    /// <summary>
    /// Runs one database operation, retrying it while another process holds the lock, and turns SQLite's
    /// errors into <see cref="HistoryException"/>s that say what to do.
    /// SQLite's busy handler (PRAGMA busy_timeout) and Microsoft.Data.Sqlite's own retry cover most waits, but
    /// not all: a BEGIN IMMEDIATE or a journal-mode switch can fail with SQLITE_BUSY at once, and a transaction
    /// cut short by one must be rolled back and run again from the start. So operations passed here are whole
    /// transactions that can safely be repeated.
    /// </summary>
    internal static class SqliteRetry
    {
        private const int SqliteBusy = 5, SqliteLocked = 6, SqliteIoError = 10, SqliteCorrupt = 11, SqliteFull = 13, SqliteCantOpen = 14, SqliteNotADatabase = 26;

        /// <summary>Less free space than this where the database lives, after a write failed, means the disk is full.</summary>
        private const long FullBelowBytes = 1024 * 1024;

        [ThreadStatic] private static Random? _jitter;

        public static T Run<T>(string path, TimeSpan busyTimeout, Func<T> operation)
        {
            var waited = Stopwatch.StartNew();
            int delayMs = 5;
            while (true)
            {
                try
                {
                    return operation();
                }
                catch (SqliteException e) when (IsBusy(e) && waited.Elapsed < busyTimeout)
                {
                    // Jitter so that writers that collided don't collide again in step.
                    _jitter ??= new Random(Environment.TickCount ^ Thread.CurrentThread.ManagedThreadId);
                    Thread.Sleep(delayMs / 2 + _jitter.Next(delayMs));
                    delayMs = Math.Min(delayMs * 2, 200);
                }
                catch (SqliteException e)
                {
                    throw Translate(path, busyTimeout, e);
                }
            }
        }

        public static void Run(string path, TimeSpan busyTimeout, Action operation)
            => Run(path, busyTimeout, () => { operation(); return true; });

        private static bool IsBusy(SqliteException e) => e.SqliteErrorCode == SqliteBusy || e.SqliteErrorCode == SqliteLocked;

        internal static HistoryException Translate(string path, TimeSpan busyTimeout, SqliteException e)
        {
            // A full disk shows up as "database or disk is full", or as a bare "disk I/O error" when the -shm or
            // -wal file can't grow: name the real cause, the file, and what to do.
            if ((e.SqliteErrorCode == SqliteFull || e.SqliteErrorCode == SqliteIoError || e.SqliteErrorCode == SqliteCantOpen)
                && FreeBytes(path) is long free && free < FullBelowBytes)
                return new HistoryException(path,
                    $"no space left on device: the disk holding the history database is full ({FormatBytes(free)} free in " +
                    $"{System.IO.Path.GetDirectoryName(path)}; SQLite said: {e.Message.TrimEnd('.')}). Free some space there, record elsewhere " +
                    "(--history / -HistoryPath, or $HERD_HISTORY), or run with --no-history / -NoHistory.", e);
            switch (e.SqliteErrorCode)
            {
                case SqliteBusy:
                case SqliteLocked:
                    return new HistoryException(path,
                        $"another process kept the history database locked for more than {busyTimeout.TotalSeconds:0.#} s " +
                        $"({e.Message}). Try again; if it keeps happening, look for a hung herd or PowerShell process.", e);
                case SqliteCorrupt:
                case SqliteNotADatabase:
                    return Damaged(path, e.Message, e);
                case SqliteFull:
                    return new HistoryException(path, $"the disk holding the history database is full ({e.Message}).", e);
                default:
                    return new HistoryException(path, $"the history database failed: {e.Message}", e);
            }
        }

        /// <summary>Free space on the file system holding <paramref name="path"/> for this user (root may use the reserved blocks too); null if unknown.</summary>
        private static long? FreeBytes(string path)
        {
            try
            {
                var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
                if (string.IsNullOrEmpty(folder)) return null;
                var drive = new System.IO.DriveInfo(folder!);
                var root = !Transport.PrivateDirectory.IsWindows && Transport.UnixFiles.EffectiveUserId == 0;
                return root ? drive.TotalFreeSpace : drive.AvailableFreeSpace;
            }
            catch (Exception)
            {
                return null; // no answer is not a reason to claim the disk is full
            }
        }

        private static string FormatBytes(long bytes) => bytes < 1024 ? $"{bytes} bytes" : $"{bytes / 1024} KiB";

        internal static HistoryException Damaged(string path, string detail, Exception? inner = null)
            => new HistoryException(path,
                $"the history database is damaged or is not a SQLite database ({detail}). HerdPS won't reset it. " +
                $"Move it aside (for example rename it to {System.IO.Path.GetFileName(path)}.broken, together with " +
                "any -wal and -shm files beside it) and the next run starts a new history; the old file can be " +
                "examined with the sqlite3 tool (its .recover command salvages what it can).", inner);
    }
}
