using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Hosting;
using Strata.Server.Jobs;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.Runtime;

/// <summary>An endpoint's AsyncInferenceConfig, as the runtime needs it.</summary>
public sealed record AsyncSettings(int? MaxConcurrentInvocationsPerInstance, string S3OutputPath, string? S3FailurePath, string? KmsKeyId,
    string? SuccessTopic, string? ErrorTopic, IReadOnlyList<string>? IncludeInferenceResponseIn);

/// <summary>What the runtime knows of an endpoint from its record: status, why it failed, its
/// asynchronous settings (null: a real-time endpoint) and the role its models run as.</summary>
public sealed record EndpointFacts(string Status, string? FailureReason, AsyncSettings? Async, string? ExecutionRoleArn);

/// <summary>One queued request, as stored (the state store is its durable queue).</summary>
public sealed record AsyncRequestRow
{
    public required string Account { get; init; }
    public required string EndpointName { get; init; }
    public required string InferenceId { get; init; }
    public required string InputLocation { get; init; }
    public string? ContentType { get; init; }
    public string? Accept { get; init; }
    public string? CustomAttributes { get; init; }
    public required string OutputLocation { get; init; }
    public required string FailureLocation { get; init; }
    public required DateTimeOffset ReceivedTime { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required int InvocationTimeoutSeconds { get; init; }
    /// <summary>Set when a run began: a row still carrying it after a restart was in flight at the crash.</summary>
    public DateTimeOffset? StartedTime { get; init; }
    /// <summary>Set once this request's answer is written (true: to OutputLocation, false: to
    /// FailureLocation): after a crash only the notification remains. An object found at the
    /// output location is no proof: a reused InferenceId or Filename names an older answer.</summary>
    public bool? Answered { get; init; }
    public string? FailureReason { get; init; }
}

[JsonSerializable(typeof(AsyncRequestRow))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class AsyncRowsJson : JsonSerializerContext;

/// <summary>Publishes a notification as the endpoint's execution role (its sns:Publish checked).</summary>
public delegate Task AsyncNotifier(string account, string roleArn, string topicArn, string message, CancellationToken ct);

/// <summary>
/// SageMaker asynchronous inference: InvokeEndpointAsync puts a request in the endpoint's durable
/// queue (a table of the state store, keyed so that a scan gives each endpoint's requests oldest
/// first) and answers 202 at once; this service runs the queue. Up to
/// MaxConcurrentInvocationsPerInstance × in-service instances run at a time per endpoint, each
/// reading its input from S3 as the endpoint's execution role, invoking the model through the
/// real-time path (<see cref="RuntimeService.InvokeQueuedAsync"/>), and writing the answer to
/// S3OutputPath/&lt;InferenceId&gt;.out or the error to S3FailurePath/&lt;InferenceId&gt;-error.out,
/// then notifying the success or error topic. A request leaves the queue only once its output is
/// written; one in flight at a crash runs again after the restart unless its row records the
/// answer written (the key is the inference id, so a rerun overwrites, never adds). A run that
/// fails without an answer is tried again after a backoff (1 s doubling to 60 s).
/// RequestTTLSeconds and InvocationTimeoutSeconds run on the injected clock. Every tick it also
/// publishes the backlog metrics autoscaling tracks.
/// </summary>
public sealed class AsyncInference(IStateStore state, HostingService hosting, IJobStorage storage, MetricsStore metrics, TimeProvider clock,
    Func<string, string, EndpointFacts?> endpoints, AsyncNotifier notify, string region, TimeSpan tick, ILogger<AsyncInference> log) : BackgroundService
{
    const string Table = "async-inference";

    /// <summary>AWS's defaults: a request waits up to 6 hours, and runs up to 15 minutes.</summary>
    public const int DefaultRequestTTLSeconds = 21600, DefaultInvocationTimeoutSeconds = 900;

    /// <summary>When MaxConcurrentInvocationsPerInstance is not given (SageMaker "chooses"; this is Strata's choice).</summary>
    public const int DefaultConcurrencyPerInstance = 4;

    /// <summary>The answer included in a notification only up to this size (AWS: 128 KB).</summary>
    const int MaxResponseInNotification = 128 * 1024;

    /// <summary>Where the queued invocation goes; set by the composition root (the runtime service owns the path).</summary>
    public RuntimeService? Runtime { get; set; }

    readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    readonly Lock _lock = new();
    /// <summary>Keys of the rows running now, per endpoint.</summary>
    readonly Dictionary<(string Account, string Endpoint), HashSet<string>> _running = [];
    readonly List<Task> _runs = [];
    /// <summary>Requests whose last run failed without an answer, keyed by row: not run again before Due.</summary>
    readonly Dictionary<string, (DateTimeOffset Due, TimeSpan Delay)> _backoff = [];

    /// <summary>The wait after a failed run: 1 s, doubling with each failure in a row, at most 60 s.</summary>
    internal static TimeSpan NextDelay(TimeSpan? previous)
        => previous is { } p ? TimeSpan.FromTicks(Math.Min(p.Ticks * 2, TimeSpan.FromSeconds(60).Ticks)) : TimeSpan.FromSeconds(1);

    static string Prefix(string account, string endpoint) => $"{account}/{endpoint}/";

    static string KeyOf(AsyncRequestRow r) => $"{Prefix(r.Account, r.EndpointName)}{r.ReceivedTime.UtcTicks:D19}/{r.InferenceId}";

    static AsyncRequestRow Parse(string json) => JsonSerializer.Deserialize(json, AsyncRowsJson.Default.AsyncRequestRow)!;

    /// <summary>Queues a request (durably: it is in the state store when this returns) and wakes the dispatcher.</summary>
    public void Enqueue(AsyncRequestRow row)
    {
        state.Write(w =>
        {
            w.Put(Table, KeyOf(row), JsonSerializer.Serialize(row, AsyncRowsJson.Default.AsyncRequestRow));
            return 0;
        });
        Wake();
    }

    public void Wake() => _wake.Release();

    /// <summary>The injected clock's now: when a request is received.</summary>
    public DateTimeOffset Now => clock.GetUtcNow();

    /// <summary>Requests queued or running for an endpoint, oldest first.</summary>
    public IReadOnlyList<(string Key, AsyncRequestRow Row)> Backlog(string account, string endpoint)
        => state.Read(r => r.Scan(Table, Prefix(account, endpoint), null, int.MaxValue)).Select(kv => (kv.Key, Parse(kv.Value))).ToList();

    IEnumerable<(string Account, string Endpoint)> QueuedEndpoints()
        => state.Read(r => r.Scan(Table, "", null, int.MaxValue)).Select(kv => Parse(kv.Value)).Select(r => (r.Account, r.EndpointName)).Distinct().ToList();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(tick, clock);
        var ticking = TickLoopAsync(timer, stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try { Dispatch(stoppingToken); }
                catch (Exception e) when (e is not OperationCanceledException) { log.LogError(e, "asynchronous inference dispatch failed"); }
                // Woken by a new request, a finished one, or the tick; a short real-time wait too,
                // so that instances coming up (a scale-out from zero) are used without a clock tick.
                await _wake.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
            }
        }
        catch (OperationCanceledException) { }
        await ticking;
        Task[] runs;
        lock (_lock) runs = [.. _runs];
        try { await Task.WhenAll(runs); }
        catch (Exception) { /* each run logs its own failure; a stopped run stays queued */ }
    }

