using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs;
using Strata.Server.Jobs.Containers;
using Strata.Server.Jobs.Training;

namespace Strata.Server.Tests.Unit;

/// <summary>The pure parts of distributed training jobs: which objects of a ShardedByS3Key channel
/// each host gets, from a prefix and from a manifest; each host's resourceconfig.json and SM_*
/// variables; the hosts' model directories merged into one tarball; and the continuous uploads
/// (checkpoints, Continuous outputs) on a fake clock.</summary>
public sealed class DistributedTrainingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-distributed-").FullName;
    readonly MemoryStorage _storage = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly RoleAuthorizer Anyone = (_, _, _) => { };

    [Fact]
    public void FullyReplicatedAndOneHostGetEverything()
    {
        Assert.Equal(S3Shard.All, S3Shard.Of("FullyReplicated", 1, 3));
        Assert.Equal(S3Shard.All, S3Shard.Of("ShardedByS3Key", 0, 1));
        Assert.True(Enumerable.Range(0, 10).All(S3Shard.All.Takes));
        Assert.Equal(new S3Shard(2, 3), S3Shard.Of("ShardedByS3Key", 2, 3));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 5)]
    [InlineData(4, 17)]
    [InlineData(5, 3)]
    public void ShardedByS3KeyDealsEveryObjectToExactlyOneHostEvenly(int hosts, int objects)
    {
        var shares = Enumerable.Range(0, hosts)
            .Select(h => Enumerable.Range(0, objects).Where(S3Shard.Of("ShardedByS3Key", h, hosts).Takes).ToList()).ToList();
        Assert.Equal(Enumerable.Range(0, objects), shares.SelectMany(s => s).Order());
        Assert.True(shares.Max(s => s.Count) - shares.Min(s => s.Count) <= 1);
        // In key order, one in turn: host 0 gets the first object.
        if (objects > 0) Assert.Equal(0, shares[0][0]);
    }

    [Fact]
    public async Task APrefixIsDownloadedAsTheHostsShareAndCountsEveryObject()
    {
        foreach (var i in Enumerable.Range(0, 5)) _storage.Objects[("b", $"data/part-{i}.csv")] = Encoding.UTF8.GetBytes($"{i}\n");
        var transfers = new JobTransfers(_storage, Path.Combine(_dir, "staging"));
        var target = Path.Combine(_dir, "algo-2");
        var found = await transfers.DownloadPrefixAsync("s3://b/data", target, Anyone, "test", CancellationToken.None, new S3Shard(1, 3));
        Assert.Equal(5, found);
        Assert.Equal(["part-1.csv", "part-4.csv"], Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AManifestIsShardedInItsOwnOrder()
    {
        _storage.Objects[("b", "manifest")] = Encoding.UTF8.GetBytes("""[{"prefix": "s3://b/data/"}, "c.csv", "a.csv", "b.csv"]""");
        foreach (var name in new[] { "a.csv", "b.csv", "c.csv" }) _storage.Objects[("b", "data/" + name)] = [1];
        var transfers = new JobTransfers(_storage, Path.Combine(_dir, "staging"));
        var target = Path.Combine(_dir, "algo-1");
        await transfers.DownloadManifestAsync("s3://b/manifest", target, Anyone, "channel train", CancellationToken.None, new S3Shard(0, 2));
        Assert.Equal(["b.csv", "c.csv"], Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TheHostsModelDirectoriesMakeOneTarballTheLaterHostWinningAClash()
    {
        var first = Directory.CreateDirectory(Path.Combine(_dir, "algo-1", "model")).FullName;
        var second = Directory.CreateDirectory(Path.Combine(_dir, "algo-2", "model", "sub")).Parent!.FullName;
        File.WriteAllText(Path.Combine(first, "model.json"), "algo-1");
        File.WriteAllText(Path.Combine(first, "algo-1.txt"), "1");
        File.WriteAllText(Path.Combine(second, "model.json"), "algo-2");
        File.WriteAllText(Path.Combine(second, "sub", "algo-2.txt"), "2");
        // The work directory, which holds the hosts' directories (its files are read only below it).
        var transfers = new JobTransfers(_storage, _dir);
        await transfers.UploadTarAsync([first, second], "b", "model.tar.gz", null, Anyone, "test", CancellationToken.None);

        var entries = new Dictionary<string, string>();
        await using (var tar = new TarReader(new GZipStream(new MemoryStream(_storage.Objects[("b", "model.tar.gz")]), CompressionMode.Decompress)))
            while (await tar.GetNextEntryAsync() is { } entry)
                entries[entry.Name] = new StreamReader(entry.DataStream!).ReadToEnd();
        Assert.Equal(new Dictionary<string, string> { ["algo-1.txt"] = "1", ["model.json"] = "algo-2", ["sub/algo-2.txt"] = "2" }, entries);
    }

    [Fact]
    public void EachHostIsToldWhichItIsAndWhoTheOthersAre()
    {
        var job = new TrainingJob
        {
            Name = "dist",
            Arn = "arn:aws:sagemaker:us-east-1:111122223333:training-job/dist",
            RoleArn = "arn:aws:iam::111122223333:role/r",
            Image = "example.com/trainer:1",
            OutputPath = "s3://b/out",
            InstanceType = "ml.m5.large",
            InstanceCount = 3,
            CreationTime = DateTimeOffset.UnixEpoch,
        };
        var layout = JobLayout.Create(Path.Combine(_dir, "algo-2"));
        layout.WriteConfig(job, 1);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(layout.Config, "resourceconfig.json")))!;
        Assert.Equal("algo-2", (string?)config["current_host"]);
        Assert.Equal("""["algo-1","algo-2","algo-3"]""", config["hosts"]!.ToJsonString());
        Assert.Equal("""[{"instance_group_name":"homogeneousCluster","instance_type":"ml.m5.large","hosts":["algo-1","algo-2","algo-3"]}]""",
            config["instance_groups"]!.ToJsonString());

        var env = JobLayout.ContractEnvironment(job, "/opt/ml", "us-east-1", 2, 1);
        Assert.Equal("algo-2", env["SM_CURRENT_HOST"]);
        Assert.Equal("""["algo-1","algo-2","algo-3"]""", env["SM_HOSTS"]);
        var training = JsonNode.Parse(env["SM_TRAINING_ENV"])!;
        Assert.Equal(("algo-1", false), ((string?)training["master_hostname"], (bool)training["is_master"]!));
        Assert.Equal("algo-2", (string?)JsonNode.Parse(env["SM_RESOURCE_CONFIG"])!["current_host"]);
    }

    [Fact]
    public async Task ContinuousUploadsRunEveryPeriodOfTheInjectedClock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var rounds = 0;
        var uploads = ContinuousUpload.Start(_ => { Interlocked.Increment(ref rounds); return Task.CompletedTask; }, clock, CancellationToken.None);
        Assert.Equal(0, rounds);
        clock.Advance(ContinuousUpload.Period);
        clock.Advance(ContinuousUpload.Period);
        await uploads.DisposeAsync();
        Assert.Equal(2, rounds);
        uploads.ThrowIfFailed();
        Assert.False(uploads.Failed.IsCompleted);
    }

    [Fact]
    public async Task AFailedRoundEndsTheUploadsAndSaysWhy()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var uploads = ContinuousUpload.Start(_ => throw new JobException("ClientError: no s3:PutObject"), clock, CancellationToken.None);
        clock.Advance(ContinuousUpload.Period);
        Assert.Equal(ContinuousUpload.UploadFailed, await uploads.Failed.WaitAsync(TimeSpan.FromSeconds(30)));
        await uploads.DisposeAsync();
        Assert.Equal("ClientError: no s3:PutObject", Assert.Throws<JobException>(uploads.ThrowIfFailed).Message);
    }

    [Fact]
    public void NoUploadsWhenDisabled()
    {
        var uploads = ContinuousUpload.Start(_ => throw new InvalidOperationException(), new FakeTimeProvider(), CancellationToken.None, enabled: false);
        Assert.False(uploads.Failed.IsCompleted);
        Assert.Equal(["algo-1", "algo-2"], ContainerCluster.HostNames(2));
        Assert.Null(ContainerCluster.Refusal(1, isolated: true));
    }

    /// <summary>Objects in memory, every access allowed.</summary>
    sealed class MemoryStorage : IJobStorage
    {
        public Dictionary<(string Bucket, string Key), byte[]> Objects { get; } = [];

        public RoleAuthorizer AssumeRole(string roleArn) => Anyone;

        public bool BucketExists(string bucket) => true;

        public IReadOnlyList<(string Key, long Size)> List(string bucket, string prefix, string? startAfter, int max)
            => [.. Objects.Keys.Where(o => o.Bucket == bucket && o.Key.StartsWith(prefix, StringComparison.Ordinal)
                    && (startAfter is null || string.CompareOrdinal(o.Key, startAfter) > 0))
                .Select(o => o.Key).Order(StringComparer.Ordinal).Take(max).Select(k => (k, (long)Objects[(bucket, k)].Length))];

        public Stream? OpenRead(string bucket, string key, Action<string, string> authorize)
            => Objects.TryGetValue((bucket, key), out var data) ? new MemoryStream(data) : null;

        public async Task PutAsync(string bucket, string key, Stream content, string contentType, string? kmsKeyId, Action<string, string> authorize, CancellationToken ct)
        {
            var copy = new MemoryStream();
            await content.CopyToAsync(copy, ct);
            Objects[(bucket, key)] = copy.ToArray();
        }
    }
}
