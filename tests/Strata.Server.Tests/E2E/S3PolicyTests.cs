namespace Strata.Server.Tests.E2E;

/// <summary>Bucket policies, the public access block, anonymous and presigned access, HTTPS-only
/// policies, through boto3 1.43 and 1.26.</summary>
public sealed class S3PolicyBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_policy_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_policy_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_policy_boto3.py")).AssertPassed(testCase);
}
