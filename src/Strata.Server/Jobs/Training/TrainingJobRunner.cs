using System.Collections.Concurrent;
using System.Globalization;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Containers;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// Runs training jobs as SageMaker does, with a process for the container: the job's files are
/// laid out as SageMaker's <c>/opt/ml</c> (hyperparameters, input data config, resource config,
/// one directory per channel downloaded from S3 as the job's role, or in Pipe mode named pipes
/// the channel is streamed through (<see cref="PipeChannels"/>), model, output, checkpoints),
/// the container's command gets <c>train</c> and the <c>SM_*</c> variables of the SageMaker
/// training toolkit, its output goes to CloudWatch Logs (<c>/aws/sagemaker/TrainingJobs</c>,
/// stream <c>{job}/algo-1-{epoch}</c>) with the metric definitions' values recorded as metrics,
/// and when it exits the model directory becomes <c>{S3OutputPath}/{job}/output/model.tar.gz</c>.
/// A job of InstanceCount N runs N containers together, hosts <c>algo-1</c> … <c>algo-N</c> of a
/// <see cref="ContainerCluster"/> (they resolve each other by name), each with a directory of its
/// own as its <c>/opt/ml</c>, its own resourceconfig.json and log stream, and its share of each
/// ShardedByS3Key channel (<see cref="S3Shard"/>); the job completes when every host exits 0, fails
/// when one fails (the others are stopped), and its model.tar.gz holds every host's model directory.
/// With a CheckpointConfig, every host's <c>/opt/ml/checkpoints</c> goes to its S3Uri while the job
/// trains (<see cref="ContinuousUpload"/>: new and changed files, every few seconds) and at the end.
/// The container is a <see cref="JobContainer"/> (the sandbox, the log, the stop) and the S3
/// transfers are <see cref="JobTransfers"/>, both shared with processing jobs.
/// StopTrainingJob and MaxRuntimeInSeconds send SIGTERM, then SIGKILL 120 s later, as SageMaker
/// does; what the model directory holds by then is uploaded. A job interrupted by a server
/// restart starts again if it has a CheckpointConfig (its checkpoints restored from S3) and fails
/// with a reason saying so if not.
/// </summary>
public sealed class TrainingJobRunner(ITrainingJobs jobs, IJobStorage storage, ImageCatalogue images, MetricsStore metrics, TrainingOptions options,
    TimeProvider clock, ILogger<TrainingJobRunner> log) : IHostedService, IDisposable
{
    public const string LogGroup = "/aws/sagemaker/TrainingJobs";
    public const string MetricsNamespace = "/aws/sagemaker/TrainingJobs";
    const int FailureReasonLength = 1024;

    readonly JobRuns _runs = new(clock);
    readonly JobContainer _container = new(new JobContainerOptions { DataDir = options.DataDir, LogDir = options.LogDir, LogEvents = options.LogEvents }, clock, log);
    readonly JobTransfers _transfers = new(storage, options.WorkDir);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        RestoreAll();
        return Task.CompletedTask;
    }

    /// <summary>The server is stopping: containers are killed; their jobs start again (or fail,
    /// saying why) when the server next starts.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _runs.ShutdownAsync(cancellationToken);

    public void Dispose() => _runs.Dispose();

    public void Start(string account, string name) => _runs.Start(account, name, run => RunAsync(account, name, run));

    /// <summary>StopTrainingJob: Stopping now, Stopped once the container has gone and what it
    /// saved is uploaded.</summary>
    public void Stop(string account, string name)
    {
        jobs.Update(account, name, s => s.Status == "InProgress" ? Transition(s with { Status = "Stopping" }, "Stopping", "Stopping the training job") : s);
        if (_runs.Find(account, name) is { } run) run.StopRequested.TrySetResult("StopTrainingJob");
        else jobs.Update(account, name, s => s.Status == "Stopping" ? Ended(s, "Stopped", "Stopped", null) : s);
    }

    public void RestoreAll()
    {
        foreach (var (account, record) in jobs.All())
        {
            var state = record.State;
            if (state.Status == "Stopping") jobs.Update(account, record.Job.Name, s => Ended(s, "Stopped", "Stopped", null));
            else if (state.Status != "InProgress") continue;
            else if (record.Job.CheckpointS3Uri is not null && state.SecondaryStatus != "Uploading")
            {
                jobs.Update(account, record.Job.Name, s => Transition(s, "Restarting", "The server restarted: training starts again from the last checkpoint in " + record.Job.CheckpointS3Uri));
                Start(account, record.Job.Name);
            }
            else
                jobs.Update(account, record.Job.Name, s => Ended(s, "Failed", "Failed",
                    "InternalServerError: the Strata server restarted while the job was " + s.SecondaryStatus.ToLowerInvariant()
                    + (record.Job.CheckpointS3Uri is null ? "; the job has no CheckpointConfig to resume from." : ".")));
        }
    }

    TrainingJobState Transition(TrainingJobState s, string secondary, string message)
    {
        var now = clock.GetUtcNow();
        // The same status again says what it is doing now, as SageMaker's Starting does.
        if (s.SecondaryStatus == secondary && s.Transitions is [.., { EndTime: null } last])
            return s with { Transitions = [.. s.Transitions[..^1], last with { StatusMessage = message }], LastModifiedTime = now };
        var transitions = s.Transitions.Select(t => t.EndTime is null ? t with { EndTime = now } : t).ToList();
        transitions.Add(new TrainingStatusTransition(secondary, now, null, message));
        return s with { SecondaryStatus = secondary, Transitions = transitions, LastModifiedTime = now };
    }

    TrainingJobState Ended(TrainingJobState s, string status, string secondary, string? reason)
    {
        var message = secondary switch
        {
            "Completed" => "Training job completed",
            "MaxRuntimeExceeded" => "Job stopped because it ran longer than its MaxRuntimeInSeconds",
            "Stopped" => "Training job stopped",
            _ => "Training job failed. Reason: " + reason,
        };
        var ended = Transition(s, secondary, message);
        var now = clock.GetUtcNow();
        return ended with
        {
            Status = status,
            FailureReason = reason,
            TrainingEndTime = now,
            Transitions = ended.Transitions.Select(t => t.EndTime is null ? t with { EndTime = now } : t).ToList(),
        };
    }

    async Task RunAsync(string account, string name, JobRuns.Run run)
    {
        var ct = run.Token;
        var record = jobs.Get(account, name)!;
        // Stopped before it started (StopTrainingJob between CreateTrainingJob and here). A stop
        // that found this run registered but not yet running left the job Stopping for the run to end.
        if (record.State.Status != "InProgress")
        {
            jobs.Update(account, name, s => s.Status == "Stopping" ? Ended(s, "Stopped", "Stopped", null) : s);
            return;
        }
        var job = record.Job;
        var dir = Path.Combine(options.WorkDir, account, name);
        var hosts = ContainerCluster.HostNames(job.InstanceCount);
        var metricValues = new ConcurrentDictionary<string, HostMetric>(StringComparer.Ordinal);
        List<TrainingMetric> FinalMetrics() => [.. metricValues.Values.Select(m => m.Metric).OrderBy(m => m.MetricName, StringComparer.Ordinal)];
        try
        {
            if (Directory.Exists(dir))
            {
                // A run the server's death interrupted: what its hosts checkpointed on disk goes to
                // S3 first, so that this run starts from it.
                if (job.CheckpointS3Uri is { } uri)
                    foreach (var left in hosts.Select(h => Path.Combine(dir, h, "checkpoints")).Append(Path.Combine(dir, "checkpoints")).Where(Directory.Exists))
                        await _transfers.UploadDirectoryAsync(left, uri, job.OutputKmsKeyId, storage.AssumeRole(job.RoleArn), SaveCheckpoints, ct);
                Directory.Delete(dir, recursive: true);
            }
            // Each host's directory is its /opt/ml; the job's directory holds them (and the hosts file).
            var layouts = hosts.Select(h => JobLayout.Create(Path.Combine(dir, h))).ToList();
            jobs.Update(account, name, s => Transition(s with { TrainingStartTime = s.TrainingStartTime ?? clock.GetUtcNow() }, "Starting", "Preparing the instances for training"));
            var authorize = storage.AssumeRole(job.RoleArn);
            var (command, algorithm, script) = Command(job);

            jobs.Update(account, name, s => Transition(s, "Downloading", "Downloading input data"));
            await using var pipes = new PipeChannels(_transfers, options.Region, log);
            // The checkpoints each host restores are in S3 as they are: only what changes goes up again.
            var sent = new SentFiles();
            for (var host = 0; host < layouts.Count; host++)
            {
                var layout = layouts[host];
                foreach (var channel in job.Channels)
                    await DownloadChannelAsync(job, channel, layout.Data, authorize, pipes, ct, S3Shard.Of(channel.S3DataDistributionType, host, layouts.Count));
                if (job.CheckpointS3Uri is { } checkpoints)
                {
                    await _transfers.DownloadPrefixAsync(checkpoints, layout.Checkpoints, authorize, "Could not restore the checkpoints", ct);
                    foreach (var file in JobTransfers.RegularFiles(layout.Checkpoints)) sent.Record(file, SentFiles.Stamp(file));
                }
                if (script is not null) await DownloadSourceAsync(script, layout, authorize, ct);
                layout.WriteConfig(job, host);
            }

            jobs.Update(account, name, s => Transition(s, "Training", "Training image download completed. Training in progress."));
            var definitions = BuiltInAlgorithms.Compile(algorithm is null ? job.MetricDefinitions : BuiltInAlgorithms.Metrics(algorithm));
            var started = clock.GetUtcNow();
            JobEnd end;
            // A stop that came while the data was downloading ends the job before its containers start.
            if (run.StopRequested.Task.IsCompleted) end = Stopped(run.StopRequested.Task.Result);
            else
            {
                using var cluster = await ContainerCluster.StartAsync(dir, hosts.Count, job.EnableNetworkIsolation, ct);
                // The checkpoints go to S3 while the job trains, so that a server that dies loses little of them.
                var uploads = ContinuousUpload.Start(t => SaveCheckpointsAsync(job, layouts, authorize, sent, t), clock, ct, job.CheckpointS3Uri is not null);
                try
                {
                    var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                    // A Pipe channel that fails while streaming stops the containers too.
                    Forward(pipes.StopOr(run.StopRequested.Task), stop);
                    Forward(uploads.Failed, stop);
                    end = await RunHostsAsync(account, job, layouts, cluster, command, algorithm, script, definitions, metricValues, stop, ct);
                }
                finally { await uploads.DisposeAsync(); }
                // The job cannot keep its checkpoints: its containers were stopped, and the job fails saying why.
                uploads.ThrowIfFailed();
            }
            // The containers have gone: their pipes' writers end (a channel that failed fails the job).
            await pipes.EndAsync();
            if (pipes.Failure is { } failure) throw new TrainingException(failure);
            var ran = (int)Math.Max(1, Math.Ceiling((clock.GetUtcNow() - started).TotalSeconds));

            jobs.Update(account, name, s => Transition(s with { TrainingTimeInSeconds = ran, FinalMetrics = FinalMetrics() }, "Uploading", "Uploading generated training model"));
            if (job.CheckpointS3Uri is not null) await SaveCheckpointsAsync(job, layouts, authorize, sent, ct);
            var (bucket, prefix) = S3Location.Parse(job.OutputPath);
            var outputKey = $"{prefix}{(prefix.Length == 0 || prefix.EndsWith('/') ? "" : "/")}{name}/output/";
            string? artifacts = null;
            // A failed job's model is not uploaded (as in SageMaker); a stopped one's is. The hosts'
            // model directories go into one model.tar.gz, as SageMaker aggregates them.
            if (end.Status != "Failed")
            {
                await _transfers.UploadTarAsync([.. layouts.Select(l => l.Model)], bucket, outputKey + "model.tar.gz", job.OutputKmsKeyId, authorize, UploadOutput, ct);
                artifacts = $"s3://{bucket}/{outputKey}model.tar.gz";
            }
            if (layouts.Any(l => JobTransfers.RegularFiles(l.OutputData).Count > 0))
                await _transfers.UploadTarAsync([.. layouts.Select(l => l.OutputData)], bucket, outputKey + "output.tar.gz", job.OutputKmsKeyId, authorize, UploadOutput, ct);

            jobs.Update(account, name, s => Ended(s with { S3ModelArtifacts = artifacts }, end.Status, end.SecondaryStatus, end.FailureReason));
        }
        catch (OperationCanceledException) when (_runs.ShuttingDown)
        {
            // The server is stopping: the job stays InProgress, and RestoreAll decides its fate.
        }
        catch (Exception e)
        {
            var reason = e is JobException or HostingException ? e.Message : "InternalServerError: " + e.Message;
            if (e is not (JobException or HostingException)) log.LogError(e, "training job {Job} failed", name);
            jobs.Update(account, name, s => s.IsTerminal ? s : Ended(s with { FinalMetrics = FinalMetrics() }, "Failed", "Failed", reason));
        }
        finally
        {
            if (!_runs.ShuttingDown)
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>How a job's training ended: its status, secondary status and FailureReason.</summary>
    sealed record JobEnd(string Status, string SecondaryStatus, string? FailureReason);

    static JobEnd Stopped(string why) => new("Stopped", why == JobContainer.MaxRuntimeExceeded ? "MaxRuntimeExceeded" : "Stopped", null);

    /// <summary>A metric's latest value, from the first host that reports it (algo-1 if it does):
    /// the job's FinalMetricDataList, as the tuner reads algo-1's log.</summary>
    sealed record HostMetric(int Host, TrainingMetric Metric);

    /// <summary>Completes <paramref name="to"/> with <paramref name="from"/>'s reason, if it gives one.</summary>
    static void Forward(Task<string> from, TaskCompletionSource<string> to)
        => from.ContinueWith(t => to.TrySetResult(t.Result), CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Every host's checkpoints to the job's one CheckpointConfig.S3Uri, as SageMaker syncs
    /// them (one location for all hosts: scripts name their files apart), those not sent as they are now.</summary>
    async Task SaveCheckpointsAsync(TrainingJob job, IEnumerable<JobLayout> layouts, RoleAuthorizer authorize, SentFiles sent, CancellationToken ct)
    {
        foreach (var layout in layouts)
            await _transfers.UploadDirectoryAsync(layout.Checkpoints, job.CheckpointS3Uri!, job.OutputKmsKeyId, authorize, SaveCheckpoints, ct, sent);
    }

    /// <summary>Why a job's hosts are stopped when one of them failed.</summary>
    const string HostFailed = "HostFailed";

    /// <summary>Runs every host's container to its end, together: the job completes when all of
    /// them exit 0. The first that fails (or reaches MaxRuntimeInSeconds) stops the others, as
    /// <paramref name="stop"/> (StopTrainingJob, a failed checkpoint upload) stops them all: SIGTERM,
    /// then SIGKILL after the grace. A failed job's reason is the first failed host's.</summary>
    async Task<JobEnd> RunHostsAsync(string account, TrainingJob job, List<JobLayout> layouts, ContainerCluster cluster, List<string> command, string? algorithm,
        ScriptMode? script, List<(string Name, System.Text.RegularExpressions.Regex Pattern)> definitions, ConcurrentDictionary<string, HostMetric> metricValues,
        TaskCompletionSource<string> stop, CancellationToken ct)
    {
        var failed = -1;
        var exits = await Task.WhenAll(layouts.Select(async (layout, host) =>
        {
            var exit = await RunContainerAsync(account, job, layout, host, cluster, command, algorithm, script, definitions, metricValues, stop.Task, ct);
            if (exit.StoppedBy == JobContainer.MaxRuntimeExceeded) stop.TrySetResult(JobContainer.MaxRuntimeExceeded);
            else if (exit is { StoppedBy: null, ExitCode: not 0 } && stop.TrySetResult(HostFailed)) failed = host;
            return exit;
        }));
        if (!stop.Task.IsCompleted) return new JobEnd("Completed", "Completed", null);
        var why = await stop.Task;
        if (why != HostFailed) return Stopped(why);
        return new JobEnd("Failed", "Failed", FailureReason(layouts[failed], exits[failed].ExitCode, layouts.Count > 1 ? cluster.Hosts[failed] : null));
    }

    /// <summary>The container's command: the built-in algorithms' program; in script mode, the
    /// image catalogue's interpreter for the framework image with the user's entry point and its
    /// arguments; or the catalogue's command for the image (or the job's ContainerEntrypoint),
    /// with its arguments.</summary>
    (List<string> Command, string? Algorithm, ScriptMode? Script) Command(TrainingJob job)
    {
        if (BuiltInAlgorithms.Of(job.Image) is { } algorithm)
        {
            var program = Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll");
            if (!File.Exists(program)) throw new TrainingException($"InternalServerError: the built-in algorithms ({program}) are not installed beside the server");
            return ([WorkerProcess.DotnetHost(), program, "train"], algorithm, null);
        }
        if (job.ContainerEntrypoint is { Count: > 0 } entrypoint) return ([.. entrypoint, .. job.ContainerArguments ?? []], null, null);
        var command = images.CommandFor(job.Image)
            ?? throw new TrainingException($"ClientError: the training image {job.Image} is neither a built-in algorithm nor in the image catalogue (strata images add)");
        if (ScriptMode.Of(job.HyperParameters) is { } script)
            return ([.. command, script.Program, .. ScriptMode.Arguments(job.HyperParameters)], null, script);
        return ([.. command, .. job.ContainerArguments ?? ["train"]], null, null);
    }

    /// <summary>Script mode's source tarball, read as the job's role and unpacked into /opt/ml/code.</summary>
    async Task DownloadSourceAsync(ScriptMode script, JobLayout layout, RoleAuthorizer authorize, CancellationToken ct)
    {
        var (bucket, key) = S3Location.Parse(script.SubmitDirectory);
        // Staged outside the job's directory, which the container can write.
        var staged = Path.Combine(options.WorkDir, $".{Guid.NewGuid():N}.source");
        try
        {
            await _transfers.DownloadObjectAsync(bucket, key, staged, authorize, $"Could not read the source code {script.SubmitDirectory} ({ScriptMode.SubmitDirectoryKey})", ct);
            await using var tarball = File.OpenRead(staged);
            await ScriptMode.ExtractAsync(tarball, script.SubmitDirectory, tarball.Length, layout.Code, ct);
        }
        finally { File.Delete(staged); }
        if (!File.Exists(Path.Combine(layout.Code, script.Program)))
            throw new TrainingException($"ClientError: the entry point {script.Program} ({ScriptMode.ProgramKey}) is not in the source {script.SubmitDirectory}");
    }

    const string SaveCheckpoints = "Could not save the checkpoints";
    const string UploadOutput = "Could not upload the training job's output";

    /// <summary>A channel's data in <paramref name="dataDir"/> (a host's <c>/opt/ml/input/data</c>):
    /// in File mode downloaded into <c>&lt;channel&gt;/</c>; in Pipe mode streamed through
    /// <c>&lt;channel&gt;_&lt;epoch&gt;</c> by <paramref name="pipes"/>. In File mode the objects are
    /// downloaded as they are: RecordWrapperType and CompressionType are Pipe mode's (AWS: "In
    /// File mode, leave this field unset or set it to None"), and a ShuffleConfig changes nothing
    /// (SageMaker shuffles the list of files it downloads; a directory's files have no order a
    /// container could see). With <paramref name="shard"/>, a host's share of the objects (File mode).</summary>
    async Task DownloadChannelAsync(TrainingJob job, TrainingChannel channel, string dataDir, RoleAuthorizer authorize, PipeChannels pipes, CancellationToken ct, S3Shard shard)
    {
        if (PipeChannels.IsPipe(job, channel))
        {
            await pipes.StageAsync(job, channel, dataDir, authorize, ct);
            return;
        }
        var target = Path.Combine(dataDir, channel.Name);
        if (channel.S3DataType == "ManifestFile")
        {
            await _transfers.DownloadManifestAsync(channel.S3Uri, target, authorize, $"channel {channel.Name}", ct, shard);
            return;
        }
        var found = await _transfers.DownloadPrefixAsync(channel.S3Uri, target, authorize, $"Could not read the data of channel {channel.Name}", ct, shard);
        if (found == 0) throw JobTransfers.NoObjectsFound(channel.S3Uri, job.RoleArn, options.Region);
    }

    /// <summary>A failed host's /opt/ml/output/failure, or what its exit says (<paramref name="host"/> names it in a job of several).</summary>
    static string FailureReason(JobLayout layout, int exitCode, string? host)
        => JobTransfers.ReadText(layout.Root, Path.Combine(layout.Output, "failure"), FailureReasonLength)
            ?? $"AlgorithmError: the training container{(host is null ? "" : " of " + host)} exited with code {exitCode} and wrote no /opt/ml/output/failure; see the job's log";

    /// <summary>Runs host <paramref name="host"/>'s (from 0) container to its end; returns its exit
    /// code and, when it was stopped, why ("StopTrainingJob", "MaxRuntimeExceeded", "HostFailed").
    /// Its log lines are matched against the metric definitions as they come, each value recorded
    /// with the host's Host dimension (<c>{job}/algo-i</c>).</summary>
    Task<ContainerExit> RunContainerAsync(string account, TrainingJob job, JobLayout layout, int host, ContainerCluster cluster, List<string> command, string? algorithm,
        ScriptMode? script, List<(string Name, System.Text.RegularExpressions.Regex Pattern)> definitions, ConcurrentDictionary<string, HostMetric> metricValues,
        Task<string> stop, CancellationToken ct)
    {
        var root = JobContainer.Root(layout.Root);
        var hostName = cluster.Hosts[host];
        var contract = JobLayout.ContractEnvironment(job, root, options.Region, InstanceType.Find(job.InstanceType)?.Threads ?? 1, host);
        if (algorithm is not null) contract["STRATA_ALGORITHM"] = algorithm;
        if (script is not null)
            foreach (var (k, v) in script.Environment(job.HyperParameters, root + "/code")) contract[k] = v;
        // The values so far are the job's FinalMetricDataList while it trains (DescribeTrainingJob,
        // `strata jobs watch`, tuning's early stopping), written at most once a second.
        var written = DateTimeOffset.MinValue;
        void Metrics(DateTimeOffset at, string line)
        {
            var matched = false;
            foreach (var (name, pattern) in definitions)
            {
                try
                {
                    if (pattern.Match(line) is { Success: true, Groups.Count: > 1 } m
                        && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
                    {
                        var metric = new HostMetric(host, new TrainingMetric(name, value, at));
                        metricValues.AddOrUpdate(name, metric, (_, before) => host <= before.Host ? metric : before);
                        metrics.Record(account, MetricsNamespace, name, "None", value, ("Host", $"{job.Name}/{hostName}"));
                        matched = true;
                    }
                }
                catch (System.Text.RegularExpressions.RegexMatchTimeoutException) { }
            }
            if (matched && at - written >= TimeSpan.FromSeconds(1))
            {
                written = at;
                jobs.Update(account, job.Name, s => s.IsTerminal ? s : s with
                {
                    FinalMetrics = [.. metricValues.Values.Select(m => m.Metric).OrderBy(m => m.MetricName, StringComparer.Ordinal)],
                });
            }
        }
        return _container.RunAsync(account, new ContainerLaunch
        {
            JobName = job.Name,
            Host = hostName,
            Cluster = cluster,
            Kind = "training",
            LogGroup = LogGroup,
            JobDir = layout.Root,
            WorkingDirectory = "code",
            Command = command,
            Environment = job.Environment,
            ContractEnvironment = contract,
            EnableNetworkIsolation = job.EnableNetworkIsolation,
            MaxRuntime = TimeSpan.FromSeconds(job.MaxRuntimeInSeconds),
            OnLine = definitions.Count == 0 ? null : Metrics,
        }, stop, ct);
    }
}
