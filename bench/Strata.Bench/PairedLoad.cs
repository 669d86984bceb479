using System.Globalization;
using System.Text;

/// <summary>
/// Strata's InvokeEndpoint against the bare worker, the floor of Strata's design
/// (<see cref="ProxyFloor"/>: Kestrel and the framed hop, no pipeline) and FastAPI where Debian's
/// packages are installed, measured in short slices that take turns: every server is started and
/// warmed first, then each pair of slices measures them one after the other, the order reversed
/// every pair. On a shared machine whose speed drifts by half between one minute and the next, a
/// ratio taken within a pair sees the same machine on both sides; the median over the pairs, and
/// their spread, is the figure to report (the sequential <c>invoke</c> run measured its rows half
/// a minute apart). The small classifier by default; <c>STRATA_BENCH_MODEL=resnet18</c> for
/// ResNet18 (a 602 KB .npy image per request; no FastAPI, which has no ONNX Runtime here).
/// </summary>
public static class PairedLoad
{
    sealed record Target(string Name, Func<HttpClient, Task> Call, int[] Watch);

    public static async Task RunAsync(double seconds, int pairs)
    {
        var root = InvokeLoad.FindRoot();
        var bin = Path.GetDirectoryName(typeof(PairedLoad).Assembly.Location)!;
        var resnet = Environment.GetEnvironmentVariable("STRATA_BENCH_MODEL") == "resnet18";
        var (name, model, payload, contentType) = resnet
            ? ("ResNet18, one 224×224 image as .npy", Path.Combine(bin, "resnet18", "model.onnx"), InvokeLoad.Npy(InvokeLoad.ResNetImage(), [1, 3, 224, 224]), "application/x-npy")
            : ("small classifier", Path.Combine(root, "models", "classifier", "model.onnx"), Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]"), "application/json");
        int[] connections = Environment.GetEnvironmentVariable("STRATA_BENCH_CONNECTIONS") is { Length: > 0 } list ? [.. list.Split(',').Select(int.Parse)] : resnet ? [1, 8] : [1, 64];

        // Strata first: if it fails to start, nothing else is left running.
        var (server, endpoint, dataDir) = await InvokeLoad.StartStrataAsync(bin, "frames");
        System.Diagnostics.Process? worker = null, python = null, floorWorker = null, floor = null;
        string? floorDir = null;
        try
        {
            var port = InvokeLoad.FreePort();
            worker = InvokeLoad.Start("dotnet", [Path.Combine(bin, "strata-worker.dll")],
                new() { ["SM_MODEL_DIR"] = Path.GetDirectoryName(model)!, ["SAGEMAKER_BIND_TO_PORT"] = port.ToString(), ["STRATA_WORKER_THREADS"] = "1" });
            var pyPort = InvokeLoad.FreePort();
            python = resnet ? null : InvokeLoad.Start("/usr/bin/python3", [Path.Combine(root, "bench", "fastapi_classifier.py"), pyPort.ToString()], []);
            // The design's floor: Kestrel and the framed hop to a worker of its own, no pipeline
            // (ProxyFloor.cs), with the garbage collector Strata's server runs with (not concurrent).
            floorDir = Directory.CreateTempSubdirectory("strata-floor-").FullName;
            var floorFrames = Path.Combine(floorDir, "w.frames");
            var floorWorkerPort = InvokeLoad.FreePort();
            floorWorker = InvokeLoad.Start("dotnet", [Path.Combine(bin, "strata-worker.dll")], new()
            {
                ["SM_MODEL_DIR"] = Path.GetDirectoryName(model)!,
                ["SAGEMAKER_BIND_TO_PORT"] = floorWorkerPort.ToString(CultureInfo.InvariantCulture),
                ["STRATA_WORKER_FRAMES"] = floorFrames,
                ["STRATA_WORKER_THREADS"] = "1",
            });
            var floorPort = InvokeLoad.FreePort();
            floor = InvokeLoad.Start("dotnet", [typeof(PairedLoad).Assembly.Location, "proxy-floor", floorPort.ToString(CultureInfo.InvariantCulture), floorFrames],
                new() { ["DOTNET_gcConcurrent"] = "0" });
            await InvokeLoad.WaitAsync($"http://127.0.0.1:{port}/ping");
            // The worker listens on its framed socket before /ping answers.
            await InvokeLoad.WaitAsync($"http://127.0.0.1:{floorWorkerPort}/ping");
            await InvokeLoad.WaitAsync($"http://127.0.0.1:{floorPort}/ping");
            using (var api = InvokeLoad.Client(8)) await InvokeLoad.DeployAsync(api, endpoint, model);
            List<Target> targets =
            [
                new("bare worker", http => Post(http, $"http://127.0.0.1:{port}/invocations", payload, contentType), [worker.Id]),
                new("Strata", async http =>
                {
                    var body = await InvokeLoad.Send(http, endpoint, "sagemaker", "POST", "/endpoints/bench/invocations", contentType, payload);
                    if (body.Length == 0) throw new InvalidOperationException("empty answer");
                }, [server.Id, .. InvokeLoad.Children(server.Id)]),
                new("floor", async http =>
                {
                    var body = await InvokeLoad.Send(http, $"http://127.0.0.1:{floorPort}", "sagemaker", "POST", "/endpoints/bench/invocations", contentType, payload);
                    if (body.Length == 0) throw new InvalidOperationException("empty answer");
                }, [floor.Id, floorWorker.Id]),
            ];
            if (python is not null)
                try
                {
                    await InvokeLoad.WaitAsync($"http://127.0.0.1:{pyPort}/ping");
                    targets.Add(new("FastAPI", http => Post(http, $"http://127.0.0.1:{pyPort}/invocations", payload, contentType), [python.Id]));
                }
                catch (TimeoutException) { Console.WriteLine("FastAPI left out: /usr/bin/python3 needs python3-fastapi, python3-uvicorn and python3-numpy"); }

            // Warm every server (the JIT's tiers and PGO settle under load) before any slice counts.
            foreach (var t in targets)
            {
                using var http = InvokeLoad.Client(8);
                await InvokeLoad.MeasureAsync(8, 3, () => t.Call(http), warmUp: 20);
            }

            foreach (var c in connections)
            {
                var clients = targets.Select(_ => InvokeLoad.Client(c)).ToArray();
                var results = targets.Select(_ => new List<InvokeLoad.Result>()).ToArray();
                try
                {
                    for (var pair = 0; pair < pairs; pair++)
                    {
                        var order = Enumerable.Range(0, targets.Count);
                        foreach (var i in pair % 2 == 0 ? order : order.Reverse())
                            // A few calls first, on a server that is already warm (ResNet18 answers ~20 a second).
                            results[i].Add(await InvokeLoad.MeasureAsync(c, seconds, () => targets[i].Call(clients[i]), warmUp: 8, watch: targets[i].Watch));
                    }
                }
                finally
                {
                    foreach (var client in clients) client.Dispose();
                }
                Report(name, c, targets, results);
            }
        }
        finally
        {
            foreach (var process in new[] { server, worker, python, floor, floorWorker })
            {
                process?.Kill(true);
                process?.WaitForExit();
            }
            Directory.Delete(dataDir, true);
            if (floorDir is not null) Directory.Delete(floorDir, true);
        }
    }

