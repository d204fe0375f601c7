using System;
using System.IO;
using HerdPS.Transport;

namespace HerdPS.History
{
    /// <summary>
    /// Keeps the history private to its owner, because run output often holds things other local users shouldn't
    /// read. The folder must be a real folder (not a symbolic link) of this user that nobody else can write in:
    /// whoever can write there could plant the database's -wal or -journal file first and read every run written
    /// through it. The file itself is created 0600 with O_EXCL; an existing one (and its -wal, -shm, -journal files)
    /// must be a regular file of ours, and one that group or others could read is narrowed to 0600, with a notice. The
    /// write lock beside it (<see cref="HistoryWriteLock"/>) is checked the same way here, and again each time it is opened.
    /// SQLite gives new -wal and -shm files the database file's mode, so they follow.
    /// On Windows the per-user %LOCALAPPDATA% ACL already does this.
    /// </summary>
    internal static class OwnerOnlyAccess
    {
        private static readonly string[] Companions = { "-wal", "-shm", "-journal", HistoryWriteLock.Suffix };

        /// <summary>
        /// Creates <paramref name="directory"/> (and missing parents) with mode 0700, or checks the existing one.
        /// </summary>
        /// <exception cref="HistoryException">The folder is a symbolic link, someone else's, or writable by others.</exception>
        public static void PrepareFolder(string databasePath, string directory)
        {
            if (PrivateDirectory.IsWindows)
            {
                Directory.CreateDirectory(directory);
                return;
            }
            string? problem;
            try
            {
                // Read and search bits for others are allowed: an existing folder the user chose (their home, say)
                // often has them, and every file herd puts there is 0600. Write bits never are.
                problem = PrivateDirectory.CreateOrCheck(Path.GetFullPath(directory), allowGroupOtherRead: true);
            }
            catch (PlatformNotSupportedException)
            {
                Directory.CreateDirectory(directory); // no way to read owners here: as before, create and trust
                return;
            }
            catch (IOException e)
            {
                throw new HistoryException(databasePath, $"can't create the history folder: {e.Message}", e);
            }
            if (problem == PrivateDirectory.NotAFolder)
                throw new HistoryException(databasePath, $"can't create the history database: {directory} {problem}.");
            if (problem != null)
                throw new HistoryException(databasePath,
                    $"its folder {directory} {problem}. HerdPS keeps the history only in a folder that is yours and that nobody else " +
                    "can write in (whoever can could plant files there that SQLite then writes your runs' output into). " +
                    $"Fix the folder (chmod 700 {directory}, as its owner), or choose another file with --history / -HistoryPath (or $HERD_HISTORY).");
        }

        /// <summary>
        /// Creates the database file empty with mode 0600 if none exists, so SQLite opens a file that was private
        /// from its first byte (an empty file is a valid empty database), and checks an existing one and its
        /// companions. Losing a creation race to another process is fine: its file is checked like any other.
        /// </summary>
        /// <exception cref="HistoryException">The file (or a companion) is a symbolic link, not a regular file, or someone else's.</exception>
        public static void PrepareFile(string path)
        {
            if (PrivateDirectory.IsWindows)
            {
                CreateWithoutModes(path);
                return;
            }
            try
            {
                if (!UnixFiles.TryGetStatus(path, out _))
                {
                    try
                    {
                        using (UnixFiles.CreateNewFile(path, UnixFiles.OwnerOnlyFile, FileAccess.Write, 1)) { }
                    }
                    catch (IOException) when (UnixFiles.TryGetStatus(path, out _))
                    {
                        // another process created it first: checked below like any existing file
                    }
                }
                Check(path, path);
                foreach (var suffix in Companions) Check(path, path + suffix);
            }
            catch (PlatformNotSupportedException)
            {
                CreateWithoutModes(path);
            }
            catch (IOException e)
            {
                throw new HistoryException(path, $"can't create or use the history database file: {e.Message}", e);
            }
        }

        private static void Check(string databasePath, string path)
        {
            if (!UnixFiles.TryGetStatus(path, out var status)) return; // a companion that isn't there
            var name = path == databasePath ? "it" : Path.GetFileName(path) + " beside it";
            if (status.IsSymbolicLink)
                throw new HistoryException(databasePath, $"{name} is a symbolic link; HerdPS writes the history only into a regular file of yours. Replace the link with the file itself, or choose another path.");
            if (!status.IsRegularFile)
                throw new HistoryException(databasePath, $"{name} is not a regular file.");
            var me = UnixFiles.EffectiveUserId;
            if (status.OwnerId != me)
                throw new HistoryException(databasePath,
                    $"{name} is owned by uid {status.OwnerId}, not by you (uid {me}); HerdPS won't record your runs' output in a file someone else " +
                    "owns (they could read it, and you can't make it private). Use your own history file (--history / -HistoryPath, or $HERD_HISTORY).");
            if ((status.Permissions & 0x3F) == 0) return;
            UnixFiles.ChangeMode(path, UnixFiles.OwnerOnlyFile);
            PrivateDirectory.Tell($"{path} had mode {UnixFiles.Octal(status.Permissions)} (group or others could read the recorded output); " +
                                  $"herd made it {UnixFiles.Octal(UnixFiles.OwnerOnlyFile)}. Whoever could read it before may have copied it.");
        }

        private static void CreateWithoutModes(string path)
        {
            if (File.Exists(path)) return;
            try
            {
                using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite)) { }
            }
            catch (IOException) when (File.Exists(path))
            {
                // another process created it first
            }
        }
    }
}
