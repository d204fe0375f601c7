using System;
using System.Collections.Generic;
using System.Linq;
using HerdPS.Display;
using HerdPS.Inventory;

namespace HerdPS.Selection
{
    /// <summary>
    /// Turns a <see cref="HostSelection"/> into the hosts a run touches:
    /// <list type="number">
    /// <item>no groups, tags or hosts: every host of the inventory;</item>
    /// <item>groups: the union of their hosts (an unknown group is an error listing the known ones);</item>
    /// <item>tags: hosts matching any clause (<see cref="TagExpression"/>); with groups, the intersection;</item>
    /// <item>hosts: added to that (union, as pdsh's -w with -g). Each entry first expands its pdsh ranges
    /// (<c>n[0001-0100]</c>, see <see cref="HostPattern"/>). A glob (<c>*</c>, <c>?</c>, <c>[abc]</c>)
    /// adds the inventory hosts it matches, and an entry whose globs match none is an error; a plain name adds that
    /// inventory host, or, when the inventory has no such host, an ad-hoc host parsed as
    /// <c>[user@]host[:port]</c> that takes the inventory defaults; <c>user@</c> or <c>:port</c> on an
    /// inventory host's name overrides its settings for this run;</item>
    /// <item>excludes: ranges expanded the same way, then globs matched against the names, removed last.</item>
    /// </list>
    /// The result is deduplicated and stable: inventory order, then ad-hoc hosts in the order given.
    /// A selection that ends up empty is a <see cref="SelectionException"/> saying why.
    /// </summary>
    public static class HostSelector
    {
        public static IReadOnlyList<FleetHost> Select(FleetInventory inventory, HostSelection selection)
        {
            if (inventory == null) throw new ArgumentNullException(nameof(inventory));
            if (selection == null) throw new ArgumentNullException(nameof(selection));

            var groups = ResolveGroups(inventory, selection.Groups);
            var tags = ParseTags(selection.Tags);
            var excludes = new Excludes(selection.Excludes, inventory.Limits.MaxHosts);

            // Inventory hosts chosen, each mapped to the instance to return (a copy when user@/:port overrode it).
            var chosen = new Dictionary<FleetHost, FleetHost>();
            bool byCriteria = groups.Count > 0 || tags != null;
            if (selection.IsEmpty || byCriteria)
            {
                foreach (var host in inventory.Hosts)
                {
                    bool inGroups = groups.Count == 0 || host.Groups.Any(g => groups.Contains(g));
                    bool hasTags = tags == null || tags.Matches(host.Tags);
                    if (inGroups && hasTags) chosen[host] = host;
                }
            }

            // Names are looked up, not searched for: a range of 100,000 names costs 100,000 lookups, not 100,000 scans.
            var byName = new Dictionary<string, FleetHost>(StringComparer.OrdinalIgnoreCase);
            foreach (var host in inventory.Hosts)
                if (!byName.ContainsKey(host.Name)) byName[host.Name] = host;
            var adHoc = new List<FleetHost>();
            var adHocByName = new Dictionary<string, FleetHost>(StringComparer.OrdinalIgnoreCase);
            // The names -H asks for count against the same limit as an inventory's hosts, all patterns together.
            long named = 0;
            foreach (var entry in selection.Hosts)
            {
                named += AddNamedHosts(inventory, byName, entry, chosen, adHoc, adHocByName, inventory.Limits.MaxHosts);
                if (named > inventory.Limits.MaxHosts)
                    throw new SelectionException($"the hosts named on the command line come to more than {inventory.Limits.MaxHosts:N0} names (the host limit; set ${InventoryLimits.MaxHostsVariable} to raise it)");
            }

            var selected = new List<FleetHost>();
            foreach (var host in inventory.Hosts)
                if (chosen.TryGetValue(host, out var picked)) selected.Add(picked);
            selected.AddRange(adHoc);

            int beforeExcludes = selected.Count;
            selected.RemoveAll(host => excludes.Matches(host.Name));

            if (selected.Count == 0)
                throw new SelectionException(DescribeEmpty(inventory, selection, groups, tags, beforeExcludes));
            return selected;
        }

