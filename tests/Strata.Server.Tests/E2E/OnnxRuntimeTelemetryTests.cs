using System.Diagnostics;

namespace Strata.Server.Tests.E2E;

/// <summary>The built-in worker runs ONNX Runtime with its telemetry off: its official builds
/// otherwise write a device id under ~/.cache and report the process, its sessions and models to
/// Microsoft. The server is started as a user would start it: without the opt-out in its own
/// environment and without the CI variables under which ONNX Runtime keeps quiet by itself.</summary>
public sealed class OnnxRuntimeTelemetryTests
{
    static readonly string[] Quieting = ["ORT_DISABLE_TELEMETRY", "ORT_RUNNING_UNIT_TESTS", "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI",
        "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER"];

    [Fact]
    public async Task AnEndpointsWorkerWritesNoDeviceIdAndReportsNothing()
    {
        var home = Directory.CreateTempSubdirectory("strata-home-").FullName;
        try
        {
            var environment = Quieting.ToDictionary(name => name, string? (_) => null);
            environment["HOME"] = home;
            await using (var server = await StrataProcess.StartWithEnvironmentAsync(environment))
            {
                // Deploys an endpoint on the built-in worker and invokes it (the model is loaded and run).
                var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("sagemaker_restart.py"), "deploy"], server.ClientEnvironment(),
                    workingDirectory: Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
                Assert.True(code == 0, output);

                var workers = WorkerEnvironments(server.DataDir);
                Assert.NotEmpty(workers);
                Assert.All(workers, environ => Assert.Contains("\0ORT_DISABLE_TELEMETRY=1\0", "\0" + environ, StringComparison.Ordinal));
                Assert.All(workers, environ => Assert.Contains($"\0HOME={home}\0", "\0" + environ, StringComparison.Ordinal));
            }
            // Where ONNX Runtime keeps its device id and the events it has not sent yet; looked at
            // once the server and its workers have ended, so nothing written on the way out is missed.
            Assert.False(Directory.Exists(Path.Combine(home, ".cache", "Microsoft", "DeveloperTools")),
                string.Join('\n', Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories)));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>The environments of the worker processes serving models unpacked under this data directory.</summary>
    static List<string> WorkerEnvironments(string dataDir)
    {
        var found = new List<string>();
        foreach (var process in Process.GetProcessesByName("dotnet"))
        {
            try
            {
                var environ = File.ReadAllText($"/proc/{process.Id}/environ");
                if (environ.Contains($"SM_MODEL_DIR={dataDir}", StringComparison.Ordinal)) found.Add(environ);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            finally { process.Dispose(); }
        }
        return found;
    }
}
