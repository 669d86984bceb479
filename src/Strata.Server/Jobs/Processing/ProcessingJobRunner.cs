using System.Text;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Containers;

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
        // Stopped before it started (StopProcessingJob between CreateProcessingJob and here).
        if (record.State.Status != "InProgress") return;
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

            var sent = new SentFiles();
            var continuous = outputs.Where(o => o.Output.S3UploadMode == "Continuous").ToList();
            var uploads = ContinuousUpload.Start(t => UploadAsync(continuous, job, authorize, sent, t), clock, ct, continuous.Count > 0);
            ContainerExit exit;
            try
            {
                // A stop that came while the inputs were downloading ends the job before its container starts.
                exit = run.StopRequested.Task.IsCompleted ? new ContainerExit(0, run.StopRequested.Task.Result)
                    : await _container.RunAsync(account, Launch(job, layout, command), Task.WhenAny(run.StopRequested.Task, uploads.Failed).Unwrap(), ct);
            }
            finally { await uploads.DisposeAsync(); }
            // The job cannot keep its outputs: its container was stopped, and the job fails saying why.
            uploads.ThrowIfFailed();

            exitMessage = ExitMessage(layout);
            if (exit.ExitCode == 0 && exit.StoppedBy is null) PublishMonitoringMetrics(account, job, layout);
            // A failed container's outputs are not uploaded; a stopped one's are, as they are.
            if (exit.ExitCode == 0 || exit.StoppedBy is not null) await UploadAsync(outputs, job, authorize, sent, ct);
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

    /// <summary>The image catalogue's command, with AppSpecification's entry point and arguments;
    /// for SageMaker's model monitor analyzer, the built-in one (strata-algorithms analyze).</summary>
    List<string> Command(ProcessingJob job, ProcessingLayout layout)
    {
        if (Images.IsModelMonitorAnalyzer(job.ImageUri))
        {
            var program = Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll");
            if (!File.Exists(program)) throw new JobException($"InternalServerError: the built-in model monitor analyzer ({program}) is not installed beside the server");
            // Where /opt/ml is (the job's directory, unless the sandbox binds it there) goes on the
            // command line: the job's Environment, which its author writes, must not move it.
            return [WorkerProcess.DotnetHost(), program, "analyze", "--opt-ml", JobContainer.Root(layout.Root)];
        }
        var catalogue = images.CommandFor(job.ImageUri)
            ?? throw new JobException($"ClientError: the processing image {job.ImageUri} is not in the image catalogue (strata images add)");
        // The entry point runs the job's own code in the catalogue's interpreter: only where that
        // code cannot reach the server's own files.
        if (job.ContainerEntrypoint is { Count: > 0 } && !JobContainer.Sandboxed)
            throw new JobException("ClientError: ContainerEntrypoint needs the server to run as root: the job's own script runs only in the sandbox, where it cannot reach the server's data directory");
        return ContainerCommand.Resolve(catalogue, job.ContainerEntrypoint, job.ContainerArguments);
    }

    ContainerLaunch Launch(ProcessingJob job, ProcessingLayout layout, List<string> command) => new()
    {
        JobName = job.Name,
        Kind = "processing",
        LogGroup = LogGroup,
        JobDir = layout.Root,
        Command = command,
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
    public Storage.MetricsStore? Metrics { get; init; }

    /// <summary>A monitoring execution's CloudWatch metrics, as its container hands them over (JSON
    /// lines in /opt/ml/output/metrics/cloudwatch: MetricName, Timestamp in epoch seconds,
    /// Dimensions, Value), put in SageMaker's data-metrics namespace. Only a job a monitoring
    /// schedule started (its environment names the schedule) publishes; a line that does not parse
    /// is skipped and logged.</summary>
    void PublishMonitoringMetrics(string account, ProcessingJob job, ProcessingLayout layout)
    {
        const string Namespace = "aws/sagemaker/Endpoints/data-metrics";
        var dir = Path.Combine(layout.Output, "metrics", "cloudwatch");
        if (Metrics is null || !job.Environment.ContainsKey("sagemaker_monitoring_schedule_name") || !Directory.Exists(dir)) return;
        var published = 0;
        foreach (var file in Directory.EnumerateFiles(dir, "*.jsonl"))
            foreach (var line in File.ReadLines(file).Take(10_000))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    var dimensions = root.TryGetProperty("Dimensions", out var d)
                        ? d.EnumerateArray().Select(x => new KeyValuePair<string, string>(x.GetProperty("Name").GetString()!, x.GetProperty("Value").GetString()!)).ToList()
                        : [];
                    Metrics.Put(Storage.MetricKey.Of(account, Namespace, root.GetProperty("MetricName").GetString()!, dimensions), "None",
                        DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("Timestamp").GetInt64()), [(root.GetProperty("Value").GetDouble(), 1)], highResolution: false);
                    published++;
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
                {
                    log.LogWarning("processing job {Job}: a metric line of {File} is not a CloudWatch metric ({Error})", job.Name, Path.GetFileName(file), e.Message);
                }
            }
        log.LogDebug("processing job {Job} published {Count} monitoring metric(s)", job.Name, published);
    }

    /// <summary>The first KB of /opt/ml/output/message; the job fails when it is not UTF-8, as in SageMaker.</summary>
    static string? ExitMessage(ProcessingLayout layout)
    {
        try { return JobTransfers.ReadUtf8(Path.Combine(layout.Output, "message"), ExitMessageBytes); }
        catch (DecoderFallbackException) { throw new JobException("ClientError: /opt/ml/output/message is not UTF-8 encoded text"); }
    }

    static string FailureReason(ProcessingLayout layout, int exitCode)
        => JobTransfers.ReadText(Path.Combine(layout.Output, "failure"), FailureReasonLength)
            ?? $"AlgorithmError: the processing container exited with code {exitCode} and wrote no /opt/ml/output/failure; see the job's log";

    static string Truncate(string reason) => reason.Length > FailureReasonLength ? reason[..(FailureReasonLength - 3)] + "..." : reason;
}
