using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Strata.Server.Hosting;
using Strata.Server.Jobs;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Transform;

/// <summary>
/// Runs batch transform jobs: starts the job's own instances (the same workers endpoints use),
/// reads every input object as the model's execution role, cuts it into records and mini-batches,
/// sends them with at most MaxConcurrentTransforms in flight per instance, and writes each
/// object's output in input order to <c>{S3OutputPath}/{relative path}.out</c>. Output is staged
/// in a local file and checkpointed after mini-batches (file length and batch count, after an
/// fsync), so a job resumes after a crash or restart where it was, and an object's .out appears
/// only whole (one atomic S3 put), never partial. A hosted service: on start it resumes the jobs
/// a stop interrupted; on stop it cancels the running ones (they resume on the next start).
/// </summary>
public sealed class TransformJobRunner(ITransformJobs jobs, TransformCheckpoints checkpoints, IJobStorage storage, IArtifactReader artifacts,
    ImageCatalogue images, MetricsStore metrics, TransformOptions options, TimeProvider clock, ILogger<TransformJobRunner> log) : IHostedService, IDisposable
{
    static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);
    static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a worker whose connection broke is given to be reaped before it is taken to be alive (a killed process is reaped in milliseconds).</summary>
    static readonly TimeSpan InstanceExitWait = TimeSpan.FromSeconds(5);
    readonly JobRuns _runs = new(clock);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        RestoreAll();
        return Task.CompletedTask;
    }

    /// <summary>The server is stopping: running jobs stop where they are (their checkpoints stay)
    /// and are given a moment to let go of their files and instances.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _runs.ShutdownAsync(cancellationToken);

    public void Dispose() => _runs.Dispose();

    /// <summary>Starts (or, after a restart, resumes) a job in the background.</summary>
    public void Start(string account, string name) => _runs.Start(account, name, run => RunAsync(account, name, run.Token));

    /// <summary>StopTransformJob: the job stops promptly; objects not finished get no output.</summary>
    public void Stop(string account, string name)
    {
        jobs.Update(account, name, j => j.Status == "InProgress" ? j with { Status = "Stopping", LastModifiedTime = clock.GetUtcNow() } : j);
        if (_runs.Find(account, name) is { } run) run.Cancel();
        else jobs.Update(account, name, j => j.Status == "Stopping" ? Ended(j, "Stopped", null) : j);
    }

    /// <summary>Jobs that were running when the server stopped carry on from their checkpoints.</summary>
    public void RestoreAll()
    {
        foreach (var (account, job) in jobs.All())
        {
            if (job.State.Status == "InProgress") Start(account, job.Name);
            else if (job.State.Status == "Stopping") jobs.Update(account, job.Name, j => Ended(j, "Stopped", null));
        }
    }

    TransformJobState Ended(TransformJobState job, string status, string? reason)
        => job with { Status = status, FailureReason = reason, EndTime = clock.GetUtcNow(), LastModifiedTime = clock.GetUtcNow() };

    sealed record InputObject(string Bucket, string Key, string Relative);

    async Task RunAsync(string account, string name, CancellationToken ct)
    {
        var job = jobs.Get(account, name)!;
        var started = Stopwatch.GetTimestamp();
        var instances = new List<WorkerProcess>();
        var everyInstance = new ConcurrentBag<WorkerProcess>(); // every instance ever started, replacements too
        var jobLog = Path.Combine(options.LogDir, "aws", "sagemaker", "TransformJobs", name);
        Directory.CreateDirectory(jobLog);
        var work = Path.Combine(options.WorkDir, account, name);
        Directory.CreateDirectory(work);
        long records = 0;
        var objectsDone = 0;
        // Each instance's metrics, with SageMaker's one dimension for job instances: Host, the
        // instance's id {job}/{instance}, which is also the name of its log stream. Sampling stops
        // (after a last sample) before the job's end is recorded and its working directory removed.
        using var utilization = new InstanceUtilization(metrics, clock, account, InstanceMetricsNamespace,
            now => everyInstance.Select(i => (i.Sample(now), new[] { ("Host", i.Id) })), log);
        try
        {
            job = jobs.Update(account, name, j => j with { StartTime = j.StartTime ?? clock.GetUtcNow() })!;
            var model = jobs.Model(account, job.ModelName);
            var authorize = storage.AssumeRole(model.ExecutionRoleArn ?? throw new TransformException($"the model {model.ModelName} has no ExecutionRoleArn"));

            var image = model.Image;
            var command = Images.IsBuiltIn(image) ? null : images.CommandFor(image) ?? throw new TransformException($"the image {image} is not in the image catalogue");
            var modelDir = model.ModelDataUrl is { } url
                ? await artifacts.PrepareAsync(model, url, requireOnnx: command is null, ct)
                : Directory.CreateTempSubdirectory("strata-nomodel-").FullName;
            var type = InstanceType.Find(job.InstanceType) ?? throw new TransformException($"unknown instance type {job.InstanceType}");
            // A GPU instance type that cannot run here fails the job before anything is read, as an endpoint's does.
            options.Gpus?.Check(type);

            var inputs = ListInputs(job, (a, r) => authorize(a, r, "Could not read the input"));
            jobs.Update(account, name, j => j with { Progress = new TransformProgress(inputs.Count, 0, 0) });

            var environment = new Dictionary<string, string>(model.Environment)
            {
                ["SAGEMAKER_BATCH"] = "true",
                ["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = job.MaxPayloadInMB.ToString(),
                ["SAGEMAKER_BATCH_STRATEGY"] = job.BatchStrategy == "MultiRecord" ? "MULTI_RECORD" : "SINGLE_RECORD",
                ["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = job.MaxConcurrentTransforms.ToString(),
            };
            foreach (var (k, v) in job.Environment ?? new Dictionary<string, string>()) environment[k] = v;
            foreach (var (k, v) in Images.ContainerEnvironment(image)) environment.TryAdd(k, v);
            async Task<WorkerProcess> StartInstance()
            {
                var instanceId = "i-" + Guid.NewGuid().ToString("N")[..17];
                // Each instance its own GPUs (the built-in worker then runs on CUDA), as an endpoint's.
                var gpus = options.Gpus?.For(type);
                var instanceEnvironment = new Dictionary<string, string>(environment);
                foreach (var (k, v) in gpus?.Environment ?? new Dictionary<string, string>()) instanceEnvironment[k] = v;
                var instance = await WorkerProcess.StartAsync($"{name}/{instanceId}", modelDir, options.RunDir, type, instanceEnvironment, HealthTimeout, ct,
                    new WorkerLog(Path.Combine(jobLog, instanceId + ".log"), account, TransformLogGroup, $"{name}/{instanceId}", options.LogEvents),
                    command, model.EnableNetworkIsolation, clock: clock, dataDir: options.DataDir,
                    volume: work, // DiskUtilization: the filesystem the job stages its output on
                    gpus: gpus?.Gpus);
                everyInstance.Add(instance);
                return instance;
            }
            var count = Math.Max(1, job.InstanceCount ?? 1);
            var starting = Enumerable.Range(0, count).Select(_ => StartInstance()).ToList();
            try { await Task.WhenAll(starting); }
            finally { instances.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result)); }

            var queue = Channel.CreateUnbounded<InputObject>();
            foreach (var input in inputs) queue.Writer.TryWrite(input);
            queue.Writer.Complete();
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Exception? failure = null;
            var processor = new RecordProcessor(job.InputFilter, job.OutputFilter, job.JoinSource, job.ContentType);
            var lanes = Enumerable.Range(0, instances.Count).Select(i => Task.Run(async () =>
            {
                var instance = instances[i];
                try
                {
                    await foreach (var input in queue.Reader.ReadAllAsync(failed.Token))
                    {
                        var (n, replaced) = await TransformObjectAsync(account, job, input, instance, StartInstance, processor, work,
                            (a, r) => authorize(a, r, $"Could not process {input.Bucket}/{input.Key}"), line => Summary(account, name, jobLog, line), failed.Token);
                        instance = replaced;
                        lock (instances) instances[i] = instance;
                        Interlocked.Add(ref records, n);
                        var done = Interlocked.Increment(ref objectsDone);
                        jobs.Update(account, name, j => j with { Progress = new TransformProgress(inputs.Count, done, Interlocked.Read(ref records)) });
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    failure ??= e;
                    failed.Cancel();
                }
            })).ToList();
            await Task.WhenAll(lanes);
            // The last sample before the job is seen to end: a client that sees it end finds it.
            utilization.Dispose();
            ct.ThrowIfCancellationRequested();
            if (failure is not null) throw failure is OperationCanceledException ? new TransformException("the job was cancelled") : failure;
            if (job.DataCaptureUri is not null)
                await WriteCaptureManifestsAsync(job, inputs, (a, r) => authorize(a, r, "Could not write the captured data"), ct);

            jobs.Update(account, name, j => Ended(j, "Completed", null) with { Progress = new TransformProgress(inputs.Count, inputs.Count, Interlocked.Read(ref records)) });
            Summary(account, name, jobLog, $"Completed: {inputs.Count} objects, {Interlocked.Read(ref records)} records in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
            Directory.Delete(work, recursive: true);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            utilization.Dispose();
            if (_runs.ShuttingDown) return; // the server is stopping: the job resumes on restart
            jobs.Update(account, name, j => Ended(j, "Stopped", null));
            Summary(account, name, jobLog, $"Stopped: {objectsDone} objects done, {Interlocked.Read(ref records)} records, after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
            TryDelete(work);
        }
        catch (Exception e)
        {
            utilization.Dispose();
            var reason = e is JobException or HostingException ? e.Message : "An internal error stopped the job: " + e.Message;
            if (e is not (JobException or HostingException)) log.LogError(e, "transform job {Job} failed", name);
            jobs.Update(account, name, j => Ended(j, "Failed", Truncate(reason)));
            Summary(account, name, jobLog, $"Failed after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s ({objectsDone} objects, {Interlocked.Read(ref records)} records done): {reason}");
            TryDelete(work);
        }
        finally
        {
            foreach (var instance in everyInstance) await instance.DisposeAsync();
        }
    }

    static string Truncate(string reason) => reason.Length > 1024 ? reason[..1021] + "..." : reason;

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>SageMaker's CloudWatch namespace of transform job instances' metrics (it happens
    /// to be spelled as the log group is).</summary>
    public const string InstanceMetricsNamespace = "/aws/sagemaker/TransformJobs";

    /// <summary>SageMaker's log group of transform jobs: streams {job}/{instance} and {job}/data-log.</summary>
    public const string TransformLogGroup = "/aws/sagemaker/TransformJobs";

    /// <summary>A line of the job's own account of itself: in summary.log and, as SageMaker writes
    /// its data log, in the stream {job}/data-log.</summary>
    void Summary(string account, string name, string jobLog, string line)
    {
        var now = clock.GetUtcNow();
        File.AppendAllText(Path.Combine(jobLog, "summary.log"), $"{now:O} {line}\n");
        options.LogEvents?.Post(account, TransformLogGroup, $"{name}/data-log", now, line);
    }

    /// <summary>
    /// Batch transform's data capture, as SageMaker lays it out: not copies of the data but two
    /// manifests (a JSON array, <c>[{"prefix": "s3://…/"}, "relative key", …]</c>), one of the input
    /// objects under <c>{DestinationS3Uri}/input/yyyy/mm/dd/hh/</c> and one of their outputs under
    /// <c>…/output/yyyy/mm/dd/hh/</c>, the hour the job started; written as the model's role, with
    /// the configuration's KMS key.
    /// </summary>
    async Task WriteCaptureManifestsAsync(TransformJob job, IReadOnlyList<InputObject> inputs, Action<string, string> authorize, CancellationToken ct)
    {
        var (bucket, prefix) = ParseS3(job.DataCaptureUri!);
        prefix = prefix.TrimEnd('/');
        var started = (job.State.StartTime ?? clock.GetUtcNow()).ToUniversalTime();
        var name = string.Create(CultureInfo.InvariantCulture, $"{started:yyyy}/{started:MM}/{started:dd}/{started:HH}/{started:mm}-{started:ss}-{started:fff}-{Guid.NewGuid():D}.jsonl");
        var inputPrefix = inputs.Count > 0 ? $"s3://{inputs[0].Bucket}/{inputs[0].Key[..^inputs[0].Relative.Length]}" : job.InputUri;
        var outputPrefix = job.OutputPath.EndsWith('/') ? job.OutputPath : job.OutputPath + "/";
        foreach (var (kind, manifestPrefix, entries) in new[]
        {
            ("input", inputPrefix, inputs.Select(i => i.Relative)),
            ("output", outputPrefix, inputs.Select(i => i.Relative + ".out")),
        })
        {
            using var content = new MemoryStream();
            using (var json = new Utf8JsonWriter(content, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartArray();
                json.WriteStartObject();
                json.WriteString("prefix", manifestPrefix);
                json.WriteEndObject();
                foreach (var entry in entries) json.WriteStringValue(entry);
                json.WriteEndArray();
            }
            var key = (prefix.Length > 0 ? prefix + "/" : "") + kind + "/" + name;
            authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}");
            content.Position = 0;
            await storage.PutAsync(bucket, key, content, "application/json", job.DataCaptureKmsKeyId, authorize, ct);
        }
    }

    static (string Bucket, string Prefix) ParseS3(string uri)
    {
        var path = uri.StartsWith("s3://", StringComparison.Ordinal) ? uri[5..] : throw new TransformException($"{uri} is not an s3:// URI");
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }

    /// <summary>The input objects: every object under the prefix, or those a manifest lists.</summary>
    List<InputObject> ListInputs(TransformJob job, Action<string, string> authorize)
    {
        var (bucket, prefix) = ParseS3(job.InputUri);
        if (job.InputDataType == "ManifestFile")
        {
            authorize("s3:GetObject", $"arn:aws:s3:::{bucket}/{prefix}");
            JsonElement entries;
            using (var body = storage.OpenRead(bucket, prefix, authorize) ?? throw new TransformException($"the manifest {job.InputUri} does not exist"))
            {
                try { entries = JsonDocument.Parse(body).RootElement.Clone(); }
                catch (JsonException e) { throw new TransformException($"the manifest {job.InputUri} is not valid JSON: {e.Message}"); }
            }
            if (entries.ValueKind != JsonValueKind.Array || entries.GetArrayLength() == 0 || !entries[0].TryGetProperty("prefix", out var p) || p.GetString() is not { } manifestPrefix)
                throw new TransformException($"the manifest {job.InputUri} must be a JSON array that starts with {{\"prefix\": \"s3://…\"}}");
            var (mBucket, mPrefix) = ParseS3(manifestPrefix);
            return entries.EnumerateArray().Skip(1).Select(e => e.GetString() ?? throw new TransformException("a manifest entry is not a string"))
                .Select(relative => new InputObject(mBucket, mPrefix + relative, relative)).ToList();
        }
        authorize("s3:ListBucket", $"arn:aws:s3:::{bucket}");
        if (!storage.BucketExists(bucket)) throw new TransformException($"the input bucket {bucket} does not exist");
        var result = new List<InputObject>();
        string? after = null;
        while (true)
        {
            var page = storage.List(bucket, prefix, after, 1000);
            foreach (var (objectKey, size) in page)
            {
                if (objectKey.EndsWith('/') && size == 0) continue; // a "folder" marker
                var relative = objectKey[prefix.Length..];
                if (relative.Length > 0 && relative[0] == '/' && prefix.EndsWith('/') is false) relative = relative.TrimStart('/');
                result.Add(new InputObject(bucket, objectKey, relative.Length == 0 ? Path.GetFileName(objectKey) : relative));
            }
            if (page.Count < 1000) break;
            after = page[^1].Key;
        }
        if (result.Count == 0) throw new TransformException($"no input objects under {job.InputUri}");
        return result;
    }

    /// <summary>A mini-batch: its payload, which records of the object it holds, and (only when
    /// outputs are matched to inputs record by record) the records themselves.</summary>
    sealed record Batch(int Index, List<byte[]>? Records, byte[] Payload, BatchSpan Span)
    {
        public int Count => Span.Count;
    }

    /// <summary>One input object, to its .out: returns the records of the object processed, those
    /// done before a restart included (the job's count is of its records, not of this run's), and
    /// the instance (replaced if it died on the way).</summary>
    async Task<(long Records, WorkerProcess Instance)> TransformObjectAsync(string account, TransformJob job, InputObject input, WorkerProcess instance,
        Func<Task<WorkerProcess>> startInstance, RecordProcessor processor, string work, Action<string, string> authorize, Action<string> note, CancellationToken ct)
    {
        var name = job.Name;
        var checkpoint = checkpoints.Get(account, name, input.Relative) ?? new ObjectCheckpoint(0, 0, 0, false);
        if (checkpoint.Done) return (checkpoint.Records, instance);
        if (checkpoint.Batches > 0)
            note($"Resumed s3://{input.Bucket}/{input.Key} after record {checkpoint.Records} (mini-batch {checkpoint.Batches}, {checkpoint.Bytes} bytes of output kept)");
        authorize("s3:GetObject", $"arn:aws:s3:::{input.Bucket}/{input.Key}");
        await using var body = storage.OpenRead(input.Bucket, input.Key, authorize) ?? throw new TransformException($"the input object s3://{input.Bucket}/{input.Key} does not exist");

        var staged = Path.Combine(work, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input.Relative)))[..24] + ".part");
        await using var output = new FileStream(staged, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        output.SetLength(checkpoint.Batches == 0 ? 0 : checkpoint.Bytes);
        output.Position = output.Length;

        var maxPayload = (long)(job.MaxPayloadInMB == 0 ? 6 : job.MaxPayloadInMB) * 1024 * 1024;
        var splitType = job.SplitType ?? "None";
        var multi = job.BatchStrategy == "MultiRecord" && splitType != "None";
        var assembleLines = job.AssembleWith == "Line";
        var contentType = job.ContentType;
        var accept = job.Accept;
        var concurrency = Math.Max(1, job.MaxConcurrentTransforms == 0 ? 1 : job.MaxConcurrentTransforms);
        var batches = checkpoint.Batches;
        var recordsDone = checkpoint.Records;
        var lastCheckpoint = clock.GetTimestamp();
        var instanceLock = new SemaphoreSlim(1, 1);

        async Task<(Batch Batch, byte[] Answer)> SendAsync(Batch batch)
        {
            for (var attempt = 0; ; attempt++)
            {
                var current = instance;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "invocations") { Content = new Hosting.WorkerBody(batch.Payload) };
                    if (contentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                    if (accept is not null) request.Headers.Accept.ParseAdd(accept);
                    using var response = await current.Invocations.SendAsync(request, ct);
                    var answer = await Hosting.WorkerAnswer.ReadAllAsync(response.Content, ct);
                    if (!response.IsSuccessStatusCode)
                    {
                        // The built-in worker says which line of the payload it refused (worth
                        // saying when the mini-batch holds more than that record).
                        var fault = batch.Count > 1 && response.Headers.TryGetValues(Strata.Worker.PayloadException.LineHeader, out var lines) && int.TryParse(lines.First(), out var line)
                            ? batch.Span.Fault(line, batch.Payload) : null;
                        throw new TransformException($"the model answered {(int)response.StatusCode} for {batch.Span.Describe($"s3://{input.Bucket}/{input.Key}", batch.Payload)}"
                            + (fault is null ? "" : $"; {fault} is at fault") + $": {ModelMessage(answer)}");
                    }
                    return (batch, answer);
                }
                catch (Exception e) when (e is HttpRequestException or IOException && attempt == 0 && !ct.IsCancellationRequested)
                {
                    // The instance died under the mini-batch: replace it and retry the batch once.
                    note($"The mini-batch of {batch.Span.Describe($"s3://{input.Bucket}/{input.Key}", batch.Payload)} failed on its instance ({e.Message}); retrying it once");
                    await instanceLock.WaitAsync(ct);
                    try
                    {
                        if (instance == current && await current.ExitsWithinAsync(InstanceExitWait, clock, ct))
                        {
                            await current.DisposeAsync();
                            instance = await startInstance();
                        }
                    }
                    finally { instanceLock.Release(); }
                }
            }
        }

        async Task WriteAsync(Batch batch, byte[] answer)
        {
            if (batch.Records is { } sent)
            {
                var outputs = sent.Count == 1 ? [answer] : SplitLines(answer);
                if (outputs.Count != sent.Count)
                    throw new TransformException($"the model answered {outputs.Count} lines for {batch.Span.Describe($"s3://{input.Bucket}/{input.Key}", batch.Payload)} ({sent.Count} records); joining outputs to inputs needs one line per record (Accept text/csv or application/jsonlines)");
                for (var i = 0; i < outputs.Count; i++)
                {
                    await output.WriteAsync(processor.Output(sent[i], outputs[i]), ct);
                    if (assembleLines || multi) output.WriteByte((byte)'\n');
                }
            }
            else
            {
                await output.WriteAsync(answer, ct);
                if (assembleLines && (answer.Length == 0 || answer[^1] != (byte)'\n')) output.WriteByte((byte)'\n');
            }
            batches = batch.Index + 1;
            recordsDone += batch.Count;
            // Every multi-record mini-batch is checkpointed; single records (thousands a second)
            // at most every CheckpointInterval.
            if (multi || clock.GetElapsedTime(lastCheckpoint) >= CheckpointInterval) Checkpoint(false);
        }

        void Checkpoint(bool done)
        {
            output.Flush(flushToDisk: true);
            checkpoints.Put(account, name, input.Relative, new ObjectCheckpoint(batches, output.Length, recordsDone, done));
            lastCheckpoint = clock.GetTimestamp();
        }

        await using (var decompressed = job.CompressionType == "Gzip" ? new GZipStream(body, CompressionMode.Decompress) : body)
        {
            var inflight = new Queue<Task<(Batch, byte[])>>();
            var index = 0;
            try
            {
                // Lines packed as they are need no record-by-record handling: the payload is cut
                // from the input at line ends, without copying each record on its own.
                var batchSource = multi && splitType == "Line" && !processor.PerRecord && !processor.FiltersInput
                    ? LineBatchesAsync(decompressed, maxPayload, input, ct)
                    : BatchesAsync(RecordSplitter.SplitAsync(decompressed, splitType, ct), splitType, multi, maxPayload, processor, input, ct);
                await foreach (var batch in batchSource)
                {
                    if (index++ < checkpoint.Batches) continue; // done before the restart
                    if (inflight.Count >= concurrency)
                    {
                        var (b, answer) = await inflight.Dequeue();
                        await WriteAsync(b, answer);
                    }
                    inflight.Enqueue(SendAsync(batch));
                }
                while (inflight.Count > 0)
                {
                    var (b, answer) = await inflight.Dequeue();
                    await WriteAsync(b, answer);
                }
            }
            catch (InvalidDataException e)
            {
                throw new TransformException($"s3://{input.Bucket}/{input.Key} is not gzip-compressed ({e.Message})");
            }
            finally
            {
                // Let the requests still in flight finish before the file closes under them.
                foreach (var t in inflight) { try { await t; } catch (Exception) { } }
            }
        }
        Checkpoint(false);

        // The whole output, in one atomic put: an object that fails never gets a partial .out.
        var (outBucket, outPrefix) = ParseS3(job.OutputPath);
        if (outPrefix.Length > 0 && !outPrefix.EndsWith('/')) outPrefix += "/";
        var outKey = outPrefix + input.Relative + ".out";
        authorize("s3:PutObject", $"arn:aws:s3:::{outBucket}/{outKey}");
        output.Position = 0;
        await storage.PutAsync(outBucket, outKey, output, accept ?? "application/octet-stream", job.OutputKmsKeyId, authorize, ct);
        Checkpoint(true);
        output.Close();
        File.Delete(staged);
        return (recordsDone, instance);
    }

    /// <summary>A container's error answer as a failure reason shows it: the message of a JSON
    /// {"message": …} (how the built-in worker and most framework containers answer), else the
    /// body's first 300 characters.</summary>
    static string ModelMessage(byte[] answer)
    {
        try
        {
            using var doc = JsonDocument.Parse(answer);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                return m.GetString()!;
        }
        catch (JsonException) { }
        var text = Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(answer.Length, 300)));
        return answer.Length > 300 ? text + "…" : text;
    }

    static List<byte[]> SplitLines(byte[] answer)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i <= answer.Length; i++)
        {
            if (i < answer.Length && answer[i] != (byte)'\n') continue;
            var line = answer.AsSpan(start, i - start);
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (line.Length > 0) lines.Add(line.ToArray());
            start = i + 1;
        }
        return lines;
    }

    /// <summary>Records packed into mini-batches: one each (SingleRecord), or as many as fit the
    /// payload limit (MultiRecord). A record larger than the limit fails the job.</summary>
    static async IAsyncEnumerable<Batch> BatchesAsync(IAsyncEnumerable<InputRecord> records, string splitType, bool multi, long maxPayload, RecordProcessor processor,
        InputObject input, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var pending = new List<byte[]>();
        var pendingLines = new List<long>();
        var payload = new MemoryStream();
        var index = 0;
        long recordsBefore = 0;
        // Where the payload's lines are in the object: line records are joined one per line; a
        // whole object sent as it is has the object's lines.
        Batch Cut()
        {
            var span = new BatchSpan(recordsBefore, pending.Count,
                splitType == "None" && !processor.FiltersInput ? 1 : null, splitType == "Line" ? [.. pendingLines] : null);
            var batch = new Batch(index++, processor.PerRecord ? pending : null, payload.ToArray(), span);
            recordsBefore += pending.Count;
            pending = [];
            pendingLines.Clear();
            payload = new MemoryStream();
            return batch;
        }
        await foreach (var (raw, line) in records.WithCancellation(ct))
        {
            var filtered = processor.FilterInput(raw);
            var size = splitType == "RecordIO" ? filtered.Length + 8 + 3 : filtered.Length + 1;
            if (size > maxPayload)
                throw new TransformException($"record {recordsBefore + pending.Count + 1}{(line > 0 && splitType == "Line" ? $" (line {line})" : "")} of s3://{input.Bucket}/{input.Key} is {filtered.Length} bytes, larger than MaxPayloadInMB ({maxPayload / (1024 * 1024)} MB)");
            if (pending.Count > 0 && (!multi || payload.Length + size > maxPayload)) yield return Cut();
            pending.Add(raw);
            pendingLines.Add(line);
            if (splitType == "RecordIO") RecordSplitter.WriteRecordIO(payload, filtered);
            else
            {
                if (payload.Length > 0) payload.WriteByte((byte)'\n');
                payload.Write(filtered);
            }
        }
        if (pending.Count > 0) yield return Cut();
    }

    /// <summary>Line records packed into payloads of at most <paramref name="maxPayload"/> bytes,
    /// cut at line ends straight from the input (blank lines are not records).</summary>
    static async IAsyncEnumerable<Batch> LineBatchesAsync(Stream input, long maxPayload, InputObject source,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var buffer = new byte[(int)Math.Min(maxPayload, int.MaxValue - 64) + 1];
        var filled = 0;
        var index = 0;
        var ended = false;
        long recordsBefore = 0, linesBefore = 0;
        while (!ended || filled > 0)
        {
            while (!ended && filled < buffer.Length)
            {
                var n = await input.ReadAsync(buffer.AsMemory(filled), ct);
                if (n == 0) ended = true;
                filled += n;
            }
            // The payload ends at the last line end that fits (or at the end of the input).
            int cut;
            if (ended && filled <= maxPayload) cut = filled;
            else
            {
                var newline = buffer.AsSpan(0, (int)Math.Min(filled, maxPayload)).LastIndexOf((byte)'\n');
                if (newline < 0)
                    throw new TransformException($"record {recordsBefore + 1} (line {linesBefore + 1}) of s3://{source.Bucket}/{source.Key} is larger than MaxPayloadInMB ({maxPayload / (1024 * 1024)} MB)");
                cut = newline + 1;
            }
            var payload = buffer.AsSpan(0, cut);
            var count = CountLines(payload);
            var lines = payload.Count((byte)'\n');
            // The payload is the object's lines as they are, blank ones too, from line linesBefore + 1.
            var span = new BatchSpan(recordsBefore, count, linesBefore + 1);
            recordsBefore += count;
            linesBefore += lines;
            if (count > 0) yield return new Batch(index++, null, payload.TrimEnd((byte)'\n').ToArray(), span);
            buffer.AsSpan(cut, filled - cut).CopyTo(buffer);
            filled -= cut;
        }
    }

    static int CountLines(ReadOnlySpan<byte> text)
    {
        var count = 0;
        while (text.Length > 0)
        {
            var end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            if (line.Trim(" \r"u8).Length > 0) count++;
            text = end < 0 ? [] : text[(end + 1)..];
        }
        return count;
    }
}
