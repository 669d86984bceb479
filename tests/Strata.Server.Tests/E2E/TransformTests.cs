namespace Strata.Server.Tests.E2E;

/// <summary>Batch transform through boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class TransformBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("transform_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "transform_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "transform_boto3.py")).AssertPassed(testCase);
}

/// <summary>Batch transform through the aws CLI v1.45 and v2.9 (the waiter), and `strata jobs watch`.</summary>
[RunsLong]
public sealed class TransformCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("transform_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "transform_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "transform_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
