namespace Strata.Server.Tests.E2E;

/// <summary>Model Monitor's data capture (capture_boto3.py) on a server whose clock the test drives:
/// configurations checked and described as AWS does, records in AWS's layout and shape once the
/// minute's flush has run, sampling, encodings, capture modes, InferenceId, UpdateEndpoint on and
/// off, KMS, a role that may not write; through boto3 1.43 and 1.26.</summary>
public sealed class DataCaptureTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("capture_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "capture_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "capture_boto3.py")).AssertPassed(testCase);
}
