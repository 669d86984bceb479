namespace Strata.Server.Tests.E2E;

/// <summary>Step Functions' SNS and S3 integrations (the optimized <c>sns:publish</c>, <c>aws-sdk:s3:*</c>,
/// <c>aws-sdk:sns:*</c>) through boto3 1.43 and Debian's 1.26 (stepfunctions_integrations.py).</summary>
public sealed class StepFunctionsIntegrationTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_integrations.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stepfunctions_integrations.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "stepfunctions_integrations.py")).AssertPassed(testCase);
}

/// <summary>The seed's retraining pipeline (examples/retraining-pipeline.json): the whole of it through
/// boto3 1.43, a run that fails and is published to SNS also through the aws CLI v2
/// (stepfunctions_pipeline.py, stepfunctions_pipeline_cli.sh).</summary>
[RunsLong]
public sealed class StepFunctionsPipelineTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stepfunctions_pipeline.py");

    public static IEnumerable<object[]> CliCases => ClientSuite.Cases("stepfunctions_pipeline_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stepfunctions_pipeline.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(CliCases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "stepfunctions_pipeline_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
