namespace Strata.Server.Tests.E2E;

/// <summary>Server-side encryption (SSE-S3, SSE-KMS, SSE-C, bucket defaults) through boto3 1.43 and 1.26.</summary>
public sealed class S3EncryptionBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_sse_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_sse_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_sse_boto3.py")).AssertPassed(testCase);
}
