using System;
using System.Globalization;
using System.Text.RegularExpressions;
using HerdPS.Transport;

namespace HerdPS.Files
{
    /// <summary>
    /// The small POSIX sh scripts that read and write files on a host, one ssh session per host each.
    ///
    /// Safety of remote paths: the script text is a constant, and the path travels only as a positional parameter
    /// (<c>/bin/sh -c '&lt;script&gt;' herd-file '&lt;path&gt;'</c>, each word quoted with <see cref="ShellQuote.Single"/>).
    /// Inside the script it is only ever expanded in double quotes, so spaces, quotes, <c>$</c>, backticks, <c>;</c>
    /// and newlines in it are data, never code. A relative path starting with <c>-</c> is prefixed with <c>./</c>
    /// before any command sees it, so it can't be read as an option either.
    ///
    /// What happened is told by the script's exit code (the <c>Exit*</c> constants, chosen away from the shell's own
    /// 1, 2, 126, 127 and signal codes), and the content itself streams on stdout untouched. Trailing facts (the
    /// remote SHA-256) come as the last line of stderr, after anything a failing tool printed.
    /// </summary>
    public static class RemoteFileScripts
    {
        public const int ExitMissing = 70;
        public const int ExitIsDirectory = 71;
        public const int ExitPermissionDenied = 72;
        public const int ExitNotRegularFile = 73;
        public const int ExitReadFailed = 74;
        public const int ExitExists = 75;
        public const int ExitNotWritable = 76;
        public const int ExitWriteFailed = 77;
        public const int ExitChecksumMismatch = 78;
        public const int ExitNoDirectory = 79;

        /// <summary>Prefix of the stderr line that carries the remote SHA-256 of the file.</summary>
        public const string Sha256Marker = "herd-sha256:";

        /// <summary>Prefix of the stderr line that carries the remote file's permission bits in octal.</summary>
        public const string ModeMarker = "herd-mode:";

        // Sets p from $1 ("./" before a leading dash) and, for a path that doesn't exist, tells a missing file from
        // one hidden behind a directory we may not search (-e is false in both cases).
        private const string Prelude = @"p=$1
case $p in -*) p=./$p;; esac
denied_or_missing() {
  d=$p
  while :; do
    case $d in */*) d=${d%/*}; [ -n ""$d"" ] || d=/;; *) d=.;; esac
    if [ -e ""$d"" ] || [ ""$d"" = / ] || [ ""$d"" = . ]; then break; fi
  done
  if [ -d ""$d"" ] && [ ! -x ""$d"" ]; then echo ""permission denied (directory $d is not searchable)"" >&2; exit 72; fi
  echo ""no such file"" >&2; exit 70
}
hash_of() { { sha256sum 2>/dev/null || shasum -a 256 2>/dev/null; } <""$1"" | { read -r h _ && printf '%s' ""$h""; }; }
";

        /// <summary>
        /// Reads one file: $1 = path, $2 = 1 to report the remote SHA-256 afterwards (pull verifies with it).
        /// Only regular files are read (a FIFO or device would never end). Afterwards it reports the file's
        /// permission bits (GNU, BusyBox or BSD stat), so a local copy is never more open than the remote file.
        /// </summary>
        internal const string ReadScript = Prelude + @"if [ -d ""$p"" ]; then echo ""is a directory"" >&2; exit 71; fi
if [ ! -e ""$p"" ]; then denied_or_missing; fi
if [ ! -f ""$p"" ]; then echo ""not a regular file"" >&2; exit 73; fi
if [ ! -r ""$p"" ]; then echo ""permission denied"" >&2; exit 72; fi
cat -- ""$p"" || exit 74
m=$(stat -c %a -- ""$p"" 2>/dev/null || stat -f %Lp -- ""$p"" 2>/dev/null) && printf '\nherd-mode:%s\n' ""$m"" >&2
if [ ""$2"" = 1 ]; then h=$(hash_of ""$p""); [ -n ""$h"" ] && printf '\nherd-sha256:%s\n' ""$h"" >&2; fi
exit 0
";

        /// <summary>
        /// Writes stdin to a file without ever leaving a partial file under the final name: $1 = path (an existing
        /// directory or a trailing slash means "into it, as $5"), $2 = the SHA-256 the content must have,
        /// $3 = 1 to replace an existing file, $4 = octal mode or empty, $5 = the local file's name.
        /// The content goes to a private (umask 077) temporary name in the same directory, is checked against $2
        /// (so a cut connection, which ends stdin early, can never be renamed into place) and then renamed. Without
        /// $3 the final step is a hard link, which fails if the name was taken meanwhile. Without $4 an existing
        /// file keeps its mode and a new one gets the umask's default.
        /// </summary>
        internal const string WriteScript = Prelude + @"case $p in */) p=$p$5;; esac
if [ -d ""$p"" ]; then p=$p/$5; fi
if [ -d ""$p"" ]; then echo ""is a directory"" >&2; exit 71; fi
if [ -e ""$p"" ] && [ ""$3"" != 1 ]; then echo ""exists (replace it with force)"" >&2; exit 75; fi
case $p in */*) d=${p%/*}; [ -n ""$d"" ] || d=/;; *) d=.;; esac
if [ ! -d ""$d"" ]; then echo ""no such directory: $d"" >&2; exit 79; fi
u=$(umask)
umask 077
t=$d/.${p##*/}.herd-$$
trap 'rm -f -- ""$t""' EXIT
trap 'exit 143' HUP INT TERM PIPE
( set -C; : >""$t"" ) 2>/dev/null || { echo ""cannot create a file in $d"" >&2; exit 76; }
cat >""$t"" || { echo ""write failed"" >&2; exit 77; }
h=$(hash_of ""$t"")
if [ ""$h"" != ""$2"" ]; then echo ""checksum mismatch after transfer (remote sha256 ${h:-unavailable})"" >&2; exit 78; fi
if [ -n ""$4"" ]; then chmod ""$4"" ""$t"" || exit 77
elif [ -e ""$p"" ]; then m=$(stat -c %a -- ""$p"" 2>/dev/null || stat -f %Lp -- ""$p"" 2>/dev/null); [ -n ""$m"" ] && chmod ""$m"" ""$t""
else chmod ""$(printf %o $(( 0666 & ~0$u )))"" ""$t""; fi
if [ ""$3"" = 1 ]; then mv -f -- ""$t"" ""$p"" || { echo ""rename failed"" >&2; exit 77; }
elif ! ln -- ""$t"" ""$p"" 2>/dev/null; then
  if [ -e ""$p"" ]; then echo ""exists (replace it with force)"" >&2; exit 75; fi
  mv -- ""$t"" ""$p"" || { echo ""rename failed"" >&2; exit 77; }
