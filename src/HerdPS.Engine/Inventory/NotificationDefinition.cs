using System;
using System.Collections.Generic;

namespace HerdPS.Inventory
{
    /// <summary>
    /// One entry of the inventory's <c>notifications:</c> list as written (docs/notifications.md): where to send, on
    /// which events, how often. Plain data with the place of each value in the file, so what is checked later (a body
    /// template, a <c>${VAR}</c> that is not set) can still point at the line. Notify/ turns it into a target.
    /// </summary>
    public sealed class NotificationDefinition
    {
        public const string Webhook = "webhook";
        public const string Slack = "slack";
        public const string Script = "script";

        public static readonly TimeSpan DefaultCooldown = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
        public const int DefaultRetries = 2;

        /// <summary>The events a notification is sent on when it has no <c>on:</c>: problems.</summary>
        public static readonly IReadOnlyList<string> DefaultEvents = new[] { "failure", "timeout" };
        public static readonly IReadOnlyList<string> Events = new[] { "failure", "change", "timeout", "resolve" };

        public string Name { get; set; } = "";
        /// <summary><see cref="Webhook"/>, <see cref="Slack"/> or <see cref="Script"/>.</summary>
        public string Type { get; set; } = "";
        /// <summary>The URL (webhook's <c>url:</c>, slack's <c>webhook:</c>); may hold <c>${VAR}</c> references, resolved when sending.</summary>
        public string? Url { get; set; }
        /// <summary>script: the command line, run with /bin/sh -c on this machine.</summary>
        public string? Command { get; set; }
        /// <summary>webhook: POST (default), PUT or PATCH.</summary>
        public string Method { get; set; } = "POST";
        /// <summary>Header name to value (values may hold <c>${VAR}</c> references), in file order.</summary>
        public List<KeyValuePair<string, string>> Headers { get; } = new List<KeyValuePair<string, string>>();
        /// <summary>The Liquid body template; null: the default JSON object (webhook), text (slack), JSON on stdin (script).</summary>
        public string? Body { get; set; }
        public List<string> On { get; } = new List<string>();
        public TimeSpan Cooldown { get; set; } = DefaultCooldown;
        public TimeSpan Timeout { get; set; } = DefaultTimeout;
        public int Retries { get; set; } = DefaultRetries;

        /// <summary>The inventory file and where this entry (and its body) start in it, for later errors.</summary>
        public string? File { get; set; }
        public int Line { get; set; }
        public int Column { get; set; }
        public int BodyLine { get; set; }
        /// <summary>A flow body's first character's column (its later lines stand where they are).</summary>
        public int BodyColumn { get; set; }
        /// <summary>A block body's (<c>body: |</c>) indentation: a template column plus this is the file's column.</summary>
        public int BodyIndent { get; set; }

        /// <summary>Where a place in the body template (1-based line and column) is in the file.</summary>
        public (int Line, int Column) BodyPosition(int templateLine, int templateColumn)
        {
            if (BodyLine <= 0) return (Line, Column);
            var line = BodyLine + Math.Max(0, templateLine - 1);
            var column = Math.Max(1, templateColumn);
            if (BodyIndent > 0) column += BodyIndent;
            else if (templateLine <= 1) column += BodyColumn - 1;
            return (line, column);
        }

        /// <summary>"inventory.yaml:12:5: " or "" when the file is unknown.</summary>
        public string Where(int line = 0, int column = 0)
        {
            if (File == null) return "";
            line = line > 0 ? line : Line;
            column = line == Line && column == 0 ? Column : column;
            return line > 0 ? $"{File}:{line}:{Math.Max(1, column)}: " : File + ": ";
        }
    }
}
