using System;
using HerdPS.Files;

namespace HerdPS.Execution
{
    /// <summary>
    /// A host's file read, transfer or snapshot that did not succeed. Carries the result object the cmdlet also
    /// wrote (a <see cref="RemoteFileResult"/>, <see cref="FileTransferResult"/> or <see cref="HostSnapshot"/>), so
    /// an error handler can read it from <c>$_.Exception.Result</c>.
    /// </summary>
    public sealed class FleetHostResultException : Exception
    {
        public FleetHostResultException(string hostName, string message, object result)
            : base($"{hostName}: {message}")
        {
            HostName = hostName;
            Result = result;
        }

        public string HostName { get; }
        public object Result { get; }
    }

    /// <summary>
    /// Per-host errors of Compare-FleetFile, Send-FleetFile, Receive-FleetFile and Get-FleetSnapshot. A host that
    /// couldn't be reached gets the same id as for Invoke-FleetCommand (ConnectionRefused, HostKeyMismatch, ...);
    /// a file problem gets an id of its own, so "missing" is never confused with "denied" or "unreachable".
    /// Drift itself (a copy that differs) is a result, never an error.
    /// </summary>
    public static partial class FleetErrorRecords
    {
        public const string FileMissing = "FileMissing";
        public const string FileIsDirectory = "FileIsDirectory";
        public const string FilePermissionDenied = "FilePermissionDenied";
        public const string FileNotRegular = "FileNotRegular";
        public const string FileReadFailed = "FileReadFailed";
        public const string DestinationExists = "DestinationExists";
        public const string RemoteDirectoryMissing = "RemoteDirectoryMissing";
        public const string DestinationNotWritable = "DestinationNotWritable";
        public const string ChecksumMismatch = "ChecksumMismatch";
        public const string TransferFailed = "TransferFailed";
        public const string SnapshotFailed = "SnapshotFailed";
        public const string SnapshotNotFound = "SnapshotNotFound";
        public const string LocalFileNotFound = "LocalFileNotFound";

