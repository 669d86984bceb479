namespace Strata.Server.Tests.E2E;

/// <summary>S3 storage classes through boto3 1.43 and 1.26, on a server whose clock the test
/// drives: classes kept and reported, refused where S3 refuses them, and archived objects that
/// read only after a restore has run for its tier's time and until its copy expires.</summary>
public sealed class S3StorageClassTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_storage_classes_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "s3_storage_classes_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "s3_storage_classes_boto3.py")).AssertPassed(testCase);
}
