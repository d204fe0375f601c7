using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace HerdPS.Inventory
{
    /// <summary>
    /// The configs users already have: herd's <c>recipes:</c> names, and bssh's config (<c>defaults</c> with user, port,
    /// ssh_key, parallel, jump_host; <c>clusters.&lt;name&gt;.nodes</c> as strings or objects with host, port, user;
    /// <c>${VAR}</c> expanded from the environment), read as an inventory whose clusters are groups.
    /// </summary>
    internal sealed partial class YamlInventoryReader
    {
        private static readonly string[] BsshRootKeys = { "defaults", "clusters", "interactive", "modules" };
        private static readonly string[] BsshDefaultsKeys = { "user", "port", "ssh_key", "parallel", "jump_host", "timeout", "strict_host_key_checking" };
        private static readonly string[] BsshClusterKeys = { "nodes", "user", "port", "ssh_key", "parallel", "jump_host", "timeout", "interactive" };
        private static readonly string[] BsshNodeKeys = { "host", "port", "user" };
        private static readonly Regex EnvironmentVariable = new Regex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant);

        /// <summary>Set by the loader: where ${VAR} values come from (the process environment by default).</summary>
        public Func<string, string?> GetEnvironment { get; set; } = Environment.GetEnvironmentVariable;

        private static bool IsBsshConfig(YamlMappingNode root)
        {
            foreach (var pair in root.Children)
                if (pair.Key is YamlScalarNode k && k.Value == "clusters") return true;
            return false;
        }

        private Dictionary<string, YamlNode> ReadRecipeNames(YamlNode? node)
        {
            var recipes = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            if (node == null || IsNull(node)) return recipes;
            if (!(node is YamlMappingNode mapping))
                throw Error("'recipes' must be a mapping of recipe names to { description, steps, params }", node.Start);
            foreach (var pair in mapping.Children)
            {
                var key = RequireScalarKey(pair.Key);
                var name = key.Value ?? "";
                if (!Regex.IsMatch(name, @"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant))
                    throw Error($"recipe name '{QuotedText.Of(name)}' may use letters, digits, '.', '_' and '-' only", key.Start);
                recipes[name] = pair.Value;
            }
            return recipes;
        }

        private FleetInventory ReadBssh(YamlMappingNode root, InventoryBuilder builder)
        {
            var defaults = new InventoryDefaults();
            var inherited = new ConnectionSettings(null, null, null, Array.Empty<string>());
            var entries = ReadMapping(root, BsshRootKeys, "at the top level of a bssh config");
            foreach (var entry in entries)
                if (entry.Key == "defaults" && !IsNull(entry.Value))
                    inherited = ReadBsshSettings(RequireMapping(entry.Value, "defaults"), BsshDefaultsKeys, "in defaults", inherited, defaults);
            foreach (var entry in entries)
            {
                if (entry.Key != "clusters" || IsNull(entry.Value)) continue;
                if (!(entry.Value is YamlMappingNode clusters)) throw Error("'clusters' must be a mapping of cluster names to { nodes: [...] }", entry.Value.Start);
                foreach (var pair in clusters.Children)
                {
                    var keyNode = RequireScalarKey(pair.Key);
                    var name = keyNode.Value ?? "";
                    if (!NameRules.IsValidGroupName(name, out var reason)) throw Error(reason, keyNode.Start);
                    builder.AddGroup(name, Line(keyNode.Start), Column(keyNode.Start));
                    if (IsNull(pair.Value)) continue;
                    var cluster = RequireMapping(pair.Value, name);
                    var settings = ReadBsshSettings(cluster, BsshClusterKeys, $"in cluster '{QuotedText.Of(name)}'", inherited, null);
                    foreach (var ce in ReadMapping(cluster, BsshClusterKeys, $"in cluster '{QuotedText.Of(name)}'"))
                        if (ce.Key == "nodes") ReadBsshNodes(ce.Value, name, settings, builder);
                }
            }
            return builder.Build(defaults);
        }

        private ConnectionSettings ReadBsshSettings(YamlMappingNode mapping, string[] keys, string where, ConnectionSettings settings, InventoryDefaults? defaults)
        {
            foreach (var entry in ReadMapping(mapping, keys, where))
            {
                switch (entry.Key)
                {
                    case "user": settings = settings.WithUser(ReadUser(Expanded(entry.Value))); break;
                    case "port": settings = settings.WithPort(ReadPort(Expanded(entry.Value))); break;
                    case "ssh_key": settings = settings.WithIdentityFile(ReadPath(Expanded(entry.Value), entry.Key)); break;
                    case "parallel": if (defaults != null) defaults.Throttle = ReadPositiveInteger(entry.Value, entry.Key); break;
                    case "timeout":
                        var scalar = RequireScalar(entry.Value, entry.Key);
                        // bssh writes timeouts as seconds.
                        var t = int.TryParse(scalar.Value, out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : ReadDuration(entry.Value, entry.Key);
                        if (defaults != null) defaults.Timeout = t; else settings = settings.WithTimeout(t);
                        break;
                    case "jump_host":
                        // ProxyJump belongs in ssh_config, where herd's ssh reads it; refusing it is better than ignoring it.
                        throw Error("jump_host: herd connects through your ssh client, so write 'ProxyJump <host>' in ~/.ssh/config (or a -F file) for these hosts instead", entry.Value.Start);
                }
            }
            return settings;
        }

        private void ReadBsshNodes(YamlNode node, string cluster, ConnectionSettings settings, InventoryBuilder builder)
        {
            if (IsNull(node)) return;
            if (!(node is YamlSequenceNode nodes)) throw Error("'nodes' must be a list of hosts (user@host:port strings or { host, port, user })", node.Start);
            foreach (var item in nodes.Children)
            {
                if (item is YamlScalarNode scalar && !IsNull(scalar))
                {
                    var text = Expand(scalar.Value ?? "", scalar);
                    if (!HostSpec.TryParse(text, out var spec, out var reason)) throw Error(reason, scalar.Start);
                    var hostSettings = settings;
                    if (spec!.User != null) hostSettings = hostSettings.WithUser(spec.User);
                    if (spec.Port != null) hostSettings = hostSettings.WithPort(spec.Port.Value);
                    if (!NameRules.IsValidHostName(spec.Host, out reason)) throw Error(reason, scalar.Start);
                    builder.AddHost(CreateHost(spec.Host, null, hostSettings, HostTransportKind.Ssh), cluster, hostSettings.Tags, Line(scalar.Start), Column(scalar.Start));
                }
                else if (item is YamlMappingNode mapping)
                {
                    string? host = null;
                    var hostSettings = settings;
                    foreach (var entry in ReadMapping(mapping, BsshNodeKeys, "in a bssh node"))
                    {
                        switch (entry.Key)
                        {
                            case "host":
                                var h = Expanded(entry.Value);
                                host = h.Value ?? "";
                                if (!NameRules.IsValidHostName(host, out var reason)) throw Error(reason, h.Start);
                                break;
                            case "port": hostSettings = hostSettings.WithPort(ReadPort(Expanded(entry.Value))); break;
                            case "user": hostSettings = hostSettings.WithUser(ReadUser(Expanded(entry.Value))); break;
                        }
                    }
                    if (host == null) throw Error("this node has no 'host:'", mapping.Start);
                    builder.AddHost(CreateHost(host, null, hostSettings, HostTransportKind.Ssh), cluster, hostSettings.Tags, Line(mapping.Start), Column(mapping.Start));
                }
                else throw Error("a node is user@host:port or a mapping with host:, port:, user:", item.Start);
            }
        }

        /// <summary>A scalar with ${VAR} and $VAR expanded; an unset variable is an error (never an empty user or host).</summary>
        private YamlScalarNode Expanded(YamlNode node)
        {
            var scalar = RequireScalar(node, "value");
            scalar.Value = Expand(scalar.Value ?? "", scalar); // the tree is this read's own; errors keep the position
            return scalar;
        }

        private string Expand(string text, YamlScalarNode at) =>
            EnvironmentVariable.Replace(text, m =>
            {
                var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
                return GetEnvironment(name) ?? throw Error($"${{{name}}} is not set in the environment", at.Start);
            });
    }
}
