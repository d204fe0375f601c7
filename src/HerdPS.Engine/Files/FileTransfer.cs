using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Transport;

namespace HerdPS.Files
{

    public sealed class FilePushOptions
    {
        /// <summary>Replace a remote file that exists (the cmdlet's -Force; it must confirm through ShouldProcess).</summary>
        public bool Force { get; set; }
        /// <summary>Octal mode for the remote file ("0644"); null keeps an existing file's mode, a new file gets the umask's default.</summary>
        public string? Mode { get; set; }
    }

    public sealed class FilePullOptions
    {
        /// <summary>Replace a local copy already at &lt;dir&gt;/&lt;host&gt;/&lt;name&gt;.</summary>
        public bool Force { get; set; }
    }

    /// <summary>
    /// <c>herd push</c> / <c>herd pull</c> (<c>Send-FleetFile</c> / <c>Receive-FleetFile</c>): files streamed through
    /// the same pooled ssh sessions as every command, in parallel under the throttle.
    ///
    /// Why not scp or sftp through the master: a transfer through the session itself needs no second tool on either
    /// side, shares the runner's throttle, timeout, retries and error classification unchanged, and lets the remote
    /// script do what scp can't: write to a temporary name, check the SHA-256 of what arrived against the one we
    /// sent, and only then rename (scp writes the final name as it goes, so a cut transfer leaves half a file).
    /// </summary>
    public static class FileTransfer
    {
        /// <summary><see cref="PushAsync"/> for a caller that reads on one thread (the cmdlets); see <see cref="BlockingReader{T}"/>.</summary>
        public static BlockingReader<FileTransferResult> Push(FleetTarget target, FleetCommandRequest request, string localPath, string remotePath,
            FilePushOptions options, Action<FleetProgress>? progress, CancellationToken cancellationToken) =>
            BlockingReader.Of(PushAsync(target, request, localPath, remotePath, options, progress, cancellationToken), cancellationToken);

        /// <summary><see cref="PullAsync"/> for a caller that reads on one thread (the cmdlets); see <see cref="BlockingReader{T}"/>.</summary>
        public static BlockingReader<FileTransferResult> Pull(FleetTarget target, FleetCommandRequest request, string remotePath, string localDirectory,
            FilePullOptions options, Action<FleetProgress>? progress, CancellationToken cancellationToken) =>
            BlockingReader.Of(PullAsync(target, request, remotePath, localDirectory, options, progress, cancellationToken), cancellationToken);

