namespace Strata.Server.Tests.E2E;

/// <summary>An alarm on an endpoint whose model starts failing reaches an https subscriber through
/// SNS and recovers (endpoint_alarm.py), through boto3 1.43 and 1.26 and the aws CLI v2.</summary>
public sealed class EndpointAlarmTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("endpoint_alarm.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "endpoint_alarm.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "endpoint_alarm.py")).AssertPassed(testCase);
}
