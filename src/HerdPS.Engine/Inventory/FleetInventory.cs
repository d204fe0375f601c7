using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
    /// <summary>Settings that apply to every host unless a group or host says otherwise.</summary>
    public sealed class InventoryDefaults
    {
        public string? User { get; set; }
        public int? Port { get; set; }
        public string? IdentityFile { get; set; }
        public int? Throttle { get; set; }
        public TimeSpan? Timeout { get; set; }
        public TimeSpan? ConnectTimeout { get; set; }
        public TimeSpan? HistoryRetention { get; set; }
        /// <summary>herd's defaults.output: "grouped" or "json" (what herd exec prints without --json).</summary>
        public string? Output { get; set; }
        /// <summary>
        /// The inventory's <c>history:</c> section: a PostgreSQL URL or connection string (<c>connection:</c>), or a SQLite
        /// file's path (<c>path:</c>, made absolute against the inventory's folder). Null: the usual places.
        /// </summary>
        public string? HistoryLocation { get; set; }
    }

    /// <summary>A loaded inventory: hosts in file order, deduplicated by name, with their groups and tags.</summary>
    public sealed class FleetInventory
    {
        public FleetInventory(IReadOnlyList<FleetHost> hosts, IReadOnlyList<string> groupNames, InventoryDefaults defaults, string? sourcePath,
            InventoryLimits? limits = null)
        {
            Hosts = hosts;
            GroupNames = groupNames;
            Defaults = defaults;
            SourcePath = sourcePath;
            Limits = limits ?? InventoryLimits.Default;
        }

        /// <summary>The file it came from; null for the embedded default.</summary>
        public string? SourcePath { get; }
        public bool IsEmbeddedDefault => SourcePath == null;
        public InventoryDefaults Defaults { get; }
        public IReadOnlyList<FleetHost> Hosts { get; }
        public IReadOnlyList<string> GroupNames { get; }
        /// <summary>The limits it was loaded under; a selection that expands ranges (<c>-H 'n[1-500]'</c>) keeps to the same.</summary>
        public InventoryLimits Limits { get; }
        /// <summary>herd's recipes: (name to its YAML), read as fleet scripts when one is run (Scripting.ScriptCatalog).</summary>
        public IReadOnlyDictionary<string, YamlDotNet.RepresentationModel.YamlNode> Recipes { get; internal set; } = new Dictionary<string, YamlDotNet.RepresentationModel.YamlNode>();
        /// <summary>The inventory's parsers: (herd exec --parse, a script step's parse:).</summary>
        public IReadOnlyDictionary<string, Parsing.OutputParser> Parsers { get; internal set; } = new Dictionary<string, Parsing.OutputParser>();
        /// <summary>The <c>notifications:</c> entries, in file order (empty when there are none).</summary>
        public IReadOnlyList<NotificationDefinition> Notifications { get; internal set; } = Array.Empty<NotificationDefinition>();

        public const string LocalHostName = "localhost";

        /// <summary>The inventory used when none exists: this machine, run without SSH.</summary>
        public static FleetInventory EmbeddedDefault(InventoryLimits? limits = null)
        {
            var local = new FleetHost(LocalHostName)
            {
                Transport = HostTransportKind.Local,
                Groups = new[] { "local" },
                Tags = new[] { "local" },
            };
            return new FleetInventory(new[] { local }, new[] { "local" }, new InventoryDefaults(), null, limits);
        }
    }
}
