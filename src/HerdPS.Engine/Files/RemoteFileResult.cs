using System;
using System.Collections.Generic;
using System.Linq;

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
        public string[] Groups { get; set; } = Array.Empty<string>();
        public string[] Tags { get; set; } = Array.Empty<string>();
        /// <summary>The file was read (Ok or TooLarge).</summary>
        public bool Readable => Status == RemoteFileStatus.Ok || Status == RemoteFileStatus.TooLarge;
    }

    /// <summary>Hosts with identical content.</summary>
    public sealed class RemoteFileGroup
    {
        public int GroupId { get; internal set; }
        public string Sha256 { get; internal set; } = "";
        public long Length { get; internal set; }
        public bool IsNorm { get; internal set; }
        public bool IsBinary { get; internal set; }
        /// <summary>Over the cap: the content is known by hash only.</summary>
        public bool TooLarge { get; internal set; }
        /// <summary>The content as text (null for binary or over-cap content).</summary>
        public string? Text { get; internal set; }
        public List<string> HostNames { get; } = new List<string>();
        public string Diff { get; internal set; } = "";
    }

    /// <summary>The whole comparison: per-host results in selection order, the content groups, and counts.</summary>
    public sealed class FileDriftReport
    {
        public string Path { get; internal set; } = "";
        public IReadOnlyList<RemoteFileResult> Results { get; internal set; } = Array.Empty<RemoteFileResult>();
        /// <summary>Norm first, then the other contents, largest first.</summary>
        public IReadOnlyList<RemoteFileGroup> Groups { get; internal set; } = Array.Empty<RemoteFileGroup>();
        public long MaxFileBytes { get; internal set; }
        /// <summary>Hosts whose file was read.</summary>
        public int Compared { get; internal set; }
        /// <summary>Read hosts whose content differs from the norm.</summary>
        public int Differing { get; internal set; }
        /// <summary>Hosts whose file could not be read (missing, directory, denied, unreachable, ...).</summary>
        public int Unread { get; internal set; }
        public bool HasDrift => Differing > 0;

        /// <summary>
        /// The results in the order of the grouped view: the norm's hosts, then each other content group in turn
        /// (GroupId order), then the hosts not read; selection order within each. Consecutive hosts of a group
        /// let PowerShell's table view print one heading per group.
        /// </summary>
        public IReadOnlyList<RemoteFileResult> ResultsByGroup() =>
            Results.Select((r, i) => (r, i)).OrderBy(x => x.r.GroupId ?? int.MaxValue).ThenBy(x => x.i).Select(x => x.r).ToList();
    }

    /// <summary>Settings of a file comparison.</summary>
    public sealed class FileDriftOptions
    {
        public const long DefaultMaxFileBytes = 16L * 1024 * 1024;

        /// <summary>Files larger than this are hashed in full but not kept, and compare by hash only.</summary>
        public long MaxFileBytes { get; set; } = DefaultMaxFileBytes;
        /// <summary>Also keep every host's copy as &lt;SaveDirectory&gt;/&lt;host&gt;/&lt;file name&gt; (over-cap files too).</summary>
        public string? SaveDirectory { get; set; }
        /// <summary>Replace copies already saved there (otherwise an existing copy is an error for that host).</summary>
        public bool Overwrite { get; set; } = true;
    }
}
