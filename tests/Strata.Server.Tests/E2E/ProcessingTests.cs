namespace Strata.Server.Tests.E2E;

/// <summary>SageMaker processing jobs with a container of one's own (processing_boto3.py), through
/// boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class ProcessingTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("processing_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "processing_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "processing_boto3.py")).AssertPassed(testCase);
}

/// <summary>Processing jobs' time on a server whose clock the script moves (processing_clock_boto3.py):
/// MaxRuntimeInSeconds, the 120 s between SIGTERM and SIGKILL, Continuous uploads.</summary>
public sealed class ProcessingClockTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("processing_clock_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "processing_clock_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "processing_clock_boto3.py")).AssertPassed(testCase);
}

/// <summary>A processing job interrupted by the server's death never stays InProgress: after the
/// restart it has failed, saying why (processing_restart.py).</summary>
public sealed class ProcessingRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("processing_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(4), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    [Fact]
    public async Task KillingTheServerFailsTheJobSayingWhy()
    {
        var dir = Directory.CreateTempSubdirectory("strata-processing-restart-").FullName;
        try
        {
            string job;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                job = await Script(first, "start");
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, "check", job));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>The README's processing example through the aws CLI v1.45 and v2.9, with the CLI's
/// waiter (processing_cli.sh).</summary>
public sealed class ProcessingCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("processing_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "processing_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "processing_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>Model Monitor baselines (monitor_baseline_boto3.py): the analyzer image the SageMaker SDK
/// uses, run as a processing job, writes statistics.json and constraints.json that agree with
/// Python's statistics module; bad datasets fail the job saying what to fix.</summary>
public sealed class MonitorBaselineTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("monitor_baseline_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "monitor_baseline_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "monitor_baseline_boto3.py")).AssertPassed(testCase);
}
