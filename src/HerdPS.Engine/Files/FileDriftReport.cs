using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Files
{
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
