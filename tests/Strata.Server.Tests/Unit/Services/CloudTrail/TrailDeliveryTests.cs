using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Trail;
using Strata.Server.Protocol;
using Strata.Server.Services.CloudTrail;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>Which records a trail's selectors take (basic and advanced), and the delivery job on a
/// fake clock with a bucket the test holds: log file keys and contents, the digest chain, a
/// missing bucket reported and retried, records kept across a restart.</summary>
public sealed class TrailDeliveryTests : IDisposable
{
    const string Account = "123456789012";
    readonly string _dir = Directory.CreateTempSubdirectory("strata-trails-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static AuditRecord Rec(string name, bool readOnly = false, bool management = true, string source = "sagemaker.amazonaws.com",
        DateTimeOffset? at = null, params AuditResource[] resources)
    {
        var time = at ?? new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        var id = Guid.NewGuid().ToString();
        return new AuditRecord
        {
            Account = Account,
            EventId = id,
            EventTime = time,
            EventSource = source,
            EventName = name,
            ReadOnly = readOnly,
            ManagementEvent = management,
            Resources = resources,
            Json = $$"""{"eventVersion":"1.09","eventTime":"{{TrailFormat.Time(time)}}","eventSource":"{{source}}","eventName":"{{name}}","eventID":"{{id}}","recipientAccountId":"{{Account}}"}""",
        };
    }

    // ---- selectors ----

    [Fact]
    public void DefaultSelectorTakesManagementEventsOnly()
    {
        var s = new TrailSelectors(null, null);
        Assert.True(s.Matches(Rec("CreateEndpoint")));
        Assert.True(s.Matches(Rec("DescribeEndpoint", readOnly: true)));
        Assert.False(s.Matches(Rec("GetObject", readOnly: true, management: false, source: "s3.amazonaws.com", resources: new AuditResource("AWS::S3::Object", "arn:aws:s3:::b/k"))));
        Assert.False(s.WantsDataEvents("s3.amazonaws.com"));
    }

    [Fact]
    public void BasicSelectorsFilterByReadWriteAndBucketPrefix()
    {
        var rows = TrailSelectors.Basic([new EventSelector
        {
            ReadWriteType = "WriteOnly",
            IncludeManagementEvents = true,
            DataResources = [new DataResource { Type = "AWS::S3::Object", Values = ["arn:aws:s3:::logs/in/"] }],
        }]);
        var s = new TrailSelectors(rows, null);
        Assert.True(s.Matches(Rec("CreateEndpoint")));
        Assert.False(s.Matches(Rec("DescribeEndpoint", readOnly: true)));
        Assert.True(s.Matches(Rec("PutObject", management: false, source: "s3.amazonaws.com", resources: new AuditResource("AWS::S3::Object", "arn:aws:s3:::logs/in/a.csv"))));
        Assert.False(s.Matches(Rec("PutObject", management: false, source: "s3.amazonaws.com", resources: new AuditResource("AWS::S3::Object", "arn:aws:s3:::logs/out/a.csv"))));
        Assert.True(s.WantsDataEvents("s3.amazonaws.com"));
        Assert.False(s.WantsDataEvents("sagemaker.amazonaws.com"));

        var all = new TrailSelectors(TrailSelectors.Basic([new EventSelector { IncludeManagementEvents = false, DataResources = [new DataResource { Type = "AWS::S3::Object", Values = ["arn:aws:s3"] }] }]), null);
        Assert.True(all.Matches(Rec("GetObject", readOnly: true, management: false, source: "s3.amazonaws.com", resources: new AuditResource("AWS::S3::Object", "any/key"))));
        Assert.False(all.Matches(Rec("CreateEndpoint")));
    }

    [Theory]
    [InlineData("arn:aws:s3:::bucket")]
    [InlineData("arn:aws:s3:::*")]
    [InlineData("bucket/")]
    public void BasicSelectorsRefuseValuesAwsRefuses(string value)
    {
        var e = Assert.Throws<AwsException>(() => TrailSelectors.Basic([new EventSelector { DataResources = [new DataResource { Type = "AWS::S3::Object", Values = [value] }] }]));
        Assert.Equal("InvalidEventSelectorsException", e.Code);
        Assert.Equal($"Value {value} for DataResources.Values is invalid.", e.Message);
    }