    async Task TickLoopAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                await Task.Yield();
                try { PublishMetrics(); }
                catch (Exception e) when (e is not OperationCanceledException) { log.LogError(e, "asynchronous inference metrics failed"); }
                Wake();
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Starts what may start: per endpoint with a backlog, expired requests fail, and
    /// the oldest queued ones run up to the endpoint's concurrency.</summary>
    void Dispatch(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        foreach (var (account, endpoint) in QueuedEndpoints())
        {
            var facts = endpoints(account, endpoint);
            var backlog = Backlog(account, endpoint);
            if (facts?.Async is not { } settings || facts.ExecutionRoleArn is not { } role)
            {
                // The endpoint (or its asynchronous configuration) is gone: nothing can answer these.
                foreach (var (key, row) in backlog)
                    if (!IsRunning(account, endpoint, key)) Start(key, row, null, null, ct, $"The endpoint {endpoint} no longer exists or is no longer asynchronous.");
                continue;
            }
            var capacity = facts.Status is "InService" or "Updating" ? settings.MaxConcurrentInvocationsPerInstance.GetValueOrDefault(DefaultConcurrencyPerInstance) * Instances(account, endpoint) : 0;
            foreach (var (key, row) in backlog)
            {
                if (IsRunning(account, endpoint, key) || BackingOff(key, now)) continue;
                if (row.ExpiresAt <= now)
                {
                    Start(key, row, settings, role, ct, $"Request {row.InferenceId} expired: it waited longer than its RequestTTLSeconds ({(row.ExpiresAt - row.ReceivedTime).TotalSeconds:0} s) in the queue.");
                    continue;
                }
                if (RunningCount(account, endpoint) >= capacity) continue;
                Start(key, row, settings, role, ct, null);
            }
        }
    }

