using System;
using System.IO;
using System.Runtime.InteropServices;

namespace HerdPS.History
{
    /// <summary>Where the history database lives when the caller doesn't say.</summary>
    public static class HistoryLocation
    {
        /// <summary>The environment variable that points HerdPS at another history database.</summary>
        public const string PathVariable = "HERD_HISTORY";

        /// <summary>
        /// The history database path: <paramref name="explicitPath"/> if given, else <c>$HERD_HISTORY</c>,
        /// else <c>$XDG_DATA_HOME/herd/history.db</c> (default <c>~/.local/share/herd/history.db</c>), and on
        /// Windows <c>%LOCALAPPDATA%\herd\history.db</c>. Empty variables count as unset. A leading <c>~</c> is
        /// expanded, because a path in an environment variable or a scheduled task never went through a shell.
        /// </summary>
        public static string Resolve(string? explicitPath, Func<string, string?> getEnv)
            => Resolve(explicitPath, getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static string Resolve(string? explicitPath, Func<string, string?> getEnv, bool isWindows)
        {
            if (getEnv == null) throw new ArgumentNullException(nameof(getEnv));

            string? chosen = NonEmpty(explicitPath) ?? NonEmpty(getEnv(PathVariable));
            if (chosen != null) return Path.GetFullPath(ExpandHome(chosen, getEnv, isWindows));

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
