namespace Strata.Server.Tests.E2E;

/// <summary>ListBuckets pages, bucket tags, GetObjectAttributes and RestoreObject through the
/// image's boto3 (1.43).</summary>
public sealed class S3AttributesBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_attributes_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_attributes_boto3.py")).AssertPassed(testCase);
}

/// <summary>The same cases through Debian's python3-boto3 (1.26).</summary>
public sealed class S3AttributesDebianBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_attributes_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_attributes_boto3.py")).AssertPassed(testCase);
}
