using Strata.Server.Services.CloudWatch;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

public sealed class MetricsStoreTests
{
    sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void MinuteStatisticsAndTotals()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 27, 10, 0, 5, TimeSpan.Zero));
        var metrics = new MetricsStore(clock);
        (string, string)[] dims = [("EndpointName", "ep"), ("VariantName", "A")];
        metrics.Record("1", "AWS/SageMaker", "ModelLatency", "Microseconds", 100, dims);
        metrics.Record("1", "AWS/SageMaker", "ModelLatency", "Microseconds", 300, dims);
        clock.Now = clock.Now.AddMinutes(1);
        metrics.Record("1", "AWS/SageMaker", "ModelLatency", "Microseconds", 50, dims);

        var minutes = metrics.Query("1", "AWS/SageMaker", "ModelLatency", [new("EndpointName", "ep"), new("VariantName", "A")], clock.Now.AddMinutes(-5), clock.Now);
        Assert.Equal(2, minutes.Count);
        Assert.Equal((2L, 400.0, 100.0, 300.0, 200.0), (minutes[0].SampleCount, minutes[0].Sum, minutes[0].Minimum, minutes[0].Maximum, minutes[0].Average));
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero), minutes[0].Timestamp);
        Assert.Equal(1, minutes[1].SampleCount);
        Assert.Empty(metrics.Query("1", "AWS/SageMaker", "ModelLatency", [new("EndpointName", "other")], clock.Now.AddMinutes(-5), clock.Now));

        var text = metrics.Prometheus();
        Assert.Contains("aws_sagemaker_model_latency_count{endpoint_name=\"ep\",variant_name=\"A\",account=\"1\"} 3", text);
        Assert.Contains("aws_sagemaker_model_latency_sum{endpoint_name=\"ep\",variant_name=\"A\",account=\"1\"} 450", text);
    }

    [Fact]
    public void PrometheusNames()
    {
        var metrics = new MetricsStore(TimeProvider.System);
        metrics.Record("1", "/aws/sagemaker/Endpoints", "CPUUtilization", "Percent", 1, ("EndpointName", "e\"x"));
        metrics.Record("1", "AWS/SageMaker", "Invocation4XXErrors", "Count", 1, ("EndpointName", "e"));
        var text = metrics.Prometheus();
        Assert.Contains("aws_sagemaker_endpoints_cpu_utilization_count{endpoint_name=\"e\\\"x\",account=\"1\"} 1", text);
        Assert.Contains("aws_sagemaker_invocation_4xx_errors_count{endpoint_name=\"e\",account=\"1\"} 1", text);
    }
}

/// <summary>The store's CloudWatch tiers on a fake clock: what each resolution keeps and for how long,
/// roll-ups, percentiles, and what survives a restart.</summary>
public sealed class MetricTiersTests : IDisposable
{
    readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly string _dir = Directory.CreateTempSubdirectory("strata-metrics-").FullName;
    static readonly MetricKey Key = MetricKey.Of("111122223333", "App", "Latency", [new("Host", "h1")]);

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void SecondsLastThreeHoursMinutesFifteenDaysAndRollUps()
    {
        var metrics = new MetricsStore(_clock);
        var start = _clock.GetUtcNow();
        for (var s = 0; s < 120; s++) metrics.Put(Key, "Milliseconds", start.AddSeconds(s), [(s, 1)], highResolution: true);
        Assert.Equal(120, metrics.Read(Key, start, start.AddMinutes(2), 1).Count);
        var minutes = metrics.Read(Key, start, start.AddMinutes(2), 60);
        Assert.Equal([(60d, Enumerable.Range(0, 60).Sum()), (60d, Enumerable.Range(60, 60).Sum())], minutes.Select(m => (m.Bucket.SampleCount, m.Bucket.Sum)));
        Assert.Equal(119, metrics.Read(Key, start, start.AddHours(1), 3600).Single().Bucket.Maximum);

        _clock.Advance(TimeSpan.FromHours(3) + TimeSpan.FromMinutes(5));
        Assert.Empty(metrics.Read(Key, start, start.AddMinutes(2), 1));
        Assert.Equal(2, metrics.Read(Key, start, start.AddMinutes(2), 60).Count);

        _clock.Advance(TimeSpan.FromDays(15));
        Assert.Empty(metrics.Read(Key, start, start.AddMinutes(2), 60));
        Assert.Equal(120, metrics.Read(Key, start, start.AddMinutes(10), 300).Single().Bucket.SampleCount);
        _clock.Advance(TimeSpan.FromDays(60));
        Assert.Equal(7140, metrics.Read(Key, start, start.AddHours(1), 3600).Single().Bucket.Sum);
    }

