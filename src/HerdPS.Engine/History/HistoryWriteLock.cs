using System;
using System.Collections.Generic;
using System.IO;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using HerdPS.Transport;
using Microsoft.Win32.SafeHandles;

namespace HerdPS.History
{
    /// <summary>
    /// The turn every writer of one SQLite history file waits for, whatever process it is in: an exclusive OS lock on a
    /// sidecar file beside the database (<c>history.db-lock</c>), held around each write transaction.
    /// <para>
    /// Why: SQLite lets one writer in at a time, and a writer that finds the file locked sleeps and polls (SQLite's busy
    /// handler sleeps 1, 2, 5 ... then 100 ms between tries; Microsoft.Data.Sqlite then retries a busy statement every
    /// 150 ms). Processes that write in short transactions hand the lock back and forth inside those sleeps, so a poller
    /// can miss window after window: 16 writers on one file saw a single write wait 5.4 s of the 10 s busy timeout
    /// (bench/results.md). A waiter blocked in flock(2) (Linux, macOS) or LockFileEx (Windows) is woken by the kernel the
    /// moment the holder lets go, so every release is a chance for every waiter.
    /// </para>
    /// <para>
    /// Why not something simpler: a named <see cref="Mutex"/> on Unix lives in the runtime's shared-memory folder under
    /// $TMPDIR (processes with different temporary folders, or containers sharing the history's volume, would not see
    /// each other's) and is only as private as that folder; the lock file lives with the database, so whoever opens the
    /// same file meets the same lock. .NET's own file locking can't wait: FileShare.None and FileStream.Lock try once
    /// (LOCK_NB, F_SETLK) and would put polling back. SQLite has no fair-queue option, and WAL already lets readers run
    /// beside the writer. SQLite's own locks (fcntl on the database) can't be borrowed: closing any descriptor of the
    /// file drops them.
    /// </para>
    /// <para>
    /// The lock is only the order of turns; SQLite's locking still guards the data (a writer that doesn't take turns, the
    /// sqlite3 tool or an older herd, is waited for by <see cref="SqliteRetry"/>). The kernel drops the lock when its
    /// holder exits, killed or not. The file is opened with O_CLOEXEC (an ssh child started while a write is running
    /// must not inherit the lock), O_NOFOLLOW (never a symbolic link planted at its name), checked to be a regular file
    /// of ours, and created 0600 like the database (whoever can open it could hold it and stall our writes).
    /// Read-only queries don't take it.
    /// </para>
    /// </summary>
    internal sealed class HistoryWriteLock
    {
        /// <summary>Appended to the database's path: the lock file's name.</summary>
        public const string Suffix = "-lock";

        private readonly string _databasePath;
        private readonly TimeSpan _timeout;

        // Lock files whose turn this thread holds (a write inside a write must not wait for itself).
        [ThreadStatic] private static HashSet<string>? _heldHere;

        // Where the OS lock can't be had (a file system without locks, a system we have no calls for), threads of this
        // process still take turns here, in order, as they did before the lock file; processes then meet in SQLite's
        // busy handling alone.
        private static readonly Dictionary<string, object> ProcessGates = new Dictionary<string, object>(StringComparer.Ordinal);
        private static readonly HashSet<string> Told = new HashSet<string>(StringComparer.Ordinal);

        public HistoryWriteLock(string databasePath, TimeSpan timeout)
        {
            _databasePath = databasePath;
            _timeout = timeout;
            Path = databasePath + Suffix;
        }

        /// <summary>The lock file.</summary>
        public string Path { get; }

        /// <summary>
        /// Runs <paramref name="operation"/> (one write transaction) in this writer's turn, waiting for the turn at most
        /// the busy timeout.
        /// </summary>
        /// <exception cref="HistoryException">The turn didn't come within the timeout, or the lock file can't be used (a symbolic link, someone else's).</exception>
        public T Run<T>(Func<T> operation)
        {
            if (_heldHere != null && _heldHere.Contains(Path)) return operation(); // a write inside a write: already our turn
            var file = LockFile.Open(this);
            if (file == null) return RunInProcessGate(operation);
            LockAnswer answer;
            try { answer = file.TryLock(wait: false); }
            catch
            {
                file.Dispose();
                throw;
            }
            if (answer == LockAnswer.Taken) return RunHolding(file, operation);
            if (answer == LockAnswer.Unsupported)
            {
                file.Dispose();
                return RunInProcessGate(operation);
            }
            return WaitForTurnThenRun(file, operation);
        }

