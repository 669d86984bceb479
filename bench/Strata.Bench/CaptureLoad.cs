using System.Diagnostics;
using System.Globalization;
using System.Text;

/// <summary>
/// What data capture costs InvokeEndpoint at full load: one server, two endpoints of the small
/// classifier (one instance each), one capturing 100 % of its input and output to S3, one not,
/// measured in alternating rounds (off, on, on, off, …) at each concurrency so that the shared
/// machine's drift falls on both alike. Prints a Markdown table, the ratio (with ÷ without) per
/// round and overall, the machine's load average before and after, and what was captured.
/// </summary>
public static class CaptureLoad
{
    public static async Task RunAsync(double seconds, int rounds)
    {
        var root = InvokeLoad.FindRoot();
        var bin = Path.GetDirectoryName(typeof(CaptureLoad).Assembly.Location)!;
        var model = Path.Combine(root, "models", "classifier", "model.onnx");
        var payload = Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        var dataDir = Directory.CreateTempSubdirectory("strata-bench-").FullName;
        var port = InvokeLoad.FreePort();
        var server = InvokeLoad.Start("dotnet", [Path.Combine(bin, "strata.dll"), "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--tls-port", "0", "--data-dir", dataDir],
            new() { ["STRATA_ROOT_ACCESS_KEY_ID"] = InvokeLoad.KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = InvokeLoad.Secret });
        var rows = new List<string>();
        var ratios = new List<string>();
        try
        {
            var endpoint = $"http://127.0.0.1:{port}";
            await InvokeLoad.WaitAsync($"{endpoint}/_strata/health");
            using var api = InvokeLoad.Client(64);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench", null, []);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench/model.tar.gz", null, InvokeLoad.Artifact(model));
            // The execution role reads the artifact and writes the captures.
            var trust = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""");
            var access = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bench/*"}]}""");
            var created = await InvokeLoad.Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=CreateRole&Version=2010-05-08&RoleName=bench&AssumeRolePolicyDocument={trust}"));
            var roleArn = created[(created.IndexOf("<Arn>", StringComparison.Ordinal) + 5)..created.IndexOf("</Arn>", StringComparison.Ordinal)];
            await InvokeLoad.Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=PutRolePolicy&Version=2010-05-08&RoleName=bench&PolicyName=access&PolicyDocument={access}"));
            await InvokeLoad.Json(api, endpoint, "CreateModel", "{\"ModelName\":\"bench\",\"ExecutionRoleArn\":\"" + roleArn + "\",\"PrimaryContainer\":{\"Image\":\"strata-onnx:latest\",\"ModelDataUrl\":\"s3://bench/model.tar.gz\"}}");
            const string variants = "\"ProductionVariants\":[{\"VariantName\":\"v\",\"ModelName\":\"bench\",\"InitialInstanceCount\":1,\"InstanceType\":\"ml.t2.medium\"}]";
            await InvokeLoad.Json(api, endpoint, "CreateEndpointConfig", "{\"EndpointConfigName\":\"off\"," + variants + "}");
            await InvokeLoad.Json(api, endpoint, "CreateEndpointConfig", "{\"EndpointConfigName\":\"on\"," + variants
                + ",\"DataCaptureConfig\":{\"EnableCapture\":true,\"InitialSamplingPercentage\":100,\"DestinationS3Uri\":\"s3://bench/capture\","
                + "\"CaptureOptions\":[{\"CaptureMode\":\"Input\"},{\"CaptureMode\":\"Output\"}],\"CaptureContentTypeHeader\":{\"JsonContentTypes\":[\"application/json\"]}}}");
            foreach (var name in new[] { "off", "on" })
            {
                await InvokeLoad.Json(api, endpoint, "CreateEndpoint", "{\"EndpointName\":\"" + name + "\",\"EndpointConfigName\":\"" + name + "\"}");
                while (!(await InvokeLoad.Json(api, endpoint, "DescribeEndpoint", "{\"EndpointName\":\"" + name + "\"}")).Contains("\"InService\"", StringComparison.Ordinal)) await Task.Delay(10);
            }

            foreach (var c in new[] { 8, 64 })
            {
                var total = new Dictionary<string, double> { ["off"] = 0, ["on"] = 0 };
                var roundRatios = new List<double>();
                for (var round = 1; round <= rounds; round++)
                {
                    var perRound = new Dictionary<string, double>();
                    // ABBA: odd rounds measure without capture first, even rounds with it first.
                    foreach (var name in round % 2 == 1 ? new[] { "off", "on" } : ["on", "off"])
                    {
                        using var http = InvokeLoad.Client(c);
                        var r = await InvokeLoad.MeasureAsync(c, seconds, async () =>
                        {
                            var body = await InvokeLoad.Send(http, endpoint, "sagemaker", "POST", $"/endpoints/{name}/invocations", "application/json", payload);
                            if (body.Length == 0) throw new InvalidOperationException("empty answer");
                        });
                        perRound[name] = r.RequestsPerSecond;
                        total[name] += r.RequestsPerSecond;
                        rows.Add($"| capture {(name == "on" ? "100 %" : "off")} | {c} | {round} | {r.RequestsPerSecond:F0} | {r.P50:F3} | {r.P99:F3} |");
                    }
                    roundRatios.Add(perRound["on"] / perRound["off"]);
                }
                roundRatios.Sort();
                // The median of the rounds' ratios resists a round that another process's burst spoiled.
                ratios.Add($"{c} connections: rounds {string.Join(", ", roundRatios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))}; "
                    + $"median {roundRatios[roundRatios.Count / 2]:F3}; all requests {total["on"] / total["off"]:F3}");
            }
            // What was captured (the last partial batch waits for the minute's flush; the rest is there).
            var listing = await InvokeLoad.Send(api, endpoint, "s3", "GET", "/bench?list-type=2&prefix=capture%2Fon%2F&max-keys=1000", null, []);
            var objects = listing.Split("<Key>").Length - 1;
            Console.WriteLine($"Capture objects written during the run: {objects}{(listing.Contains("<IsTruncated>true", StringComparison.Ordinal) ? " (and more)" : "")}");
        }
        finally
        {
            server.Kill(true);
            Directory.Delete(dataDir, true);
        }
        Console.WriteLine($"Load average before: {loadBefore}; after: {File.ReadAllText("/proc/loadavg").Trim()}; {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| endpoint | connections | round | requests/s | p50 ms | p99 ms |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in rows) Console.WriteLine(row);
        Console.WriteLine();
        Console.WriteLine("Ratio (with capture ÷ without):");
        foreach (var ratio in ratios) Console.WriteLine("- " + ratio);
    }
}
