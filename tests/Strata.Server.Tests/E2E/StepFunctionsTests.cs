namespace Strata.Server.Tests.E2E;

/// <summary>Step Functions through boto3 1.43 and 1.26 on a server whose clock the script moves
/// (Wait states, .sync polling), and through the aws CLI v1 and v2 (stepfunctions_cli.sh).</summary>
public sealed class StepFunctionsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_boto3.py");

    public static IEnumerable<object[]> CliCases => ClientSuite.Cases("stepfunctions_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "stepfunctions_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "stepfunctions_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(CliCases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "stepfunctions_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(CliCases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "stepfunctions_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>The callback pattern through boto3 1.43 and 1.26 on a server whose clock the script moves:
/// activities with workers in threads, .waitForTaskToken tasks, heartbeats and timeouts, and the
/// errors for refused tokens (stepfunctions_callbacks.py); activity workers with the aws CLI v1 and v2
/// (stepfunctions_activities_cli.sh).</summary>
[RunsLong]
public sealed class StepFunctionsCallbackTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_callbacks.py");

    public static IEnumerable<object[]> CliCases => ClientSuite.Cases("stepfunctions_activities_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "stepfunctions_callbacks.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "stepfunctions_callbacks.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(CliCases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "stepfunctions_activities_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(CliCases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "stepfunctions_activities_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>Executions survive the server's death (kill -9): one in a Wait state and one whose
/// SageMaker training task had submitted its job both finish after the restart, and nothing ran
/// twice (stepfunctions_restart.py).</summary>
public sealed class StepFunctionsRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("stepfunctions_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(6), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    [Fact]
    public async Task KilledServerResumesExecutionsWithoutRunningAStateTwice()
    {
        var dir = Directory.CreateTempSubdirectory("strata-sfn-restart-").FullName;
        try
        {
            string[] started;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                started = (await Script(first, "start")).Split(' ');
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, ["check", .. started]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Tasks waiting for their token survive the server's death (kill -9): an activity task a
/// worker took and a .waitForTaskToken task both finish on SendTaskSuccess after the restart, each
/// scheduled once (stepfunctions_callbacks_restart.py).</summary>
public sealed class StepFunctionsCallbackRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("stepfunctions_callbacks_restart.py"), .. args],
            server.ClientEnvironment(), TimeSpan.FromMinutes(3), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    /// <summary>A server told to stop answers a worker's waiting GetActivityTask at once, without a
    /// task, and exits cleanly (before, the poll held the shutdown until the host gave up on it and
    /// cut the connection).</summary>
    [Fact]
    public async Task StoppingServerAnswersAWaitingActivityPoll()
    {
        var dir = Directory.CreateTempSubdirectory("strata-sfn-poll-shutdown-").FullName;
        try
        {
            await using var server = await StrataProcess.StartAsync(dir);
            Assert.Equal("answered []", await Script(server, "poll", server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(0, await server.TerminateAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task KilledServerKeepsWaitingTasksAndTheirTokens()
    {
        var dir = Directory.CreateTempSubdirectory("strata-sfn-callback-restart-").FullName;
        try
        {
            string[] started;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                started = (await Script(first, "start")).Split(' ');
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, ["check", .. started]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
