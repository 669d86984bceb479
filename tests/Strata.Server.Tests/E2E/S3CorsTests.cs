namespace Strata.Server.Tests.E2E;

/// <summary>S3 CORS through boto3 1.43 and 1.26: the configuration and its refusals, a browser's
/// unsigned preflight, and the Access-Control-* headers on the requests that follow.</summary>
public sealed class S3CorsBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_cors_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_cors_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_cors_boto3.py")).AssertPassed(testCase);
}
