namespace Strata.Server.Tests.E2E;

/// <summary>InvokeEndpoint's 6 MB each way, and instance counts held against their limit at
/// CreateEndpoint (limits_boto3.py), through boto3 1.43 and 1.26.</summary>
[RunsLong]
public sealed class LimitsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("limits_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "limits_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "limits_boto3.py")).AssertPassed(testCase);
}

/// <summary>Every limit lowered with `strata serve --limit` (limits_configured_boto3.py), through
/// boto3 1.43 and 1.26.</summary>
public sealed class ConfiguredLimitsTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("limits_configured_boto3.py");

    static readonly string[] Server =
    [
        "--limit", "instances-per-variant=1", "--limit", "transform-instances=1", "--limit", "training-instances=1",
        "--limit", "tuning-training-jobs=2", "--limit", "tuning-parallel-training-jobs=1", "--limit", "concurrent-tuning-jobs=1",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunWithServerArgsAsync("python3", "limits_configured_boto3.py", Server)).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunWithServerArgsAsync("/usr/bin/python3", "limits_configured_boto3.py", Server)).AssertPassed(testCase);
}
