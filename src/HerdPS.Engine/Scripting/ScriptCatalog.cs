using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Templating;

namespace HerdPS.Scripting
{
    /// <summary>
    /// Finds a script by what the user typed: a file (a path, or a name ending in .yaml/.yml), else a recipe of the
    /// inventory (herd's config.yaml), else a built-in shipped in the engine (os-update, reboot-wait, sudo-check, disk,
    /// memory, uptime, os-version, failed-services).
    /// </summary>
    public static class ScriptCatalog
    {
        private const string ResourcePrefix = "HerdPS.Scripting.BuiltIn.";

        public static IReadOnlyList<string> BuiltInNames { get; } = typeof(ScriptCatalog).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
            .Select(n => n.Substring(ResourcePrefix.Length, n.Length - ResourcePrefix.Length - 5)).OrderBy(n => n, StringComparer.Ordinal).ToList();

        /// <summary>Every script a name can run: the built-ins, then the inventory's recipes (for tab completion).</summary>
        public static IEnumerable<string> Names(FleetInventory? inventory) =>
            BuiltInNames.Concat(inventory?.Recipes.Keys ?? Enumerable.Empty<string>()).Distinct();

        /// <summary>True when the text names a file rather than a recipe or built-in.</summary>
        public static bool LooksLikePath(string nameOrPath) =>
            nameOrPath.IndexOf('/') >= 0 || nameOrPath.IndexOf('\\') >= 0 ||
            nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || nameOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

        /// <summary>Reads the script; throws <see cref="ScriptException"/> (with file:line:column) or when nothing has that name.</summary>
        public static FleetScript Resolve(string nameOrPath, FleetInventory? inventory)
        {
            if (string.IsNullOrWhiteSpace(nameOrPath)) throw new ScriptException("no script named: give a file, a recipe or a built-in");
            if (LooksLikePath(nameOrPath) || File.Exists(nameOrPath)) return FleetScriptReader.ReadFile(nameOrPath);
            if (inventory != null && inventory.Recipes.TryGetValue(nameOrPath, out var node))
                return FleetScriptReader.ReadRecipe(nameOrPath, node, inventory.SourcePath ?? "inventory");
            if (BuiltInNames.Contains(nameOrPath)) return BuiltIn(nameOrPath);
            var recipes = inventory?.Recipes.Keys.ToList() ?? new List<string>();
            throw new ScriptException($"no script, recipe or built-in named '{QuotedText.Of(nameOrPath)}' (built-ins: {string.Join(", ", BuiltInNames)}{(recipes.Count > 0 ? "; recipes: " + string.Join(", ", recipes) : "")})");
        }

        public static FleetScript BuiltIn(string name)
        {
            using var stream = typeof(ScriptCatalog).Assembly.GetManifestResourceStream(ResourcePrefix + name + ".yaml")
                ?? throw new ScriptException($"no built-in script named '{QuotedText.Of(name)}'");
            using var reader = new StreamReader(stream);
            var script = FleetScriptReader.Read(reader.ReadToEnd(), "builtin:" + name, ScriptOrigin.BuiltIn);
            if (script.Name.Length == 0) script.Name = name;
            return script;
        }

        /// <summary>What Get-FleetScript and herd scripts list: every built-in, then the inventory's recipes (each checked).</summary>
        public static List<FleetScriptInfo> List(FleetInventory? inventory)
        {
            var list = BuiltInNames.Select(n => Describe(() => BuiltIn(n), n, "BuiltIn", null)).ToList();
            if (inventory != null)
                foreach (var pair in inventory.Recipes)
                    list.Add(Describe(() => FleetScriptReader.ReadRecipe(pair.Key, pair.Value, inventory.SourcePath ?? "inventory"), pair.Key, "Recipe", inventory.SourcePath));
            return list;
        }

        /// <summary>
        /// Reads a file and says whether it is a valid script (the error, with file:line:column, when not), including
        /// what it names in <paramref name="inventory"/> (its parse: parsers) when one is given.
        /// </summary>
        public static FleetScriptInfo Check(string path, FleetInventory? inventory = null) =>
            Describe(() =>
            {
                var script = FleetScriptReader.ReadFile(path);
                if (inventory != null) CheckAgainst(script, inventory);
                return script;
            }, Path.GetFileNameWithoutExtension(path), "File", Path.GetFullPath(path));

