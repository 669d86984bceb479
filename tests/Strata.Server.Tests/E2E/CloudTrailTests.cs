namespace Strata.Server.Tests.E2E;

/// <summary>CloudTrail's event history (cloudtrail_history.py) through boto3 1.43 and 1.26 and the aws CLI v2.</summary>
public sealed class CloudTrailHistoryTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudtrail_history.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "cloudtrail_history.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "cloudtrail_history.py")).AssertPassed(testCase);
}

/// <summary>A trail delivering what the audit stage records, every 2 seconds (digests every 6), and
/// the aws CLI v1's validate-logs judging it (cloudtrail_validate.py), through boto3 1.43 and 1.26.
/// (Debian's CLI v2.9 cannot point validate-logs' S3 client at another endpoint; its validation
/// code is exercised in process by TrailValidateLogsTests.)</summary>
public sealed class CloudTrailValidateTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("cloudtrail_validate.py");

    static readonly string[] Server = ["--cloudtrail-delivery-seconds", "2", "--cloudtrail-digest-seconds", "6"];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunWithServerArgsAsync("python3", "cloudtrail_validate.py", Server)).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunWithServerArgsAsync("/usr/bin/python3", "cloudtrail_validate.py", Server)).AssertPassed(testCase);
}
