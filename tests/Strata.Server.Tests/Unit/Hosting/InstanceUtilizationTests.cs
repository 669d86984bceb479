using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Hosting;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>When instance utilization is sampled (on a clock the test owns), and what is recorded.</summary>
public sealed class InstanceUtilizationTests
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    const string Ns = "/aws/sagemaker/TransformJobs";

    static readonly KeyValuePair<string, string>[] HostA = [new("Host", "job/i-a")];
    static readonly KeyValuePair<string, string>[] HostB = [new("Host", "job/i-b")];

    [Fact]
    public void SamplesAtOnceEveryPeriodAndOnceMoreWhenStoppedThenNever()
    {
        using var metrics = new MetricsStore(_clock);
        var reads = new List<DateTimeOffset>();
        var sampler = new InstanceUtilization(metrics, _clock, "111", Ns, now =>
        {
            reads.Add(now);
            return [(new UtilizationSample(150, 20, 40), [("Host", "job/i-a")]), (null, [("Host", "job/i-b")])];
        }, NullLogger.Instance);
        Assert.Single(reads); // the first sample at once

        _clock.Advance(InstanceUtilization.Period - TimeSpan.FromSeconds(1));
        Assert.Single(reads);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, reads.Count);

        _clock.Advance(TimeSpan.FromSeconds(3));
        sampler.Dispose(); // the job ends between two periods: its last moments are sampled too
        sampler.Dispose();
        Assert.Equal(3, reads.Count);
        Assert.Equal(_clock.GetUtcNow(), reads[^1]);
        _clock.Advance(InstanceUtilization.Period * 5);
        Assert.Equal(3, reads.Count);

        Assert.Equal((3, 450.0), metrics.Totals("111", Ns, "CPUUtilization", HostA));
        Assert.Equal((3, 60.0), metrics.Totals("111", Ns, "MemoryUtilization", HostA));
        Assert.Equal((3, 120.0), metrics.Totals("111", Ns, "DiskUtilization", HostA));
        Assert.Equal("Percent", metrics.UnitOf(MetricKey.Of("111", Ns, "CPUUtilization", HostA)));
        // An instance that could not be read (it exited) gets no datapoint, not a zero.
        Assert.Equal((0, 0.0), metrics.Totals("111", Ns, "CPUUtilization", HostB));
    }

    [Fact]
    public void AnUnreadableVolumeLeavesOutOnlyDiskUtilization()
    {
        using var metrics = new MetricsStore(_clock);
        using (new InstanceUtilization(metrics, _clock, "111", Ns, _ => [(new UtilizationSample(5, 10, null), [("Host", "job/i-a")])], NullLogger.Instance))
        {
        }
        Assert.Equal(2, metrics.Totals("111", Ns, "CPUUtilization", HostA).Count);
        Assert.Equal(0, metrics.Totals("111", Ns, "DiskUtilization", HostA).Count);
    }

    [Fact]
    public void GpuMetricsOnlyForInstancesWithReadableGpus()
    {
        using var metrics = new MetricsStore(_clock);
        using (new InstanceUtilization(metrics, _clock, "111", Ns, _ =>
            [(new UtilizationSample(5, 10, 20, 130, 76.5), [("Host", "job/i-a")]), (new UtilizationSample(5, 10, 20), [("Host", "job/i-b")])], NullLogger.Instance))
        {
        }
        Assert.Equal((2, 260.0), metrics.Totals("111", Ns, "GPUUtilization", HostA));
        Assert.Equal((2, 153.0), metrics.Totals("111", Ns, "GPUMemoryUtilization", HostA));
        Assert.Equal("Percent", metrics.UnitOf(MetricKey.Of("111", Ns, "GPUUtilization", HostA)));
        Assert.Equal(0, metrics.Totals("111", Ns, "GPUUtilization", HostB).Count);
        Assert.Equal(0, metrics.Totals("111", Ns, "GPUMemoryUtilization", HostB).Count);
        Assert.Equal(2, metrics.Totals("111", Ns, "CPUUtilization", HostB).Count);
    }

    [Fact]
    public void AFailingReadIsAMissedSampleNotACrash()
    {
        using var metrics = new MetricsStore(_clock);
        var calls = 0;
        using var sampler = new InstanceUtilization(metrics, _clock, "111", Ns, _ =>
        {
            if (++calls == 1) throw new InvalidOperationException("boom");
            return [(new UtilizationSample(5, 10, 20), [("Host", "job/i-a")])];
        }, NullLogger.Instance);
        _clock.Advance(InstanceUtilization.Period);
        Assert.Equal(1, metrics.Totals("111", Ns, "MemoryUtilization", HostA).Count);
    }

    [Fact]
    public void DiskUsedIsThePercentUsedOfTheFilesystemHoldingADirectory()
    {
        var dir = Directory.CreateTempSubdirectory("strata-disk-").FullName;
        try
        {
            var used = WorkerProcess.DiskUsed(dir);
            Assert.NotNull(used);
            // What df says of the same filesystem (its Capacity is rounded up to a whole percent).
            using var df = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("df", ["-P", dir]) { RedirectStandardOutput = true })!;
            var columns = df.StandardOutput.ReadToEnd().Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            df.WaitForExit();
            var capacity = double.Parse(columns[4].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(used.Value, capacity - 2, capacity);
        }
        finally { Directory.Delete(dir); }
        Assert.Null(WorkerProcess.DiskUsed(dir)); // gone: no reading rather than a wrong one
    }
}
