namespace Strata.Server.Tests.E2E;

/// <summary>Pipe input mode, ShuffleConfig, RecordIO wrapping and augmented manifests with a
/// container of one's own reading its FIFOs (training_pipe_boto3.py), through boto3 1.43 and 1.26.</summary>
public sealed class TrainingPipeTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_pipe_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "training_pipe_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "training_pipe_boto3.py")).AssertPassed(testCase);
}

/// <summary>A Pipe-mode job with a ShuffleConfig through the aws CLI v1.45 and v2.9, and its
/// validation errors (training_pipe_cli.sh).</summary>
public sealed class TrainingPipeCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_pipe_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "training_pipe_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "training_pipe_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
