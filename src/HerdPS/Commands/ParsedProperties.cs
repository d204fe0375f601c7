using System.Collections.Generic;
using System.Management.Automation;

namespace HerdPS.Commands
{
    /// <summary>
    /// A parser's fields as properties of the object PowerShell receives, so <c>Sort-Object UsePercent</c> sorts the
    /// numbers the parser made. The whole dictionary is the Parsed property too (Invoke-FleetScript's results have it
    /// already), where a field named like one of the object's own properties (Status, say) stays reachable.
    /// </summary>
    internal static class ParsedProperties
    {
        public static PSObject Add(object target, IDictionary<string, object?> parsed, bool addParsedProperty)
        {
            var shaped = PSObject.AsPSObject(target);
            if (addParsedProperty && shaped.Properties["Parsed"] == null) shaped.Properties.Add(new PSNoteProperty("Parsed", parsed));
            foreach (var field in parsed)
                if (shaped.Properties[field.Key] == null) shaped.Properties.Add(new PSNoteProperty(field.Key, field.Value));
            return shaped;
        }
    }

    /// <summary>Completes -Parser with the built-in parsers and the inventory's parsers: section.</summary>
    public sealed class ParserNameCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete)
        {
            var inventory = Inventory.InventoryLoader.LoadOrDefault(inventoryPath, System.Environment.GetEnvironmentVariable, out _);
            foreach (var name in Parsing.OutputParser.Names(inventory.Parsers))
                if (name.StartsWith(wordToComplete ?? "", System.StringComparison.OrdinalIgnoreCase)) yield return name;
        }
    }
}
