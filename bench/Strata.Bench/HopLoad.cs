using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Strata.Server.Hosting;

/// <summary>
/// The router→worker hop alone: one built-in worker (the small classifier, one ONNX Runtime
/// thread) listening both ways, and the same requests sent through the router's two clients in
/// this process: HTTP/1.1 over its Unix socket (pooled, as the router used it before) and the
/// framed transport (<see cref="WorkerChannel"/>). No SigV4, no pipeline: what differs is the
/// hop. Rounds alternate the two; prints a Markdown table.
/// </summary>
public static class HopLoad
{
    public static async Task RunAsync(double seconds, int rounds)
    {
        var root = InvokeLoad.FindRoot();
        var bin = Path.GetDirectoryName(typeof(HopLoad).Assembly.Location)!;
        var dir = Directory.CreateTempSubdirectory("strata-hop-").FullName;
        var http = Path.Combine(dir, "w.sock");
        var frames = Path.Combine(dir, "w.frames");
        var worker = InvokeLoad.Start("dotnet", [Path.Combine(bin, "strata-worker.dll")], new()
        {
            ["SM_MODEL_DIR"] = Path.Combine(root, "models", "classifier"),
            ["STRATA_WORKER_SOCKET"] = http,
            ["STRATA_WORKER_FRAMES"] = frames,
            ["STRATA_WORKER_THREADS"] = "1",
        });
        try
        {
            using var overHttp = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                MaxConnectionsPerServer = 256,
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(http), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            })
            { BaseAddress = new Uri("http://worker/") };
            using var overFrames = new HttpClient(new WorkerChannel(frames)) { BaseAddress = new Uri("http://worker/") };
            for (var i = 0; i < 600 && !File.Exists(frames); i++) await Task.Delay(50);

            var small = Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");
            // A batch transform's mini-batch: 300 000 CSV rows (4.8 MB), answered as 300 000 CSV lines.
            var rows = new StringBuilder();
            for (var i = 0; i < 300_000; i++) rows.Append(CultureInfo.InvariantCulture, $"{5 + i % 3 * 0.1:F1},3.5,1.4,0.2\n");
            var large = Encoding.ASCII.GetBytes(rows.ToString());
            (string Name, byte[] Body, string Type, int[] Concurrency)[] cases =
            [
                ("one JSON record", small, "application/json", [1, 64]),
                ("300 000 CSV rows (4.8 MB)", large, "text/csv", [1, 2]),
            ];
            var results = new List<string>();
            foreach (var (name, body, type, concurrency) in cases)
                foreach (var c in concurrency)
                    for (var round = 0; round < rounds; round++)
                        foreach (var (transport, client) in new[] { ("HTTP/1.1 (the baseline)", overHttp), ("frames", overFrames) })
                        {
                            var r = await InvokeLoad.MeasureAsync(c, seconds, async () =>
                            {
                                using var request = new HttpRequestMessage(HttpMethod.Post, "invocations") { Content = new WorkerBody(body) };
                                request.Content.Headers.ContentType = new(type);
                                request.Headers.TryAddWithoutValidation("Accept", type);
                                using var response = await client.SendAsync(request);
                                response.EnsureSuccessStatusCode();
                                await response.Content.ReadAsByteArrayAsync();
                            }, warmUp: body.Length > 1_000_000 ? 5 : 200);
                            results.Add($"| {name} | {c} | {round + 1} | {transport} | {r.RequestsPerSecond:F1} | {r.P50:F3} | {r.P99:F3} |");
                        }
            Console.WriteLine("| payload | concurrent requests | round | hop | requests/s | p50 ms | p99 ms |");
            Console.WriteLine("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
            foreach (var row in results) Console.WriteLine(row);
        }
        finally
        {
            worker.Kill(true);
            Directory.Delete(dir, true);
        }
    }
}
