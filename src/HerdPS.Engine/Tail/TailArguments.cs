using System;
using System.Collections.Generic;
using HerdPS.Execution;

namespace HerdPS.Tail
{
    /// <summary>
    /// Watch-FleetLog's parameters and output rules, decided here (the cmdlet passes them through): the options
    /// from its parameters, which stream a notice goes to, and the error record of a host given up.
    /// </summary>
    public static class TailArguments
    {
        /// <summary>A host whose tail ended for good (its key refused, its grep refused the pattern, its reconnects used up).</summary>
        public const string LogFollowFailed = "LogFollowFailed";

        /// <summary>The options from -Path or -JournalUnit and the rest; checked with the PowerShell spellings.</summary>
        public static TailOptions Options(IEnumerable<string>? paths, IEnumerable<string>? units, int? lines, string? pattern, string? excludePattern, object? since)
        {
            var options = new TailOptions { Lines = lines ?? TailOptions.DefaultLines, Grep = pattern, GrepExclude = excludePattern };
            if (paths != null) options.Paths.AddRange(paths);
            if (units != null) options.Units.AddRange(units);
            if (since != null) options.Since = TailSince.FromParameter(since);
            options.Validate(TailOptionNames.PowerShell);
            return options;
        }

        /// <summary>
        /// The error record of a notice, or null: only a host given up is an error (a non-terminating one, with the
        /// host as target, so -ErrorAction and -ErrorVariable work per host while the others go on).
        /// </summary>
        public static FleetErrorInfo? ErrorFor(TailNotice notice)
        {
            if (notice == null) throw new ArgumentNullException(nameof(notice));
            if (notice.Severity != TailNoticeSeverity.Error) return null;
            return new FleetErrorInfo(LogFollowFailed, "ConnectionError", new InvalidOperationException(notice.Message), notice.HostName);
        }

        /// <summary>Info notices go to -Verbose, warnings to the warning stream; a pause (the pipeline is slower than the logs) says nothing.</summary>
        public static bool IsWarning(TailNotice notice) => notice.Severity == TailNoticeSeverity.Warning;
    }
}
