namespace Strata.Server.Tests.E2E;

/// <summary>Serverless endpoints through boto3 1.43 and 1.26, on a server whose clock the test drives.</summary>
public sealed class ServerlessBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("serverless_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "serverless_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "serverless_boto3.py")).AssertPassed(testCase);
}
