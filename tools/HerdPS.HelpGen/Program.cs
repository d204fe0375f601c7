using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace HerdPS.HelpGen
{
    /// <summary>The generated help files, by path relative to the repo root.</summary>
    public static class HelpBuild
    {
        public const string MamlPath = "en-US/HerdPS.dll-Help.xml";

        public static IReadOnlyDictionary<string, string> Generate(string repoRoot)
        {
            var docs = Path.Combine(repoRoot, "docs");
            var pages = Directory.GetFiles(docs, "*-*.md").Where(f => !Path.GetFileName(f).StartsWith("about_", StringComparison.Ordinal))
                .OrderBy(f => f, StringComparer.Ordinal).Select(MarkdownHelp.ParseFile).ToList();
            foreach (var page in pages)
            {
                var file = Path.Combine(docs, page.Name + ".md");
                if (!File.Exists(file)) throw new FormatException($"docs page title '# {page.Name}' doesn't match its file name");
            }
            var outputs = new SortedDictionary<string, string>(StringComparer.Ordinal) { [MamlPath] = MamlWriter.Write(pages) };
            foreach (var about in Directory.GetFiles(docs, "about_*.md").OrderBy(f => f, StringComparer.Ordinal))
                outputs["en-US/" + Path.GetFileNameWithoutExtension(about) + ".help.txt"] = AboutTopicWriter.Write(File.ReadAllText(about));
            return outputs;
        }
    }

    public static class Program
    {
        /// <summary>Writes en-US/ from docs/; with --check, writes nothing and exits 1 when en-US/ is out of date.</summary>
        public static int Main(string[] args)
        {
            var check = args.Contains("--check");
            var root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? FindRepoRoot();
            IReadOnlyDictionary<string, string> outputs;
            try { outputs = HelpBuild.Generate(root); }
            catch (FormatException e) { Console.Error.WriteLine("helpgen: " + e.Message); return 2; }
            var stale = 0;
            foreach (var (relative, content) in outputs)
            {
                var path = Path.Combine(root, relative);
                var current = File.Exists(path) ? File.ReadAllText(path) : null;
                if (current == content) continue;
                if (check) { Console.Error.WriteLine($"helpgen: {relative} is out of date (run: dotnet run --project tools/HerdPS.HelpGen)"); stale++; continue; }
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content);
                Console.WriteLine("wrote " + relative);
            }
            return stale == 0 ? 0 : 1;
        }

        private static string FindRepoRoot()
        {
            var dir = new DirectoryInfo(Directory.GetCurrentDirectory());
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "HerdPS.psd1"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository, or pass its root");
        }
    }
}
