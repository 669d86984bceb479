using System.Diagnostics;

namespace Strata.Server.Tests.E2E;

/// <summary>Endpoints that were InService come back after the server is killed and restarted,
/// and the killed server's workers do not outlive it.</summary>
public sealed class HostingRestartTests
{
    [Fact]
    public async Task EndpointsComeBackAfterAKill()
    {
        var dir = Directory.CreateTempSubdirectory("strata-restart-").FullName;
        try
        {
            var first = await StrataProcess.StartAsync(dir);
            var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("sagemaker_restart.py"), "deploy"], first.ClientEnvironment(), workingDirectory: Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
            Assert.True(code == 0, output);
            var endpointName = output.Trim().Split('\n')[^1];
            Assert.True(WorkersOf(dir) > 0, "no worker is running for the endpoint");

            first.Kill();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (WorkersOf(dir) > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(0, WorkersOf(dir));

            await using var second = await StrataProcess.StartAsync(dir);
            (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("sagemaker_restart.py"), "invoke", endpointName], second.ClientEnvironment(), workingDirectory: Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
            Assert.True(code == 0, output + string.Join('\n', second.Output));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Worker processes serving models unpacked under this data directory.</summary>
    static int WorkersOf(string dataDir)
    {
        var count = 0;
        foreach (var process in Process.GetProcessesByName("dotnet"))
        {
            try
            {
                var environ = File.ReadAllText($"/proc/{process.Id}/environ");
                if (environ.Contains($"SM_MODEL_DIR={dataDir}", StringComparison.Ordinal)) count++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            finally { process.Dispose(); }
        }
        return count;
    }
}
