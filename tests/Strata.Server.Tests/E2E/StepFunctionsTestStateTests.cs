namespace Strata.Server.Tests.E2E;

/// <summary>Step Functions TestState through boto3 1.43 and the aws CLI v1 (stepfunctions_teststate.py).
/// Debian's boto3 1.26 and the aws CLI v2.9 predate TestState: their models have no such operation.</summary>
public sealed class StepFunctionsTestStateTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_teststate.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stepfunctions_teststate.py")).AssertPassed(testCase);
}
