using System.Globalization;

namespace HerdPS.Execution
{
    /// <summary>The -Verbose line a cmdlet writes for each host's result: how it ended, over which transport, and why that one.</summary>
    public static class FleetResultNotes
    {
        public static string VerboseLine(FleetResult r) =>
            $"{r.HostName}: {r.Status} after {r.Duration.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}s over {r.Transport}, {r.Attempts} attempt(s)"
            + (r.ErrorMessage != null ? ": " + r.ErrorMessage : "")
            + (r.TransportNote != null ? " (" + r.TransportNote + ")" : "");

        /// <summary>Why auto ran this host over OpenSSH, or null.</summary>
        public static string? TransportNote(FleetResult r) => r.TransportNote;
    }
}
