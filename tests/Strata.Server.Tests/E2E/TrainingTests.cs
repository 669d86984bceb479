namespace Strata.Server.Tests.E2E;

/// <summary>SageMaker training jobs with a container of one's own (training_boto3.py), through
/// boto3 1.43 and 1.26.</summary>
public sealed class TrainingTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "training_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "training_boto3.py")).AssertPassed(testCase);
}
