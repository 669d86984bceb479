using Strata.Server.Services.S3;

namespace Strata.Server.Tests.E2E;

/// <summary>Signed but wrong (issue 19): fuzz_boto3.py sends every operation Strata serves
/// correctly signed requests with inputs mutated from the operation's shape in the installed
/// botocore model, and holds each answer to: no 5xx, no hang, an error the client parses and the
/// model declares (or one common to AWS). One case per service, through boto3 1.43 and Debian's
/// 1.26 (whose older models mutate differently). The operations are the servers' own tables.</summary>
[RunsLong]
public sealed class FuzzBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("fuzz_boto3.py");

    /// <summary>"service:Op,Op;service:Op": what each service serves, as the script reads it.</summary>
    static string Operations()
    {
        (string Service, IEnumerable<string> Operations)[] all =
        [
            ("kms", new Services.Kms.KmsService(null!, TimeProvider.System, "us-east-1").Operations.Select(o => o.Name)),
            ("iam", new Services.Iam.IamService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name)),
            ("sts", new Services.Sts.StsService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name)),
            ("s3", new S3Service(new S3Environment(null!, null!, TimeProvider.System, "us-east-1", null!), ["localhost"]).Operations.Select(o => o.Name)),
            ("sagemaker", new Services.SageMaker.SageMakerService(null!, null!, null!, null!, null!, TimeProvider.System, "us-east-1", null!, null!, null!, null!, null!, null!, null!).Operations.Select(o => o.Name)),
            ("application-autoscaling", new Services.AutoScaling.ApplicationAutoScalingService(null!, null!, TimeProvider.System, "us-east-1").Operations.Select(o => o.Name)),
            ("cloudwatch", new Services.CloudWatch.CloudWatchService(null!, null!, TimeProvider.System).Operations.Select(o => o.Name)),
            ("sagemaker-runtime", ["InvokeEndpoint"]),
            ("logs", new Services.Logs.LogsService(null!, TimeProvider.System, "us-east-1", null!).Operations.Select(o => o.Name)),
            ("sns", new Services.Sns.SnsService(null!).Operations.Select(o => o.Name)),
            ("events", new Services.Events.EventsService(null!, TimeProvider.System, "us-east-1").Operations.Select(o => o.Name)),
        ];
        return string.Join(';', all.Select(s => $"{s.Service}:{string.Join(',', s.Operations)}"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase)
        => (await ClientSuite.RunAsync("python3", "fuzz_boto3.py", ("STRATA_FUZZ_OPERATIONS", Operations()))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase)
        => (await ClientSuite.RunAsync("/usr/bin/python3", "fuzz_boto3.py", ("STRATA_FUZZ_OPERATIONS", Operations()))).AssertPassed(testCase);
}
