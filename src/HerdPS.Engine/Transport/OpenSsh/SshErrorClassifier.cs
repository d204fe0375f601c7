using System;
using System.Linq;

namespace HerdPS.Transport.OpenSsh
{
    /// <summary>The reading of an ssh failure: what kind, what to tell the user, and whether a retry is safe.</summary>
    public sealed class SshFailure
    {
        public SshFailure(FleetErrorKind kind, string message, bool beforeSession)
        {
            Kind = kind;
            Message = message;
            BeforeSession = beforeSession;
        }

        public FleetErrorKind Kind { get; }
        public string Message { get; }
        /// <summary>The remote command cannot have started yet.</summary>
        public bool BeforeSession { get; }

        /// <summary>Host key and login problems won't fix themselves in a second; network ones may.</summary>
        public bool IsTransient =>
            Kind == FleetErrorKind.ConnectionRefused || Kind == FleetErrorKind.ConnectTimeout
            || Kind == FleetErrorKind.NameResolution || Kind == FleetErrorKind.TransportError;
    }

    /// <summary>
    /// Reads ssh's exit status and its own stderr lines. ssh exits 255 for its own errors, but a remote command
    /// may also exit 255; only a 255 that comes with one of ssh's own messages is a transport failure.
    /// </summary>
    public static class SshErrorClassifier
    {
        public static SshFailure? Classify(int exitCode, string stderr, string hostName)
        {
            if (exitCode != 255) return null;
            var text = stderr ?? "";
            bool Has(string s) => text.IndexOf(s, StringComparison.OrdinalIgnoreCase) >= 0;
            var raw = LastSshLine(text);

            if (Has("REMOTE HOST IDENTIFICATION HAS CHANGED") || Has("Host key for") && Has("has changed"))
                return new SshFailure(FleetErrorKind.HostKeyMismatch,
                    $"the host key of {hostName} does not match the one in known_hosts: either the host was reinstalled or someone is intercepting the connection. " +
                    $"Verify the new key out of band; if the change is expected, remove the old entry with 'ssh-keygen -R {hostName}' and connect again. ({raw})", true);
            if (Has("Host key verification failed") || Has("host key is known for") || Has("No matching host key"))
                return new SshFailure(FleetErrorKind.HostKeyUnknown,
                    $"the host key of {hostName} is not in known_hosts, and host keys are checked. Verify the key and add it (connect once with ssh, or ssh-keyscan), " +
                    $"or run with --accept-new-host-keys (-AcceptNewHostKey) to learn keys of new hosts on first use. ({raw})", true);
            if (Has("Permission denied (") || Has("Too many authentication failures") || Has("no more authentication methods"))
                return new SshFailure(FleetErrorKind.AuthenticationFailed,
                    $"authentication to {hostName} failed: check the user name, the key (identity file) and that the key is loaded in ssh-agent. ({raw})", true);
            if (Has("Could not resolve hostname") || Has("Name or service not known") || Has("Temporary failure in name resolution") || Has("nodename nor servname"))
                return new SshFailure(FleetErrorKind.NameResolution, $"the name of {hostName} could not be resolved. ({raw})", true);
            if (Has("Connection refused"))
                return new SshFailure(FleetErrorKind.ConnectionRefused, $"{hostName} refused the connection (nothing listening on the ssh port?). ({raw})", true);
            if (Has("timed out") || Has("Operation timed out"))
                return new SshFailure(FleetErrorKind.ConnectTimeout, $"connecting to {hostName} timed out. ({raw})", true);

            var afterSession = Has("closed by remote host") && !Has("kex_exchange_identification") || Has("client_loop:") || Has("Broken pipe");
            var sshOwn = text.Split('\n').Any(IsSshOwnLine);
            if (!sshOwn && !afterSession) return null; // the remote command itself exited 255
            return new SshFailure(FleetErrorKind.TransportError,
                afterSession ? $"the connection to {hostName} was lost while the command ran. ({raw})" : $"ssh could not set up a session with {hostName}. ({raw})",
                !afterSession);
        }

        private static bool IsSshOwnLine(string line)
        {
            line = line.Trim();
            return line.StartsWith("ssh:", StringComparison.Ordinal)
                || line.StartsWith("kex_exchange_identification", StringComparison.Ordinal)
                || line.StartsWith("Connection closed by", StringComparison.Ordinal)
                || line.StartsWith("Connection reset by", StringComparison.Ordinal)
                || line.StartsWith("mux_client", StringComparison.Ordinal)
                || line.StartsWith("Control socket", StringComparison.Ordinal)
                || line.StartsWith("ControlSocket", StringComparison.Ordinal)
                || line.StartsWith("banner exchange", StringComparison.Ordinal)
                || line.StartsWith("Bad owner or permissions", StringComparison.Ordinal)
                || line.StartsWith("Can't open user config file", StringComparison.Ordinal)
                || line.Contains("line ") && line.Contains("Bad configuration option")
                || line.StartsWith("command-line line", StringComparison.Ordinal)
                || line.StartsWith("Unable to negotiate", StringComparison.Ordinal);
        }

        /// <summary>The most telling line of ssh's stderr: the last non-empty one that isn't a banner of @ signs.</summary>
        private static string LastSshLine(string stderr)
        {
            var lines = stderr.Split(new[] { '\n', '\r' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("@", StringComparison.Ordinal)).ToArray();
            return lines.Length == 0 ? "ssh exited 255 with no message" : lines[lines.Length - 1];
        }
    }
}
