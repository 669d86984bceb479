namespace Strata.Server.Tests.E2E;

/// <summary>S3 Object Lock through boto3 1.43 and 1.26, on a server whose clock the test drives:
/// configuration, retention and legal hold, what they forbid and allow, and retention running out.</summary>
public sealed class S3ObjectLockBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_object_lock_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "s3_object_lock_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "s3_object_lock_boto3.py")).AssertPassed(testCase);
}

/// <summary>S3 Object Lock through the aws CLI v1.45 and v2.9.</summary>
public sealed class S3ObjectLockCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_object_lock_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "s3_object_lock_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "s3_object_lock_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
