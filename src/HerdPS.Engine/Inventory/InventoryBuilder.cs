using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Collects host definitions in file order into one host per name. A name defined again (in another
    /// group, or twice in a list) adds its groups and tags to the first definition, provided it connects
    /// the same way; otherwise the inventory is ambiguous and both places are named in the error.
    /// Host names compare case-insensitively, as DNS and ssh do.
    /// </summary>
    internal sealed class InventoryBuilder
    {
        private readonly string file;
        private readonly List<Entry> entries = new List<Entry>();
        private readonly Dictionary<string, Entry> entriesByName = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        private readonly List<string> groupNames = new List<string>();
        private readonly Dictionary<string, string> groupLocations = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        public InventoryBuilder(string file)
        {
            this.file = file;
        }

        public void AddGroup(string name, int line, int column)
        {
            if (groupLocations.TryGetValue(name, out var first))
                throw new InventoryException($"group '{name}' is already defined at {first}", file, line, column);
            groupLocations.Add(name, Location(line, column));
            groupNames.Add(name);
        }

        /// <summary>Adds a host whose connection settings are already resolved (host over group over defaults).</summary>
        public void AddHost(FleetHost host, string? group, IEnumerable<string> tags, int line, int column)
        {
            if (!entriesByName.TryGetValue(host.Name, out var entry))
            {
                host.Source = $"{file}:{line}";
                entry = new Entry(host, line, column);
                entries.Add(entry);
                entriesByName.Add(host.Name, entry);
            }
            else
            {
                string? conflict = FindConflict(entry.Host, host);
                if (conflict != null)
                {
                    throw new InventoryException(
                        $"host '{host.Name}' is defined at {Location(entry.Line, entry.Column)} and again here with a different {conflict}; " +
                        "a host listed more than once must connect the same way everywhere (set it in one place, or give the entries different names)",
                        file, line, column);
                }
            }

            if (group != null) AddDistinct(entry.Groups, group);
            foreach (var tag in tags) AddDistinct(entry.Tags, tag);
        }

        public FleetInventory Build(InventoryDefaults defaults)
        {
            var hosts = new List<FleetHost>(entries.Count);
            foreach (var entry in entries)
            {
                entry.Host.Groups = entry.Groups.ToArray();
                entry.Host.Tags = entry.Tags.ToArray();
                hosts.Add(entry.Host);
            }
            return new FleetInventory(hosts, groupNames.ToArray(), defaults, file);
        }

        private string Location(int line, int column) => $"{file}:{line}:{column}";

        /// <summary>The first connection setting on which two definitions of one host disagree, described for the user.</summary>
        private static string? FindConflict(FleetHost first, FleetHost second)
        {
            if (!string.Equals(first.Address, second.Address, StringComparison.OrdinalIgnoreCase))
                return $"hostname ({Show(first.Address)} vs {Show(second.Address)})";
            if (first.Port != second.Port)
                return $"port ({Show(first.Port?.ToString())} vs {Show(second.Port?.ToString())})";
            if (!string.Equals(first.User, second.User, StringComparison.Ordinal))
                return $"user ({Show(first.User)} vs {Show(second.User)})";
            if (!string.Equals(first.IdentityFile, second.IdentityFile, StringComparison.Ordinal))
                return $"identity_file ({Show(first.IdentityFile)} vs {Show(second.IdentityFile)})";
            if (first.Transport != second.Transport)
                return $"transport ({first.Transport.ToString().ToLowerInvariant()} vs {second.Transport.ToString().ToLowerInvariant()})";
            return null;
        }

        private static string Show(string? value) => value == null ? "not set" : "'" + value + "'";

        /// <summary>Tags and groups are case-insensitive; the first spelling seen is the one kept.</summary>
        private static void AddDistinct(List<string> list, string value)
        {
            foreach (var existing in list)
                if (string.Equals(existing, value, StringComparison.OrdinalIgnoreCase)) return;
            list.Add(value);
        }

        private sealed class Entry
        {
            public Entry(FleetHost host, int line, int column)
            {
                Host = host;
                Line = line;
                Column = column;
            }

            public FleetHost Host { get; }
            public int Line { get; }
            public int Column { get; }
            public List<string> Groups { get; } = new List<string>();
            public List<string> Tags { get; } = new List<string>();
        }
    }
}