    int Instances(string account, string endpoint) => hosting.Find(account, endpoint)?.Variants.Sum(v => v.Instances.Count) ?? 0;

    bool IsRunning(string account, string endpoint, string key)
    {
        lock (_lock) return _running.TryGetValue((account, endpoint), out var keys) && keys.Contains(key);
    }

    bool BackingOff(string key, DateTimeOffset now)
    {
        lock (_lock) return _backoff.TryGetValue(key, out var b) && b.Due > now;
    }

    int RunningCount(string account, string endpoint)
    {
        lock (_lock) return _running.TryGetValue((account, endpoint), out var keys) ? keys.Count : 0;
    }

    /// <param name="failure">Set: the request is answered with this error without running.</param>
    void Start(string key, AsyncRequestRow row, AsyncSettings? settings, string? role, CancellationToken ct, string? failure)
    {
        lock (_lock)
        {
            if (!_running.TryGetValue((row.Account, row.EndpointName), out var keys)) _running[(row.Account, row.EndpointName)] = keys = [];
            keys.Add(key);
            _runs.RemoveAll(t => t.IsCompleted);
            _runs.Add(Task.Run(() => RunAsync(key, row, settings, role, failure, ct), CancellationToken.None));
        }
    }

    async Task RunAsync(string key, AsyncRequestRow row, AsyncSettings? settings, string? role, string? failure, CancellationToken ct)
    {
        var failed = false;
        try
        {
            if (settings is null || role is null)
            {
                Remove(key);
                log.LogWarning("asynchronous request {InferenceId} dropped: {Reason}", row.InferenceId, failure);
                return;
            }
            await AnswerAsync(key, row, settings, role, failure, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { /* stopping: the row stays queued and runs after the restart */ }
        catch (AwsException e) when (e.Code == "ServiceUnavailable")
        {
            // No instance can take it right now (one starting, one just gone): a matter of the
            // endpoint's capacity, not of this request; the dispatcher's next wake tries again.
            failed = true;
            log.LogInformation("asynchronous request {InferenceId} of endpoint {Endpoint} waits for an instance: {Reason}", row.InferenceId, row.EndpointName, e.Message);
        }
        catch (Exception e)
        {
            // Strata could not write the answer (the role cannot be assumed or lost its permissions,
            // the bucket is gone): the request stays queued and is tried again after a backoff on
            // the injected clock, until its TTL ends it; not at once, which would re-read its input
            // and re-run the model in a loop.
            failed = true;
            TimeSpan delay;
            lock (_lock)
            {
                delay = NextDelay(_backoff.TryGetValue(key, out var b) ? b.Delay : null);
                _backoff[key] = (clock.GetUtcNow() + delay, delay);
            }
            log.LogWarning("asynchronous request {InferenceId} of endpoint {Endpoint} stays queued, tried again in {Delay}: {Reason}", row.InferenceId,
                row.EndpointName, delay, e.Message);
        }
        finally
        {
            lock (_lock)
            {
                if (_running.TryGetValue((row.Account, row.EndpointName), out var keys)) keys.Remove(key);
                if (!failed) _backoff.Remove(key);
            }
            // A finished run frees a slot; a failed one must not be restarted by its own wake.
            if (!failed) Wake();
        }
    }

    void Remove(string key) => state.Write(w => w.Delete(Table, key));

    async Task AnswerAsync(string key, AsyncRequestRow row, AsyncSettings settings, string role, string? failure, CancellationToken ct)
    {
        var authorizer = storage.AssumeRole(role);
        void Authorize(string action, string resource) => authorizer(action, resource, "Could not answer the asynchronous inference request");
        var (outBucket, outKey) = SplitS3(row.OutputLocation);
        var (failBucket, failKey) = SplitS3(row.FailureLocation);

        // Claimed in one transaction with reading it: a row answered meanwhile (the dispatcher's
        // view of the queue may be a moment old) is gone, and is not run again.
        var stored = state.Write(w =>
        {
            if (w.Get(Table, key) is not { } json) return null;
            var current = Parse(json);
            w.Put(Table, key, JsonSerializer.Serialize(current with { StartedTime = clock.GetUtcNow() }, AsyncRowsJson.Default.AsyncRequestRow));
            return current;
        });
        if (stored is null) return;
        // In flight at a crash: its answer may already be written; then only what follows it remains.
        if (stored.Answered is { } succeeded)
        {
            await FinishAsync(key, row, settings, role, succeeded, stored.FailureReason, null, null, ct);
            return;
        }

        byte[]? answer = null;
        string? answerType = null;
        if (failure is null)
        {
            try { (answer, answerType) = await InvokeAsync(row, Authorize, ct); }
            catch (AsyncInvocationFailed e) { failure = e.Message; }
        }
        if (failure is null)
        {
            Authorize("s3:PutObject", $"arn:aws:s3:::{outBucket}/{outKey}");
            await storage.PutAsync(outBucket, outKey, new MemoryStream(answer!), answerType ?? "application/octet-stream", settings.KmsKeyId, Authorize, ct);
            RecordAnswered(key, true, null);
            await FinishAsync(key, row, settings, role, success: true, null, answer, answerType, ct);
        }
        else
        {
            var body = System.Text.Encoding.UTF8.GetBytes(failure);
            Authorize("s3:PutObject", $"arn:aws:s3:::{failBucket}/{failKey}");
            await storage.PutAsync(failBucket, failKey, new MemoryStream(body), "text/plain", settings.KmsKeyId, Authorize, ct);
            RecordAnswered(key, false, failure);
            await FinishAsync(key, row, settings, role, success: false, failure, body, "text/plain", ct);
        }
    }

    /// <summary>Marks the row answered before the notification: a crash between the two then only notifies again.</summary>
    void RecordAnswered(string key, bool success, string? failureReason) => state.Write(w =>
    {
        if (w.Get(Table, key) is { } json)
            w.Put(Table, key, JsonSerializer.Serialize(Parse(json) with { Answered = success, FailureReason = failureReason }, AsyncRowsJson.Default.AsyncRequestRow));
        return 0;
    });

    /// <summary>Reads the input as the role and runs it through the real-time path, bounded by
    /// InvocationTimeoutSeconds on the injected clock. A failure of the request itself (its input
    /// missing, the model's error, the timeout) is its answer; an endpoint without a running
    /// instance right now is not: the request stays queued.</summary>
    async Task<(byte[] Body, string? ContentType)> InvokeAsync(AsyncRequestRow row, Action<string, string> authorize, CancellationToken ct)
    {
        var (bucket, key) = SplitS3(row.InputLocation);
        byte[] input;
        try
        {
            authorize("s3:GetObject", $"arn:aws:s3:::{bucket}/{key}");
            await using var body = storage.OpenRead(bucket, key, authorize)
                ?? throw new AsyncInvocationFailed($"Failed to download the input data from {row.InputLocation}: the object does not exist.");
            input = await ReadAtMostAsync(body, RuntimeService.MaxPayloadBytes, ct)
                ?? throw new AsyncInvocationFailed($"The input {row.InputLocation} is larger than {RuntimeService.MaxPayloadBytes} bytes; Strata's asynchronous inference forwards at most {RuntimeService.MaxPayloadBytes} bytes to a model.");
        }
        catch (JobException e) { throw new AsyncInvocationFailed($"Failed to download the input data from {row.InputLocation}: {e.Message}"); }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(row.InvocationTimeoutSeconds), clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var runtime = Runtime ?? throw new InvalidOperationException("the runtime service is not set");
        try
        {
            return await runtime.InvokeQueuedAsync(row.Account, row.EndpointName, input, row.ContentType, row.Accept, row.CustomAttributes, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new AsyncInvocationFailed($"Your invocation timed out after {row.InvocationTimeoutSeconds} seconds (InvocationTimeoutSeconds) while waiting for a response from container primary.");
        }
        catch (ModelInvocationFailed e) { throw new AsyncInvocationFailed(e.Message); }
        catch (AwsException e) when (e.Code != "ServiceUnavailable") { throw new AsyncInvocationFailed(e.Message); }
    }

    /// <summary>The stream's content, or null as soon as it proves longer than <paramref name="max"/>
    /// bytes: an input of gigabytes is refused after max + 1 bytes, never held whole in memory.</summary>
    internal static async Task<byte[]?> ReadAtMostAsync(Stream stream, int max, CancellationToken ct)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, max + 1L - copy.Length)), ct)) > 0)
        {
            copy.Write(buffer, 0, read);
            if (copy.Length > max) return null;
        }
        return copy.ToArray();
    }

    /// <summary>Notifies (when a topic is configured) and takes the request off the queue. A crash
    /// between the two notifies again after the restart: SNS delivers at least once anyway.</summary>
    async Task FinishAsync(string key, AsyncRequestRow row, AsyncSettings settings, string role, bool success, string? failureReason, byte[]? answer,
        string? answerType, CancellationToken ct)
    {
        var topic = success ? settings.SuccessTopic : settings.ErrorTopic;
        if (topic is not null)
        {
            var include = settings.IncludeInferenceResponseIn?.Contains(success ? "SUCCESS_NOTIFICATION_TOPIC" : "ERROR_NOTIFICATION_TOPIC") == true
                && answer is not null && answer.Length <= MaxResponseInNotification;
            try { await notify(row.Account, role, topic, Notification(row, success, failureReason, answerType, include ? answer : null), ct); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The answer is in S3 already; a topic that refuses the role does not undo it.
                log.LogWarning("asynchronous request {InferenceId}: the notification to {Topic} failed: {Reason}", row.InferenceId, topic, e.Message);
            }
        }
        Remove(key);
    }

    /// <summary>The notification SageMaker publishes for an answered request (the developer guide's
    /// "Check prediction results" format).</summary>
    string Notification(AsyncRequestRow row, bool success, string? failureReason, string? contentType, byte[]? answer)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("awsRegion", region);
            json.WriteString("eventTime", Timestamp(clock.GetUtcNow()));
            json.WriteString("receivedTime", Timestamp(row.ReceivedTime));
            json.WriteString("invocationStatus", success ? "Completed" : "Failed");
            if (failureReason is not null) json.WriteString("failureReason", failureReason);
            json.WriteStartObject("requestParameters");
            if (row.Accept is not null) json.WriteString("accept", row.Accept);
            if (row.ContentType is not null) json.WriteString("contentType", row.ContentType);
            if (row.CustomAttributes is not null) json.WriteString("customAttributes", row.CustomAttributes);
            json.WriteString("endpointName", row.EndpointName);
            json.WriteString("inputLocation", row.InputLocation);
            json.WriteEndObject();
            json.WriteStartObject("responseParameters");
            json.WriteString("contentType", contentType ?? "application/octet-stream");
            json.WriteString(success ? "outputLocation" : "failureLocation", success ? row.OutputLocation : row.FailureLocation);
            json.WriteEndObject();
            if (answer is not null) json.WriteString("responseBody", System.Text.Encoding.UTF8.GetString(answer));
            json.WriteString("inferenceId", row.InferenceId);
            json.WriteString("eventVersion", "1.0");
            json.WriteString("eventSource", "aws:sagemaker");
            json.WriteString("eventName", "InferenceResult");
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The backlog metrics SageMaker publishes for asynchronous endpoints (AWS/SageMaker,
    /// EndpointName): queued and running requests, per instance (per one when there is none, so
    /// target tracking sees a backlog at zero instances), the oldest one's age, and whether there
    /// is a backlog and no instance.</summary>
    void PublishMetrics()
    {
        var now = clock.GetUtcNow();
        var backlogs = state.Read(r => r.Scan(Table, "", null, int.MaxValue)).Select(kv => Parse(kv.Value))
            .GroupBy(r => (r.Account, r.EndpointName)).ToDictionary(g => g.Key, g => g.ToList());
        // Every asynchronous endpoint that runs reports, an idle one zeros (that is what scales it in).
        var endpointsNow = hosting.Running().Select(e => (e.Account, e.Runtime.Name)).Where(e => endpoints(e.Account, e.Name)?.Async is not null).ToHashSet();
        endpointsNow.UnionWith(backlogs.Keys);
        foreach (var (account, endpoint) in endpointsNow)
        {
            var rows = backlogs.GetValueOrDefault((account, endpoint)) ?? [];
            var instances = Instances(account, endpoint);
            (string, string)[] dims = [("EndpointName", endpoint)];
            const string ns = "AWS/SageMaker";
            metrics.Handle(account, ns, "ApproximateBacklogSize", "Count", dims).Record(rows.Count);
            metrics.Handle(account, ns, "ApproximateBacklogSizePerInstance", "Count", dims).Record((double)rows.Count / Math.Max(1, instances));
            metrics.Handle(account, ns, "ApproximateAgeOfOldestRequest", "Seconds", dims).Record(rows.Count == 0 ? 0 : (now - rows.Min(r => r.ReceivedTime)).TotalSeconds);
            metrics.Handle(account, ns, "HasBacklogWithoutCapacity", "Count", dims).Record(rows.Count > 0 && instances == 0 ? 1 : 0);
        }
    }

    internal static (string Bucket, string Key) SplitS3(string url)
    {
        var path = url.StartsWith("s3://", StringComparison.Ordinal) ? url[5..] : url;
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }
}

/// <summary>The request's own failure: its answer is this message, in the failure path.</summary>
sealed class AsyncInvocationFailed(string message) : Exception(message);
