using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Strata.Worker;

// Strata's built-in inference container: the SageMaker serving-container contract
// (GET /ping, POST /invocations) over ONNX Runtime. Configured by environment, as a container is:
//   SAGEMAKER_BIND_TO_PORT   TCP port on 127.0.0.1 (default 8080)
//   STRATA_WORKER_SOCKET     a Unix domain socket path to listen on instead
//   STRATA_WORKER_FRAMES     a Unix domain socket path for the router's framed transport (Frames.cs):
//                            invocations without HTTP, beside the HTTP contract
//   SM_MODEL_DIR             directory holding model.onnx (default /opt/ml/model)
//   STRATA_WORKER_THREADS    ONNX Runtime intra-op threads (default 1)
//   STRATA_EXECUTION_PROVIDER "cuda": the model runs on ONNX Runtime's CUDA execution provider (GPU
//                            instance types, CUDA_VISIBLE_DEVICES naming the instance's GPUs)
//   SAGEMAKER_MULTI_MODEL    "true": the multi-model container API (POST/GET/DELETE /models,
//                            POST /models/{name}/invoke) instead of one model at start
//   STRATA_MODEL_MEMORY_MB   the memory loaded models may take in multi-model mode (507 beyond)
//   STRATA_DEFAULT_ACCEPT    the response type when a request names no Accept (default application/json)
//   STRATA_RESPONSE_FORMAT   "linear-learner", "kmeans" or "pca": JSON (and JSON Lines) as that AWS
//                            algorithm's container writes it
//   STRATA_MAX_BATCH_SIZE    above 1: dynamic batching, concurrent requests stacked into one run of
//                            at most this many records (Batcher)
//   STRATA_MAX_BATCH_DELAY_MS how long the first request of a batch waits for others (default 5)
// A model exported for text generation (input_ids → logits) is answered token by token (Generation.cs).
// `strata-worker --isolated-container -- COMMAND…`: run a container of one's own inside the
// network namespace the server started this process in (EnableNetworkIsolation).
if (args.Length > 0 && args[0] == "--isolated-container")
    return await IsolatedContainer.RunAsync(Environment.GetEnvironmentVariable("STRATA_WORKER_SOCKET") ?? "", args.SkipWhile(a => a != "--").Skip(1).ToArray());

// A request without Accept gets the container's own default (STRATA_DEFAULT_ACCEPT: text/csv for AWS's XGBoost image).
var defaultAccept = Environment.GetEnvironmentVariable("STRATA_DEFAULT_ACCEPT") is { Length: > 0 } fallback ? fallback : Codecs.Json;
// STRATA_RESPONSE_FORMAT: JSON answers shaped as an AWS algorithm container's (Codecs.Encode).
var responseFormat = Environment.GetEnvironmentVariable("STRATA_RESPONSE_FORMAT") is { Length: > 0 } format ? format : null;
var threads = int.TryParse(Environment.GetEnvironmentVariable("STRATA_WORKER_THREADS"), out var t) && t > 0 ? t : 1;
var multiModel = string.Equals(Environment.GetEnvironmentVariable("SAGEMAKER_MULTI_MODEL"), "true", StringComparison.OrdinalIgnoreCase);
OnnxModel? model = null;
ModelRegistry? registry = null;
if (multiModel)
{
    var budgetMb = long.TryParse(Environment.GetEnvironmentVariable("STRATA_MODEL_MEMORY_MB"), out var mb) && mb > 0 ? mb : 1024;
    registry = new ModelRegistry(budgetMb * 1024 * 1024, threads);
    Console.WriteLine($"strata-worker: multi-model, {budgetMb} MB for loaded models");
}
else
{
    var modelDir = Environment.GetEnvironmentVariable("SM_MODEL_DIR") is { Length: > 0 } d ? d : "/opt/ml/model";
    var modelPath = Path.Combine(modelDir, "model.onnx");
    if (!File.Exists(modelPath))
    {
        Console.Error.WriteLine($"strata-worker: no model.onnx in the model directory {modelDir}");
        return 2;
    }
    try
    {
        model = new OnnxModel(modelPath, threads, cuda: Environment.GetEnvironmentVariable("STRATA_EXECUTION_PROVIDER") == "cuda");
    }
    catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException)
    {
        Console.Error.WriteLine($"strata-worker: the model failed to load: {e.Message}");
        return 3;
    }
    Console.WriteLine($"strata-worker: loaded {modelPath}: inputs {model.Describe()}; outputs {string.Join(", ", model.Outputs)}");
}

