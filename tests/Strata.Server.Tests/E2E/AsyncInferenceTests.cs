namespace Strata.Server.Tests.E2E;

/// <summary>Asynchronous inference through boto3 1.43 and 1.26, on a server whose clock the test drives.</summary>
public sealed class AsyncInferenceBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("async_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "async_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "async_boto3.py")).AssertPassed(testCase);
}

/// <summary>invoke-endpoint-async through both aws CLIs.</summary>
[RunsLong]
public sealed class AsyncInferenceCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("async_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "async_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "async_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>Requests queued when the server is killed (-9) are answered after the restart, each exactly once.</summary>
public sealed class AsyncInferenceRestartTests
{
    [Fact]
    public async Task QueuedRequestsSurviveAKill()
    {
        var dir = Directory.CreateTempSubdirectory("strata-async-restart-").FullName;
        var scripts = Path.GetDirectoryName(ClientSuite.ScriptPath("x"));
        try
        {
            var first = await StrataProcess.StartAsync(dir);
            var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("async_restart.py"), "enqueue"], first.ClientEnvironment(), workingDirectory: scripts);
            Assert.True(code == 0, output + string.Join('\n', first.Output));
            var queued = output.Trim().Split('\n')[^1].Split(' ');
            first.Kill();

            await using var second = await StrataProcess.StartAsync(dir);
            (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("async_restart.py"), "check", .. queued], second.ClientEnvironment(), workingDirectory: scripts);
            Assert.True(code == 0, output + string.Join('\n', second.Output));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
