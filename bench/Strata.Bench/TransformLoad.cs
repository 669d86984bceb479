using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

/// <summary>
/// Batch transform throughput: a million-row CSV through the small classifier, with 1 and 2
/// instances, against the floor of doing the same work in one process (read the CSV file, parse
/// the rows, score them with ONNX Runtime in batches, write one CSV line of probabilities per
/// row). Strata's time runs from CreateTransformJob to Completed, so it includes starting the
/// instances, reading from and writing to S3, and every request's HTTP hop. Prints a Markdown table.
/// </summary>
public static class TransformLoad
{
    const int Rows = 1_000_000;
    const int Batch = 100_000;

    public static async Task RunAsync()
    {
        var root = InvokeLoad.FindRoot();
        var model = Path.Combine(root, "models", "classifier", "model.onnx");
        var random = new Random(7);
        var csv = new StringBuilder();
        for (var i = 0; i < Rows; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{4 + random.NextDouble() * 4:F2},{2 + random.NextDouble() * 2:F2},{1 + random.NextDouble() * 5:F2},{random.NextDouble() * 2.5:F2}\n");
        var data = Encoding.ASCII.GetBytes(csv.ToString());
        Console.WriteLine($"input: {Rows:N0} rows, {data.Length / 1e6:F1} MB of CSV");

        // The floor: the same rows scored in one process, file to file, reading ONNX Runtime's
        // outputs through OrtValue spans (the fastest way the managed API offers). The same work
        // through NamedOnnxValue (a dictionary per row, the floor of earlier runs) for reference.
        // And the model as the worker loads it, its ZipMap replaced (Strata.Worker.ZipMap): the
        // probabilities read as one tensor instead of a map per row.
        var floorSeconds = Floor(model, data, spans: true);
        var dictionarySeconds = Floor(model, data, spans: false);
        var unzippedSeconds = Floor(model, data, spans: true, replaceZipMap: true);
        var rows = new List<string>
        {
            Row("ONNX Runtime in-process, file to file, 1 thread, OrtValue spans (floor)", 1, floorSeconds, 1.0),
            Row("the same through NamedOnnxValue dictionaries (the floor before)", 1, dictionarySeconds, floorSeconds / dictionarySeconds),
            Row("the floor with the ZipMap replaced as Strata's worker replaces it", 1, unzippedSeconds, floorSeconds / unzippedSeconds),
        };

        var dataDir = Directory.CreateTempSubdirectory("strata-bench-transform-").FullName;
        var port = InvokeLoad.FreePort();
        var bin = Path.GetDirectoryName(typeof(TransformLoad).Assembly.Location)!;
        var server = InvokeLoad.Start("dotnet", [Path.Combine(bin, "strata.dll"), "serve", "--port", port.ToString(), "--tls-port", "0", "--data-dir", dataDir],
            new() { ["STRATA_ROOT_ACCESS_KEY_ID"] = InvokeLoad.KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = InvokeLoad.Secret });
        try
        {
            var endpoint = $"http://127.0.0.1:{port}";
            await InvokeLoad.WaitAsync($"{endpoint}/_strata/health");
            using var api = InvokeLoad.Client(8);
            async Task<string> Iam(string form) => await InvokeLoad.Send(api, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes("Version=2010-05-08&" + form));
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench", null, []);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench/model.tar.gz", null, InvokeLoad.Artifact(model));
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench/one/rows.csv", null, data);
            var half = Array.IndexOf(data, (byte)'\n', data.Length / 2) + 1;
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench/two/a.csv", null, data[..half]);
            await InvokeLoad.Send(api, endpoint, "s3", "PUT", "/bench/two/b.csv", null, data[half..]);
            var trust = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""");
            var access = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}""");
            var created = await Iam($"Action=CreateRole&RoleName=bench&AssumeRolePolicyDocument={trust}");
            var role = created[(created.IndexOf("<Arn>", StringComparison.Ordinal) + 5)..created.IndexOf("</Arn>", StringComparison.Ordinal)];
            await Iam($"Action=PutRolePolicy&RoleName=bench&PolicyName=data&PolicyDocument={access}");
            await InvokeLoad.Json(api, endpoint, "CreateModel", $$$"""{"ModelName":"bench","ExecutionRoleArn":"{{{role}}}","PrimaryContainer":{"Image":"strata-onnx:latest","ModelDataUrl":"s3://bench/model.tar.gz"}}""");

            foreach (var (instances, prefix) in new[] { (1, "one"), (2, "two") })
            {
                var job = $"bench-{instances}";
                var started = Stopwatch.GetTimestamp();
                await InvokeLoad.Json(api, endpoint, "CreateTransformJob", $$$"""
                    {"TransformJobName":"{{{job}}}","ModelName":"bench","BatchStrategy":"MultiRecord","MaxPayloadInMB":6,"MaxConcurrentTransforms":2,
                     "TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://bench/{{{prefix}}}/"}},"ContentType":"text/csv","SplitType":"Line"},
                     "TransformOutput":{"S3OutputPath":"s3://bench/out-{{{instances}}}/","Accept":"text/csv","AssembleWith":"Line"},
                     "TransformResources":{"InstanceType":"ml.m5.large","InstanceCount":{{{instances}}}}}
                    """);
                string status;
                do
                {
                    await Task.Delay(20);
                    var d = await InvokeLoad.Json(api, endpoint, "DescribeTransformJob", $$"""{"TransformJobName":"{{job}}"}""");
                    status = d.Contains("\"Completed\"", StringComparison.Ordinal) ? "Completed" : d.Contains("\"Failed\"", StringComparison.Ordinal) ? "Failed: " + d : "InProgress";
                } while (status == "InProgress");
                if (status != "Completed") throw new InvalidOperationException(status);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                rows.Add(Row($"Strata batch transform, {instances} instance{(instances > 1 ? "s" : "")} (ml.m5.large: 1 ONNX Runtime thread each)", instances, seconds, floorSeconds / seconds));
            }
        }
        finally
        {
            server.Kill(true);
            Directory.Delete(dataDir, true);
        }
        Console.WriteLine();
        Console.WriteLine("| target | instances | seconds | rows/s | ratio to the floor |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var row in rows) Console.WriteLine(row);
    }

