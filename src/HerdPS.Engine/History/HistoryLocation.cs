using System;
using System.IO;
using System.Net;
using System.Runtime.InteropServices;

namespace HerdPS.History
{
    /// <summary>Where the history is when the caller doesn't say, and which history a front end's words mean.</summary>
    public static class HistoryLocation
    {
        /// <summary>The environment variable that points HerdPS at another history: a file, or a PostgreSQL URL or connection string.</summary>
        public const string PathVariable = "HERD_HISTORY";

        /// <summary>
        /// The history database path: <paramref name="explicitPath"/> if given, else <c>$HERD_HISTORY</c>,
        /// else <c>$XDG_DATA_HOME/herd/history.db</c> (default <c>~/.local/share/herd/history.db</c>), and on
        /// Windows <c>%LOCALAPPDATA%\herd\history.db</c>. Empty variables count as unset. A leading <c>~</c> is
        /// expanded, because a path in an environment variable or a scheduled task never went through a shell.
        /// </summary>
        /// <exception cref="ArgumentException">The value chosen is a PostgreSQL connection, not a file (use <see cref="ResolveTarget(string, NetworkCredential, string, Func{string, string})"/>).</exception>
        public static string Resolve(string? explicitPath, Func<string, string?> getEnv)
            => Resolve(explicitPath, getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static string Resolve(string? explicitPath, Func<string, string?> getEnv, bool isWindows)
        {
            var target = ResolveTarget(explicitPath, null, null, getEnv, isWindows);
            if (target.IsServer) throw new ArgumentException($"the history is a PostgreSQL server ({target.Display}), not a file", "HistoryPath");
            return target.FilePath!;
        }

        /// <summary>
        /// Which history is meant, the first of: <paramref name="explicitLocation"/> (<c>--history</c>, <c>-HistoryPath</c>,
        /// <c>-HistoryConnection</c>), <c>$HERD_HISTORY</c>, <paramref name="configured"/> (the inventory's <c>history:</c>
        /// section), the per-user file. A value that looks like a URL or a connection string is a server, never a path.
        /// </summary>
        /// <exception cref="ArgumentException">A malformed connection, or a credential for a file.</exception>
        public static HistoryTarget ResolveTarget(string? explicitLocation, NetworkCredential? credential, string? configured, Func<string, string?> getEnv)
            => ResolveTarget(explicitLocation, credential, configured, getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static HistoryTarget ResolveTarget(string? explicitLocation, NetworkCredential? credential, string? configured, Func<string, string?> getEnv, bool isWindows)
        {
            if (getEnv == null) throw new ArgumentNullException(nameof(getEnv));
            string? fromEnv = NonEmpty(getEnv(PathVariable));
            string? chosen = NonEmpty(explicitLocation) ?? fromEnv ?? NonEmpty(configured);
            string parameter = NonEmpty(explicitLocation) != null ? "HistoryConnection" : fromEnv != null ? PathVariable : "history";
            HistoryTarget target = chosen == null
                ? HistoryTarget.FileAt(DefaultPath(getEnv, isWindows))
                : HistoryTarget.LooksLikeConnection(chosen)
                    ? HistoryTarget.Server(chosen, credential, parameter)
                    : HistoryTarget.File(ExpandHome(chosen, getEnv, isWindows));
            if (credential != null && !target.IsServer)
                throw new ArgumentException($"-HistoryCredential is for a PostgreSQL history; the history is the file {target.Display}", "HistoryCredential");
            return target;
        }

        /// <summary>The per-user history file: <c>$XDG_DATA_HOME/herd/history.db</c> (or <c>~/.local/share</c>), <c>%LOCALAPPDATA%\herd\history.db</c> on Windows.</summary>
        public static string DefaultPath(Func<string, string?> getEnv)
            => DefaultPath(getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        private static string DefaultPath(Func<string, string?> getEnv, bool isWindows)
        {
            if (isWindows)
            {
                string localAppData = NonEmpty(getEnv("LOCALAPPDATA"))
                    ?? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
                return Path.Combine(localAppData, "herd", "history.db");
            }

            // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
            string? xdgDataHome = NonEmpty(getEnv("XDG_DATA_HOME"));
            string dataHome = xdgDataHome != null && Path.IsPathRooted(xdgDataHome)
                ? xdgDataHome
                : Path.Combine(Home(getEnv, isWindows), ".local", "share");
            return Path.Combine(dataHome, "herd", "history.db");
        }

        /// <summary>
        /// Where runs for <paramref name="server"/> wait while it can't be reached: <c>spool/&lt;hash&gt;.db</c> in the
        /// per-user history folder, one file per server, database and user.
        /// </summary>
        public static string SpoolPath(HistoryTarget server, Func<string, string?> getEnv)
        {
            if (server == null || !server.IsServer) throw new ArgumentException("a spool is for a PostgreSQL history", nameof(server));
            return Path.Combine(Path.GetDirectoryName(DefaultPath(getEnv))!, "spool", server.SpoolFileName());
        }

        private static string ExpandHome(string path, Func<string, string?> getEnv, bool isWindows)
        {
            if (path == "~") return Home(getEnv, isWindows);
            if (path.StartsWith("~/", StringComparison.Ordinal) || (isWindows && path.StartsWith("~\\", StringComparison.Ordinal)))
                return Path.Combine(Home(getEnv, isWindows), path.Substring(2));
            return path;
        }

        private static string Home(Func<string, string?> getEnv, bool isWindows)
            => NonEmpty(getEnv(isWindows ? "USERPROFILE" : "HOME"))
               ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