        /// <summary>
        /// What a script names outside itself must exist before anything runs: each parse: is a built-in parser or one
        /// of the inventory's parsers:. Throws <see cref="ScriptException"/> at the step that names a missing one.
        /// </summary>
        public static void CheckAgainst(FleetScript script, FleetInventory? inventory)
        {
            foreach (var step in script.Steps.Concat(script.Handlers))
            {
                if (step.Parse == null) continue;
                try { Parsing.OutputParser.Find(step.Parse, inventory?.Parsers); }
                catch (ArgumentException e) { throw new ScriptException($"step '{step.Id}': parse: {e.Message}", script.Source, step.Line, step.Column); }
            }
        }

        private static FleetScriptInfo Describe(Func<FleetScript> read, string name, string source, string? path)
        {
            var info = new FleetScriptInfo { Name = name, Source = source, Path = path };
            try
            {
                var script = read();
                info.Name = script.Name;
                info.Description = script.Description;
                info.Parameters = script.Parameters.Select(p => p.Name).ToArray();
                info.Steps = script.Steps.Select(s => s.Id).ToArray();
            }
            catch (ScriptException e) { info.Error = e.Message; }
            return info;
        }

        /// <summary>
        /// The plan of a run (-WhatIf, --dry-run): per batch, step and host, what would run, with templates rendered as
        /// far as they can be before running (a value from an earlier step's output shows as written). Nothing runs.
        /// </summary>
        public static List<FleetScriptPlanStep> Plan(FleetScript script, FleetTarget target, IReadOnlyDictionary<string, object?> given)
        {
            var parameters = ScriptParameters.Bind(script, given);
            StepSettings.Check(script, parameters);
            CheckAgainst(script, target.Inventory);
            var plan = new List<FleetScriptPlanStep>();
            var batches = script.Strategy.Batches(target.Hosts);
            for (int b = 0; b < batches.Count; b++)
                foreach (var step in script.Steps.Concat(script.Handlers))
                    foreach (var host in step.RunOnce ? batches[b].Take(1) : batches[b])
                    {
                        var model = new Dictionary<string, object?>
                        {
                            ["params"] = parameters,
                            ["host"] = new Dictionary<string, object?> { ["name"] = host.Name, ["tags"] = host.Tags.ToList(), ["groups"] = host.Groups.ToList(), ["address"] = host.Address ?? host.Name, ["user"] = host.User ?? "", ["port"] = host.Port ?? 22 },
                            ["steps"] = new Dictionary<string, object?>(),
                        };
                        var conditions = new List<string>();
                        if (script.Handlers.Contains(step)) conditions.Add("handler: runs if notified");
                        if (step.On != null) conditions.Add("on: " + step.On.Text);
                        if (step.When != null) conditions.Add("when: " + Inner(step.When.Source));
                        if (step.HasLoop) conditions.Add("loop: " + (step.LoopVariable ?? string.Join(", ", step.LoopItems!.Select(i => i.Source))));
                        if (step.Until != null) conditions.Add($"until: {Inner(step.Until.Source)} (up to {StepSettings.Retries(step, parameters) + 1} attempts, {StepSettings.RetryDelay(step, parameters).TotalSeconds:0.###}s apart)");
                        if (step.Sudo) conditions.Add("sudo" + (step.SudoUser != null ? " -u " + step.SudoUser : ""));
                        plan.Add(new FleetScriptPlanStep
                        {
                            Script = script.Name,
                            Batch = b + 1,
                            StepId = step.Id,
                            HostName = host.Name,
                            Action = RenderOrSource(step, model),
                            Condition = conditions.Count == 0 ? null : string.Join("; ", conditions),
                            RunsOn = step.Action == StepAction.Local ? FleetInventory.LocalHostName : step.DelegateTo != null ? TryRender(step.DelegateTo, model) : null,
                        });
                    }
            return plan;
        }

        private static string Inner(string condition) =>
            condition.StartsWith("{% if ", StringComparison.Ordinal) ? condition.Substring(6, condition.IndexOf(" %}", StringComparison.Ordinal) - 6) : condition;

        private static string RenderOrSource(ScriptStep step, IReadOnlyDictionary<string, object?> model)
        {
            switch (step.Action)
            {
                case StepAction.Upload: return $"upload {TryRender(step.Source!, model)} -> {TryRender(step.Destination!, model)}";
                case StepAction.Download: return $"download {TryRender(step.Source!, model)} -> {TryRender(step.Destination!, model)}";
                case StepAction.Script: return $"script {TryRender(step.Source!, model)}" + (step.Command != null ? " " + TryRender(step.Command, model) : "");
                default: return TryRender(step.Command!, model);
            }
        }

        private static string TryRender(LiquidTemplate template, IReadOnlyDictionary<string, object?> model)
        {
            try { return template.Render(model); }
            catch (TemplateException) { return template.Source; }
        }
    }
}
