namespace Strata.Server.Tests.E2E;

/// <summary>A training job interrupted by the server's death never stays InProgress: after the
/// restart, a job with a CheckpointConfig trains again (from its checkpoints in S3) and one
/// without fails saying why (training_restart.py).</summary>
public sealed class TrainingRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("training_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(4), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    [Fact]
    public async Task KillingTheServerResumesCheckpointedJobsAndFailsTheOthers()
    {
        var dir = Directory.CreateTempSubdirectory("strata-training-restart-").FullName;
        try
        {
            string[] jobs;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                jobs = (await Script(first, "start")).Split(' ');
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, "check", jobs[0], jobs[1]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
