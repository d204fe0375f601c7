using System;
using System.Globalization;

namespace HerdPS.Transport
{
    /// <summary>
    /// The POSIX <c>sh</c> wrapper every SSH transport sends the command in, and the markers it writes on stderr.
    ///
    /// Ending a local ssh client does not end the remote command: without a terminal, the server gives it no
    /// hangup. So the wrapper runs the user's command under the login shell (<c>$SHELL -c</c>, stdin from
    /// /dev/null) in a process group of its own (<c>setsid</c>, where the host has it), and watches the session's
    /// stdin, which we hold open for the whole run. When we close it (the runner's timeout or Ctrl-C; or this side
    /// died), the wrapper sends TERM to the command's group, waits the grace period for it to go, then sends KILL,
    /// and reports which ended it. Its own group is left alone: on Dropbear the session shares its group with the
    /// server process of the connection, which a group-wide TERM would kill along with every multiplexed session.
    /// Hosts without /bin/sh use <see cref="RemoteInvocation.Raw"/>.
    ///
    /// On stderr the wrapper writes <see cref="StartMarker"/> before the command starts, so a stop or a lost
    /// connection before it means the command never started (a retry is safe); and at the very end
    /// <see cref="ExitTrailerPrefix"/>, the exit status and, after a stop, <c>,stopped=TERM</c> or
    /// <c>,stopped=KILL</c>: ssh exits 255 both for its own failures and for a command's own <c>exit 255</c>, and a mux
    /// client whose master lost the connection exits 255 without a word, so only the trailer says the command's
    /// status. The trailer ends with <c>,sh</c> when the login shell is /bin/sh: the SSH.NET pool then sends later
    /// commands on that connection without the /bin/sh hop (<see cref="Wrap"/>). <see cref="OutputCapture"/> takes
    /// both markers off the output.
    /// </summary>
    public static class RemoteCommand
    {
        // No single quotes inside: the script travels single-quoted. $1 is the command, $2 the grace in tenths of a
        // second. fd 3 keeps the real stdin for the watcher, because an asynchronous list in sh gets /dev/null as
        // stdin unless told otherwise. The watcher tells the wrapper with USR1 (a trap with a handler, which the
        // command does not inherit). "kill -0 $c" after wait tells a wait cut short by USR1 from the command's end.
        // While the wrapper sleeps in the foreground the shell reaps the command, so the polling sees it go. The
        // polling watches the command's own process, not its group: a group member that outlived its parent is an
        // orphan only init reaps, and in a container that may take a while. Once the command is gone (or the grace
        // is over), KILL sweeps whatever is left in its group; the report says TERM when the command itself went on TERM.
        // kill takes "-SIG -pgid" (no "--": dash and BusyBox read it as a pid). "-c -- $1": a command that starts
        // with "-" (herd exec -- -x ...) is the command, not options of the shell (dash, bash, BusyBox, zsh agree).
        internal const string WrapperScript =
            "trap \"q=1\" USR1; printf \"\\036herd:start\\n\" >&2; exec 3<&0; " +
            "if command -v setsid >/dev/null 2>&1; then setsid \"${SHELL:-/bin/sh}\" -c -- \"$1\" </dev/null 3<&- & c=$!; g=-$c; " +
            "else \"${SHELL:-/bin/sh}\" -c -- \"$1\" </dev/null 3<&- & c=$!; g=$c; fi; " +
            WrapperWatchAndEnd;

        // The variant for RemoteInvocation.CommandInputLine: the wrapper reads the first line of stdin into a shell
        // variable and gives it to the command as its whole stdin through a pipe from the builtin printf (a forked
        // shell, no exec: the line never shows in any process's arguments), then watches the rest of stdin as above.
        // A /bin/sh without a builtin printf (mksh) gets an empty line instead, and says why on stderr.
        internal const string WrapperScriptWithInputLine =
            "trap \"q=1\" USR1; IFS= read -r p; printf \"\\036herd:start\\n\" >&2; " +
            "case $(command -v printf) in printf) ;; *) p=; echo \"herd: /bin/sh on this host has no builtin printf: the input line was not passed\" >&2;; esac; exec 3<&0; " +
            "if command -v setsid >/dev/null 2>&1; then printf \"%s\\n\" \"$p\" | setsid \"${SHELL:-/bin/sh}\" -c -- \"$1\" 3<&- & c=$!; g=-$c; " +
            "else printf \"%s\\n\" \"$p\" | \"${SHELL:-/bin/sh}\" -c -- \"$1\" 3<&- & c=$!; g=$c; fi; p=; " +
            WrapperWatchAndEnd;

