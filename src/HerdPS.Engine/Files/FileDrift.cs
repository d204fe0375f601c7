using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Grouping;
using HerdPS.Inventory;
using HerdPS.Transport;

namespace HerdPS.Files
{
    /// <summary>
    /// Remote file drift (<c>herd diff</c>, <c>Compare-FleetFile</c>): reads one file from every selected host over
    /// the runner and the pooled connections, hashing it as it streams in, and groups hosts by content. The
    /// largest group is the norm; every other group gets a unified diff against it. Memory stays bounded: a
    /// host's bytes are kept only up to the cap, and only until its content is known to match a group already seen.
    /// </summary>
    public static class FileDrift
    {
        /// <summary>Kept of stdout/stderr by the transport itself; the content is kept by our observer.</summary>
        private const long TransportKeep = 64 * 1024;

        /// <summary>Reads <paramref name="remotePath"/> on every host of <paramref name="target"/> and compares the copies.</summary>
        /// <param name="hostRead">Called as each host's read finishes (before grouping: no GroupId or Diff yet).</param>
        public static async Task<FileDriftReport> CompareAsync(FleetTarget target, FleetCommandRequest request, string remotePath, FileDriftOptions options,
            Action<FleetProgress>? progress = null, Action<RemoteFileResult>? hostRead = null, CancellationToken cancellationToken = default)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (request == null) throw new ArgumentNullException(nameof(request));
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.MaxFileBytes < 0) throw new ArgumentOutOfRangeException(nameof(options), "the file size cap can't be negative");
            if (options.SaveDirectory != null) LocalCopy.RemoteBaseName(remotePath); // a path naming no file can't be saved
            var command = RemoteFileScripts.ReadCommand(remotePath, reportSha256: false);
            var reads = new ConcurrentDictionary<string, HostRead>(StringComparer.Ordinal);
            // Hosts whose saved copies would share one local path are compared as usual but saved by none of them.
            var collisions = options.SaveDirectory == null
                ? new Dictionary<string, string>()
                : LocalCopy.Collisions(options.SaveDirectory, target.Hosts.Select(h => h.Name), remotePath);
            using var run = FleetEngine.Start(target, command, request, progress, cancellationToken, raw: false,
                prepare: (host, invocation) =>
                {
                    var read = reads.GetOrAdd(host.Name, _ => new HostRead(options, host.Name, remotePath, collisions.TryGetValue(host.Name, out var refusal) ? refusal : null));
                    invocation.OutputLimit = TransportKeep;
                    invocation.OnStdOut = read.Append;
                });
            var grouper = new ContentGrouper();
            var results = new Dictionary<string, RemoteFileResult>(StringComparer.Ordinal);
            try
            {
                await foreach (var fleetResult in run.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    reads.TryGetValue(fleetResult.HostName, out var read);
                    var result = ToResult(fleetResult, remotePath, read, options);
                    results[result.HostName] = result;
                    if (result.Readable) grouper.Add(result, read!.Kept());
                    try { hostRead?.Invoke(result); }
                    catch (Exception) { /* a front end's rendering problem must not lose the comparison */ }
                }
            }
            finally
            {
                foreach (var r in reads.Values) r.Dispose();
            }
            var ordered = target.Hosts.Select(h => results.TryGetValue(h.Name, out var r) ? r : null).Where(r => r != null).Cast<RemoteFileResult>().ToList();
            return grouper.Complete(remotePath, ordered, options.MaxFileBytes);
        }

        internal static RemoteFileResult ToResult(FleetResult r, string remotePath, HostRead? read, FileDriftOptions options)
        {
            var result = new RemoteFileResult
            {
                HostName = r.HostName,
                Path = remotePath,
                ErrorKind = r.ErrorKind,
                Groups = r.Groups,
                Tags = r.Tags,
            };
            switch (r.Status)
            {
                case FleetStatus.Unreachable: result.Status = RemoteFileStatus.Unreachable; result.ErrorMessage = r.ErrorMessage; return result;
                case FleetStatus.TimedOut: result.Status = RemoteFileStatus.TimedOut; result.ErrorMessage = r.ErrorMessage; return result;
                case FleetStatus.Cancelled: result.Status = RemoteFileStatus.Cancelled; result.ErrorMessage = r.ErrorMessage; return result;
            }
            var message = RemoteFileScripts.Message(r.StdErr);
            switch (r.ExitCode)
            {
                case 0:
                    if (read == null) goto default;
                    result.Length = read.Length;
                    result.Sha256 = read.Sha256();
                    result.Status = read.Length > options.MaxFileBytes ? RemoteFileStatus.TooLarge : RemoteFileStatus.Ok;
                    if (options.SaveDirectory != null)
                    {
                        var saveError = read.Save(options.Overwrite, RemoteFileScripts.ReportedMode(r.StdErr));
                        if (saveError != null) { result.Status = RemoteFileStatus.Failed; result.ErrorMessage = "read, but not saved: " + saveError; }
                        else result.SavedPath = read.SavedPath;
                    }
                    return result;
                case RemoteFileScripts.ExitMissing: result.Status = RemoteFileStatus.Missing; break;
                case RemoteFileScripts.ExitIsDirectory: result.Status = RemoteFileStatus.IsDirectory; break;
                case RemoteFileScripts.ExitPermissionDenied: result.Status = RemoteFileStatus.PermissionDenied; break;
                case RemoteFileScripts.ExitNotRegularFile: result.Status = RemoteFileStatus.NotRegularFile; break;
                default:
                    result.Status = RemoteFileStatus.Failed;
                    message = $"reading failed (exit {r.ExitCode})" + (message.Length > 0 ? ": " + message : "");
                    break;
            }
            result.ErrorMessage = message.Length > 0 ? message : result.Status.ToString();
            return result;
        }

        /// <summary>One host's incoming content: hashed in full, kept up to the cap, optionally streamed to a local copy.</summary>
        internal sealed class HostRead : IDisposable
        {
            private readonly FileDriftOptions _options;
            private readonly string _hostName;
            private readonly string _remotePath;
            private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            private MemoryStream? _kept = new MemoryStream();
            private LocalCopy? _copy;
            private string? _saveError;
            private string? _sha;

            /// <param name="saveRefusal">Why this host's copy must not be saved (see <see cref="LocalCopy.Collisions"/>); null to save it.</param>
            public HostRead(FileDriftOptions options, string hostName, string remotePath, string? saveRefusal = null)
            {
                _options = options;
                _hostName = hostName;
                _remotePath = remotePath;
                _saveError = saveRefusal;
            }

            public long Length { get; private set; }
            public string? SavedPath { get; private set; }

            public void Append(byte[] buffer, int count)
            {
                _hash.AppendData(buffer, 0, count);
                Length += count;
                if (_kept != null)
                {
                    if (_kept.Length + count <= _options.MaxFileBytes) _kept.Write(buffer, 0, count);
                    else { _kept.Dispose(); _kept = null; } // over the cap: hash only
                }
                if (_options.SaveDirectory != null && _saveError == null)
                {
                    try
                    {
                        _copy ??= LocalCopy.Begin(_options.SaveDirectory, _hostName, _remotePath, _options.Overwrite);
                        _copy.Write(buffer, count);
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                    {
                        _saveError = e.Message;
                        _copy?.Dispose();
                        _copy = null;
                    }
                }
            }

            public string Sha256() => _sha ??= OutputCapture.ToHex(_hash.GetHashAndReset());

            /// <summary>The content if it was within the cap, else null.</summary>
            public byte[]? Kept() => _kept?.ToArray();

            /// <summary>
            /// Moves the local copy into place with the remote file's permission bits (<paramref name="remoteMode"/>,
            /// masked by the umask; 0600 when unknown); returns an error message or null.
            /// </summary>
            public string? Save(bool overwrite, int? remoteMode)
            {
                if (_saveError != null) return _saveError;
                try
                {
                    _copy ??= LocalCopy.Begin(_options.SaveDirectory!, _hostName, _remotePath, overwrite); // an empty file
                    _copy.Commit(overwrite, remoteMode);
                    SavedPath = _copy.FinalPath;
                    return null;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    return e.Message;
                }
            }

            public void Dispose()
            {
                _copy?.Dispose();
                _kept?.Dispose();
                _hash.Dispose();
            }
        }

        /// <summary>Groups readable results by SHA-256, keeping one sample per distinct content.</summary>
        private sealed class ContentGrouper
        {
            private readonly Dictionary<string, RemoteFileGroup> _bySha = new Dictionary<string, RemoteFileGroup>(StringComparer.Ordinal);
            private readonly List<RemoteFileGroup> _order = new List<RemoteFileGroup>();
            private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, true);

            public void Add(RemoteFileResult result, byte[]? content)
            {
                if (!_bySha.TryGetValue(result.Sha256!, out var group))
                {
                    group = new RemoteFileGroup { Sha256 = result.Sha256!, Length = result.Length ?? 0, TooLarge = result.Status == RemoteFileStatus.TooLarge };
                    if (content != null && !group.TooLarge)
                    {
                        group.Text = AsText(content);
                        group.IsBinary = group.Text == null;
                    }
                    _bySha[group.Sha256] = group;
                    _order.Add(group);
                }
                group.HostNames.Add(result.HostName);
                result.IsBinary = group.IsBinary;
            }

            /// <summary>Text when the bytes are valid UTF-8 without NUL; null means binary.</summary>
            internal static string? AsText(byte[] content)
            {
                if (Array.IndexOf(content, (byte)0) >= 0) return null;
                try { return StrictUtf8.GetString(content); }
                catch (DecoderFallbackException) { return null; }
            }

            public FileDriftReport Complete(string path, List<RemoteFileResult> results, long cap)
            {
                var groups = _order.OrderByDescending(g => g.HostNames.Count).ToList(); // stable: ties keep first-seen order
                var position = results.Select((r, i) => (r.HostName, i)).ToDictionary(x => x.HostName, x => x.i, StringComparer.Ordinal);
                foreach (var g in groups) g.HostNames.Sort((x, y) => position[x].CompareTo(position[y])); // selection order, not finishing order
                for (var i = 0; i < groups.Count; i++) groups[i].GroupId = i + 1;
                if (groups.Count > 0)
                {
                    var norm = groups[0];
                    norm.IsNorm = true;
                    var normLabel = $"norm ({Plural(norm.HostNames.Count, "host")})";
                    foreach (var g in groups.Skip(1))
                    {
                        if (norm.Text == null || g.Text == null) continue; // binary or over the cap: by hash only
                        var label = g.HostNames.Count == 1 ? g.HostNames[0] : $"{g.HostNames[0]} and {Plural(g.HostNames.Count - 1, "other")}";
                        g.Diff = UnifiedDiff.Create(norm.Text, g.Text, normLabel, label);
                    }
                }
                foreach (var r in results.Where(r => r.Readable))
                {
                    var g = _bySha[r.Sha256!];
                    r.GroupId = g.GroupId;
                    r.GroupSize = g.HostNames.Count;
                    r.IsNorm = g.IsNorm;
                    r.Diff = g.Diff;
                }
                return new FileDriftReport
                {
                    Path = path,
                    Results = results,
                    Groups = groups,
                    MaxFileBytes = cap,
                    Compared = results.Count(r => r.Readable),
                    Differing = results.Count(r => r.Readable && !r.IsNorm),
                    Unread = results.Count(r => !r.Readable),
                };
            }
        }

        internal static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
    }
}
