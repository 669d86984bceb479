namespace Strata.Server.Tests.E2E;

/// <summary>S3 bucket lifecycle through boto3 1.43 and 1.26, on a server whose clock the test
/// drives: the configuration and its refusals, and what the rules expire as days pass.</summary>
public sealed class S3LifecycleBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_lifecycle_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "s3_lifecycle_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "s3_lifecycle_boto3.py")).AssertPassed(testCase);
}