        private const string WrapperWatchAndEnd =
            "{ while read -r x <&3; do :; done; kill -USR1 $$; } 2>/dev/null & w=$!; exec 3<&-; " +
            "wait $c; s=$?; e=; " +
            "if [ -n \"$q\" ] && kill -0 $c 2>/dev/null; then e=TERM; kill -TERM $g 2>/dev/null; n=0; " +
            "while kill -0 $c 2>/dev/null && [ $n -lt $2 ]; do if sleep 0.1 2>/dev/null; then n=$((n+1)); else sleep 1; n=$((n+10)); fi; done; " +
            "if kill -0 $c 2>/dev/null; then e=KILL; fi; kill -KILL $g 2>/dev/null; wait $c; s=$?; fi; " +
            "kill $w 2>/dev/null; l=; if [ \"$SHELL\" = /bin/sh ]; then l=,sh; fi; " +
            "printf \"\\036herd:exit=%d%s%s\\n\" $s \"${e:+,stopped=$e}\" \"$l\" >&2; exit $s";

        /// <summary>The wrapper's first line on stderr, before the command starts.</summary>
        public const string StartMarker = "\u001eherd:start\n";

        /// <summary>
        /// The wrapper ends stderr with this, the exit status, optionally <c>,stopped=TERM|KILL</c>, then <c>,sh</c> when
        /// the login shell (<c>$SHELL</c>, which sshd sets to the one it runs the command string with) is /bin/sh itself,
        /// and a newline.
        /// </summary>
        public const string ExitTrailerPrefix = "\u001eherd:exit=";

        /// <summary>
        /// The remote command string. <c>exec</c> lets the wrapper replace the login shell instead of running as
        /// its child: one process fewer per command (bench/results.md measured the wrapper's cost).
        /// </summary>
        /// <param name="withInputLine">The wrapper reads one line from stdin first and gives it to the command as its
        /// stdin (<see cref="RemoteInvocation.CommandInputLine"/>).</param>
        /// <param name="loginShellIsSh">The login shell is known to be /bin/sh (an earlier trailer on the same connection
        /// said <c>,sh</c>): the login shell runs the wrapper itself, with the same arguments, instead of starting
        /// another /bin/sh for it. The same script in the same shell, one exec fewer per command on the host (about a
        /// fifth of its CPU for a short command). The hop stays for any other login shell: csh or fish can't read the
        /// script, and bash or zsh would run it in another shell than the one its tests run it in.</param>
        public static string Wrap(string command, TimeSpan? stopGrace = null, bool withInputLine = false, bool loginShellIsSh = false)
        {
            var tenths = Math.Max(1, (int)Math.Ceiling((stopGrace ?? RemoteInvocation.DefaultStopGrace).TotalMilliseconds / 100));
            var script = withInputLine ? WrapperScriptWithInputLine : WrapperScript;
            var arguments = ShellQuote.Single(command) + " " + tenths.ToString(CultureInfo.InvariantCulture);
            return loginShellIsSh
                ? "set -- " + arguments + "; " + script
                : "exec /bin/sh -c " + ShellQuote.Single(script) + " herd " + arguments;
        }

        /// <summary>
        /// Reads a trailer line (from <see cref="ExitTrailerPrefix"/> to its newline, both included): the exit status
        /// and how a stop ended it. False when the text is not exactly a trailer.
        /// </summary>
        public static bool TryParseTrailer(string line, out int exitCode, out EndSignal stoppedWith) =>
            TryParseTrailer(line, out exitCode, out stoppedWith, out _);

        /// <summary>As above, and whether the wrapper said its login shell is /bin/sh (<c>,sh</c>).</summary>
        public static bool TryParseTrailer(string line, out int exitCode, out EndSignal stoppedWith, out bool loginShellIsSh)
        {
            exitCode = 0;
            stoppedWith = EndSignal.None;
            loginShellIsSh = false;
            if (!line.StartsWith(ExitTrailerPrefix, StringComparison.Ordinal) || !line.EndsWith("\n", StringComparison.Ordinal)) return false;
            var fields = line.Substring(ExitTrailerPrefix.Length, line.Length - ExitTrailerPrefix.Length - 1).Split(',');
            // In the order the wrapper writes them, each at most once.
            var next = 1;
            if (next < fields.Length && fields[next].StartsWith("stopped=", StringComparison.Ordinal))
            {
                switch (fields[next])
                {
                    case "stopped=TERM": stoppedWith = EndSignal.Terminate; break;
                    case "stopped=KILL": stoppedWith = EndSignal.Kill; break;
                    default: return false;
                }
                next++;
            }
            if (next < fields.Length && fields[next] == "sh")
            {
                loginShellIsSh = true;
                next++;
            }
            if (next != fields.Length) return false;
            return int.TryParse(fields[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exitCode);
        }
    }

    /// <summary>POSIX shell quoting: the one way a string is passed to a remote shell as exactly one word.</summary>
    public static class ShellQuote
    {
        /// <summary>Wraps in single quotes; each embedded single quote becomes '\'' . Safe for any content, newlines included.</summary>
        public static string Single(string value) => "'" + value.Replace("'", "'\\''") + "'";
    }
}
