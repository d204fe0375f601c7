using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Collects host definitions in file order into one host per name. A name defined again (in another
    /// group, or twice in a list) adds its groups and tags to the first definition, provided it connects
    /// the same way; otherwise the inventory is ambiguous and both places are named in the error.
    /// Host names compare case-insensitively, as DNS and ssh do.
    /// Every step is linear, whatever the file: names, groups and tags are looked up in hash sets, and the
    /// <see cref="InventoryLimits"/> bound the host entries and the tags of a host.
    /// </summary>
    internal sealed class InventoryBuilder
    {
        private readonly string file;
        private readonly InventoryLimits limits;
        private long hostEntries;
        private readonly List<Entry> entries = new List<Entry>();
        private readonly Dictionary<string, Entry> entriesByName = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        private readonly List<string> groupNames = new List<string>();
        private readonly Dictionary<string, string> groupLocations = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        public InventoryBuilder(string file, InventoryLimits limits)
        {
            this.file = file;
            this.limits = limits;
        }

        public InventoryLimits Limits => limits;

        /// <summary>
        /// Checks that <paramref name="count"/> more host entries (the names of a range, before it is expanded)
        /// fit within <see cref="InventoryLimits.MaxHosts"/>; the error points at the entry that would overflow it.
        /// </summary>
        public void CheckRoomForHosts(long count, string entry, int line, int column)
        {
            if (count <= limits.MaxHosts - hostEntries) return;
            string what = count == 1
                ? $"'{QuotedText.Of(entry)}' is one host too many"
                : $"'{QuotedText.Of(entry)}' expands to {(count == long.MaxValue ? "more than 9 quintillion" : count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))} hosts" +
                  (hostEntries > 0 ? $", {hostEntries:N0} already listed before it" : "");
            throw new InventoryException($"{what}: that is past the inventory's limit ({limits.HowToRaiseHosts()})", file, line, column);
        }

        public void AddGroup(string name, int line, int column)
        {
            if (groupLocations.TryGetValue(name, out var first))
                throw new InventoryException($"group '{name}' is already defined at {first}", file, line, column);
            groupLocations.Add(name, Location(line, column));
            groupNames.Add(name);
        }

        /// <summary>
        /// Adds a host whose connection settings are already resolved (host over group over defaults).
        /// <paramref name="tags"/> must be distinct already (<see cref="DistinctTags"/>): a host seen for the first
        /// time shares the list rather than copying it, so a range of 100,000 hosts in a tagged group costs one list.
        /// </summary>
        public void AddHost(FleetHost host, string? group, IReadOnlyList<string> tags, int line, int column)
        {
            CheckRoomForHosts(1, host.Name, line, column);
            hostEntries++;
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

            if (group != null) entry.AddGroup(group);
            if (!entry.AddTags(tags, InventoryLimits.MaxTagsPerHost))
                throw new InventoryException(
                    $"host '{QuotedText.Of(host.Name)}' would have more than {InventoryLimits.MaxTagsPerHost} tags with the ones listed here " +
                    $"(it is first defined at {Location(entry.Line, entry.Column)}); that is the limit of tags per host",
                    file, line, column);
        }

        /// <summary>
        /// <paramref name="tags"/> without repeats (case-insensitive; the first spelling is kept), or null when more
        /// than <see cref="InventoryLimits.MaxTagsPerHost"/> remain. An array, so hosts can share it as it is.
        /// </summary>
        public static string[]? DistinctTags(IEnumerable<string> tags)
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var distinct = new List<string>();
            foreach (var tag in tags)
            {
                if (!seen.Add(tag)) continue;
                distinct.Add(tag);
                if (distinct.Count > InventoryLimits.MaxTagsPerHost) return null;
            }
            return distinct.ToArray();
        }

        public FleetInventory Build(InventoryDefaults defaults)
        {
            var hosts = new List<FleetHost>(entries.Count);
            foreach (var entry in entries)
            {
                entry.Host.Groups = entry.Groups.ToArray();
                entry.Host.Tags = entry.Tags as string[] ?? entry.Tags.ToArray(); // shared arrays stay shared
                hosts.Add(entry.Host);
            }
            return new FleetInventory(hosts, groupNames.ToArray(), defaults, file, limits);
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
            private HashSet<string>? groupSet;

            /// <summary>
            /// The host's tags: the first list it was given, shared with every host given the same list, until a
            /// later definition adds tags; then a list of its own with a set beside it for linear merging.
            /// </summary>
            public IReadOnlyList<string> Tags { get; private set; } = Array.Empty<string>();
            private List<string>? ownTags;
            private HashSet<string>? tagSet;

            /// <summary>Groups and tags are case-insensitive; the first spelling seen is the one kept.</summary>
            public void AddGroup(string group)
            {
                if (groupSet != null)
                {
                    if (groupSet.Add(group)) Groups.Add(group);
                    return;
                }
                foreach (var existing in Groups)
                    if (string.Equals(existing, group, StringComparison.OrdinalIgnoreCase)) return;
                Groups.Add(group);
                // A short list is searched; past a few groups a set keeps a host listed in thousands of groups linear.
                if (Groups.Count == 8) groupSet = new HashSet<string>(Groups, StringComparer.OrdinalIgnoreCase);
            }

            /// <summary>Adds distinct tags; false when the host would end up with more than <paramref name="max"/>.</summary>
            public bool AddTags(IReadOnlyList<string> tags, int max)
            {
                if (tags.Count == 0 || ReferenceEquals(tags, Tags)) return true;
                if (Tags.Count == 0)
                {
                    Tags = tags;
                    return tags.Count <= max;
                }
                if (ownTags == null)
                {
                    ownTags = new List<string>(Tags);
                    tagSet = new HashSet<string>(Tags, StringComparer.OrdinalIgnoreCase);
                    Tags = ownTags;
                }
                foreach (var tag in tags)
                {
                    if (!tagSet!.Add(tag)) continue;
                    ownTags.Add(tag);
                    if (ownTags.Count > max) return false;
                }
                return true;
            }
        }
    }
}
