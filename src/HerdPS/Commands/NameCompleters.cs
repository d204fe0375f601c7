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
        private readonly NameKind _kind;

        protected InventoryNameCompleter(NameKind kind) { _kind = kind; }

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                var path = fakeBoundParameters?["InventoryPath"] as string;
                var inventory = InventoryLoader.LoadOrDefault(path, Environment.GetEnvironmentVariable, out _);
                return NameCompletion.Complete(inventory, _kind, wordToComplete)
                    .Select(n => new CompletionResult(NameCompletion.Quote(n), n, CompletionResultType.ParameterValue, n))
                    .ToArray();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }
    }

    public sealed class HostNameCompleter : InventoryNameCompleter { public HostNameCompleter() : base(NameKind.Host) { } }
    public sealed class GroupCompleter : InventoryNameCompleter { public GroupCompleter() : base(NameKind.Group) { } }
    public sealed class TagCompleter : InventoryNameCompleter { public TagCompleter() : base(NameKind.Tag) { } }
}
