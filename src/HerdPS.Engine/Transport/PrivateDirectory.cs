using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace HerdPS.Transport
{
    /// <summary>
    /// The folders herd keeps private things in (spilled output, control sockets, the history): folders only their
    /// owner can open. A folder that already exists is trusted only when lstat shows it is a real folder (not a
    /// symbolic link), owned by this user, with no permission bits for group or others: a folder another local user
    /// made first (say <c>/tmp/herd-root</c>, mode 0777) would let them watch and read what herd puts there, and
    /// chmod on a symbolic link would change a folder of their choosing. Nothing here ever chmods an existing
    /// folder. On Windows the per-user profile folders are private by their ACL and nothing is checked.
    /// </summary>
    public static class PrivateDirectory
    {
        public static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>
        /// Told when herd had to choose another private place than the usual one (a default folder failed the
        /// checks and a fresh one is used instead) or had to make one private (a history file others could read).
        /// The engine never writes to the console: a front end subscribes once and shows these as warnings.
        /// </summary>
        public static event Action<string>? Notice;

        internal static void Tell(string message)
        {
            try { Notice?.Invoke(message); }
            catch (Exception) { /* a front end's rendering problem must not stop the run */ }
        }

        /// <summary>
        /// A folder herd chooses by itself (e.g. <c>$TMPDIR/herd-&lt;user&gt;</c>): used as it is when it is private,
        /// created owner-only (with any missing parents) when missing, and otherwise left alone: a fresh folder
        /// with a random name (mkdtemp) is made next to <paramref name="freshPrefix"/> instead, and
        /// <paramref name="notice"/> says why.
        /// </summary>
        /// <param name="freshPrefix">Path prefix of the fresh folder; six random characters are appended.</param>
        /// <returns>The folder to use.</returns>
        public static string EnsureDefault(string path, string freshPrefix, out string? notice)
        {
            notice = null;
            var full = Path.GetFullPath(path);
            var problem = CreateOrCheckAnywhere(full);
            if (problem == null) return full;
            var fresh = UnixFiles.CreateUniqueDirectory(freshPrefix);
            notice = $"{full} {problem}, so herd did not use it and uses the new private folder {fresh} instead. " +
                     $"If you did not make {full} yourself, another user may have; remove it (as root if needed) to get the usual folder back.";
            return fresh;
        }

        /// <summary>
        /// A folder the user configured (<c>$HERD_SPILL_DIR</c>, <c>$HERD_CONTROL_DIR</c>): created owner-only when
        /// missing; when it exists and is not private, refused with a <see cref="PrivateDirectoryException"/> naming
        /// it and what is wrong. Never silently used, never silently changed.
        /// </summary>
        /// <param name="source">Where the folder came from, for the message ("$HERD_SPILL_DIR").</param>
        /// <param name="purpose">What herd keeps there, for the message ("large command output").</param>
        public static string EnsureConfigured(string path, string source, string purpose)
        {
            var full = Path.GetFullPath(path);
            var problem = CreateOrCheckAnywhere(full);
            if (problem != null)
                throw new PrivateDirectoryException(full,
                    $"{source} names {full}, which {problem}; herd keeps {purpose} only in a folder nobody else can open. " +
                    $"Point {source} at a folder of yours with mode 0700 (mkdir -m 700 DIR), or unset it.");
            return full;
        }

        /// <summary>
        /// <see cref="CreateOrCheck"/> on Unix; on Windows only creates. A system where owners can't be read here
        /// counts as not private: the caller makes a fresh folder or refuses.
        /// </summary>
        private static string? CreateOrCheckAnywhere(string full)
        {
            if (IsWindows)
            {
                Directory.CreateDirectory(full);
                return null;
            }
            try
            {
                return CreateOrCheck(full);
            }
            catch (PlatformNotSupportedException e)
            {
                return $"can't be checked for who owns it on this system ({e.Message})";
            }
        }

        /// <summary>
        /// Why an existing folder is not private (it "is a symbolic link", "is owned by uid 1001, not by you (uid
        /// 0)", "has mode 0777: group and others can open it"), or null when it is. Null also when nothing is there.
        /// </summary>
        /// <param name="allowGroupOtherRead">Accept read and search bits for group and others (never write bits).</param>
        internal static string? Problem(string path, bool allowGroupOtherRead = false)
        {
            if (!UnixFiles.TryGetStatus(path, out var status)) return null;
            return Problem(path, status, allowGroupOtherRead);
        }

        private static string? Problem(string path, UnixFileStatus status, bool allowGroupOtherRead)
        {
            if (status.IsSymbolicLink) return "is a symbolic link" + LinkTarget(path);
            if (!status.IsDirectory) return NotAFolder;
            var problems = new List<string>();
            var me = UnixFiles.EffectiveUserId;
            if (status.OwnerId != me) problems.Add($"is owned by uid {status.OwnerId}, not by you (uid {me})");
            var open = status.Permissions & (allowGroupOtherRead ? 0x12 : 0x3F); // 0022 or 0077
            if (open != 0)
                problems.Add($"has mode {UnixFiles.Octal(status.Permissions)}: " + ((open & 0x12) != 0 ? "group or others can write in it" : "group or others can open it"));
            if ((status.Permissions & OwnerRwx) != OwnerRwx) problems.Add($"has mode {UnixFiles.Octal(status.Permissions)}: you can't use it");
            return problems.Count == 0 ? null : string.Join(" and ", problems.ToArray());
        }

        private const int OwnerRwx = 0x1C0;
        internal const string NotAFolder = "is not a folder";

        /// <summary>
        /// Creates <paramref name="full"/> (mode 0700, like any missing parent) if nothing is there, and returns
        /// why it is not private, or null. A folder this creates is checked like one it found.
        /// </summary>
        internal static string? CreateOrCheck(string full, bool allowGroupOtherRead = false)
        {
            if (UnixFiles.TryGetStatus(full, out var status)) return Problem(full, status, allowGroupOtherRead);
            CreateMissing(full);
            if (!UnixFiles.TryGetStatus(full, out status)) return "vanished right after it was created";
            // A umask without the owner's bits (rare) leaves a folder we can't use: it is ours and new, so fix it.
            if (status.OwnerId == UnixFiles.EffectiveUserId && status.IsDirectory && !status.IsSymbolicLink && (status.Permissions & OwnerRwx) != OwnerRwx)
            {
                UnixFiles.ChangeMode(full, UnixFiles.OwnerOnlyFolder);
                UnixFiles.TryGetStatus(full, out status);
            }
            return Problem(full, status, allowGroupOtherRead);
        }

        /// <summary>Creates a folder and its missing parents with mode 0700 (mkdir with the mode: never more open, even briefly).</summary>
        private static void CreateMissing(string full)
        {
            var missing = new Stack<string>();
            for (var p = full; !string.IsNullOrEmpty(p) && !UnixFiles.TryGetStatus(p, out _); p = Path.GetDirectoryName(p)!)
                missing.Push(p);
            while (missing.Count > 0)
                UnixFiles.TryCreateDirectory(missing.Pop(), UnixFiles.OwnerOnlyFolder); // false: someone made it meanwhile; checked after
        }

        private static string LinkTarget(string path)
        {
            // FileSystemInfo.LinkTarget is .NET 6+; the message is only better with it.
            try
            {
                var target = typeof(FileSystemInfo).GetProperty("LinkTarget")?.GetValue(new DirectoryInfo(path)) as string;
                return target == null ? "" : $" (to {target})";
            }
            catch (Exception)
            {
                return "";
            }
        }
    }

    /// <summary>A folder the user configured for private use is not private; the message names it and what is wrong.</summary>
    public sealed class PrivateDirectoryException : IOException
    {
        public PrivateDirectoryException(string path, string message) : base(message)
        {
            Path = path;
        }

        /// <summary>The folder refused.</summary>
        public string Path { get; }
    }
}
