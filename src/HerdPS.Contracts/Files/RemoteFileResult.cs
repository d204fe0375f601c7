using System;

namespace HerdPS.Files
{
    /// <summary>What reading a remote file found on one host. Missing, a directory and an empty file are all different.</summary>
    public enum RemoteFileStatus
    {
        /// <summary>Read in full: Sha256 and Length are the file's.</summary>
        Ok,
        /// <summary>Larger than the size cap: read and hashed in full, but not kept, so compared by hash only.</summary>
        TooLarge,
        Missing,
        IsDirectory,
        PermissionDenied,
        /// <summary>Exists but is not a regular file (a FIFO, a device, a socket): never read, it might not end.</summary>
        NotRegularFile,
        /// <summary>The read started but failed (an I/O error, a shell that isn't POSIX, ...). See ErrorMessage.</summary>
        Failed,
        Unreachable,
        TimedOut,
        Cancelled,
    }

    /// <summary>
    /// One host's copy of a remote file, compared with the others (PowerShell type <c>HerdPS.RemoteFileResult</c>).
    /// Hosts whose content has the same SHA-256 share a <see cref="GroupId"/>; group 1 is the norm (the largest
    /// group), and each other group's <see cref="Diff"/> is a unified diff from the norm to it.
    /// </summary>
    public sealed class RemoteFileResult
    {
        public string HostName { get; set; } = "";
        public string Path { get; set; } = "";
        public RemoteFileStatus Status { get; set; }
        /// <summary>Lowercase hex SHA-256 of the whole content; null when it wasn't read.</summary>
        public string? Sha256 { get; set; }
        /// <summary>Bytes read; null when it wasn't read (an empty file is 0).</summary>
        public long? Length { get; set; }
        /// <summary>Holds NUL bytes or isn't valid UTF-8: compared by hash, no text diff.</summary>
        public bool IsBinary { get; set; }
        public bool IsNorm { get; set; }
        /// <summary>1 for the norm, 2.. for the other contents by size of group; null for hosts not read.</summary>
        public int? GroupId { get; set; }
        /// <summary>How many hosts share this content (this host included); null for hosts not read.</summary>
        public int? GroupSize { get; set; }
        /// <summary>Unified diff from the norm to this host's content; empty for the norm, binary or over-cap content.</summary>
        public string Diff { get; set; } = "";
        /// <summary>Where --save / -Destination put this host's copy.</summary>
        public string? SavedPath { get; set; }
        public string? ErrorMessage { get; set; }
        public FleetErrorKind ErrorKind { get; set; }
        public NameList Groups { get; set; } = NameList.Empty;
        public NameList Tags { get; set; } = NameList.Empty;
        /// <summary>The file was read (Ok or TooLarge).</summary>
        public bool Readable => Status == RemoteFileStatus.Ok || Status == RemoteFileStatus.TooLarge;
    }
}
