using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Server.Auth;

/// <summary>
/// The small classifier served four ways in one run, at 1, 8 and 64 concurrent connections:
/// ONNX Runtime in-process (the engine floor), the bare worker (Kestrel calling ONNX Runtime
/// in-process: the HTTP floor), and Strata's InvokeEndpoint (SigV4, routing, the worker hop);
/// plus CreateEndpoint → InService time. Prints a Markdown table.
/// </summary>
public static class InvokeLoad
{
    internal const string KeyId = "AKIABENCH00000000000";
    internal const string Secret = "bench-secret-bench-secret-bench-secret00";
    static readonly byte[] Payload = Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");

    /// <summary>A model and one request for it.</summary>
    sealed record Case(string Name, string ModelPath, string InputName, int[] Shape, float[] Input, byte[] Payload, string ContentType, bool Python, int[] Concurrency);

    public static async Task RunAsync(double seconds)
    {
        var root = FindRoot();
        var bin = Path.GetDirectoryName(typeof(InvokeLoad).Assembly.Location)!;
        var image = ResNetImage();
        Case[] cases =
        [
            new("small classifier", Path.Combine(root, "models", "classifier", "model.onnx"), "features", [1, 4], [5.1f, 3.5f, 1.4f, 0.2f], Payload, "application/json", Python: true, [1, 8, 64]),
            new("ResNet18, one 224×224 image as .npy", Path.Combine(bin, "resnet18", "model.onnx"), "Input247", [1, 3, 224, 224], image, Npy(image, [1, 3, 224, 224]), "application/x-npy", Python: false, [1, 8]),
        ];
        // STRATA_BENCH_QUICK=1: the small classifier at 64 connections (or those listed in
        // STRATA_BENCH_CONNECTIONS, e.g. "1,64"), bare worker and Strata only (for trying a change;
        // the recorded results come from the full run).
        var quick = Environment.GetEnvironmentVariable("STRATA_BENCH_QUICK") == "1";
        int[] connections = Environment.GetEnvironmentVariable("STRATA_BENCH_CONNECTIONS") is { Length: > 0 } list ? [.. list.Split(',').Select(int.Parse)] : [64];
        foreach (var c in quick ? [cases[0] with { Concurrency = connections, Python = false }] : cases) await RunCaseAsync(c, seconds, root, bin, quick);
    }

    /// <summary>Each server is loaded for this long at 8 connections before its first measured row,
    /// so that every row sees code the JIT has finished optimising (tiered compilation and PGO
    /// take seconds of load to settle; a measured row right after start-up paid for compiling).</summary>
    const double WarmUpSeconds = 3;

    static IEnumerable<(int Connections, bool WarmUp)> WithWarmUp(int[] concurrency) => [(8, true), .. concurrency.Select(c => (c, false))];

    /// <summary>The ResNet18 rows' input: one 224×224 RGB image of a fixed pattern.</summary>
    internal static float[] ResNetImage()
    {
        var image = new float[3 * 224 * 224];
        for (var i = 0; i < image.Length; i++) image[i] = (i % 255) / 255f;
        return image;
    }

