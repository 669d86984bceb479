namespace Strata.Server.Tests.E2E;

/// <summary>S3 through the image's boto3 (1.43: checksums, trailers over HTTPS).</summary>
public sealed class S3Boto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_boto3.py")).AssertPassed(testCase);
}

/// <summary>The same S3 cases through Debian's python3-boto3 (1.26: no default checksums).</summary>
public sealed class S3DebianBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_boto3.py")).AssertPassed(testCase);
}

/// <summary>Real-time hosting (SageMaker and SageMaker Runtime) through boto3 1.43 and 1.26.</summary>
public sealed class SageMakerBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("sagemaker_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "sagemaker_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "sagemaker_boto3.py")).AssertPassed(testCase);
}

/// <summary>Batch transform through boto3 1.43 and 1.26.</summary>
public sealed class TransformBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("transform_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "transform_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "transform_boto3.py")).AssertPassed(testCase);
}

/// <summary>Endpoint autoscaling through boto3 1.43 and 1.26.</summary>
public sealed class AutoScalingBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("autoscaling_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "autoscaling_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "autoscaling_boto3.py")).AssertPassed(testCase);
}

/// <summary>Zones and chaos drills (boto3 1.43 for the clients, the strata CLI for the drills).</summary>
public sealed class ZonesTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("zones_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "zones_boto3.py")).AssertPassed(testCase);
}

/// <summary>Serverless endpoints through boto3 1.43 and 1.26, on a server whose clock the test drives.</summary>
[Collection(FakeClockServer.Collection)]
public sealed class ServerlessBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("serverless_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "serverless_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "serverless_boto3.py")).AssertPassed(testCase);
}

/// <summary>Presigned URLs and temporary credentials expiring, through boto3 1.43 and 1.26, on a
/// server whose clock the test drives.</summary>
[Collection(FakeClockServer.Collection)]
public sealed class ExpiryBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("expiry_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "expiry_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "expiry_boto3.py")).AssertPassed(testCase);
}

/// <summary>Multi-model endpoints through boto3 1.43 and 1.26.</summary>
public sealed class MultiModelBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("mme_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "mme_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "mme_boto3.py")).AssertPassed(testCase);
}