    static async Task Post(HttpClient http, string url, byte[] payload, string contentType)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new(contentType);
        using var response = await http.PostAsync(url, content);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
    }

    static void Report(string model, int connections, List<Target> targets, List<InvokeLoad.Result>[] results)
    {
        var fastApi = targets.FindIndex(t => t.Name == "FastAPI");
        var floor = targets.FindIndex(t => t.Name == "floor");
        Console.WriteLine();
        Console.WriteLine($"### {connections} connection(s), {model}, {results[0].Count} pairs");
        Console.WriteLine();
        Console.WriteLine("| pair | bare worker req/s | Strata req/s | Strata ÷ bare | p50 ms: bare / Strata | Strata's p50 − bare's, ms | CPU µs per request: bare / Strata |"
            + " floor req/s | floor ÷ bare | floor's p50 − bare's, ms | CPU µs per request: floor |"
            + (fastApi > 0 ? " FastAPI req/s | Strata ÷ FastAPI |" : ""));
        Console.WriteLine("| ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |" + (fastApi > 0 ? " ---: | ---: |" : ""));
        for (var p = 0; p < results[0].Count; p++)
        {
            var (bare, strata, least) = (results[0][p], results[1][p], results[floor][p]);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"| {p + 1} | {bare.RequestsPerSecond:F0} | {strata.RequestsPerSecond:F0} | {strata.RequestsPerSecond / bare.RequestsPerSecond:F2} | {bare.P50:F3} / {strata.P50:F3} | {strata.P50 - bare.P50:F3} | {Cpu(bare)} / {Cpu(strata)} |"
                + $" {least.RequestsPerSecond:F0} | {least.RequestsPerSecond / bare.RequestsPerSecond:F2} | {least.P50 - bare.P50:F3} | {Cpu(least)} |");
            if (fastApi > 0)
                line += string.Create(CultureInfo.InvariantCulture, $" {results[fastApi][p].RequestsPerSecond:F0} | {strata.RequestsPerSecond / results[fastApi][p].RequestsPerSecond:F2} |");
            Console.WriteLine(line);
        }
        double[] Ratios(int of, int to) => [.. results[to].Zip(results[of], (b, s) => s.RequestsPerSecond / b.RequestsPerSecond)];
        double[] Gaps(int of) => [.. results[0].Zip(results[of], (b, s) => s.P50 - b.P50)];
        static string Spread(double[] values, string format) => string.Create(CultureInfo.InvariantCulture,
            $"{Median(values).ToString(format, CultureInfo.InvariantCulture)} ({values.Min().ToString(format, CultureInfo.InvariantCulture)}–{values.Max().ToString(format, CultureInfo.InvariantCulture)})");
        Console.WriteLine();
        var summary = $"Median over the pairs: Strata ÷ bare worker {Spread(Ratios(1, 0), "F2")}; Strata's p50 − the bare worker's {Spread(Gaps(1), "F3")} ms;"
            + $" the floor ÷ bare worker {Spread(Ratios(floor, 0), "F2")}; the floor's p50 − the bare worker's {Spread(Gaps(floor), "F3")} ms; Strata ÷ the floor {Spread(Ratios(1, floor), "F2")}";
        if (fastApi > 0) summary += $"; Strata ÷ FastAPI {Spread(Ratios(1, fastApi), "F2")}; the floor ÷ FastAPI {Spread(Ratios(floor, fastApi), "F2")}";
        Console.WriteLine(summary);
    }

    static string Cpu(InvokeLoad.Result r) => r.CpuMicrosPerRequest is { } cpu ? string.Join(" + ", cpu.Select(c => c.ToString("F0", CultureInfo.InvariantCulture))) : "";

    static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
