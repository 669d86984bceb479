namespace Strata.Server.Tests.E2E;

/// <summary>IAM, STS and accounts through boto3 1.43 and Debian's 1.26.</summary>
[RunsLong]
public sealed class IamBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("iam_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "iam_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "iam_boto3.py")).AssertPassed(testCase);
}

/// <summary>IAM and STS through the aws CLI v1.45 and v2.9 (including a role_arn profile).</summary>
public sealed class IamCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("iam_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "iam_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "iam_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
