using System;
using System.Globalization;
using System.Text.Json;
using HerdPS.Display;

namespace HerdPS.Execution
{
    /// <summary>
    /// The NDJSON form of a result: the FleetResult contract's names in camelCase, one object per line.
    /// Status and errorKind are their names; startTime is ISO-8601 UTC; duration is seconds.
    /// Written by hand (no reflection) so the field set is exactly the contract and can't drift.
    /// </summary>
    public static class FleetResultJson
    {
        public static string Serialize(FleetResult r, Action<Utf8JsonWriter>? extra = null)
        {
            return JsonText.Object(w =>
            {
                WriteFields(w, r);
                extra?.Invoke(w);
            });
        }

        public static void WriteFields(Utf8JsonWriter w, FleetResult r)
        {
            w.WriteString("hostName", r.HostName);
            w.WriteString("command", r.Command);
            w.WriteString("status", r.Status.ToString());
            if (r.ExitCode is int code) w.WriteNumber("exitCode", code); else w.WriteNull("exitCode");
            w.WriteBoolean("succeeded", r.Succeeded);
            WriteOutput(w, "stdOut", r.StdOutText);
            WriteOutput(w, "stdErr", r.StdErrText);
            w.WriteBoolean("truncated", r.Truncated);
            w.WriteString("startTime", r.StartTime.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("duration", Math.Round(r.Duration.TotalSeconds, 3));
            w.WriteNumber("attempts", r.Attempts);
            w.WriteString("transport", r.Transport);
            w.WriteString("errorKind", r.ErrorKind.ToString());
            if (r.ErrorMessage != null) w.WriteString("errorMessage", r.ErrorMessage); else w.WriteNull("errorMessage");
            w.WriteString("outputHash", r.OutputHash);
            w.WriteStartArray("groups");
            foreach (var g in r.Groups) w.WriteStringValue(g);
            w.WriteEndArray();
            w.WriteStartArray("tags");
            foreach (var t in r.Tags) w.WriteStringValue(t);
            w.WriteEndArray();
        }

        /// <summary>
        /// A spilled output is written from its file in segments, flushing the writer after each, so a host's
        /// megabytes never become one string (or one JSON buffer) in memory.
        /// </summary>
        private static void WriteOutput(Utf8JsonWriter w, string name, Transport.OutputText output)
        {
            var spilled = output.Spilled;
            if (spilled == null)
            {
                w.WriteString(name, output.Text);
                return;
            }
            w.WritePropertyName(name);
            spilled.ForEachTextChunk((chars, count, final) =>
            {
                w.WriteStringValueSegment(new ReadOnlySpan<char>(chars, 0, count), final);
                w.Flush();
            });
        }
    }
}
