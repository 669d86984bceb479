namespace Strata.Server.Tests.E2E;

/// <summary>Step Functions versions, aliases (weighted routing) and redrive through boto3 1.43 and the
/// aws CLI v1 (stepfunctions_versions.py), on a server whose clock the script moves. Debian's boto3 1.26
/// and the aws CLI v2.9 predate these operations: their models have none of them.</summary>
public sealed class StepFunctionsVersionsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_versions.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "stepfunctions_versions.py")).AssertPassed(testCase);
}
