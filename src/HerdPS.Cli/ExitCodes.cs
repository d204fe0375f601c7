namespace HerdPS.Cli
{
    /// <summary>herd's exit codes, a contract for scripts (see the README).</summary>
    internal static class ExitCodes
    {
        public const int AllSucceeded = 0;
        public const int SomeFailed = 1;
        public const int Usage = 2;
        public const int Cancelled = 130;
    }
}