    static string Row(string name, int instances, double seconds, double ratio)
        => $"| {name} | {instances} | {seconds:F2} | {Rows / seconds:N0} | {ratio:F2} |";

    static double Floor(string modelPath, byte[] data, bool spans, bool replaceZipMap = false)
    {
        var input = Path.Combine(Path.GetTempPath(), "strata-bench-rows.csv");
        var output = Path.Combine(Path.GetTempPath(), "strata-bench-rows.out");
        File.WriteAllBytes(input, data);
        using var session = replaceZipMap
            ? new InferenceSession(Strata.Worker.ZipMap.Rewrite(File.ReadAllBytes(modelPath))!.Value.Model, new SessionOptions { IntraOpNumThreads = 1 })
            : new InferenceSession(modelPath, new SessionOptions { IntraOpNumThreads = 1 });
        using var runOptions = new RunOptions();
        var inputName = session.InputMetadata.Keys.First();
        var outputNames = session.OutputMetadata.Keys.ToArray();
        var started = Stopwatch.GetTimestamp();
        using (var reader = new StreamReader(input))
        using (var writer = new StreamWriter(output))
        using (var bytes = new FileStream(output + ".spans", FileMode.Create))
        {
            var values = new float[Batch * 4];
            var line8 = new byte[64];
            // One CSV line of class probabilities per row, formatted straight into bytes.
            void WriteLine(ReadOnlySpan<float> probabilities)
            {
                var length = 0;
                foreach (var p in probabilities)
                {
                    if (length > 0) line8[length++] = (byte)',';
                    p.TryFormat(line8.AsSpan(length), out var written, "R", CultureInfo.InvariantCulture);
                    length += written;
                }
                line8[length++] = (byte)'\n';
                bytes.Write(line8, 0, length);
            }
            while (true)
            {
                var n = 0;
                string? line;
                while (n < Batch && (line = reader.ReadLine()) is not null)
                {
                    var fields = line.Split(',');
                    for (var j = 0; j < 4; j++) values[n * 4 + j] = float.Parse(fields[j], CultureInfo.InvariantCulture);
                    n++;
                }
                if (n == 0) break;
                if (spans)
                {
                    using var tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, values.AsMemory(0, n * 4), [n, 4]);
                    using var results = session.Run(runOptions, [inputName], [tensor], outputNames);
                    for (var r = 0; r < results.Count; r++)
                    {
                        var result = results[r];
                        if (replaceZipMap && outputNames[r] == "probabilities")
                        {
                            // The probabilities of a row are its 3 columns (the labels are in order).
                            var all = result.GetTensorDataAsSpan<float>();
                            for (var i = 0; i < n; i++) WriteLine(all.Slice(i * 3, 3));
                        }
                        if (result.OnnxType != OnnxValueType.ONNX_TYPE_SEQUENCE) continue;
                        for (var i = 0; i < n; i++)
                        {
                            using var map = result.GetValue(i, OrtAllocator.DefaultInstance);
                            using var probabilities = map.GetValue(1, OrtAllocator.DefaultInstance);
                            WriteLine(probabilities.GetTensorDataAsSpan<float>());
                        }
                    }
                }
                else
                {
                    var tensor = new DenseTensor<float>(values.AsMemory(0, n * 4), [n, 4]);
                    using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
                    // One CSV line of class probabilities per row, as the worker wrote them.
                    foreach (var result in results)
                    {
                        if (result.Value is not IEnumerable<IDictionary<string, float>> maps) continue;
                        foreach (var map in maps) writer.WriteLine(string.Join(',', map.Values.Select(v => v.ToString(CultureInfo.InvariantCulture))));
                    }
                }
            }
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        File.Delete(input);
        File.Delete(output);
        File.Delete(output + ".spans");
        return seconds;
    }
}
