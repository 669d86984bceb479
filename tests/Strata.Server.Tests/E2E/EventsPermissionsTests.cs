namespace Strata.Server.Tests.E2E;

/// <summary>EventBridge bus permissions (events_permissions.py): PutPermission, RemovePermission and
/// a bus's policy enforced for another account's PutEvents and rules, through boto3 1.43 and 1.26
/// (and the aws CLI v2 from the script).</summary>
public sealed class EventsPermissionsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("events_permissions.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "events_permissions.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "events_permissions.py")).AssertPassed(testCase);
}