        private T RunHolding<T>(LockFile? file, Func<T> operation)
        {
            var held = _heldHere ??= new HashSet<string>(StringComparer.Ordinal);
            held.Add(Path);
            try
            {
                return operation();
            }
            finally
            {
                held.Remove(Path);
                file?.Dispose(); // closing the descriptor lets the next writer in
            }
        }

        /// <summary>
        /// A blocking lock call can't be cancelled, so it runs on a thread of its own while this one waits at most the
        /// timeout. That thread also runs the operation as soon as it has the lock: handing the turn back to this thread
        /// first would keep the file locked while the scheduler gets round to it, which on a loaded machine is most of a
        /// turn. A waiter that gives up leaves the thread to take the lock when its turn comes and let it go at once
        /// (closing the file), so nothing stays locked for a writer who left, and nothing is written for it.
        /// </summary>
        private T WaitForTurnThenRun<T>(LockFile file, Func<T> operation)
        {
            var state = new WaitState<T>();
            var waiter = new Thread(() =>
            {
                try
                {
                    var answer = file.TryLock(wait: true);
                    lock (state)
                    {
                        if (state.Abandoned)
                        {
                            file.Dispose(); // releases the lock it may just have got
                            return;
                        }
                        state.Started = true;
                    }
                    // (Unsupported here would mean the file system stopped locking between two calls: SQLite's own
                    // locking still guards the write.)
                    state.Result = RunHolding(file, operation);
                }
                catch (Exception e)
                {
                    file.Dispose();
                    state.Failure = ExceptionDispatchInfo.Capture(e);
                }
                lock (state)
                {
                    state.Done = true;
                    Monitor.PulseAll(state);
                }
            }, 256 * 1024)
            { IsBackground = true, Name = "herd history write turn" };
            waiter.Start();

            var waited = Stopwatch.StartNew();
            lock (state)
            {
                while (!state.Done)
                {
                    if (state.Started)
                    {
                        Monitor.Wait(state); // the write runs; SQLite's busy timeout bounds it
                        continue;
                    }
                    var left = _timeout - waited.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        state.Abandoned = true;
                        file.Dispose(); // the waiter thread's own reference keeps the descriptor open until its lock call returns
                        throw new HistoryException(_databasePath,
                            $"waited more than {_timeout.TotalSeconds:0.#} s for its turn to write: another herd or PowerShell process held " +
                            $"the history's write lock ({Path}) all that time. Try again; if it keeps happening, look for a hung herd " +
                            "or PowerShell process (`fuser -v` on that file lists the processes that have it open).");
                    }
                    Monitor.Wait(state, left < MaxWait ? left : MaxWait);
                }
            }
            state.Failure?.Throw();
            return state.Result!;
        }

        private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

        private T RunInProcessGate<T>(Func<T> operation)
        {
            object gate;
            lock (ProcessGates)
                if (!ProcessGates.TryGetValue(Path, out gate!)) ProcessGates[Path] = gate = new object();
            if (!Monitor.TryEnter(gate, _timeout < MaxWait ? _timeout : MaxWait))
                throw new HistoryException(_databasePath, $"waited more than {_timeout.TotalSeconds:0.#} s for another thread of this process to finish writing.");
            try
            {
                return RunHolding(null, operation);
            }
            finally
            {
                Monitor.Exit(gate);
            }
        }

        private void Tell(string why)
        {
            lock (Told)
                if (!Told.Add(Path)) return;
            PrivateDirectory.Tell($"{Path}: {why}; writers in different processes take turns through SQLite's busy handling only (fair within this process).");
        }

        private sealed class WaitState<T>
        {
            public bool Started, Done, Abandoned;
            public T? Result;
            public ExceptionDispatchInfo? Failure;
        }

        private enum LockAnswer { Taken, Busy, Unsupported }

        /// <summary>The lock file, opened for one turn: its descriptor (or handle) carries the lock, and closing it releases it.</summary>
        private abstract class LockFile : IDisposable
        {
            /// <summary>Opens (creating if needed) the lock file; null where this system has no lock we can use.</summary>
            public static LockFile? Open(HistoryWriteLock owner)
            {
                if (PrivateDirectory.IsWindows) return WindowsLockFile.OpenOrCreate(owner);
                var flags = UnixLockFile.OpenFlags();
                if (flags == null)
                {
                    owner.Tell($"herd can't lock files on {RuntimeInformation.OSDescription}");
                    return null;
                }
                return UnixLockFile.Open(owner, flags.Value);
            }

