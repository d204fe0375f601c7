using System;

namespace HerdPS.Cli
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            Console.Error.WriteLine("herd: not built yet");
            return 2;
        }
    }
}
