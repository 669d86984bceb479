namespace Strata.Server.Tests.E2E;

/// <summary>Every protocol's errors and authentication failures, through boto3 1.43 and 1.26.</summary>
public sealed class ProtocolTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("protocols.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "protocols.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "protocols.py")).AssertPassed(testCase);
}
