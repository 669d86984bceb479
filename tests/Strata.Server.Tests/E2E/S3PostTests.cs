namespace Strata.Server.Tests.E2E;

/// <summary>S3 browser-based uploads (POST Object) through boto3 1.43 and 1.26: forms made by
/// boto3's generate_presigned_post, posted as a browser posts them, on a server whose clock the
/// script drives (a policy's expiry).</summary>
public sealed class S3PostTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_post_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "s3_post_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "s3_post_boto3.py")).AssertPassed(testCase);
}
