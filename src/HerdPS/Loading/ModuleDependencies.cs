using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HerdPS.Loading
{
    /// <summary>
    /// Loads the engine and its third-party dependencies (YamlDotNet, SQLite, ...) from the module's own
    /// Dependencies/ folder so that another module's copy of the same assembly can't replace ours, nor ours theirs.
    /// The pattern is the one Microsoft documents for binary modules ("Resolving PowerShell module assembly
    /// dependency conflicts") and PSResourceGet uses:
    /// <list type="bullet">
    /// <item>PowerShell's default load context holds what PowerShell and users see: HerdPS.dll (the cmdlets) and
    /// HerdPS.Contracts.dll (every type a cmdlet writes or takes), both at the module root. They reference nothing
    /// but netstandard, System.Management.Automation, each other and HerdPS.Engine.</item>
    /// <item>PowerShell 7 (.NET): the engine and its dependencies live in an AssemblyLoadContext named "HerdPS".
    /// The default context asks for HerdPS.Engine only on behalf of HerdPS.dll, and <see cref="OnAssemblyResolve"/>
    /// answers that exact name with our context's copy. Inside our context, the third-party assemblies are loaded
    /// up front, so its own cache answers before the default context is asked; framework assemblies (System.*,
    /// Microsoft.Bcl.*) come from the runtime when it has a version at least as new, else from our folder.</item>
    /// <item>Windows PowerShell 5.1 (.NET Framework has no load contexts): the same handler answers for the files in
    /// Dependencies/, and only when one of our assemblies asks (or the runtime doesn't say who asked).</item>
    /// </list>
    /// Every answer is a load by path: nothing here asks a load context by name, so no answer can raise the event
    /// that asked for it again. .NET Standard 2.0 can't name AssemblyLoadContext, so it is reached by reflection.
    /// This class touches no PowerShell type: the module tests drive it on .NET without PowerShell.
    /// </summary>
    public sealed class ModuleDependencies
    {
        public const string FolderName = "Dependencies";
        public const string LoadContextName = "HerdPS";
        public const string EngineName = "HerdPS.Engine";
        public const string ContractsName = "HerdPS.Contracts";
        private const string ModuleName = "HerdPS";

        private readonly Dictionary<string, OwnedAssembly> _owned;
        private readonly Dictionary<string, Assembly> _loaded = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase);
        private readonly object _gate = new object();
        private readonly object? _loadContext;
        private readonly MethodInfo? _loadFromPath;
        private readonly Assembly? _contracts;
        private readonly ResolveEventHandler _appDomainHandler;
        private bool _hooked;

        private ModuleDependencies(string dependencyDirectory, Dictionary<string, OwnedAssembly> owned, object? loadContext, MethodInfo? loadFromPath, Assembly? contracts)
        {
            DependencyDirectory = dependencyDirectory;
            _owned = owned;
            _loadContext = loadContext;
            _loadFromPath = loadFromPath;
            _contracts = contracts;
            _appDomainHandler = OnAssemblyResolve;
        }

        public string DependencyDirectory { get; }
        /// <summary>The module's AssemblyLoadContext (as object: this assembly can't name the type), or null under .NET Framework.</summary>
        public object? LoadContext => _loadContext;
        public bool UsesLoadContext => _loadContext != null;
        /// <summary>Simple names of the managed assemblies in Dependencies/.</summary>
        public IReadOnlyCollection<string> AssemblyNames => _owned.Keys;
        /// <summary>True while the process-wide resolve handler is installed (between import and Remove-Module).</summary>
        public bool IsHooked { get { lock (_gate) return _hooked; } }

        private static readonly object InstallGate = new object();
        private static ModuleDependencies? _installed;

        /// <summary>
        /// Sets up isolated loading for the module in <paramref name="moduleDirectory"/>. The load context is made
        /// once per process (assemblies can't be unloaded; a second Import-Module, another runspace or a job reuses
        /// it); the resolve handler is (re)installed on every import and removed by <see cref="Uninstall"/>.
        /// </summary>
        public static ModuleDependencies Install(string moduleDirectory, Assembly? contracts)
        {
            lock (InstallGate)
            {
                _installed ??= Create(moduleDirectory, useLoadContext: LoadContextType() != null, contracts);
                _installed.Hook();
                return _installed;
            }
        }

        /// <summary>Removes the process-wide resolve handler (Remove-Module). Assemblies already loaded stay loaded.</summary>
        public static void Uninstall()
        {
            lock (InstallGate) _installed?.Unhook();
        }

        /// <summary>Builds the loader without hooking the process (tests call this; <see cref="Install"/> hooks too).</summary>
        /// <param name="contracts">HerdPS.Contracts as the default context holds it; our context hands this instance to the engine.</param>
        public static ModuleDependencies Create(string moduleDirectory, bool useLoadContext, Assembly? contracts = null)
        {
            var dir = Path.Combine(moduleDirectory, FolderName);
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"HerdPS: the module's {FolderName} folder is missing: {dir}");
            var owned = new Dictionary<string, OwnedAssembly>(StringComparer.OrdinalIgnoreCase);
            foreach (var file in Directory.GetFiles(dir, "*.dll", SearchOption.TopDirectoryOnly))
            {
                AssemblyName name;
                try { name = AssemblyName.GetAssemblyName(file); }
                catch (BadImageFormatException) { continue; } // a native library that landed here: not ours to resolve
                owned[name.Name!] = new OwnedAssembly(file, name);
            }
            if (!useLoadContext) return new ModuleDependencies(dir, owned, null, null, contracts);

            var contextType = LoadContextType() ?? throw new PlatformNotSupportedException("AssemblyLoadContext is not available on this runtime");
            var context = Activator.CreateInstance(contextType, LoadContextName, false)!;
            var loadFromPath = contextType.GetMethod("LoadFromAssemblyPath", new[] { typeof(string) })!;
            var deps = new ModuleDependencies(dir, owned, context, loadFromPath, contracts);
            deps.AddEvent(context, contextType, "Resolving", nameof(OnModuleContextResolving));
            deps.AddEvent(context, contextType, "ResolvingUnmanagedDll", nameof(OnResolvingUnmanagedDll));
            foreach (var entry in owned.Values)
                if (IsThirdParty(entry.Name.Name!)) deps.Load(entry);
            return deps;
        }

        /// <summary>
        /// Assemblies we ship that no runtime provides, loaded into our context before anyone asks so that a copy
        /// another module put in the default context can never answer for them. Framework assemblies (System.*,
        /// Microsoft.Bcl.*, netstandard) are left to the runtime's copy when it is new enough: a second System.Memory
        /// would make a second Span type. The engine itself is loaded when HerdPS.dll first needs it.
        /// </summary>
        public static bool IsThirdParty(string simpleName) =>
            !(simpleName.StartsWith("System.", StringComparison.OrdinalIgnoreCase)
              || simpleName.StartsWith("Microsoft.Bcl.", StringComparison.OrdinalIgnoreCase)
              || simpleName.StartsWith("Microsoft.Win32.", StringComparison.OrdinalIgnoreCase)
              // Part of every .NET runtime (Fluid's netstandard2.0 build asks for the 4.x package's copy).
              || simpleName.Equals("Microsoft.CSharp", StringComparison.OrdinalIgnoreCase)
              || simpleName.Equals("netstandard", StringComparison.OrdinalIgnoreCase)
              || simpleName.Equals("mscorlib", StringComparison.OrdinalIgnoreCase)
              || simpleName.Equals(EngineName, StringComparison.OrdinalIgnoreCase));

        /// <summary>
        /// The file that answers a request made in PowerShell's default context (or, on .NET Framework, the only
        /// context), or null when it is not ours to answer. With a load context only HerdPS.Engine, at exactly our
        /// version, asked for by HerdPS.dll: anything else (another module asking for its own YamlDotNet, even the
        /// same version as ours) is left alone. Without one, any file in Dependencies/ at a version at least the one
        /// asked for, when one of our assemblies asked (a null requester means the runtime didn't say).
        /// </summary>
        public string? PathForDefaultContext(AssemblyName requested, Assembly? requester)
        {
            if (requested?.Name == null || !_owned.TryGetValue(requested.Name, out var ours)) return null;
            if (_loadContext != null)
            {
                if (!requested.Name.Equals(EngineName, StringComparison.OrdinalIgnoreCase)) return null;
                if (requester != null && !IsModuleAssembly(requester.GetName().Name)) return null;
                return SameIdentity(requested, ours.Name) ? ours.Path : null;
            }
            if (requester != null && !IsModuleAssembly(requester.GetName().Name) && !_owned.ContainsKey(requester.GetName().Name ?? "")) return null;
            return Satisfies(ours.Name, requested) ? ours.Path : null;
        }

        /// <summary>
        /// The file that answers a request made inside our own load context, which only our engine and our
        /// dependencies use: any file of ours at a version at least the one asked for, or null (the request then
        /// fails as it would without us).
        /// </summary>
        public string? PathForModuleContext(AssemblyName requested)
        {
            if (requested?.Name == null || !_owned.TryGetValue(requested.Name, out var ours)) return null;
            return Satisfies(ours.Name, requested) ? ours.Path : null;
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

        /// <summary>Loads one of our assemblies the way this runtime's isolation requires (our context, or LoadFrom on .NET Framework).</summary>
        public Assembly LoadOwned(string simpleName)
        {
            if (!_owned.TryGetValue(simpleName, out var entry)) throw new FileNotFoundException($"HerdPS: {simpleName} is not in {DependencyDirectory}");
            return Load(entry);
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

        private static bool IsModuleAssembly(string? simpleName) =>
            ModuleName.Equals(simpleName, StringComparison.OrdinalIgnoreCase)
            || ContractsName.Equals(simpleName, StringComparison.OrdinalIgnoreCase)
            || EngineName.Equals(simpleName, StringComparison.OrdinalIgnoreCase);

        private static bool SameIdentity(AssemblyName requested, AssemblyName ours) =>
            string.Equals(requested.Name, ours.Name, StringComparison.OrdinalIgnoreCase)
            && (requested.Version == null || requested.Version == ours.Version)
            && SameToken(requested.GetPublicKeyToken(), ours.GetPublicKeyToken());

        /// <summary>Ours answers a request for the same name and public key at this version or an older one.</summary>
        private static bool Satisfies(AssemblyName ours, AssemblyName requested) =>
            (requested.Version == null || ours.Version >= requested.Version)
            && SameToken(requested.GetPublicKeyToken(), ours.GetPublicKeyToken());

        private static bool SameToken(byte[]? requested, byte[]? ours)
        {
            // A request without a token (a partial name) matches; a token must match exactly.
            if (requested == null) return true;
            ours ??= Array.Empty<byte>();
            if (requested.Length != ours.Length) return false;
            for (var i = 0; i < requested.Length; i++) if (requested[i] != ours[i]) return false;
            return true;
        }

        private static Type? LoadContextType() => typeof(object).Assembly.GetType("System.Runtime.Loader.AssemblyLoadContext");

        private Assembly Load(OwnedAssembly entry)
        {
            lock (_gate)
            {
                var key = entry.Name.Name!;
                if (_loaded.TryGetValue(key, out var loaded)) return loaded;
                loaded = _loadContext != null
                    ? (Assembly)_loadFromPath!.Invoke(_loadContext, new object[] { entry.Path })!
                    : Assembly.LoadFrom(entry.Path);
                _loaded[key] = loaded;
                return loaded;
            }
        }

        private void Hook()
        {
            lock (_gate)
            {
                if (_hooked) return;
                AppDomain.CurrentDomain.AssemblyResolve += _appDomainHandler;
                _hooked = true;
            }
            if (_loadContext == null) PreloadWindowsNative("e_sqlite3");
        }

        private void Unhook()
        {
            lock (_gate)
            {
                if (!_hooked) return;
                AppDomain.CurrentDomain.AssemblyResolve -= _appDomainHandler;
                _hooked = false;
            }
        }

        private void AddEvent(object target, Type type, string eventName, string handlerName)
        {
            var info = type.GetEvent(eventName)!;
            var handler = Delegate.CreateDelegate(info.EventHandlerType!, this, GetType().GetMethod(handlerName, BindingFlags.NonPublic | BindingFlags.Instance)!);
            info.AddEventHandler(target, handler);
        }

        // Raised for the default context (after its own Resolving handlers), and for every request on .NET Framework.
        private Assembly? OnAssemblyResolve(object? sender, ResolveEventArgs args)
        {
            var requested = new AssemblyName(args.Name);
            return PathForDefaultContext(requested, args.RequestingAssembly) == null ? null : Load(_owned[requested.Name!]);
        }

        // Our context's last resort (after its own cache and the default context). Signature matches
        // Func<AssemblyLoadContext, AssemblyName, Assembly?> by contravariance.
        private Assembly? OnModuleContextResolving(object context, AssemblyName name)
        {
            // The engine's contract types: the instance PowerShell and the cmdlets see, never a second copy.
            if (_contracts != null && ContractsName.Equals(name.Name, StringComparison.OrdinalIgnoreCase)) return _contracts;
            return PathForModuleContext(name) == null ? null : Load(_owned[name.Name!]);
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

        private sealed class OwnedAssembly
        {
            public OwnedAssembly(string path, AssemblyName name)
            {
                Path = path;
                Name = name;
            }

            public string Path { get; }
            public AssemblyName Name { get; }
        }
    }
}
