using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Strata.Server.Tests.E2E;

/// <summary>The built-in ONNX Runtime container, driven over the SageMaker serving-container
/// contract (GET /ping, POST /invocations) as the router will drive it.</summary>
public sealed class WorkerTests : IAsyncLifetime
{
    static string ModelDir(string name) => Path.Combine(RepoRoot(), "models", name);

    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Strata.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    readonly Dictionary<string, (Process Process, HttpClient Http)> _workers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (var (process, http) in _workers.Values)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            http.Dispose();
        }
        return Task.CompletedTask;
    }

    static ProcessStartInfo WorkerStart(string modelDir, int port)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "strata-worker.dll"));
        psi.Environment["SM_MODEL_DIR"] = modelDir;
        psi.Environment["SAGEMAKER_BIND_TO_PORT"] = port.ToString();
        return psi;
    }

    async Task<HttpClient> Worker(string model)
    {
        if (_workers.TryGetValue(model, out var running)) return running.Http;
        var port = FreePort();
        var process = Process.Start(WorkerStart(ModelDir(model), port))!;
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        _workers[model] = (process, http);
        for (var i = 0; i < 300; i++)
        {
            try
            {
                if ((await http.GetAsync("/ping")).StatusCode == HttpStatusCode.OK) return http;
            }
            catch (HttpRequestException) { }
            if (process.HasExited) Assert.Fail("the worker exited: " + await process.StandardError.ReadToEndAsync());
            await Task.Delay(50);
        }
        throw new TimeoutException("the worker never answered /ping");
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    static async Task<(HttpStatusCode Status, string Body, string? ContentType)> Invoke(HttpClient http, string contentType, byte[] body, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/invocations") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        if (accept is not null) request.Headers.Accept.ParseAdd(accept);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    static Task<(HttpStatusCode Status, string Body, string? ContentType)> InvokeJson(HttpClient http, string json, string? accept = null)
        => Invoke(http, "application/json", Encoding.UTF8.GetBytes(json), accept);

    static double Regression(params double[] x) => 0.5 * x[0] - 1.0 * x[1] + 2.0 * x[2] + 0.25 * x[3] + 0.1;

    [Fact]
    public async Task RegressionOverJsonShapes()
    {
        var http = await Worker("regression");
        foreach (var body in new[] { "{\"instances\": [[1,2,3,4],[0,0,0,0]]}", "[[1,2,3,4],[0,0,0,0]]", "{\"inputs\": [[1,2,3,4],[0,0,0,0]]}", "{\"inputs\": {\"features\": [[1,2,3,4],[0,0,0,0]]}}" })
        {
            var (status, text, type) = await InvokeJson(http, body);
            Assert.True(status == HttpStatusCode.OK, text);
            Assert.Equal("application/json", type);
            var predictions = JsonDocument.Parse(text).RootElement.GetProperty("predictions");
            Assert.Equal(Regression(1, 2, 3, 4), predictions[0][0].GetDouble(), 5);
            Assert.Equal(0.1, predictions[1][0].GetDouble(), 5);
        }
        // A single record without its batch dimension.
        var (_, single, _) = await InvokeJson(http, "{\"instances\": [2,2,2,2]}");
        Assert.Equal(Regression(2, 2, 2, 2), JsonDocument.Parse(single).RootElement.GetProperty("predictions")[0][0].GetDouble(), 5);
    }

    [Fact]
    public async Task CsvInAndOut()
    {
        var http = await Worker("regression");
        var (status, text, type) = await Invoke(http, "text/csv", Encoding.ASCII.GetBytes("1,2,3,4\r\n0.5,0.5,0.5,0.5\n"), "text/csv");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/csv", type);
        var rows = text.Trim().Split('\n').Select(double.Parse).ToArray();
        Assert.Equal(Regression(1, 2, 3, 4), rows[0], 5);
        Assert.Equal(Regression(0.5, 0.5, 0.5, 0.5), rows[1], 5);
    }

    [Fact]
    public async Task NpyInAndOut()
    {
        var http = await Worker("regression");
        float[] values = [1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 0, 1];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/invocations") { Content = new ByteArrayContent(Npy("<f4", "(3, 4)", values.SelectMany(BitConverter.GetBytes).ToArray())) };
        request.Content.Headers.ContentType = new("application/x-npy");
        request.Headers.Accept.ParseAdd("application/x-npy");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var npy = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(0x93, npy[0]);
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        var header = Encoding.ASCII.GetString(npy, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'shape': (3, 1)", header);
        Assert.Equal(0, (10 + headerLength) % 64);
        var results = Enumerable.Range(0, 3).Select(i => BitConverter.ToSingle(npy, 10 + headerLength + 4 * i)).ToArray();
        Assert.Equal(Regression(1, 2, 3, 4), results[0], 4);
        Assert.Equal(Regression(4, 3, 2, 1), results[1], 4);
        Assert.Equal(Regression(0, 0, 0, 1), results[2], 4);
        // The wrong dtype is named.
        var (status, text, _) = await Invoke(http, "application/x-npy", Npy("<f8", "(1, 4)", new byte[32]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("expects float", text);
    }

    static byte[] Npy(string descr, string shape, byte[] data)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        header += new string(' ', (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + data.Length];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        data.CopyTo(bytes, 10 + header.Length);
        return bytes;
    }

    [Fact]
    public async Task ClassifierReturnsLabelsAndProbabilities()
    {
        var http = await Worker("classifier");
        var (status, text, _) = await InvokeJson(http, "{\"instances\": [[5.1,3.5,1.4,0.2],[0,4,0,0],[0,0,6,5]]}");
        Assert.True(status == HttpStatusCode.OK, text);
        var predictions = JsonDocument.Parse(text).RootElement.GetProperty("predictions");
        Assert.Equal(["setosa", "versicolor", "virginica"], predictions.EnumerateArray().Select(p => p.GetProperty("label").GetString()));
        var first = predictions[0].GetProperty("probabilities");
        // softmax of the linear scores 4.2, 3.3, -7.5
        var e = new[] { Math.Exp(4.2), Math.Exp(3.3), Math.Exp(-7.5) };
        Assert.Equal(e[0] / e.Sum(), first.GetProperty("setosa").GetDouble(), 5);
        Assert.Equal(1.0, first.EnumerateObject().Sum(p => p.Value.GetDouble()), 5);
        var (_, csv, _) = await Invoke(http, "text/csv", "5.1,3.5,1.4,0.2\n"u8.ToArray(), "text/csv");
        Assert.StartsWith("setosa,", csv);
        Assert.Equal(4, csv.Trim().Split(',').Length);
        var (npy, message, _) = await InvokeJson(http, "[[1,2,3,4]]", "application/x-npy");
        Assert.Equal(HttpStatusCode.NotAcceptable, npy);
        Assert.Contains("label", message);
    }

    [Fact]
    public async Task NamedInputsOfEveryElementType()
    {
        var typed = await Worker("typed");
        var (status, text, _) = await InvokeJson(typed, "{\"inputs\": {\"ids\": [[1,2],[3,4]], \"names\": [[\"cat\"],[\"bird\"]], \"counts\": [[5],[7]]}}");
        Assert.True(status == HttpStatusCode.OK, text);
        var p = JsonDocument.Parse(text).RootElement.GetProperty("predictions");
        Assert.Equal(4, p[0].GetProperty("score")[0].GetInt64());   // 1 + 2 + cat(1)
        Assert.True(p[0].GetProperty("is_known")[0].GetBoolean());
        Assert.Equal(10, p[0].GetProperty("counts_doubled")[0].GetInt32());
        Assert.Equal(7, p[1].GetProperty("score")[0].GetInt64());   // 3 + 4 + unknown(0)
        Assert.False(p[1].GetProperty("is_known")[0].GetBoolean());
        var (_, byRecord, _) = await InvokeJson(typed, "{\"instances\": [{\"ids\": [10,20], \"names\": [\"dog\"], \"counts\": [1]}]}");
        Assert.Equal(32, JsonDocument.Parse(byRecord).RootElement.GetProperty("predictions")[0].GetProperty("score")[0].GetInt64());

        var two = await Worker("two_inputs");
        var (_, sum, _) = await InvokeJson(two, "{\"inputs\": {\"a\": [[1,2,3]], \"b\": [[10,20,30]]}}");
        Assert.Equal([21.0, 42.0, 63.0], JsonDocument.Parse(sum).RootElement.GetProperty("predictions")[0].EnumerateArray().Select(v => v.GetDouble()));

        var doubles = await Worker("scaler");
        var (_, scaled, _) = await InvokeJson(doubles, "[[0.25, 1e10]]");
        var y = JsonDocument.Parse(scaled).RootElement.GetProperty("predictions")[0];
        Assert.Equal(-0.5, y[0].GetDouble());
        Assert.Equal(2e10 - 1, y[1].GetDouble());
    }

    [Fact]
    public async Task PayloadsTheModelCannotTakeAreNamed()
    {
        var http = await Worker("regression");
        var (status, text, _) = await InvokeJson(http, "[[1,2,3]]");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'features'", text);
        Assert.Contains("[N,4]", text);
        Assert.Contains("float", text);
        (status, text, _) = await InvokeJson(http, "[[1,2,3,\"x\"]]");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("expects float values", text);
        (status, text, _) = await InvokeJson(http, "[[1,2],[3,4,5,6]]");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a rectangular tensor", text);
        (status, _, _) = await InvokeJson(http, "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _, _) = await Invoke(http, "image/png", [1, 2, 3]);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        (status, _, _) = await InvokeJson(http, "[[1,2,3,4]]", "application/xml");
        Assert.Equal(HttpStatusCode.NotAcceptable, status);

        var typed = await Worker("typed");
        (status, text, _) = await InvokeJson(typed, "{\"inputs\": {\"ids\": [[1,2]], \"names\": [[\"cat\"]]}}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no input 'counts'", text);
        (status, text, _) = await InvokeJson(typed, "{\"inputs\": {\"ids\": [[1.5,2]], \"names\": [[\"cat\"]], \"counts\": [[1]]}}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("int64", text);
    }

    [Fact]
    public async Task MissingOrBrokenModelsFailToStartWithAReason()
    {
        var empty = Directory.CreateTempSubdirectory("strata-nomodel-").FullName;
        try
        {
            using (var missing = Process.Start(WorkerStart(empty, FreePort()))!)
            {
                await missing.WaitForExitAsync();
                Assert.NotEqual(0, missing.ExitCode);
                Assert.Contains("no model.onnx", await missing.StandardError.ReadToEndAsync());
            }
            await File.WriteAllTextAsync(Path.Combine(empty, "model.onnx"), "this is not an onnx model");
            using var broken = Process.Start(WorkerStart(empty, FreePort()))!;
            await broken.WaitForExitAsync();
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Contains("failed to load", await broken.StandardError.ReadToEndAsync());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
