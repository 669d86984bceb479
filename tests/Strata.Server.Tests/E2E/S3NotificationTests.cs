namespace Strata.Server.Tests.E2E;

/// <summary>PutBucketNotificationConfiguration and GetBucketNotificationConfiguration through
/// boto3 1.43 and 1.26: EventBridge on and off, unvalidated destinations refused.</summary>
public sealed class S3NotificationBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_notification_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_notification_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_notification_boto3.py")).AssertPassed(testCase);
}
