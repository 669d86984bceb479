using System.Diagnostics;
using Strata.Codegen;

// strata-codegen: writes the generated wire layer of every service listed in services.json from
// the botocore models installed with the clients (never copied into the repository).
//   dotnet run --project src/Strata.Codegen [-- --botocore DIR] [--out ROOT] [--check]
// --check compares instead of writing and fails when a generated file is out of date.
var botocore = Arg("--botocore") ?? WireCodegen.FindBotocore();
var root = Arg("--out") ?? WireCodegen.FindRepositoryRoot(AppContext.BaseDirectory);
var check = args.Contains("--check");
var list = Path.Combine(root, "src", "Strata.Codegen", "services.json");
var stale = 0;
foreach (var (path, text) in WireCodegen.Generate(botocore, ServiceList.Load(list)))
{
    var target = Path.Combine(root, path);
    var current = File.Exists(target) ? File.ReadAllText(target) : null;
    if (current == text) continue;
    if (check)
    {
        Console.Error.WriteLine($"out of date: {path}");
        stale++;
        continue;
    }
    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
    File.WriteAllText(target, text);
    Console.WriteLine($"wrote {path}");
}
return stale == 0 ? 0 : 1;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

namespace Strata.Codegen
{
    static class WireCodegen
    {
        /// <summary>Every generated file: its path relative to the repository root and its text.</summary>
        public static IEnumerable<(string Path, string Text)> Generate(string botocoreDir, IEnumerable<ServiceList> services)
        {
            var version = Version(botocoreDir);
            foreach (var service in services)
            {
                var model = ServiceModel.Load(Path.Combine(botocoreDir, "data"), service.Model);
                yield return (service.Output, new Generator(model, service, version).Generate());
            }
        }

        /// <summary>The services listed for generation in a repository.</summary>
        public static IEnumerable<ServiceList> Services(string repositoryRoot)
            => ServiceList.Load(Path.Combine(repositoryRoot, "src", "Strata.Codegen", "services.json"));

        /// <summary>botocore's package folder of the image's python3 (the newest client).</summary>
        public static string FindBotocore()
        {
            var psi = new ProcessStartInfo("python3", ["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"]) { RedirectStandardOutput = true };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
            var dir = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && Directory.Exists(dir) ? dir : throw new InvalidOperationException("python3 has no botocore: pass --botocore DIR");
        }

        public static string Version(string botocoreDir)
        {
            foreach (var line in File.ReadLines(Path.Combine(botocoreDir, "__init__.py")))
                if (line.StartsWith("__version__", StringComparison.Ordinal)) return line.Split('\'', '"')[1];
            return "unknown";
        }

        public static string FindRepositoryRoot(string from)
        {
            for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) return dir.FullName;
            throw new DirectoryNotFoundException("not inside the Strata repository: pass --out ROOT");
        }
    }
}
