using System.Collections.Generic;
using System.Text.Json.Serialization;
using HerdPS.Files;

namespace HerdPS.Cli
{
    /// <summary>
    /// Every object herd prints with JsonSerializer, generated at compile time: the native herd has no reflection-based
    /// JsonSerializer. Camel case and enums by name, as the snapshot commands always printed them; the line records of
    /// hosts, tags and scripts were anonymous objects with lower-case names, which camel case gives back unchanged.
    /// The default encoder, as before (non-ASCII and HTML-sensitive characters escaped).
    /// </summary>
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
    [JsonSerializable(typeof(FleetSnapshot))]
    [JsonSerializable(typeof(SnapshotDiff))]
    [JsonSerializable(typeof(HostLine))]
    [JsonSerializable(typeof(TagLine))]
    [JsonSerializable(typeof(ScriptLine))]
    internal sealed partial class CliJson : JsonSerializerContext
    {
    }

    /// <summary>One line of <c>herd hosts --json</c>.</summary>
    internal sealed record HostLine(string Name, string? Address, int? Port, string? User, string Transport, IReadOnlyList<string> Groups, IReadOnlyList<string> Tags);

    /// <summary>One line of <c>herd tags --json</c>.</summary>
    internal sealed record TagLine(string Tag, int HostCount, IReadOnlyList<string> Hosts);

    /// <summary>One line of <c>herd scripts --json</c>.</summary>
    internal sealed record ScriptLine(string Name, string Source, string? Description, string? Path, string[] Parameters, string[] Steps, bool Valid, string? Error);
}
