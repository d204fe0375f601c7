using System;
using System.Collections.Generic;
using System.Text.Json;
using HerdPS.Display;

namespace HerdPS.History
{
    /// <summary>
    /// A result's fields as history rows held them before result packs (SQLite schema 6, server schema 3; read by the
    /// migrations that pack them, and written by the tests that make such rows): names of enums, groups and tags as JSON
    /// arrays of strings, durations in milliseconds. Packs keep enum names too (<see cref="ParseName{TEnum}"/>). A value
    /// this build can't read is a <see cref="HistoryException"/> naming the run and host, never a guess.
    /// </summary>
    public static class ResultFields
    {
        // Written and read with the plain writer and reader, not JsonSerializer: its first use in a process costs 20-30 ms
        // of reflection, most of what recording added to a short warm run (bench/results.md).
        public static string StringListJson(string[]? values)
        {
            return JsonText.Write(w =>
            {
                w.WriteStartArray();
                foreach (var v in values ?? Array.Empty<string>()) w.WriteStringValue(v);
                w.WriteEndArray();
            });
        }

        public static string[] ParseStringList(string json, string what, long runId, string host, string location)
        {
            try
            {
                using (var doc = JsonDocument.Parse(json))
                {
                    if (doc.RootElement.ValueKind == JsonValueKind.Null) return Array.Empty<string>();
                    if (doc.RootElement.ValueKind == JsonValueKind.Array)
                    {
                        var list = new List<string>(doc.RootElement.GetArrayLength());
                        foreach (var e in doc.RootElement.EnumerateArray())
                        {
                            if (e.ValueKind != JsonValueKind.String) throw new FormatException("an element is not a string");
                            list.Add(e.GetString()!);
                        }
                        return list.ToArray();
                    }
                }
                throw new FormatException("not a JSON array");
            }
            catch (Exception e) when (e is JsonException || e is FormatException)
            {
                throw new HistoryException(location, $"run {runId}, host '{host}': {what} is not a list of names ({e.Message}).");
            }
        }

        /// <summary>A name this build doesn't know was written by a newer HerdPS; guessing a value would misreport the run.</summary>
        public static TEnum ParseName<TEnum>(string name, string what, long runId, string host, string location) where TEnum : struct
        {
            if (Enum.TryParse(name, ignoreCase: false, out TEnum value) && Enum.IsDefined(typeof(TEnum), value)) return value;
            throw new HistoryException(location,
                $"run {runId}, host '{host}': {what} '{name}' is unknown to this HerdPS; a newer HerdPS recorded it.");
        }

        public static double DurationMs(TimeSpan duration) => duration.Ticks / (double)TimeSpan.TicksPerMillisecond;

        public static TimeSpan Duration(double milliseconds) => TimeSpan.FromTicks((long)Math.Round(milliseconds * TimeSpan.TicksPerMillisecond));

        /// <summary>A stored output that can't be read back (damaged chunk, unknown encoding) as a history error.</summary>
        public static HistoryException DamagedOutput(string location, long runId, string host, Exception e)
            => new HistoryException(location, $"run {runId}, host '{host}': a stored output can't be read ({e.Message}).", e);
    }
}
