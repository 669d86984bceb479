namespace Strata.Server.Tests.E2E;

/// <summary>Zones and chaos drills (boto3 1.43 for the clients, the strata CLI for the drills).</summary>
public sealed class ZonesTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("zones_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "zones_boto3.py")).AssertPassed(testCase);
}
