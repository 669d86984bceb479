namespace Strata.Server.Tests.E2E;

/// <summary>Distributed training jobs (InstanceCount &gt; 1) with a container of one's own
/// (training_distributed_boto3.py): hosts that meet by name, their configs, ShardedByS3Key and
/// FullyReplicated channels, failures, stops, per-host logs, network isolation and bad input,
/// through boto3 1.43 and 1.26.</summary>
public sealed class TrainingDistributedTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_distributed_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "training_distributed_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "training_distributed_boto3.py")).AssertPassed(testCase);
}

/// <summary>Training jobs' checkpoints synced to S3 while they train, on a server whose clock the
/// script moves (training_checkpoint_clock_boto3.py).</summary>
public sealed class TrainingCheckpointClockTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("training_checkpoint_clock_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "training_checkpoint_clock_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "training_checkpoint_clock_boto3.py")).AssertPassed(testCase);
}
