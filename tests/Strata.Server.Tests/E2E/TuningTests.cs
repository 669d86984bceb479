namespace Strata.Server.Tests.E2E;

/// <summary>Hyperparameter tuning jobs (tuning_boto3.py) through boto3 1.43 and 1.26: Random, Grid,
/// Bayesian (AWS's XGBoost image) and Hyperband over real training jobs, early stopping, stop,
/// delete, the listings and the bad inputs.</summary>
public sealed class TuningTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("tuning_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "tuning_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "tuning_boto3.py")).AssertPassed(testCase);
}

/// <summary>The README's tuning example through the aws CLI v1.45 and v2.9 (tuning_cli.sh).</summary>
public sealed class TuningCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("tuning_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "tuning_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "tuning_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>A tuning job survives the server's death: its interrupted training job fails as any
/// training job without checkpoints does, the tuner tries that configuration again in a new
/// training job and completes the search (tuning_restart.py).</summary>
public sealed class TuningRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("tuning_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(4), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    [Fact]
    public async Task KillingTheServerRetriesTheInterruptedTrialAndCompletes()
    {
        var dir = Directory.CreateTempSubdirectory("strata-tuning-restart-").FullName;
        try
        {
            string name;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                name = await Script(first, "start");
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, "check", name));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>A tuning job's MaxRuntimeInSeconds on a server whose clock the test drives
/// (tuning_clock_boto3.py), through boto3 1.43 and 1.26.</summary>
public sealed class TuningClockTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("tuning_clock_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "tuning_clock_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "tuning_clock_boto3.py")).AssertPassed(testCase);
}
