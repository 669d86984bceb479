using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Hosting;

namespace Strata.Server.Tests.Unit;

/// <summary>Data capture's record writer, key layout, sampling and flushing (on a clock the test owns).</summary>
public sealed class DataCaptureWriterTests
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 2, 13, 4, 5, 678, TimeSpan.Zero));

    static readonly CaptureSettings Settings = new()
    {
        SamplingPercentage = 100,
        DestinationS3Uri = "s3://bucket/monitor/capture/",
        CaptureInput = true,
        CaptureOutput = true,
        CsvContentTypes = ["text/csv"],
        JsonContentTypes = ["application/json"],
    };

    sealed class MemoryStore : ICaptureStore
    {
        public List<(string? Role, string Bucket, string Key, string Content, string? Kms)> Puts { get; } = [];
        public bool Refuse { get; set; }

        public Task PutAsync(string? roleArn, string bucket, string key, ReadOnlyMemory<byte> content, string? kmsKeyId, CancellationToken ct)
        {
            if (Refuse) throw new CaptureWriteException("not authorized to perform s3:PutObject");
            lock (Puts) Puts.Add((roleArn, bucket, key, Encoding.UTF8.GetString(content.Span), kmsKeyId));
            return Task.CompletedTask;
        }
    }

    DataCaptureWriter Writer(MemoryStore store, Func<double>? random = null, int flushAt = 2000)
        => new(store, _clock, NullLogger<DataCaptureWriter>.Instance, random, flushAt: flushAt);

    [Fact]
    public void RecordsAreAwsJsonLines()
    {
        using var writer = Writer(new MemoryStore());
        var variant = writer.For("111", "ep", "AllTraffic", Settings, "arn:aws:iam::111:role/r")!;
        var ids = new Queue<Guid>([Guid.Parse("11111111-2222-3333-4444-555555555555"), Guid.Parse("66666666-7777-8888-9999-000000000000")]);
        var text = Encoding.UTF8.GetString(CaptureRecords.Write([
            new CaptureEvent(variant, _clock.GetUtcNow(), "order-1", "text/csv", "1,2\n"u8.ToArray(), "application/json; charset=utf-8", "{\"p\":\"<a>\"}"u8.ToArray()),
            new CaptureEvent(variant, _clock.GetUtcNow(), null, "application/x-npy", [0x93, 0xff], null, null),
        ], ids.Dequeue));
        Assert.Equal(
            """{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"1,2\n","encoding":"CSV"},"endpointOutput":{"observedContentType":"application/json; charset=utf-8","mode":"OUTPUT","data":"{\"p\":\"<a>\"}","encoding":"JSON"}},"eventMetadata":{"eventId":"11111111-2222-3333-4444-555555555555","inferenceId":"order-1","inferenceTime":"2026-12-02T13:04:05Z"},"eventVersion":"0"}""" + "\n" +
            """{"captureData":{"endpointInput":{"observedContentType":"application/x-npy","mode":"INPUT","data":"k/8=","encoding":"BASE64"}},"eventMetadata":{"eventId":"66666666-7777-8888-9999-000000000000","inferenceTime":"2026-12-02T13:04:05Z"},"eventVersion":"0"}""" + "\n",
            text);
    }

    [Theory]
    [InlineData("text/csv", "CSV")]
    [InlineData("TEXT/CSV; charset=utf-8", "CSV")]
    [InlineData("application/json", "JSON")]
    [InlineData("application/jsonlines", "BASE64")]
    [InlineData(null, "BASE64")]
    public void EncodingFollowsTheContentTypeHeader(string? contentType, string encoding)
        => Assert.Equal(encoding, CaptureRecords.EncodingOf(contentType, Settings));

    [Fact]
    public void TextThatIsNotUtf8IsKeptAsBase64()
    {
        using var writer = Writer(new MemoryStore());
        var variant = writer.For("111", "ep", "v", Settings, null)!;
        var line = CaptureRecords.Write([new CaptureEvent(variant, _clock.GetUtcNow(), null, "text/csv", [0xff, 0xfe], null, null)], Guid.NewGuid);
        var input = JsonDocument.Parse(line).RootElement.GetProperty("captureData").GetProperty("endpointInput");
        Assert.Equal("BASE64", input.GetProperty("encoding").GetString());
        Assert.Equal([0xff, 0xfe], input.GetProperty("data").GetBytesFromBase64());
    }

    [Theory]
    [InlineData("s3://bucket/monitor/capture/", "bucket", "monitor/capture/ep/AllTraffic/2026/12/02/13/04-05-678-")]
    [InlineData("s3://bucket", "bucket", "ep/AllTraffic/2026/12/02/13/04-05-678-")]
    [InlineData("s3://bucket/", "bucket", "ep/AllTraffic/2026/12/02/13/04-05-678-")]
    public void KeysAreAwsLayout(string destination, string bucket, string keyStart)
    {
        using var writer = Writer(new MemoryStore());
        var variant = writer.For("111", "ep", "AllTraffic", Settings with { DestinationS3Uri = destination }, null)!;
        var id = Guid.NewGuid();
        var (b, key) = CaptureLayout.ObjectFor(variant, _clock.GetUtcNow(), id);
        Assert.Equal(bucket, b);
        Assert.Equal(keyStart + id.ToString("D") + ".jsonl", key);
    }

    [Fact]
    public void NoCaptureConfigurationNoCapture()
    {
        using var writer = Writer(new MemoryStore());
        Assert.Null(writer.For("111", "ep", "v", null, null));
    }

    [Fact]
    public void SamplingDrawsFromTheSource()
    {
        var draws = new Queue<double>([0.10, 0.49, 0.50, 0.99]);
        using var writer = Writer(new MemoryStore(), () => draws.Dequeue());
        Assert.Equal([true, true, false, false], Enumerable.Range(0, 4).Select(_ => writer.Sampled(50)));
        Assert.False(writer.Sampled(0)); // never drawn
        Assert.True(writer.Sampled(100));
        Assert.Empty(draws);
    }

    [Fact]
    public void SeededSamplingIsNearItsPercentage()
    {
        var random = new Random(18);
        using var writer = Writer(new MemoryStore(), random.NextDouble);
        var sampled = Enumerable.Range(0, 100_000).Count(_ => writer.Sampled(30));
        Assert.InRange(sampled, 29_500, 30_500); // σ ≈ 145
    }

    [Fact]
    public async Task FlushesEveryMinuteOfTheClockByVariantAndHour()
    {
        var store = new MemoryStore();
        using var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);
        var a = writer.For("111", "ep", "a", Settings with { KmsKeyId = "alias/k" }, "arn:aws:iam::111:role/a")!;
        var b = writer.For("111", "ep", "b", Settings, "arn:aws:iam::111:role/b")!;
        a.Record("1", "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        a.Record("2", "text/csv", "2"u8.ToArray(), "text/csv", "0"u8.ToArray());
        b.Record(null, "text/csv", "3"u8.ToArray(), "text/csv", "0"u8.ToArray());
        _clock.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.Empty(store.Puts);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await WaitFor(() => store.Puts.Count == 2);
        var put = store.Puts.Single(p => p.Key.Contains("/a/", StringComparison.Ordinal));
        Assert.Equal(("arn:aws:iam::111:role/a", "bucket", "alias/k"), (put.Role, put.Bucket, put.Kms));
        Assert.Equal(2, put.Content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(3, writer.Written);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ALargeBatchIsWrittenBeforeTheMinute()
    {
        var store = new MemoryStore();
        using var writer = Writer(store, flushAt: 10);
        var a = writer.For("111", "ep", "a", Settings, "r")!;
        for (var i = 0; i < 10; i++) a.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        await WaitFor(() => store.Puts.Count == 1);
        Assert.Equal(10, store.Puts[0].Content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task ACleanShutdownWritesEverything()
    {
        var store = new MemoryStore();
        using var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);
        var a = writer.For("111", "ep", "a", Settings, "r")!;
        for (var i = 0; i < 500; i++) a.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(500, store.Puts.Sum(p => p.Content.Count(c => c == '\n')));
        Assert.Equal(0, writer.Dropped);
    }

    [Fact]
    public async Task ABatchTheRoleMayNotWriteIsDroppedAndCounted()
    {
        var store = new MemoryStore { Refuse = true };
        using var writer = Writer(store);
        var a = writer.For("111", "ep", "a", Settings, "r")!;
        a.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        await writer.FlushAsync(CancellationToken.None);
        Assert.Equal((1L, 0L), (writer.Dropped, writer.Written));
    }

    [Fact]
    public void AFullQueueDropsCapturesNotRequests()
    {
        var store = new MemoryStore();
        using var writer = new DataCaptureWriter(store, _clock, NullLogger<DataCaptureWriter>.Instance, capacity: 3, flushAt: 1000);
        var a = writer.For("111", "ep", "a", Settings, "r")!;
        for (var i = 0; i < 5; i++) a.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        Assert.Equal(2, writer.Dropped);
    }

    [Fact]
    public async Task WaitingBodiesAreBoundedInBytesAndFlushedWhenLarge()
    {
        var store = new MemoryStore();
        using var writer = new DataCaptureWriter(store, _clock, NullLogger<DataCaptureWriter>.Instance, flushAt: 1000, flushBytes: 1 << 20, maxBytes: 3 << 20);
        var a = writer.For("111", "ep", "a", Settings with { CaptureOutput = false }, "r")!;
        a.Record(null, "application/x-npy", new byte[1 << 20], null, null); // 1 MiB waiting: a flush starts
        await WaitFor(() => store.Puts.Count == 1);
        Assert.Equal(0, writer.Dropped);

        using var stalled = new DataCaptureWriter(store, _clock, NullLogger<DataCaptureWriter>.Instance, flushAt: 1000, flushBytes: 1L << 40, maxBytes: 3 << 20);
        var b = stalled.For("111", "ep", "b", Settings with { CaptureOutput = false }, "r")!;
        for (var i = 0; i < 4; i++) b.Record(null, "application/x-npy", new byte[1 << 20], null, null);
        Assert.Equal(1, stalled.Dropped); // the fourth MiB is past the bound
    }

    [Fact]
    public async Task StoppedCaptureRecordsNothing()
    {
        var store = new MemoryStore();
        using var writer = Writer(store);
        writer.For("111", "ep", "a", Settings with { EnableCapture = false }, "r")!.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        writer.For("111", "ep", "b", Settings with { SamplingPercentage = 0 }, "r")!.Record(null, "text/csv", "1"u8.ToArray(), "text/csv", "0"u8.ToArray());
        await writer.FlushAsync(CancellationToken.None);
        Assert.Empty(store.Puts);
    }

    static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }
}
