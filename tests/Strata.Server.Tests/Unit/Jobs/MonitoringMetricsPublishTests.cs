using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Processing;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>What the server takes of the metrics a monitoring execution's container hands over
/// (/opt/ml/output/metrics/cloudwatch): only a job the scheduler made publishes, under its own
/// schedule's dimensions, data-quality names only, each datum one PutMetricData would accept, read
/// from regular files only and within a byte limit.</summary>
public sealed class MonitoringMetricsPublishTests : IDisposable
{
    static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    readonly string _output = Directory.CreateTempSubdirectory("strata-metrics-").FullName;
    readonly MetricsStore _metrics = new(new FakeTimeProvider(Now));

    public void Dispose()
    {
        _metrics.Dispose();
        Directory.Delete(_output, recursive: true);
    }

    string CloudWatchDir => Directory.CreateDirectory(Path.Combine(_output, "metrics", "cloudwatch")).FullName;

    static ProcessingJob Job(bool byScheduler) => new()
    {
        Name = "model-monitoring-202612021200-0123456789abcdef01234567",
        Arn = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/x",
        RoleArn = "arn:aws:iam::123456789012:role/r",
        ImageUri = "img",
        InstanceType = "ml.m5.xlarge",
        CreationTime = Now,
        Environment = new() { ["sagemaker_monitoring_schedule_name"] = "sched", ["sagemaker_endpoint_name"] = "ep" },
        Monitor = byScheduler
            ? new ProcessingJobMonitor { MonitoringScheduleArn = "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/sched", MonitoringScheduleName = "sched", EndpointName = "ep" }
            : null,
    };

    static string Line(string name, long timestamp, string value = "0.5", string endpoint = "other-ep", string schedule = "other-sched")
        => $$"""{"MetricName":"{{name}}","Timestamp":{{timestamp}},"Dimensions":[{"Name":"Endpoint","Value":"{{endpoint}}"},{"Name":"MonitoringSchedule","Value":"{{schedule}}"}],"Value":{{value}}}""";

    (int Published, int Skipped) Publish(bool byScheduler = true)
        => ProcessingJobRunner.PublishMonitoringMetrics(_metrics, "123456789012", Job(byScheduler), _output, Now);

    List<MetricsStore.SeriesInfo> Series() => [.. _metrics.Catalogue()];

    static readonly KeyValuePair<string, string>[] OwnDimensions = [new("Endpoint", "ep"), new("MonitoringSchedule", "sched")];

    [Fact]
    public void DimensionsAreTheSchedulesOwnAndOnlyDataQualityNamesPublish()
    {
        var t = Now.AddMinutes(-5).ToUnixTimeSeconds();
        File.WriteAllLines(Path.Combine(CloudWatchDir, "a.jsonl"),
            [Line("feature_null_a", t, "3"), Line("feature_baseline_drift_a", t), Line("feature_non_null_a", t, "7", "ep", "sched"),
             Line("CPUUtilization", t), Line("feature_null_", t), Line("feature_null_" + new string('x', 250), t), "", "not json", "[1]"]);
        File.WriteAllText(Path.Combine(CloudWatchDir, "ignored.json"), Line("feature_null_b", t));

        Assert.Equal((3, 5), Publish());
        var series = Series();
        Assert.Equal(["feature_baseline_drift_a", "feature_non_null_a", "feature_null_a"], series.Select(s => s.Key.Name).Order(StringComparer.Ordinal));
        Assert.All(series, s =>
        {
            Assert.Equal(ProcessingJobRunner.MonitoringNamespace, s.Key.Namespace);
            Assert.Equal("123456789012", s.Key.Account);
            Assert.Equal(OwnDimensions, s.Key.Dimensions);
        });
        var points = _metrics.Query("123456789012", ProcessingJobRunner.MonitoringNamespace, "feature_null_a", OwnDimensions, Now.AddHours(-1), Now);
        Assert.Equal(3, Assert.Single(points).Sum);
    }

