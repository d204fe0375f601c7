using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using HerdPS.Transport;

namespace HerdPS.Tail
{
    /// <summary>
    /// The commands that follow logs on a host, sent through the runner like any command (so the remote wrapper ends
    /// them, with everything they started, when the tail stops).
    /// <para>
    /// Files: a POSIX sh follower that works as <c>tail -F</c> does (by name: a rotated file is read to its end and the
    /// new one followed from its start; a truncated one from its start; a missing one waited for), but reads by byte
    /// ranges of a descriptor it holds, so it always knows the inode and offset of the last line it sent. It writes
    /// them after every batch, and a reconnect passes them back: the follower then goes on from that byte, in the
    /// same file, or in the rotated one it finds by inode in the same folder, and says when it can't. Only whole
    /// lines are sent (a line still being written waits for its line break), and <c>grep -E</c>/<c>grep -vE</c> run
    /// on the host, per batch, so filtered lines never cross the network. It polls only when it found nothing new.
    /// </para>
    /// <para>
    /// Its output, one record per line: <c>N:line</c> (a line of file N, 1-based), and records starting with RS
    /// (0x1E), which no line can: <c>S</c> started; <c>C N ino off</c> context lines of file N follow, ending at
    /// <c>off</c>; <c>P N ino off</c> every line of file N up to <c>off</c> of inode <c>ino</c> has been sent;
    /// <c>H</c> a heartbeat (see <see cref="HeartbeatInterval"/>); <c>N N word [name]</c> a notice (<see cref="FollowerNotice"/>); <c>E word message</c> a fatal error. Position records
    /// end with a fingerprint of the 32 bytes before the offset (see <see cref="FilePosition"/>).
    /// </para>
    /// <para>
    /// Journal: <c>journalctl -f -o json</c> (each entry carries its cursor; a reconnect passes the last one to
    /// <c>--after-cursor</c>), with the filters applied on the host by awk to the entry's message.
    /// </para>
    /// </summary>
    public static class RemoteFollower
    {
        /// <summary>argv[0] of every remote follower shell: what tests (and <c>ps</c>) look for.</summary>
        public const string ProcessName = "herd-tail";