    internal static byte[] Npy(float[] values, int[] shape)
    {
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}), }}";
        header += new string(' ', (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + values.Length * 4];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        BitConverter.GetBytes((ushort)header.Length).CopyTo(bytes, 8);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        Buffer.BlockCopy(values, 0, bytes, 10 + header.Length, values.Length * 4);
        return bytes;
    }

    static async Task RunCaseAsync(Case spec, double seconds, string root, string bin, bool quick)
    {
        var model = spec.ModelPath;
        var rows = new List<string>();
        var concurrency = spec.Concurrency;
        Console.WriteLine($"## {spec.Name}");

        // 1. ONNX Runtime in-process.
        if (!quick)
            using (var session = new InferenceSession(model, new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 }))
            {
                foreach (var c in concurrency)
                {
                    var r = await MeasureAsync(c, seconds, () =>
                    {
                        var input = NamedOnnxValue.CreateFromTensor(spec.InputName, new DenseTensor<float>(spec.Input, spec.Shape));
                        using var results = session.Run([input]);
                        return Task.CompletedTask;
                    }, watch: []);
                    rows.Add(Row("ONNX Runtime in-process (engine floor)", c, r));
                }
            }

        // 2. The worker alone: Kestrel + ONNX Runtime over TCP.
        var port = FreePort();
        var worker = Start("dotnet", [Path.Combine(bin, "strata-worker.dll")], new() { ["SM_MODEL_DIR"] = Path.GetDirectoryName(model)!, ["SAGEMAKER_BIND_TO_PORT"] = port.ToString(), ["STRATA_WORKER_THREADS"] = "1" });
        try
        {
            await WaitAsync($"http://127.0.0.1:{port}/ping");
            foreach (var (c, warm) in WithWarmUp(concurrency))
            {
                using var http = Client(c);
                var r = await MeasureAsync(c, warm ? WarmUpSeconds : seconds, async () =>
                {
                    using var content = new ByteArrayContent(spec.Payload);
                    content.Headers.ContentType = new(spec.ContentType);
                    using var response = await http.PostAsync($"http://127.0.0.1:{port}/invocations", content);
                    response.EnsureSuccessStatusCode();
                    await response.Content.ReadAsByteArrayAsync();
                }, watch: [worker.Id]);
                if (!warm) rows.Add(Row("Kestrel + ONNX Runtime, the bare worker (HTTP floor)", c, r));
            }
        }
        finally { worker.Kill(true); }

        // 3. What a Python user would write instead: FastAPI + uvicorn + numpy (Debian's packages).
        var pyPort = FreePort();
        var python = !spec.Python ? null : Start("/usr/bin/python3", [Path.Combine(root, "bench", "fastapi_classifier.py"), pyPort.ToString()], []);
        try
        {
            if (python is null) throw new TimeoutException();
            await WaitAsync($"http://127.0.0.1:{pyPort}/ping");
            foreach (var (c, warm) in WithWarmUp(concurrency))
            {
                using var http = Client(c);
                var r = await MeasureAsync(c, warm ? WarmUpSeconds : seconds, async () =>
                {
                    using var content = new ByteArrayContent(Payload);
                    content.Headers.ContentType = new("application/json");
                    using var response = await http.PostAsync($"http://127.0.0.1:{pyPort}/invocations", content);
                    response.EnsureSuccessStatusCode();
                    await response.Content.ReadAsByteArrayAsync();
                }, watch: [python.Id]);
                if (!warm) rows.Add(Row("FastAPI + uvicorn + numpy (the Python server)", c, r));
            }
        }
        catch (TimeoutException)
        {
            Console.WriteLine(python is null
                ? "FastAPI baseline: not for this model (Debian has no ONNX Runtime for Python, and numpy alone cannot run it)"
                : "FastAPI baseline skipped: /usr/bin/python3 needs python3-fastapi, python3-uvicorn and python3-numpy");
        }
        finally { python?.Kill(true); }

        // 4. Strata: deploy through the API, then InvokeEndpoint; the router reaching the worker
        // over the framed transport and, as the baseline in the same run, over HTTP
        // (STRATA_WORKER_TRANSPORT=http), alternating STRATA_BENCH_ROUNDS times (default 1).
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("STRATA_BENCH_ROUNDS"), out var n) && n > 0 ? n : 1;
        foreach (var transport in Enumerable.Repeat(new[] { "frames", "http" }, rounds).SelectMany(t => t))
        {
            var (server, endpoint, dataDir) = await StartStrataAsync(bin, transport);
            string createToInService;
            try
            {
                using var api = Client(64);
                createToInService = $"{(await DeployAsync(api, endpoint, model)).TotalMilliseconds:F0} ms";

                int[] watch = [server.Id, .. Children(server.Id)];
                foreach (var (c, warm) in WithWarmUp(concurrency))
                {
                    using var http = Client(c);
                    var r = await MeasureAsync(c, warm ? WarmUpSeconds : seconds, async () =>
                    {
                        var body = await Send(http, endpoint, "sagemaker", "POST", "/endpoints/bench/invocations", spec.ContentType, spec.Payload);
                        if (body.Length == 0) throw new InvalidOperationException("empty answer");
                    }, watch: watch);
                    if (!warm) rows.Add(Row(transport == "http" ? "Strata InvokeEndpoint, worker hop over HTTP (the baseline)" : "Strata InvokeEndpoint, worker hop over frames", c, r));
                }
                var metrics = await api.GetStringAsync($"{endpoint}/_strata/metrics");
                double Metric(string name) => double.Parse(metrics.Split('\n').First(l => l.StartsWith(name + "{", StringComparison.Ordinal)).Split(' ')[1], CultureInfo.InvariantCulture);
                var overhead = Metric("aws_sagemaker_overhead_latency_sum") / Metric("aws_sagemaker_overhead_latency_count");
                var modelLatency = Metric("aws_sagemaker_model_latency_sum") / Metric("aws_sagemaker_model_latency_count");
                Console.WriteLine($"Worker hop over {transport}: CreateEndpoint → InService (1 instance): {createToInService}");
                Console.WriteLine($"Strata's own metrics over the whole run: OverheadLatency mean {overhead:F0} µs, ModelLatency mean {modelLatency:F0} µs");
            }
            finally
            {
                server.Kill(true);
                Directory.Delete(dataDir, true);
            }
        }
        Console.WriteLine();
        Console.WriteLine("| target | connections | requests/s | p50 ms | p99 ms | CPU µs per request: this process (+ server) + worker |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var row in rows) Console.WriteLine(row);
    }

    /// <summary>A Strata server of its own (a fresh data directory, the bench's root keys), its
    /// worker hop over <paramref name="transport"/>, once it answers.</summary>
    internal static async Task<(Process Server, string Endpoint, string DataDir)> StartStrataAsync(string bin, string transport)
    {
        var dataDir = Directory.CreateTempSubdirectory("strata-bench-").FullName;
        var port = FreePort();
        var env = new Dictionary<string, string> { ["STRATA_ROOT_ACCESS_KEY_ID"] = KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = Secret, ["STRATA_WORKER_TRANSPORT"] = transport };
        // STRATA_BENCH_SERVER_ENV="NAME=value;…": settings tried on Strata's server and its
        // workers alone (they inherit the server's environment), not on the floors it is compared with.
        foreach (var setting in (Environment.GetEnvironmentVariable("STRATA_BENCH_SERVER_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
            env[setting[..setting.IndexOf('=')]] = setting[(setting.IndexOf('=') + 1)..];
        var server = Start("dotnet", [Path.Combine(bin, "strata.dll"), "serve", "--port", port.ToString(), "--tls-port", "0", "--data-dir", dataDir], env);
        var endpoint = $"http://127.0.0.1:{port}";
        try { await WaitAsync($"{endpoint}/_strata/health"); }
        catch
        {
            server.Kill(true);
            throw;
        }
        return (server, endpoint, dataDir);
    }

    /// <summary>Deploys <paramref name="model"/> as endpoint "bench" (one ml.t2.medium instance)
    /// through the API, as a user would; returns CreateEndpoint → InService.</summary>
    internal static async Task<TimeSpan> DeployAsync(HttpClient api, string endpoint, string model)
    {
        await Send(api, endpoint, "s3", "PUT", "/bench", null, []);
        await Send(api, endpoint, "s3", "PUT", "/bench/model.tar.gz", null, Artifact(model));
        // The execution role SageMaker assumes to read the artifact (IAM's Query API).
        var trust = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""");
        var read = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/*"}]}""");
        var created = await Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=CreateRole&Version=2010-05-08&RoleName=bench&AssumeRolePolicyDocument={trust}"));
        var roleArn = created[(created.IndexOf("<Arn>", StringComparison.Ordinal) + 5)..created.IndexOf("</Arn>", StringComparison.Ordinal)];
        await Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=PutRolePolicy&Version=2010-05-08&RoleName=bench&PolicyName=read&PolicyDocument={read}"));
        await Json(api, endpoint, "CreateModel", "{\"ModelName\":\"bench\",\"ExecutionRoleArn\":\"" + roleArn + "\",\"PrimaryContainer\":{\"Image\":\"strata-onnx:latest\",\"ModelDataUrl\":\"s3://bench/model.tar.gz\"}}");
        await Json(api, endpoint, "CreateEndpointConfig", "{\"EndpointConfigName\":\"bench\",\"ProductionVariants\":[{\"VariantName\":\"v\",\"ModelName\":\"bench\",\"InitialInstanceCount\":1,\"InstanceType\":\"ml.t2.medium\"}]}");
        var started = Stopwatch.GetTimestamp();
        await Json(api, endpoint, "CreateEndpoint", "{\"EndpointName\":\"bench\",\"EndpointConfigName\":\"bench\"}");
        while (!(await Json(api, endpoint, "DescribeEndpoint", "{\"EndpointName\":\"bench\"}")).Contains("\"InService\"")) await Task.Delay(10);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Requests/s and latencies; with processes to watch, the CPU time each spent per
    /// request (this load generator first), which on a shared two-core machine says more about
    /// where a request's cost lies than requests/s does.</summary>
    internal record Result(double RequestsPerSecond, double P50, double P99, double[]? CpuMicrosPerRequest = null);

    static string Row(string name, int c, Result r) => $"| {name} | {c} | {r.RequestsPerSecond:F0} | {r.P50:F3} | {r.P99:F3} | {Cpu(r)} |";

    static string Cpu(Result r) => r.CpuMicrosPerRequest is { } cpu ? string.Join(" + ", cpu.Select(c => c.ToString("F0", CultureInfo.InvariantCulture))) + $" = {cpu.Sum():F0}" : "";

    /// <summary>Processor time (user + system) of a process, read from /proc; zero once it is gone.</summary>
    internal static TimeSpan ProcessorTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of stat(5), in clock ticks of 1/100 s.
            return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
        }
        catch (IOException) { return TimeSpan.Zero; }
    }

    /// <summary>The processes <paramref name="parent"/> started (the server's workers).</summary>
    internal static int[] Children(int parent) =>
        [.. Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit)).Select(int.Parse!).Where(pid =>
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture) == parent;
            }
            catch (IOException) { return false; }
        })];

    internal static async Task<Result> MeasureAsync(int concurrency, double seconds, Func<Task> call, int warmUp = 200, int[]? watch = null)
    {
        for (var i = 0; i < warmUp; i++) await call();
        int[] pids = watch is null ? [] : [Environment.ProcessId, .. watch];
        var cpuBefore = pids.Select(ProcessorTime).ToArray();
        var latencies = new List<double>[concurrency];
        var stop = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var mine = latencies[i] = [];
            while (Stopwatch.GetTimestamp() < stop)
            {
                var t = Stopwatch.GetTimestamp();
                await call();
                mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        })).ToArray();
        var begun = Stopwatch.GetTimestamp();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(begun).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var cpu = watch is null ? null : pids.Select((pid, i) => (ProcessorTime(pid) - cpuBefore[i]).TotalMicroseconds / all.Length).ToArray();
        return new Result(all.Length / elapsed, all[all.Length / 2], all[(int)(all.Length * 0.99)], cpu);
    }

    internal static HttpClient Client(int connections) => new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });

    internal static Task<string> Json(HttpClient http, string endpoint, string operation, string body)
        => Send(http, endpoint, "sagemaker", "POST", "/", "application/x-amz-json-1.1", Encoding.UTF8.GetBytes(body), "SageMaker." + operation);

    /// <summary>A SigV4-signed request, as an SDK would send it.</summary>
    internal static async Task<string> Send(HttpClient http, string endpoint, string service, string method, string path, string? contentType, byte[] body, string? target = null,
        bool allowError = false)
    {
        var now = DateTimeOffset.UtcNow;
        var amzDate = now.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var host = new Uri(endpoint).Authority;
        var payloadHash = SigV4.Sha256Hex(body);
        var headers = new List<(string, string)> { ("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate) };
        if (target is not null) headers.Add(("x-amz-target", target));
        var signed = string.Join(';', headers.Select(h => h.Item1));
        var q = path.IndexOf('?');
        var query = q >= 0 ? path[(q + 1)..] : "";
        var canonical = SigV4.CanonicalRequest(method, SigV4.CanonicalUri(q >= 0 ? path[..q] : path, service == "s3"), SigV4.CanonicalQuery(query), headers, signed, payloadHash);
        var scope = $"{date}/us-east-1/{service}/aws4_request";
        var signature = SigV4.Sign(SigV4.SigningKey(Secret, date, "us-east-1", service), SigV4.StringToSign(amzDate, scope, canonical));
        using var request = new HttpRequestMessage(new HttpMethod(method), endpoint + path) { Content = new ByteArrayContent(body) };
        if (contentType is not null) request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        if (target is not null) request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential={KeyId}/{scope}, SignedHeaders={signed}, Signature={signature}");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode && !allowError) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return text;
    }

    internal static byte[] Artifact(string modelPath)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
            tar.WriteEntry(modelPath, "model.onnx");
        return buffer.ToArray();
    }

    internal static Process Start(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        // ONNX Runtime as Strata's own worker runs it: without its telemetry (a bare worker too).
        psi.Environment["ORT_DISABLE_TELEMETRY"] = "1";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        if (Environment.GetEnvironmentVariable("STRATA_BENCH_SERVER_LOG") is { } log)
        {
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (p) File.AppendAllText(log, e.Data + "\n"); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (p) File.AppendAllText(log, e.Data + "\n"); };
        }
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    internal static async Task WaitAsync(string url)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await http.GetAsync(url)).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException(url);
    }

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    internal static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("run from the repository");
    }
}
