using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.Loading
{
    /// <summary>
    /// Loads the module's dependencies (the engine, YamlDotNet, SQLite, ...) from its own Dependencies/ folder so
    /// that another module's copy of the same assembly can't replace ours, nor ours theirs.
    /// <list type="bullet">
    /// <item>PowerShell 7 (.NET): an AssemblyLoadContext named "HerdPS". The assemblies only we ship are loaded
    /// into it up front, so its cache answers before the default context is asked; framework assemblies
    /// (System.*) come from the runtime unless ours is newer. The default context is asked by HerdPS.dll itself
    /// (it lives there, loaded by PowerShell), and gets the very same instances from our context.</item>
    /// <item>Windows PowerShell 5.1 (.NET Framework has no load contexts): an AssemblyResolve handler that
    /// answers only for files in our Dependencies/ folder.</item>
    /// </list>
    /// .NET Standard 2.0 can't name AssemblyLoadContext, so it is reached by reflection. This class touches no
    /// PowerShell type: the module tests load the packaged layout through it on .NET.
    /// </summary>
    public sealed class ModuleDependencies
    {
        public const string FolderName = "Dependencies";
        public const string LoadContextName = "HerdPS";

        private readonly Dictionary<string, string> _managed;
        private readonly object? _loadContext;
        private readonly Type? _loadContextType;

        private ModuleDependencies(string dependencyDirectory, Dictionary<string, string> managed, object? loadContext, Type? loadContextType)
        {
            DependencyDirectory = dependencyDirectory;
            _managed = managed;
            _loadContext = loadContext;
            _loadContextType = loadContextType;
        }

        public string DependencyDirectory { get; }
        /// <summary>The module's AssemblyLoadContext (as object: this assembly can't name the type), or null under .NET Framework.</summary>
        public object? LoadContext => _loadContext;
        public bool UsesLoadContext => _loadContext != null;
        /// <summary>Simple names of the managed assemblies in Dependencies/.</summary>
        public IReadOnlyCollection<string> AssemblyNames => _managed.Keys;

        private static readonly object Gate = new object();
        private static ModuleDependencies? _installed;

        /// <summary>
        /// Sets up isolated loading for the module in <paramref name="moduleDirectory"/> once per process (a second
        /// Import-Module, or another runspace, reuses it). Returns the installed instance.
        /// </summary>
        public static ModuleDependencies Install(string moduleDirectory)
        {
            lock (Gate)
            {
                if (_installed != null) return _installed;
                var deps = Create(moduleDirectory, useLoadContext: LoadContextType() != null);
                deps.HookProcess();
                _installed = deps;
                return deps;
            }
        }

        /// <summary>Builds the loader without hooking the process (tests call this; <see cref="Install"/> hooks too).</summary>
        public static ModuleDependencies Create(string moduleDirectory, bool useLoadContext)
        {
            var dir = Path.Combine(moduleDirectory, FolderName);
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"HerdPS: the module's {FolderName} folder is missing: {dir}");
            var managed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var file in Directory.GetFiles(dir, "*.dll", SearchOption.TopDirectoryOnly))
                managed[Path.GetFileNameWithoutExtension(file)] = file;
            object? context = null;
            Type? contextType = null;
            if (useLoadContext)
            {
                contextType = LoadContextType() ?? throw new PlatformNotSupportedException("AssemblyLoadContext is not available on this runtime");
                context = Activator.CreateInstance(contextType, LoadContextName, false);
                var deps = new ModuleDependencies(dir, managed, context, contextType);
                deps.HookLoadContext();
                foreach (var name in managed.Keys.Where(IsOwnedByModule).ToArray())
                    deps.LoadIntoContext(managed[name]);
                return deps;
            }
            return new ModuleDependencies(dir, managed, null, null);
        }

        /// <summary>
        /// Assemblies that only we ship, loaded into our context before anyone asks. Framework assemblies
        /// (System.*, Microsoft.Bcl.*, netstandard) are left to the runtime's copy when it is new enough:
        /// loading a second System.Memory would make a second Span type.
        /// </summary>
        public static bool IsOwnedByModule(string simpleName) =>
            !(simpleName.StartsWith("System.", StringComparison.OrdinalIgnoreCase)
              || simpleName.StartsWith("Microsoft.Bcl.", StringComparison.OrdinalIgnoreCase)
              || simpleName.StartsWith("Microsoft.Win32.", StringComparison.OrdinalIgnoreCase)
              || simpleName.Equals("netstandard", StringComparison.OrdinalIgnoreCase)
              || simpleName.Equals("mscorlib", StringComparison.OrdinalIgnoreCase));

        /// <summary>The path of a managed dependency we ship, or null: the one question every resolve handler asks.</summary>
        public string? PathOf(AssemblyName name) =>
            name.Name != null && _managed.TryGetValue(name.Name, out var path) ? path : null;

        /// <summary>Loads a dependency the way this runtime's isolation requires (our context, or LoadFrom on .NET Framework).</summary>
        public Assembly? Resolve(AssemblyName name)
        {
            var path = PathOf(name);
            if (path == null) return null;
            if (_loadContext == null) return Assembly.LoadFrom(path);
            var byName = _loadContextType!.GetMethod("LoadFromAssemblyName", new[] { typeof(AssemblyName) })!;
            try
            {
                return (Assembly)byName.Invoke(_loadContext, new object[] { name })!;
            }
            catch (TargetInvocationException)
            {
                return null;
            }
        }

        /// <summary>Candidate files for a native library (e.g. e_sqlite3) under Dependencies/runtimes/&lt;rid&gt;/native, best first.</summary>
        public IReadOnlyList<string> NativeCandidates(string libraryName)
        {
            var files = new List<string>();
            foreach (var rid in RuntimeIdentifiers())
            {
                var native = Path.Combine(DependencyDirectory, "runtimes", rid, "native");
                foreach (var file in NativeFileNames(libraryName))
                {
                    var path = Path.Combine(native, file);
                    if (File.Exists(path)) files.Add(path);
                }
            }
            return files;
        }

        internal static IEnumerable<string> RuntimeIdentifiers()
        {
            var arch = RuntimeInformation.OSArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.X86 => "x86",
                Architecture.Arm64 => "arm64",
                Architecture.Arm => "arm",
                _ => RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            };
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) yield return "win-" + arch;
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX)) { yield return "osx-" + arch; yield return "osx"; }
            else
            {
                // musl (Alpine) first where it is the C library: glibc binaries don't load there.
                if (File.Exists("/etc/alpine-release")) yield return "linux-musl-" + arch;
                yield return "linux-" + arch;
            }
        }

        private static IEnumerable<string> NativeFileNames(string name)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) { yield return name + ".dll"; yield break; }
            var ext = RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? ".dylib" : ".so";
            yield return "lib" + name + ext;
            yield return name + ext;
        }

        private static Type? LoadContextType() => typeof(object).Assembly.GetType("System.Runtime.Loader.AssemblyLoadContext");

        private Assembly LoadIntoContext(string path)
        {
            var byPath = _loadContextType!.GetMethod("LoadFromAssemblyPath", new[] { typeof(string) })!;
            return (Assembly)byPath.Invoke(_loadContext, new object[] { path })!;
        }

        /// <summary>Our context's fallbacks: our files for anything the runtime lacks, and our native libraries.</summary>
        private void HookLoadContext()
        {
            AddEvent(_loadContext!, "Resolving", nameof(OnResolving));
            AddEvent(_loadContext!, "ResolvingUnmanagedDll", nameof(OnResolvingUnmanagedDll));
        }

        /// <summary>Where PowerShell's own resolution will ask: the default context (.NET) or the AppDomain (.NET Framework).</summary>
        private void HookProcess()
        {
            if (_loadContext != null)
            {
                var defaultContext = _loadContextType!.GetProperty("Default")!.GetValue(null)!;
                AddEvent(defaultContext, "Resolving", nameof(OnResolving));
            }
            else
            {
                AppDomain.CurrentDomain.AssemblyResolve += (_, args) => Resolve(new AssemblyName(args.Name));
                PreloadWindowsNative("e_sqlite3");
            }
        }

        private void AddEvent(object target, string eventName, string handlerName)
        {
            var info = target.GetType().GetEvent(eventName) ?? _loadContextType!.GetEvent(eventName)!;
            var handler = Delegate.CreateDelegate(info.EventHandlerType!, this, GetType().GetMethod(handlerName, BindingFlags.NonPublic | BindingFlags.Instance)!);
            info.AddEventHandler(target, handler);
        }

        // Signature matches Func<AssemblyLoadContext, AssemblyName, Assembly?> by contravariance.
        private Assembly? OnResolving(object context, AssemblyName name)
        {
            var path = PathOf(name);
            if (path == null) return null;
            // Asked by the default context (for HerdPS.dll): hand over the instance our context holds.
            if (!ReferenceEquals(context, _loadContext)) return Resolve(name);
            return LoadIntoContext(path);
        }

        // Signature matches Func<Assembly, string, IntPtr>.
        private IntPtr OnResolvingUnmanagedDll(Assembly requester, string libraryName)
        {
            var nativeLibrary = typeof(object).Assembly.GetType("System.Runtime.InteropServices.NativeLibrary");
            var load = nativeLibrary?.GetMethod("Load", new[] { typeof(string) });
            if (load == null) return IntPtr.Zero;
            foreach (var candidate in NativeCandidates(libraryName))
            {
                try { return (IntPtr)load.Invoke(null, new object[] { candidate })!; }
                catch (TargetInvocationException) { /* wrong architecture or C library: try the next */ }
            }
            return IntPtr.Zero;
        }

        /// <summary>.NET Framework finds a DllImport only on the DLL search path: loading it first by full path makes it found.</summary>
        private void PreloadWindowsNative(string libraryName)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return;
            foreach (var candidate in NativeCandidates(libraryName))
                if (LoadLibraryW(candidate) != IntPtr.Zero) return;
        }

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryW(string path);
    }
}