            public abstract LockAnswer TryLock(bool wait);

            public abstract void Dispose();
        }

        private sealed class UnixLockFile : LockFile
        {
            private const int LockExclusive = 2, LockNonBlocking = 4;
            private static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
            private static readonly bool IsMacOS = RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
            private static readonly int EINTR = 4, ENOENT = 2;
            private static readonly int EWOULDBLOCK = IsMacOS ? 35 : 11;
            private static readonly int ELOOP = IsMacOS ? 62 : 40;
            private static readonly int[] NoLocks = IsMacOS ? new[] { 45, 77, 78 } : new[] { 95, 37, 38, 22 }; // EOPNOTSUPP, ENOLCK, ENOSYS (, EINVAL)

            private readonly HistoryWriteLock _owner;
            private readonly SafeFileHandle _handle;

            private UnixLockFile(HistoryWriteLock owner, SafeFileHandle handle)
            {
                _owner = owner;
                _handle = handle;
            }

            /// <summary>O_RDWR | O_NOFOLLOW | O_CLOEXEC on this system, or null where we don't know the values.</summary>
            public static int? OpenFlags()
            {
                const int ReadWrite = 2;
                if (IsMacOS) return ReadWrite | 0x100 | 0x1000000;
                if (!IsLinux) return null;
                var arch = RuntimeInformation.ProcessArchitecture;
                // O_NOFOLLOW is 0400000 on x86 and x64, 0100000 on ARM; O_CLOEXEC is 02000000 on both.
                int noFollow = arch == Architecture.X64 || arch == Architecture.X86 ? 0x20000
                    : arch == Architecture.Arm64 || arch == Architecture.Arm ? 0x8000 : -1;
                return noFollow < 0 ? (int?)null : ReadWrite | noFollow | 0x80000;
            }

            public static LockFile Open(HistoryWriteLock owner, int flags)
            {
                for (int attempt = 0; ; attempt++)
                {
                    // Opened without O_CREAT (open's mode is a variadic argument, which P/Invoke can't pass on every
                    // platform): a missing file is created first, 0600 from its first moment, by the helper the database uses.
                    int fd = open(owner.Path, flags);
                    if (fd >= 0)
                    {
                        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
                        try
                        {
                            Check(owner, handle);
                            return new UnixLockFile(owner, handle);
                        }
                        catch
                        {
                            handle.Dispose();
                            throw;
                        }
                    }
                    int errno = Marshal.GetLastWin32Error();
                    if (errno == EINTR) continue;
                    if (errno == ENOENT && attempt < 3)
                    {
                        Create(owner);
                        continue;
                    }
                    if (errno == ELOOP)
                        throw new HistoryException(owner._databasePath,
                            $"{System.IO.Path.GetFileName(owner.Path)} beside it is a symbolic link; HerdPS takes its write lock only on a regular file of yours. " +
                            "Remove the link (herd creates the file again), or choose another history file.");
                    throw new HistoryException(owner._databasePath, $"can't open the history's write lock {owner.Path}: {UnixFiles.ErrorText(errno)}.");
                }
            }

            private static void Create(HistoryWriteLock owner)
            {
                try
                {
                    using (UnixFiles.CreateNewFile(owner.Path, UnixFiles.OwnerOnlyFile, FileAccess.Write, 1)) { }
                }
                catch (IOException) when (UnixFiles.TryGetStatus(owner.Path, out _))
                {
                    // another writer created it first (or is holding it already): opened like any existing one
                }
                catch (IOException e)
                {
                    throw new HistoryException(owner._databasePath, $"can't create the history's write lock {owner.Path}: {e.Message}", e);
                }
            }

            /// <summary>A regular file of ours, and private: whoever else could open it could hold it and stall our writes.</summary>
            private static void Check(HistoryWriteLock owner, SafeFileHandle handle)
            {
                UnixFileStatus status;
                try { status = UnixFiles.GetStatus(handle); }
                catch (PlatformNotSupportedException) { return; } // as for the database: where owners can't be read, trust the private folder
                if (!status.IsRegularFile)
                    throw new HistoryException(owner._databasePath, $"{System.IO.Path.GetFileName(owner.Path)} beside it is not a regular file; remove it (herd creates it again).");
                var me = UnixFiles.EffectiveUserId;
                if (status.OwnerId != me)
                    throw new HistoryException(owner._databasePath,
                        $"{System.IO.Path.GetFileName(owner.Path)} beside it is owned by uid {status.OwnerId}, not by you (uid {me}); its owner could hold it " +
                        "and stop your runs from being recorded. Remove it (herd creates it again), or use your own history file.");
                // It holds no data, so a wider mode leaked nothing: narrow it without a word.
                if ((status.Permissions & 0x3F) != 0) UnixFiles.ChangeMode(handle, UnixFiles.OwnerOnlyFile);
            }