    [Fact]
    public void StandardResolutionHasNoSeconds()
    {
        var metrics = new MetricsStore(_clock);
        var at = _clock.GetUtcNow();
        metrics.Put(Key, null, at, [(5, 1)], highResolution: false);
        Assert.Empty(metrics.Read(Key, at, at.AddMinutes(1), 1));
        Assert.Equal(5, metrics.Read(Key, at, at.AddMinutes(1), 60).Single().Bucket.Sum);
    }

    [Fact]
    public void PercentilesAreWithinOnePercentAndStatisticSetsHaveNone()
    {
        var metrics = new MetricsStore(_clock);
        var at = _clock.GetUtcNow();
        var random = new Random(7);
        var values = Enumerable.Range(0, 10_000).Select(_ => Math.Exp(random.NextDouble() * 10)).ToList();
        foreach (var v in values) metrics.Put(Key, null, at.AddSeconds(random.Next(60)), [(v, 1)], highResolution: true);
        var bucket = metrics.Read(Key, at, at.AddMinutes(1), 60).Single().Bucket;
        values.Sort();
        foreach (var q in new[] { 0.5, 0.9, 0.99 })
        {
            var exact = values[(int)Math.Ceiling(q * values.Count) - 1];
            var estimate = Statistic.Parse($"p{q * 100}")!.Of(bucket)!.Value;
            Assert.InRange(estimate, exact * 0.99, exact * 1.01);
        }
        var other = MetricKey.Of("111122223333", "App", "Sets", []);
        metrics.PutSet(other, null, at, 10, 100, 1, 20, highResolution: false);
        var set = metrics.Read(other, at, at.AddMinutes(1), 60).Single().Bucket;
        Assert.Null(Statistic.Parse("p50")!.Of(set));
        Assert.Equal(10, Statistic.Parse("Average")!.Of(set));
    }

    [Fact]
    public void FlushedMetricsSurviveARestartAndExpiredOnesDoNot()
    {
        var path = Path.Combine(_dir, "metrics.db");
        var at = _clock.GetUtcNow();
        using (var metrics = new MetricsStore(_clock, path))
        {
            metrics.Put(Key, "Milliseconds", at, [(1, 1), (3, 1)], highResolution: true);
            metrics.Flush();
            // Written after a flush, into a bucket already on disk: the next flush must write it again.
            metrics.Put(Key, "Milliseconds", at, [(8, 1)], highResolution: true);
        }
        var reopened = new MetricsStore(_clock, path);
        var bucket = reopened.Read(Key, at, at.AddMinutes(1), 1).Single().Bucket;
        Assert.Equal((3d, 12d, 1d, 8d), (bucket.SampleCount, bucket.Sum, bucket.Minimum, bucket.Maximum));
        Assert.Equal(3, Statistic.Parse("p50")!.Of(bucket)!.Value, 0.05);
        Assert.Equal("Milliseconds", reopened.UnitOf(Key));
        Assert.Single(reopened.Catalogue());
        Assert.Empty(reopened.Read(MetricKey.Of("444455556666", "App", "Latency", [new("Host", "h1")]), at, at.AddMinutes(1), 1));

        _clock.Advance(TimeSpan.FromDays(456));
        reopened.Flush();
        Assert.Empty(new MetricsStore(_clock, path).Catalogue());
    }
}
