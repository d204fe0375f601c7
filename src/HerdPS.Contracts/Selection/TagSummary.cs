using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Selection
{
    /// <summary>One tag and the hosts that carry it (<c>herd list --tags</c>, <c>Get-FleetTag</c>).</summary>
    public sealed class TagSummary
    {
        public TagSummary(string tag, IReadOnlyList<string> hostNames)
        {
            Tag = tag;
            HostNames = new NameList(hostNames);
        }

        public string Tag { get; }
        public int HostCount => HostNames.Count;
        /// <summary>In inventory order.</summary>
        public NameList HostNames { get; }
    }

    /// <summary>One group and its hosts; an empty group has a count of zero.</summary>
    public sealed class GroupSummary
    {
        public GroupSummary(string group, IReadOnlyList<string> hostNames)
        {
            Group = group;
            HostNames = new NameList(hostNames);
        }

        public string Group { get; }
        public int HostCount => HostNames.Count;
        /// <summary>In inventory order.</summary>
        public NameList HostNames { get; }
    }
}