        // $1 poll seconds, $2 polls between heartbeats, $3 context lines, $4 grep, $5 grep -v, $6 batch bytes; then path, inode, offset and
        // fingerprint per file (inode empty: a fresh start with context). Per file i: P path, I inode, O offset sent,
        // H fingerprint at O, W open on fd i+2, Q notice given, A what opening means (fresh: show context; resume: go
        // on at O of inode I if the 32 bytes before O are still H; next: from 0). The fingerprint is there because
        // inode numbers are reused: a log deleted and recreated can get its old number back. Functions can't hand
        // back positional parameters, so whole() sets c and fpr() sets fp. set -f: ls output is never globbed.
        internal const string FileScript =
            "set -f; LC_ALL=C; export LC_ALL\n" +
            "t=$1 b=$2 n=$3 g=$4 x=$5 m=$6; shift 6; z=0\n" +
            "for r in \"$g\" \"$x\"; do if [ -n \"$r\" ]; then printf \"\" | grep -a -E -e \"$r\" >/dev/null 2>&1; " +
            "if [ $? -gt 1 ]; then e=$(printf \"\" | grep -a -E -e \"$r\" 2>&1 >/dev/null | tr \"\\n\\036\" \"  \"); printf \"\\036E pattern %s\\n\" \"$e\"; exit 3; fi; fi; done\n" +
            "printf \"\\036S\\n\"\n" +
            "k=0\n" +
            "while [ $# -ge 4 ]; do k=$((k+1)); if [ -n \"$2\" ]; then a=resume; else a=fresh; fi; eval \"P$k=\\$1 I$k=\\$2 O$k=\\$3 H$k=\\$4 W$k= Q$k= A$k=$a\"; shift 4; done\n" +
            "flt() { if [ -n \"$g\" ]; then if [ -n \"$x\" ]; then grep -a -E -e \"$g\" | grep -a -v -E -e \"$x\"; else grep -a -E -e \"$g\"; fi; elif [ -n \"$x\" ]; then grep -a -v -E -e \"$x\"; else cat; fi; }\n" +
            "out() { flt | sed \"s/^/$i:/\"; }\n" +
            "rng() { tail -c +$(($1+1)) /dev/fd/$f 2>/dev/null | head -c $2; }\n" +
            "st() { set -- $(ls -Lnid -- \"$1\" 2>/dev/null); [ $# -ge 6 ] && echo \"$1 $6 $2\"; }\n" +
            "fpr() { j=$off; [ $j -gt 32 ] && j=32; fp=$(rng $((off-j)) $j | od -An -tx1 | tr -d \" \\n\"); fp=${fp:--}; }\n" +
            "pos() { fpr; printf \"\\036%s %s %s %s %s\\n\" ${1:-P} $i $ino $off $fp 2>/dev/null || exit 0; }\n" +
            "say() { if [ -n \"$2\" ]; then printf \"\\036N %s %s %s\\n\" $i $1 \"$(printf %s \"$2\" | tr \"\\n\\036\" \"??\")\"; else printf \"\\036N %s %s\\n\" $i $1; fi; }\n" +
            "whole() { set -- $(rng $1 $2 | tail -n 1 | wc -lc); c=$l; [ \"$1\" -eq 0 ] && c=$((l-$2)); }\n" +
            "old() { case $p in */*) d=${p%/*};; *) d=.;; esac; o=$(find \"${d:-/}\" -maxdepth 1 -inum \"$ino\" -type f 2>/dev/null | head -n 1); " +
            "[ -n \"$o\" ] && eval \"command exec $f<\\\"\\$o\\\"\" 2>/dev/null && { fpr; [ \"$fp\" = \"$h\" ] || { eval \"exec $f<&-\"; false; }; }; }\n" +
            "while :; do\n" +
            " busy=; i=1\n" +
            " while [ $i -le $k ]; do\n" +
            "  f=$((i+2)); eval \"p=\\$P$i ino=\\$I$i off=\\$O$i h=\\$H$i w=\\$W$i q=\\$Q$i a=\\$A$i\"\n" +
            "  if [ -z \"$w\" ]; then\n" +
            "   s=$(st \"$p\"); [ -n \"$s\" ] && set -- $s\n" +
            "   if [ -n \"$s\" ] && case $3 in -*) false;; *) true;; esac; then\n" +
            "    [ -z \"$q\" ] && say notfile; q=1; [ \"$a\" = fresh ] && a=next\n" +
            "   elif [ \"$a\" = resume ] && [ \"${1:-}\" != \"$ino\" ] && old; then\n" +
            "    w=1; a=next; q=; say resumed-rotated \"$o\"; pos\n" +
            "   elif [ -z \"$s\" ]; then\n" +
            "    [ -z \"$q\" ] && say missing; q=1; [ \"$a\" = fresh ] && a=next\n" +
            "    [ \"$a\" = resume ] && { say gap-rotated; a=next; ino=; off=0; }\n" +
            "   elif eval \"command exec $f<\\\"\\$p\\\"\" 2>/dev/null; then\n" +
            "    w=1; set -- $(st /dev/fd/$f); c=$1; size=$2\n" +
            "    case $a in\n" +
            "    resume) if [ \"$c\" != \"$ino\" ]; then say gap-rotated; off=0; elif [ \"$size\" -lt \"$off\" ] || { fpr; [ \"$fp\" != \"$h\" ]; }; then say gap-truncated; off=0; else say resumed; fi; ino=$c; pos;;\n" +
            "    fresh) s0=0; [ $size -gt $m ] && s0=$((size-m)); l=$((size-s0)); whole $s0 $l; ino=$1; off=$((s0+c)); pos C\n" +
            "     if [ $n -gt 0 ] && [ $c -gt 0 ]; then if [ $s0 -gt 0 ]; then rng $s0 $c | tail -n +2 | tail -n $n | out; else rng 0 $c | tail -n $n | out; fi; fi; pos;;\n" +
            "    *) [ -n \"$q\" ] && say appeared; ino=$c; off=0; pos;;\n" +
            "    esac\n" +
            "    q=; a=next\n" +
            "   else\n" +
            "    [ -z \"$q\" ] && say unreadable; q=1; [ \"$a\" = fresh ] && a=next\n" +
            "   fi\n" +
            "  fi\n" +
            "  if [ -n \"$w\" ]; then\n" +
            "   set -- $(st /dev/fd/$f); size=${2:-0}\n" +
            "   if [ \"$size\" -lt \"$off\" ]; then say truncated; off=0; pos; fi\n" +
            "   l=0\n" +
            "   if [ \"$size\" -gt \"$off\" ]; then\n" +
            "    l=$((size-off)); [ $l -gt $m ] && { l=$m; busy=1; }\n" +
            "    whole $off $l\n" +
            "    if [ $c -eq 0 ] && [ $l -eq $m ]; then c=$l; { rng $off $c; echo; } | out\n" +
            "    elif [ $c -gt 0 ]; then rng $off $c | out; fi\n" +
            "    [ $c -gt 0 ] && { off=$((off+c)); pos; }\n" +
            "   fi\n" +
            "   if [ $l -eq 0 ]; then\n" +
            "    s=$(st \"$p\")\n" +
            "    if [ -n \"$s\" ]; then set -- $s; if [ \"$1\" != \"$ino\" ]; then\n" +
            "     if [ \"$size\" -gt \"$off\" ]; then { rng $off $((size-off)); echo; } | out; off=$size; pos; fi\n" +
            "     eval \"exec $f<&-\"; w=; q=; say rotated\n" +
            "    fi; fi\n" +
            "   fi\n" +
            "  fi\n" +
            "  eval \"I$i=\\$ino O$i=\\$off H$i=\\$h W$i=\\$w Q$i=\\$q A$i=\\$a\"\n" +
            "  i=$((i+1))\n" +
            " done\n" +
            " z=$((z+1)); if [ $z -ge $b ]; then z=0; printf \"\\036H\\n\" 2>/dev/null || exit 0; fi\n" +
            " [ -n \"$busy\" ] || sleep $t 2>/dev/null || sleep 1\n" +
            "done\n";

