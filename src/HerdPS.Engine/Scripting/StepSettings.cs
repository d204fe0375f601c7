using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using HerdPS.Inventory;

namespace HerdPS.Scripting
{
    /// <summary>
    /// A step's retries, retry_delay and timeout for one run: as written, or the value of the parameter they name
    /// (<c>retries: "{{ params.wait_attempts }}"</c>). <see cref="Check"/> vets every such value when the parameters
    /// are bound, so a bad one stops the run before any host is touched.
    /// </summary>
    public static class StepSettings
    {
        public const int MaxRetries = 1000;

        /// <summary>Throws <see cref="ScriptException"/> at the step whose parameter value can't be used.</summary>
        public static void Check(FleetScript script, IReadOnlyDictionary<string, object?> parameters)
        {
            foreach (var step in script.Steps.Concat(script.Handlers))
            {
                try
                {
                    Retries(step, parameters);
                    RetryDelay(step, parameters);
                    Timeout(step, parameters);
                }
                catch (FormatException e)
                {
                    throw new ScriptException($"step '{step.Id}': {e.Message}; nothing was run", script.Source, step.Line, step.Column);
                }
            }
        }

        public static int Retries(ScriptStep step, IReadOnlyDictionary<string, object?> parameters)
        {
            if (step.RetriesParameter == null) return step.Retries;
            var value = Value(step.RetriesParameter, parameters);
            var n = value is long l ? l : value is int i ? i : long.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
            if (n < 0 || n > MaxRetries) throw new FormatException($"retries: parameter '{step.RetriesParameter}' is '{Shown(value)}', not a whole number from 0 to {MaxRetries}");
            return (int)n;
        }

        public static TimeSpan RetryDelay(ScriptStep step, IReadOnlyDictionary<string, object?> parameters) =>
            step.RetryDelayParameter == null ? step.RetryDelay : DurationOf("retry_delay", step.RetryDelayParameter, parameters);

        public static TimeSpan? Timeout(ScriptStep step, IReadOnlyDictionary<string, object?> parameters) =>
            step.TimeoutParameter == null ? step.Timeout : DurationOf("timeout", step.TimeoutParameter, parameters);

        private static TimeSpan DurationOf(string key, string parameter, IReadOnlyDictionary<string, object?> parameters)
        {
            var value = Value(parameter, parameters);
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            if (Duration.TryParse(text, out var duration, out var reason) && duration > TimeSpan.Zero) return duration;
            throw new FormatException($"{key}: parameter '{parameter}' is '{Shown(value)}', not a duration such as 2s or 10m ({reason ?? "it must be positive"})");
        }

        private static object? Value(string parameter, IReadOnlyDictionary<string, object?> parameters) =>
            parameters.TryGetValue(parameter, out var value) ? value : null;

        private static string Shown(object? value) => QuotedText.Of(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
    }
}