        /// <summary>The error for one host's read of a compared file, or null when it was read (Ok, or TooLarge: hashed in full).</summary>
        public static FleetErrorInfo? ForFile(RemoteFileResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            switch (result.Status)
            {
                case RemoteFileStatus.Ok:
                case RemoteFileStatus.TooLarge:
                    return null;
                case RemoteFileStatus.Missing:
                    return Missing(result.HostName, result.ErrorMessage, result);
                case RemoteFileStatus.IsDirectory:
                    return Make(result.HostName, result.ErrorMessage, result, FileIsDirectory, "InvalidType", "Name a file, not a directory.");
                case RemoteFileStatus.PermissionDenied:
                    return ReadDenied(result.HostName, result.ErrorMessage, result);
                case RemoteFileStatus.NotRegularFile:
                    return NotRegular(result.HostName, result.ErrorMessage, result);
                case RemoteFileStatus.Failed:
                    return Make(result.HostName, result.ErrorMessage, result, FileReadFailed, "ReadError", null);
                case RemoteFileStatus.Unreachable:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.Unreachable, result.ErrorKind);
                case RemoteFileStatus.TimedOut:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.TimedOut, result.ErrorKind);
                default:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.Cancelled, result.ErrorKind);
            }
        }

        // The problems a read and a transfer share are worded once, so the two can't drift apart.
        private static FleetErrorInfo Missing(string host, string? message, object result) =>
            Make(host, message, result, FileMissing, "ObjectNotFound", null);

        private static FleetErrorInfo ReadDenied(string host, string? message, object result) =>
            Make(host, message, result, FilePermissionDenied, "PermissionDenied", "Connect as a user who can read the file (-UserName, or the inventory's user).");

        private static FleetErrorInfo NotRegular(string host, string? message, object result) =>
            Make(host, message, result, FileNotRegular, "InvalidType", "FIFOs, devices and sockets are never read: they might not end.");

        /// <summary>The error for one host's push or pull, or null when it was Transferred.</summary>
        public static FleetErrorInfo? ForTransfer(FileTransferResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            var push = result.Direction == FileTransferDirection.Push;
            switch (result.Status)
            {
                case FileTransferStatus.Transferred:
                    return null;
                case FileTransferStatus.Exists:
                    return Make(result.HostName, result.ErrorMessage, result, DestinationExists, "ResourceExists",
                        push ? "Use -Force to replace the remote file." : "Use -Force to replace the local copy, or pull into another folder.");
                case FileTransferStatus.Missing:
                    return Missing(result.HostName, result.ErrorMessage, result);
                case FileTransferStatus.IsDirectory:
                    return Make(result.HostName, result.ErrorMessage, result, FileIsDirectory, "InvalidType", push ? "End the remote path with / to copy into the directory." : "Name a file, not a directory.");
                case FileTransferStatus.PermissionDenied:
                    return ReadDenied(result.HostName, result.ErrorMessage, result);
                case FileTransferStatus.NotRegularFile:
                    return NotRegular(result.HostName, result.ErrorMessage, result);
                case FileTransferStatus.NoSuchDirectory:
                    return Make(result.HostName, result.ErrorMessage, result, RemoteDirectoryMissing, "ObjectNotFound", "Create the remote directory first (Invoke-FleetCommand 'mkdir -p ...').");
                case FileTransferStatus.NotWritable:
                    return Make(result.HostName, result.ErrorMessage, result, DestinationNotWritable, "PermissionDenied", "Connect as a user who can write there (-UserName, or the inventory's user).");
                case FileTransferStatus.ChecksumMismatch:
                    return Make(result.HostName, result.ErrorMessage, result, ChecksumMismatch, "InvalidResult", "Retry: the copy was discarded, nothing half-written was kept.");
                case FileTransferStatus.Failed:
                    return Make(result.HostName, result.ErrorMessage, result, TransferFailed, push ? "WriteError" : "ReadError", null);
                case FileTransferStatus.Unreachable:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.Unreachable, result.ErrorKind);
                case FileTransferStatus.TimedOut:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.TimedOut, result.ErrorKind);
                default:
                    return NotRun(result.HostName, result.ErrorMessage, result, FleetStatus.Cancelled, result.ErrorKind);
            }
        }

        /// <summary>
        /// A warning for a transfer that succeeded without proof: the copy was made but the host had no sha256sum or
        /// shasum to confirm it. Null otherwise.
        /// </summary>
        public static string? WarningForTransfer(FileTransferResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            if (result.Status != FileTransferStatus.Transferred || result.Verified) return null;
            return $"{result.HostName}: {result.ErrorMessage ?? "copied, but the checksum could not be verified"}";
        }

        /// <summary>The error for one host of a snapshot, or null when it was captured (sections a host can't report are not errors).</summary>
        public static FleetErrorInfo? ForSnapshotHost(HostSnapshot host)
        {
            if (host == null) throw new ArgumentNullException(nameof(host));
            switch (host.Status)
            {
                case SnapshotHostStatus.Captured:
                    return null;
                case SnapshotHostStatus.Failed:
                    return Make(host.HostName, host.ErrorMessage, host, SnapshotFailed, "InvalidResult", "The host needs a POSIX /bin/sh; see ErrorMessage for what the inspection script reported.");
                case SnapshotHostStatus.Unreachable:
                    return NotRun(host.HostName, host.ErrorMessage, host, FleetStatus.Unreachable, host.ErrorKind);
                case SnapshotHostStatus.TimedOut:
                    return NotRun(host.HostName, host.ErrorMessage, host, FleetStatus.TimedOut, host.ErrorKind);
                default:
                    return NotRun(host.HostName, host.ErrorMessage, host, FleetStatus.Cancelled, host.ErrorKind);
            }
        }

        private static FleetErrorInfo NotRun(string host, string? message, object result, FleetStatus status, FleetErrorKind kind)
        {
            var (id, category, action) = NotRun(status, kind);
            return Make(host, message ?? status.ToString(), result, id, category, action);
        }

        private static FleetErrorInfo Make(string host, string? message, object result, string id, string category, string? action) =>
            new FleetErrorInfo(id, category, new FleetHostResultException(host, message ?? id, result), host) { RecommendedAction = action };
    }
}
