using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs;
using Strata.Server.Jobs.Containers;
using Strata.Server.Jobs.Processing;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>The pure parts of processing jobs: which LocalPaths AWS takes, which entry points the
/// image catalogue's rule takes and what runs then, processingjobconfig.json as SageMaker writes
/// it, the message file's UTF-8, the runs' bookkeeping, and the store's state-change events.</summary>
public sealed class ProcessingLogicTests
{
    [Theory]
    [InlineData("/opt/ml/processing/input", "/opt/ml/processing/input")]
    [InlineData("/opt/ml/processing/input/code/", "/opt/ml/processing/input/code")]
    [InlineData("/opt/ml/processing/a.b/c-d", "/opt/ml/processing/a.b/c-d")]
    [InlineData("/opt/ml/processing/", null)]
    [InlineData("/opt/ml/processing", null)]
    [InlineData("/opt/ml/processing/../../etc", null)]
    [InlineData("/opt/ml/processing/a/./b", null)]
    [InlineData("/opt/ml/processing//a", null)]
    [InlineData("/opt/ml/input/data", null)]
    [InlineData("opt/ml/processing/input", null)]
    [InlineData("/tmp/x", null)]
    [InlineData(null, null)]
    public void LocalPaths(string? given, string? taken) => Assert.Equal(taken, ProcessingLayout.CheckLocalPath(given));

    static readonly string[] Catalogue = ["/usr/local/bin/python3", "/srv/processor.py"];

    [Theory]
    [InlineData(new[] { "python3", "/opt/ml/processing/input/code/preprocess.py" }, true)]
    [InlineData(new[] { "/usr/local/bin/python3", "-u", "/opt/ml/code/x.py" }, true)]
    [InlineData(new[] { "python3" }, false)]
    [InlineData(new[] { "python", "/opt/ml/processing/input/code/preprocess.py" }, false)]
    [InlineData(new[] { "/bin/sh", "-c", "id" }, false)]
    [InlineData(new[] { "python3", "-c", "print(1)" }, false)]
    [InlineData(new[] { "python3", "/etc/passwd" }, false)]
    [InlineData(new[] { "python3", "/opt/ml/../etc/x.py" }, false)]
    [InlineData(new[] { "python3", "/opt/ml/" }, false)]
    [InlineData(new[] { "python3", "inline", "/opt/ml/code/x.py" }, false)]
    public void Entrypoints(string[] entrypoint, bool accepted)
        => Assert.Equal(accepted, ContainerCommand.EntrypointRefusal(Catalogue, entrypoint) is null);

    [Fact]
    public void CommandsAsDockerCombinesThem()
    {
        Assert.Equal(Catalogue, ContainerCommand.Resolve(Catalogue, null, null));
        Assert.Equal(new[] { Catalogue[0], Catalogue[1], "--mode", "x" }, ContainerCommand.Resolve(Catalogue, null, ["--mode", "x"]));
        // The interpreter that runs is the catalogue's, whatever name the request gave it.
        Assert.Equal(new[] { "/usr/local/bin/python3", "/opt/ml/processing/input/code/p.py", "--n", "2" },
            ContainerCommand.Resolve(Catalogue, ["python3", "/opt/ml/processing/input/code/p.py"], ["--n", "2"]));
        Assert.Throws<JobException>(() => ContainerCommand.Resolve(Catalogue, ["/bin/sh", "-c", "id"], null));
    }

