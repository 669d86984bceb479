namespace Strata.Server.Tests.E2E;

/// <summary>Errors that locate the bad data (payload lines and values, log streams, endpoint
/// statuses, artifacts, transform records) through boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class LocatedErrorsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("located_errors_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "located_errors_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "located_errors_boto3.py")).AssertPassed(testCase);
}
