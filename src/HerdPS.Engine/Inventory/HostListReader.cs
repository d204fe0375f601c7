using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Reads a plain host list: one <c>[user@]host[:port]</c> per line (IPv6 with a port as
    /// <c>[::1]:22</c>, ranges such as <c>web[01-20]</c> expanded), <c>#</c> starting a comment, blank lines
    /// ignored. The hosts belong to no group and have no tags.
    /// </summary>
    internal sealed class HostListReader
    {
        private readonly string file;
        private readonly InventoryLimits limits;

        public HostListReader(string file, InventoryLimits limits)
        {
            this.file = file;
            this.limits = limits;
        }

        public FleetInventory Read(string text)
        {
            var builder = new InventoryBuilder(file, limits);
            var lines = text.Split('\n');
            for (int index = 0; index < lines.Length; index++)
            {
                string line = lines[index];
                int comment = line.IndexOf('#');
                if (comment >= 0) line = line.Substring(0, comment);
                string entry = line.Trim();
                if (entry.Length == 0) continue;

                int lineNumber = index + 1;
                int column = line.IndexOf(entry, StringComparison.Ordinal) + 1;
                if (!HostSpec.TryParse(entry, out var spec, out var reason))
                    throw new InventoryException(reason, file, lineNumber, column);

                var names = spec!.IsBracketedAddress ? new[] { spec.Host } : Expand(builder, spec.Host, lineNumber, column);
                foreach (var name in names)
                {
                    if (!NameRules.IsValidHostName(name, out reason))
                        throw new InventoryException(reason, file, lineNumber, column);
                    var host = new FleetHost(name) { User = spec.User, Port = spec.Port };
                    builder.AddHost(host, null, Array.Empty<string>(), lineNumber, column);
                }
            }
            return builder.Build(new InventoryDefaults());
        }

        private IReadOnlyList<string> Expand(InventoryBuilder builder, string pattern, int line, int column)
        {
            try
            {
                // Counted before it is built: a range past the host limit is refused without allocating its names.
                builder.CheckRoomForHosts(HostRange.Count(pattern), pattern, line, column);
                return HostRange.Expand(pattern, limits.MaxHosts);
            }
            catch (FormatException e)
            {
                throw new InventoryException(e.Message, file, line, column);
            }
        }
    }
}
