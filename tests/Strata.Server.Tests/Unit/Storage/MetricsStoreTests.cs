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