    static ProcessingJob Job() => new()
    {
        Name = "prep",
        Arn = "arn:aws:sagemaker:us-east-1:111122223333:processing-job/prep",
        RoleArn = "arn:aws:iam::111122223333:role/r",
        ImageUri = "example.com/p:1",
        ContainerArguments = ["a"],
        Environment = new() { ["K"] = "V" },
        Inputs = [new ProcessingJobInput { InputName = "in", S3Uri = "s3://b/in", LocalPath = "/opt/ml/processing/input", S3DataType = "S3Prefix" }],
        Outputs = [new ProcessingJobOutput { OutputName = "out", S3Uri = "s3://b/out", LocalPath = "/opt/ml/processing/output", S3UploadMode = "Continuous" }],
        InstanceType = "ml.m5.xlarge",
        VolumeSizeInGB = 30,
        CreationTime = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void ProcessingJobConfigAsSageMakerWritesIt()
    {
        var config = ProcessingLayout.JobConfig(Job(), path => "/job" + path[7..]);
        var expected = JsonNode.Parse("""
            {
              "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:processing-job/prep",
              "ProcessingJobName": "prep",
              "AppSpecification": {"ImageUri": "example.com/p:1", "ContainerEntrypoint": null, "ContainerArguments": ["a"]},
              "Environment": {"K": "V"},
              "ProcessingInputs": [{"InputName": "in", "S3Input": {"LocalPath": "/job/processing/input", "S3Uri": "s3://b/in",
                "S3DataDistributionType": "FullyReplicated", "S3DataType": "S3Prefix", "S3InputMode": "File", "S3CompressionType": "None",
                "S3DownloadMode": "StartOfJob"}}],
              "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {"LocalPath": "/job/processing/output", "S3Uri": "s3://b/out",
                "S3UploadMode": "Continuous"}}], "KmsKeyId": null},
              "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30, "VolumeKmsKeyId": null}},
              "RoleArn": "arn:aws:iam::111122223333:role/r",
              "StoppingCondition": {"MaxRuntimeInSeconds": 86400}
            }
            """);
        Assert.True(JsonNode.DeepEquals(expected, config), config.ToJsonString());
    }

    [Fact]
    public void ExitMessagesAreUtf8()
    {
        var dir = Directory.CreateTempSubdirectory("strata-message-").FullName;
        try
        {
            var path = Path.Combine(dir, "message");
            Assert.Null(JobTransfers.ReadUtf8(dir, path, 8));
            File.WriteAllBytes(path, Encoding.UTF8.GetBytes("héllo"));
            Assert.Equal("héllo", JobTransfers.ReadUtf8(dir, path, 8));
            // The limit cuts "é" (2 bytes) in two: the half is left out, not taken for bad text.
            File.WriteAllBytes(path, Encoding.UTF8.GetBytes("abcdefgé!"));
            Assert.Equal("abcdefg", JobTransfers.ReadUtf8(dir, path, 8));
            File.WriteAllBytes(path, [0x61, 0xff, 0x62]);
            Assert.Throws<DecoderFallbackException>(() => JobTransfers.ReadUtf8(dir, path, 8));
            // A link is never followed (the container could point it at the server's files).
            File.Delete(path);
            File.CreateSymbolicLink(path, "/etc/hostname");
            Assert.Null(JobTransfers.ReadUtf8(dir, path, 8));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task RunsAreKeptOnePerJob()
    {
        using var runs = new JobRuns(new FakeTimeProvider());
        var release = new TaskCompletionSource();
        var started = 0;
        var stoppedWith = new TaskCompletionSource<string>();
        runs.Start("1", "a", async run =>
        {
            Interlocked.Increment(ref started);
            stoppedWith.SetResult(await run.StopRequested.Task);
            await release.Task;
        });
        runs.Start("1", "a", _ => { Interlocked.Increment(ref started); return Task.CompletedTask; });
        Assert.NotNull(runs.Find("1", "a"));
        Assert.Null(runs.Find("1", "b"));
        runs.Find("1", "a")!.StopRequested.TrySetResult("StopProcessingJob");
        Assert.Equal("StopProcessingJob", await stoppedWith.Task);
        release.SetResult();
        while (runs.Find("1", "a") is not null) await Task.Yield();
        Assert.Equal(1, started);

        var cancelled = new TaskCompletionSource();
        runs.Start("1", "c", async run =>
        {
            try { await Task.Delay(Timeout.Infinite, run.Token); }
            catch (OperationCanceledException) { cancelled.SetResult(); }
        });
        await runs.ShutdownAsync(CancellationToken.None);
        Assert.True(runs.ShuttingDown);
        await cancelled.Task;
    }

    [Fact]
    public void TheStorePutsAnEventPerChangeOfStatus()
    {
        var dir = Directory.CreateTempSubdirectory("strata-processing-store-").FullName;
        try
        {
            using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
            var bus = new ServiceEventRecorder();
            var store = new ProcessingJobStore(state) { Events = bus };
            var job = Job();
            Assert.True(store.Create("111122223333", new ProcessingJobRecord(job, new ProcessingJobState { LastModifiedTime = DateTimeOffset.UnixEpoch }), [new TagRow("team", "ml")]));
            Assert.False(store.Create("111122223333", new ProcessingJobRecord(job, new ProcessingJobState { LastModifiedTime = DateTimeOffset.UnixEpoch }), []));
            store.Update("111122223333", "prep", s => s with { ProcessingStartTime = DateTimeOffset.UnixEpoch.AddSeconds(1) });
            store.Update("111122223333", "prep", s => s with { Status = "Completed", ExitMessage = "done", LastModifiedTime = DateTimeOffset.UnixEpoch.AddSeconds(9) });
            var events = bus.OfType(SageMakerEvents.ProcessingJobStateChangeType);
            Assert.Equal(new[] { "InProgress", "Completed" }, events.Select(e => e.Detail["ProcessingJobStatus"]!.GetValue<string>()));
            var last = events[^1];
            Assert.Equal("aws.sagemaker", last.Source);
            Assert.Equal(new[] { job.Arn }, last.Resources);
            Assert.Equal("done", last.Detail["ExitMessage"]!.GetValue<string>());
            Assert.Equal(9000, last.Detail["LastModifiedTime"]!.GetValue<long>());
            Assert.Equal("ml", last.Detail["Tags"]!["team"]!.GetValue<string>());
            Assert.Equal("/opt/ml/processing/output", last.Detail["ProcessingOutputConfig"]!["Outputs"]![0]!["S3Output"]!["LocalPath"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
