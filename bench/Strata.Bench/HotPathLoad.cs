using System.Globalization;
using System.Text;

/// <summary>
/// The hot paths of two builds of `strata serve`, measured in one run so their ratio means
/// something on a shared machine: InvokeEndpoint (small classifier) and S3 PUT/GET of 4 KiB and
/// 1 MiB objects, 64 connections, SigV4-signed by this load generator. Rounds alternate the
/// builds (A, B, A, B, …); each round starts a fresh server on an empty data directory.
/// </summary>
public static class HotPathLoad
{
    public static async Task RunAsync(string dllA, string dllB, double seconds, int rounds)
    {
        var root = InvokeLoad.FindRoot();
        var model = Path.Combine(root, "models", "classifier", "model.onnx");
        var results = new Dictionary<(string Build, string Path), List<double>>();
        for (var round = 0; round < rounds; round++)
            foreach (var (label, dll) in new[] { ("A", dllA), ("B", dllB) })
                foreach (var (path, rps) in await RoundAsync(dll, model, seconds))
                {
                    (results.TryGetValue((label, path), out var list) ? list : results[(label, path)] = []).Add(rps);
                    Console.WriteLine($"round {round + 1} {label} {path}: {rps:F0} requests/s");
                }
        Console.WriteLine();
        Console.WriteLine($"A = {dllA}");
        Console.WriteLine($"B = {dllB}");
        Console.WriteLine();
        Console.WriteLine("| path (64 connections) | A requests/s (median) | B requests/s (median) | B ÷ A |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var path in results.Keys.Select(k => k.Path).Distinct())
        {
            double a = Median(results[("A", path)]), b = Median(results[("B", path)]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {path} | {a:F0} | {b:F0} | {b / a:F2} |"));
        }
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    static async Task<List<(string Path, double RequestsPerSecond)>> RoundAsync(string dll, string model, double seconds)
    {
        var dataDir = Directory.CreateTempSubdirectory("strata-hot-").FullName;
        var port = InvokeLoad.FreePort();
        var server = InvokeLoad.Start("dotnet", [dll, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--tls-port", "0", "--data-dir", dataDir],
            new() { ["STRATA_ROOT_ACCESS_KEY_ID"] = InvokeLoad.KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = InvokeLoad.Secret });
        var rows = new List<(string, double)>();
        try
        {
            var endpoint = $"http://127.0.0.1:{port}";
            await InvokeLoad.WaitAsync($"{endpoint}/_strata/health");
            using var api = InvokeLoad.Client(64);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/hot", null, []);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/hot/model.tar.gz", null, InvokeLoad.Artifact(model));
            var trust = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""");
            var read = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::hot/*"}]}""");
            var created = await InvokeLoad.Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=CreateRole&Version=2010-05-08&RoleName=hot&AssumeRolePolicyDocument={trust}"));
            var roleArn = created[(created.IndexOf("<Arn>", StringComparison.Ordinal) + 5)..created.IndexOf("</Arn>", StringComparison.Ordinal)];
            await InvokeLoad.Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes($"Action=PutRolePolicy&Version=2010-05-08&RoleName=hot&PolicyName=read&PolicyDocument={read}"));
            await InvokeLoad.Json(api, endpoint, "CreateModel", "{\"ModelName\":\"hot\",\"ExecutionRoleArn\":\"" + roleArn + "\",\"PrimaryContainer\":{\"Image\":\"strata-onnx:latest\",\"ModelDataUrl\":\"s3://hot/model.tar.gz\"}}");
            await InvokeLoad.Json(api, endpoint, "CreateEndpointConfig", "{\"EndpointConfigName\":\"hot\",\"ProductionVariants\":[{\"VariantName\":\"v\",\"ModelName\":\"hot\",\"InitialInstanceCount\":1,\"InstanceType\":\"ml.t2.medium\"}]}");
            await InvokeLoad.Json(api, endpoint, "CreateEndpoint", "{\"EndpointName\":\"hot\",\"EndpointConfigName\":\"hot\"}");
            while (!(await InvokeLoad.Json(api, endpoint, "DescribeEndpoint", "{\"EndpointName\":\"hot\"}")).Contains("\"InService\"", StringComparison.Ordinal)) await Task.Delay(10);

            using var http = InvokeLoad.Client(64);
            var payload = Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");
            rows.Add(("InvokeEndpoint", (await InvokeLoad.MeasureAsync(64, seconds,
                () => InvokeLoad.Send(http, endpoint, "sagemaker", "POST", "/endpoints/hot/invocations", "application/json", payload))).RequestsPerSecond));
            foreach (var (name, size) in new[] { ("4 KiB", 4096), ("1 MiB", 1 << 20) })
            {
                var body = new byte[size];
                new Random(size).NextBytes(body);
                var n = 0;
                rows.Add(($"S3 PUT {name}", (await InvokeLoad.MeasureAsync(64, seconds,
                    () => InvokeLoad.Send(http, endpoint, "s3", "PUT", $"/hot/{size}/{Interlocked.Increment(ref n) % 256}", "application/octet-stream", body))).RequestsPerSecond));
                rows.Add(($"S3 GET {name}", (await InvokeLoad.MeasureAsync(64, seconds,
                    () => InvokeLoad.Send(http, endpoint, "s3", "GET", $"/hot/{size}/{Interlocked.Increment(ref n) % 256}", null, []))).RequestsPerSecond));
            }
        }
        finally
        {
            server.Kill(true);
            Directory.Delete(dataDir, true);
        }
        return rows;
    }
}
