using System;
using HerdPS.Inventory;
using HerdPS.Selection;
using HerdPS.Transport;

namespace HerdPS.Execution
{
    /// <summary>
    /// What a front end needs to report one problem the PowerShell way: a stable id scripts can match
    /// (<c>$_.FullyQualifiedErrorId -like 'HostKeyMismatch,*'</c>), the name of an <c>ErrorCategory</c> member,
    /// the exception to carry and the target (the host name for a host's failure). Built here, not in the cmdlets,
    /// so the mapping is tested without PowerShell; the engine never references System.Management.Automation,
    /// so the category travels as its name and the cmdlet parses it.
    /// </summary>
    public sealed class FleetErrorInfo
    {
        public FleetErrorInfo(string errorId, string categoryName, Exception exception, object? target)
        {
            ErrorId = errorId;
            CategoryName = categoryName;
            Exception = exception;
            Target = target;
        }

        public string ErrorId { get; }
        /// <summary>The name of a System.Management.Automation.ErrorCategory member.</summary>
        public string CategoryName { get; }
        public Exception Exception { get; }
        public object? Target { get; }
        /// <summary>What the user should do about it, shown as the record's RecommendedAction; null when nothing useful can be said.</summary>
        public string? RecommendedAction { get; set; }
    }

    /// <summary>
    /// An exception of a layer above Execution (history, snapshots) that says itself how a front end reports it.
    /// The mapping stays next to the exception, so this folder never names the layers built on top of it.
    /// </summary>
    public interface IFleetErrorSource
    {
        FleetErrorInfo ToErrorInfo();
    }

    /// <summary>A host's run that did not get as far as an exit code. Carries the result so handlers can read it from the error record.</summary>
    public sealed class FleetHostException : Exception
    {
        public FleetHostException(FleetResult result)
            : base($"{result.HostName}: {result.ErrorMessage ?? result.Status.ToString()}")
        {
            Result = result;
        }

        public FleetResult Result { get; }
    }

    /// <summary>
    /// The one mapping from engine outcomes to error ids and categories. A non-zero exit is a result, not an
    /// error: only hosts where the command never ran, ran out of time or was cancelled yield an error.
    /// </summary>
    public static partial class FleetErrorRecords
    {
        public const string HostUnreachable = "HostUnreachable";
        public const string HostKeyMismatch = "HostKeyMismatch";
        public const string HostKeyUnknown = "HostKeyUnknown";
        public const string AuthenticationFailed = "AuthenticationFailed";
        public const string CommandTimedOut = "CommandTimedOut";
        public const string ConnectionRefused = "ConnectionRefused";
        public const string NameResolutionFailed = "NameResolutionFailed";
        public const string ConnectTimeout = "ConnectTimeout";
        public const string TransportError = "TransportError";
        public const string Cancelled = "Cancelled";
        public const string InventoryInvalid = "InventoryInvalid";
        public const string ScriptInvalid = "ScriptInvalid";
        public const string SelectionInvalid = "SelectionInvalid";
        public const string InvalidParameter = "InvalidParameter";
        public const string EngineError = "EngineError";
        public const string HistoryRunNotFound = "HistoryRunNotFound";
        public const string HistoryUnusable = "HistoryUnusable";
        /// <summary>A configured folder for private files (spill, control sockets) is not private: refused.</summary>
        public const string PrivateFolderRefused = "PrivateFolderRefused";

        /// <summary>Every id and category name this class can produce, for tests that check them against PowerShell's enum.</summary>
        public static readonly string[] CategoryNames =
        {
            "ConnectionError", "SecurityError", "AuthenticationError", "OperationTimeout", "OperationStopped",
            "InvalidData", "InvalidArgument", "NotSpecified",
            // files, transfers and snapshots (FleetErrorRecords.Files.cs)
            "ObjectNotFound", "InvalidType", "PermissionDenied", "ReadError", "WriteError", "ResourceExists", "InvalidResult",
            "ResourceUnavailable",
        };

        /// <summary>The error for a host's result, or null when the result is not an error (Succeeded, or Failed with an exit code).</summary>
        public static FleetErrorInfo? ForResult(FleetResult result)
        {
            if (result == null) throw new ArgumentNullException(nameof(result));
            switch (result.Status)
            {
                case FleetStatus.Succeeded:
                case FleetStatus.Failed:
                    return null;
            }
            var (id, category, action) = NotRun(result.Status, result.ErrorKind);
            return Make(result, id, category, action);
        }

