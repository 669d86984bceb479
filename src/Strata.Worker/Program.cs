using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Strata.Worker;

// Strata's built-in inference container: the SageMaker serving-container contract
// (GET /ping, POST /invocations) over ONNX Runtime. Configured by environment, as a container is:
//   SAGEMAKER_BIND_TO_PORT   TCP port on 127.0.0.1 (default 8080)
//   STRATA_WORKER_SOCKET     a Unix domain socket path to listen on instead
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
    byte[] body;
    using (var buffer = new MemoryStream())
    {
        await http.Request.Body.CopyToAsync(buffer);
        body = buffer.ToArray();
    }
    try
    {
        var accept = Codecs.Negotiate(http.Request.Headers.Accept, defaultAccept);
        var inputs = Codecs.Decode(http.Request.ContentType, body, model);
        var started = Stopwatch.GetTimestamp();
        var outputs = batcher is null ? model.Run(inputs) : await batcher.RunAsync(inputs);
        http.Response.Headers["X-Strata-Model-Latency-Us"] = ((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds).ToString();
        var result = Codecs.Encode(accept, outputs, responseFormat);
        http.Response.ContentType = accept;
        http.Response.ContentLength = result.Length;
        await http.Response.Body.WriteAsync(result);
    }
    catch (PayloadException e)
    {
        // The line at fault travels beside the message: batch transform maps it to the input object's.
        if (e.Line is { } line) http.Response.Headers[PayloadException.LineHeader] = line.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Refused(http, e.Status, e.Message);
    }
    catch (OnnxRuntimeException e)
    {
        // ONNX Runtime refuses what the codecs let through (values out of range, …): the caller's input.
        await Refused(http, 400, $"the model could not run on this payload: {e.Message}; it expects {model.Describe()}");
    }
}

// A refused request is also written to the container's log, as a framework container logs it:
// the ModelError's LogStreamArn names the stream, and the answer is found there.
static Task Refused(HttpContext http, int status, string message)
{
    Console.Error.WriteLine($"strata-worker: POST {http.Request.Path} answered {status}: {message}");
    return Error(http, status, message);
}

static async Task Error(HttpContext http, int status, string message)
{
    http.Response.StatusCode = status;
    http.Response.ContentType = "application/json";
    using var buffer = new MemoryStream();
    using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
    {
        json.WriteStartObject();
        json.WriteString("message", message);
        json.WriteEndObject();
    }
    await http.Response.Body.WriteAsync(buffer.ToArray());
}
