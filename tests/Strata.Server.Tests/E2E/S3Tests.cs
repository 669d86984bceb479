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