        /// <summary>The patterns to leave out, ranges expanded: plain names in a set, globs tried one by one.</summary>
        private sealed class Excludes
        {
            private readonly HashSet<string> _names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            private readonly List<HostGlob> _globs = new List<HostGlob>();

            public Excludes(IEnumerable<string> patterns, int maxNames)
            {
                foreach (var pattern in patterns)
                {
                    try
                    {
                        foreach (var one in HostPattern.Expand(pattern, maxNames))
                        {
                            if (HostGlob.IsGlob(one)) _globs.Add(HostGlob.Parse(one));
                            else _names.Add(one);
                        }
                    }
                    catch (FormatException e)
                    {
                        throw new SelectionException(e.Message + " (in the hosts to exclude)", e);
                    }
                }
            }

            public bool Matches(string name)
            {
                if (_names.Contains(name)) return true;
                foreach (var glob in _globs) if (glob.Matches(name)) return true;
                return false;
            }
        }

        private static HashSet<string> ResolveGroups(FleetInventory inventory, IEnumerable<string> requested)
        {
            var known = new HashSet<string>(inventory.GroupNames, StringComparer.OrdinalIgnoreCase);
            var groups = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var group in requested)
            {
                if (!known.Contains(group))
                {
                    string knownList = inventory.GroupNames.Count == 0
                        ? $"{DescribeInventory(inventory)} has no groups"
                        : "known groups: " + TerminalText.Line(string.Join(", ", inventory.GroupNames), 500);
                    throw new SelectionException($"unknown group {TerminalText.Quote(group)}; {knownList}");
                }
                groups.Add(group);
            }
            return groups;
        }

        private static TagExpression? ParseTags(IReadOnlyCollection<string> clauses)
        {
            if (clauses.Count == 0) return null;
            try
            {
                return TagExpression.Parse(clauses);
            }
            catch (FormatException e)
            {
                throw new SelectionException(e.Message, e);
            }
        }

        /// <returns>How many names <paramref name="entry"/> stood for.</returns>
        private static int AddNamedHosts(FleetInventory inventory, Dictionary<string, FleetHost> byName, string entry,
            Dictionary<FleetHost, FleetHost> chosen, List<FleetHost> adHoc, Dictionary<string, FleetHost> adHocByName, int maxNames)
        {
            IReadOnlyList<string> expanded;
            try
            {
                expanded = HostPattern.Expand(entry, maxNames);
            }
            catch (FormatException e)
            {
                throw new SelectionException(e.Message, e);
            }

            bool anyGlob = false, anyGlobMatched = false;
            foreach (var one in expanded)
            {
                if (HostGlob.IsGlob(one) && !IsBracketedAddress(one))
                {
                    anyGlob = true;
                    anyGlobMatched |= AddMatches(inventory, one, chosen);
                    continue;
                }
                AddNamedHost(inventory, byName, one, chosen, adHoc, adHocByName);
            }
            if (anyGlob && !anyGlobMatched && expanded.All(one => HostGlob.IsGlob(one) && !IsBracketedAddress(one)))
                throw new SelectionException($"host pattern {TerminalText.Quote(entry)} matches no host in {DescribeInventory(inventory)}");            return expanded.Count;
        }

        /// <summary>Adds the inventory hosts a glob matches; false when it matches none.</summary>
        private static bool AddMatches(FleetInventory inventory, string pattern, Dictionary<FleetHost, FleetHost> chosen)
        {
            HostGlob glob;
            try
            {
                glob = HostGlob.Parse(pattern);
            }
            catch (FormatException e)
            {
                throw new SelectionException(e.Message, e);
            }
            bool any = false;
            foreach (var host in inventory.Hosts)
            {
                if (!glob.Matches(host.Name)) continue;
                any = true;
                if (!chosen.ContainsKey(host)) chosen[host] = host;
            }
            return any;
        }

