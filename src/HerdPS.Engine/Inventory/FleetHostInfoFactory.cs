using System;
using System.Linq;

namespace HerdPS.Inventory
{
    /// <summary>Builds the <see cref="FleetHostInfo"/> users see from the inventory's <see cref="FleetHost"/>.</summary>
    public static class FleetHostInfoFactory
    {
        public static FleetHostInfo From(FleetHost host)
        {
            if (host == null) throw new ArgumentNullException(nameof(host));
            return new FleetHostInfo
            {
                HostName = host.Name,
                Address = host.Address,
                Port = host.Port,
                User = host.User,
                IdentityFile = host.IdentityFile,
                Transport = host.Transport,
                Groups = host.Groups.ToArray(),
                Tags = host.Tags.ToArray(),
                Source = host.Source,
            };
        }
    }
}
