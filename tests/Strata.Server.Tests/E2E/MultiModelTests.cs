namespace Strata.Server.Tests.E2E;

/// <summary>Multi-model endpoints through boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class MultiModelBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("mme_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "mme_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "mme_boto3.py")).AssertPassed(testCase);
}
