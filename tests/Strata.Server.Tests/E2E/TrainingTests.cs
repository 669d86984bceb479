namespace Strata.Server.Tests.E2E;

/// <summary>SageMaker training jobs with a container of one's own (training_boto3.py), through
/// boto3 1.43 and 1.26.</summary>
public sealed class TrainingTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "training_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "training_boto3.py")).AssertPassed(testCase);
}

/// <summary>XGBoost and PCA on AWS's image URIs through the aws CLI v1.45 and v2.9, with the CLI's
/// waiter and the models deployed; with v2 also a container of one's own, script mode and a failing
/// job (training_cli.sh).</summary>
public sealed class TrainingCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_cli.sh");

    /// <summary>The cases v1 runs too: those named *_cli_v2 (a container of one's own, script mode,
    /// a failing job) run with v2 alone, to keep CI short.</summary>
    public static IEnumerable<object[]> V1Cases => Cases.Where(c => !((string)c[0]).EndsWith("_cli_v2", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(V1Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "training_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "training_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>AWS's built-in k-means and PCA on AWS's image URIs: trained from S3, deployed with
/// AWS's image, answers checked against references computed in the script (algorithms_boto3.py),
/// through boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class BuiltInAlgorithmsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("algorithms_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "algorithms_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "algorithms_boto3.py")).AssertPassed(testCase);
}
