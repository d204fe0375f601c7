namespace HerdPS.Transport
{
    /// <summary>
    /// Builds the command string sent to the remote login shell.
    ///
    /// Killing a local ssh client does not end the remote command: without a terminal, sshd gives it no hangup.
    /// So the command runs under a small POSIX sh wrapper that keeps a watcher on the session's stdin (which we
    /// hold open for the whole run): when our side goes away, for a timeout or Ctrl-C, stdin ends and the watcher
    /// ends the session's whole process group (sshd makes each session its own group). The user's command still
    /// runs under the user's login shell (<c>$SHELL -c</c>), with stdin from /dev/null, so it behaves as it would
    /// under plain <c>ssh host 'command'</c>. Hosts without /bin/sh use <see cref="RemoteInvocation.Raw"/>.
    /// </summary>
    public static class RemoteCommand
    {
        // No single quotes inside: the script travels single-quoted. fd 3 keeps the real stdin for the watcher,
        // because an asynchronous list in sh gets /dev/null as stdin unless told otherwise.
        internal const string WrapperScript =
            "exec 3<&0; \"${SHELL:-/bin/sh}\" -c \"$1\" </dev/null 3<&- & c=$!; " +
            "{ while read -r x <&3; do :; done; kill -TERM 0; } & w=$!; exec 3<&-; " +
            "wait $c; s=$?; kill $w 2>/dev/null; printf \"\\036herd:exit=%d\\n\" $s >&2; exit $s";

        /// <summary>
        /// The wrapper ends stderr with this, then the exit code and a newline. ssh exits 255 both for its own
        /// failures and when a remote command does; a mux client whose master lost the connection exits 255
        /// without a word. The trailer tells them apart: no trailer means the command never reported an exit.
        /// </summary>
        public const string ExitTrailerPrefix = "\u001eherd:exit=";

        /// <summary>
        /// The remote command string. <c>exec</c> lets the wrapper replace the login shell instead of running as
        /// its child: one process fewer per command (bench/results.md measured the wrapper's cost).
        /// </summary>
        public static string Wrap(string command) =>
            "exec /bin/sh -c " + ShellQuote.Single(WrapperScript) + " herd " + ShellQuote.Single(command);
    }

    /// <summary>POSIX shell quoting: the one way a string is passed to a remote shell as exactly one word.</summary>
    public static class ShellQuote
    {
        /// <summary>Wraps in single quotes; each embedded single quote becomes '\'' . Safe for any content, newlines included.</summary>
        public static string Single(string value) => "'" + value.Replace("'", "'\\''") + "'";
    }
}
