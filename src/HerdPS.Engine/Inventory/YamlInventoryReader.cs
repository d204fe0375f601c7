using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace HerdPS.Inventory
{
    /// <summary>
    /// Reads the YAML inventory format (docs/inventory.md) from YamlDotNet's node tree rather than into
    /// classes, so that every value keeps its line and column and every error can point at it. Nothing is
    /// ignored: an unknown key, a value of the wrong shape or a bad name stops the load.
    /// </summary>
    internal sealed partial class YamlInventoryReader
    {
        // recipes and parsers: herd's config.yaml holds them beside the hosts (docs/scripts.md); clusters: a bssh config.
        private static readonly string[] RootKeys = { "defaults", "groups", "hosts", "recipes", "parsers", "history", "notifications" };
        private static readonly string[] HistoryKeys = { "connection", "path" };
        private static readonly string[] DefaultsKeys = { "user", "port", "throttle", "timeout", "connect_timeout", "history_retention", "identity_file", "concurrency", "output" };
        private static readonly string[] GroupKeys = { "user", "port", "tags", "identity_file", "transport", "hosts", "timeout" };
        private static readonly string[] WebhookKeys = { "name", "type", "url", "method", "headers", "body", "on", "cooldown", "timeout", "retries" };
        private static readonly string[] SlackKeys = { "name", "type", "webhook", "headers", "body", "on", "cooldown", "timeout", "retries" };
        private static readonly string[] ScriptKeys = { "name", "type", "command", "body", "on", "cooldown", "timeout", "retries" };
        private static readonly string[] HostKeys = { "host", "hostname", "port", "user", "identity_file", "tags", "transport" };

        private readonly string file;
        private readonly InventoryLimits limits;
        // Where each line of the text starts, so a YAML position becomes the line and column an editor shows.
        private int[] lineStarts = { 0 };
        private int textLength;

        public YamlInventoryReader(string file, InventoryLimits limits)
        {
            this.file = file;
            this.limits = limits;
        }

        public FleetInventory Read(string text)
        {
            lineStarts = LineStarts(text);
            textLength = text.Length;
            var stream = new YamlStream();
            // YamlDotNet builds its node tree recursively: a document nested thousands deep would overflow the
            // stack and kill the process. The parser's events are counted first, so that never happens.
            var parser = new DepthLimitedParser(new Parser(new StringReader(text)), InventoryLimits.MaxNestingDepth, this);
            try
            {
                stream.Load(parser);
            }
            catch (YamlException e)
            {
                throw SyntaxError(text, e);
            }
            catch (Exception e) when (!(e is InventoryException) && !(e is OutOfMemoryException))
            {
                // YamlDotNet has a few internal failures on malformed input (seen in fuzzing: an InvalidOperationException
                // from its scanner, an ArgumentException for an event its node builder doesn't expect). They are
                // syntax errors all the same: say so at the last place it read correctly, never crash.
                throw Error($"this YAML can't be read past here (the YAML reader failed: {e.Message})", parser.LastGoodPosition, e);
            }

            var builder = new InventoryBuilder(file, limits);
            if (stream.Documents.Count == 0) return builder.Build(new InventoryDefaults());
            if (stream.Documents.Count > 1)
                throw Error("an inventory is a single YAML document, but a second one starts here", stream.Documents[1].RootNode.Start);

            var root = stream.Documents[0].RootNode;
            if (IsNull(root)) return builder.Build(new InventoryDefaults());
            if (!(root is YamlMappingNode rootMapping))
                throw Error("an inventory is a mapping with the keys defaults, groups and hosts", root.Start);
            if (IsBsshConfig(rootMapping)) return ReadBssh(rootMapping, builder);

            var entries = ReadMapping(rootMapping, RootKeys, "at the top level");

            // Defaults apply to every host wherever they are written, so read them before any host.
            var defaults = new InventoryDefaults();
            foreach (var entry in entries)
                if (entry.Key == "defaults") defaults = ReadDefaults(entry.Value);
            foreach (var entry in entries)
                if (entry.Key == "history") defaults.HistoryLocation = ReadHistory(entry.Value);

            var inherited = new ConnectionSettings(defaults.User, defaults.Port, defaults.IdentityFile, Array.Empty<string>());
            YamlNode? recipes = null, parsers = null;
            IReadOnlyList<NotificationDefinition> notifications = Array.Empty<NotificationDefinition>();
            foreach (var entry in entries)
            {
                if (entry.Key == "groups") ReadGroups(entry.Value, inherited, builder);
                else if (entry.Key == "hosts") ReadHosts(entry.Value, null, inherited, builder);
                else if (entry.Key == "recipes") recipes = entry.Value;
                else if (entry.Key == "parsers") parsers = entry.Value;
                else if (entry.Key == "notifications") notifications = ReadNotifications(entry.Value);
            }
            var inventory = builder.Build(defaults);
            inventory.Recipes = ReadRecipeNames(recipes);
            inventory.Parsers = ParserSectionReader.Read(parsers == null || IsNull(parsers) ? null : parsers, file);
            inventory.Notifications = notifications;
            return inventory;
        }

        /// <summary>
        /// The <c>notifications:</c> list (docs/notifications.md). Each entry's keys depend on its type, and every value
        /// is checked here with its place in the file; the body template and <c>${VAR}</c> references are checked when a
        /// run names the notification (Notify/), which still points here.
        /// </summary>
        private IReadOnlyList<NotificationDefinition> ReadNotifications(YamlNode node)
        {
            if (IsNull(node)) return Array.Empty<NotificationDefinition>();
            if (!(node is YamlSequenceNode list))
                throw Error("'notifications' must be a list, one '- name: ...' entry per notification", node.Start);
            var found = new List<NotificationDefinition>();
            foreach (var item in list.Children)
            {
                if (!(item is YamlMappingNode mapping))
                    throw Error("a notification is a mapping with name:, type: (webhook, slack or script) and where to send", item.Start);
                // The type decides which keys are allowed, so read it first.
                string? type = null;
                foreach (var pair in mapping.Children)
                    if (pair.Key is YamlScalarNode k && k.Value == "type") type = RequireScalar(pair.Value, "type").Value;
                string[] keys;
                switch (type)
                {
                    case NotificationDefinition.Webhook: keys = WebhookKeys; break;
                    case NotificationDefinition.Slack: keys = SlackKeys; break;
                    case NotificationDefinition.Script: keys = ScriptKeys; break;
                    case null: throw Error("this notification has no 'type:' (webhook, slack or script)", mapping.Start);
                    default:
                        var typeNode = mapping.Children.First(p => p.Key is YamlScalarNode k2 && k2.Value == "type").Value;
                        throw Error($"'type' must be webhook, slack or script, not '{QuotedText.Of(type)}'", typeNode.Start);
                }
                var n = new NotificationDefinition { Type = type, File = file, Line = Line(mapping.Start), Column = Column(mapping.Start) };
                YamlNode? nameNode = null;
                foreach (var entry in ReadMapping(mapping, keys, $"in a {type} notification"))
                {
                    switch (entry.Key)
                    {
                        case "name":
                            nameNode = entry.Value;
                            n.Name = RequireScalar(entry.Value, "name").Value ?? "";
                            if (!NameRules.IsValidGroupName(n.Name, out var why)) throw Error(why.Replace("group name", "notification name"), entry.Value.Start);
                            break;
                        case "type": break;
                        case "url":
                        case "webhook": n.Url = ReadUrl(entry.Value, entry.Key); break;
                        case "command": n.Command = ReadText(entry.Value, entry.Key, allowNewlines: false); break;
                        case "method":
                            var method = (RequireScalar(entry.Value, "method").Value ?? "").ToUpperInvariant();
                            if (method != "POST" && method != "PUT" && method != "PATCH")
                                throw Error($"'method' must be POST, PUT or PATCH (a notification sends a body), not '{QuotedText.Of(method)}'", entry.Value.Start);
                            n.Method = method;
                            break;
                        case "headers": ReadHeaders(entry.Value, n); break;
                        case "body":
                            n.Body = ReadText(entry.Value, "body", allowNewlines: true);
                            // A block scalar (body: |) starts on the line after its indicator, indented past its key;
                            // a flow one where it stands (after its quote, if quoted).
                            var bodyStyle = ((YamlScalarNode)entry.Value).Style;
                            if (bodyStyle == ScalarStyle.Literal || bodyStyle == ScalarStyle.Folded)
                            {
                                n.BodyLine = Line(entry.Value.Start) + 1;
                                n.BodyIndent = Column(mapping.Start) + 1;
                            }
                            else
                            {
                                n.BodyLine = Line(entry.Value.Start);
                                n.BodyColumn = Column(entry.Value.Start) + (bodyStyle == ScalarStyle.Plain ? 0 : 1);
                            }
                            break;
                        case "on": ReadEvents(entry.Value, n); break;
                        case "cooldown": n.Cooldown = ReadDurationOrZero(entry.Value, entry.Key); break;
                        case "timeout": n.Timeout = ReadDuration(entry.Value, entry.Key); break;
                        case "retries":
                            var retries = RequireScalar(entry.Value, "retries");
                            if (!int.TryParse(retries.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) || r > 10)
                                throw Error($"'retries' must be a whole number from 0 to 10, not '{QuotedText.Of(retries.Value ?? "")}'", retries.Start);
                            n.Retries = r;
                            break;
                    }
                }
                if (nameNode == null) throw Error("this notification has no 'name:'", mapping.Start);
                if (found.Any(f => f.Name == n.Name)) throw Error($"a notification named '{QuotedText.Of(n.Name)}' is already defined above", nameNode.Start);
                var target = type == NotificationDefinition.Script ? "command" : type == NotificationDefinition.Slack ? "webhook" : "url";
                if ((type == NotificationDefinition.Script ? n.Command : n.Url) == null)
                    throw Error($"notification '{QuotedText.Of(n.Name)}' has no '{target}:' saying where to send", mapping.Start);
                if (n.On.Count == 0) n.On.AddRange(NotificationDefinition.DefaultEvents);
                if (n.Timeout <= TimeSpan.Zero) throw Error("'timeout' must be more than 0", mapping.Start);
                found.Add(n);
            }
            return found;
        }

        private string ReadUrl(YamlNode node, string key)
        {
            var url = ReadText(node, key, allowNewlines: false);
            // A ${VAR} URL is checked when it is resolved; a literal one here.
            if (url.IndexOf("${", StringComparison.Ordinal) < 0 &&
                !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
                throw Error($"'{key}' must be an http:// or https:// URL (or ${{VARIABLE}} naming an environment variable that holds one)", node.Start);
            return url;
        }

        private string ReadText(YamlNode node, string key, bool allowNewlines)
        {
            var scalar = RequireScalar(node, key);
            var text = scalar.Value ?? "";
            if (text.Length == 0) throw Error($"'{key}' is empty", scalar.Start);
            foreach (var c in text)
                if (c < 0x20 && !(allowNewlines && (c == '\n' || c == '\r' || c == '\t')) || c == 0x7F)
                    throw Error($"'{key}' contains a control character", scalar.Start);
            return text;
        }

        private void ReadHeaders(YamlNode node, NotificationDefinition n)
        {
            if (IsNull(node)) return;
            if (!(node is YamlMappingNode headers)) throw Error("'headers' must be a mapping of header names to values", node.Start);
            foreach (var pair in headers.Children)
            {
                var key = RequireScalarKey(pair.Key);
                var name = key.Value ?? "";
                if (name.Length == 0 || name.Any(c => c <= 0x20 || c >= 0x7F || "()<>@,;:\"/[]?={}".IndexOf(c) >= 0))
                    throw Error($"'{QuotedText.Of(name)}' is not an HTTP header name", key.Start);
                if (n.Headers.Any(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)))
                    throw Error($"header '{QuotedText.Of(name)}' appears twice", key.Start);
                var value = RequireScalar(pair.Value, name).Value ?? "";
                foreach (var c in value)
                    if (c < 0x20 && c != '\t' || c == 0x7F) throw Error($"the value of header '{QuotedText.Of(name)}' contains a control character (a line break would start another header)", pair.Value.Start);
                n.Headers.Add(new KeyValuePair<string, string>(name, value));
            }
        }

        private void ReadEvents(YamlNode node, NotificationDefinition n)
        {
            if (!(node is YamlSequenceNode list) || list.Children.Count == 0)
                throw Error("'on' must be a list of events, such as [failure, timeout]; events are " + string.Join(", ", NotificationDefinition.Events), node.Start);
            foreach (var item in list.Children)
            {
                var scalar = RequireScalar(item, "an event");
                var name = scalar.Value ?? "";
                if (!NotificationDefinition.Events.Contains(name))
                    throw Error($"'{QuotedText.Of(name)}' is not an event; events are {string.Join(", ", NotificationDefinition.Events)}", scalar.Start);
                if (!n.On.Contains(name)) n.On.Add(name);
            }
        }

        private TimeSpan ReadDurationOrZero(YamlNode node, string key)
        {
            var scalar = RequireScalar(node, key);
            if (scalar.Value == "0") return TimeSpan.Zero;
            return ReadDuration(node, key);
        }

        private InventoryDefaults ReadDefaults(YamlNode node)
        {
            var defaults = new InventoryDefaults();
            if (IsNull(node)) return defaults;
            foreach (var entry in ReadMapping(RequireMapping(node, "defaults"), DefaultsKeys, "in defaults"))
            {
                switch (entry.Key)
                {
                    case "user": defaults.User = ReadUser(entry.Value); break;
                    case "port": defaults.Port = ReadPort(entry.Value); break;
                    case "identity_file": defaults.IdentityFile = ReadPath(entry.Value, entry.Key); break;
                    case "throttle":
                    case "concurrency": // herd's name for it
                        if (defaults.Throttle != null) throw Error("give 'throttle' or 'concurrency' (herd's name for it), not both", entry.Value.Start);
                        defaults.Throttle = ReadPositiveInteger(entry.Value, entry.Key);
                        break;
                    case "output":
                        var output = RequireScalar(entry.Value, entry.Key);
                        if (output.Value != "grouped" && output.Value != "json") throw Error($"'output' must be grouped or json, not '{QuotedText.Of(output.Value ?? "")}'", output.Start);
                        defaults.Output = output.Value;
                        break;
                    case "timeout": defaults.Timeout = ReadDuration(entry.Value, entry.Key); break;
                    case "connect_timeout": defaults.ConnectTimeout = ReadDuration(entry.Value, entry.Key); break;
                    case "history_retention": defaults.HistoryRetention = ReadDuration(entry.Value, entry.Key); break;
                }
            }
            return defaults;
        }

        /// <summary>
        /// The history this inventory's fleet records into: <c>connection:</c> a PostgreSQL server (a URL or a connection
        /// string, checked here so a typo points at its line), or <c>path:</c> a SQLite file (relative to this file).
        /// </summary>
        private string? ReadHistory(YamlNode node)
        {
            if (IsNull(node)) return null;
            var entries = ReadMapping(RequireMapping(node, "history"), HistoryKeys, "in history");
            if (entries.Count > 1)
                throw Error("history: give either connection (a PostgreSQL server) or path (a SQLite file), not both", entries[1].Value.Start);
            if (entries.Count == 0) return null;
            var entry = entries[0];
            var scalar = RequireScalar(entry.Value, entry.Key);
            string value = ReadPath(entry.Value, entry.Key);
            if (value.Trim().Length == 0) throw Error($"history: '{entry.Key}' is empty", scalar.Start);
            if (entry.Key == "connection")
            {
                if (!HistoryLocationText.LooksLikeConnection(value))
                    throw Error("history: connection must be a PostgreSQL URL (postgresql://user@host/database) or connection string (Host=...;Database=...); for a SQLite file use path:", scalar.Start);
                try { HistoryLocationText.Keywords(value, "connection"); }
                catch (ArgumentException e) { throw Error("history: " + ArgumentMessage(e), scalar.Start); }
                return value;
            }
            if (HistoryLocationText.LooksLikeConnection(value))
                throw Error("history: path is a file; a PostgreSQL server goes in connection:", scalar.Start);
            if (value.StartsWith("~", StringComparison.Ordinal) || Path.IsPathRooted(value)) return value;
            var folder = Path.GetDirectoryName(Path.GetFullPath(file));
            return folder == null ? value : Path.Combine(folder, value);
        }

        // ArgumentException appends " (Parameter 'x')" to its message.
        private static string ArgumentMessage(ArgumentException e)
            => e.ParamName == null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "");

        private void ReadGroups(YamlNode node, ConnectionSettings inherited, InventoryBuilder builder)
        {
            if (IsNull(node)) return;
            if (!(node is YamlMappingNode groups))
                throw Error("'groups' must be a mapping of group names to groups, such as 'web: { hosts: [web-01] }'", node.Start);

            foreach (var pair in groups.Children)
            {
                var keyNode = RequireScalarKey(pair.Key);
                string name = keyNode.Value ?? "";
                if (!NameRules.IsValidGroupName(name, out var reason)) throw Error(reason, keyNode.Start);
                builder.AddGroup(name, Line(keyNode.Start), Column(keyNode.Start));

                // An empty group ("web:" with nothing under it) is allowed: it is a name waiting for hosts.
                if (IsNull(pair.Value)) continue;
                if (!(pair.Value is YamlMappingNode groupNode))
                    throw Error($"group '{QuotedText.Of(name)}' must be a mapping with hosts: and optional user, port, tags, identity_file, transport", pair.Value.Start);

                var settings = inherited;
                YamlNode? hosts = null;
                foreach (var entry in ReadMapping(groupNode, GroupKeys, $"in group '{QuotedText.Of(name)}'"))
                {
                    switch (entry.Key)
                    {
                        case "user": settings = settings.WithUser(ReadUser(entry.Value)); break;
                        case "port": settings = settings.WithPort(ReadPort(entry.Value)); break;
                        case "identity_file": settings = settings.WithIdentityFile(ReadPath(entry.Value, entry.Key)); break;
                        case "tags": settings = settings.WithTags(ReadTags(entry.Value)); break;
                        case "transport": settings = settings.WithTransport(ReadTransport(entry.Value)); break;
                        case "timeout": settings = settings.WithTimeout(ReadDuration(entry.Value, entry.Key)); break;
                        case "hosts": hosts = entry.Value; break;
                    }
                }
                if (hosts != null) ReadHosts(hosts, name, settings, builder);
            }
        }

        private void ReadHosts(YamlNode node, string? group, ConnectionSettings inherited, InventoryBuilder builder)
        {
            if (IsNull(node)) return;
            if (!(node is YamlSequenceNode hosts))
                throw Error("'hosts' must be a list, such as [web-01, web-02] or one '- host: name' entry per line", node.Start);

            foreach (var item in hosts.Children)
            {
                if (item is YamlScalarNode scalar && !IsNull(scalar))
                {
                    int line = Line(scalar.Start), column = Column(scalar.Start);
                    foreach (var name in ExpandHostNames(scalar, builder))
                        builder.AddHost(CreateHost(name, null, inherited, inherited.Transport), group, inherited.Tags, line, column);
                }
                else if (item is YamlMappingNode mapping)
                {
                    ReadHostMapping(mapping, group, inherited, builder);
                }
                else
                {
                    throw Error("a host is a name such as web-01 (ranges like web[01-20] allowed) or a mapping with host: and optional hostname, port, user, identity_file, tags, transport", item.Start);
                }
            }
        }

        private void ReadHostMapping(YamlMappingNode mapping, string? group, ConnectionSettings inherited, InventoryBuilder builder)
        {
            YamlScalarNode? hostNode = null;
            YamlScalarNode? addressNode = null;
            string? address = null;
            var transport = inherited.Transport;
            var settings = inherited;
            YamlNode? tagsNode = null;
            string[] hostTags = Array.Empty<string>();

            foreach (var entry in ReadMapping(mapping, HostKeys, "in a host entry"))
            {
                switch (entry.Key)
                {
                    case "host": hostNode = RequireScalar(entry.Value, entry.Key); break;
                    case "hostname":
                        addressNode = RequireScalar(entry.Value, entry.Key);
                        address = addressNode.Value ?? "";
                        if (!NameRules.IsValidHostName(address, out var reason)) throw Error("hostname: " + reason, addressNode.Start);
                        break;
                    case "port": settings = settings.WithPort(ReadPort(entry.Value)); break;
                    case "user": settings = settings.WithUser(ReadUser(entry.Value)); break;
                    case "identity_file": settings = settings.WithIdentityFile(ReadPath(entry.Value, entry.Key)); break;
                    case "tags": tagsNode = entry.Value; hostTags = ReadTags(entry.Value); break;
                    case "transport": transport = ReadTransport(entry.Value); break;
                }
            }

            if (hostNode == null)
                throw Error("this host entry has no 'host:' key naming the host", mapping.Start);

            var names = ExpandHostNames(hostNode, builder);
            if (address != null && names.Count > 1)
                throw Error($"'hostname' can't be given for the range '{QuotedText.Of(hostNode.Value ?? "")}': every host of a range would connect to the same address", addressNode!.Start);

            // The group's tags then the host's own, once each; computed once per entry, so every host of a range shares it.
            var tags = hostTags.Length == 0 ? inherited.Tags
                : inherited.Tags.Length == 0 ? hostTags
                : InventoryBuilder.DistinctTags(inherited.Tags.Concat(hostTags))
                  ?? throw Error($"with its group's tags this host would have more than {InventoryLimits.MaxTagsPerHost} tags; that is the limit of tags per host", tagsNode!.Start);
            int line = Line(hostNode.Start), column = Column(hostNode.Start);
            foreach (var name in names)
                builder.AddHost(CreateHost(name, address, settings, transport), group, tags, line, column);
        }

        private static FleetHost CreateHost(string name, string? address, ConnectionSettings settings, HostTransportKind transport) =>
            new FleetHost(name)
            {
                Address = address,
                User = settings.User,
                Port = settings.Port,
                IdentityFile = settings.IdentityFile,
                Transport = transport,
                Timeout = settings.Timeout,
            };

        private IReadOnlyList<string> ExpandHostNames(YamlScalarNode node, InventoryBuilder builder)
        {
            string pattern = node.Value ?? "";
            IReadOnlyList<string> names;
            try
            {
                // Counted before it is built: a range past the host limit is refused without allocating its names.
                builder.CheckRoomForHosts(HostRange.Count(pattern), pattern, Line(node.Start), Column(node.Start));
                names = HostRange.Expand(pattern, limits.MaxHosts);
            }
            catch (FormatException e)
            {
                throw Error(e.Message, node.Start);
            }
            foreach (var name in names)
            {
                if (!NameRules.IsValidHostName(name, out var reason))
                {
                    if (name.IndexOf('@') >= 0 || (name.IndexOf(':') > 0 && name.IndexOf(':') == name.LastIndexOf(':')))
                        reason += " (in YAML, write user: and port: as keys of a '- host: name' entry)";
                    throw Error(reason, node.Start);
                }
            }
            return names;
        }

        /// <summary>The tags of a list, without repeats; a list of more than the tag limit is an error, repeats or not.</summary>
        private string[] ReadTags(YamlNode node)
        {
            if (IsNull(node)) return Array.Empty<string>();
            if (!(node is YamlSequenceNode sequence))
                throw Error("'tags' must be a list, such as [prod, debian12]", node.Start);
            if (sequence.Children.Count > InventoryLimits.MaxTagsPerHost)
                throw Error($"this list has {sequence.Children.Count:N0} tags; a host can have at most {InventoryLimits.MaxTagsPerHost}", sequence.Children[InventoryLimits.MaxTagsPerHost].Start);
            var tags = new List<string>(sequence.Children.Count);
            foreach (var item in sequence.Children)
            {
                var scalar = RequireScalar(item, "a tag");
                string tag = scalar.Value ?? "";
                if (!NameRules.IsValidTagName(tag, out var reason)) throw Error(reason, scalar.Start);
                tags.Add(tag);
            }
            return InventoryBuilder.DistinctTags(tags)!;
        }

        private string ReadUser(YamlNode node)
        {
            var scalar = RequireScalar(node, "user");
            string user = scalar.Value ?? "";
            if (!NameRules.IsValidUserName(user, out var reason)) throw Error(reason, scalar.Start);
            return user;
        }

        private int ReadPort(YamlNode node)
        {
            var scalar = RequireScalar(node, "port");
            if (!HostSpec.TryParsePort(scalar.Value ?? "", out int port, out var reason)) throw Error(reason, scalar.Start);
            return port;
        }

        private int ReadPositiveInteger(YamlNode node, string key)
        {
            var scalar = RequireScalar(node, key);
            string text = scalar.Value ?? "";
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1) return value;
            throw Error($"'{key}' must be a whole number of at least 1, not '{QuotedText.Of(text)}'", scalar.Start);
        }

        private TimeSpan ReadDuration(YamlNode node, string key)
        {
            var scalar = RequireScalar(node, key);
            if (Duration.TryParse(scalar.Value, out var value, out var reason)) return value;
            throw Error($"{key}: {reason}", scalar.Start);
        }

        private string ReadPath(YamlNode node, string key)
        {
            var scalar = RequireScalar(node, key);
            string path = scalar.Value ?? "";
            foreach (char c in path)
                if (char.IsControl(c)) throw Error($"'{key}' contains a control character", scalar.Start);
            return path;
        }

        private HostTransportKind ReadTransport(YamlNode node)
        {
            var scalar = RequireScalar(node, "transport");
            switch (scalar.Value)
            {
                // ssh (the run's SSH transport, openssh unless --transport / -Transport says otherwise) is kept from before
                // the transports had names of their own.
                case "ssh": return HostTransportKind.Ssh;
                case "auto": return HostTransportKind.Auto;
                case "openssh": return HostTransportKind.OpenSsh;
                case "sshnet": return HostTransportKind.SshNet;
                case "local": return HostTransportKind.Local;
                default: throw Error($"'transport' must be auto, openssh, sshnet, local or ssh, not '{QuotedText.Of(scalar.Value ?? "")}'", scalar.Start);
            }
        }

        /// <summary>The keys of a mapping in file order, each checked against the keys allowed where it is.</summary>
        private List<MappingEntry> ReadMapping(YamlMappingNode mapping, string[] allowedKeys, string where)
        {
            var entries = new List<MappingEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pair in mapping.Children)
            {
                var keyNode = RequireScalarKey(pair.Key);
                string key = keyNode.Value ?? "";
                if (Array.IndexOf(allowedKeys, key) < 0)
                {
                    string message = $"unknown key '{QuotedText.Of(key)}' {where}; allowed keys are {string.Join(", ", allowedKeys)}";
                    string? suggestion = Suggest(key, allowedKeys);
                    if (suggestion != null) message += $" (did you mean '{suggestion}'?)";
                    throw Error(message, keyNode.Start);
                }
                if (!seen.Add(key)) throw Error($"key '{QuotedText.Of(key)}' appears twice {where}", keyNode.Start);
                entries.Add(new MappingEntry(key, pair.Value));
            }
            return entries;
        }

        private YamlMappingNode RequireMapping(YamlNode node, string key) =>
            node as YamlMappingNode ?? throw Error($"'{key}' must be a mapping of keys to values", node.Start);

        private YamlScalarNode RequireScalar(YamlNode node, string key)
        {
            if (node is YamlScalarNode scalar)
            {
                if (IsNull(scalar)) throw Error($"'{key}' needs a value", node.Start);
                return scalar;
            }
            string shape = node is YamlSequenceNode ? "a list" : "a mapping";
            throw Error($"'{key}' must be a single value, not {shape}", node.Start);
        }

        private YamlScalarNode RequireScalarKey(YamlNode node) =>
            node as YamlScalarNode ?? throw Error("a key must be a plain name", node.Start);

        /// <summary>A plain empty value, <c>~</c> or <c>null</c>: YAML's ways of writing nothing.</summary>
        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode scalar && scalar.Style == ScalarStyle.Plain &&
            (string.IsNullOrEmpty(scalar.Value) || scalar.Value == "~" || scalar.Value == "null" || scalar.Value == "Null" || scalar.Value == "NULL");

        /// <summary>A near miss of an allowed key: same letters ignoring case and '-'/'_', or one or two edits away.</summary>
        internal static string? Suggest(string key, string[] allowedKeys)
        {
            string normalized = key.Replace("-", "").Replace("_", "").ToLowerInvariant();
            foreach (var allowed in allowedKeys)
                if (allowed.Replace("_", "") == normalized) return allowed;
            foreach (var allowed in allowedKeys)
                if (EditDistance(key.ToLowerInvariant(), allowed) <= 2) return allowed;
            return null;
        }

        private static int EditDistance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) previous[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                    current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
                }
                var swap = previous; previous = current; current = swap;
            }
            return previous[b.Length];
        }

        private InventoryException SyntaxError(string text, YamlException e)
        {
            string message = WithoutLocation(e.Message);
            // YamlDotNet points a tab in the indentation at the start of the enclosing mapping; the line
            // with the tab is where the user has to look.
            if (message.IndexOf("tab", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                var lines = text.Split('\n');
                for (int i = 0; i < lines.Length; i++)
                {
                    int column = 0;
                    while (column < lines[i].Length && (lines[i][column] == ' ' || lines[i][column] == '\t'))
                    {
                        if (lines[i][column] == '\t')
                            return new InventoryException("a tab can't indent YAML; indent with spaces", file, i + 1, column + 1, e);
                        column++;
                    }
                }
            }
            if (message.StartsWith("Duplicate key", StringComparison.Ordinal))
                message = $"key '{QuotedText.Of(message.Substring("Duplicate key".Length).Trim())}' appears twice in the same mapping";
            return Error(message, e.Start, e);
        }

        /// <summary>YamlDotNet prefixes its messages with "(Line: 1, Col: 2, Idx: 3) - (...): "; we give the location ourselves.</summary>
        private static string WithoutLocation(string message)
        {
            if (!message.StartsWith("(Line:", StringComparison.Ordinal)) return message;
            int separator = message.IndexOf("): ", StringComparison.Ordinal);
            return separator < 0 ? message : message.Substring(separator + 3);
        }

        private InventoryException Error(string message, Mark mark, Exception? inner = null) =>
            new InventoryException(message, file, Line(mark), Column(mark), inner);

        /// <summary>
        /// The 1-based line of a YAML position, counting "\n" as editors do. (YamlDotNet's own line numbers also
        /// count a lone "\r", U+0085, U+2028 and U+2029 as line breaks, as YAML 1.1 says, and can then name a line
        /// past the end of the file.)
        /// </summary>
        private int Line(Mark mark) => LineIndex(mark) + 1;

        /// <summary>The 1-based column of a YAML position, in characters from the start of its line.</summary>
        private int Column(Mark mark)
        {
            return Index(mark) - lineStarts[LineIndex(mark)] + 1;
        }

        private int Index(Mark mark) => (int)Math.Max(0, Math.Min(mark.Index, textLength));

        private int LineIndex(Mark mark)
        {
            int found = Array.BinarySearch(lineStarts, Index(mark));
            return found >= 0 ? found : ~found - 1;
        }

        private static int[] LineStarts(string text)
        {
            var starts = new List<int> { 0 };
            for (int i = text.IndexOf('\n'); i >= 0; i = text.IndexOf('\n', i + 1)) starts.Add(i + 1);
            return starts.ToArray();
        }

        private readonly struct MappingEntry
        {
            public MappingEntry(string key, YamlNode value)
            {
                Key = key;
                Value = value;
            }

            public string Key { get; }
            public YamlNode Value { get; }
        }

        /// <summary>
        /// An <see cref="IParser"/> that passes YamlDotNet's events through and stops with an error at the first
        /// collection nested deeper than the limit, before the node tree's recursive construction gets there.
        /// </summary>
        private sealed class DepthLimitedParser : IParser
        {
            private readonly IParser inner;
            private readonly int maxDepth;
            private readonly YamlInventoryReader reader;
            private int depth;

            /// <summary>The end of the last event read without error: where to point when the library itself fails.</summary>
            public Mark LastGoodPosition { get; private set; } = Mark.Empty;

            public DepthLimitedParser(IParser inner, int maxDepth, YamlInventoryReader reader)
            {
                this.inner = inner;
                this.maxDepth = maxDepth;
                this.reader = reader;
            }

            public ParsingEvent? Current => inner.Current;

            public bool MoveNext()
            {
                if (!inner.MoveNext()) return false;
                var current = inner.Current!;
                LastGoodPosition = current.End;
                if (current is MappingStart || current is SequenceStart)
                {
                    if (++depth > maxDepth)
                        throw reader.Error($"YAML nested more than {maxDepth} levels deep (an inventory needs 6); this collection is one level too many", current.Start);
                }
                else if (current is MappingEnd || current is SequenceEnd)
                {
                    depth--;
                }
                return true;
            }
        }

        /// <summary>User, port, identity file and tags as they flow from defaults to group to host.</summary>
        private sealed class ConnectionSettings
        {
            public ConnectionSettings(string? user, int? port, string? identityFile, string[] tags, HostTransportKind transport = HostTransportKind.Ssh)
            {
                User = user;
                Port = port;
                IdentityFile = identityFile;
                Tags = tags;
                Transport = transport;
            }

            public HostTransportKind Transport { get; }

            public string? User { get; }
            public int? Port { get; }
            public string? IdentityFile { get; }
            /// <summary>Distinct already, and shared by every host that takes them as they are.</summary>
            public string[] Tags { get; }

            /// <summary>A group's command timeout (herd's config.yaml); the run's own --timeout wins.</summary>
            public TimeSpan? Timeout { get; private set; }

            public ConnectionSettings WithUser(string user) => new ConnectionSettings(user, Port, IdentityFile, Tags, Transport) { Timeout = Timeout };
            public ConnectionSettings WithPort(int port) => new ConnectionSettings(User, port, IdentityFile, Tags, Transport) { Timeout = Timeout };
            public ConnectionSettings WithIdentityFile(string path) => new ConnectionSettings(User, Port, path, Tags, Transport) { Timeout = Timeout };
            public ConnectionSettings WithTags(string[] tags) => new ConnectionSettings(User, Port, IdentityFile, tags, Transport) { Timeout = Timeout };
            public ConnectionSettings WithTransport(HostTransportKind transport) => new ConnectionSettings(User, Port, IdentityFile, Tags, transport) { Timeout = Timeout };
            public ConnectionSettings WithTimeout(TimeSpan timeout) => new ConnectionSettings(User, Port, IdentityFile, Tags, Transport) { Timeout = timeout };
        }
    }
}
