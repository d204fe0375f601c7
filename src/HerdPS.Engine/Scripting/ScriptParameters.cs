using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HerdPS.Scripting
{
    /// <summary>
    /// Binds the values a user gave (<c>--set k=v</c>, <c>-Parameter @{...}</c>) to a script's declared parameters:
    /// every value converted to its declared type, defaults filled in, and an unknown or missing parameter an
    /// error before anything runs.
    /// </summary>
    public static class ScriptParameters
    {
        /// <summary>Longest parameter value accepted (a value ends up in a command line).</summary>
        public const int MaxValueLength = 64 * 1024;

        /// <summary>Splits <c>--set</c> words (<c>name=value</c>) into a dictionary; a repeated name is an error.</summary>
        public static Dictionary<string, object?> FromAssignments(IEnumerable<string>? assignments)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (assignments == null) return values;
            foreach (var assignment in assignments)
            {
                int eq = assignment.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"--set takes name=value, not {Display.TerminalText.Quote(assignment)}");
                var name = assignment.Substring(0, eq).Trim();
                if (values.ContainsKey(name)) throw new ArgumentException($"--set gives parameter '{name}' twice");
                values[name] = assignment.Substring(eq + 1);
            }
            return values;
        }

        /// <summary>The parameters for a run: given values converted, defaults added. Throws <see cref="ScriptException"/>.</summary>
        public static IReadOnlyDictionary<string, object?> Bind(FleetScript script, IReadOnlyDictionary<string, object?>? given)
        {
            var bound = new Dictionary<string, object?>(StringComparer.Ordinal);
            given ??= new Dictionary<string, object?>();
            foreach (var name in given.Keys)
                if (!script.Parameters.Any(p => p.Name == name))
                    throw new ScriptException($"'{Inventory.QuotedText.Of(name)}' is not a parameter of {script.Name} (its parameters: {(script.Parameters.Count == 0 ? "none" : string.Join(", ", script.Parameters.Select(p => p.Name)))}); nothing was run", script.Source);
            foreach (var parameter in script.Parameters)
            {
                if (given.TryGetValue(parameter.Name, out var value) && value != null)
                {
                    try { bound[parameter.Name] = ConvertValue(parameter, value); }
                    catch (FormatException e) { throw new ScriptException($"parameter '{parameter.Name}': {e.Message}; nothing was run", script.Source); }
                }
                else if (parameter.Default != null) bound[parameter.Name] = parameter.Default;
                else if (parameter.Required) throw new ScriptException($"parameter '{parameter.Name}' is required{(parameter.Description != null ? " (" + parameter.Description + ")" : "")}: give it with --set {parameter.Name}=... or -Parameter @{{ {parameter.Name} = ... }}; nothing was run", script.Source);
                else bound[parameter.Name] = parameter.Type == ScriptParameterType.List ? new List<string>() : parameter.Type == ScriptParameterType.Bool ? (object)false : "";
            }
            return bound;
        }

        private static object ConvertValue(ScriptParameter parameter, object value)
        {
            if (parameter.Type == ScriptParameterType.List)
            {
                if (value is string s) return s.Length == 0 ? new List<string>() : s.Split(',').Select(x => Check(x.Trim())).ToList();
                if (value is IEnumerable items) return items.Cast<object?>().Select(x => Check(System.Convert.ToString(x, CultureInfo.InvariantCulture) ?? "")).ToList();
            }
            if (value is bool b && parameter.Type == ScriptParameterType.Bool) return b;
            return Convert(parameter, System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }

        /// <summary>Converts text to the parameter's type; throws <see cref="FormatException"/> saying what was expected.</summary>
        public static object Convert(ScriptParameter parameter, string text)
        {
            Check(text);
            switch (parameter.Type)
            {
                case ScriptParameterType.Int:
                    if (long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return n;
                    throw new FormatException($"'{Inventory.QuotedText.Of(text)}' is not a whole number");
                case ScriptParameterType.Bool:
                    switch (text.Trim().ToLowerInvariant())
                    {
                        case "true": case "yes": case "1": return true;
                        case "false": case "no": case "0": return false;
                    }
                    throw new FormatException($"'{Inventory.QuotedText.Of(text)}' is not true or false");
                case ScriptParameterType.List:
                    return text.Length == 0 ? new List<string>() : text.Split(',').Select(x => x.Trim()).ToList();
                default:
                    return text;
            }
        }

        private static string Check(string text)
        {
            if (text.Length > MaxValueLength) throw new FormatException($"the value is {text.Length:N0} characters; at most {MaxValueLength:N0}");
            if (text.IndexOf('\0') >= 0) throw new FormatException("the value contains a NUL character");
            return text;
        }
    }
}