        // $1 grep, $2 grep -v, $3 the awk filter; the rest is journalctl's arguments. mawk reads a pipe in blocks
        // unless told -W interactive, which would hold lines back; gawk and BusyBox awk stream with fflush().
        internal const string JournalScript =
            "set -f; g=$1 x=$2 w=$3; shift 3\n" +
            "command -v journalctl >/dev/null 2>&1 || { printf \"\\036E journalctl journalctl was not found on this host\\n\"; exit 127; }\n" +
            "printf \"\\036S\\n\"\n" +
            "[ -z \"$g$x\" ] && exec journalctl \"$@\"\n" +
            "a=awk; case $(awk -W version 2>&1) in *mawk*) a=\"awk -W interactive\";; esac\n" +
            "journalctl \"$@\" | HERD_TAIL_GREP=$g HERD_TAIL_EXCLUDE=$x LC_ALL=C $a \"$w\"\n";

        // The message of a journalctl JSON line, unescaped (\\ \" \/ \n \t \r; \uXXXX stays as written), matched
        // against the patterns from the environment (never -v, which would read backslashes as escapes). A message
        // journalctl writes as an array of bytes (not UTF-8) matches as empty text.
        internal const string JournalFilter =
            "BEGIN { G = ENVIRON[\"HERD_TAIL_GREP\"]; X = ENVIRON[\"HERD_TAIL_EXCLUDE\"] }\n" +
            "{ m = \"\"; i = index($0, \"\\\"MESSAGE\\\":\\\"\")\n" +
            "  if (i > 0) { v = substr($0, i + 11); if (match(v, /^([^\"\\\\]|\\\\.)*/)) v = substr(v, 1, RLENGTH); else v = \"\"\n" +
            "    gsub(/\\\\\\\\/, \"\\001\", v); gsub(/\\\\\"/, \"\\\"\", v); gsub(/\\\\\\//, \"/\", v); gsub(/\\\\n/, \"\\n\", v); gsub(/\\\\t/, \"\\t\", v); gsub(/\\\\r/, \"\\r\", v); gsub(/\\001/, \"\\\\\", v); m = v }\n" +
            "  if ((G == \"\" || m ~ G) && (X == \"\" || m !~ X)) { print; fflush() } }\n";

        /// <summary>
        /// How often an idle file follower writes a heartbeat record (<c>H</c>). A follower whose reader is gone exits
        /// when that write fails (EPIPE; a child of .NET inherits SIGPIPE ignored, so it is the failed write that tells)
        /// instead of polling forever: the remote wrapper ends it when the SSH session goes, but
        /// a local follower (<c>transport: local</c>) left behind by a herd killed outright has nothing else to tell it.
        /// </summary>
        public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

