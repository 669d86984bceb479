using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// The analyzer as a monitoring execution runs it (the environment SageMaker sets for the
/// processing job of a data-quality schedule): <c>dataset_format</c>
/// <c>{"sagemakerCaptureJson": …}</c>, <c>dataset_source</c> (the endpoint's captured data),
/// <c>start_time</c>/<c>end_time</c> (the window analysed), <c>baseline_constraints</c> and
/// <c>baseline_statistics</c> (files, optional), <c>output_path</c>. It writes the window's
/// statistics.json and, with a baseline, constraint_violations.json, and says in
/// /opt/ml/output/message "CompletedWithViolations: …" when there are violations, which the
/// execution's status is made from.
/// </summary>
public static class Monitoring
{
    public static void Run(Func<string, string?> env, TextWriter log, Func<string, string> hostPath, Action<string, byte[]> write)
    {
        var source = env("dataset_source") is { Length: > 0 } s ? s : throw new ClientError("the environment variable dataset_source is missing: set it to the LocalPath of the endpoint input");
        var output = env("output_path") is { Length: > 0 } o ? o : throw new ClientError("the environment variable output_path is missing: set it to the LocalPath of the monitoring output");
        var start = Time(env, "start_time");
        var end = Time(env, "end_time");

        Baseline? baseline = null;
        if (env("baseline_constraints") is { Length: > 0 } constraintsPath)
        {
            var constraintsFile = hostPath(constraintsPath);
            if (!File.Exists(constraintsFile)) throw new ClientError($"the baseline constraints {constraintsPath} do not exist: BaselineConfig.ConstraintsResource.S3Uri must name a constraints.json");
            string? statistics = null;
            if (env("baseline_statistics") is { Length: > 0 } statisticsPath)
            {
                var statisticsFile = hostPath(statisticsPath);
                if (!File.Exists(statisticsFile)) throw new ClientError($"the baseline statistics {statisticsPath} do not exist: BaselineConfig.StatisticsResource.S3Uri must name a statistics.json");
                statistics = File.ReadAllText(statisticsFile);
            }
            baseline = Baseline.Parse(File.ReadAllText(constraintsFile), statistics, "ConstraintsResource " + constraintsPath.Split('/')[^1], "StatisticsResource " + (env("baseline_statistics") ?? "").Split('/')[^1]);
        }

        var sourceDir = hostPath(source).TrimEnd('/');
        if (!Directory.Exists(sourceDir)) throw new ClientError($"Job inputs had no data: {source} holds no captured data");
        var files = Directory.EnumerateFiles(sourceDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Where(f => InWindow(f[sourceDir.Length..], start, end)).ToList();
        var names = baseline?.Constraints.Select(c => c.Name).ToList() ?? [];
        var statisticsOfWindow = DatasetStatistics.Compute(CaptureReader.Read(files, names, start, end));
        if (statisticsOfWindow.ItemCount == 0)
            throw new ClientError($"Job inputs had no data: the endpoint captured no requests between {Show(start)} and {Show(end)}");
        log.WriteLine($"Analyzed {statisticsOfWindow.ItemCount} captured record(s) of {files.Count} file(s) between {Show(start)} and {Show(end)}");

        var outputDir = hostPath(output);
        Directory.CreateDirectory(outputDir);
        write(Path.Combine(outputDir, "statistics.json"), MonitorReport.Statistics(statisticsOfWindow));
        if (baseline is null)
        {
            log.WriteLine("No baseline constraints: wrote statistics.json only");
            return;
        }
        var distances = new Dictionary<string, double>(StringComparer.Ordinal);
        var violations = ConstraintChecks.Evaluate(baseline, statisticsOfWindow, distances);
        // Strata's statistics beside AWS's checks never fail an execution that AWS's would pass.
        List<DriftStatistics.Feature>? drift = null;
        try
        {
            var byName = statisticsOfWindow.Features.ToDictionary(f => f.Name, StringComparer.Ordinal);
            drift = [.. baseline.Constraints.Select(c => baseline.Statistics.TryGetValue(c.Name, out var reference) && byName.TryGetValue(c.Name, out var current)
                ? DriftStatistics.Of(c.Name, reference, DriftStatistics.Observed(current)) : null).OfType<DriftStatistics.Feature>()];
        }
        catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException)
        {
            log.WriteLine($"Warning: the drift statistics were not computed ({e.Message})");
        }
        write(Path.Combine(outputDir, "constraint_violations.json"), ConstraintChecks.Report(violations, drift));
        if (env("publish_cloudwatch_metrics") != "Disabled" && baseline.Config.EmitMetrics)
        {
            var metrics = hostPath("/opt/ml/output/metrics/cloudwatch");
            Directory.CreateDirectory(metrics);
            write(Path.Combine(metrics, "cloudwatch_metrics.jsonl"), Metrics(statisticsOfWindow, distances, env("sagemaker_endpoint_name") ?? "",
                env("sagemaker_monitoring_schedule_name") ?? "", end ?? DateTimeOffset.UnixEpoch));
        }
        foreach (var v in violations) log.WriteLine($"  {v.ConstraintCheckType} {v.FeatureName}: {v.Description}");
        WriteMessage(hostPath, violations.Count);
    }

