using System;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Loads an inventory file: YAML (docs/inventory.md) or a plain host list. Every problem is an
    /// <see cref="InventoryException"/> naming the file and, where there is one, the line and column.
    /// </summary>
    public static class InventoryLoader
    {
        // One of the inventory's top-level keys followed by a space or the end of the line. A host list line
        // such as "web-01:22" or even "web:" (a missing port) doesn't look like that.
        private static readonly Regex YamlMappingLine = new Regex(@"^(defaults|groups|hosts|clusters|recipes|parsers|history|notifications):(\s|$)", RegexOptions.CultureInvariant);

        /// <summary>
        /// Reads <paramref name="path"/>. Files named <c>.yaml</c>/<c>.yml</c> are YAML; other files are YAML
        /// when their first line that isn't blank or a comment is <c>---</c>, a <c>%</c> directive, or
        /// <c>defaults:</c>, <c>groups:</c> or <c>hosts:</c>, and a plain host list otherwise.
        /// The limits are the defaults with <c>HERD_MAX_HOSTS</c> applied (<see cref="InventoryLimits.FromEnvironment"/>).
        /// </summary>
        public static FleetInventory Load(string path) => LoadWithin(path, InventoryLimits.FromEnvironment(Environment.GetEnvironmentVariable));

        /// <summary>
        /// <see cref="Load(string)"/> under the given limits. (Not an overload of Load: the module's tests and
        /// scripts find Load by name through reflection, and an overload would make that ambiguous.)
        /// </summary>
        public static FleetInventory LoadWithin(string path, InventoryLimits limits)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            if (limits == null) throw new ArgumentNullException(nameof(limits));
            string text = ReadText(path);
            return Parse(path, text, limits);
        }

        /// <summary>
        /// Reads an inventory from text already in memory, as <see cref="LoadWithin"/> reads a file:
        /// <paramref name="path"/> names it in errors and decides, by its extension, whether it is YAML. For tests
        /// (the fuzz harness in particular) and for front ends that have the text already.
        /// </summary>
        public static FleetInventory Parse(string path, string text, InventoryLimits limits)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            if (text == null) throw new ArgumentNullException(nameof(text));
            if (limits == null) throw new ArgumentNullException(nameof(limits));
            return LooksLikeYaml(path, text)
                ? new YamlInventoryReader(path, limits).Read(text)
                : new HostListReader(path, limits).Read(text);
        }

        /// <summary>
        /// The inventory <see cref="InventoryLocator.Find"/> points at, or, when there is none, the embedded
        /// default (this machine) with a <paramref name="notice"/> for the front end to show. An explicit path
        /// or <c>$HERD_INVENTORY</c> that doesn't exist is an error, never a fallback.
        /// </summary>
        public static FleetInventory LoadOrDefault(string? explicitPath, Func<string, string?> getEnv, out string? notice)
        {
            var limits = InventoryLimits.FromEnvironment(getEnv);
            string? path = InventoryLocator.Find(explicitPath, getEnv);
            if (path != null)
            {
                notice = null;
                return LoadWithin(path, limits);
            }
            notice = NoInventoryNotice(getEnv, localMachineSelected: true);
            return FleetInventory.EmbeddedDefault(limits);
        }

        /// <summary>
        /// What to tell the user when no inventory file exists: where we looked, and what runs instead. "using the
        /// local machine" only when it is the target; hosts named explicitly (<c>-H db1</c>) are used as named.
        /// </summary>
        public static string NoInventoryNotice(Func<string, string?> getEnv, bool localMachineSelected)
        {
            var looked = InventoryLocator.DefaultLocations(getEnv);
            var where = looked.Count == 0
                ? $"no home directory to look in; pass --inventory or set ${InventoryLocator.EnvironmentVariable}"
                : "looked in " + string.Join(", ", looked);
            return localMachineSelected
                ? $"no inventory found ({where}); using the local machine"
                : $"no inventory found ({where}); using the named hosts as given, with ssh_config's settings";
        }

        private static string ReadText(string path)
        {
            if (Directory.Exists(path))
                throw new InventoryException("this is a directory, not an inventory file", path);
            try
            {
                return File.ReadAllText(path, new UTF8Encoding(false));
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw new InventoryException("inventory file not found", path, inner: e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new InventoryException("can't read the inventory: permission denied", path, inner: e);
            }
            catch (Exception e) when (e is IOException || e is NotSupportedException || e is ArgumentException)
            {
                throw new InventoryException("can't read the inventory: " + e.Message, path, inner: e);
            }
        }

        private static bool LooksLikeYaml(string path, string text)
        {
            string extension = Path.GetExtension(path);
            if (extension.Equals(".yaml", StringComparison.OrdinalIgnoreCase) || extension.Equals(".yml", StringComparison.OrdinalIgnoreCase))
                return true;

            using (var reader = new StringReader(text))
            {
                string? line;
                while ((line = reader.ReadLine()) != null)
                {
                    string trimmed = line.Trim().TrimStart('\uFEFF');
                    if (trimmed.Length == 0 || trimmed.StartsWith("#", StringComparison.Ordinal)) continue;
                    return trimmed.StartsWith("---", StringComparison.Ordinal)
                        || trimmed.StartsWith("%", StringComparison.Ordinal)
                        || YamlMappingLine.IsMatch(trimmed);
                }
            }
            return false;
        }
    }
}
