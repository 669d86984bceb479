using System.Net.Http.Headers;
using Strata.Server.Hosting;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.Runtime;

/// <summary>
/// SageMaker Runtime (REST-JSON): <c>POST /endpoints/{EndpointName}/invocations</c>, and
/// <c>…/invocations-response-stream</c> (InvokeEndpointWithResponseStream: the same routing, the
/// container's answer relayed as event-stream <c>PayloadPart</c>s as it arrives). Picks the
/// variant (weights, or <c>X-Amzn-SageMaker-Target-Variant</c>) and its least busy instance, and
/// forwards the payload over the instance's pooled connection; a connection that fails before
/// an answer is retried once on another instance. The route, header names and errors are the
/// generated ones (<see cref="SageMakerRuntimeOperations"/>, <see cref="SageMakerRuntimeHeaders"/>,
/// <see cref="SageMakerRuntimeErrors"/>); the payloads stream through by hand.
/// </summary>
/// <param name="endpointStatus">The status and FailureReason of an endpoint that has no running
/// instances (SageMaker's record of it); null when no such endpoint exists.</param>
public sealed partial class RuntimeService(HostingService hosting, MetricsStore metrics, string region,
    Func<string, string, (string Status, string? FailureReason)?> endpointStatus) : IOperationResolver
{
    /// <summary>The most InvokeEndpoint carries either way: the model bounds the request's Body and
    /// the response's at 6 MiB (6 291 456 bytes), which AWS calls 6 MB.</summary>
    public const int MaxPayloadBytes = 6 * 1024 * 1024;

    /// <summary>A larger request is refused as AWS refuses it (ValidationError, "oversize body"),
    /// before its body is read when its Content-Length says so.</summary>
    public RequestBodyLimit? BodyLimit { get; } = new(MaxPayloadBytes, (ctx, declared) => Validation(
        $"Request {ctx.RequestId} has oversize body: {(declared is { } n ? $"{n} bytes, " : "")}more than the {MaxPayloadBytes} bytes (6 MB) InvokeEndpoint accepts."));

    /// <summary>A FailureReason longer than this is left to DescribeEndpoint: the error stays one short line.</summary>
    const int MaxReasonInMessage = 256;

    static readonly RestOperation Invoke = SageMakerRuntimeOperations.InvokeEndpoint;
    static readonly RestOperation InvokeStream = SageMakerRuntimeOperations.InvokeEndpointWithResponseStream;

    /// <summary>The URI label that names the endpoint (the operation's one URI member).</summary>
    static readonly string EndpointName = Invoke.Input.Single(m => m.Location == HttpLocation.Uri).WireName;

    string EndpointArn(RequestContext ctx) => $"arn:aws:sagemaker:{region}:{ctx.Principal.AccountId}:endpoint/{ctx.PathParameters[EndpointName].ToLowerInvariant()}";

    // The streaming call has an action of its own in the Service Authorization Reference (its API
    // page still says sagemaker:InvokeEndpoint; a policy for it names the new action).
    Operation InvokeOperation => new(Invoke.Name, "sagemaker:InvokeEndpoint", EndpointArn, ctx => InvokeEndpoint(ctx, stream: false));
    Operation StreamOperation => new(InvokeStream.Name, "sagemaker:InvokeEndpointWithResponseStream", EndpointArn, ctx => InvokeEndpoint(ctx, stream: true));

    public IEnumerable<Operation> Operations => [InvokeOperation, StreamOperation, AsyncOperation];

    public ErrorTable Errors => RuntimeErrorTable.Errors;

    public Operation? Resolve(RequestContext ctx)
    {
        var (method, path) = (ctx.Request.Method, ctx.RawPath);
        if (Invoke.TryMatch(method, path, ctx.PathParameters, Auth.SigV4.PercentDecode))
        {
            ctx.OperationName = Invoke.Name;
            return InvokeOperation;
        }
        if (InvokeStream.TryMatch(method, path, ctx.PathParameters, Auth.SigV4.PercentDecode))
        {
            ctx.OperationName = InvokeStream.Name;
            return StreamOperation;
        }
        if (InvokeAsyncOperation.TryMatch(method, path, ctx.PathParameters, Auth.SigV4.PercentDecode))
        {
            ctx.OperationName = InvokeAsyncOperation.Name;
            return AsyncOperation;
        }
        return null;
    }

    static AwsException Validation(string message) => SageMakerRuntimeErrors.ValidationError(message);

    /// <summary>Why an endpoint with no running instances takes no requests: it does not exist
    /// (AWS's "not found"), or it is not InService (Creating, Failed, …: the status, and a Failed
    /// endpoint's reason). An endpoint InService without instances is one the server is starting
    /// again after a restart: 503, which clients retry.</summary>
    internal static AwsException NotRunning(string name, string account, (string Status, string? FailureReason)? endpoint) => endpoint switch
    {
        null => Validation($"Endpoint {name} of account {account} not found."),
        ("InService", _) => SageMakerRuntimeErrors.ServiceUnavailable($"Endpoint {name} is InService, but its instances are still starting; retry shortly."),
        ("Failed", { Length: > 0 and <= MaxReasonInMessage } reason) => Validation($"Endpoint {name} of account {account} is not in service: its status is Failed ({reason.TrimEnd('.')})."),
        ("Failed", { Length: > 0 }) => Validation($"Endpoint {name} of account {account} is not in service: its status is Failed (DescribeEndpoint's FailureReason says why)."),
        (var status, _) => Validation($"Endpoint {name} of account {account} is not in service: its status is {status}."),
    };

    /// <param name="stream">InvokeEndpointWithResponseStream: errors before the container answers are
    /// InvokeEndpoint's; its answer is relayed as event-stream parts.</param>
    /// <param name="queued">A request of an asynchronous endpoint's queue (InvokeEndpointAsync's).</param>
    /// <param name="shadow">A model-explainability analysis's request (<see cref="InvokeForAnalysisAsync"/>):
    /// neither captured nor counted in the endpoint's metrics, as Clarify's shadow endpoint's are not.</param>
    async Task InvokeEndpoint(RequestContext ctx, bool stream, bool queued = false, bool shadow = false)
    {
        var name = ctx.PathParameters[EndpointName];
        var account = ctx.Principal.AccountId;
        var runtime = hosting.Find(account, name) ?? throw NotRunning(name, account, endpointStatus(account, name));
        // As on AWS, an asynchronous endpoint takes its requests only through InvokeEndpointAsync.
        if (runtime.Asynchronous && !queued)
            throw Validation($"Endpoint {name} of account {account} is an asynchronous inference endpoint (its endpoint configuration has an AsyncInferenceConfig): use InvokeEndpointAsync.");
        // The protocol stage already holds the body in memory (no more than BodyLimit, in a pooled
        // array the request holds until it ends): forward that, no copy.
        var body = ctx.BufferedBody ?? new([]);

        var target = ctx.Header(SageMakerRuntimeHeaders.TargetVariant);
        var variant = runtime.PickVariant(target) ?? throw (target is not null
            ? Validation($"The variant(s) \"[{target}]\" do not exist for endpoint \"{name}\".")
            : SageMakerRuntimeErrors.ServiceUnavailable($"Endpoint {name} has no variant with a weight above zero."));

        // Multi-model endpoints need the model each request is for; others must not be given one.
        var targetModel = ctx.Header(SageMakerRuntimeHeaders.TargetModel);
        if (targetModel is not null && variant.MultiModel is null)
            throw Validation($"The endpoint {name} is not a multi-model endpoint and does not support target model header.");
        if (variant.MultiModel is not null && string.IsNullOrEmpty(targetModel))
            throw Validation($"The endpoint {name} is a multi-model endpoint: the TargetModel header is required.");

        // A serverless variant admits MaxConcurrency requests at once and meters what they use.
        var serverless = variant.Serverless;
        if (serverless is not null && !serverless.TryEnter())
            throw Throttling();
        var admitted = System.Diagnostics.Stopwatch.GetTimestamp();

        // Every request that reaches a variant counts, with its outcome (SageMaker's endpoint metrics).
        var outcome = "5XX";
        long modelMicros = 0;
        try
        {
            (modelMicros, var broken) = await ForwardAsync(ctx, name, account, variant, body, targetModel, stream, shadow);
            // A stream that broke after it began was answered 200 and ended with an error event.
            outcome = broken ? "Model5XX" : "OK";
        }
        catch (ModelInvocationFailed e)
        {
            outcome = e.FromClientError ? "Model4XX" : "Model5XX";
            throw;
        }
        finally
        {
            if (!shadow) RecordInvocation(ctx, name, variant, outcome, modelMicros);
            serverless?.Exit(System.Diagnostics.Stopwatch.GetElapsedTime(admitted), metered: !shadow);
        }
    }

    /// <summary>The series one variant's invocations are recorded into, looked up once.</summary>
    sealed record VariantMetrics(MetricsStore.MetricHandle Invocations, MetricsStore.MetricHandle PerInstance, MetricsStore.MetricHandle Errors4XX,
        MetricsStore.MetricHandle Errors5XX, MetricsStore.MetricHandle ModelErrors, MetricsStore.MetricHandle ModelLatency, MetricsStore.MetricHandle OverheadLatency,
        MetricsStore.MetricHandle ModelSetupTime);

    readonly System.Collections.Concurrent.ConcurrentDictionary<(string Account, string Endpoint, string Variant), VariantMetrics> _variantMetrics = new();

    VariantMetrics MetricsOf(string account, string endpoint, string variant) => _variantMetrics.GetOrAdd((account, endpoint, variant), key =>
    {
        const string ns = "AWS/SageMaker";
        (string, string)[] dims = [("EndpointName", key.Endpoint), ("VariantName", key.Variant)];
        var a = key.Account;
        return new VariantMetrics(metrics.Handle(a, ns, "Invocations", "Count", dims), metrics.Handle(a, ns, "InvocationsPerInstance", "Count", dims),
            metrics.Handle(a, ns, "Invocation4XXErrors", "Count", dims), metrics.Handle(a, ns, "Invocation5XXErrors", "Count", dims),
            metrics.Handle(a, ns, "InvocationModelErrors", "Count", dims), metrics.Handle(a, ns, "ModelLatency", "Microseconds", dims),
            metrics.Handle(a, ns, "OverheadLatency", "Microseconds", dims), metrics.Handle(a, ns, "ModelSetupTime", "Microseconds", dims));
    });

    void RecordInvocation(RequestContext ctx, string endpoint, VariantRuntime variant, string outcome, long modelMicros)
    {
        var m = MetricsOf(ctx.Principal.AccountId, endpoint, variant.Name);
        m.Invocations.Record(1);
        m.PerInstance.Record(1.0 / Math.Max(1, variant.Instances.Count));
        m.Errors4XX.Record(outcome == "Model4XX" ? 1 : 0);
        m.Errors5XX.Record(outcome is "Model5XX" or "5XX" ? 1 : 0);
        m.ModelErrors.Record(outcome.StartsWith("Model", StringComparison.Ordinal) ? 1 : 0);
        if (outcome == "OK")
        {
            var total = (long)System.Diagnostics.Stopwatch.GetElapsedTime(ctx.StartTimestamp).TotalMicroseconds;
            m.ModelLatency.Record(modelMicros);
            m.OverheadLatency.Record(Math.Max(0, total - modelMicros));
        }
    }

    /// <summary>Sends the payload to an instance of the variant; returns the model latency (µs), and
    /// whether a streamed answer broke after it began.</summary>
    async Task<(long ModelMicros, bool StreamBroken)> ForwardAsync(RequestContext ctx, string name, string account, VariantRuntime variant, ArraySegment<byte> body, string? targetModel, bool stream,
        bool shadow)
    {
        var capture = shadow ? null : variant.Capture;
        WorkerProcess? failed = null;
        for (var attempt = 0; ; attempt++)
        {
            WorkerProcess? instance;
            ModelLease? lease = null;
            if (variant.MultiModel is { } multi)
            {
                try { lease = await multi.AcquireAsync(variant, targetModel!, ctx.Http.RequestAborted); }
                catch (Exception e) when (e is ArtifactAccessException or ArtifactNotFoundException)
                {
                    var (bucket, key) = SplitS3(multi.Prefix + targetModel);
                    throw Validation($"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.");
                }
                catch (HostingException e)
                {
                    throw new ModelInvocationFailed($"The model {targetModel} could not be loaded: {e.Message}", "507", e.Message);
                }
                instance = lease.Instance;
            }
            else if (variant.Serverless is not null && failed is null)
            {
                TimeSpan setup;
                try { (instance, setup) = await variant.ServerlessInstanceAsync(ctx.Http.RequestAborted); }
                catch (HostingException e) { throw new ModelInvocationFailed($"The serverless variant {variant.Name} of endpoint {name} could not start: {e.Message}", "0", e.Message); }
                // The cold start's cost, as SageMaker reports it for serverless endpoints.
                if (setup > TimeSpan.Zero && !shadow) MetricsOf(account, name, variant.Name).ModelSetupTime.Record(setup.TotalMicroseconds);
            }
            else instance = variant.PickInstance(failed);
            if (instance is null) throw SageMakerRuntimeErrors.ServiceUnavailable($"No instance of variant {variant.Name} of endpoint {name} is running.");
            using var request = new HttpRequestMessage(HttpMethod.Post, lease is null ? "invocations" : $"models/{lease.WorkerModelName}/invoke") { Content = new WorkerBody(body, ctx.BodyOwner) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(ctx.Request.ContentType ?? "application/octet-stream", out var ct) ? ct : new("application/octet-stream");
            // The serving-container contract names these headers as the API does.
            // The streaming call's Accept travels in X-Amzn-SageMaker-Accept; the container is asked
            // on the same /invocations with the contract's Accept, whichever call it serves.
            if (ctx.Header(stream ? SageMakerRuntimeHeaders.InvokeEndpointWithResponseStreamAccept : SageMakerRuntimeHeaders.Accept) is { } accept)
                request.Headers.TryAddWithoutValidation(SageMakerRuntimeHeaders.Accept, accept);
            if (ctx.Header(SageMakerRuntimeHeaders.CustomAttributes) is { } attributes) request.Headers.TryAddWithoutValidation(SageMakerRuntimeHeaders.CustomAttributes, attributes);
            instance.Enter();
            var sent = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // Disposing the response puts its connection back only once the body is read to its
                // end: an answer left unread past the limit is drained, or its connection closed.
                using var response = await instance.Invocations.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.Http.RequestAborted);
                if (stream && response.IsSuccessStatusCode)
                {
                    // A sampled stream's parts are collected as they pass (only when its output is
                    // captured, and only up to the 6 MB a capture record holds: a longer one is not captured).
                    var sampled = capture?.Sample() == true;
                    var captured = sampled && capture!.WantsOutput ? new MemoryStream() : null;
                    var relayed = await RelayAsync(ctx, variant, response, sent, captured);
                    if (sampled && !relayed.StreamBroken && captured is not { Length: > MaxPayloadBytes })
                        capture!.Enqueue(ctx.Header(SageMakerRuntimeHeaders.InferenceId), ctx.Request.ContentType, body,
                            ctx.Response.Headers[SageMakerRuntimeHeaders.InvokeEndpointWithResponseStreamContentType], captured?.ToArray());
                    return relayed;
                }
                var payload = await ReadBoundedAsync(response.Content, MaxPayloadBytes, ctx.Http.RequestAborted);
                var modelMicros = (long)System.Diagnostics.Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
                // The model was unloaded between choosing it and using it: once more.
                if (lease is not null && response.StatusCode == System.Net.HttpStatusCode.NotFound && attempt == 0) continue;
                var status = (int)response.StatusCode;
                if (payload is null)
                    throw ModelError(name, account, instance.Log, status, $"from primary and could not load the entire response body: it is longer than the {MaxPayloadBytes} bytes (6 MB) InvokeEndpoint returns",
                        $"The response body is longer than {MaxPayloadBytes} bytes.");
                if (!response.IsSuccessStatusCode)
                {
                    var original = System.Text.Encoding.UTF8.GetString(payload);
                    throw ModelError(name, account, instance.Log, status, $"from primary with message \"{original}\"", original);
                }
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
                ctx.Response.Headers[SageMakerRuntimeHeaders.InvokedProductionVariant] = variant.Name;
                if (response.Headers.TryGetValues(SageMakerRuntimeHeaders.CustomAttributes, out var back))
                    ctx.Response.Headers[SageMakerRuntimeHeaders.CustomAttributes] = string.Join(",", back);
                ctx.Response.ContentLength = payload.Length;
                await ctx.Response.Body.WriteAsync(payload, ctx.Http.RequestAborted);
                // Data capture copies the input when it samples the request, and keeps the output's array.
                capture?.Record(ctx.Header(SageMakerRuntimeHeaders.InferenceId), ctx.Request.ContentType, body, ctx.Response.ContentType, payload);
                return (modelMicros, false);
            }
            catch (HttpRequestException) when (attempt == 0 && !ctx.Http.RequestAborted.IsCancellationRequested)
            {
                failed = instance; // the instance went away under the request: once more, elsewhere
            }
            catch (TaskCanceledException e) when (attempt == 0 && e.InnerException is not TimeoutException && !ctx.Http.RequestAborted.IsCancellationRequested)
            {
                // Not the 60 s timeout (that one carries a TimeoutException): the instance was disposed
                // under the request (killed, or its zone failed) and its client cancelled what it sent.
                failed = instance;
            }
            catch (TaskCanceledException) when (!ctx.Http.RequestAborted.IsCancellationRequested)
            {
                throw new ModelInvocationFailed("Your invocation timed out while waiting for a response from container primary.", "0", "timed out after 60 seconds", instance.Log?.Arn(region));
            }
            catch (HttpRequestException e)
            {
                throw SageMakerRuntimeErrors.ServiceUnavailable($"The model container of variant {variant.Name} could not be reached: {e.Message}");
            }
            finally
            {
                instance.Exit();
                lease?.Dispose();
            }
        }
    }

    /// <summary>
    /// InvokeEndpointWithResponseStream's answer: 200 with the headers at once, then each piece
    /// of the container's body as a <c>PayloadPart</c> event as soon as it is read (nothing is
    /// buffered beyond one read). A container whose body breaks off (its connection reset, the
    /// instance killed) ends the stream with a <c>ModelStreamError</c> event (<c>StreamBroken</c>),
    /// as SageMaker does; a failure of Strata's own, with <c>InternalStreamFailure</c>. Returns
    /// the model latency (µs, to the last byte) and whether the stream broke. Each part is also
    /// written to <paramref name="captured"/> when data capture wants the output.
    /// </summary>
    static async Task<(long ModelMicros, bool StreamBroken)> RelayAsync(RequestContext ctx, VariantRuntime variant, HttpResponseMessage response, long sent, MemoryStream? captured)
    {
        var aborted = ctx.Http.RequestAborted;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = EventStream.ContentType;
        ctx.Response.Headers[SageMakerRuntimeHeaders.InvokeEndpointWithResponseStreamContentType] = response.Content.Headers.ContentType?.ToString() ?? "application/octet-stream";
        ctx.Response.Headers[SageMakerRuntimeHeaders.InvokedProductionVariant] = variant.Name;
        if (response.Headers.TryGetValues(SageMakerRuntimeHeaders.CustomAttributes, out var back))
            ctx.Response.Headers[SageMakerRuntimeHeaders.CustomAttributes] = string.Join(",", back);
        await ctx.Response.StartAsync(aborted);
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        (string Type, string? Code, string Message)? failure = null;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(aborted);
            while (true)
            {
                int n;
                try { n = await body.ReadAsync(chunk, aborted); }
                catch (Exception e) when (!aborted.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException)
                {
                    failure = ("ModelStreamError", "StreamBroken", $"The connection to the model container of variant {variant.Name} broke before its response ended: {e.Message}");
                    break;
                }
                if (n == 0) break;
                if (captured is { Length: <= MaxPayloadBytes }) captured.Write(chunk, 0, n);
                await ctx.Response.Body.WriteAsync(EventStream.Event("PayloadPart", chunk.AsSpan(0, n)), aborted);
                await ctx.Response.Body.FlushAsync(aborted);
            }
        }
        catch (Exception e) when (!aborted.IsCancellationRequested && e is not IOException)
        {
            failure = ("InternalStreamFailure", null, $"The stream failed: {e.GetType().Name}. Try your request again.");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        var modelMicros = (long)System.Diagnostics.Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
        if (failure is not { } f) return (modelMicros, false);
        await ctx.Response.Body.WriteAsync(EventStream.Exception(f.Type, StreamErrorJson(f.Message, f.Code)), aborted);
        return (modelMicros, true);
    }

    /// <summary>An exception event's members as its JSON payload (ModelStreamError's Message and
    /// ErrorCode; InternalStreamFailure has only Message).</summary>
    static byte[] StreamErrorJson(string message, string? errorCode)
    {
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Message", message);
            if (errorCode is not null) json.WriteString("ErrorCode", errorCode);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>SageMaker's ModelError for what the container answered (<paramref name="status"/>):
    /// "Received … error (status) <paramref name="what"/>", with where its logs are: not AWS's console
    /// link, which leads nowhere here, but the instance's own stream in Strata's CloudWatch Logs
    /// (LogStreamArn) and its log file.</summary>
    ModelInvocationFailed ModelError(string endpoint, string account, WorkerLog? log, int status, string what, string original)
    {
        var received = status >= 500 ? "server error" : status >= 400 ? "client error" : "response";
        var seeAlso = log is not null
            ? $"See the log stream {log.Stream} of {log.Group} in account {account} (the file {log.File}) for more information."
            : $"See the log group /aws/sagemaker/Endpoints/{endpoint} in account {account} for more information.";
        return new ModelInvocationFailed($"Received {received} ({status}) {what}. {seeAlso}",
            status.ToString(), original, log?.Arn(region) ?? $"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint}");
    }

    /// <summary>The container's answer, but no more than <paramref name="max"/> + 1 bytes of it: null
    /// when it is longer than <paramref name="max"/> (one that says so in its Content-Length is not
    /// read at all). A body that ends short of its length is a broken connection.</summary>
    static async Task<byte[]?> ReadBoundedAsync(HttpContent content, int max, CancellationToken ct)
    {
        if (content is WorkerAnswer whole) return whole.Body.Length > max ? null : whole.Body;
        var declared = content.Headers.ContentLength;
        if (declared > max) return null;
        try
        {
            await using var stream = await content.ReadAsStreamAsync(ct);
            if (declared is { } length)
            {
                var exact = new byte[length];
                await stream.ReadExactlyAsync(exact, ct);
                return exact;
            }
            using var body = new MemoryStream();
            var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                int n;
                while ((n = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, max + 1 - body.Length)), ct)) > 0)
                {
                    body.Write(chunk, 0, n);
                    if (body.Length > max) return null;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
            }
            return body.ToArray();
        }
        catch (IOException e)
        {
            // As HttpClient says it when it reads a whole body itself: the instance went away under the request.
            throw new HttpRequestException("the container's response ended before its body did", e);
        }
    }

    /// <summary>A serverless variant at its MaxConcurrency. The model declares no throttling error
    /// for InvokeEndpoint; SageMaker answers with the common ThrottlingException.</summary>
    static AwsException Throttling() => new("ThrottlingException", 400, "Rate exceeded");

    static (string Bucket, string Key) SplitS3(string url)
    {
        var path = url.StartsWith("s3://", StringComparison.Ordinal) ? url[5..] : url;
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }
}
