namespace Strata.Server.Tests.E2E;

/// <summary>S3 through the image's aws CLI v1.45 (s3 mb/cp/ls/sync/rm/presign, s3api).</summary>
public sealed class S3CliV1Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "s3_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);
}

/// <summary>The same through Debian's aws CLI v2.9.</summary>
public sealed class S3CliV2Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "s3_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>Batch transform through the aws CLI v1.45 and v2.9 (the waiter), and `strata jobs watch`.</summary>
public sealed class TransformCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("transform_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "transform_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "transform_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}