Batcher? batcher = null;
if (model is not null && int.TryParse(Environment.GetEnvironmentVariable("STRATA_MAX_BATCH_SIZE"), out var batchSize) && batchSize > 1)
{
    var delay = int.TryParse(Environment.GetEnvironmentVariable("STRATA_MAX_BATCH_DELAY_MS"), out var ms) && ms >= 0 ? ms : 5;
    batcher = new Batcher(model, batchSize, TimeSpan.FromMilliseconds(delay));
    Console.WriteLine(batcher.Batchable
        ? $"strata-worker: dynamic batching, up to {batchSize} records, {delay} ms"
        : $"strata-worker: STRATA_MAX_BATCH_SIZE is set, but the model's inputs have a fixed first dimension: requests run one by one");
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = 128 * 1024 * 1024;
    if (Environment.GetEnvironmentVariable("STRATA_WORKER_SOCKET") is { Length: > 0 } socket)
    {
        if (File.Exists(socket)) File.Delete(socket);
        kestrel.ListenUnixSocket(socket);
    }
    else
    {
        var port = int.TryParse(Environment.GetEnvironmentVariable("SAGEMAKER_BIND_TO_PORT"), out var p) ? p : 8080;
        kestrel.ListenLocalhost(port);
    }
});
var app = builder.Build();

// A worker never outlives the server that started it (STRATA_PARENT_PID): if the server is
// killed, even with SIGKILL, its workers notice within a second and exit.
if (int.TryParse(Environment.GetEnvironmentVariable("STRATA_PARENT_PID"), out var parentPid))
{
    _ = Task.Run(async () =>
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (!ParentAlive(parentPid)) Environment.Exit(0);
        }
    });
}

app.MapGet("/ping", () => Results.Ok());
if (model is not null) app.MapPost("/invocations", (HttpContext http) => Invoke(http, model, defaultAccept, responseFormat, batcher));
if (registry is not null)
{
    app.MapPost("/models", async (HttpContext http) =>
    {
        System.Text.Json.JsonElement request;
        try { request = await System.Text.Json.JsonSerializer.DeserializeAsync<System.Text.Json.JsonElement>(http.Request.Body); }
        catch (System.Text.Json.JsonException) { await Error(http, 400, "the body must be {\"model_name\": …, \"url\": …}"); return; }
        var name = request.TryGetProperty("model_name", out var n) ? n.GetString() : null;
        var url = request.TryGetProperty("url", out var u) ? u.GetString() : null;
        if (name is null || url is null) { await Error(http, 400, "model_name and url are required"); return; }
        var (status, message) = registry.Load(name, url);
        await Error(http, status, message);
    });
    app.MapGet("/models", () => Results.Json(new { models = registry.List().Select(m => new { modelName = m.Name, modelUrl = m.Url }) }));
    app.MapGet("/models/{name}", (string name) => registry.Find(name) is { } m
        ? Results.Json(new { modelName = m.Name, modelUrl = m.Url }) : Results.Json(new { message = $"model {name} is not loaded" }, statusCode: 404));
    app.MapDelete("/models/{name}", async (HttpContext http, string name) =>
        await Error(http, registry.Unload(name) ? 200 : 404, registry.Find(name) is null ? $"model {name} unloaded" : $"model {name} is not loaded"));
    app.MapPost("/models/{name}/invoke", async (HttpContext http, string name) =>
    {
        if (registry.Use(name) is not { } loaded) { await Error(http, 404, $"model {name} is not loaded"); return; }
        await Invoke(http, loaded, defaultAccept, responseFormat);
    });
}

// STRATA_WORKER_FRAMES: the router's framed transport (Frames.cs), bound before /ping answers.
using var frames = Environment.GetEnvironmentVariable("STRATA_WORKER_FRAMES") is { Length: > 0 } framesPath
    ? FrameServer.Listen(framesPath, (connection, id, target, headers, body) => Framed(connection, id, target, headers, body, model, registry, defaultAccept, responseFormat, batcher))
    : null;
await app.RunAsync();
return 0;

static bool ParentAlive(int pid)
{
    try
    {
        using var parent = Process.GetProcessById(pid);
        return !parent.HasExited;
    }
    catch (ArgumentException)
    {
        return false;
    }
}