    [Fact]
    public void AdvancedSelectorsMatchFieldConditions()
    {
        var rows = TrailSelectors.Advanced([
            new AdvancedEventSelector { FieldSelectors = [new() { Field = "eventCategory", EqualsValue = ["Management"] }, new() { Field = "readOnly", EqualsValue = ["false"] }, new() { Field = "eventName", NotEquals = ["DeleteModel"] }] },
            new AdvancedEventSelector { FieldSelectors = [new() { Field = "eventCategory", EqualsValue = ["Data"] }, new() { Field = "resources.type", EqualsValue = ["AWS::SageMaker::Endpoint"] }, new() { Field = "resources.ARN", StartsWith = ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/prod-"] }] },
        ]);
        var s = new TrailSelectors(null, rows);
        Assert.True(s.Matches(Rec("CreateEndpoint")));
        Assert.False(s.Matches(Rec("DeleteModel")));
        Assert.False(s.Matches(Rec("DescribeEndpoint", readOnly: true)));
        Assert.True(s.Matches(Rec("InvokeEndpoint", management: false, resources: new AuditResource("AWS::SageMaker::Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/prod-a"))));
        Assert.False(s.Matches(Rec("InvokeEndpoint", management: false, resources: new AuditResource("AWS::SageMaker::Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dev-a"))));
        Assert.True(s.WantsDataEvents("sagemaker.amazonaws.com"));
        Assert.False(s.WantsDataEvents("s3.amazonaws.com"));
        Assert.Equal("InvalidEventSelectorsException", Assert.Throws<AwsException>(() => TrailSelectors.Advanced([new AdvancedEventSelector { FieldSelectors = [new() { Field = "readOnly", EqualsValue = ["true"] }] }])).Code);
    }

    // ---- delivery ----

    sealed class Bucket : ITrailBuckets
    {
        public bool Present = true;
        public ConcurrentDictionary<string, (byte[] Body, IReadOnlyDictionary<string, string> Metadata)> Objects { get; } = new();
        public bool Exists(string bucket) => Present;
        public bool Allows(string bucket, string action, string resource, string sourceArn, string sourceAccount) => true;
        public string? KmsKeyArn(string account, string keyId) => null;
        public bool KeyAllows(string keyArn, string sourceArn, string sourceAccount) => true;
        public string? Put(string bucket, string key, byte[] body, string contentType, IReadOnlyDictionary<string, string> metadata, string? kmsKeyId, string sourceArn, string sourceAccount)
        {
            if (!Present) return "NoSuchBucket";
            Objects[key] = (body, metadata);
            return null;
        }
    }

    sealed class LogGroup : ITrailLogGroups
    {
        public ConcurrentQueue<(long Timestamp, string Message)> Events { get; } = new();
        public string? Refusal;
        public void Check(string account, string logGroupArn, string roleArn) { }
        public string? Put(string account, string logGroupArn, string roleArn, IReadOnlyList<(long Timestamp, string Message)> events)
        {
            if (Refusal is not null) return Refusal;
            foreach (var e in events) Events.Enqueue(e);
            return null;
        }
    }

    (TrailDelivery Delivery, TrailsStore Store, SqliteStateStore State) Start(Bucket bucket, bool seed = true)
    {
        var state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        var store = new TrailsStore(state);
        if (seed)
            store.Add(Account, new TrailRow
            {
                Name = "audit",
                TrailARN = $"arn:aws:cloudtrail:us-east-1:{Account}:trail/audit",
                HomeRegion = "us-east-1",
                S3BucketName = "trail-bucket",
                S3KeyPrefix = "p",
                LogFileValidationEnabled = true,
                Status = new TrailStatusRow { IsLogging = true, StartLoggingTime = _clock.GetUtcNow(), DigestStartTime = _clock.GetUtcNow() },
            });
        var delivery = new TrailDelivery(store, bucket, new TrailKeys(_dir, _clock), _clock, "us-east-1",
            TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(3600), NullLogger<TrailDelivery>.Instance);
        delivery.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return (delivery, store, state);
    }

    static async Task Until(string what, Func<bool> check)
    {
        for (var i = 0; i < 3000 && !check(); i++) await Task.Delay(20); // a loaded machine can take seconds
        Assert.True(check(), $"timed out waiting for {what}");
    }

    static JsonElement Gunzip(byte[] gz)
    {
        using var inflate = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        return JsonDocument.Parse(inflate).RootElement.Clone();
    }

    [Fact]
    public async Task DeliversLogFilesAndChainedDigestsOnTheClock()
    {
        var bucket = new Bucket();
        var (delivery, store, state) = Start(bucket);
        using var _ = state;
        delivery.Record(Rec("CreateEndpoint"));
        delivery.Record(Rec("DeleteEndpoint"));
        delivery.Record(Rec("GetObject", readOnly: true, management: false, source: "s3.amazonaws.com")); // not selected
        _clock.Advance(TimeSpan.FromSeconds(299));
        await Task.Delay(100);
        Assert.Empty(bucket.Objects);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Until("the log file", () => !bucket.Objects.IsEmpty);
        var (logKey, log) = Assert.Single(bucket.Objects);
        Assert.Matches($@"^p/AWSLogs/{Account}/CloudTrail/us-east-1/2026/12/01/{Account}_CloudTrail_us-east-1_20261201T0805Z_[A-Za-z0-9]{{16}}\.json\.gz$", logKey);
        var records = Gunzip(log.Body).GetProperty("Records");
        Assert.Equal(["CreateEndpoint", "DeleteEndpoint"], records.EnumerateArray().Select(r => r.GetProperty("eventName").GetString()!).ToArray());
        Assert.Empty(store.PendingOf(Account, "audit", 10));
        Assert.Equal(_clock.GetUtcNow(), store.Get(Account, "audit")!.Status.LatestDeliveryTime);

        // The hour ends: a digest of that file, the first of its chain.
        _clock.Advance(TimeSpan.FromSeconds(3300));
        await Until("the first digest", () => bucket.Objects.Keys.Any(k => k.Contains("CloudTrail-Digest")));
        var (firstKey, first) = bucket.Objects.Single(kv => kv.Key.Contains("CloudTrail-Digest"));
        Assert.Matches($@"^p/AWSLogs/{Account}/CloudTrail-Digest/us-east-1/2026/12/01/{Account}_CloudTrail-Digest_us-east-1_audit_us-east-1_20261201T090000Z\.json\.gz$", firstKey);
        var digest = Gunzip(first.Body);
        Assert.Equal(JsonValueKind.Null, digest.GetProperty("previousDigestSignature").ValueKind);
        Assert.Equal(logKey, Assert.Single(digest.GetProperty("logFiles").EnumerateArray()).GetProperty("s3Object").GetString());
        Assert.Equal("2026-12-01T08:00:00Z", digest.GetProperty("digestStartTime").GetString());
        Assert.Equal("SHA256withRSA", first.Metadata["signature-algorithm"]);

        // The next hour has no records: its digest is still delivered, chained to the first.
        _clock.Advance(TimeSpan.FromSeconds(3600));
        await Until("the second digest", () => bucket.Objects.Keys.Count(k => k.Contains("CloudTrail-Digest")) == 2);
        var second = Gunzip(bucket.Objects.Single(kv => kv.Key.Contains("CloudTrail-Digest") && kv.Key != firstKey).Value.Body);
        Assert.Equal(first.Metadata["signature"], second.GetProperty("previousDigestSignature").GetString());
        Assert.Equal(firstKey, second.GetProperty("previousDigestS3Object").GetString());
        Assert.Equal("2026-12-01T09:00:00Z", second.GetProperty("digestStartTime").GetString());
        Assert.Empty(second.GetProperty("logFiles").EnumerateArray());
        await delivery.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AMissingBucketIsReportedAndTheRecordsDeliveredOnceItIsBack()
    {
        var bucket = new Bucket { Present = false };
        var (delivery, store, state) = Start(bucket);
        using var _ = state;
        delivery.Record(Rec("CreateModel"));
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the error", () => store.Get(Account, "audit")!.Status.LatestDeliveryError is not null);
        Assert.Equal("NoSuchBucket", store.Get(Account, "audit")!.Status.LatestDeliveryError);
        Assert.Single(store.PendingOf(Account, "audit", 10));

        bucket.Present = true;
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the retried file", () => !bucket.Objects.IsEmpty);
        await Until("the status", () => store.Get(Account, "audit")!.Status.LatestDeliveryError is null);
        Assert.Empty(store.PendingOf(Account, "audit", 10));
        await delivery.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AcceptedRecordsOutliveARestart()
    {
        var bucket = new Bucket();
        var (delivery, _, state) = Start(bucket);
        delivery.Record(Rec("CreateModel"));
        await delivery.StopAsync(CancellationToken.None);
        state.Dispose();

        var (again, store, reopened) = Start(bucket, seed: false);
        using var __ = reopened;
        Assert.Single(store.PendingOf(Account, "audit", 10));
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the log file", () => !bucket.Objects.IsEmpty);
        Assert.Equal("CreateModel", Gunzip(Assert.Single(bucket.Objects).Value.Body).GetProperty("Records")[0].GetProperty("eventName").GetString());
        await again.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ALogGroupGetsEachRecordOnceEvenWhenItsLogFileIsRetried()
    {
        var bucket = new Bucket { Present = false };
        var (delivery, store, state) = Start(bucket);
        using var _ = state;
        var group = new LogGroup();
        delivery.LogGroups = group;
        store.Update(Account, "audit", t => t with { CloudWatchLogsLogGroupArn = $"arn:aws:logs:us-east-1:{Account}:log-group:trail:*", CloudWatchLogsRoleArn = $"arn:aws:iam::{Account}:role/trail" });
        delivery.Refresh();
        delivery.Record(Rec("CreateModel"));
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the S3 error", () => store.Get(Account, "audit")!.Status.LatestDeliveryError is not null);
        var (timestamp, message) = Assert.Single(group.Events);
        Assert.Equal(_clock.GetUtcNow().AddSeconds(-300).ToUnixTimeMilliseconds(), timestamp);
        Assert.Equal("CreateModel", JsonDocument.Parse(message).RootElement.GetProperty("eventName").GetString());
        Assert.Equal(_clock.GetUtcNow(), store.Get(Account, "audit")!.Status.LatestCloudWatchLogsDeliveryTime);

        // The log file is tried again with a new record, one whose event time is earlier (a call
        // that began before CreateModel and ended after its delivery): the group gets only it.
        bucket.Present = true;
        delivery.Record(Rec("DeleteModel", at: new DateTimeOffset(2026, 12, 1, 7, 59, 0, TimeSpan.Zero)));
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the retried file", () => !bucket.Objects.IsEmpty);
        Assert.Equal(2, Gunzip(Assert.Single(bucket.Objects).Value.Body).GetProperty("Records").GetArrayLength());
        Assert.Equal(["CreateModel", "DeleteModel"], group.Events.Select(e => JsonDocument.Parse(e.Message).RootElement.GetProperty("eventName").GetString()!).ToArray());
        Assert.Empty(store.Get(Account, "audit")!.Status.CloudWatchLogsDelivered);
        await delivery.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task RecordsTheLogGroupRefusedAreTriedAgainWithTheNextFile()
    {
        var bucket = new Bucket { Present = false };
        var (delivery, store, state) = Start(bucket);
        using var _ = state;
        var group = new LogGroup { Refusal = "AccessDenied" };
        delivery.LogGroups = group;
        store.Update(Account, "audit", t => t with { CloudWatchLogsLogGroupArn = $"arn:aws:logs:us-east-1:{Account}:log-group:trail:*", CloudWatchLogsRoleArn = $"arn:aws:iam::{Account}:role/trail" });
        delivery.Refresh();
        delivery.Record(Rec("CreateModel"));
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the refusal", () => store.Get(Account, "audit")!.Status.LatestCloudWatchLogsDeliveryError is not null);
        Assert.Empty(group.Events);

        group.Refusal = null;
        bucket.Present = true;
        _clock.Advance(TimeSpan.FromSeconds(300));
        await Until("the retried file", () => !bucket.Objects.IsEmpty);
        Assert.Equal("CreateModel", JsonDocument.Parse(Assert.Single(group.Events).Message).RootElement.GetProperty("eventName").GetString());
        Assert.Null(store.Get(Account, "audit")!.Status.LatestCloudWatchLogsDeliveryError);
        await delivery.StopAsync(CancellationToken.None);
    }
}