        /// <summary>
        /// Id, category and advice for a host where the command never ran to an exit code (Unreachable, TimedOut,
        /// Cancelled); shared by every kind of per-host result so "ConnectionRefused" means the same everywhere.
        /// </summary>
        internal static (string Id, string Category, string? Action) NotRun(FleetStatus status, FleetErrorKind kind)
        {
            switch (status)
            {
                case FleetStatus.Cancelled:
                    return (Cancelled, "OperationStopped", null);
                case FleetStatus.TimedOut:
                    return (CommandTimedOut, "OperationTimeout", "Raise -TimeoutSec, or check why the command hangs on this host.");
            }
            // Unreachable: the reason decides the id.
            switch (kind)
            {
                case FleetErrorKind.ConnectionRefused:
                    return (ConnectionRefused, "ConnectionError", "Check that sshd runs on the host and listens on the port the inventory or ssh_config names.");
                case FleetErrorKind.NameResolution:
                    return (NameResolutionFailed, "ConnectionError", "Check the host name, or give an address in the inventory (hostname:) or ssh_config (HostName).");
                case FleetErrorKind.ConnectTimeout:
                    return (ConnectTimeout, "OperationTimeout", "Check that the host is up and reachable, or raise -ConnectTimeoutSec; -RetryCount retries connection failures.");
                case FleetErrorKind.AuthenticationFailed:
                    return (AuthenticationFailed, "AuthenticationError", "Check -UserName and -KeyFilePath (or the inventory's user and identity_file); HerdPS never prompts for a password.");
                case FleetErrorKind.HostKeyUnknown:
                    return (HostKeyUnknown, "SecurityError", "Verify the host's key and add it to known_hosts, or use -AcceptNewHostKey to learn keys of hosts never seen.");
                case FleetErrorKind.HostKeyMismatch:
                    return (HostKeyMismatch, "SecurityError", "The host's key changed. Verify it out of band before removing the old key from known_hosts (ssh-keygen -R).");
                case FleetErrorKind.TransportError:
                    return (TransportError, "ConnectionError", null);
                case FleetErrorKind.CommandTimeout:
                    return (CommandTimedOut, "OperationTimeout", "Raise -TimeoutSec, or check why the command hangs on this host.");
                default:
                    return (HostUnreachable, "ConnectionError", null);
            }
        }

        /// <summary>
        /// The error for a failure of the whole request (nothing ran): a bad inventory, a selection that matched
        /// nothing, contradictory parameters. Front ends report it as a terminating error.
        /// </summary>
        public static FleetErrorInfo ForException(Exception exception)
        {
            if (exception == null) throw new ArgumentNullException(nameof(exception));
            switch (exception)
            {
                case InventoryException e:
                    return new FleetErrorInfo(InventoryInvalid, "InvalidData", e, e.File) { RecommendedAction = "Fix the inventory at the file, line and column named in the message." };
                case IFleetErrorSource e:
                    // history and snapshot errors (HistoryException, HistoryRunNotFoundException, SnapshotNotFoundException, ScriptException)
                    return e.ToErrorInfo();
                case System.IO.FileNotFoundException e:
                    return new FleetErrorInfo(LocalFileNotFound, "ObjectNotFound", e, e.FileName);
                case SelectionException e:
                    return new FleetErrorInfo(SelectionInvalid, "InvalidArgument", e, null) { RecommendedAction = "Check -HostName, -Group, -Tag and -Exclude against Get-FleetHost and Get-FleetTag." };
                case PrivateDirectoryException e:
                    return new FleetErrorInfo(PrivateFolderRefused, "SecurityError", e, e.Path) { RecommendedAction = "Use a folder only you can open (mode 0700, yours, not a symbolic link), or unset the variable that names it." };
                case ArgumentException e:
                    return new FleetErrorInfo(InvalidParameter, "InvalidArgument", e, e.ParamName);
                case FormatException e:
                    return new FleetErrorInfo(InvalidParameter, "InvalidArgument", e, null);
                case OperationCanceledException e:
                    return new FleetErrorInfo(Cancelled, "OperationStopped", e, null);
                default:
                    return new FleetErrorInfo(EngineError, "NotSpecified", exception, null);
            }
        }

        private static FleetErrorInfo Make(FleetResult result, string id, string category, string? action) =>
            new FleetErrorInfo(id, category, new FleetHostException(result), result.HostName) { RecommendedAction = action };
    }
}
