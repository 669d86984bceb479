using Strata.Server.Services.S3;

namespace Strata.Server.Tests.E2E;

/// <summary>The operations Strata declares, held against the botocore models that ship with the
/// clients (the specification), and against the end-to-end tests (every operation has one).</summary>
public sealed class ModelConformanceTests
{
    static IEnumerable<string> S3Operations
        => new S3Service(new S3Environment(null!, null!, TimeProvider.System, "us-east-1", null!), ["localhost"]).Operations.Select(o => o.Name);

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task S3OperationsExistInTheModelAndAreTested(string python)
    {
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "s3", .. S3Operations], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task SageMakerOperationsExistInTheModelAndAreTested(string python)
    {
        var operations = new Services.SageMaker.SageMakerService(null!, null!, null!, null!, null!, TimeProvider.System, "us-east-1", null!, null!, null!, null!, null!, null!, null!).Operations.Select(o => o.Name).ToList();
        // Debian's older botocore lacks the newer operations.
        var newer = Services.SageMaker.SageMakerService.NewerOperations;
        string[] args = python == "python3" ? [.. operations] : [.. operations.Except(newer), "--newer", .. newer];
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "sagemaker", .. args], new Dictionary<string, string>());
        Assert.True(code == 0, output);
        // Debian's botocore 1.29 predates InvokeEndpointWithResponseStream (its test goes through
        // that client's signer and event-stream decoder instead).
        var runtime = new Services.Runtime.RuntimeService(null!, null!, "us-east-1", (_, _) => null).Operations.Select(o => o.Name).ToList();
        string[] runtimeArgs = python == "python3" ? [.. runtime] : [.. runtime.Except(["InvokeEndpointWithResponseStream"]), "--newer", "InvokeEndpointWithResponseStream"];
        (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "sagemaker-runtime", .. runtimeArgs], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task IamAndStsOperationsExistInTheModelAndAreTested(string python)
    {
        var iam = new Services.Iam.IamService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name);
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "iam", .. iam], new Dictionary<string, string>());
        Assert.True(code == 0, output);
        var sts = new Services.Sts.StsService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name);
        (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "sts", .. sts], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task KmsOperationsExistInTheModelAndAreTested(string python)
    {
        var all = new Services.Kms.KmsService(null!, TimeProvider.System, "us-east-1").Operations.Select(o => o.Name).ToList();
        // The image's botocore has every operation; Debian's older one lacks the newer ones.
        string[] args = python == "python3" ? [.. all] : [.. all.Except(Services.Kms.KmsService.NewerOperations), "--newer", .. Services.Kms.KmsService.NewerOperations];
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "kms", .. args], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task AutoScalingOperationsExistInTheModelAndAreTested(string python)
    {
        var operations = new Services.AutoScaling.ApplicationAutoScalingService(null!, null!, TimeProvider.System, "us-east-1").Operations.Select(o => o.Name);
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "application-autoscaling", .. operations], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task CloudWatchOperationsExistInTheModelAndAreTested(string python)
    {
        var operations = new Services.CloudWatch.CloudWatchService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name);
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "cloudwatch", .. operations], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task LogsOperationsExistInTheModelAndAreTested(string python)
    {
        var operations = new Services.Logs.LogsService(null!, TimeProvider.System, "us-east-1", null!).Operations.Select(o => o.Name);
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "logs", .. operations], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public async Task SnsOperationsExistInTheModelAndAreTested(string python)
    {
        var operations = new Services.Sns.SnsService(null!).Operations.Select(o => o.Name);
        var (code, output) = await ClientProcess.RunAsync(python, [ClientSuite.ScriptPath("model_check.py"), "sns", .. operations], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Fact]
    public void EveryS3OperationNamesAnS3ActionAndResource()
    {
        foreach (var op in new S3Service(new S3Environment(null!, null!, TimeProvider.System, "us-east-1", null!), ["localhost"]).Operations)
        {
            Assert.StartsWith("s3:", op.IamAction);
            Assert.DoesNotContain(" ", op.IamAction);
        }
    }
}
