namespace HerdPS.Pwsh
{
    /// <summary>PowerShell's own console host: the same entry point the real pwsh has.</summary>
    public static class Program
    {
        public static int Main(string[] args) => Microsoft.PowerShell.UnmanagedPSEntry.Start(args, args.Length);
    }
}