static async Task Invoke(HttpContext http, OnnxModel model, string defaultAccept, string? responseFormat, Batcher? batcher = null)
{
    // As over frames (FrameServer), a body of known length is read into a pooled array, given back
    // once the request is answered: a large body of its own would be large-object garbage.
    PooledBody? owner = null;
    try
    {
        ReadOnlyMemory<byte> body;
        if (http.Request.ContentLength is { } length and > 0 and <= FrameConnection.MaxBody)
        {
            owner = PooledBody.Rent((int)length);
            await http.Request.Body.ReadExactlyAsync(owner.Segment);
            body = owner.Segment;
        }
        else
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            body = buffer.ToArray();
        }
        await Serve(http, model, body, defaultAccept, responseFormat, batcher);
    }
    finally
    {
        owner?.Release();
    }

    static async Task Serve(HttpContext http, OnnxModel model, ReadOnlyMemory<byte> body, string defaultAccept, string? responseFormat, Batcher? batcher)
    {
        if (Generation.Generates(model))
        {
            var (lines, refusal) = StartGeneration(http.Request.Path, model, http.Request.ContentType, body);
            if (lines is not null)
            {
                // Each token as it is chosen: HTTP/1.1 chunks, flushed one by one.
                http.Response.ContentType = Codecs.JsonLines;
                try
                {
                    do
                    {
                        await http.Response.Body.WriteAsync(lines.Current);
                        await http.Response.Body.FlushAsync();
                    }
                    while (lines.MoveNext());
                }
                catch (Exception e) when (e is OnnxRuntimeException or PayloadException)
                {
                    // Mid-answer: the status is sent, so the answer breaks off (the router relays it as ModelStreamError).
                    Console.Error.WriteLine($"strata-worker: POST {http.Request.Path} broke off: {e.Message}");
                    http.Abort();
                }
                return;
            }
            await Write(http, refusal!.Value);
            return;
        }
        await Write(http, await Answer(http.Request.Path, model, http.Request.ContentType, http.Request.Headers.Accept, body, defaultAccept, responseFormat, batcher));
    }
}

static async Task Write(HttpContext http, InvocationAnswer answer)
{
    http.Response.StatusCode = answer.Status;
    http.Response.ContentType = answer.ContentType;
    foreach (var (name, value) in answer.Headers) http.Response.Headers[name] = value;
    http.Response.ContentLength = answer.Body.Length;
    await http.Response.Body.WriteAsync(answer.Body);
}