    [Fact]
    public void AModelQualityExecutionPublishesItsMetricsToModelMetricsOnly()
    {
        var t = Now.AddMinutes(-5).ToUnixTimeSeconds();
        File.WriteAllLines(Path.Combine(CloudWatchDir, "a.jsonl"), [Line("mae", t, "0.25"), Line("weighted_f1", t), Line("feature_null_a", t), Line("mae_x", t), Line("auc", t, "NaN")]);
        var job = Job(true);
        job = job with { Monitor = job.Monitor! with { MonitoringType = "ModelQuality" } };
        Assert.Equal((2, 3), ProcessingJobRunner.PublishMonitoringMetrics(_metrics, "123456789012", job, _output, Now));
        Assert.All(Series(), s => Assert.Equal(ProcessingJobRunner.ModelQualityNamespace, s.Key.Namespace));
        var points = _metrics.Query("123456789012", ProcessingJobRunner.ModelQualityNamespace, "mae", OwnDimensions, Now.AddHours(-1), Now);
        Assert.Equal(0.25, Assert.Single(points).Sum);
    }

    [Fact]
    public void AModelBiasExecutionKeepsItsBiasDimensionsAndNoOthers()
    {
        var t = Now.AddMinutes(-5).ToUnixTimeSeconds();
        static string Bias(string name, long at, string extra)
            => $$"""{"MetricName":"{{name}}","Timestamp":{{at}},"Dimensions":[{"Name":"Endpoint","Value":"other-ep"},{"Name":"BiasStage","Value":"Post-Training"},{"Name":"Facet","Value":"gender"},{"Name":"FacetValue","Value":"0"}{{extra}}],"Value":0.5}""";
        File.WriteAllLines(Path.Combine(CloudWatchDir, "a.jsonl"),
            [Bias("bias_metric_DPPL", t, ""), Bias("bias_metric_DI", t, ",{\"Name\":\"InstanceId\",\"Value\":\"x\"}"), Bias("bias_metric_DI", t, ",{\"Name\":\"Facet\",\"Value\":\"again\"}"),
             Bias("bias_metric_XYZ", t, ""), Line("mae", t)]);
        var job = Job(true);
        job = job with { Monitor = job.Monitor! with { MonitoringType = "ModelBias" } };
        Assert.Equal((1, 4), ProcessingJobRunner.PublishMonitoringMetrics(_metrics, "123456789012", job, _output, Now));
        var series = Assert.Single(Series());
        Assert.Equal(ProcessingJobRunner.ModelBiasNamespace, series.Key.Namespace);
        Assert.Equal(["BiasStage=Post-Training", "Endpoint=ep", "Facet=gender", "FacetValue=0", "MonitoringSchedule=sched"], series.Key.Dimensions.Select(d => $"{d.Key}={d.Value}"));
    }

    [Fact]
    public void EveryBiasMetricTheAnalyzerComputesIsOneTheServerPublishes()
    {
        // The server's allowlist is built from the analyzer's own lists: SD (missing once) and DCA among them.
        foreach (var name in Strata.Algorithms.Monitor.BiasMetrics.PreTraining.Concat(Strata.Algorithms.Monitor.BiasMetrics.PostTraining))
            Assert.True(ProcessingJobRunner.IsMonitoringMetric("ModelBias", "bias_metric_" + name), name);
        Assert.True(ProcessingJobRunner.IsMonitoringMetric("ModelBias", "bias_metric_SD"));
        Assert.True(ProcessingJobRunner.IsMonitoringMetric("ModelBias", "bias_metric_DCA"));
        Assert.False(ProcessingJobRunner.IsMonitoringMetric("ModelBias", "bias_metric_DCAcc"));
    }

    [Fact]
    public void AJobWhoseEnvironmentNamesASchedulePublishesNothingUnlessTheSchedulerMadeIt()
    {
        File.WriteAllLines(Path.Combine(CloudWatchDir, "a.jsonl"), [Line("feature_null_a", Now.AddMinutes(-5).ToUnixTimeSeconds(), endpoint: "ep", schedule: "sched")]);
        Assert.Equal((0, 0), Publish(byScheduler: false));
        Assert.Empty(Series());
        Assert.Equal((1, 0), Publish());
    }

