using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Where the inventory is: an explicit path, else <c>$HERD_INVENTORY</c>, else the per-user file
    /// (<c>$XDG_CONFIG_HOME/herd/inventory.yaml</c>, default <c>~/.config/herd/inventory.yaml</c>; on
    /// Windows <c>%APPDATA%\herd\inventory.yaml</c>). The environment is read through a function so that
    /// front ends and tests decide where it comes from.
    /// </summary>
    public static class InventoryLocator
    {
        public const string EnvironmentVariable = "HERD_INVENTORY";
        public const string FileName = "inventory.yaml";

        /// <summary>
        /// The inventory path, or null when no per-user inventory exists (the caller then uses
        /// <see cref="FleetInventory.EmbeddedDefault"/>). A path the user named (explicitly or through
        /// <c>$HERD_INVENTORY</c>) that doesn't exist throws <see cref="InventoryException"/>: falling back
        /// to another inventory would run commands on hosts the user didn't mean.
        /// </summary>
        public static string? Find(string? explicitPath, Func<string, string?> getEnv) =>
            Find(explicitPath, getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static string? Find(string? explicitPath, Func<string, string?> getEnv, bool isWindows)
        {
            if (getEnv == null) throw new ArgumentNullException(nameof(getEnv));

            if (!string.IsNullOrEmpty(explicitPath))
                return RequireFile(ExpandHome(explicitPath!, getEnv, isWindows), "the inventory given");

            string? fromEnvironment = getEnv(EnvironmentVariable);
            if (!string.IsNullOrEmpty(fromEnvironment))
                return RequireFile(ExpandHome(fromEnvironment!, getEnv, isWindows), $"${EnvironmentVariable}");

            foreach (var candidate in DefaultLocations(getEnv, isWindows))
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>The per-user locations looked in when no path is named, for messages that say where we looked.</summary>
        public static IReadOnlyList<string> DefaultLocations(Func<string, string?> getEnv) =>
            DefaultLocations(getEnv, RuntimeInformation.IsOSPlatform(OSPlatform.Windows));

        internal static IReadOnlyList<string> DefaultLocations(Func<string, string?> getEnv, bool isWindows)
        {
            if (isWindows)
            {
                string? appData = getEnv("APPDATA");
                return string.IsNullOrEmpty(appData)
                    ? Array.Empty<string>()
                    : new[] { Path.Combine(appData!, "herd", FileName) };
            }

            // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
            string? configHome = getEnv("XDG_CONFIG_HOME");
            if (!string.IsNullOrEmpty(configHome) && Path.IsPathRooted(configHome))
                return new[] { Path.Combine(configHome!, "herd", FileName) };

            string? home = getEnv("HOME");
            return string.IsNullOrEmpty(home)
                ? Array.Empty<string>()
                : new[] { Path.Combine(home!, ".config", "herd", FileName) };
        }

        private static string RequireFile(string path, string whose)
        {
            string full;
            try
            {
                full = Path.GetFullPath(path);
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new InventoryException($"{whose} is not a valid path: {e.Message}", path, inner: e);
            }
            if (Directory.Exists(full))
                throw new InventoryException($"{whose} is a directory, not an inventory file", full);
            if (!File.Exists(full))
                throw new InventoryException($"inventory file not found ({whose})", full);
            return full;
        }

        /// <summary>
        /// A leading <c>~</c> means the home directory. PowerShell doesn't expand it in a string parameter,
        /// and an environment variable is never expanded by a shell, so we do it here.
        /// </summary>
        private static string ExpandHome(string path, Func<string, string?> getEnv, bool isWindows)
        {
            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || (isWindows && path.StartsWith("~\\", StringComparison.Ordinal)))
            {
                string? home = getEnv(isWindows ? "USERPROFILE" : "HOME");
                if (!string.IsNullOrEmpty(home)) return home + path.Substring(1);
            }
            return path;
        }
    }
}