        private static void AddNamedHost(FleetInventory inventory, Dictionary<string, FleetHost> byName, string entry,
            Dictionary<FleetHost, FleetHost> chosen, List<FleetHost> adHoc, Dictionary<string, FleetHost> adHocByName)
        {
            if (!FleetHost.TryParseAdHoc(entry, out var named, out var reason))
                throw new SelectionException(reason);

            if (byName.TryGetValue(named!.Name, out var known))
            {
                if (named.User == null && named.Port == null)
                {
                    if (!chosen.ContainsKey(known)) chosen[known] = known;
                    return;
                }
                var overridden = known.Copy();
                overridden.User = named.User ?? known.User;
                overridden.Port = named.Port ?? known.Port;
                if (chosen.TryGetValue(known, out var earlier) && earlier != known && !SameConnection(earlier, overridden))
                    throw new SelectionException($"host {TerminalText.Quote(known.Name)} is given twice with different user or port");
                chosen[known] = overridden;
                return;
            }

            var adHocHost = named;
            adHocHost.User ??= inventory.Defaults.User;
            adHocHost.Port ??= inventory.Defaults.Port;
            adHocHost.IdentityFile ??= inventory.Defaults.IdentityFile;
            if (!adHocByName.TryGetValue(adHocHost.Name, out var existing))
            {
                adHoc.Add(adHocHost);
                adHocByName[adHocHost.Name] = adHocHost;
            }
            else if (!SameConnection(existing, adHocHost))
                throw new SelectionException($"host {TerminalText.Quote(adHocHost.Name)} is given twice with different user or port");
        }

        private static bool SameConnection(FleetHost a, FleetHost b) =>
            string.Equals(a.User, b.User, StringComparison.Ordinal) && a.Port == b.Port;

        /// <summary><c>[::1]:22</c> and <c>root@[fe80::1]</c> are addresses, not glob sets: a set never holds ':'.</summary>
        private static bool IsBracketedAddress(string entry)
        {
            if (entry.IndexOf('*') >= 0 || entry.IndexOf('?') >= 0) return false;
            int open = entry.IndexOf('[');
            int close = open < 0 ? -1 : entry.IndexOf(']', open);
            return close > open && entry.IndexOf(':', open, close - open) >= 0;
        }

        private static string DescribeEmpty(FleetInventory inventory, HostSelection selection, HashSet<string> groups, TagExpression? tags, int beforeExcludes)
        {
            var reasons = new List<string>();
            if (inventory.Hosts.Count == 0)
            {
                reasons.Add($"{DescribeInventory(inventory)} has no hosts");
            }
            else
            {
                foreach (var group in selection.Groups)
                    if (!inventory.Hosts.Any(h => h.Groups.Contains(group, StringComparer.OrdinalIgnoreCase)))
                        reasons.Add($"group {TerminalText.Quote(group)} has no hosts");
                if (tags != null)
                {
                    var unknownTags = tags.Terms
                        .Where(t => !inventory.Hosts.Any(h => h.Tags.Contains(t, StringComparer.OrdinalIgnoreCase)))
                        .Distinct(StringComparer.OrdinalIgnoreCase)
                        .ToList();
                    foreach (var tag in unknownTags)
                        reasons.Add($"no host has the tag {TerminalText.Quote(tag)}");
                }
                if (beforeExcludes > 0)
                    reasons.Add(beforeExcludes == 1 ? "--exclude removed the one host that matched" : $"--exclude removed all {beforeExcludes} hosts that matched");
            }

            string message = $"the selection {TerminalText.Quote(selection.ToString(), 200)} matched no hosts";
            return reasons.Count == 0 ? message : message + ": " + string.Join("; ", reasons);
        }

        private static string DescribeInventory(FleetInventory inventory) =>
            inventory.IsEmbeddedDefault ? "the default inventory (this machine only)" : $"the inventory {TerminalText.Line(inventory.SourcePath)}";
    }
}
