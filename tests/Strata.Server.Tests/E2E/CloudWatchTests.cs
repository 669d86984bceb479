namespace Strata.Server.Tests.E2E;

/// <summary>CloudWatch metrics and dashboards through boto3 1.43 (RPC v2 CBOR, and JSON 1.0) and
/// Debian's 1.26 (Query).</summary>
public sealed class CloudWatchBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudwatch_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "cloudwatch_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "cloudwatch_boto3.py")).AssertPassed(testCase);
}

/// <summary>CloudWatch through the aws CLI v1.45 (CBOR) and v2.9 (Query).</summary>
[RunsLong]
public sealed class CloudWatchCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudwatch_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "cloudwatch_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "cloudwatch_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>CloudWatch alarms through boto3 1.43 and 1.26, on a server whose clock the test drives.</summary>
public sealed class CloudWatchAlarmBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudwatch_alarms_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "cloudwatch_alarms_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "cloudwatch_alarms_boto3.py")).AssertPassed(testCase);
}
