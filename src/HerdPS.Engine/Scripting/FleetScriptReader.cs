using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using HerdPS.Inventory;
using HerdPS.Templating;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace HerdPS.Scripting
{
    /// <summary>
    /// Reads fleet scripts (docs/scripts.md) from YAML, walking YamlDotNet's node tree so every value keeps its
    /// line and column. Nothing is ignored: an unknown key, a value of the wrong shape, a template that doesn't
    /// parse, a reference to a parameter or step that doesn't exist, or a depends_on cycle stops the read with
    /// file:line:column and what was expected. Also reads herd's <c>recipes:</c> entries (steps as strings, a step
    /// may start with a selector such as <c>@failed</c>; <c>{{.name}}</c> placeholders).
    /// </summary>
    public sealed class FleetScriptReader
    {
        /// <summary>Nesting deeper than this is refused before YamlDotNet's recursive node builder sees it.</summary>
        public const int MaxNestingDepth = 32;
        /// <summary>A script's text is refused past this size.</summary>
        public const int MaxScriptLength = 1024 * 1024;
        public const int MaxSteps = 1000;

        private static readonly string[] RootKeys = { "name", "description", "params", "targets", "strategy", "steps", "handlers" };
        private static readonly string[] ParamKeys = { "type", "default", "required", "description" };
        private static readonly string[] TargetKeys = { "group", "groups", "tags", "hosts", "exclude" };
        private static readonly string[] StrategyKeys = { "throttle", "serial", "max_fail_percentage", "on_failure" };
        private static readonly string[] StepKeys =
        {
            "id", "name", "run", "script", "args", "upload", "download", "dest", "mode", "force", "local", "on", "when", "loop",
            "register", "retries", "retry_delay", "until", "timeout", "allowed_exit_codes", "ignore_error", "sudo", "sudo_user",
            "run_once", "delegate_to", "depends_on", "notify", "parse", "raw",
        };
        private static readonly string[] ActionKeys = { "run", "script", "upload", "download", "local" };
        private static readonly string[] RecipeKeys = { "description", "steps", "params" };
        private static readonly string[] HostMembers = { "name", "tags", "groups", "address", "user", "port" };
        private static readonly Regex IdPattern = new Regex(@"^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant);
        // herd's Go-template placeholders: {{.name}} is {{ params.name }}.
        private static readonly Regex GoPlaceholder = new Regex(@"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", RegexOptions.CultureInvariant);

        private readonly string _source;

        private FleetScriptReader(string source) { _source = source; }

        /// <summary>Reads a script file. The name is the file's name without its extension unless the script names itself.</summary>
        public static FleetScript ReadFile(string path)
        {
            string text;
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists) throw new ScriptException($"the script file does not exist", path);
                if (info.Length > MaxScriptLength) throw new ScriptException($"the script is {info.Length:N0} bytes; a script can be at most {MaxScriptLength:N0}", path);
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new ScriptException("can't read the script: " + e.Message, path, 0, 0, e);
            }
            var script = Read(text, path, ScriptOrigin.File);
            if (script.Name.Length == 0) script.Name = Path.GetFileNameWithoutExtension(path);
            return script;
        }

        /// <summary>Reads a script from text; <paramref name="source"/> is what errors name.</summary>
        public static FleetScript Read(string text, string source, ScriptOrigin origin)
        {
            if (text.Length > MaxScriptLength) throw new ScriptException($"the script is {text.Length:N0} characters; a script can be at most {MaxScriptLength:N0}", source);
            var reader = new FleetScriptReader(source);
            var root = reader.Load(text);
            if (root == null) throw new ScriptException("the script is empty; it needs at least 'steps:'", source, 1, 1);
            var mapping = root as YamlMappingNode ?? throw reader.Error("a script is a mapping with steps: (and optional name, description, params, targets, strategy, handlers)", root.Start);
            var script = new FleetScript { Source = source, Origin = origin };
            reader.ReadScript(mapping, script, RootKeys);
            return script;
        }

        /// <summary>Reads one entry of herd's <c>recipes:</c> section (description, steps, params) as a script.</summary>
        public static FleetScript ReadRecipe(string name, YamlNode node, string inventoryPath)
        {
            var reader = new FleetScriptReader(inventoryPath);
            var mapping = node as YamlMappingNode ?? throw reader.Error($"recipe '{QuotedText.Of(name)}' must be a mapping with steps: (and optional description, params)", node.Start);
            var script = new FleetScript { Name = name, Source = inventoryPath, Origin = ScriptOrigin.Recipe };
            reader.ReadScript(mapping, script, RecipeKeys);
            return script;
        }

        private YamlNode? Load(string text)
        {
            var stream = new YamlStream();
            var parser = new DepthLimitedParser(new Parser(new StringReader(text)), this);
            try
            {
                stream.Load(parser);
            }
            catch (YamlException e)
            {
                throw Error(WithoutLocation(e.Message), e.Start, e);
            }
            catch (Exception e) when (!(e is ScriptException) && !(e is OutOfMemoryException))
            {
                throw Error($"this YAML can't be read past here (the YAML reader failed: {e.Message})", parser.LastGood, e);
            }
            if (stream.Documents.Count == 0) return null;
            if (stream.Documents.Count > 1) throw Error("a script is a single YAML document, but a second one starts here", stream.Documents[1].RootNode.Start);
            var root = stream.Documents[0].RootNode;
            return IsNull(root) ? null : root;
        }

        private void ReadScript(YamlMappingNode mapping, FleetScript script, string[] keys)
        {
            YamlNode? steps = null, handlers = null;
            foreach (var (key, keyNode, value) in Entries(mapping, keys, "at the top level of the script"))
            {
                switch (key)
                {
                    case "name":
                        script.Name = ReadString(value, key);
                        if (!IdPatternLoose.IsMatch(script.Name)) throw Error("'name' may use letters, digits, '.', '_' and '-' only", value.Start);
                        break;
                    case "description": script.Description = ReadString(value, key); break;
                    case "params": ReadParams(value, script); break;
                    case "targets": ReadTargets(value, script.Targets); break;
                    case "strategy": ReadStrategy(value, script.Strategy); break;
                    case "steps": steps = value; break;
                    case "handlers": handlers = value; break;
                }
            }
            if (steps == null) throw Error("the script has no 'steps:'", mapping.Start);
            if (handlers != null) ReadSteps(handlers, script.Handlers, "handler", script);
            ReadSteps(steps, script.Steps, "step", script);
            if (script.Steps.Count == 0) throw Error("'steps' is empty; a script needs at least one step", steps.Start);
            script.IsGraph = script.Steps.Any(s => s.DependsOn.Count > 0) || DependsOnGiven;
            Check(script);
        }

        private static readonly Regex IdPatternLoose = new Regex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant);
        private bool DependsOnGiven;
        private readonly Dictionary<ScriptStep, Mark> _stepMarks = new Dictionary<ScriptStep, Mark>();
        private readonly List<(ScriptStep Step, LiquidTemplate Template, Mark Mark, string Field)> _templates = new List<(ScriptStep, LiquidTemplate, Mark, string)>();
        private readonly Dictionary<ScriptStep, List<(string Id, Mark Mark)>> _dependsMarks = new Dictionary<ScriptStep, List<(string, Mark)>>();
        private readonly Dictionary<ScriptStep, List<(string Name, Mark Mark)>> _notifyMarks = new Dictionary<ScriptStep, List<(string, Mark)>>();
        private readonly Dictionary<ScriptStep, Mark> _onMarks = new Dictionary<ScriptStep, Mark>();

        private void ReadParams(YamlNode node, FleetScript script)
        {
            if (IsNull(node)) return;
            var mapping = node as YamlMappingNode ?? throw Error("'params' must be a mapping of parameter names to their type, default, required and description", node.Start);
            foreach (var pair in mapping.Children)
            {
                var keyNode = pair.Key as YamlScalarNode ?? throw Error("a parameter name must be a plain name", pair.Key.Start);
                var name = keyNode.Value ?? "";
                if (!IdPattern.IsMatch(name)) throw Error($"parameter name '{QuotedText.Of(name)}' must start with a letter or '_' and use letters, digits and '_' only (at most 64)", keyNode.Start);
                if (script.Parameters.Any(p => p.Name == name)) throw Error($"parameter '{name}' is declared twice", keyNode.Start);
                var parameter = new ScriptParameter { Name = name };
                YamlNode? defaultNode = null;
                if (!IsNull(pair.Value))
                {
                    var spec = pair.Value as YamlMappingNode ?? throw Error($"parameter '{name}' must be a mapping with type, default, required, description (or empty)", pair.Value.Start);
                    foreach (var (key, _, value) in Entries(spec, ParamKeys, $"in parameter '{name}'"))
                    {
                        switch (key)
                        {
                            case "type":
                                var type = ReadString(value, key);
                                parameter.Type = type switch
                                {
                                    "string" => ScriptParameterType.String,
                                    "int" => ScriptParameterType.Int,
                                    "bool" => ScriptParameterType.Bool,
                                    "list" => ScriptParameterType.List,
                                    _ => throw Error($"'type' must be string, int, bool or list, not '{QuotedText.Of(type)}'", value.Start),
                                };
                                break;
                            case "default": defaultNode = value; break;
                            case "required": parameter.Required = ReadBool(value, key); break;
                            case "description": parameter.Description = ReadString(value, key); break;
                        }
                    }
                }
                if (defaultNode != null && !IsNull(defaultNode))
                {
                    if (parameter.Type == ScriptParameterType.List)
                    {
                        var seq = defaultNode as YamlSequenceNode ?? throw Error($"the default of list parameter '{name}' must be a list", defaultNode.Start);
                        parameter.Default = seq.Children.Select(c => ReadString(c, "a list item")).ToList();
                    }
                    else
                    {
                        var text = ReadString(defaultNode, "default");
                        try { parameter.Default = ScriptParameters.Convert(parameter, text); }
                        catch (FormatException e) { throw Error(e.Message, defaultNode.Start); }
                    }
                }
                if (parameter.Required && parameter.Default != null) throw Error($"parameter '{name}' is required and has a default; choose one", keyNode.Start);
                script.Parameters.Add(parameter);
            }
        }

        private void ReadTargets(YamlNode node, ScriptTargets targets)
        {
            if (IsNull(node)) return;
            var mapping = node as YamlMappingNode ?? throw Error("'targets' must be a mapping with group, tags, hosts and exclude", node.Start);
            foreach (var (key, _, value) in Entries(mapping, TargetKeys, "in targets"))
            {
                var list = key == "group" || key == "groups" ? targets.Groups : key == "tags" ? targets.Tags : key == "hosts" ? targets.Hosts : targets.Exclude;
                list.AddRange(ReadStringOrList(value, key));
            }
        }

        private void ReadStrategy(YamlNode node, ScriptStrategy strategy)
        {
            if (IsNull(node)) return;
            var mapping = node as YamlMappingNode ?? throw Error("'strategy' must be a mapping with throttle, serial, max_fail_percentage and on_failure", node.Start);
            foreach (var (key, _, value) in Entries(mapping, StrategyKeys, "in strategy"))
            {
                switch (key)
                {
                    case "throttle": strategy.Throttle = ReadInt(value, key, 1, 4096); break;
                    case "serial":
                        var items = value is YamlSequenceNode seq ? seq.Children.ToList() : new List<YamlNode> { value };
                        if (items.Count == 0) throw Error("'serial' needs at least one batch size, such as 1, 5 or \"25%\"", value.Start);
                        foreach (var item in items) strategy.Serial.Add(ReadBatchSize(item));
                        break;
                    case "max_fail_percentage":
                        var text = ReadString(value, key);
                        if (!double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || percent < 0 || percent > 100)
                            throw Error($"'max_fail_percentage' must be a number from 0 to 100, not '{QuotedText.Of(text)}'", value.Start);
                        strategy.MaxFailPercentage = percent;
                        break;
                    case "on_failure":
                        var mode = ReadString(value, key);
                        if (mode == "stop") strategy.StopOnFailure = true;
                        else if (mode != "continue") throw Error($"'on_failure' must be continue or stop, not '{QuotedText.Of(mode)}'", value.Start);
                        break;
                }
            }
        }

        private BatchSize ReadBatchSize(YamlNode node)
        {
            var text = ReadString(node, "a batch size");
            bool percent = text.EndsWith("%", StringComparison.Ordinal);
            var number = percent ? text.Substring(0, text.Length - 1) : text;
            if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && (percent ? v <= 100 : v == Math.Floor(v) && v <= 1_000_000))
                return new BatchSize(v, percent);
            throw Error($"a batch size is a whole number of hosts (1, 5) or a percentage (\"25%\"), not '{QuotedText.Of(text)}'", node.Start);
        }

        private void ReadSteps(YamlNode node, List<ScriptStep> into, string what, FleetScript script)
        {
            if (IsNull(node)) return;
            var seq = node as YamlSequenceNode ?? throw Error($"'{what}s' must be a list; each {what} is a command or a mapping with run: (or script:, upload:, download:, local:)", node.Start);
            if (seq.Children.Count > MaxSteps) throw Error($"a script can have at most {MaxSteps} {what}s", seq.Children[MaxSteps].Start);
            foreach (var item in seq.Children)
            {
                var step = new ScriptStep { Line = (int)item.Start.Line, Column = (int)item.Start.Column };
                _stepMarks[step] = item.Start;
                if (item is YamlScalarNode scalar && !IsNull(scalar))
                {
                    ReadBareStep(scalar, step);
                }
                else if (item is YamlMappingNode mapping)
                {
                    ReadStepMapping(mapping, step, what, script);
                }
                else throw Error($"a {what} is a command (a string) or a mapping with run: (or script:, upload:, download:, local:)", item.Start);
                if (step.Id.Length == 0) step.Id = (what == "handler" ? "handler" : "step") + (into.Count + 1).ToString(CultureInfo.InvariantCulture);
                if (into.Any(s => s.Id == step.Id) || (what == "step" && script.Handlers.Any(h => h.Id == step.Id)))
                    throw Error($"{what} id '{step.Id}' is used twice; ids must be unique", item.Start);
                into.Add(step);
            }
        }

        /// <summary>A string step: a command, optionally after a selector word (<c>@failed systemctl restart nginx</c>).</summary>
        private void ReadBareStep(YamlScalarNode scalar, ScriptStep step)
        {
            var text = scalar.Value ?? "";
            var trimmed = text.TrimStart();
            if (trimmed.StartsWith("@", StringComparison.Ordinal))
            {
                int space = IndexOfWhitespace(trimmed);
                if (space < 0) throw Error($"'{QuotedText.Of(trimmed)}' is a selector with no command after it", scalar.Start);
                step.On = ReadSelector(trimmed.Substring(0, space), scalar.Start);
                _onMarks[step] = scalar.Start;
                text = trimmed.Substring(space + 1).TrimStart();
            }
            step.Action = StepAction.Run;
            step.Command = Template(step, text, TemplateQuoting.Shell, scalar, "command");
        }

        private static int IndexOfWhitespace(string s)
        {
            for (int i = 0; i < s.Length; i++) if (char.IsWhiteSpace(s[i])) return i;
            return -1;
        }

        private void ReadStepMapping(YamlMappingNode mapping, ScriptStep step, string what, FleetScript script)
        {
            string? action = null;
            YamlNode? args = null, dest = null;
            foreach (var (key, keyNode, value) in Entries(mapping, StepKeys, $"in a {what}"))
            {
                if (Array.IndexOf(ActionKeys, key) >= 0)
                {
                    if (action != null) throw Error($"a {what} has one action, but this one has both '{action}' and '{key}'", keyNode.Start);
                    action = key;
                }
                switch (key)
                {
                    case "id":
                        step.Id = ReadString(value, key);
                        if (!IdPattern.IsMatch(step.Id)) throw Error($"a {what} id starts with a letter or '_' and uses letters, digits and '_' only (at most 64), so templates can name it as steps.{step.Id}", value.Start);
                        break;
                    case "name": step.Name = ReadString(value, key); break;
                    case "run":
                        step.Action = StepAction.Run;
                        step.Command = Template(step, ReadString(value, key), TemplateQuoting.Shell, value, key);
                        break;
                    case "local":
                        step.Action = StepAction.Local;
                        step.Command = Template(step, ReadString(value, key), TemplateQuoting.Shell, value, key);
                        break;
                    case "script":
                        step.Action = StepAction.Script;
                        step.Source = Template(step, ReadString(value, key), TemplateQuoting.None, value, key);
                        break;
                    case "upload":
                        step.Action = StepAction.Upload;
                        step.Source = Template(step, ReadString(value, key), TemplateQuoting.None, value, key);
                        break;
                    case "download":
                        step.Action = StepAction.Download;
                        step.Source = Template(step, ReadString(value, key), TemplateQuoting.None, value, key);
                        break;
                    case "args": args = value; step.Command = Template(step, ReadString(value, key), TemplateQuoting.Shell, value, key); break;
                    case "dest": dest = value; step.Destination = Template(step, ReadString(value, key), TemplateQuoting.None, value, key); break;
                    case "mode":
                        step.Mode = ReadString(value, key);
                        if (!Regex.IsMatch(step.Mode, "^0?[0-7]{3}$")) throw Error($"'mode' is an octal file mode such as 0644, not '{QuotedText.Of(step.Mode)}'", value.Start);
                        break;
                    case "force": step.Force = ReadBool(value, key); break;
                    case "on":
                        step.On = ReadSelector(ReadString(value, key), value.Start);
                        _onMarks[step] = value.Start;
                        break;
                    case "when": step.When = Condition(step, value, key); break;
                    case "until": step.Until = Condition(step, value, key); break;
                    case "loop":
                        if (value is YamlSequenceNode items)
                        {
                            step.LoopItems = items.Children.Select(c => Template(step, ReadString(c, "a loop item"), TemplateQuoting.None, c, key)).ToList();
                        }
                        else
                        {
                            var path = ReadString(value, key).Trim();
                            if (path.StartsWith("{{", StringComparison.Ordinal) && path.EndsWith("}}", StringComparison.Ordinal)) path = path.Substring(2, path.Length - 4).Trim();
                            if (!Regex.IsMatch(path, @"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"))
                                throw Error("'loop' is a list of items or the name of a list, such as params.packages", value.Start);
                            step.LoopVariable = path;
                            CheckPath(step, path, value.Start);
                        }
                        break;
                    case "register":
                        step.Register = ReadString(value, key);
                        if (!IdPattern.IsMatch(step.Register)) throw Error("'register' is a name of letters, digits and '_' that templates use as a variable", value.Start);
                        if (Array.IndexOf(ReservedRoots, step.Register) >= 0) throw Error($"'{step.Register}' is a name the templates already use; register under another", value.Start);
                        break;
                    case "retries":
                        if (ParameterReference(value, key, script, ScriptParameterType.Int) is string retries) step.RetriesParameter = retries;
                        else step.Retries = ReadInt(value, key, 0, 1000);
                        break;
                    case "retry_delay":
                        if (ParameterReference(value, key, script, ScriptParameterType.String) is string delay) step.RetryDelayParameter = delay;
                        else step.RetryDelay = ReadDuration(value, key);
                        break;
                    case "timeout":
                        if (ParameterReference(value, key, script, ScriptParameterType.String) is string timeout) step.TimeoutParameter = timeout;
                        else step.Timeout = ReadDuration(value, key);
                        break;
                    case "allowed_exit_codes":
                        step.AllowedExitCodes = (value is YamlSequenceNode codes ? codes.Children.ToList() : new List<YamlNode> { value })
                            .Select(c => ReadInt(c, "an exit code", 0, 255)).ToArray();
                        if (step.AllowedExitCodes.Length == 0) throw Error("'allowed_exit_codes' needs at least one code", value.Start);
                        break;
                    case "ignore_error": step.IgnoreError = ReadBool(value, key); break;
                    case "sudo": step.Sudo = ReadBool(value, key); break;
                    case "sudo_user":
                        step.SudoUser = ReadString(value, key);
                        if (!NameRules.IsValidUserName(step.SudoUser, out var reason)) throw Error("sudo_user: " + reason, value.Start);
                        break;
                    case "run_once": step.RunOnce = ReadBool(value, key); break;
                    case "delegate_to": step.DelegateTo = Template(step, ReadString(value, key), TemplateQuoting.None, value, key); break;
                    case "depends_on":
                        DependsOnGiven = true;
                        var deps = new List<(string, Mark)>();
                        foreach (var dep in value is YamlSequenceNode list ? list.Children.ToList() : new List<YamlNode> { value })
                        {
                            if (dep is YamlSequenceNode empty && empty.Children.Count == 0) continue;
                            var id = ReadString(dep, "a step id");
                            deps.Add((id, dep.Start));
                            step.DependsOn.Add(id);
                        }
                        _dependsMarks[step] = deps;
                        break;
                    case "notify":
                        var names = new List<(string, Mark)>();
                        foreach (var n in value is YamlSequenceNode nl ? nl.Children.ToList() : new List<YamlNode> { value })
                        {
                            var id = ReadString(n, "a handler id");
                            names.Add((id, n.Start));
                            step.Notify.Add(id);
                        }
                        _notifyMarks[step] = names;
                        break;
                    case "parse":
                        step.Parse = ReadString(value, key);
                        if (!IdPatternLoose.IsMatch(step.Parse)) throw Error("'parse' names a parser (disk, free, uptime, or one of the inventory's parsers:)", value.Start);
                        break;
                    case "raw": step.Raw = ReadBool(value, key); break;
                }
            }
            if (action == null) throw Error($"a {what} needs one action: run, script, upload, download or local", mapping.Start);
            if (args != null && step.Action != StepAction.Script) throw Error("'args' belongs to a script: step", args.Start);
            if ((step.Action == StepAction.Upload || step.Action == StepAction.Download) && step.Destination == null)
                throw Error($"an {action} step needs dest: ({(step.Action == StepAction.Upload ? "the remote path" : "the local folder")})", mapping.Start);
            if (dest != null && step.Action != StepAction.Upload && step.Action != StepAction.Download) throw Error("'dest' belongs to an upload: or download: step", dest.Start);
            if (step.Mode != null && step.Action != StepAction.Upload) throw Error("'mode' belongs to an upload: step", mapping.Start);
            if (step.Sudo && (step.Action == StepAction.Local || step.Action == StepAction.Upload || step.Action == StepAction.Download))
                throw Error($"'sudo' applies to run: and script: steps, not {action}:", mapping.Start);
            if (step.SudoUser != null && !step.Sudo) step.Sudo = true;
            if (step.Action == StepAction.Local && step.DelegateTo != null) throw Error("a local: step already runs on this machine; it can't also say delegate_to", mapping.Start);
            if (step.Until != null && step.Retries == 0 && step.RetriesParameter == null) step.Retries = 3;
        }

        private static readonly string[] ReservedRoots = { "params", "steps", "host", "item", "result", "forloop" };

        private StepSelector ReadSelector(string text, Mark mark)
        {
            var t = text.Trim();
            if (!t.StartsWith("@", StringComparison.Ordinal))
                throw Error($"'on' is a selector such as @ok, @failed, @differs, @changed (each may name a step: @failed:build), @host:web-*, @tag:db or @all; not '{QuotedText.Of(t)}'", mark);
            var body = t.Substring(1);
            int colon = body.IndexOf(':');
            var head = colon < 0 ? body : body.Substring(0, colon);
            var arg = colon < 0 ? null : body.Substring(colon + 1);
            var selector = new StepSelector { Text = t };
            switch (head)
            {
                case "all": selector.Kind = SelectorKind.All; break;
                case "ok": case "succeeded": selector.Kind = SelectorKind.Ok; break;
                case "failed": selector.Kind = SelectorKind.Failed; break;
                case "differs": selector.Kind = SelectorKind.Differs; break;
                case "changed": selector.Kind = SelectorKind.Changed; break;
                case "host": selector.Kind = SelectorKind.Host; break;
                case "tag": selector.Kind = SelectorKind.Tag; break;
                default: throw Error($"unknown selector '{QuotedText.Of(t)}'; use @ok, @failed, @differs, @changed, @host:<glob>, @tag:<tag> or @all", mark);
            }
            if (selector.ReadsResults) selector.StepId = string.IsNullOrEmpty(arg) ? null : arg;
            else if (selector.Kind == SelectorKind.All) { if (arg != null) throw Error("@all takes no argument", mark); }
            else
            {
                if (string.IsNullOrEmpty(arg)) throw Error($"@{head} needs a value, such as @{head}:{(head == "host" ? "web-*" : "db")}", mark);
                selector.Argument = arg;
            }
            return selector;
        }

        private LiquidTemplate Template(ScriptStep step, string text, TemplateQuoting quoting, YamlNode node, string field)
        {
            text = GoPlaceholder.Replace(text, "{{ params.$1 }}");
            LiquidTemplate template;
            try { template = LiquidTemplate.Parse(text, quoting); }
            catch (TemplateException e) { throw TemplateError(e, node, field); }
            _templates.Add((step, template, node.Start, field));
            return template;
        }

        private LiquidTemplate Condition(ScriptStep step, YamlNode node, string field)
        {
            var text = ReadString(node, field);
            LiquidTemplate template;
            try { template = LiquidTemplate.ParseCondition(text); }
            catch (TemplateException e) { throw TemplateError(e, node, field); }
            _templates.Add((step, template, node.Start, field));
            return template;
        }

        private ScriptException TemplateError(TemplateException e, YamlNode node, string field)
        {
            // Within a single-line plain or quoted value the template's column maps onto the file's line.
            int line = (int)node.Start.Line, column = (int)node.Start.Column;
            if (e.Line == 1 && e.Column > 0 && node is YamlScalarNode s && (s.Style == ScalarStyle.Plain || s.Style == ScalarStyle.SingleQuoted || s.Style == ScalarStyle.DoubleQuoted))
                column += e.Column - 1 + (s.Style == ScalarStyle.Plain ? 0 : 1);
            else if (e.Line > 1 && (node as YamlScalarNode)?.Style is ScalarStyle.Literal or ScalarStyle.Folded)
            {
                line += e.Line;
                column = e.Column;
            }
            return new ScriptException($"{field}: {e.Message}", _source, line, column, e);
        }

        /// <summary>The checks that need the whole script: references, the step graph, handlers.</summary>
        private void Check(FleetScript script)
        {
            var ids = script.Steps.Select(s => s.Id).ToList();
            var registers = new Dictionary<string, ScriptStep>();
            foreach (var step in script.Steps.Concat(script.Handlers))
                if (step.Register != null)
                {
                    if (registers.ContainsKey(step.Register) || ids.Contains(step.Register)) throw Error($"'{step.Register}' is registered twice (or is also a step id)", _stepMarks[step]);
                    registers[step.Register] = step;
                }
            // depends_on names existing steps, and the graph has no cycle.
            foreach (var step in script.Steps)
                if (_dependsMarks.TryGetValue(step, out var deps))
                    foreach (var (id, mark) in deps)
                    {
                        if (id == step.Id) throw Error($"step '{step.Id}' depends on itself", mark);
                        if (!ids.Contains(id)) throw Error($"depends_on names '{QuotedText.Of(id)}', which is not a step id of this script (ids: {string.Join(", ", ids)})", mark);
                    }
            foreach (var handler in script.Handlers)
                if (handler.DependsOn.Count > 0) throw Error("a handler runs at the end; it can't have depends_on", _stepMarks[handler]);
            if (script.IsGraph) CheckCycles(script);
            foreach (var step in script.Steps.Concat(script.Handlers))
                if (_notifyMarks.TryGetValue(step, out var names))
                    foreach (var (name, mark) in names)
                        if (!script.Handlers.Any(h => h.Id == name))
                            throw Error($"notify names '{QuotedText.Of(name)}', which is not a handler id (handlers: {(script.Handlers.Count == 0 ? "none" : string.Join(", ", script.Handlers.Select(h => h.Id)))})", mark);
            // on: selectors that read results name a step that runs before.
            foreach (var step in script.Steps)
            {
                if (step.On == null || !step.On.ReadsResults) continue;
                var mark = _onMarks[step];
                if (step.On.StepId == null)
                {
                    var previous = Previous(script, step);
                    if (previous == null) throw Error($"{step.On.Text} reads the previous step's results, but '{step.Id}' has none; name a step (@failed:<id>)", mark);
                    step.On.StepId = previous;
                }
                else if (!RunsBefore(script, step.On.StepId, step))
                    throw Error($"{step.On.Text} names '{QuotedText.Of(step.On.StepId)}', which is not a step that finishes before '{step.Id}'", mark);
            }
            // Variables that are knowable before running: parameters, step results, host facts.
            foreach (var (step, template, mark, field) in _templates)
            {
                foreach (var (root, member, line, column) in template.ReferencedVariables())
                {
                    int fileLine = (int)mark.Line + line - 1, fileColumn = line == 1 ? (int)mark.Column + column - 1 : column;
                    if (root == "params")
                    {
                        if (member != null && !script.Parameters.Any(p => p.Name == member))
                            throw new ScriptException($"{field}: params.{member} is not a parameter of this script (declared: {(script.Parameters.Count == 0 ? "none" : string.Join(", ", script.Parameters.Select(p => p.Name)))})", _source, fileLine, fileColumn);
                    }
                    else if (root == "steps")
                    {
                        if (member == null) continue;
                        if (!ids.Contains(member)) throw new ScriptException($"{field}: steps.{member} is not a step id of this script", _source, fileLine, fileColumn);
                        bool isHandler = script.Handlers.Contains(step);
                        if (!isHandler && !RunsBefore(script, member, step))
                            throw new ScriptException($"{field}: steps.{member} has no results yet when '{step.Id}' runs (it must be an earlier step{(script.IsGraph ? " that this step depends on" : "")})", _source, fileLine, fileColumn);
                    }
                    else if (root == "host")
                    {
                        if (member != null && Array.IndexOf(HostMembers, member) < 0)
                            throw new ScriptException($"{field}: host.{member} is not a host fact (known: {string.Join(", ", HostMembers)})", _source, fileLine, fileColumn);
                    }
                    else if (root == "item" && !step.HasLoop && field != "loop")
                        throw new ScriptException($"{field}: 'item' is defined only in a step with loop:", _source, fileLine, fileColumn);
                    else if (root == "result" && field != "until")
                        throw new ScriptException($"{field}: 'result' is defined only in until:", _source, fileLine, fileColumn);
                    else if (registers.TryGetValue(root, out var registering) && registering != step && !script.Handlers.Contains(step) && !RunsBefore(script, registering.Id, step))
                        throw new ScriptException($"{field}: '{root}' is registered by '{registering.Id}', which does not finish before '{step.Id}'", _source, fileLine, fileColumn);
                }
            }
        }

        /// <summary>The step whose results "the previous step" means: the one before in a list, the only dependency in a graph.</summary>
        private static string? Previous(FleetScript script, ScriptStep step)
        {
            if (script.IsGraph) return step.DependsOn.Count == 1 ? step.DependsOn[0] : null;
            int index = script.Steps.IndexOf(step);
            return index > 0 ? script.Steps[index - 1].Id : null;
        }

        /// <summary>True when <paramref name="id"/> is certain to have finished before <paramref name="step"/> starts.</summary>
        internal static bool RunsBefore(FleetScript script, string id, ScriptStep step)
        {
            if (!script.IsGraph)
            {
                int a = script.Steps.FindIndex(s => s.Id == id), b = script.Steps.IndexOf(step);
                return a >= 0 && a < b;
            }
            var seen = new HashSet<string>();
            var stack = new Stack<string>(step.DependsOn);
            while (stack.Count > 0)
            {
                var next = stack.Pop();
                if (next == id) return true;
                if (!seen.Add(next)) continue;
                var s = script.FindStep(next);
                if (s != null) foreach (var d in s.DependsOn) stack.Push(d);
            }
            return false;
        }

        private void CheckCycles(FleetScript script)
        {
            var state = new Dictionary<string, int>();
            var path = new List<string>();
            foreach (var step in script.Steps) Visit(step);

            void Visit(ScriptStep step)
            {
                state.TryGetValue(step.Id, out var s);
                if (s == 2) return;
                if (s == 1)
                {
                    var cycle = path.Skip(path.IndexOf(step.Id)).Concat(new[] { step.Id });
                    throw Error($"depends_on makes a cycle: {string.Join(" -> ", cycle)}", _stepMarks[step]);
                }
                state[step.Id] = 1;
                path.Add(step.Id);
                foreach (var dep in step.DependsOn) Visit(script.FindStep(dep)!);
                path.RemoveAt(path.Count - 1);
                state[step.Id] = 2;
            }
        }

        private void CheckPath(ScriptStep step, string path, Mark mark)
        {
            var template = LiquidTemplate.Parse("{{ " + path + " }}", TemplateQuoting.None);
            _templates.Add((step, template, mark, "loop"));
        }

        private IEnumerable<(string Key, YamlScalarNode KeyNode, YamlNode Value)> Entries(YamlMappingNode mapping, string[] allowed, string where)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<(string, YamlScalarNode, YamlNode)>();
            foreach (var pair in mapping.Children)
            {
                var keyNode = pair.Key as YamlScalarNode ?? throw Error("a key must be a plain name", pair.Key.Start);
                var key = keyNode.Value ?? "";
                if (Array.IndexOf(allowed, key) < 0)
                {
                    var message = $"unknown key '{QuotedText.Of(key)}' {where}; allowed keys are {string.Join(", ", allowed)}";
                    var suggestion = YamlInventoryReader.Suggest(key, allowed);
                    if (suggestion != null) message += $" (did you mean '{suggestion}'?)";
                    throw Error(message, keyNode.Start);
                }
                if (!seen.Add(key)) throw Error($"key '{QuotedText.Of(key)}' appears twice {where}", keyNode.Start);
                entries.Add((key, keyNode, pair.Value));
            }
            return entries;
        }

        private string ReadString(YamlNode node, string key)
        {
            if (node is YamlScalarNode scalar)
            {
                if (IsNull(scalar)) throw Error($"'{key}' needs a value", node.Start);
                return scalar.Value ?? "";
            }
            throw Error($"'{key}' must be a single value, not {(node is YamlSequenceNode ? "a list" : "a mapping")}", node.Start);
        }

        private List<string> ReadStringOrList(YamlNode node, string key)
        {
            if (node is YamlSequenceNode seq) return seq.Children.Select(c => ReadString(c, key)).ToList();
            return new List<string> { ReadString(node, key) };
        }

        private bool ReadBool(YamlNode node, string key)
        {
            var text = ReadString(node, key);
            switch (text)
            {
                case "true": case "True": case "TRUE": case "yes": return true;
                case "false": case "False": case "FALSE": case "no": return false;
                default: throw Error($"'{key}' must be true or false, not '{QuotedText.Of(text)}'", node.Start);
            }
        }

        private static readonly Regex ParameterReferencePattern = new Regex(@"^\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$", RegexOptions.CultureInvariant);

        /// <summary>
        /// retries, retry_delay and timeout may be a parameter's value, <c>"{{ params.name }}"</c>, so a built-in can
        /// let its user say how long to wait. The parameter must be declared, of <paramref name="type"/>; its value is
        /// checked when the parameters are bound (<see cref="StepSettings.Check"/>), before anything runs. Null when the
        /// value is not such a reference (a plain number or duration).
        /// </summary>
        private string? ParameterReference(YamlNode node, string key, FleetScript script, ScriptParameterType type)
        {
            if (!(node is YamlScalarNode scalar) || scalar.Value == null) return null;
            var m = ParameterReferencePattern.Match(scalar.Value.Trim());
            if (!m.Success) return null;
            var name = m.Groups[1].Value;
            var parameter = script.Parameters.FirstOrDefault(p => p.Name == name)
                ?? throw Error($"'{key}' names parameter '{name}', which the script does not declare under params:", node.Start);
            if (parameter.Type != type)
                throw Error($"'{key}' takes a parameter of type {type.ToString().ToLowerInvariant()} ({(type == ScriptParameterType.Int ? "a whole number" : "a duration such as 2s or 10m")}), and '{name}' is {parameter.Type.ToString().ToLowerInvariant()}", node.Start);
            return name;
        }

        private int ReadInt(YamlNode node, string key, int min, int max)
        {
            var text = ReadString(node, key);
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
            throw Error($"'{key}' must be a whole number from {min} to {max}, not '{QuotedText.Of(text)}'", node.Start);
        }

        private TimeSpan ReadDuration(YamlNode node, string key)
        {
            var text = ReadString(node, key);
            if (Duration.TryParse(text, out var value, out var reason) && value > TimeSpan.Zero) return value;
            throw Error($"{key}: {reason ?? "must be positive"}", node.Start);
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode scalar && scalar.Style == ScalarStyle.Plain &&
            (string.IsNullOrEmpty(scalar.Value) || scalar.Value == "~" || scalar.Value == "null" || scalar.Value == "Null" || scalar.Value == "NULL");

        private static string WithoutLocation(string message)
        {
            if (!message.StartsWith("(Line:", StringComparison.Ordinal)) return message;
            int separator = message.IndexOf("): ", StringComparison.Ordinal);
            return separator < 0 ? message : message.Substring(separator + 3);
        }

        private ScriptException Error(string message, Mark mark, Exception? inner = null) =>
            new ScriptException(message, _source, (int)mark.Line, (int)mark.Column, inner);

        /// <summary>Stops at the first collection nested past <see cref="MaxNestingDepth"/>, before the recursive node builder.</summary>
        private sealed class DepthLimitedParser : IParser
        {
            private readonly IParser _inner;
            private readonly FleetScriptReader _reader;
            private int _depth;

            public DepthLimitedParser(IParser inner, FleetScriptReader reader) { _inner = inner; _reader = reader; }

            public Mark LastGood { get; private set; } = Mark.Empty;
            public ParsingEvent? Current => _inner.Current;

            public bool MoveNext()
            {
                if (!_inner.MoveNext()) return false;
                var current = _inner.Current!;
                LastGood = current.End;
                if (current is MappingStart || current is SequenceStart)
                {
                    if (++_depth > MaxNestingDepth) throw _reader.Error($"YAML nested more than {MaxNestingDepth} levels deep; a script needs far fewer", current.Start);
                }
                else if (current is MappingEnd || current is SequenceEnd) _depth--;
                return true;
            }
        }
    }
}
