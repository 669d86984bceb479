namespace Strata.Server.Tests.E2E;

/// <summary>InvokeEndpointWithResponseStream through boto3 1.43's own call, and through boto3 1.26's
/// signer, event-stream decoder and error parser (its model predates the operation).</summary>
public sealed class StreamBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("stream_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "stream_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "stream_boto3.py")).AssertPassed(testCase);
}
