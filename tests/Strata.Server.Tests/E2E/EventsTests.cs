namespace Strata.Server.Tests.E2E;

/// <summary>EventBridge through boto3 1.43 and 1.26 (and the aws CLI v2 from the script).</summary>
public sealed class EventsBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("events_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "events_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "events_boto3.py")).AssertPassed(testCase);
}
