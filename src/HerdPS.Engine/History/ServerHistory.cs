using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.History
{
    /// <summary>
    /// Opens a history on a PostgreSQL server. The driver, Npgsql, needs .NET 8 or later, and this engine is
    /// netstandard2.0 so that Windows PowerShell 5.1 can load it; so the backend lives in an assembly of its own,
    /// HerdPS.History.PostgreSql (net8.0), which implements <see cref="IHistoryServerFactory"/> and is loaded here by
    /// name only when a server is asked for. herd references it directly; the module ships it in Dependencies/, where
    /// its load context finds it (with Npgsql, isolated like every dependency). Under .NET Framework (Windows PowerShell
    /// 5.1) it can't load, and asking for a server history there is a clear error, not a crash.
    /// </summary>
    public static class ServerHistory
    {
        public const string AssemblyName = "HerdPS.History.PostgreSql";
        private const string FactoryTypeName = "HerdPS.History.PostgreSql.PostgresHistoryFactory";

        /// <summary>
        /// The server backend, or with <see cref="HistoryStoreOptions.SpoolWhenUnreachable"/> the server behind a local
        /// spool that takes the runs while it can't be reached. Either way, runs a spool holds from earlier are uploaded
        /// first when the server answers.
        /// </summary>
        internal static IHistoryBackend Open(HistoryTarget target, HistoryStoreOptions options)
        {
            var factory = Factory(target);
            var spoolPath = options.SpoolPath ?? HistoryLocation.SpoolPath(target, options.GetEnvironment ?? Environment.GetEnvironmentVariable);
            if (!options.SpoolWhenUnreachable)
            {
                var server = factory.Connect(target, options);
                try
                {
                    SpoolingHistoryBackend.UploadIfAny(spoolPath, server, options);
                    return server;
                }
                catch
                {
                    server.Dispose();
                    throw;
                }
            }
            IHistoryBackend? connected = null;
            HistoryServerUnreachableException? unreachable = null;
            try { connected = factory.Connect(target, options); }
            catch (HistoryServerUnreachableException e) { unreachable = e; }
            return new SpoolingHistoryBackend(target, factory, connected, unreachable, spoolPath, options);
        }

        private static Func<IHistoryServerFactory>? _linked;

        /// <summary>
        /// For a program that links the backend itself (herd does): the factory comes from <paramref name="factory"/>,
        /// never loaded by name. The native herd must do this, as it has no assemblies to load; the module never does,
        /// as its backend must load into its own load context.
        /// </summary>
        public static void UseLinkedFactory(Func<IHistoryServerFactory> factory) => _linked = factory ?? throw new ArgumentNullException(nameof(factory));

        /// <summary>The PostgreSQL backend's factory: the linked one, or loaded into the load context this engine lives in.</summary>
        /// <exception cref="HistoryException">This runtime can't run it, or it is not installed.</exception>
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Loading by name is the module's path; herd links the factory (UseLinkedFactory).")]
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Loading by name is the module's path; herd links the factory (UseLinkedFactory).")]
        public static IHistoryServerFactory Factory(HistoryTarget target)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (RuntimeRefusal(RuntimeInformation.FrameworkDescription, Environment.Version) is string refusal)
                throw new HistoryException(target.Display, refusal);
            if (_linked != null) return _linked();
            Assembly assembly;
            try
            {
                assembly = LoadBesideEngine(new AssemblyName(AssemblyName));
            }
            catch (Exception e) when (e is FileNotFoundException || e is FileLoadException || e is BadImageFormatException)
            {
                throw new HistoryException(target.Display,
                    $"the PostgreSQL history backend ({AssemblyName}.dll) can't be loaded ({e.Message}). It ships with herd and in the module's " +
                    "Dependencies folder; reinstall HerdPS.", e);
            }
            var type = assembly.GetType(FactoryTypeName, throwOnError: true)!;
            return (IHistoryServerFactory)Activator.CreateInstance(type)!;
        }

        /// <summary>
        /// Why this runtime can't use a server history, or null when it can. Npgsql needs .NET 8: Windows PowerShell 5.1
        /// (.NET Framework) and PowerShell 7.2 or 7.3 (.NET 6, 7) can't load it, and are told what can.
        /// </summary>
        internal static string? RuntimeRefusal(string frameworkDescription, Version runtimeVersion)
        {
            bool framework = frameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);
            if (!framework && runtimeVersion.Major >= 8) return null;
            return $"a PostgreSQL history needs .NET 8 or later (PowerShell 7.4 or later, or herd); this is {frameworkDescription}. " +
                   (framework ? "Windows PowerShell 5.1" : "This PowerShell") + " can record into a SQLite history file (-HistoryPath); run the commands " +
                   "that use the server from PowerShell 7.4 or later, or herd.";
        }

        // Assembly.Load from here would use the caller's context on .NET, but say it: in the module the engine lives in the
        // "HerdPS" load context, and the backend and Npgsql must load there, beside it, never into PowerShell's default one.
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The module's path only: herd links the factory (UseLinkedFactory).")]
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The module's path only: herd links the factory (UseLinkedFactory).")]
        private static Assembly LoadBesideEngine(AssemblyName name)
        {
            var contextType = typeof(object).Assembly.GetType("System.Runtime.Loader.AssemblyLoadContext");
            if (contextType == null) return Assembly.Load(name);
            var context = contextType.GetMethod("GetLoadContext", new[] { typeof(Assembly) })!.Invoke(null, new object[] { typeof(ServerHistory).Assembly });
            if (context == null) return Assembly.Load(name);
            try
            {
                return (Assembly)contextType.GetMethod("LoadFromAssemblyName", new[] { typeof(AssemblyName) })!.Invoke(context, new object[] { name })!;
            }
            catch (TargetInvocationException e) when (e.InnerException != null)
            {
                throw e.InnerException;
            }
        }
    }

    /// <summary>Makes server backends: implemented by HerdPS.History.PostgreSql, loaded by <see cref="ServerHistory"/>.</summary>
    public interface IHistoryServerFactory
    {
        /// <summary>
        /// Connects to the server and brings its schema up to date.
        /// </summary>
        /// <exception cref="HistoryServerUnreachableException">It can't be reached now.</exception>
        /// <exception cref="HistoryException">It refuses us, or it is not a history this HerdPS can use.</exception>
        IHistoryBackend Connect(HistoryTarget target, HistoryStoreOptions options);
    }
}
