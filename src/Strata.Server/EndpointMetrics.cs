using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>`strata metrics ENDPOINT`: the numbers a person looks at first, per variant, over the
/// last minute — requests, errors, latency percentiles, utilization — read by the server from its
/// metrics store (the same data CloudWatch serves) and shown as a table that refreshes itself.</summary>
public static class EndpointMetrics
{
    /// <summary>The server side: one variant's last minute.</summary>
    public static JsonObject LastMinute(MetricsStore metrics, string account, string endpoint, string variant, int instances)
    {
        var now = metrics.Clock.GetUtcNow();
        var from = now.AddSeconds(-60);
        MetricBucket? Bucket(string ns, string name)
        {
            MetricBucket? total = null;
            foreach (var (_, b) in metrics.Read(MetricKey.Of(account, ns, name, [new("EndpointName", endpoint), new("VariantName", variant)]), from, now.AddSeconds(1), 1))
                (total ??= new MetricBucket()).Merge(b);
            return total;
        }
        const string sm = "AWS/SageMaker", host = "/aws/sagemaker/Endpoints";
        var latency = Bucket(sm, "ModelLatency");
        double? P(double q) => latency is null ? null : latency.Sketch?.Quantile(q, latency.Minimum, latency.Maximum) ?? latency.Minimum;
        return new JsonObject
        {
            ["account"] = account,
            ["variant"] = variant,
            ["instances"] = instances,
            ["invocations"] = Bucket(sm, "Invocations")?.Sum ?? 0,
            ["errors4xx"] = Bucket(sm, "Invocation4XXErrors")?.Sum ?? 0,
            ["errors5xx"] = Bucket(sm, "Invocation5XXErrors")?.Sum ?? 0,
            ["modelLatencyP50Micros"] = P(0.5),
            ["modelLatencyP99Micros"] = P(0.99),
            ["overheadLatencyAverageMicros"] = Bucket(sm, "OverheadLatency") is { SampleCount: > 0 } o ? o.Sum / o.SampleCount : null,
            ["cpuUtilization"] = Bucket(host, "CPUUtilization") is { SampleCount: > 0 } c ? c.Sum / c.SampleCount : null,
            ["memoryUtilization"] = Bucket(host, "MemoryUtilization") is { SampleCount: > 0 } m ? m.Sum / m.SampleCount : null,
            ["gpuUtilization"] = Bucket(host, "GPUUtilization") is { SampleCount: > 0 } g ? g.Sum / g.SampleCount : null,
            ["gpuMemoryUtilization"] = Bucket(host, "GPUMemoryUtilization") is { SampleCount: > 0 } gm ? gm.Sum / gm.SampleCount : null,
        };
    }

    /// <summary>The CLI side: the table, once or refreshed every 2 seconds until Ctrl-C.</summary>
    public static async Task<int> WatchAsync(string dataDir, string endpoint, bool once, CancellationToken ct)
    {
        var (code, answer) = await Chaos.FetchAsync(dataDir, HttpMethod.Get, "metrics", "?endpoint=" + Uri.EscapeDataString(endpoint));
        if (code != 0) return code;
        if (once)
        {
            AnsiConsole.Write(Table(endpoint, answer!));
            return 0;
        }
        await AnsiConsole.Live(Table(endpoint, answer!)).StartAsync(async live =>
        {
            while (!ct.IsCancellationRequested)
            {
                try { await Task.Delay(2000, ct); }
                catch (OperationCanceledException) { break; }
                (code, answer) = await Chaos.FetchAsync(dataDir, HttpMethod.Get, "metrics", "?endpoint=" + Uri.EscapeDataString(endpoint));
                if (code != 0) break;
                live.UpdateTarget(Table(endpoint, answer!));
            }
        });
        return code;
    }

    static Table Table(string endpoint, JsonNode answer)
    {
        var table = new Table().Title($"{Markup.Escape(endpoint)}: the last minute").Border(TableBorder.Rounded);
        var variants = answer["variants"]!.AsArray();
        // GPU columns only for an endpoint whose instances report GPUs.
        var gpus = variants.Any(v => v!["gpuUtilization"] is not null);
        string[] columns = ["variant", "instances", "invocations", "4XX", "5XX", "model p50 ms", "model p99 ms", "overhead ms", "CPU %", "memory %", .. gpus ? new[] { "GPU %", "GPU memory %" } : []];
        foreach (var column in columns)
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (var v in variants)
        {
            static string N(JsonNode? n, double scale = 1, string format = "0.##") => n is null ? "–" : (n.GetValue<double>() / scale).ToString(format, CultureInfo.InvariantCulture);
            string[] cells = [Markup.Escape(v!["variant"]!.GetValue<string>()), N(v["instances"]), N(v["invocations"], 1, "0"), N(v["errors4xx"], 1, "0"), N(v["errors5xx"], 1, "0"),
                N(v["modelLatencyP50Micros"], 1000, "0.###"), N(v["modelLatencyP99Micros"], 1000, "0.###"), N(v["overheadLatencyAverageMicros"], 1000, "0.###"),
                N(v["cpuUtilization"], 1, "0.#"), N(v["memoryUtilization"], 1, "0.#"), .. gpus ? new[] { N(v["gpuUtilization"], 1, "0.#"), N(v["gpuMemoryUtilization"], 1, "0.#") } : []];
            table.AddRow(cells);
        }
        return table;
    }
}