            public override LockAnswer TryLock(bool wait)
            {
                var added = false;
                try
                {
                    _handle.DangerousAddRef(ref added);
                    var fd = _handle.DangerousGetHandle().ToInt32();
                    while (true)
                    {
                        if (flock(fd, LockExclusive | (wait ? 0 : LockNonBlocking)) == 0) return LockAnswer.Taken;
                        int errno = Marshal.GetLastWin32Error();
                        if (errno == EINTR) continue;
                        if (errno == EWOULDBLOCK && !wait) return LockAnswer.Busy;
                        if (Array.IndexOf(NoLocks, errno) >= 0)
                        {
                            _owner.Tell($"this file system doesn't lock files ({UnixFiles.ErrorText(errno)})");
                            return LockAnswer.Unsupported;
                        }
                        throw new HistoryException(_owner._databasePath, $"can't lock {_owner.Path}: {UnixFiles.ErrorText(errno)}.");
                    }
                }
                finally
                {
                    if (added) _handle.DangerousRelease();
                }
            }

            public override void Dispose()
            {
                // Closing the descriptor releases the lock (the kernel does the same when a holder dies); no LOCK_UN first,
                // which would race a waiter thread that still uses the descriptor.
                _handle.Dispose();
            }

            [DllImport("libc", SetLastError = true)]
            private static extern int open(string path, int flags);

            [DllImport("libc", SetLastError = true)]
            private static extern int flock(int fd, int operation);
        }

        private sealed class WindowsLockFile : LockFile
        {
            private const int LockfileExclusiveLock = 2, LockfileFailImmediately = 1, ErrorLockViolation = 33, ErrorNotSupported = 50;

            private readonly HistoryWriteLock _owner;
            private readonly FileStream _stream;

            private WindowsLockFile(HistoryWriteLock owner, FileStream stream)
            {
                _owner = owner;
                _stream = stream;
            }

            public static LockFile OpenOrCreate(HistoryWriteLock owner)
            {
                try
                {
                    // %LOCALAPPDATA%'s ACL keeps it private; sharing everything, because the lock is LockFileEx's, not the share mode's.
                    return new WindowsLockFile(owner, new FileStream(owner.Path, FileMode.OpenOrCreate, FileAccess.ReadWrite,
                        FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None));
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw new HistoryException(owner._databasePath, $"can't open the history's write lock {owner.Path}: {e.Message}", e);
                }
            }

            public override LockAnswer TryLock(bool wait)
            {
                var overlapped = new NativeOverlapped();
                if (LockFileEx(_stream.SafeFileHandle, LockfileExclusiveLock | (wait ? 0 : LockfileFailImmediately), 0, 1, 0, ref overlapped))
                    return LockAnswer.Taken;
                int error = Marshal.GetLastWin32Error();
                if (error == ErrorLockViolation && !wait) return LockAnswer.Busy;
                if (error == ErrorNotSupported)
                {
                    _owner.Tell("this file system doesn't lock files");
                    return LockAnswer.Unsupported;
                }
                throw new HistoryException(_owner._databasePath, $"can't lock {_owner.Path}: {new System.ComponentModel.Win32Exception(error).Message}.");
            }

            public override void Dispose()
            {
                // Windows releases a closed handle's locks "at some point"; unlock first so the next writer gets in at once.
                var overlapped = new NativeOverlapped();
                try { UnlockFileEx(_stream.SafeFileHandle, 0, 1, 0, ref overlapped); }
                catch (ObjectDisposedException) { }
                _stream.Dispose();
            }

            [DllImport("kernel32.dll", SetLastError = true)]
            private static extern bool LockFileEx(SafeFileHandle file, int flags, int reserved, int lengthLow, int lengthHigh, ref NativeOverlapped overlapped);

            [DllImport("kernel32.dll", SetLastError = true)]
            private static extern bool UnlockFileEx(SafeFileHandle file, int reserved, int lengthLow, int lengthHigh, ref NativeOverlapped overlapped);
        }
    }
}
