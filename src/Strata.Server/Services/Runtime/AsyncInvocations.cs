using Microsoft.AspNetCore.Http;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Runtime;

// InvokeEndpointAsync: the request is queued (AsyncInference runs the queue) and answered 202
// with where its answer will be. Queued requests come back here to run through the same path as
// InvokeEndpoint, so routing, retries, multi-model and metrics are one mechanism.
public sealed partial class RuntimeService
{
    static readonly RestOperation InvokeAsyncOperation = SageMakerRuntimeOperations.InvokeEndpointAsync;

    /// <summary>The endpoint records the asynchronous path reads (status, AsyncInferenceConfig, role); set by the composition root.</summary>
    public Func<string, string, EndpointFacts?>? Endpoints { get; set; }

    /// <summary>The queue InvokeEndpointAsync puts requests in; set by the composition root.</summary>
    public AsyncInference? Async { get; set; }

    Operation AsyncOperation => new(InvokeAsyncOperation.Name, "sagemaker:InvokeEndpointAsync", EndpointArn, InvokeEndpointAsync);

    Task InvokeEndpointAsync(RequestContext ctx)
    {
        var name = ctx.PathParameters[EndpointName];
        var account = ctx.Principal.AccountId;
        var facts = Endpoints?.Invoke(account, name);
        if (facts is null) throw Validation($"Endpoint {name} of account {account} not found.");
        if (facts.Async is not { } settings)
            throw Validation($"Endpoint {name} of account {account} is not an asynchronous inference endpoint: its endpoint configuration has no AsyncInferenceConfig. Use InvokeEndpoint.");
        if (facts.Status is not ("InService" or "Updating"))
            throw NotRunning(name, account, (facts.Status, facts.FailureReason));
        var queue = Async ?? throw new InvalidOperationException("the asynchronous inference queue is not set");

        var input = ctx.Header(SageMakerRuntimeHeaders.InputLocation);
        if (string.IsNullOrEmpty(input))
            throw Validation("1 validation error detected: Value null at 'inputLocation' failed to satisfy constraint: Member must not be null");
        if (!input.StartsWith("s3://", StringComparison.Ordinal) || AsyncInference.SplitS3(input) is not ({ Length: > 0 }, { Length: > 0 }))
            throw Validation($"InputLocation {input} is not a valid S3 URI (s3://bucket/key).");
        var ttl = IntHeader(ctx, SageMakerRuntimeHeaders.RequestTTLSeconds, "requestTTLSeconds", 60, 21600) ?? AsyncInference.DefaultRequestTTLSeconds;
        var timeout = IntHeader(ctx, SageMakerRuntimeHeaders.InvocationTimeoutSeconds, "invocationTimeoutSeconds", 1, 3600) ?? AsyncInference.DefaultInvocationTimeoutSeconds;
        var inferenceId = ctx.Header(SageMakerRuntimeHeaders.InferenceId);
        if (inferenceId is { Length: 0 or > 64 })
            throw Validation($"1 validation error detected: Value '{inferenceId}' at 'inferenceId' failed to satisfy constraint: Member must have length between 1 and 64");
        inferenceId ??= Guid.NewGuid().ToString();

        // The answer's key is the inference id (AWS's naming), so a request run again overwrites it.
        var extension = ctx.Header(SageMakerRuntimeHeaders.S3OutputPathExtension)?.Trim('/');
        var fileName = ctx.Header(SageMakerRuntimeHeaders.Filename) ?? inferenceId + ".out";
        var output = Join(Join(settings.S3OutputPath, extension), fileName);
        var failure = Join(settings.S3FailurePath ?? settings.S3OutputPath, inferenceId + "-error.out");

        var now = queue.Now;
        queue.Enqueue(new AsyncRequestRow
        {
            Account = account,
            EndpointName = name,
            InferenceId = inferenceId,
            InputLocation = input,
            ContentType = ctx.Header(SageMakerRuntimeHeaders.InvokeEndpointAsyncContentType),
            Accept = ctx.Header(SageMakerRuntimeHeaders.InvokeEndpointAsyncAccept),
            CustomAttributes = ctx.Header(SageMakerRuntimeHeaders.CustomAttributes),
            OutputLocation = output,
            FailureLocation = failure,
            ReceivedTime = now,
            ExpiresAt = now.AddSeconds(ttl),
            InvocationTimeoutSeconds = timeout,
        });

        ctx.Response.StatusCode = 202;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers[SageMakerRuntimeHeaders.OutputLocation] = output;
        ctx.Response.Headers[SageMakerRuntimeHeaders.FailureLocation] = failure;
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("InferenceId", inferenceId);
            json.WriteEndObject();
        }
        ctx.Response.ContentLength = buffer.Length;
        return ctx.Response.Body.WriteAsync(buffer.ToArray(), ctx.Http.RequestAborted).AsTask();
    }

    static string Join(string prefix, string? part) => string.IsNullOrEmpty(part) ? prefix : prefix.TrimEnd('/') + "/" + part;

    static int? IntHeader(RequestContext ctx, string header, string member, int min, int max)
    {
        if (ctx.Header(header) is not { } text) return null;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw Validation($"1 validation error detected: Value '{text}' at '{member}' failed to satisfy constraint: Member must have value between {min} and {max}");
        return value;
    }

    /// <summary>
    /// A queued request's run: the same path as InvokeEndpoint (variant and instance picked,
    /// retried once on a dead instance, metrics recorded), with the answer collected instead of
    /// sent. Throws what InvokeEndpoint would answer: <see cref="ModelInvocationFailed"/>, or an
    /// <see cref="AwsException"/> (ServiceUnavailable when no instance runs now).
    /// </summary>
    public Task<(byte[] Body, string? ContentType)> InvokeQueuedAsync(string account, string endpoint, byte[] body, string? contentType,
        string? accept, string? customAttributes, CancellationToken ct)
        => InvokeInternalAsync(account, endpoint, body, contentType, accept, customAttributes, shadow: false, ct);

    /// <summary>A model-explainability analysis's request to the endpoint it monitors (Clarify asks a
    /// shadow endpoint of the same model): InvokeEndpoint's path, not captured (the next window must
    /// not explain the analysis's own synthetic records) and not in the endpoint's metrics.</summary>
    public Task<(byte[] Body, string? ContentType)> InvokeForAnalysisAsync(string account, string endpoint, byte[] body, string contentType, string accept, CancellationToken ct)
        => InvokeInternalAsync(account, endpoint, body, contentType, accept, null, shadow: true, ct);

    async Task<(byte[] Body, string? ContentType)> InvokeInternalAsync(string account, string endpoint, byte[] body, string? contentType,
        string? accept, string? customAttributes, bool shadow, CancellationToken ct)
    {
        var http = new DefaultHttpContext { RequestAborted = ct };
        http.Request.Method = "POST";
        http.Request.ContentType = contentType;
        if (accept is not null) http.Request.Headers[SageMakerRuntimeHeaders.Accept] = accept;
        if (customAttributes is not null) http.Request.Headers[SageMakerRuntimeHeaders.CustomAttributes] = customAttributes;
        using var answer = new MemoryStream();
        http.Response.Body = answer;
        var ctx = new RequestContext(http, Guid.NewGuid().ToString(), region, secureTransport: true)
        {
            // The handler reads only the account; whatever might authorize against this principal
            // later must find no permissions (fail closed), never an account root's.
            Principal = new Principal(PrincipalType.Anonymous, account, "*", "anonymous", null, InvokedBy: "sagemaker.amazonaws.com"),
            BufferedBody = body,
        };
        ctx.PathParameters[EndpointName] = endpoint;
        await InvokeEndpoint(ctx, stream: false, queued: true, shadow: shadow);
        return (answer.ToArray(), http.Response.ContentType);
    }
}
