using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Hosting;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// Runs training jobs as SageMaker does, with a process for the container: the job's files are
/// laid out as SageMaker's <c>/opt/ml</c> (hyperparameters, input data config, resource config,
/// one directory per channel downloaded from S3 as the job's role, model, output, checkpoints),
/// the container's command gets <c>train</c> and the <c>SM_*</c> variables of the SageMaker
/// training toolkit, its output goes to CloudWatch Logs (<c>/aws/sagemaker/TrainingJobs</c>,
/// stream <c>{job}/algo-1-{epoch}</c>) with the metric definitions' values recorded as metrics,
/// and when it exits the model directory becomes <c>{S3OutputPath}/{job}/output/model.tar.gz</c>.
/// Where the server may (it runs as root), the container runs in a mount namespace of its own in
/// which the job's directory is <c>/opt/ml</c> and the server's data directory is hidden, and
/// with EnableNetworkIsolation in a network namespace of its own too.
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
    /// <summary>SageMaker's grace between SIGTERM and SIGKILL.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(120);
    const int FailureReasonLength = 1024;

    sealed class Run(CancellationTokenSource shutdown)
    {
        public CancellationTokenSource Cancel { get; } = shutdown;
        /// <summary>Completed with the reason when the job is to stop (StopTrainingJob).</summary>
        public TaskCompletionSource<string> StopRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly ConcurrentDictionary<(string Account, string Name), Run> _running = new();
    readonly ConcurrentDictionary<Task, bool> _runs = new();
    readonly CancellationTokenSource _shutdown = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        RestoreAll();
        return Task.CompletedTask;
    }

    /// <summary>The server is stopping: containers are killed; their jobs start again (or fail,
    /// saying why) when the server next starts.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _shutdown.CancelAsync();
        try { await Task.WhenAll(_runs.Keys).WaitAsync(TimeSpan.FromSeconds(10), clock, cancellationToken); }
        catch (TimeoutException) { }
        catch (OperationCanceledException) { }
    }

    public void Dispose() => _shutdown.Dispose();

    public void Start(string account, string name)
    {
        var run = new Run(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
        if (!_running.TryAdd((account, name), run)) return;
        var task = Task.Run(async () =>
        {
            try { await RunAsync(account, name, run); }
            finally
            {
                _running.TryRemove((account, name), out _);
                run.Cancel.Dispose();
            }
        });
        _runs[task] = true;
        _ = task.ContinueWith(t => _runs.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>StopTrainingJob: Stopping now, Stopped once the container has gone and what it
    /// saved is uploaded.</summary>
    public void Stop(string account, string name)
    {
        jobs.Update(account, name, s => s.Status == "InProgress" ? Transition(s with { Status = "Stopping" }, "Stopping", "Stopping the training job") : s);
        if (_running.TryGetValue((account, name), out var run)) run.StopRequested.TrySetResult("StopTrainingJob");
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

    async Task RunAsync(string account, string name, Run run)
    {
        var ct = run.Cancel.Token;
        var record = jobs.Get(account, name)!;
        // Stopped before it started (StopTrainingJob between CreateTrainingJob and here).
        if (record.State.Status != "InProgress") return;
        var job = record.Job;
        var dir = Path.Combine(options.WorkDir, account, name);
        var metricValues = new ConcurrentDictionary<string, TrainingMetric>(StringComparer.Ordinal);
        try
        {
            if (Directory.Exists(dir))
            {
                // A run the server's death interrupted: what it checkpointed on disk goes to S3
                // first, so that this run starts from it.
                var left = Path.Combine(dir, "checkpoints");
                if (job.CheckpointS3Uri is { } uri && Directory.Exists(left))
                    await UploadDirectoryAsync(left, uri, job.OutputKmsKeyId, storage.AssumeRole(job.RoleArn), ct);
                Directory.Delete(dir, recursive: true);
            }
            var layout = JobLayout.Create(dir);
            jobs.Update(account, name, s => Transition(s with { TrainingStartTime = s.TrainingStartTime ?? clock.GetUtcNow() }, "Starting", "Preparing the instances for training"));
            var authorize = storage.AssumeRole(job.RoleArn);
            var (command, algorithm) = Command(job);

            jobs.Update(account, name, s => Transition(s, "Downloading", "Downloading input data"));
            foreach (var channel in job.Channels)
                await DownloadChannelAsync(job, channel, Path.Combine(layout.Data, channel.Name), authorize, ct);
            if (job.CheckpointS3Uri is { } checkpoints) await DownloadPrefixAsync(checkpoints, layout.Checkpoints, authorize, "Could not restore the checkpoints", ct);
            layout.WriteConfig(job);

            jobs.Update(account, name, s => Transition(s, "Training", "Training image download completed. Training in progress."));
            var definitions = BuiltInAlgorithms.Compile(algorithm is null ? job.MetricDefinitions : BuiltInAlgorithms.Metrics(algorithm));
            var started = clock.GetUtcNow();
            // A stop that came while the data was downloading ends the job before its container starts.
            var (exitCode, stoppedBy) = run.StopRequested.Task.IsCompleted ? (0, run.StopRequested.Task.Result)
                : await RunContainerAsync(account, job, layout, command, algorithm, definitions, metricValues, run, ct);
            var ran = (int)Math.Max(1, Math.Ceiling((clock.GetUtcNow() - started).TotalSeconds));

            jobs.Update(account, name, s => Transition(s with { TrainingTimeInSeconds = ran, FinalMetrics = [.. metricValues.Values.OrderBy(m => m.MetricName, StringComparer.Ordinal)] },
                "Uploading", "Uploading generated training model"));
            if (job.CheckpointS3Uri is { } checkpointUri) await UploadDirectoryAsync(layout.Checkpoints, checkpointUri, job.OutputKmsKeyId, authorize, ct);
            var (bucket, prefix) = S3Location.Parse(job.OutputPath);
            var outputKey = $"{prefix}{(prefix.Length == 0 || prefix.EndsWith('/') ? "" : "/")}{name}/output/";
            string? artifacts = null;
            // A failed container's model is not uploaded (as in SageMaker); a stopped one's is.
            if (exitCode == 0 || stoppedBy is not null)
            {
                await UploadTarAsync(layout.Model, bucket, outputKey + "model.tar.gz", job.OutputKmsKeyId, authorize, ct);
                artifacts = $"s3://{bucket}/{outputKey}model.tar.gz";
            }
            if (RegularFiles(layout.OutputData).Any())
                await UploadTarAsync(layout.OutputData, bucket, outputKey + "output.tar.gz", job.OutputKmsKeyId, authorize, ct);

            jobs.Update(account, name, s =>
            {
                s = s with { S3ModelArtifacts = artifacts };
                if (stoppedBy is not null) return Ended(s, "Stopped", stoppedBy == "MaxRuntimeExceeded" ? "MaxRuntimeExceeded" : "Stopped", null);
                if (exitCode == 0) return Ended(s, "Completed", "Completed", null);
                return Ended(s, "Failed", "Failed", FailureReason(layout, exitCode));
            });
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // The server is stopping: the job stays InProgress, and RestoreAll decides its fate.
        }
        catch (Exception e)
        {
            var reason = e is JobException or HostingException ? e.Message : "InternalServerError: " + e.Message;
            if (e is not (JobException or HostingException)) log.LogError(e, "training job {Job} failed", name);
            jobs.Update(account, name, s => s.IsTerminal ? s : Ended(s with { FinalMetrics = [.. metricValues.Values] }, "Failed", "Failed", reason));
        }
        finally
        {
            if (!_shutdown.IsCancellationRequested)
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The container's command: the built-in algorithms' program, or the image
    /// catalogue's command for the image (or the job's ContainerEntrypoint), with its arguments.</summary>
    (List<string> Command, string? Algorithm) Command(TrainingJob job)
    {
        if (BuiltInAlgorithms.Of(job.Image) is { } algorithm)
        {
            var program = Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll");
            if (!File.Exists(program)) throw new TrainingException($"InternalServerError: the built-in algorithms ({program}) are not installed beside the server");
            return ([WorkerProcess.DotnetHost(), program, "train"], algorithm);
        }
        if (job.ContainerEntrypoint is { Count: > 0 } entrypoint) return ([.. entrypoint, .. job.ContainerArguments ?? []], null);
        var command = images.CommandFor(job.Image)
            ?? throw new TrainingException($"ClientError: the training image {job.Image} is neither a built-in algorithm nor in the image catalogue (strata images add)");
        return ([.. command, .. job.ContainerArguments ?? ["train"]], null);
    }

    async Task DownloadChannelAsync(TrainingJob job, TrainingChannel channel, string target, RoleAuthorizer authorize, CancellationToken ct)
    {
        Directory.CreateDirectory(target);
        if (channel.S3DataType == "ManifestFile")
        {
            var (bucket, key) = S3Location.Parse(channel.S3Uri);
            authorize("s3:GetObject", $"arn:aws:s3:::{bucket}/{key}", $"Could not read the manifest of channel {channel.Name}");
            JsonArray manifest;
            await using (var body = storage.OpenRead(bucket, key, (a, r) => authorize(a, r, $"Could not read the manifest of channel {channel.Name}"))
                ?? throw new TrainingException($"ClientError: the manifest {channel.S3Uri} of channel {channel.Name} does not exist"))
            {
                try { manifest = JsonNode.Parse(body) as JsonArray ?? throw new JsonException("not an array"); }
                catch (JsonException e) { throw new TrainingException($"ClientError: the manifest {channel.S3Uri} is not a JSON array: {e.Message}"); }
            }
            if (manifest is not [JsonObject { } head, ..] || head["prefix"]?.GetValue<string>() is not { } manifestPrefix)
                throw new TrainingException($"ClientError: the manifest {channel.S3Uri} must start with {{\"prefix\": \"s3://…\"}}");
            var (prefixBucket, prefixKey) = S3Location.Parse(manifestPrefix);
            foreach (var entry in manifest.Skip(1))
            {
                var relative = entry?.GetValue<string>() ?? throw new TrainingException($"ClientError: the manifest {channel.S3Uri} lists a non-string entry");
                await DownloadObjectAsync(prefixBucket, prefixKey + relative, SafePath(target, relative), authorize, $"Could not read the data of channel {channel.Name}", ct);
            }
            return;
        }
        var found = await DownloadPrefixAsync(channel.S3Uri, target, authorize, $"Could not read the data of channel {channel.Name}", ct);
        if (found == 0)
        {
            var (bucket, _) = S3Location.Parse(channel.S3Uri);
            throw new TrainingException($"ClientError: No S3 objects found under S3 URL \"{channel.S3Uri}\" given in input data source. Please ensure that the bucket exists in the selected region ({options.Region}), that objects exist under that S3 prefix, and that the role \"{job.RoleArn}\" has \"s3:ListBucket\" permissions on bucket \"{bucket}\".");
        }
    }

    /// <summary>Every object under an S3 prefix into <paramref name="target"/>, by its key below the
    /// prefix (an object named exactly by the prefix, by its file name); returns how many.</summary>
    async Task<int> DownloadPrefixAsync(string uri, string target, RoleAuthorizer authorize, string what, CancellationToken ct)
    {
        var (bucket, prefix) = S3Location.Parse(uri);
        authorize("s3:ListBucket", $"arn:aws:s3:::{bucket}", what);
        if (!storage.BucketExists(bucket)) return 0;
        var count = 0;
        string? after = null;
        while (true)
        {
            var page = storage.List(bucket, prefix, after, 1000);
            foreach (var (key, _) in page)
            {
                if (key.EndsWith('/')) continue;
                var relative = key.Length == prefix.Length ? key[(key.LastIndexOf('/') + 1)..] : key[prefix.Length..].TrimStart('/');
                await DownloadObjectAsync(bucket, key, SafePath(target, relative), authorize, what, ct);
                count++;
            }
            if (page.Count < 1000) return count;
            after = page[^1].Key;
        }
    }

    async Task DownloadObjectAsync(string bucket, string key, string path, RoleAuthorizer authorize, string what, CancellationToken ct)
    {
        authorize("s3:GetObject", $"arn:aws:s3:::{bucket}/{key}", what);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var body = storage.OpenRead(bucket, key, (a, r) => authorize(a, r, what))
            ?? throw new TrainingException($"ClientError: {what}: s3://{bucket}/{key} does not exist");
        await using var file = File.Create(path);
        await body.CopyToAsync(file, ct);
    }

    /// <summary>A path below <paramref name="root"/>: keys with ".." cannot write elsewhere.</summary>
    static string SafePath(string root, string relative)
    {
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (!full.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new TrainingException($"ClientError: the object key {relative} leaves the channel's directory");
        return full;
    }

    async Task UploadDirectoryAsync(string dir, string uri, string? kmsKeyId, RoleAuthorizer authorize, CancellationToken ct)
    {
        var (bucket, prefix) = S3Location.Parse(uri);
        var root = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        foreach (var file in RegularFiles(dir))
        {
            var key = root + Path.GetRelativePath(dir, file).Replace(Path.DirectorySeparatorChar, '/');
            authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}", "Could not save the checkpoints");
            await using var content = File.OpenRead(file);
            await storage.PutAsync(bucket, key, content, "application/octet-stream", kmsKeyId, (a, r) => authorize(a, r, "Could not save the checkpoints"), ct);
        }
    }

    async Task UploadTarAsync(string dir, string bucket, string key, string? kmsKeyId, RoleAuthorizer authorize, CancellationToken ct)
    {
        const string what = "Could not upload the training job's output";
        authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}", what);
        // Staged where the container never could write (its whole tree is the job directory).
        var staged = Path.Combine(options.WorkDir, $".{Guid.NewGuid():N}.staging");
        await using (var file = File.Create(staged))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var path in RegularFiles(dir))
                await tar.WriteEntryAsync(path, Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/'), ct);
        }
        await using (var content = File.OpenRead(staged))
            await storage.PutAsync(bucket, key, content, "application/x-tar", kmsKeyId, (a, r) => authorize(a, r, what), ct);
        File.Delete(staged);
    }

    /// <summary>The plain files under a directory the container wrote (or the path itself, when it
    /// is one), in ordinal order: never a symbolic link (which would make the server read its
    /// target, as root), a FIFO or a device (which would block it or never end). find(1) tells
    /// file types apart, which .NET's file APIs do not.</summary>
    static List<string> RegularFiles(string path)
    {
        if (!Path.Exists(path)) return [];
        var find = new ProcessStartInfo("/usr/bin/find") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-P", path, "-type", "f", "-print0" }) find.ArgumentList.Add(arg);
        using var process = Process.Start(find)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return [.. output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    static string FailureReason(JobLayout layout, int exitCode)
    {
        var failure = Path.Combine(layout.Output, "failure");
        if (RegularFiles(failure) is [_])
        {
            using var reader = new StreamReader(File.OpenRead(failure));
            var buffer = new char[FailureReasonLength];
            var text = new string(buffer, 0, reader.ReadBlock(buffer, 0, buffer.Length)).Trim();
            if (text.Length > 0) return text;
        }
        return $"AlgorithmError: the training container exited with code {exitCode} and wrote no /opt/ml/output/failure; see the job's log";
    }

    /// <summary>Runs the container to its end; returns its exit code and, when it was stopped,
    /// why ("StopTrainingJob", "MaxRuntimeExceeded").</summary>
    async Task<(int ExitCode, string? StoppedBy)> RunContainerAsync(string account, TrainingJob job, JobLayout layout, List<string> command, string? algorithm,
        List<(string Name, System.Text.RegularExpressions.Regex Pattern)> definitions, ConcurrentDictionary<string, TrainingMetric> metricValues, Run run, CancellationToken ct)
    {
        var sandboxed = Environment.IsPrivilegedProcess && File.Exists("/usr/bin/unshare") && File.Exists("/usr/bin/setpriv");
        if (job.EnableNetworkIsolation && !sandboxed)
            throw new TrainingException("ClientError: EnableNetworkIsolation needs the server to run as root: the container starts in a network namespace of its own (unshare --net)");
        // In its own mount namespace the container sees the job's directory as /opt/ml and no data directory.
        var root = sandboxed ? "/opt/ml" : layout.Root;
        // The job's own Environment is applied by env(1) as the container starts, never to the
        // wrapper that runs as root before it (LD_PRELOAD, PATH). In the sandbox the container
        // keeps uid 0 but no capability (securebits noroot, an empty bounding set, no new
        // privileges): it cannot unmount what hides the data directory, nor reach the server's
        // files through /proc.
        List<string> userEnvironment = [.. job.Environment.Select(kv => $"{kv.Key}={kv.Value}")];
        List<string> argv = ["/usr/bin/env", .. userEnvironment, .. command];
        if (sandboxed)
            argv = ["/usr/bin/unshare", "--mount", "--propagation", "private", .. job.EnableNetworkIsolation ? new[] { "--net" } : [], "--", "/bin/sh", "-c",
                "/bin/mkdir -p /opt/ml && /bin/mount --bind \"$STRATA_JOB_DIR\" /opt/ml && /bin/mount -t tmpfs -o size=1m,mode=0700 strata-hidden \"$STRATA_DATA_DIR\" && cd /opt/ml/code"
                + " && exec /usr/bin/setpriv --securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked"
                + " --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs -- \"$@\"",
                "strata-training", .. argv];
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = layout.Code,
        };
        foreach (var arg in argv.Skip(1)) psi.ArgumentList.Add(arg);
        foreach (var (k, v) in JobLayout.ContractEnvironment(job, root, options.Region, InstanceType.Find(job.InstanceType)?.Threads ?? 1)) psi.Environment[k] = v;
        psi.Environment["STRATA_JOB_DIR"] = layout.Root;
        psi.Environment["STRATA_DATA_DIR"] = Path.GetFullPath(options.DataDir);
        if (algorithm is not null) psi.Environment["STRATA_ALGORITHM"] = algorithm;

        var started = clock.GetUtcNow();
        var stream = $"{job.Name}/algo-1-{started.ToUnixTimeSeconds()}";
        var logFile = Path.Combine(options.LogDir, "aws", "sagemaker", "TrainingJobs", job.Name + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        using var writer = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var writing = new Lock();
        void Line(string? line)
        {
            if (line is null) return;
            // Runs on the process's reader thread: an exception here would end the server.
            try { Record(line); }
            catch (Exception e) { log.LogWarning(e, "training job {Job}: a log line was not recorded", job.Name); }
        }
        void Record(string line)
        {
            var at = clock.GetUtcNow();
            lock (writing) writer.WriteLine(line);
            options.LogEvents?.Post(account, LogGroup, stream, at, line);
            foreach (var (name, pattern) in definitions)
            {
                try
                {
                    if (pattern.Match(line) is { Success: true, Groups.Count: > 1 } m
                        && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
                    {
                        metricValues[name] = new TrainingMetric(name, value, at);
                        metrics.Record(account, MetricsNamespace, name, "None", value, ("Host", $"{job.Name}/algo-1"));
                    }
                }
                catch (System.Text.RegularExpressions.RegexMatchTimeoutException) { }
            }
        }

        var runtime = TimeSpan.FromSeconds(job.MaxRuntimeInSeconds);
        Process process;
        try { process = Process.Start(psi) ?? throw new TrainingException("InternalServerError: the training container could not be started"); }
        catch (System.ComponentModel.Win32Exception e) { throw new TrainingException($"ClientError: the training container's command {psi.FileName} could not be started: {e.Message}"); }
        using var _ = process;
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var exited = process.WaitForExitAsync(ct);
        var left = runtime - (clock.GetUtcNow() - started);
        var limit = Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, clock, deadline.Token);
        string? stoppedBy = null;
        try
        {
            var first = await Task.WhenAny(exited, limit, run.StopRequested.Task);
            if (first != exited)
            {
                stoppedBy = first == limit ? "MaxRuntimeExceeded" : run.StopRequested.Task.Result;
                Signal(process.Id, 15);
                var grace = Task.Delay(StopGrace, clock, deadline.Token);
                if (await Task.WhenAny(exited, grace) != exited) process.Kill(entireProcessTree: true);
            }
            await exited;
        }
        catch
        {
            // The server stopping, or anything unforeseen: the container does not outlive its run.
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        finally { await deadline.CancelAsync(); }
        process.WaitForExit(); // the last output lines are read before the job moves on
        return (process.ExitCode, stoppedBy);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);

    /// <summary>SIGTERM, so that the container can save what it has (Process.Kill is SIGKILL).</summary>
    static void Signal(int pid, int signal) => _ = Kill(pid, signal);
}

/// <summary>An <c>s3://bucket/key</c> URI's parts.</summary>
public static class S3Location
{
    public static (string Bucket, string Key) Parse(string uri)
    {
        if (!uri.StartsWith("s3://", StringComparison.Ordinal) || uri.Length < 6) throw new TrainingException($"ClientError: {uri} is not an s3:// URI");
        var path = uri[5..];
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }
}