    [Fact]
    public void DataPutMetricDataWouldRefuseAreSkipped()
    {
        var t = Now.AddMinutes(-5);
        File.WriteAllLines(Path.Combine(CloudWatchDir, "a.jsonl"),
        [
            Line("feature_null_ms", t.ToUnixTimeMilliseconds()),            // milliseconds: beyond the window
            Line("feature_null_huge", long.MaxValue),                         // beyond what a time holds
            Line("feature_null_old", Now.AddDays(-15).ToUnixTimeSeconds()),
            Line("feature_null_ahead", Now.AddHours(3).ToUnixTimeSeconds()),
            Line("feature_null_fraction", t.ToUnixTimeSeconds()).Replace($"\"Timestamp\":{t.ToUnixTimeSeconds()}", $"\"Timestamp\":{t.ToUnixTimeSeconds()}.5"),
            Line("feature_null_infinite", t.ToUnixTimeSeconds(), "1e400"),
            Line("feature_null_tiny", t.ToUnixTimeSeconds(), "1e-300"),
            Line("feature_null_text", t.ToUnixTimeSeconds(), "\"1\""),
            Line("feature_null_long", t.ToUnixTimeSeconds()) + new string(' ', ProcessingJobRunner.MaxMetricLineBytes),
            Line("feature_null_ok", t.ToUnixTimeSeconds(), "0"),
            Line("feature_null_edge", Now.AddDays(-14).ToUnixTimeSeconds()),
        ]);
        Assert.Equal((2, 9), Publish());
        Assert.Equal(["feature_null_edge", "feature_null_ok"], Series().Select(s => s.Key.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task LinksFifosAndLinkedDirectoriesAreNeverRead()
    {
        var dir = CloudWatchDir;
        var t = Now.AddMinutes(-5).ToUnixTimeSeconds();
        var elsewhere = Directory.CreateTempSubdirectory("strata-metrics-elsewhere-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(elsewhere, "b.jsonl"), Line("feature_null_linked", t) + "\n");
            File.CreateSymbolicLink(Path.Combine(dir, "a.jsonl"), "/dev/zero");
            File.CreateSymbolicLink(Path.Combine(dir, "b.jsonl"), Path.Combine(elsewhere, "b.jsonl"));
            Assert.Equal(0, MkFifo(Path.Combine(dir, "c.jsonl"), 0x180));
            File.WriteAllText(Path.Combine(dir, "d.jsonl"), Line("feature_null_real", t) + "\n");
            // A hang would block the test run: it fails here (TimeoutException) instead (the read itself takes milliseconds).
            Assert.Equal((1, 0), await Task.Run(() => Publish()).WaitAsync(TimeSpan.FromMinutes(1)));
            Assert.Equal(["feature_null_real"], Series().Select(s => s.Key.Name));

            // The cloudwatch directory itself a link: find(1) does not descend through it.
            Directory.Delete(dir, recursive: true);
            Directory.CreateSymbolicLink(dir, elsewhere);
            Assert.Equal((0, 0), Publish());
        }
        finally { Directory.Delete(elsewhere, recursive: true); }
    }

    [Fact]
    public void AtMostAMebibyteIsRead()
    {
        var line = Line("feature_null_a", Now.AddMinutes(-5).ToUnixTimeSeconds()) + "\n";
        var count = 2 * ProcessingJobRunner.MaxMetricBytes / line.Length;
        File.WriteAllText(Path.Combine(CloudWatchDir, "a.jsonl"), string.Concat(Enumerable.Repeat(line, count)));
        File.WriteAllText(Path.Combine(CloudWatchDir, "b.jsonl"), line);
        var (published, skipped) = Publish();
        Assert.Equal(ProcessingJobRunner.MaxMetricBytes / line.Length, published);
        Assert.Equal(1, skipped); // the line the limit cut; b.jsonl is not read at all

        // One endless line: read up to the limit, then skipped.
        File.Delete(Path.Combine(CloudWatchDir, "b.jsonl"));
        File.WriteAllText(Path.Combine(CloudWatchDir, "a.jsonl"), new string('1', 2 * ProcessingJobRunner.MaxMetricBytes));
        Assert.Equal((0, 1), Publish());
    }

    [Fact]
    public void TheSchedulersMarkIsKeptWithTheJob()
    {
        var record = new ProcessingJobRecord(Job(byScheduler: true), new ProcessingJobState { LastModifiedTime = Now });
        var again = JsonSerializer.Deserialize(JsonSerializer.Serialize(record, ProcessingJson.Default.ProcessingJobRecord), ProcessingJson.Default.ProcessingJobRecord)!;
        Assert.Equal(record.Job.Monitor, again.Job.Monitor);
        Assert.Null(JsonSerializer.Deserialize(JsonSerializer.Serialize(record with { Job = Job(byScheduler: false) }, ProcessingJson.Default.ProcessingJobRecord),
            ProcessingJson.Default.ProcessingJobRecord)!.Job.Monitor);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "mkfifo")]
    static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