        /// <summary>Copies <paramref name="localPath"/> to <paramref name="remotePath"/> on every host; results stream as hosts finish.</summary>
        /// <exception cref="FileNotFoundException">The local file doesn't exist (nothing ran).</exception>
        public static async IAsyncEnumerable<FileTransferResult> PushAsync(FleetTarget target, FleetCommandRequest request, string localPath, string remotePath,
            FilePushOptions options, Action<FleetProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            options ??= new FilePushOptions();
            var fullLocal = Path.GetFullPath(localPath);
            if (Directory.Exists(fullLocal)) throw new ArgumentException($"{localPath} is a directory; push sends one file");
            if (!File.Exists(fullLocal)) throw new FileNotFoundException($"{localPath} does not exist", fullLocal);
            var length = new FileInfo(fullLocal).Length;
            var sha = Sha256OfFile(fullLocal);
            var command = RemoteFileScripts.WriteCommand(remotePath, sha, options.Force, options.Mode, Path.GetFileName(fullLocal));
            // Raw: the wrapper gives commands /dev/null as stdin. Without it a lost connection doesn't end the remote
            // side at once, but stdin then ends early and the checksum check discards the partial copy.
            using var run = FleetEngine.Start(target, command, request, progress, cancellationToken, raw: true,
                prepare: (host, invocation) =>
                {
                    invocation.OutputLimit = 64 * 1024;
                    invocation.StdinSource = () => new FileStream(fullLocal, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
                });
            await foreach (var r in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                var result = Start(r, FileTransferDirection.Push, fullLocal, remotePath);
                if (Finish(result, r))
                {
                    result.Bytes = length;
                    result.Sha256 = sha;
                    result.Verified = RemoteFileScripts.ReportedSha256(r.StdErr) == sha;
                    if (!result.Verified) { result.Status = FileTransferStatus.ChecksumMismatch; result.ErrorMessage = "the remote side did not confirm the checksum"; }
                }
                yield return result;
            }
        }

        /// <summary>Copies <paramref name="remotePath"/> from every host to &lt;localDirectory&gt;/&lt;host&gt;/&lt;file name&gt;.</summary>
        public static async IAsyncEnumerable<FileTransferResult> PullAsync(FleetTarget target, FleetCommandRequest request, string remotePath, string localDirectory,
            FilePullOptions options, Action<FleetProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            options ??= new FilePullOptions();
            LocalCopy.RemoteBaseName(remotePath);
            var root = Path.GetFullPath(localDirectory);
            // Hosts whose copies would land on one local path are refused before anything is read, each naming the
            // others; a local copy that exists is skipped (unless forced).
            var collisions = LocalCopy.Collisions(root, target.Hosts.Select(h => h.Name), remotePath);
            var toRun = new List<Inventory.FleetHost>();
            foreach (var host in target.Hosts)
            {
                var local = LocalCopy.PathFor(root, host.Name, remotePath);
                if (collisions.TryGetValue(host.Name, out var collision))
                    yield return new FileTransferResult
                    {
                        HostName = host.Name, Direction = FileTransferDirection.Pull, LocalPath = local, RemotePath = remotePath,
                        Status = FileTransferStatus.Failed, ErrorMessage = collision,
                        Groups = host.Groups.ToArray(), Tags = host.Tags.ToArray(),
                    };
                else if (!options.Force && File.Exists(local))
                    yield return new FileTransferResult
                    {
                        HostName = host.Name, Direction = FileTransferDirection.Pull, LocalPath = local, RemotePath = remotePath,
                        Status = FileTransferStatus.Exists, ErrorMessage = $"{local} exists (use force to replace it)",
                        Groups = host.Groups.ToArray(), Tags = host.Tags.ToArray(),
                    };
                else toRun.Add(host);
            }
            if (toRun.Count == 0) yield break;
            var saveOptions = new FileDriftOptions { MaxFileBytes = 0, SaveDirectory = root, Overwrite = options.Force };
            var reads = new ConcurrentDictionary<string, FileDrift.HostRead>(StringComparer.Ordinal);
            var command = RemoteFileScripts.ReadCommand(remotePath, reportSha256: true);
            using var run = FleetEngine.Start(new FleetTarget(target.Inventory, toRun, target.Notice), command, request, progress, cancellationToken, raw: false,
                prepare: (host, invocation) =>
                {
                    var read = reads.GetOrAdd(host.Name, _ => new FileDrift.HostRead(saveOptions, host.Name, remotePath));
                    invocation.OutputLimit = 64 * 1024;
                    invocation.OnStdOut = read.Append;
                });
            try
            {
                await foreach (var r in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    var result = Start(r, FileTransferDirection.Pull, LocalCopy.PathFor(root, r.HostName, remotePath), remotePath);
                    if (Finish(result, r) && reads.TryGetValue(r.HostName, out var read))
                    {
                        result.Bytes = read.Length;
                        result.Sha256 = read.Sha256();
                        var remoteSha = RemoteFileScripts.ReportedSha256(r.StdErr);
                        result.Verified = remoteSha == result.Sha256;
                        if (remoteSha != null && !result.Verified)
                        {
                            result.Status = FileTransferStatus.ChecksumMismatch;
                            result.ErrorMessage = "the file changed while it was read (remote sha256 differs from the bytes received); no copy kept";
                        }
                        else
                        {
                            var error = read.Save(options.Force, RemoteFileScripts.ReportedMode(r.StdErr));
                            if (error != null) { result.Status = FileTransferStatus.Failed; result.ErrorMessage = "could not write the local copy: " + error; }
                            else if (remoteSha == null) result.ErrorMessage = "copied, but the host has no sha256sum or shasum to verify with";
                        }
                    }
                    yield return result;
                }
            }
            finally
            {
                foreach (var r in reads.Values) r.Dispose(); // removes temporary files of hosts that failed
            }
        }

        private static FileTransferResult Start(FleetResult r, FileTransferDirection direction, string local, string remote) => new FileTransferResult
        {
            HostName = r.HostName,
            Direction = direction,
            LocalPath = local,
            RemotePath = remote,
            Duration = r.Duration,
            ErrorKind = r.ErrorKind,
            Groups = r.Groups,
            Tags = r.Tags,
        };

        /// <summary>Sets the status from the run; true when the remote script succeeded and the caller completes the result.</summary>
        private static bool Finish(FileTransferResult result, FleetResult r)
        {
            switch (r.Status)
            {
                case FleetStatus.Unreachable: result.Status = FileTransferStatus.Unreachable; result.ErrorMessage = r.ErrorMessage; return false;
                case FleetStatus.TimedOut: result.Status = FileTransferStatus.TimedOut; result.ErrorMessage = r.ErrorMessage; return false;
                case FleetStatus.Cancelled: result.Status = FileTransferStatus.Cancelled; result.ErrorMessage = r.ErrorMessage; return false;
            }
            if (r.ExitCode == 0) { result.Status = FileTransferStatus.Transferred; return true; }
            var message = RemoteFileScripts.Message(r.StdErr);
            result.Status = r.ExitCode switch
            {
                RemoteFileScripts.ExitMissing => FileTransferStatus.Missing,
                RemoteFileScripts.ExitIsDirectory => FileTransferStatus.IsDirectory,
                RemoteFileScripts.ExitPermissionDenied => FileTransferStatus.PermissionDenied,
                RemoteFileScripts.ExitNotRegularFile => FileTransferStatus.NotRegularFile,
                RemoteFileScripts.ExitExists => FileTransferStatus.Exists,
                RemoteFileScripts.ExitNotWritable => FileTransferStatus.NotWritable,
                RemoteFileScripts.ExitNoDirectory => FileTransferStatus.NoSuchDirectory,
                RemoteFileScripts.ExitChecksumMismatch => FileTransferStatus.ChecksumMismatch,
                _ => FileTransferStatus.Failed,
            };
            if (result.Status == FileTransferStatus.Failed) message = $"exit {r.ExitCode}" + (message.Length > 0 ? ": " + message : "");
            result.ErrorMessage = message.Length > 0 ? message : result.Status.ToString();
            return false;
        }

        /// <summary>
        /// Checks a push before anything runs or anyone is asked to confirm it: the local file exists and is a file,
        /// the remote path is usable, the mode is octal. Returns the normalized mode ("0644") or null.
        /// </summary>
        /// <exception cref="FileNotFoundException">The local file doesn't exist.</exception>
        /// <exception cref="ArgumentException">The local path is a directory, the remote path is empty or holds NUL, the mode isn't octal.</exception>
        public static string? ValidatePush(string localPath, string remotePath, string? mode)
        {
            if (string.IsNullOrEmpty(localPath)) throw new ArgumentException("the local file is empty", nameof(localPath));
            if (Directory.Exists(localPath)) throw new ArgumentException($"{localPath} is a directory; push sends one file", nameof(localPath));
            if (!File.Exists(localPath)) throw new FileNotFoundException($"{localPath} does not exist", localPath);
            RemoteFileScripts.ValidateRemotePath(remotePath);
            return RemoteFileScripts.NormalizeMode(mode);
        }

        /// <summary>What a push will do, as -WhatIf and -Confirm word it.</summary>
        public static string DescribePush(string localPath, string remotePath, FilePushOptions options)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var what = $"Copy '{localPath}' to '{remotePath}'";
            if (options.Mode != null) what += $" with mode {options.Mode}";
            return what + (options.Force ? ", replacing the file where it exists" : " where no such file exists");
        }

        /// <summary>What a pull will do, as -WhatIf and -Confirm word it.</summary>
        public static string DescribePull(string remotePath, string localDirectory, FilePullOptions options)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var where = Path.Combine(localDirectory, "<host>", LocalCopy.SafeName(LocalCopy.RemoteBaseName(remotePath)));
            return $"Copy '{remotePath}' to '{where}'" + (options.Force ? ", replacing local copies that exist" : "");
        }

        /// <summary>Lowercase hex SHA-256 of a local file, read as a stream.</summary>
        public static string Sha256OfFile(string path)
        {
            using var sha = SHA256.Create();
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
            return OutputCapture.ToHex(sha.ComputeHash(stream));
        }
    }
}
