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

    static LogMetricFilterRow Filter(LogGroupRow group, string name, string pattern = "ERROR", string value = "1", double? defaultValue = null,
        params KeyValuePair<string, string>[] dimensions)
        => new(group.Id, group.Name, name, pattern, "Errors", "App", value, defaultValue, "Count", dimensions, 1_000);

    [Fact]
    public void MetricFiltersSurviveRestartAndGoWithTheirGroup()
    {
        var path = Path.Combine(_dir, "logs.db");
        using (var store = new LogStore(path))
        {
            store.CreateGroup("111111111111", "b", Now, null, null);
            store.CreateGroup("111111111111", "a", Now, null, null);
            var a = store.GetGroup("111111111111", "a")!;
            var b = store.GetGroup("111111111111", "b")!;
            Assert.Equal(MetricFilterPut.Created, store.PutMetricFilter(Filter(b, "f1"), 100));
            Assert.Equal(MetricFilterPut.Created, store.PutMetricFilter(Filter(a, "f2", "[x, y]", "$y", null, KeyValuePair.Create("X", "$x")), 100));
            Assert.Equal(MetricFilterPut.Created, store.PutMetricFilter(Filter(a, "f1"), 100));
            // Put again: replaced, keeping its creation time.
            Assert.Equal(MetricFilterPut.Replaced, store.PutMetricFilter(Filter(a, "f1", "WARN", "2", 0.5) with { CreationTime = 5_000 }, 100));
            Assert.Equal(MetricFilterPut.LimitExceeded, store.PutMetricFilter(Filter(a, "f3"), 2));
            Assert.Equal(MetricFilterPut.Replaced, store.PutMetricFilter(Filter(a, "f2"), 2));
        }
        using (var store = new LogStore(path))
        {
            var a = store.GetGroup("111111111111", "a")!;
            Assert.Equal(2, a.MetricFilterCount);
            var filters = store.MetricFiltersOf(a.Id);
            Assert.Equal(["f1", "f2"], filters.Select(f => f.Name));
            Assert.Equal(("WARN", "2", 0.5, "Count", 1_000L), (filters[0].Pattern, filters[0].MetricValue, filters[0].DefaultValue, filters[0].Unit, filters[0].CreationTime));
            // In (group, name) order across groups, a page at a time; of one group, by prefix; of one metric.
            Assert.Equal(["a/f1", "a/f2", "b/f1"], store.ListMetricFilters("111111111111", null, null, null, null, 10).Select(f => f.GroupName + "/" + f.Name));
            Assert.Equal(["b/f1"], store.ListMetricFilters("111111111111", null, null, null, ("a", "f2"), 10).Select(f => f.GroupName + "/" + f.Name));
            Assert.Equal(["f2"], store.ListMetricFilters("111111111111", a.Id, "f2", null, null, 10).Select(f => f.Name));
            Assert.Equal(["a/f1", "a/f2", "b/f1"], store.ListMetricFilters("111111111111", null, null, ("App", "Errors"), null, 10).Select(f => f.GroupName + "/" + f.Name));
            Assert.Empty(store.ListMetricFilters("111111111111", null, null, ("App", "Other"), null, 10));
            Assert.Empty(store.ListMetricFilters("222222222222", null, null, null, null, 10));
            Assert.True(store.DeleteMetricFilter(a.Id, "f2"));
            Assert.False(store.DeleteMetricFilter(a.Id, "f2"));
            Assert.True(store.DeleteGroup("111111111111", "a"));
            Assert.Empty(store.MetricFiltersOf(a.Id));
            Assert.Equal(MetricFilterPut.NoGroup, store.PutMetricFilter(Filter(a, "f1"), 100));
        }
    }

    [Fact]
    public async Task IngestedEventsPublishThroughMetricFilters()
    {
        using var store = new LogStore(Path.Combine(_dir, "logs.db"));
        var metrics = new MetricsStore(_clock);
        var publisher = new Strata.Server.Services.Logs.MetricFilterPublisher(store, metrics);
        using var ingestion = new LogIngestion(store, _clock, NullLogger<LogIngestion>.Instance, publisher);
        const string account = "111111111111", group = "/aws/sagemaker/Endpoints/ep";
        store.CreateGroup(account, group, Now, null, null);
        var g = store.GetGroup(account, group)!;
        store.PutMetricFilter(Filter(g, "errors", defaultValue: 0), 100);
        store.PutMetricFilter(new LogMetricFilterRow(g.Id, g.Name, "latency", "[level, ms]", "Latency", "App", "$ms", null, "Milliseconds",
            [KeyValuePair.Create("Level", "$level")], Now), 100);
        await ingestion.StartAsync(CancellationToken.None);
        var at = _clock.GetUtcNow().AddMinutes(-3);
        ingestion.Post(account, group, "main/i-0", at, "ERROR 30");
        ingestion.Post(account, group, "main/i-0", at.AddSeconds(1), "INFO 12");
        ingestion.Post(account, group, "main/i-1", at.AddSeconds(2), "ERROR 8");
        ingestion.Post(account, group, "main/i-1", at.AddSeconds(3), "no numbers here at all");
        await Until(() => ingestion.Written == 4);
        await ingestion.StopAsync(CancellationToken.None);

        var errors = metrics.Query(account, "App", "Errors", [], at.AddMinutes(-1), at.AddMinutes(1));
        Assert.Equal((4L, 2.0), (errors.Sum(p => p.SampleCount), errors.Sum(p => p.Sum)));
        var error = metrics.Query(account, "App", "Latency", [KeyValuePair.Create("Level", "ERROR")], at.AddMinutes(-1), at.AddMinutes(1));
        Assert.Equal((2L, 38.0, 8.0, 30.0), (error.Sum(p => p.SampleCount), error.Sum(p => p.Sum), error.Min(p => p.Minimum), error.Max(p => p.Maximum)));
        Assert.Equal(12.0, metrics.Query(account, "App", "Latency", [KeyValuePair.Create("Level", "INFO")], at.AddMinutes(-1), at.AddMinutes(1)).Single().Sum);
        // At the events' own time, not the ingestion's.
        Assert.Empty(metrics.Query(account, "App", "Errors", [], at.AddMinutes(1), _clock.GetUtcNow().AddMinutes(1)));
        Assert.Equal("Milliseconds", metrics.UnitOf(MetricKey.Of(account, "App", "Latency", [KeyValuePair.Create("Level", "INFO")])));
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