        /// <summary>The fields journalctl writes for each entry (the cursor and timestamps always come too).</summary>
        public const string JournalFields = "MESSAGE,SYSLOG_IDENTIFIER,_PID,_SYSTEMD_UNIT";

        /// <summary>The command that follows <see cref="TailOptions.Paths"/>; <paramref name="from"/> holds, per path, where to go on (null: start afresh).</summary>
        public static string FileCommand(TailOptions options, IReadOnlyList<FilePosition?> from)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var args = new List<string>
            {
                Seconds(options.PollInterval),
                Math.Max(1, (int)Math.Ceiling(HeartbeatInterval.TotalMilliseconds / options.PollInterval.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture),
                options.Lines.ToString(CultureInfo.InvariantCulture),
                options.Grep ?? "",
                options.GrepExclude ?? "",
                options.MaxBatchBytes.ToString(CultureInfo.InvariantCulture),
            };
            for (int i = 0; i < options.Paths.Count; i++)
            {
                var position = i < from.Count ? from[i] : null;
                args.Add(TailOptions.RemotePath(options.Paths[i]));
                args.Add(position?.Inode ?? "");
                args.Add(position == null ? "" : position.Offset.ToString(CultureInfo.InvariantCulture));
                args.Add(position?.Fingerprint ?? "");
            }
            return Command(FileScript, args);
        }

        /// <summary>
        /// The command that follows <see cref="TailOptions.Units"/>: after <paramref name="cursor"/> when resuming; a
        /// first start shows the context (or everything since --since); a reconnect without a cursor starts at the end.
        /// </summary>
        public static string JournalCommand(TailOptions options, string? cursor, bool fresh = true)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var args = new List<string> { options.Grep ?? "", options.GrepExclude ?? "", JournalFilter, "--no-pager", "--follow", "--output=json", "--output-fields=" + JournalFields };
            foreach (var unit in options.Units) args.Add("--unit=" + unit);
            if (cursor != null) args.Add("--after-cursor=" + cursor);
            else if (!fresh) args.Add("--lines=0");
            else if (options.Since != null) args.Add("--since=" + options.Since.JournalctlValue());
            else args.Add("--lines=" + options.Lines.ToString(CultureInfo.InvariantCulture));
            return Command(JournalScript, args);
        }

        private static string Command(string script, IEnumerable<string> args)
        {
            // exec: the follower replaces the login shell the wrapper started, so ending the wrapper's process group ends it.
            var command = new StringBuilder("exec /bin/sh -c ").Append(ShellQuote.Single(script)).Append(' ').Append(ProcessName);
            foreach (var a in args) command.Append(' ').Append(ShellQuote.Single(a));
            return command.ToString();
        }

        private static string Seconds(TimeSpan t) => Math.Max(0.01, t.TotalSeconds).ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// How far a file has been sent: every line up to <see cref="Offset"/> of the file whose inode is <see cref="Inode"/>,
    /// where the 32 bytes before the offset were <see cref="Fingerprint"/> (hex; "-" at offset 0), so a new file that
    /// got the old one's inode number is told apart from it.
    /// </summary>
    public sealed class FilePosition
    {
        public FilePosition(string inode, long offset, string fingerprint)
        {
            Inode = inode;
            Offset = offset;
            Fingerprint = fingerprint;
        }

        public string Inode { get; }
        public long Offset { get; }
        public string Fingerprint { get; }
    }

    /// <summary>What the file follower says about a file, besides its lines (the word after <c>N i</c>).</summary>
    public enum FollowerNotice
    {
        /// <summary>Reconnected: going on from the same byte of the same file.</summary>
        Resumed,
        /// <summary>Reconnected after the file was rotated: reading the rest of the old file (found by inode), then the new one.</summary>
        ResumedRotated,
        /// <summary>Reconnected after a rotation whose old file is gone: lines written to it after the connection dropped are lost.</summary>
        GapRotated,
        /// <summary>Reconnected to a file that was truncated meanwhile: lines written before the truncation may be lost.</summary>
        GapTruncated,
        /// <summary>The name now points to a new file; the old one was read to its end.</summary>
        Rotated,
        /// <summary>The file shrank: following it from its start.</summary>
        Truncated,
        Missing,
        Appeared,
        NotAFile,
        Unreadable,
    }
}
