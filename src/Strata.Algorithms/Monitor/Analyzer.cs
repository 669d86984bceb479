using System.Diagnostics;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// SageMaker's model monitor analyzer image (<c>sagemaker-model-monitor-analyzer</c>) as a
/// processing container: configured by the environment the SageMaker Python SDK's
/// DefaultModelMonitor.suggest_baseline sets — <c>dataset_format</c>, <c>dataset_source</c> (a
/// directory, every file below it read), <c>output_path</c>, <c>publish_cloudwatch_metrics</c>
/// (a baseline publishes nothing), <c>categorical_drift_method</c> — it writes statistics.json and
/// constraints.json to output_path. A problem with the input is written to
/// <c>/opt/ml/output/failure</c> as "ClientError: …" saying what to fix, and the container exits 1.
/// Paths are the container's (<c>/opt/ml/…</c>): <paramref name="optMl"/> (the command line's
/// <c>--opt-ml</c>, which the server gives, never the job's environment, which the job's author
/// sets) says where /opt/ml is when the job runs outside the sandbox.
/// </summary>
public static class Analyzer
{
    /// <param name="modelSocket">Where a model-explainability analysis asks the endpoint's model
    /// (<see cref="ModelChannel"/>): the command line's <c>--model-socket</c>, which the server gives.</param>
    public static int Run(string optMl, Func<string, string?> env, TextWriter log, string? modelSocket = null)
    {
        optMl = optMl.TrimEnd('/');
        if (optMl.Length == 0) optMl = "/";
        try
        {
            Analyze(env, log, optMl, modelSocket);
            log.Flush();
            return 0;
        }
        catch (ClientError e)
        {
            return Fail(optMl, log, "ClientError: " + e.Message);
        }
        catch (Exception e)
        {
            return Fail(optMl, log, $"AlgorithmError: {e.Message} ({e.GetType().Name})");
        }
    }

    static void Analyze(Func<string, string?> env, TextWriter log, string optMl, string? modelSocket)
    {
        // Model bias and explainability are SageMaker Clarify's analyses (its image runs this program too).
        var analysis = env("analysis_type") is { Length: > 0 } a ? a : "DATA_QUALITY";
        if (analysis is not ("DATA_QUALITY" or "MODEL_QUALITY" or "MODEL_BIAS" or "MODEL_EXPLAINABILITY"))
            throw new ClientError($"analysis_type {analysis} is not supported by Strata's analyzer: it computes data quality (DATA_QUALITY), model quality (MODEL_QUALITY), model bias (MODEL_BIAS) and feature attribution (MODEL_EXPLAINABILITY)");
        foreach (var script in new[] { "record_preprocessor_script", "post_analytics_processor_script" })
            if (env(script) is { Length: > 0 })
                throw new ClientError($"{script} is not supported by Strata's analyzer (it runs no Python): give the dataset as the records to baseline, without the script");
        if (analysis == "MODEL_EXPLAINABILITY")
        {
            ModelExplainability.Run(env, log, path => HostPath(path, optMl, "the path"), Write, modelSocket);
            return;
        }
        if (analysis == "MODEL_BIAS")
        {
            ModelBias.Run(env, log, path => HostPath(path, optMl, "the path"), Write);
            return;
        }
        if (analysis == "MODEL_QUALITY")
        {
            ModelQuality.Run(env, log, path => HostPath(path, optMl, "the path"), Write, CaptureReader.IsCaptureFormat(env("dataset_format")));
            return;
        }
        // A monitoring execution's dataset is the endpoint's captured data, compared with a baseline.
        if (CaptureReader.IsCaptureFormat(env("dataset_format")))
        {
            Monitoring.Run(env, log, path => HostPath(path, optMl, "the path"), Write);
            return;
        }
        var format = DatasetFormat.Parse(env("dataset_format"));
        var drift = env("categorical_drift_method") ?? "LInfinity";
        if (drift is not ("LInfinity" or "ChiSquared"))
            throw new ClientError($"categorical_drift_method {drift} is not one of LInfinity, ChiSquared");
        var source = Required(env, "dataset_source", "/opt/ml/processing/input/baseline_dataset_input");
        var output = Required(env, "output_path", "/opt/ml/processing/output");
        var sourceDir = HostPath(source, optMl, "dataset_source").TrimEnd('/');
        var outputDir = HostPath(output, optMl, "output_path");
        if (!Directory.Exists(sourceDir))
            throw new ClientError($"dataset_source {source} is not a directory: it must be the LocalPath of the processing input that holds the dataset");

        var files = Directory.EnumerateFiles(sourceDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        string Display(string file) => source.TrimEnd('/') + file[sourceDir.Length..];
        log.WriteLine($"Analyzing {files.Count} file(s) under {source} as {(format.Csv ? $"CSV (header {format.Header.ToString().ToLowerInvariant()})" : $"JSON (lines {format.Lines.ToString().ToLowerInvariant()})")}");
        var started = Stopwatch.GetTimestamp();
        var statistics = DatasetStatistics.Compute(DatasetReader.Read(files, format, Display));
        if (statistics.ItemCount == 0)
            throw new ClientError($"the dataset under {source} has no records ({files.Count} file(s)){(format.Csv && format.Header ? ", only a header" : "")}: a baseline needs at least one record");
        log.WriteLine($"Analyzed {statistics.ItemCount} record(s), {statistics.Features.Count} feature(s) in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.###} s");

        Directory.CreateDirectory(outputDir);
        Write(Path.Combine(outputDir, "statistics.json"), MonitorReport.Statistics(statistics));
        Write(Path.Combine(outputDir, "constraints.json"), MonitorReport.Constraints(statistics, drift));
        log.WriteLine($"Wrote statistics.json and constraints.json to {output}");
        foreach (var f in statistics.Features) log.WriteLine($"  {f.Name}: {f.Type}, {f.Present} present");
    }

    static string Required(Func<string, string?> env, string name, string usual)
        => env(name) is { Length: > 0 } value ? value
            : throw new ClientError($"the environment variable {name} is missing: set it to the container's path of the {(name == "dataset_source" ? "dataset input" : "output")} (usually {usual}), as the SageMaker Python SDK's suggest_baseline does");

    /// <summary>A container path below /opt/ml, where it is on this machine.</summary>
    internal static string HostPath(string path, string optMl, string what)
    {
        var full = Path.GetFullPath(path);
        if (full != "/opt/ml" && !full.StartsWith("/opt/ml/", StringComparison.Ordinal))
            throw new ClientError($"{what} {path} is not below /opt/ml: it must name the LocalPath of a processing input or output (/opt/ml/processing/...)");
        return optMl + full["/opt/ml".Length..];
    }

    /// <summary>Written to a temporary name, then renamed: an upload never sees half a file.</summary>
    internal static void Write(string path, byte[] content)
    {
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, content);
        File.Move(tmp, path, overwrite: true);
    }

    static int Fail(string optMl, TextWriter log, string reason)
    {
        log.Flush();
        Console.Error.WriteLine(reason);
        try
        {
            var dir = Path.Combine(optMl, "output");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "failure"), reason);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 1;
    }
}
