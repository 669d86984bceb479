namespace Strata.Server.Tests.E2E;

/// <summary>CloudTrail's trails (cloudtrail_trails.py) on a server whose clock the test drives,
/// through boto3 1.43 and 1.26.</summary>
public sealed class CloudTrailTrailsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudtrail_trails.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "cloudtrail_trails.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "cloudtrail_trails.py")).AssertPassed(testCase);
}