    /// <summary>/opt/ml/output/message as SageMaker's container says it, which the execution's
    /// status (CompletedWithViolations or Completed) is made from.</summary>
    internal static void WriteMessage(Func<string, string> hostPath, int violations)
    {
        var optMlOutput = hostPath("/opt/ml/output");
        Directory.CreateDirectory(optMlOutput);
        File.WriteAllText(Path.Combine(optMlOutput, "message"), violations > 0
            ? $"CompletedWithViolations: Job completed successfully with {violations} violations."
            : "Completed: Job completed successfully with no violations.");
    }

    /// <summary>The metrics SageMaker publishes of a data-quality execution (namespace
    /// aws/sagemaker/Endpoints/data-metrics), as a monitoring container hands them over: JSON lines
    /// in /opt/ml/output/metrics/cloudwatch, each a MetricName, Timestamp (epoch seconds),
    /// Dimensions (Endpoint, MonitoringSchedule) and Value. Per feature: feature_baseline_drift_,
    /// feature_non_null_ and feature_null_.</summary>
    public static byte[] Metrics(DatasetStatistics statistics, IReadOnlyDictionary<string, double> distances, string endpoint, string schedule, DateTimeOffset at)
    {
        var lines = new List<(string, double)>();
        foreach (var f in statistics.Features)
        {
            if (distances.TryGetValue(f.Name, out var distance)) lines.Add(("feature_baseline_drift_" + f.Name, distance));
            lines.Add(("feature_non_null_" + f.Name, f.Present));
            lines.Add(("feature_null_" + f.Name, statistics.ItemCount - f.Present));
        }
        return MetricLines(lines, endpoint, schedule, at);
    }

    /// <summary>An execution's metrics as a monitoring container hands them over
    /// (/opt/ml/output/metrics/cloudwatch), unless its environment says publish_cloudwatch_metrics
    /// Disabled: at metric_time, else the window's end.</summary>
    internal static void PublishMetrics(Func<string, string?> env, Func<string, string> hostPath, Action<string, byte[]> write,
        IEnumerable<(string Name, double Value, IReadOnlyList<(string Name, string Value)> Dimensions)> metrics)
    {
        if (env("publish_cloudwatch_metrics") == "Disabled") return;
        var dir = hostPath("/opt/ml/output/metrics/cloudwatch");
        Directory.CreateDirectory(dir);
        var at = ModelQuality.Time(env, "metric_time") ?? ModelQuality.Time(env, "end_time") ?? DateTimeOffset.UnixEpoch;
        write(Path.Combine(dir, "cloudwatch_metrics.jsonl"), MetricLines(metrics, env("sagemaker_endpoint_name") ?? "", env("sagemaker_monitoring_schedule_name") ?? "", at));
    }

    /// <summary>Metrics as a monitoring container hands them over: a JSON line each, at one time,
    /// with the Endpoint and MonitoringSchedule dimensions.</summary>
    internal static byte[] MetricLines(IEnumerable<(string Name, double Value)> metrics, string endpoint, string schedule, DateTimeOffset at)
        => MetricLines(metrics.Select(m => (m.Name, m.Value, (IReadOnlyList<(string, string)>)[])), endpoint, schedule, at);

