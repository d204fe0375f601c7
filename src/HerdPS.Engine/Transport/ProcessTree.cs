using System;
using System.Diagnostics;
using System.Reflection;

namespace HerdPS.Transport
{
    /// <summary>
    /// Ends a process and everything it started. <c>Process.Kill(bool entireProcessTree)</c> exists on every
    /// runtime that hosts us on Unix (.NET Core 3+: PowerShell 7, the herd CLI) but not in netstandard2.0,
    /// so it is looked up once; on .NET Framework (Windows PowerShell 5.1) the plain Kill is the fallback.
    /// </summary>
    public static class ProcessTree
    {
        private static readonly MethodInfo? KillTree =
            typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);

        public static void Kill(Process process)
        {
            try
            {
                if (process.HasExited) return;
                if (KillTree != null) KillTree.Invoke(process, new object[] { true });
                else process.Kill();
            }
            catch (TargetInvocationException) { /* it exited while we were killing it */ }
            catch (InvalidOperationException) { /* it exited, or never started */ }
            catch (System.ComponentModel.Win32Exception) { /* access denied on an exiting process */ }
        }
    }
}
