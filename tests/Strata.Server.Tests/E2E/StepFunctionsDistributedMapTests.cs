namespace Strata.Server.Tests.E2E;

/// <summary>A distributed Map's ItemReader and ResultWriter through boto3 1.43 and 1.26
/// (stepfunctions_distributed_map.py): items from S3 and results exported to S3, as the execution's role.</summary>
public sealed class StepFunctionsDistributedMapTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_distributed_map.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stepfunctions_distributed_map.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "stepfunctions_distributed_map.py")).AssertPassed(testCase);
}