    /// <summary>Metrics each with dimensions of its own after Endpoint and MonitoringSchedule (a bias
    /// metric's stage, label and facet).</summary>
    internal static byte[] MetricLines(IEnumerable<(string Name, double Value, IReadOnlyList<(string Name, string Value)> Dimensions)> metrics, string endpoint, string schedule, DateTimeOffset at)
    {
        using var buffer = new MemoryStream();
        foreach (var (name, value, own) in metrics)
        {
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("MetricName", name);
                w.WriteNumber("Timestamp", at.ToUnixTimeSeconds());
                w.WriteStartArray("Dimensions");
                foreach (var (n, v) in new[] { ("Endpoint", endpoint), ("MonitoringSchedule", schedule) }.Concat(own))
                {
                    w.WriteStartObject();
                    w.WriteString("Name", n);
                    w.WriteString("Value", v);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("Value", value);
                w.WriteEndObject();
            }
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }

    static DateTimeOffset? Time(Func<string, string?> env, string name)
    {
        if (env(name) is not { Length: > 0 } text) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
            : throw new ClientError($"the environment variable {name} is not an ISO 8601 time ({text})");
    }

    static string Show(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "any time";

    /// <summary>How far past its hour a capture file's records may reach: a file sits in the hour of
    /// its first record and gathers records until it is flushed (every minute, later when backed up).</summary>
    static readonly TimeSpan FileSpan = TimeSpan.FromMinutes(10);

    /// <summary>Whether a capture file's hour directory (…/yyyy/mm/dd/hh/file) may hold records of the
    /// window; a file outside that layout is read, its records filtered by their inference time.</summary>
    internal static bool InWindow(string relative, DateTimeOffset? start, DateTimeOffset? end)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 5) return true;
        if (!DateTimeOffset.TryParseExact(string.Join('/', parts[^5..^1]), "yyyy/MM/dd/HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var hour)) return true;
        return (start is null || hour.AddHours(1) + FileSpan > start) && (end is null || hour < end);
    }
}

/// <summary>The records of an endpoint's captured requests (SageMaker's capture JSON lines): each
/// line's <c>captureData.endpointInput</c>, its data as CSV (rows of fields, named by the baseline's
/// features in order, _cN past them) or JSON (an object, or an array of objects, flattened),
/// base64-decoded first when its encoding is BASE64; a record whose
/// <c>eventMetadata.inferenceTime</c> is outside the window is skipped.</summary>
public static class CaptureReader
{
    public static bool IsCaptureFormat(string? datasetFormat)
    {
        if (string.IsNullOrWhiteSpace(datasetFormat)) return false;
        try
        {
            using var doc = JsonDocument.Parse(datasetFormat);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("sagemakerCaptureJson", out _);
        }
        catch (JsonException) { return false; }
    }

    public static IEnumerable<IReadOnlyList<Field>> Read(IEnumerable<string> files, IReadOnlyList<string> names, DateTimeOffset? start, DateTimeOffset? end)
    {
        var record = new List<Field>();
        var fields = new List<string?>();
        foreach (var file in files)
        {
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                string? data, encoding, contentType;
                DateTimeOffset? inferenceTime = null;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    if (!root.TryGetProperty("captureData", out var capture) || !capture.TryGetProperty("endpointInput", out var input)) continue;
                    data = input.TryGetProperty("data", out var d) ? d.GetString() : null;
                    encoding = input.TryGetProperty("encoding", out var e) ? e.GetString() : null;
                    contentType = input.TryGetProperty("observedContentType", out var c) ? c.GetString() : null;
                    if (root.TryGetProperty("eventMetadata", out var meta) && meta.TryGetProperty("inferenceTime", out var t) && t.ValueKind == JsonValueKind.String
                        && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                        inferenceTime = at;
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    throw new ClientError($"line {number} of the captured file {Path.GetFileName(file)} is not a capture record ({e.Message})");
                }
                if (data is null) continue;
                if (inferenceTime is { } when && ((start is { } s && when < s) || (end is { } en && when >= en))) continue;
                if (encoding == "BASE64")
                {
                    try { data = Encoding.UTF8.GetString(Convert.FromBase64String(data)); }
                    catch (FormatException) { throw new ClientError($"line {number} of the captured file {Path.GetFileName(file)} has data that is not base64"); }
                    encoding = contentType is { } ct && ct.Contains("json", StringComparison.OrdinalIgnoreCase) ? "JSON" : "CSV";
                }
                if (encoding == "JSON")
                {
                    JsonDocument doc;
                    try { doc = JsonDocument.Parse(data); }
                    catch (JsonException) { throw new ClientError($"line {number} of the captured file {Path.GetFileName(file)} says JSON but its data is not JSON"); }
                    using (doc)
                    {
                        var items = doc.RootElement.ValueKind == JsonValueKind.Array ? [.. doc.RootElement.EnumerateArray()] : new List<JsonElement> { doc.RootElement };
                        foreach (var item in items.Where(i => i.ValueKind == JsonValueKind.Object))
                        {
                            record.Clear();
                            DatasetReader.Flatten(item, null, record);
                            yield return record;
                        }
                    }
                    continue;
                }
                var parser = new CsvParser(new StringReader(data), Path.GetFileName(file));
                while (parser.Next(fields))
                {
                    record.Clear();
                    for (var i = 0; i < fields.Count; i++) record.Add(new Field(i < names.Count ? names[i] : $"_c{i}", fields[i]));
                    yield return record;
                }
            }
        }
    }
}
