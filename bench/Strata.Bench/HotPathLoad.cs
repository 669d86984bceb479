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
    /// <summary>How a round's server is set up: with <see cref="DataEventsTrail"/>, a logging trail
    /// that selects S3 object and SageMaker endpoint data events is created before the load, and
    /// the server delivers its log files every second (so that delivery is part of what is measured).</summary>
    public sealed record Setup(string Dll, bool DataEventsTrail = false);

    public static Task RunAsync(string dllA, string dllB, double seconds, int rounds)
        => RunAsync(new Setup(dllA), new Setup(dllB), seconds, rounds, smallOnly: false);

    /// <summary>The audit stage's cost on whole requests: this build without a trail (A) and with a
    /// trail that takes every data event (B), InvokeEndpoint and S3 PUT 4 KiB only.</summary>
    public static Task RunAuditAsync(double seconds, int rounds)
    {
        var dll = Path.Combine(Path.GetDirectoryName(typeof(HotPathLoad).Assembly.Location)!, "strata.dll");
        return RunAsync(new Setup(dll), new Setup(dll, DataEventsTrail: true), seconds, rounds, smallOnly: true);
    }

    static async Task RunAsync(Setup setupA, Setup setupB, double seconds, int rounds, bool smallOnly)
    {
        var root = InvokeLoad.FindRoot();
        var model = Path.Combine(root, "models", "classifier", "model.onnx");
        var results = new Dictionary<(string Build, string Path), List<double>>();
        for (var round = 0; round < rounds; round++)
            foreach (var (label, setup) in new[] { ("A", setupA), ("B", setupB) })
                foreach (var (path, rps) in await RoundAsync(setup, model, seconds, smallOnly))
                {
                    (results.TryGetValue((label, path), out var list) ? list : results[(label, path)] = []).Add(rps);
                    Console.WriteLine($"round {round + 1} {label} {path}: {rps:F0} requests/s");
                }
        Console.WriteLine();
        Console.WriteLine($"A = {setupA}");
        Console.WriteLine($"B = {setupB}");
        Console.WriteLine();
        Console.WriteLine("| path (64 connections) | A requests/s (median) | B requests/s (median) | B ÷ A | rounds A / B |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- |");
        foreach (var path in results.Keys.Select(k => k.Path).Distinct())
        {
            List<double> a = results[("A", path)], b = results[("B", path)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {path} | {Median(a):F0} | {Median(b):F0} | {Median(b) / Median(a):F2} | {a.Min():F0}–{a.Max():F0} / {b.Min():F0}–{b.Max():F0} |"));
        }
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    static async Task<List<(string Path, double RequestsPerSecond)>> RoundAsync(Setup setup, string model, double seconds, bool smallOnly)
    {
        var dataDir = Directory.CreateTempSubdirectory("strata-hot-").FullName;
        var port = InvokeLoad.FreePort();
        string[] args = [setup.Dll, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--tls-port", "0", "--data-dir", dataDir];
        if (setup.DataEventsTrail) args = [.. args, "--cloudtrail-delivery-seconds", "1"];
        var server = InvokeLoad.Start("dotnet", args,
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
            if (setup.DataEventsTrail) await CreateDataEventsTrailAsync(api, endpoint);

            using var http = InvokeLoad.Client(64);
            var payload = Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");
            var invoke = await InvokeLoad.MeasureAsync(64, seconds,
                () => InvokeLoad.Send(http, endpoint, "sagemaker", "POST", "/endpoints/hot/invocations", "application/json", payload),
                watch: [server.Id, .. InvokeLoad.Children(server.Id)]);
            rows.Add(("InvokeEndpoint", invoke.RequestsPerSecond));
            // Less noisy than requests/s on a shared machine: what each request cost the server and its worker.
            rows.Add(("InvokeEndpoint: server CPU µs per request (lower is better)", invoke.CpuMicrosPerRequest![1]));
            rows.Add(("InvokeEndpoint: worker CPU µs per request (lower is better)", invoke.CpuMicrosPerRequest![2]));
            foreach (var (name, size) in smallOnly ? [("4 KiB", 4096)] : new[] { ("4 KiB", 4096), ("1 MiB", 1 << 20) })
            {
                var body = new byte[size];
                new Random(size).NextBytes(body);
                var n = 0;
                rows.Add(($"S3 PUT {name}", (await InvokeLoad.MeasureAsync(64, seconds,
                    () => InvokeLoad.Send(http, endpoint, "s3", "PUT", $"/hot/{size}/{Interlocked.Increment(ref n) % 256}", "application/octet-stream", body))).RequestsPerSecond));
                if (smallOnly) continue;
                rows.Add(($"S3 GET {name}", (await InvokeLoad.MeasureAsync(64, seconds,
                    () => InvokeLoad.Send(http, endpoint, "s3", "GET", $"/hot/{size}/{Interlocked.Increment(ref n) % 256}", null, []))).RequestsPerSecond));
            }
            if (setup.DataEventsTrail) await CheckTrailDeliveredAsync(api, endpoint);
        }
        finally
        {
            server.Kill(true);
            Directory.Delete(dataDir, true);
        }
        return rows;
    }

    /// <summary>A bucket whose policy lets CloudTrail write, and a logging trail into it whose
    /// advanced selectors take S3 object and SageMaker endpoint data events (no management events,
    /// so that any log file delivered during the load proves the data events reached the trail).</summary>
    static async Task CreateDataEventsTrailAsync(HttpClient api, string endpoint)
    {
        await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/trail", null, []);
        var policy = """
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::trail"},
              {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::trail/AWSLogs/*",
               "Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}
            """;
        await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/trail?policy", "application/json", Encoding.UTF8.GetBytes(policy));
        await CloudTrail(api, endpoint, "CreateTrail", """{"Name":"audit","S3BucketName":"trail"}""");
        await CloudTrail(api, endpoint, "PutEventSelectors", """
            {"TrailName":"audit","AdvancedEventSelectors":[
              {"Name":"objects","FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]}]},
              {"Name":"endpoints","FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::SageMaker::Endpoint"]}]}]}
            """);
        await CloudTrail(api, endpoint, "StartLogging", """{"Name":"audit"}""");
    }

    /// <summary>Fails the run unless the trail delivered log files (the data events were recorded).</summary>
    static async Task CheckTrailDeliveredAsync(HttpClient api, string endpoint)
    {
        await Task.Delay(1500);
        var list = await InvokeLoad.Send(api, endpoint, "s3", "GET", "/trail?list-type=2&prefix=AWSLogs%2F", null, []);
        var files = list.Split("<Key>").Length - 1;
        if (files == 0) throw new InvalidOperationException("the trail delivered no log file: " + list);
        Console.WriteLine($"trail: {files} log files delivered");
    }

    static Task<string> CloudTrail(HttpClient api, string endpoint, string operation, string body)
        => InvokeLoad.Send(api, endpoint, "cloudtrail", "POST", "/", "application/x-amz-json-1.1", Encoding.UTF8.GetBytes(body), "CloudTrail_20131101." + operation);
}
