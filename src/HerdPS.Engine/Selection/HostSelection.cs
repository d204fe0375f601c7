using System.Collections.Generic;

namespace HerdPS.Selection
{
    /// <summary>
    /// Which hosts a run touches, as the user said it. Groups are a union; each tag clause is an AND of
    /// comma-separated terms ('!' negates) and the clauses are OR-ed; groups and tags intersect; host names
    /// and globs add to the selection (a plain name not in the inventory is an ad-hoc host);
    /// excludes are globs removed last. No criteria at all selects every host of the inventory.
    /// </summary>
    public sealed class HostSelection
    {
        public List<string> Groups { get; } = new List<string>();
        public List<string> Tags { get; } = new List<string>();
        public List<string> Hosts { get; } = new List<string>();
        public List<string> Excludes { get; } = new List<string>();

        public bool IsEmpty => Groups.Count == 0 && Tags.Count == 0 && Hosts.Count == 0;

        /// <summary>A short, stable description ("group=web tag=prod,!staging"), stored with history runs.</summary>
        public override string ToString()
        {
            var parts = new List<string>();
            foreach (var g in Groups) parts.Add("group=" + g);
            foreach (var t in Tags) parts.Add("tag=" + t);
            foreach (var h in Hosts) parts.Add("host=" + h);
            foreach (var e in Excludes) parts.Add("exclude=" + e);
            return parts.Count == 0 ? "all" : string.Join(" ", parts);
        }
    }
}
