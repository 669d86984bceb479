namespace Strata.Server.Tests.E2E;

/// <summary>CloudTrail's event history (cloudtrail_history.py) through boto3 1.43 and 1.26 and the aws CLI v2.</summary>
public sealed class CloudTrailHistoryTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudtrail_history.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "cloudtrail_history.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "cloudtrail_history.py")).AssertPassed(testCase);
}
