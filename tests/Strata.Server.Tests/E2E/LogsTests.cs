namespace Strata.Server.Tests.E2E;

/// <summary>CloudWatch Logs through boto3 1.43 and 1.26 (and the image's CLI for get-log-events loops).</summary>
public sealed class LogsBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("logs_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "logs_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "logs_boto3.py")).AssertPassed(testCase);
}

/// <summary>An endpoint's container output as log events, and Debian's CLI v2 `aws logs tail --follow` on them.</summary>
public sealed class LogsTailTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("logs_tail.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3AndCliV2(string testCase) => (await ClientSuite.RunAsync("python3", "logs_tail.py")).AssertPassed(testCase);
}

/// <summary>Retention and PutLogEvents' time rules on a server whose clock the test drives.</summary>
public sealed class LogsClockTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("logs_clock_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "logs_clock_boto3.py")).AssertPassed(testCase);
}
