namespace Strata.Server.Tests.E2E;

/// <summary>S3's time- and bucket-dependent condition keys (<c>s3:signatureAge</c>,
/// <c>s3:ResourceAccount</c>, <c>s3:if-match</c>/<c>s3:if-none-match</c>) through boto3 1.43 and
/// 1.26, on a server whose clock the test drives.</summary>
public sealed class S3RequestKeysTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_request_keys_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "s3_request_keys_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "s3_request_keys_boto3.py")).AssertPassed(testCase);
}
