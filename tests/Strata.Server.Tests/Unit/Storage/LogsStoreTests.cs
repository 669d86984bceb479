using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>The log event store: time-range reads per stream and per group, and retention applied
/// by its background service on a fake clock (no sleeps: the clock moves, the test polls for the effect).</summary>
public sealed class LogsStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-logstore-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public void ReadsByStreamAndGroupInTimeOrder()
    {
        using var store = new LogStore(Path.Combine(_dir, "logs.db"));
        Assert.True(store.CreateGroup("111111111111", "g", Now, null, null));
        Assert.False(store.CreateGroup("111111111111", "g", Now, null, null));
        Assert.True(store.CreateGroup("222222222222", "g", Now, null, null));
        var group = store.GetGroup("111111111111", "g")!;
        store.CreateStream(group.Id, "a", Now);
        store.CreateStream(group.Id, "b", Now);
        var a = store.GetStream(group.Id, "a")!;
        var b = store.GetStream(group.Id, "b")!;
        store.Append(group.Id, a.Id, [(100, "a1"), (300, "a3")], Now);
        store.Append(group.Id, b.Id, [(200, "b2"), (300, "b3")], Now);

        Assert.Equal(["a1", "a3"], store.ReadStream(a, null, null, null, forward: true, 10).Select(e => e.Message));
        Assert.Equal(["a3"], store.ReadStream(a, 101, null, null, forward: true, 10).Select(e => e.Message));
        Assert.Equal(["a1"], store.ReadStream(a, null, 300, null, forward: true, 10).Select(e => e.Message));
        Assert.Equal(["a3"], store.ReadStream(a, null, null, null, forward: false, 1).Select(e => e.Message));
        var names = new Dictionary<long, string> { [a.Id] = "a", [b.Id] = "b" };
        Assert.Equal(["a1", "b2", "a3", "b3"], store.ReadGroup(group.Id, names, true, null, null, null, 10).Select(e => e.Message));
        var first = store.ReadGroup(group.Id, names, true, null, null, null, 2);
        Assert.Equal(["a3", "b3"], store.ReadGroup(group.Id, names, true, null, null, new LogCursor(first[^1].Timestamp, first[^1].Id), 10).Select(e => e.Message));
        Assert.Equal(["b2", "b3"], store.ReadGroup(group.Id, new Dictionary<long, string> { [b.Id] = "b" }, false, null, null, null, 10).Select(e => e.Message));
        Assert.Equal(["b2", "a3", "b3"], store.ReadGroup(group.Id, names, true, 200, 300, null, 10).Select(e => e.Message));

        var stream = store.GetStream(group.Id, "a")!;
        Assert.Equal((100L, 300L, 1L, 4L), (stream.FirstEventTimestamp!.Value, stream.LastEventTimestamp!.Value, stream.Sequence, stream.StoredBytes));
        Assert.Equal(8, store.GetGroup("111111111111", "g")!.StoredBytes);
        Assert.True(store.DeleteStream(group.Id, "a"));
        Assert.Equal(4, store.GetGroup("111111111111", "g")!.StoredBytes);
        Assert.True(store.DeleteGroup("111111111111", "g"));
        Assert.Empty(store.ReadGroup(group.Id, names, true, null, null, null, 10));
        Assert.NotNull(store.GetGroup("222222222222", "g"));
    }

    [Fact]
    public async Task RetentionDeletesExpiredEventsOnTheClock()
    {
        using var store = new LogStore(Path.Combine(_dir, "logs.db"));
        store.CreateGroup("111111111111", "kept-1d", Now, null, null);
        store.CreateGroup("111111111111", "forever", Now, null, null);
        store.SetRetention("111111111111", "kept-1d", 1);
        var day = TimeSpan.FromDays(1).Ticks / TimeSpan.TicksPerMillisecond;
        foreach (var name in new[] { "kept-1d", "forever" })
        {
            var g = store.GetGroup("111111111111", name)!;
            store.CreateStream(g.Id, "s", Now);
            store.Append(g.Id, store.GetStream(g.Id, "s")!.Id, [(Now - 2 * day, "old"), (Now - day / 2, "recent")], Now);
        }
        using var retention = new LogRetention(store, _clock, TimeSpan.FromMinutes(1), NullLogger<LogRetention>.Instance);
        await retention.StartAsync(CancellationToken.None);
        try
        {
            string[] Messages(string name)
            {
                var g = store.GetGroup("111111111111", name)!;
                return store.ReadStream(store.GetStream(g.Id, "s")!, null, null, null, true, 10).Select(e => e.Message).ToArray();
            }
            Assert.Equal(["old", "recent"], Messages("kept-1d"));
            _clock.Advance(TimeSpan.FromMinutes(1));
            await Until(() => Messages("kept-1d").Length == 1);
            Assert.Equal(["recent"], Messages("kept-1d"));
            Assert.Equal(6, store.GetGroup("111111111111", "kept-1d")!.StoredBytes);
            Assert.Equal(["old", "recent"], Messages("forever"));
            // A day later the recent one has expired too.
            _clock.Advance(TimeSpan.FromDays(1));
            await Until(() => Messages("kept-1d").Length == 0);
            Assert.Equal(0, store.GetGroup("111111111111", "kept-1d")!.StoredBytes);
            Assert.Equal(["old", "recent"], Messages("forever"));
        }
        finally
        {
            await retention.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task IngestionCreatesGroupsAndStreamsAndNeverBlocks()
    {
        using var store = new LogStore(Path.Combine(_dir, "logs.db"));
        using var ingestion = new LogIngestion(store, _clock, NullLogger<LogIngestion>.Instance);
        await ingestion.StartAsync(CancellationToken.None);
        for (var i = 0; i < 5_000; i++) ingestion.Post("111111111111", "/aws/sagemaker/Endpoints/ep", $"main/i-{i % 2}", _clock.GetUtcNow(), $"line {i}");
        ingestion.Post("111111111111", "/aws/sagemaker/Endpoints/ep", "main/i-0", _clock.GetUtcNow(), "");
        await Until(() => ingestion.Written == 5_001);
        await ingestion.StopAsync(CancellationToken.None);
        var g = store.GetGroup("111111111111", "/aws/sagemaker/Endpoints/ep")!;
        var streams = store.StreamsOf(g.Id, null, null);
        Assert.Equal(["main/i-0", "main/i-1"], streams.Select(s => s.Name));
        var events = store.ReadStream(streams[0], null, null, null, true, 10_000);
        Assert.Equal(2_501, events.Count);
        Assert.Equal("line 0", events[0].Message);
        Assert.Equal(" ", events[^1].Message);
        Assert.Equal(0, ingestion.Dropped);
    }

    static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the effect");
            await Task.Delay(10);
        }
    }
}
