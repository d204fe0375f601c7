using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace HerdPS.Files
{
    public enum FileTransferDirection { Push, Pull }

    /// <summary>How one host's transfer ended. Only Transferred is success.</summary>
    public enum FileTransferStatus
    {
        /// <summary>Copied, and the checksum on the far side matched (see <see cref="FileTransferResult.Verified"/>).</summary>
        Transferred,
        /// <summary>The destination exists and force was not given: nothing was copied.</summary>
        Exists,
        /// <summary>Pull: the remote file does not exist.</summary>
        Missing,
        IsDirectory,
        PermissionDenied,
        NotRegularFile,
        /// <summary>Push: the remote directory does not exist.</summary>
        NoSuchDirectory,
        /// <summary>Push: no file can be created in the remote directory. Nothing was left behind.</summary>
        NotWritable,
        /// <summary>The bytes that arrived don't hash to what was sent (a cut connection, a file changing meanwhile); the copy was discarded.</summary>
        ChecksumMismatch,
        Failed,
        Unreachable,
        TimedOut,
        Cancelled,
    }

    /// <summary>One host's push or pull (PowerShell type <c>HerdPS.FileTransferResult</c>).</summary>
    public sealed class FileTransferResult
    {
        public string HostName { get; set; } = "";
        public FileTransferDirection Direction { get; set; }
        /// <summary>Push: the source file. Pull: the host's copy (&lt;dir&gt;/&lt;host&gt;/&lt;name&gt;).</summary>
        public string LocalPath { get; set; } = "";
        public string RemotePath { get; set; } = "";
        public FileTransferStatus Status { get; set; }
        public bool Succeeded => Status == FileTransferStatus.Transferred;
        /// <summary>Bytes copied (0 when nothing was).</summary>
        public long Bytes { get; set; }
        /// <summary>SHA-256 of the content copied.</summary>
        public string? Sha256 { get; set; }
        /// <summary>The far side's SHA-256 was computed after the copy and matched.</summary>
        public bool Verified { get; set; }
        public TimeSpan Duration { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public string? ErrorMessage { get; set; }
        public NameList Groups { get; set; } = NameList.Empty;
        public NameList Tags { get; set; } = NameList.Empty;
    }
}
