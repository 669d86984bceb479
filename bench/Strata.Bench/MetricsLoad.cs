using System.Diagnostics;
using System.Globalization;
using System.Text;

/// <summary>
/// CloudWatch through a real `strata serve` (JSON 1.0, SigV4-signed by this generator, 4
/// connections): PutMetricData ingest in data points per second, against the same requests refused
/// after they are read and validated (an <c>AWS/</c> namespace), so the ratio is what storing costs;
/// and GetMetricData over one day of 1-second data (86 400 values: 1 440 minutes, and the last 3
/// hours at 1 second), against the same query of a metric with no data. Runs alternate
/// baseline and measured rows; the medians are reported.
/// </summary>
public static class MetricsLoad
{
    const int PerRequest = 1000, Connections = 4, Rounds = 3;

    public static async Task RunAsync(double seconds)
    {
        var dataDir = Directory.CreateTempSubdirectory("strata-metrics-bench-").FullName;
        var port = InvokeLoad.FreePort();
        var dll = Path.Combine(Path.GetDirectoryName(typeof(MetricsLoad).Assembly.Location)!, "strata.dll");
        using var server = InvokeLoad.Start("dotnet", [dll, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--tls-port", "0", "--data-dir", dataDir],
            new() { ["STRATA_ROOT_ACCESS_KEY_ID"] = InvokeLoad.KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = InvokeLoad.Secret });
        try
        {
            var endpoint = $"http://127.0.0.1:{port}";
            await InvokeLoad.WaitAsync($"{endpoint}/_strata/health");
            using var http = InvokeLoad.Client(Connections);
            var random = new Random(14);
            string Datum(int i, string? timestamp) => string.Create(CultureInfo.InvariantCulture,
                $"{{\"MetricName\":\"Latency\",\"Dimensions\":[{{\"Name\":\"Host\",\"Value\":\"h{i % 10}\"}}],\"Value\":{random.NextDouble() * 100:F3},\"StorageResolution\":1{(timestamp is null ? "" : $",\"Timestamp\":{timestamp}")}}}");
            byte[] Put(string ns) => Encoding.UTF8.GetBytes($"{{\"Namespace\":\"{ns}\",\"MetricData\":[{string.Join(',', Enumerable.Range(0, PerRequest).Select(i => Datum(i, null)))}]}}");
            var ingest = Put("Bench");
            var refused = Put("AWS/Bench");

            var rows = new Dictionary<string, List<double>>();
            void Add(string row, double value) => (rows.TryGetValue(row, out var l) ? l : rows[row] = []).Add(value);
            for (var round = 0; round < Rounds; round++)
            {
                Add("PutMetricData refused after reading (baseline)", PerRequest * await RateAsync(http, endpoint, "PutMetricData", refused, seconds, allowError: true));
                Add("PutMetricData stored", PerRequest * await RateAsync(http, endpoint, "PutMetricData", ingest, seconds, allowError: false));
            }

            // A day of 1-second data for one series, oldest first.
            var now = DateTimeOffset.UtcNow;
            var start = now.AddDays(-1).ToUnixTimeSeconds();
            var loaded = Stopwatch.StartNew();
            for (var batch = 0; batch < 86_400 / PerRequest + 1; batch++)
            {
                var data = Enumerable.Range(batch * PerRequest, PerRequest).Where(s => s < 86_400)
                    .Select(s => string.Create(CultureInfo.InvariantCulture, $"{{\"MetricName\":\"Day\",\"Value\":{s % 100},\"StorageResolution\":1,\"Timestamp\":{start + s}}}"));
                await InvokeLoad.Send(http, endpoint, "monitoring", "POST", "/", "application/x-amz-json-1.0",
                    Encoding.UTF8.GetBytes($"{{\"Namespace\":\"Bench\",\"MetricData\":[{string.Join(',', data)}]}}"), "GraniteServiceVersion20100801.PutMetricData");
            }
            Console.WriteLine($"loaded 86,400 one-second values in {loaded.Elapsed.TotalSeconds:F1} s");
            byte[] Query(string metric, int period, long from) => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"StartTime\":{from},\"EndTime\":{now.ToUnixTimeSeconds()},\"MetricDataQueries\":[{{\"Id\":\"m\",\"MetricStat\":{{\"Metric\":{{\"Namespace\":\"Bench\",\"MetricName\":\"{metric}\"}},\"Period\":{period},\"Stat\":\"p99\"}}}},{{\"Id\":\"e\",\"Expression\":\"m * 2\"}}]}}"));
            for (var round = 0; round < Rounds; round++)
            {
                Add("GetMetricData, 1 day at 60 s, no data (baseline)", await RateAsync(http, endpoint, "GetMetricData", Query("Nothing", 60, start), seconds, false));
                Add("GetMetricData, 1 day at 60 s (1,440 p99s + math)", await RateAsync(http, endpoint, "GetMetricData", Query("Day", 60, start), seconds, false));
                Add("GetMetricData, last 3 h at 1 s, no data (baseline)", await RateAsync(http, endpoint, "GetMetricData", Query("Nothing", 1, now.AddHours(-3).ToUnixTimeSeconds() + 60), seconds, false));
                Add("GetMetricData, last 3 h at 1 s (10,740 p99s + math)", await RateAsync(http, endpoint, "GetMetricData", Query("Day", 1, now.AddHours(-3).ToUnixTimeSeconds() + 60), seconds, false));
            }
            Console.WriteLine();
            Console.WriteLine("| row | rate (median of 3) | ÷ baseline |");
            Console.WriteLine("| --- | ---: | ---: |");
            double? baseline = null;
            foreach (var (row, values) in rows)
            {
                var median = values.Order().ElementAt(values.Count / 2);
                if (row.EndsWith("(baseline)", StringComparison.Ordinal)) baseline = median;
                var unit = row.StartsWith("Put", StringComparison.Ordinal) ? "data points/s" : "requests/s";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row} | {median:N0} {unit} | {median / baseline!.Value:F2} |"));
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            Directory.Delete(dataDir, true);
        }
    }

    /// <summary>Requests per second of one signed request sent over and over on every connection.</summary>
    static async Task<double> RateAsync(HttpClient http, string endpoint, string operation, byte[] body, double seconds, bool allowError)
    {
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var count = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < until)
            {
                await InvokeLoad.Send(http, endpoint, "monitoring", "POST", "/", "application/x-amz-json-1.0", body, $"GraniteServiceVersion20100801.{operation}", allowError);
                Interlocked.Increment(ref count);
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }
}
