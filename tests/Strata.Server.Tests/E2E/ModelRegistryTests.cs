namespace Strata.Server.Tests.E2E;

/// <summary>The SageMaker model registry (model_registry_boto3.py): groups, versions, approval, the
/// lists, a model from the approved version serving, IAM, the state-change event and the errors,
/// through boto3 1.43 and 1.26.</summary>
public sealed class ModelRegistryTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("model_registry_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "model_registry_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "model_registry_boto3.py")).AssertPassed(testCase);
}

/// <summary>The model registry's common commands through the aws CLI v1.45 and v2.9
/// (model_registry_cli.sh).</summary>
public sealed class ModelRegistryCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("model_registry_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "model_registry_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "model_registry_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