fi
printf '\nherd-sha256:%s\n' ""$h"" >&2
exit 0
";

        /// <summary>The command that streams <paramref name="remotePath"/> to stdout.</summary>
        public static string ReadCommand(string remotePath, bool reportSha256) =>
            "/bin/sh -c " + ShellQuote.Single(ReadScript) + " herd-read " + QuotePath(remotePath) + (reportSha256 ? " 1" : " 0");

        /// <summary>The command that stores its stdin as <paramref name="remotePath"/> (see <see cref="WriteScript"/>).</summary>
        public static string WriteCommand(string remotePath, string expectedSha256, bool force, string? mode, string localName)
        {
            if (!Regex.IsMatch(expectedSha256, "^[0-9a-f]{64}$")) throw new ArgumentException("expected a lowercase hex SHA-256", nameof(expectedSha256));
            var normalizedMode = NormalizeMode(mode);
            return "/bin/sh -c " + ShellQuote.Single(WriteScript) + " herd-write " + QuotePath(remotePath) + " " + expectedSha256 +
                   (force ? " 1 " : " 0 ") + ShellQuote.Single(normalizedMode ?? "") + " " + ShellQuote.Single(localName);
        }

        /// <summary>"644", "0644", "0o644" become "0644"; anything but 3-4 octal digits is refused.</summary>
        public static string? NormalizeMode(string? mode)
        {
            if (string.IsNullOrEmpty(mode)) return null;
            var m = mode!.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? mode.Substring(2) : mode;
            if (!Regex.IsMatch(m, "^[0-7]{3,4}$")) throw new ArgumentException($"'{mode}' is not an octal file mode such as 0644");
            return m.Length == 3 ? "0" + m : m;
        }

        /// <summary>Checks a remote path is usable at all: not empty, no NUL (which no POSIX path can hold).</summary>
        public static void ValidateRemotePath(string remotePath)
        {
            if (string.IsNullOrEmpty(remotePath)) throw new ArgumentException("the remote path is empty");
            if (remotePath.IndexOf('\0') >= 0) throw new ArgumentException("a remote path can't contain a NUL character");
        }

        private static string QuotePath(string remotePath)
        {
            ValidateRemotePath(remotePath);
            return ShellQuote.Single(remotePath);
        }

        /// <summary>The SHA-256 the script reported at the end of stderr, or null.</summary>
        internal static string? ReportedSha256(string stderr)
        {
            var hex = Reported(stderr, Sha256Marker);
            return hex != null && Regex.IsMatch(hex, "^[0-9a-f]{64}$") ? hex : null;
        }

        /// <summary>
        /// The remote file's permission bits (0777 at most: setuid, setgid and sticky bits are never copied) as the
        /// read script reported them at the end of stderr, or null when the host had no stat that could tell.
        /// </summary>
        internal static int? ReportedMode(string stderr)
        {
            var octal = Reported(stderr, ModeMarker);
            if (octal == null || !Regex.IsMatch(octal, "^[0-7]{1,4}$")) return null;
            return Convert.ToInt32(octal, 8) & 0x1FF;
        }

        /// <summary>
        /// A value from the script's trailing report lines: the marker lines (and the blank lines between them)
        /// at the very end of stderr, after anything a failing tool printed. Null when absent.
        /// </summary>
        private static string? Reported(string stderr, string marker)
        {
            var lines = stderr.Replace("\r\n", "\n").Split('\n');
            for (var i = lines.Length - 1; i >= 0; i--)
            {
                var line = lines[i];
                if (line.Trim().Length == 0) continue;
                if (line.StartsWith(marker, StringComparison.Ordinal)) return line.Substring(marker.Length).Trim();
                if (!line.StartsWith(Sha256Marker, StringComparison.Ordinal) && !line.StartsWith(ModeMarker, StringComparison.Ordinal)) return null;
            }
            return null;
        }

        /// <summary>stderr without the script's own trailing report line, for error messages.</summary>
        internal static string Message(string stderr)
        {
            var lines = stderr.Replace("\r\n", "\n").Split('\n');
            var kept = new System.Collections.Generic.List<string>();
            foreach (var l in lines)
                if (l.Trim().Length > 0 && !l.StartsWith(Sha256Marker, StringComparison.Ordinal) && !l.StartsWith(ModeMarker, StringComparison.Ordinal)) kept.Add(l.Trim());
            return string.Join("; ", kept);
        }

        internal static string Invariant(long n) => n.ToString(CultureInfo.InvariantCulture);
    }
}