// One invocation, whichever transport brought it: the answer's status, type, extra headers and body.
static async Task<InvocationAnswer> Answer(string path, OnnxModel model, string? contentType, string? acceptHeader, ReadOnlyMemory<byte> body, string defaultAccept, string? responseFormat,
    Batcher? batcher)
{
    try
    {
        var accept = Codecs.Negotiate(acceptHeader, defaultAccept);
        var inputs = Codecs.Decode(contentType, body, model);
        var started = Stopwatch.GetTimestamp();
        var outputs = batcher is null ? model.Run(inputs) : await batcher.RunAsync(inputs);
        var latency = ((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new(200, accept, Codecs.Encode(accept, outputs, responseFormat), [new("X-Strata-Model-Latency-Us", latency)]);
    }
    catch (PayloadException e)
    {
        // The line at fault travels beside the message: batch transform maps it to the input object's.
        return Refused(path, e.Status, e.Message,
            e.Line is { } line ? [new(PayloadException.LineHeader, line.ToString(System.Globalization.CultureInfo.InvariantCulture))] : []);
    }
    catch (OnnxRuntimeException e)
    {
        // ONNX Runtime refuses what the codecs let through (values out of range, …): the caller's input.
        return Refused(path, 400, $"the model could not run on this payload: {e.Message}; it expects {model.Describe()}", []);
    }
}

// Starts a generation (Generation.cs): its first line is computed before anything is sent, so a bad
// request still gets its refusal (the enumerator's Current is that line), not a broken stream.
static (IEnumerator<byte[]>? Lines, InvocationAnswer? Refusal) StartGeneration(string path, OnnxModel model, string? contentType, ReadOnlyMemory<byte> body)
{
    try
    {
        var lines = Generation.Lines(model, Generation.Parse(contentType, body)).GetEnumerator();
        lines.MoveNext();
        return (lines, null);
    }
    catch (PayloadException e) { return (null, Refused(path, e.Status, e.Message, [])); }
    catch (OnnxRuntimeException e) { return (null, Refused(path, 400, $"the model could not run on this payload: {e.Message}; it expects {model.Describe()}", [])); }
}

// A refused request is also written to the container's log, as a framework container logs it:
// the ModelError's LogStreamArn names the stream, and the answer is found there.
static InvocationAnswer Refused(string path, int status, string message, List<KeyValuePair<string, string>> headers)
{
    Console.Error.WriteLine($"strata-worker: POST {path} answered {status}: {message}");
    return new(status, "application/json", ErrorJson(message), headers);
}

static async Task Error(HttpContext http, int status, string message)
{
    http.Response.StatusCode = status;
    http.Response.ContentType = "application/json";
    await http.Response.Body.WriteAsync(ErrorJson(message));
}

static byte[] ErrorJson(string message)
{
    using var buffer = new MemoryStream();
    using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
    {
        json.WriteStartObject();
        json.WriteString("message", message);
        json.WriteEndObject();
    }
    return buffer.ToArray();
}

// Invocations over the framed transport (STRATA_WORKER_FRAMES): the same answers as over HTTP.
static async Task Framed(FrameConnection connection, int id, string target, List<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body,
    OnnxModel? model, ModelRegistry? registry, string defaultAccept, string? responseFormat, Batcher? batcher)
{
    InvocationAnswer answer;
    try
    {
        var path = "/" + target;
        var contentType = FrameMeta.Find(headers, "Content-Type");
        var name = registry is not null && target.StartsWith("models/", StringComparison.Ordinal) && target.EndsWith("/invoke", StringComparison.Ordinal)
            ? Uri.UnescapeDataString(target["models/".Length..^"/invoke".Length]) : null;
        var chosen = target == "invocations" ? model : name is not null ? registry!.Use(name) : null;
        if (chosen is not null && Generation.Generates(chosen))
        {
            var (lines, refusal) = StartGeneration(path, chosen, contentType, body);
            if (lines is not null)
            {
                StreamGeneration(connection, id, path, lines);
                return;
            }
            answer = refusal!.Value;
        }
        else if (chosen is not null)
            answer = await Answer(path, chosen, contentType, FrameMeta.Find(headers, "Accept"), body, defaultAccept, responseFormat, chosen == model ? batcher : null);
        else answer = new(404, "application/json", ErrorJson(name is not null ? $"model {name} is not loaded" : $"no such path: /{target}"), []);
    }
    catch (Exception e)
    {
        // As Kestrel answers a handler that threw (500, no body): the router then reports the model's 500.
        Console.Error.WriteLine($"strata-worker: /{target} failed: {e}");
        answer = new(500, "application/json", [], []);
    }
    try
    {
        var meta = FrameMeta.Encode(answer.Status, "", [new("Content-Type", answer.ContentType), .. answer.Headers]);
        if (answer.Body.Length <= FrameConnection.MaxBody) connection.Send(id, FrameKind.Response, meta, answer.Body);
        else
        {
            // Larger than one frame carries: streamed in parts, as HTTP would have sent it.
            connection.Send(id, FrameKind.Head, meta, default);
            for (var at = 0; at < answer.Body.Length; at += FrameConnection.MaxBody)
                connection.Send(id, FrameKind.Data, null, new ArraySegment<byte>(answer.Body, at, Math.Min(FrameConnection.MaxBody, answer.Body.Length - at)));
            connection.Send(id, FrameKind.End, null, default);
        }
    }
    catch (IOException) { } // the router went away: nobody waits for the answer
}

// A generation's lines as the frames of a streamed answer: Head, a Data frame per line, End (or Abort
// when the model fails mid-answer, which the router relays as ModelStreamError).
static void StreamGeneration(FrameConnection connection, int id, string path, IEnumerator<byte[]> lines)
{
    try
    {
        connection.Send(id, FrameKind.Head, FrameMeta.Encode(200, "", [new("Content-Type", Codecs.JsonLines)]), default);
        try
        {
            do connection.Send(id, FrameKind.Data, null, lines.Current);
            while (lines.MoveNext());
        }
        catch (Exception e) when (e is OnnxRuntimeException or PayloadException)
        {
            Console.Error.WriteLine($"strata-worker: POST {path} broke off: {e.Message}");
            connection.Send(id, FrameKind.Abort, null, System.Text.Encoding.UTF8.GetBytes(e.Message));
            return;
        }
        connection.Send(id, FrameKind.End, null, default);
    }
    catch (IOException) { } // the router went away: nobody reads the rest
}

readonly record struct InvocationAnswer(int Status, string ContentType, byte[] Body, List<KeyValuePair<string, string>> Headers);
