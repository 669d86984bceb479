namespace Strata.Server.Tests.E2E;

/// <summary>S3 bucket versioning through the image's boto3 (1.43), including an endpoint deployed
/// from a versioned artifact.</summary>
public sealed class S3VersioningBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_versioning_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_versioning_boto3.py")).AssertPassed(testCase);
}

/// <summary>The same cases through Debian's python3-boto3 (1.26).</summary>
public sealed class S3VersioningDebianBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_versioning_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_versioning_boto3.py")).AssertPassed(testCase);
}
