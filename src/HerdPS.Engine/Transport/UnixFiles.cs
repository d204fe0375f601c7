using System;
using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HerdPS.Transport
{
    /// <summary>What lstat/fstat says about a file: its type, permission bits and owner.</summary>
    internal readonly struct UnixFileStatus
    {
        private const int TypeMask = 0xF000, Directory = 0x4000, Regular = 0x8000, SymbolicLink = 0xA000;

        public UnixFileStatus(int mode, uint ownerId)
        {
            Mode = mode;
            OwnerId = ownerId;
        }

        /// <summary>st_mode: the type bits and the permission bits.</summary>
        public int Mode { get; }
        public uint OwnerId { get; }
        /// <summary>The permission bits only (0777 and the setuid, setgid and sticky bits).</summary>
        public int Permissions => Mode & 0xFFF;
        public bool IsDirectory => (Mode & TypeMask) == Directory;
        public bool IsRegularFile => (Mode & TypeMask) == Regular;
        public bool IsSymbolicLink => (Mode & TypeMask) == SymbolicLink;
    }

    /// <summary>
    /// The few POSIX calls .NET can't express from netstandard2.0: lstat/fstat with the owner, mkdir/mkdtemp with
    /// a mode, chmod/fchmod, geteuid and the umask, called in libc directly. A file with a mode from birth
    /// (O_CREAT|O_EXCL with 0600) uses .NET's own <c>FileStreamOptions.UnixCreateMode</c> (.NET 7+, i.e. every
    /// PowerShell 7.4+ and the herd CLI), found by reflection.
    /// <para>
    /// struct stat differs between systems and architectures, so status comes from statx(2) on Linux, whose
    /// layout is the same on every architecture (glibc 2.28+, musl 1.2.5+), and from the 64-bit-inode stat on
    /// macOS. Elsewhere (or where statx is missing) <see cref="TryGetStatus(string, out UnixFileStatus)"/> says it
    /// can't tell, and callers treat a place they can't check as not private.
    /// </para>
    /// Not used on Windows, where per-user profile folders are private by their ACL.
    /// </summary>
    internal static class UnixFiles
    {
        public const int OwnerOnlyFolder = 0x1C0; // 0700
        public const int OwnerOnlyFile = 0x180;   // 0600

        private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
        private const uint StatxBasicStats = 0x7FF;
        private const int ENOENT = 2, EEXIST = 17;

        private static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
        private static readonly bool IsMacOS = RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
        private static readonly bool MacX64 = IsMacOS && RuntimeInformation.ProcessArchitecture == Architecture.X64;

        /// <summary>The effective user id: the owner every file and folder we create gets.</summary>
        public static uint EffectiveUserId => geteuid();

        /// <summary>
        /// lstat: the status of <paramref name="path"/> itself (a symbolic link is reported as one, never
        /// followed). False with errno ENOENT when nothing is there; throws <see cref="PlatformNotSupportedException"/>
        /// where the status can't be read on this system.
        /// </summary>
        public static bool TryGetStatus(string path, out UnixFileStatus status)
        {
            var buffer = new byte[256];
            int rc;
            if (IsLinux) rc = Statx(AtFdCwd, path, AtSymlinkNoFollow, buffer);
            else if (IsMacOS) rc = MacX64 ? lstat_x64(path, buffer) : lstat(path, buffer);
            else throw new PlatformNotSupportedException("reading a file's owner is supported on Linux and macOS only");
            if (rc != 0)
            {
                var errno = Marshal.GetLastWin32Error();
                if (errno == ENOENT) { status = default; return false; }
                throw Failure($"can't read the status of '{path}'", errno);
            }
            status = Parse(buffer);
            return true;
        }

        /// <summary>fstat: the status of an open file.</summary>
        public static UnixFileStatus GetStatus(SafeFileHandle handle)
        {
            var buffer = new byte[256];
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                var fd = handle.DangerousGetHandle().ToInt32();
                int rc;
                if (IsLinux) rc = Statx(fd, "", AtEmptyPath, buffer);
                else if (IsMacOS) rc = MacX64 ? fstat_x64(fd, buffer) : fstat(fd, buffer);
                else throw new PlatformNotSupportedException("reading a file's owner is supported on Linux and macOS only");
                if (rc != 0) throw Failure("can't read the status of an open file", Marshal.GetLastWin32Error());
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
            return Parse(buffer);
        }

        private static int Statx(int dirFd, string path, int flags, byte[] buffer)
        {
            try { return statx(dirFd, path, flags, StatxBasicStats, buffer); }
            catch (EntryPointNotFoundException e)
            {
                throw new PlatformNotSupportedException("this C library has no statx (glibc 2.28+ has it), so herd can't check who owns a file", e);
            }
        }

        // statx: mode (u16) at 28, uid (u32) at 20. macOS 64-bit-inode stat: mode (u16) at 4, uid (u32) at 16.
        private static UnixFileStatus Parse(byte[] buffer) => IsLinux
            ? new UnixFileStatus(BitConverter.ToUInt16(buffer, 28), BitConverter.ToUInt32(buffer, 20))
            : new UnixFileStatus(BitConverter.ToUInt16(buffer, 4), BitConverter.ToUInt32(buffer, 16));

        /// <summary>mkdir(2) with a mode: the folder is never, even for a moment, more open than <paramref name="mode"/>.</summary>
        /// <returns>False if something already exists at <paramref name="path"/>.</returns>
        public static bool TryCreateDirectory(string path, int mode)
        {
            if (mkdir(path, (uint)mode) == 0) return true;
            var errno = Marshal.GetLastWin32Error();
            if (errno == EEXIST) return false;
            throw Failure($"can't create the folder '{path}'", errno);
        }

        /// <summary>mkdtemp(3): a new folder, mode 0700, named <paramref name="prefix"/> plus six random characters.</summary>
        public static string CreateUniqueDirectory(string prefix)
        {
            var template = Encoding.UTF8.GetBytes(prefix + "XXXXXX\0");
            if (mkdtemp(template) == IntPtr.Zero)
                throw Failure($"can't create a private folder named '{prefix}XXXXXX'", Marshal.GetLastWin32Error());
            return Encoding.UTF8.GetString(template, 0, template.Length - 1);
        }

        public static void ChangeMode(string path, int mode)
        {
            if (chmod(path, (uint)mode) != 0) throw Failure($"can't change the mode of '{path}' to {Octal(mode)}", Marshal.GetLastWin32Error());
        }

        public static void ChangeMode(SafeFileHandle handle, int mode)
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (fchmod(handle.DangerousGetHandle().ToInt32(), (uint)mode) != 0)
                    throw Failure($"can't change a file's mode to {Octal(mode)}", Marshal.GetLastWin32Error());
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }

        /// <summary>
        /// The process's umask. Linux shows it in /proc/self/status; elsewhere it can only be read by setting it,
        /// so it is set to 077 for that instant (a file another thread creates meanwhile is only more private).
        /// </summary>
        public static int Umask()
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("Umask:", StringComparison.Ordinal))
                        return Convert.ToInt32(line.Substring(6).Trim(), 8);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            var old = umask(0x3F);
            umask(old);
            return (int)old;
        }

        // FileStreamOptions and its UnixCreateMode (.NET 7+), looked up once; null on older runtimes. The DynamicDependency
        // attributes on CreateNewFile keep them in the native herd, which compiles in only what it sees used.
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Kept by CreateNewFile's DynamicDependency attributes.")]
        private static class WithOptions
        {
            public static readonly Type? FileStreamOptionsType = typeof(FileStream).Assembly.GetType("System.IO.FileStreamOptions");
            public static readonly Type? UnixFileModeType = typeof(FileStream).Assembly.GetType("System.IO.UnixFileMode");
            public static readonly ConstructorInfo? FileStreamWithOptions = FileStreamOptionsType == null ? null
                : typeof(FileStream).GetConstructors().FirstOrDefault(c => c.GetParameters() is { Length: 2 } p && p[0].ParameterType == typeof(string) && p[1].ParameterType == FileStreamOptionsType);
        }

        /// <summary>
        /// Creates a new file (O_CREAT|O_EXCL: fails if anything, a symbolic link included, is at the name) whose
        /// permission bits are <paramref name="mode"/> masked by the umask from the moment it exists, then checks
        /// through the open handle that it is a regular file this user owns.
        /// </summary>
        [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors | System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties,
            "System.IO.FileStreamOptions", "System.Private.CoreLib")]
        [System.Diagnostics.CodeAnalysis.DynamicDependency("#ctor(System.String,System.IO.FileStreamOptions)", "System.IO.FileStream", "System.Private.CoreLib")]
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2077", Justification = "FileStreamOptions' constructor and properties are kept by the DynamicDependency above.")]
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2080", Justification = "FileStreamOptions' constructor and properties are kept by the DynamicDependency above.")]
        public static FileStream CreateNewFile(string path, int mode, FileAccess access, int bufferSize)
        {
            FileStream stream;
            var optionsType = WithOptions.FileStreamOptionsType;
            var modeType = WithOptions.UnixFileModeType;
            var constructor = WithOptions.FileStreamWithOptions;
            if (constructor != null && modeType != null)
            {
                var options = Activator.CreateInstance(optionsType!)!;
                void Set(string name, object value) => optionsType!.GetProperty(name)!.SetValue(options, value);
                Set("Mode", FileMode.CreateNew);
                Set("Access", access);
                Set("Share", FileShare.None);
                Set("BufferSize", bufferSize);
                Set("UnixCreateMode", Enum.ToObject(modeType, mode));
                try { stream = (FileStream)constructor.Invoke(new object[] { path, options }); }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
            }
            else
            {
                // A runtime before .NET 7: create, then narrow at once through the handle (never wider than 0600 after).
                stream = new FileStream(path, FileMode.CreateNew, access, FileShare.None, bufferSize);
                try { ChangeMode(stream.SafeFileHandle, mode & OwnerOnlyFile); }
                catch { stream.Dispose(); throw; }
            }
            try
            {
                var status = GetStatus(stream.SafeFileHandle);
                if (!status.IsRegularFile || status.OwnerId != EffectiveUserId)
                    throw new IOException($"'{path}' is not a regular file of ours after creating it (owner uid {status.OwnerId}); refusing to write to it");
            }
            catch
            {
                stream.Dispose();
                throw;
            }
            return stream;
        }

        public static string Octal(int mode) => "0" + Convert.ToString(mode & 0xFFF, 8).PadLeft(3, '0');

        /// <summary>The system's text for an errno value ("No space left on device").</summary>
        public static string ErrorText(int errno) => new Win32Exception(errno).Message;

        private static IOException Failure(string what, int errno) => new IOException($"{what}: {ErrorText(errno)}");

        [DllImport("libc", SetLastError = true)]
        private static extern int statx(int dirfd, string pathname, int flags, uint mask, byte[] buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern int lstat(string path, byte[] buffer);

        [DllImport("libc", EntryPoint = "lstat$INODE64", SetLastError = true)]
        private static extern int lstat_x64(string path, byte[] buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern int fstat(int fd, byte[] buffer);

        [DllImport("libc", EntryPoint = "fstat$INODE64", SetLastError = true)]
        private static extern int fstat_x64(int fd, byte[] buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern int mkdir(string path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr mkdtemp(byte[] template);

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(string path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int fchmod(int fd, uint mode);

        [DllImport("libc")]
        private static extern uint geteuid();

        [DllImport("libc")]
        private static extern uint umask(uint mask);

        // ----- Unix sockets -----

        /// <summary>
        /// The user id of the process at the other end of a connected Unix socket, as the kernel recorded it when the
        /// connection was made (Linux: getsockopt SO_PEERCRED; macOS and the BSDs: getpeereid). A server checks it
        /// before serving anyone: a folder's mode keeps others away only as long as nobody loosens it.
        /// </summary>
        /// <exception cref="PlatformNotSupportedException">The peer can't be read on this system.</exception>
        public static uint PeerUserId(System.Net.Sockets.Socket socket)
        {
            var fd = (int)socket.Handle;
            if (IsLinux)
            {
                var ucred = new byte[12];   // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
                var length = (uint)ucred.Length;
                if (getsockopt(fd, SolSocket, SoPeerCred, ucred, ref length) != 0 || length < 8)
                    throw new PlatformNotSupportedException("getsockopt(SO_PEERCRED) failed: " + ErrorText(Marshal.GetLastWin32Error()));
                return BitConverter.ToUInt32(ucred, 4);
            }
            if (IsMacOS || RuntimeInformation.OSDescription.IndexOf("BSD", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                if (getpeereid(fd, out var uid, out _) != 0)
                    throw new PlatformNotSupportedException("getpeereid failed: " + ErrorText(Marshal.GetLastWin32Error()));
                return uid;
            }
            throw new PlatformNotSupportedException("the user at the other end of a Unix socket can't be read on " + RuntimeInformation.OSDescription);
        }

        private const int SolSocket = 1;
        private const int SoPeerCred = 17;

        /// <summary>
        /// A Unix socket endpoint for <paramref name="path"/> (System.Net.Sockets.UnixDomainSocketEndPoint, which
        /// netstandard2.0 does not name), or null where the runtime has none (.NET Framework).
        /// </summary>
        public static System.Net.EndPoint? UnixSocketEndPoint(string path)
        {
            var type = Type.GetType("System.Net.Sockets.UnixDomainSocketEndPoint, System.Net.Sockets", throwOnError: false);
            return type == null ? null : (System.Net.EndPoint?)Activator.CreateInstance(type, path);
        }

        /// <summary>Points stdin, stdout and stderr at /dev/null (a background process that must not hold a caller's pipes open).</summary>
        public static void DetachStandardStreams()
        {
            var fd = open("/dev/null", 2 /* O_RDWR */);
            if (fd < 0) return;
            for (var i = 0; i <= 2; i++) dup2(fd, i);
            if (fd > 2) close(fd);
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int getsockopt(int sockfd, int level, int optname, byte[] optval, ref uint optlen);

        [DllImport("libc", SetLastError = true)]
        private static extern int getpeereid(int fd, out uint euid, out uint egid);

        [DllImport("libc", SetLastError = true)]
        private static extern int open(string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int dup2(int oldfd, int newfd);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);
    }
}
