namespace Strata.Server.Tests.E2E;

/// <summary>Step Functions' HTTP Task through boto3 1.43 and 1.26 (stepfunctions_http.py): a request to a
/// local API authorized by an EventBridge connection, as the state machine's role.</summary>
public sealed class StepFunctionsHttpTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_http.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stepfunctions_http.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "stepfunctions_http.py")).AssertPassed(testCase);
}
