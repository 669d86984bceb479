using System.Text;
using System.Text.Json;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Containers;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Processing;

/// <summary>
/// Runs processing jobs as SageMaker does, with a process for the container (a
/// <see cref="JobContainer"/>, as training jobs run theirs): each S3 input is downloaded as the
/// job's role to its LocalPath (every object under an S3Prefix, or those a ManifestFile lists),
/// <c>/opt/ml/config/processingjobconfig.json</c> and <c>resourceconfig.json</c> are written, the
/// image catalogue's command runs (with AppSpecification's ContainerArguments, or its accepted
/// ContainerEntrypoint: <see cref="ContainerCommand"/>) with the job's Environment, its output goes
/// to CloudWatch Logs (<c>/aws/sagemaker/ProcessingJobs</c>, stream <c>{job}/algo-1-{epoch}</c>), and
/// each output's LocalPath goes to its S3Uri: at the end (EndOfJob), or every
/// <see cref="ContinuousUpload.Period"/> of the injected clock as files appear and change, and at
/// the end (Continuous). Exit code 0 is Completed, any other Failed (FailureReason from
/// <c>/opt/ml/output/failure</c>); the first KB of <c>/opt/ml/output/message</c> is the ExitMessage
/// whatever the end. StopProcessingJob and MaxRuntimeInSeconds send SIGTERM, then SIGKILL 120 s
/// later, and the job is Stopped with what its outputs hold by then uploaded; a failed job's
/// outputs are not uploaded (what a Continuous output sent stays). A job the server's restart
/// interrupted fails saying so: a processing job does not resume.
/// </summary>
public sealed class ProcessingJobRunner(IProcessingJobs jobs, IJobStorage storage, ImageCatalogue images, ProcessingOptions options,
    TimeProvider clock, ILogger<ProcessingJobRunner> log) : IHostedService, IDisposable
{
    public const string LogGroup = "/aws/sagemaker/ProcessingJobs";
    const int ExitMessageBytes = 1024;
    const int FailureReasonLength = 1024;
    const string UploadOutput = "Could not upload the processing job's output";

    readonly JobRuns _runs = new(clock);
    readonly JobContainer _container = new(options.Containers, clock, log);
    readonly JobTransfers _transfers = new(storage, options.WorkDir);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        RestoreAll();
        return Task.CompletedTask;
    }

    /// <summary>The server is stopping: containers are killed; their jobs fail, saying why, when
    /// the server next starts.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _runs.ShutdownAsync(cancellationToken);

    public void Dispose() => _runs.Dispose();

    public void Start(string account, string name) => _runs.Start(account, name, run => RunAsync(account, name, run));

    /// <summary>StopProcessingJob: Stopping now, Stopped once the container has gone and its outputs are uploaded.</summary>
    public void Stop(string account, string name)
    {
        jobs.Update(account, name, s => s.Status == "InProgress" ? s with { Status = "Stopping", LastModifiedTime = clock.GetUtcNow() } : s);
        if (_runs.Find(account, name) is { } run) run.StopRequested.TrySetResult("StopProcessingJob");
        else jobs.Update(account, name, s => s.Status == "Stopping" ? Ended(s, "Stopped", null) : s);
    }

    /// <summary>After a restart no job of the last run is running: one that was stopping is
    /// Stopped, one that was in progress Failed (its container died with the server).</summary>
    public void RestoreAll()
    {
        foreach (var (account, record) in jobs.All())
        {
            var status = record.State.Status;
            if (status == "Stopping") jobs.Update(account, record.Job.Name, s => Ended(s, "Stopped", null));
            else if (status == "InProgress")
                jobs.Update(account, record.Job.Name, s => Ended(s, "Failed",
                    "InternalServerError: the Strata server restarted while the processing job was running; a processing job does not resume: create it again under a new name."));
            else continue;
            TryDelete(JobDir(account, record.Job.Name));
        }
    }

    ProcessingJobState Ended(ProcessingJobState s, string status, string? reason, string? exitMessage = null)
    {
        var now = clock.GetUtcNow();
        return s with { Status = status, FailureReason = reason, ExitMessage = exitMessage ?? s.ExitMessage, ProcessingEndTime = now, LastModifiedTime = now };
    }

    string JobDir(string account, string name) => Path.Combine(options.WorkDir, account, name);

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    async Task RunAsync(string account, string name, JobRuns.Run run)
    {
        var ct = run.Token;
        var record = jobs.Get(account, name)!;
        // Stopped before it started (StopProcessingJob between CreateProcessingJob and here). A stop
        // that found this run registered but not yet running left the job Stopping for the run to end.
        if (record.State.Status != "InProgress")
        {
            jobs.Update(account, name, s => s.Status == "Stopping" ? Ended(s, "Stopped", null) : s);
            return;
        }
        var job = record.Job;
        var dir = JobDir(account, name);
        string? exitMessage = null;
        try
        {
            TryDelete(dir);
            var layout = ProcessingLayout.Create(dir);
            jobs.Update(account, name, s => s with { ProcessingStartTime = s.ProcessingStartTime ?? clock.GetUtcNow(), LastModifiedTime = clock.GetUtcNow() });
            var authorize = storage.AssumeRole(job.RoleArn);
            var command = Command(job, layout);

            foreach (var input in job.Inputs ?? [])
            {
                if (input.AppManaged) continue;
                var target = layout.HostPath(input.LocalPath!);
                if (input.S3DataType == "ManifestFile")
                    await _transfers.DownloadManifestAsync(input.S3Uri, target, authorize, $"processing input {input.InputName}", ct);
                else if (await _transfers.DownloadPrefixAsync(input.S3Uri, target, authorize, $"Could not read the data of processing input {input.InputName}", ct) == 0)
                    throw JobTransfers.NoObjectsFound(input.S3Uri, job.RoleArn, options.Region);
            }
            var outputs = (job.Outputs ?? []).Where(o => !o.AppManaged).Select(o => (Dir: layout.HostPath(o.LocalPath!), Output: o)).ToList();
            foreach (var (outputDir, _) in outputs) Directory.CreateDirectory(outputDir);
            layout.WriteConfig(job);
            // A feature attribution analysis asks the endpoint's model, as the job's role, through a
            // socket bound before its container starts (the container's user gets it with the directory).
            // It is closed as soon as the container ends.
            var models = ExplainsModel(job) ? ModelChannel(account, job, layout, authorize, ct) : null;

            var sent = new SentFiles();
            var continuous = outputs.Where(o => o.Output.S3UploadMode == "Continuous").ToList();
            ContainerExit exit;
            ContinuousUpload? uploads = null;
            try
            {
                uploads = ContinuousUpload.Start(t => UploadAsync(continuous, job, authorize, sent, t), clock, ct, continuous.Count > 0);
                // A stop that came while the inputs were downloading ends the job before its container starts.
                exit = run.StopRequested.Task.IsCompleted ? new ContainerExit(0, run.StopRequested.Task.Result)
                    : await _container.RunAsync(account, Launch(job, layout, command), Task.WhenAny(run.StopRequested.Task, uploads.Failed).Unwrap(), ct);
            }
            finally
            {
                if (uploads is not null) await uploads.DisposeAsync();
                if (models is not null) await models.DisposeAsync();
            }
            // The job cannot keep its outputs: its container was stopped, and the job fails saying why.
            uploads!.ThrowIfFailed();

            exitMessage = ExitMessage(layout);
            // A failed container's outputs are not uploaded; a stopped one's are, as they are.
            if (exit.ExitCode == 0 || exit.StoppedBy is not null) await UploadAsync(outputs, job, authorize, sent, ct);
            // Once the job's outputs are where they go: what a container hands over as metrics never fails its job.
            if (exit.ExitCode == 0 && exit.StoppedBy is null && Metrics is not null && job.Monitor is not null)
            {
                try
                {
                    var (published, skipped) = PublishMonitoringMetrics(Metrics, account, job, layout.Output, clock.GetUtcNow());
                    if (skipped > 0) log.LogWarning("processing job {Job}: {Skipped} monitoring metric line(s) skipped: not a metric of its monitoring type that CloudWatch accepts", name, skipped);
                    log.LogDebug("processing job {Job} published {Count} monitoring metric(s)", name, published);
                }
                catch (Exception e)
                {
                    log.LogWarning(e, "processing job {Job}: its monitoring metrics were not published", name);
                }
            }
            jobs.Update(account, name, s =>
                exit.StoppedBy is not null ? Ended(s, "Stopped", null, exitMessage)
                : exit.ExitCode == 0 ? Ended(s, "Completed", null, exitMessage)
                : Ended(s, "Failed", FailureReason(layout, exit.ExitCode), exitMessage));
        }
        catch (OperationCanceledException) when (_runs.ShuttingDown)
        {
            // The server is stopping: the job stays InProgress, and RestoreAll decides its fate.
        }
        catch (Exception e)
        {
            var reason = e is JobException or HostingException ? e.Message : "InternalServerError: " + e.Message;
            if (e is not (JobException or HostingException)) log.LogError(e, "processing job {Job} failed", name);
            jobs.Update(account, name, s => s.IsTerminal ? s : Ended(s, "Failed", Truncate(reason), exitMessage));
        }
        finally
        {
            if (!_runs.ShuttingDown) TryDelete(dir);
        }
    }

    /// <summary>How a feature attribution analysis reaches the endpoint it monitors; the composition
    /// root sets it (the SageMaker Runtime's path, not captured and not in the endpoint's metrics).</summary>
    public Func<string, string, byte[], string, string, CancellationToken, Task<byte[]>>? InvokeEndpoint { get; set; }

    static bool ExplainsModel(ProcessingJob job) => RunsAnalyzer(job) && job.Monitor?.MonitoringType == "ModelExplainability";

    ModelChannelListener ModelChannel(string account, ProcessingJob job, ProcessingLayout layout, RoleAuthorizer authorize, CancellationToken ct)
    {
        var endpoint = job.Monitor!.EndpointName;
        var invoke = InvokeEndpoint ?? throw new JobException("InternalServerError: this server cannot reach endpoints from processing jobs");
        authorize("sagemaker:InvokeEndpoint", $"arn:aws:sagemaker:{options.Region}:{account}:endpoint/{endpoint.ToLowerInvariant()}",
            $"to compute the SHAP values, the analysis invokes the endpoint {endpoint}");
        return ModelChannelListener.Start(Path.Combine(layout.Config, Strata.Algorithms.Monitor.ModelChannel.SocketName),
            (body, contentType, accept, t) => invoke(account, endpoint, body, contentType, accept, t), log, ct);
    }

    /// <summary>The image catalogue's command, with AppSpecification's entry point and arguments;
    /// for SageMaker's model monitor analyzer, the built-in one (strata-algorithms analyze).</summary>
    List<string> Command(ProcessingJob job, ProcessingLayout layout)
    {
        if (RunsAnalyzer(job))
        {
            var program = Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll");
            if (!File.Exists(program)) throw new JobException($"InternalServerError: the built-in model monitor analyzer ({program}) is not installed beside the server");
            // Where /opt/ml is (the job's directory, unless the sandbox binds it there) goes on the
            // command line: the job's Environment, which its author writes, must not move it.
            List<string> analyze = [WorkerProcess.DotnetHost(), program, "analyze", "--opt-ml", JobContainer.Root(layout.Root)];
            if (ExplainsModel(job)) analyze.AddRange(["--model-socket", JobContainer.Root(layout.Root) + "/config/" + Strata.Algorithms.Monitor.ModelChannel.SocketName]);
            return analyze;
        }
        var catalogue = images.CommandFor(job.ImageUri)
            ?? throw new JobException($"ClientError: the processing image {job.ImageUri} is not in the image catalogue (strata images add)");
        // The entry point runs the job's own code in the catalogue's interpreter: only where that
        // code cannot reach the server's own files.
        if (job.ContainerEntrypoint is { Count: > 0 } && !JobContainer.Sandboxed)
            throw new JobException("ClientError: ContainerEntrypoint needs the server to run as root: the job's own script runs only in the sandbox, where it cannot reach the server's data directory");
        return ContainerCommand.Resolve(catalogue, job.ContainerEntrypoint, job.ContainerArguments);
    }

    /// <summary>Whether the job is the built-in analyzer's: the model monitor analyzer's image, or
    /// Clarify's as a ModelBias or ModelExplainability monitoring execution (anywhere else Clarify's image is the catalogue's).</summary>
    static bool RunsAnalyzer(ProcessingJob job)
        => Images.IsModelMonitorAnalyzer(job.ImageUri)
            || (Images.IsClarifyImage(job.ImageUri) && job.Monitor?.MonitoringType is "ModelBias" or "ModelExplainability");

    ContainerLaunch Launch(ProcessingJob job, ProcessingLayout layout, List<string> command) => new()
    {
        JobName = job.Name,
        Kind = "processing",
        LogGroup = LogGroup,
        JobDir = layout.Root,
        Command = command,
        RequestArguments = RunsAnalyzer(job) ? 0 : job.ContainerArguments?.Count ?? 0,
        Environment = job.Environment,
        ContractEnvironment = new Dictionary<string, string> { ["AWS_REGION"] = options.Region },
        EnableNetworkIsolation = job.EnableNetworkIsolation,
        MaxRuntime = TimeSpan.FromSeconds(job.EffectiveMaxRuntimeInSeconds),
    };

    /// <summary>The outputs' regular files to their S3Uri, those not sent as they are now.</summary>
    async Task UploadAsync(IEnumerable<(string Dir, ProcessingJobOutput Output)> outputs, ProcessingJob job, RoleAuthorizer authorize, SentFiles sent, CancellationToken ct)
    {
        foreach (var (outputDir, output) in outputs)
            await _transfers.UploadDirectoryAsync(outputDir, output.S3Uri, job.OutputKmsKeyId, authorize, $"{UploadOutput} {output.OutputName}", ct, sent);
    }

    /// <summary>Where a monitoring execution's metrics go (null: nowhere); the composition root sets it.</summary>
    public MetricsStore? Metrics { get; init; }

    /// <summary>The namespace SageMaker puts a data-quality monitoring execution's metrics in.</summary>
    public const string MonitoringNamespace = "aws/sagemaker/Endpoints/data-metrics";

    /// <summary>The namespace SageMaker puts a model-quality monitoring execution's metrics in (as
    /// the SageMaker Python SDK's model-quality dashboard and the developer guide name it).</summary>
    public const string ModelQualityNamespace = "aws/sagemaker/Endpoints/model-metrics";

    /// <summary>The metrics a model-quality analysis publishes: those of its problem type, as the
    /// SageMaker Python SDK's model-quality dashboard graphs them.</summary>
    static readonly HashSet<string> ModelQualityMetricNames =
    [
        "mae", "mse", "rmse", "r2",
        "accuracy", "precision", "recall", "f0_5", "f1", "f2", "auc", "au_prc",
        "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
        "accuracy_best_constant_classifier", "precision_best_constant_classifier", "recall_best_constant_classifier",
        "f0_5_best_constant_classifier", "f1_best_constant_classifier", "f2_best_constant_classifier",
        "weighted_precision", "weighted_recall", "weighted_f0_5", "weighted_f1", "weighted_f2",
        "weighted_precision_best_constant_classifier", "weighted_recall_best_constant_classifier",
        "weighted_f0_5_best_constant_classifier", "weighted_f1_best_constant_classifier", "weighted_f2_best_constant_classifier",
    ];

    /// <summary>The namespace SageMaker puts a model-bias monitoring execution's metrics in (the
    /// developer guide's "CloudWatch Metrics for Bias Drift Analysis").</summary>
    public const string ModelBiasNamespace = "aws/sagemaker/Endpoints/bias-metrics";

    /// <summary>The namespace SageMaker puts a feature attribution monitoring execution's metrics in
    /// (the developer guide's "CloudWatch Metrics for Feature Drift Analysis").</summary>
    public const string ModelExplainabilityNamespace = "aws/sagemaker/Endpoints/explainability-metrics";

    /// <summary>The dimensions a feature attribution metric carries beside Endpoint and MonitoringSchedule.</summary>
    static readonly string[] ModelExplainabilityDimensions = ["ExplainabilityMethod", "Label", "ValueType"];

    /// <summary>The metrics a model-bias analysis publishes: bias_metric_ and a Clarify metric's short name.</summary>
    static readonly HashSet<string> ModelBiasMetricNames =
        [.. Strata.Algorithms.Monitor.BiasMetrics.PreTraining.Concat(Strata.Algorithms.Monitor.BiasMetrics.PostTraining).Select(m => "bias_metric_" + m)];

    /// <summary>The dimensions a model-bias metric carries beside Endpoint and MonitoringSchedule,
    /// which say which stage, label and facet value it measures.</summary>
    static readonly string[] ModelBiasDimensions = ["BiasStage", "Label", "LabelValue", "Facet", "FacetValue"];

    /// <summary>CloudWatch's longest dimension value.</summary>
    const int MaxDimensionValueLength = 1024;

    static string Namespace(string monitoringType) => monitoringType switch
    {
        "ModelQuality" => ModelQualityNamespace,
        "ModelBias" => ModelBiasNamespace,
        "ModelExplainability" => ModelExplainabilityNamespace,
        _ => MonitoringNamespace,
    };

    /// <summary>Whether a metric name is one a monitoring execution of the type publishes.</summary>
    internal static bool IsMonitoringMetric(string monitoringType, string name) => monitoringType switch
    {
        "ModelQuality" => ModelQualityMetricNames.Contains(name),
        "ModelBias" => ModelBiasMetricNames.Contains(name),
        // A global SHAP value (feature_ and the feature's name) or the expected value.
        "ModelExplainability" => name == "expected_value" || (name.Length is > 8 and <= MaxMetricNameLength && name.StartsWith("feature_", StringComparison.Ordinal)),
        _ => name.Length <= MaxMetricNameLength && MonitoringMetricPrefixes.Any(p => name.Length > p.Length && name.StartsWith(p, StringComparison.Ordinal)),
    };

    /// <summary>What the server reads of a job's metric files: at most so many bytes in all, lines of
    /// at most so many bytes, and so many data.</summary>
    internal const int MaxMetricBytes = 1 << 20, MaxMetricLineBytes = 8 * 1024, MaxMetricData = 10_000;

    /// <summary>CloudWatch's longest MetricName.</summary>
    const int MaxMetricNameLength = 255;

    /// <summary>The metric names a data-quality analysis writes, each followed by a feature's name.</summary>
    static readonly string[] MonitoringMetricPrefixes = ["feature_baseline_drift_", "feature_non_null_", "feature_null_"];

    /// <summary>A monitoring execution's CloudWatch metrics, as its container hands them over (JSON
    /// lines in /opt/ml/output/metrics/cloudwatch/*.jsonl: MetricName, Timestamp in epoch seconds,
    /// Value), put in SageMaker's data-metrics namespace (model-metrics for a model-quality
    /// execution). Only a job the monitoring scheduler made (<see cref="ProcessingJob.Monitor"/>,
    /// never its Environment) publishes, and only its schedule's metrics: the dimensions are the
    /// schedule's Endpoint and MonitoringSchedule whatever the line says, the names those of its
    /// type's analysis, and each datum one
    /// PutMetricData would accept (a storable value, a time two weeks back to two hours ahead).
    /// Only regular files are read (<see cref="JobTransfers.RegularFiles"/>, never a link, FIFO or
    /// device), at most <see cref="MaxMetricBytes"/> of them; a line that is too long or is not
    /// such a datum is skipped. Returns how many were published and skipped.</summary>
    internal static (int Published, int Skipped) PublishMonitoringMetrics(MetricsStore metrics, string account, ProcessingJob job, string optMlOutput, DateTimeOffset now)
    {
        if (job.Monitor is not { } monitor) return (0, 0);
        var dir = Path.Combine(optMlOutput, "metrics", "cloudwatch");
        var dimensions = new KeyValuePair<string, string>[] { new("Endpoint", monitor.EndpointName), new("MonitoringSchedule", monitor.MonitoringScheduleName) };
        var ns = Namespace(monitor.MonitoringType);
        int published = 0, skipped = 0, budget = MaxMetricBytes;
        // The listing starts at /opt/ml/output, and find(1) never descends through a link: a
        // metrics or cloudwatch directory the container made a link lists nothing.
        var files = JobTransfers.RegularFiles(optMlOutput)
            .Where(f => Path.GetDirectoryName(f) == dir && f.EndsWith(".jsonl", StringComparison.Ordinal));
        foreach (var file in files)
        {
            if (budget == 0 || published == MaxMetricData) break;
            var (data, cut) = ReadAtMost(optMlOutput, file, budget);
            budget -= data.Length;
            var lines = new List<ReadOnlyMemory<byte>>();
            var rest = data.AsMemory();
            for (int newline; (newline = rest.Span.IndexOf((byte)'\n')) >= 0; rest = rest[(newline + 1)..]) lines.Add(rest[..newline]);
            // A last line the byte limit cut short is not read; one the file ends without a newline is.
            if (rest.Length > 0)
            {
                if (cut) skipped++;
                else lines.Add(rest);
            }
            foreach (var line in lines)
            {
                if (published == MaxMetricData) { skipped++; continue; }
                if (line.Span.Trim(" \t\r"u8).IsEmpty) continue;
                if (line.Length <= MaxMetricLineBytes && Datum(line, now, monitor.MonitoringType) is { } datum)
                {
                    metrics.Put(MetricKey.Of(account, ns, datum.Name, [.. dimensions, .. datum.Dimensions]), "None", datum.At, [(datum.Value, 1)], highResolution: false);
                    published++;
                }
                else skipped++;
            }
        }
        return (published, skipped);
    }

    /// <summary>Up to <paramref name="limit"/> bytes of a listed file (none when it cannot be opened
    /// as a regular file), and whether there was more.</summary>
    static (byte[] Data, bool Cut) ReadAtMost(string root, string path, int limit)
    {
        if (JobTransfers.OpenBeneath(root, path, FileAccess.Read) is not { } handle) return ([], false);
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        var buffer = new byte[Math.Min(limit, 64 * 1024)];
        using var data = new MemoryStream();
        try
        {
            int n;
            while (data.Length < limit && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - data.Length))) > 0) data.Write(buffer, 0, n);
            return (data.ToArray(), data.Length == limit && stream.Read(buffer, 0, 1) > 0);
        }
        catch (IOException)
        {
            // A FIFO put in the file's place since it was listed has nothing to give.
            return (data.ToArray(), false);
        }
    }

    /// <summary>One line's datum, when it is a metric of the monitoring type PutMetricData would accept.
    /// A model-bias line's own dimensions are kept when they are those a bias metric has (BiasStage,
    /// Label, LabelValue, Facet, FacetValue), each once, with a value CloudWatch takes; the line is
    /// skipped otherwise.</summary>
    static (string Name, DateTimeOffset At, double Value, List<KeyValuePair<string, string>> Dimensions)? Datum(ReadOnlyMemory<byte> line, DateTimeOffset now, string monitoringType)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("MetricName", out var n) || n.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("Timestamp", out var t) || t.ValueKind != JsonValueKind.Number || !t.TryGetInt64(out var seconds)
                || !root.TryGetProperty("Value", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var value))
                return null;
            var name = n.GetString()!;
            if (!IsMonitoringMetric(monitoringType, name)) return null;
            // Epoch seconds: a time in milliseconds lies far beyond the window (or beyond what a
            // DateTimeOffset holds), and is skipped with it.
            if (seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()) return null;
            var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            if (at < now - MetricsStore.AcceptedPast || at > now + MetricsStore.AcceptedFuture || !MetricsStore.IsStorable(value)) return null;
            var own = new List<KeyValuePair<string, string>>();
            var allowed = monitoringType switch { "ModelBias" => ModelBiasDimensions, "ModelExplainability" => ModelExplainabilityDimensions, _ => null };
            if (allowed is not null && root.TryGetProperty("Dimensions", out var dims) && dims.ValueKind == JsonValueKind.Array)
                foreach (var d in dims.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Object || !d.TryGetProperty("Name", out var dn) || dn.ValueKind != JsonValueKind.String
                        || !d.TryGetProperty("Value", out var dv) || dv.ValueKind != JsonValueKind.String)
                        return null;
                    var dimension = dn.GetString()!;
                    if (dimension is "Endpoint" or "MonitoringSchedule") continue;
                    var dimensionValue = dv.GetString()!;
                    if (!allowed.Contains(dimension) || own.Any(o => o.Key == dimension) || dimensionValue.Length is 0 or > MaxDimensionValueLength) return null;
                    own.Add(new(dimension, dimensionValue));
                }
            return (name, at, value, own);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The first KB of /opt/ml/output/message; the job fails when it is not UTF-8, as in SageMaker.</summary>
    static string? ExitMessage(ProcessingLayout layout)
    {
        try { return JobTransfers.ReadUtf8(layout.Root, Path.Combine(layout.Output, "message"), ExitMessageBytes); }
        catch (DecoderFallbackException) { throw new JobException("ClientError: /opt/ml/output/message is not UTF-8 encoded text"); }
    }

    static string FailureReason(ProcessingLayout layout, int exitCode)
        => JobTransfers.ReadText(layout.Root, Path.Combine(layout.Output, "failure"), FailureReasonLength)
            ?? $"AlgorithmError: the processing container exited with code {exitCode} and wrote no /opt/ml/output/failure; see the job's log";

    static string Truncate(string reason) => reason.Length > FailureReasonLength ? reason[..(FailureReasonLength - 3)] + "..." : reason;
}
