namespace Strata.Server.Tests.E2E;

/// <summary>The AWS SDK for JavaScript v3 (npm's @aws-sdk/client-s3 and
/// @aws-sdk/client-sagemaker-runtime, installed in tests/js-sdk by scripts/test.sh): the README's
/// example, run with nothing but what `strata env` exports, puts an object and calls the demo
/// endpoint.</summary>
public sealed class JsSdkTests
{
    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Strata.slnx) is not above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task TheReadmeExampleRunsOnWhatStrataEnvExports()
    {
        var root = RepoRoot();
        var sdk = Path.Combine(root, "tests", "js-sdk");
        Assert.True(Directory.Exists(Path.Combine(sdk, "node_modules", "@aws-sdk", "client-sagemaker-runtime")),
            "the JS SDK is not installed: scripts/test.sh runs `npm ci` in tests/js-sdk");
        var example = Path.Combine(sdk, "example.mjs");
        // The README shows the example as it is run here.
        Assert.Contains((await File.ReadAllTextAsync(example)).Trim(), await File.ReadAllTextAsync(Path.Combine(root, "README.md")));

        await using var server = await StrataProcess.StartAsync(null, true, "--demo");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!server.Output.Any(l => l.StartsWith("demo: endpoint demo is", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("demo: endpoint demo is InService (variants A 80%, B 20%); try:", server.Output);

        // Nothing from this process's environment: only PATH, an empty HOME (no ~/.aws) and the exports.
        var home = Directory.CreateTempSubdirectory("strata-js-").FullName;
        try
        {
            var script = $"""
                set -e
                eval "$(dotnet '{StrataProcess.ServerDll}' env --data-dir '{server.DataDir}')"
                node '{example}'
                """;
            var (code, output) = await ClientProcess.RunAsync("env", ["-i", $"PATH={Environment.GetEnvironmentVariable("PATH")}", $"HOME={home}", "bash", "-c", script],
                new Dictionary<string, string>(), workingDirectory: home);
            Assert.True(code == 0, output);
            Assert.Contains("hello from the JS SDK v3", output);
            Assert.Matches("""(A|B) \{"predictions":\[\{"label":"setosa",""", output);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
