using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.Commands
{
    /// <summary>
    /// Tab completion from the inventory the command line names (-InventoryPath when already typed, else the
    /// default inventory). A completer must never throw: a broken inventory simply completes nothing.
    /// </summary>
    public abstract class InventoryNameCompleter : IArgumentCompleter
    {
        // No field or signature of an engine type here: PowerShell loads every exported type of HerdPS.dll before
        // the module initializer makes the engine loadable (see Loading/ModuleInitializer.cs).
        private protected abstract IEnumerable<string> Names(string? inventoryPath, string wordToComplete);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                return Names(fakeBoundParameters?["InventoryPath"] as string, wordToComplete)
                    .Select(n => new CompletionResult(NameCompletion.Quote(n), n, CompletionResultType.ParameterValue, n))
                    .ToArray();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }

        private protected static IEnumerable<string> Complete(string? inventoryPath, NameKind kind, string wordToComplete)
        {
            var inventory = InventoryLoader.LoadOrDefault(inventoryPath, Environment.GetEnvironmentVariable, out _);
            return NameCompletion.Complete(inventory, kind, wordToComplete);
        }
    }

    public sealed class HostNameCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete) => Complete(inventoryPath, NameKind.Host, wordToComplete);
    }

    public sealed class GroupCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete) => Complete(inventoryPath, NameKind.Group, wordToComplete);
    }

    public sealed class TagCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete) => Complete(inventoryPath, NameKind.Tag, wordToComplete);
    }

    /// <summary>-Notify: the names of the inventory's notifications: list.</summary>
    public sealed class NotificationCompleter : InventoryNameCompleter
    {
        private protected override IEnumerable<string> Names(string? inventoryPath, string wordToComplete)
        {
            var inventory = InventoryLoader.LoadOrDefault(inventoryPath, Environment.GetEnvironmentVariable, out _);
            return inventory.Notifications.Select(n => n.Name)
                .Where(n => n.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                .ToList();
        }
    }
}
