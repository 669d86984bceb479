namespace Strata.Server.Tests.E2E;

/// <summary>EventBridge delivering events (events_delivery.py) on a server whose clock the test
/// drives, through boto3 1.43 and 1.26.</summary>
public sealed class EventsDeliveryTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("events_delivery.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "events_delivery.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "events_delivery.py")).AssertPassed(testCase);
}
