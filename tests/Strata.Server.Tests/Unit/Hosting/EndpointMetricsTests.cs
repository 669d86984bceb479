using Microsoft.Extensions.Time.Testing;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>`strata metrics`: a variant's last minute, GPU columns included where its instances report GPUs.</summary>
public sealed class EndpointMetricsTests
{
    [Fact]
    public void TheLastMinuteAveragesTheInstancesUtilizationAndHasGpusOnlyWhereReported()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        using var metrics = new MetricsStore(clock);
        const string ns = "/aws/sagemaker/Endpoints";
        foreach (var (cpu, gpu, memory) in new[] { (50.0, 120.0, 30.0), (70.0, 80.0, 50.0) })
        {
            metrics.Record("111", ns, "CPUUtilization", "Percent", cpu, ("EndpointName", "e"), ("VariantName", "gpu"));
            metrics.Record("111", ns, "GPUUtilization", "Percent", gpu, ("EndpointName", "e"), ("VariantName", "gpu"));
            metrics.Record("111", ns, "GPUMemoryUtilization", "Percent", memory, ("EndpointName", "e"), ("VariantName", "gpu"));
            metrics.Record("111", ns, "CPUUtilization", "Percent", cpu, ("EndpointName", "e"), ("VariantName", "cpu"));
        }
        clock.Advance(TimeSpan.FromSeconds(10));

        var gpuVariant = EndpointMetrics.LastMinute(metrics, "111", "e", "gpu", 2);
        Assert.Equal(60.0, gpuVariant["cpuUtilization"]!.GetValue<double>());
        Assert.Equal(100.0, gpuVariant["gpuUtilization"]!.GetValue<double>());
        Assert.Equal(40.0, gpuVariant["gpuMemoryUtilization"]!.GetValue<double>());
        var cpuVariant = EndpointMetrics.LastMinute(metrics, "111", "e", "cpu", 2);
        Assert.Null(cpuVariant["gpuUtilization"]);
        Assert.Null(cpuVariant["gpuMemoryUtilization"]);
    }
}
