using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Strata.Server.Auth;

// Code-path benchmarks (BenchmarkDotNet):
//   dotnet run -c Release --project bench/Strata.Bench -- --filter '*'
//   (one class: --filter '*AuditStage*' '*EventHistory*', the audit stage and the event history store)
// Whole-request load against InvokeEndpoint and its floors (see InvokeLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- invoke [seconds-per-run]
// The same, Strata against the bare worker, the design's floor (Kestrel and the framed hop, no
// pipeline: ProxyFloor.cs) and FastAPI, in slices that take turns, the ratios taken within each
// pair (see PairedLoad.cs); STRATA_BENCH_CONNECTIONS picks the rows (default 1,64):
//   dotnet run -c Release --project bench/Strata.Bench -- paired [seconds-per-slice] [pairs]
// The router→worker hop alone, HTTP/1.1 against the framed transport, alternating (see HopLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- hop [seconds-per-run] [rounds]
// Batch transform of a million-row CSV against its in-process floor (see TransformLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- transform
// S3 throughput is bench/s3_throughput.py.
// ONNX Runtime's official builds report to Microsoft unless ORT_DISABLE_TELEMETRY=1 is in the
// process's environment as it starts, which managed code cannot set for its own process on Linux;
// the bench loads ONNX Runtime in-process (its floors), so it starts itself again with it set.
if (Environment.GetEnvironmentVariable("ORT_DISABLE_TELEMETRY") != "1")
{
    var self = Environment.ProcessPath!;
    var again = new System.Diagnostics.ProcessStartInfo(self) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") again.ArgumentList.Add(typeof(InvokeLoad).Assembly.Location);
    foreach (var arg in args) again.ArgumentList.Add(arg);
    again.Environment["ORT_DISABLE_TELEMETRY"] = "1";
    using var child = System.Diagnostics.Process.Start(again)!;
    await child.WaitForExitAsync();
    Environment.ExitCode = child.ExitCode;
    return;
}
// The floor of Strata's design (Kestrel and the framed hop, nothing else), which `paired` starts as a
// child process (see ProxyFloor.cs): proxy-floor PORT FRAMES-SOCKET
if (args.Length > 2 && args[0] == "proxy-floor")
{
    await ProxyFloor.RunAsync(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), args[2]);
    return;
}
// The machine's NVIDIA GPUs as the server sees them (the driver's list, and NVML's reading of
// each, which GPU instances' GPUUtilization and GPUMemoryUtilization come from); for a GPU machine:
//   dotnet run -c Release --project bench/Strata.Bench -- gpus
if (args.Length > 0 && args[0] == "gpus")
{
    var listed = Strata.Server.Hosting.GpuPlacement.Detect();
    Console.WriteLine($"GPUs in /proc/driver/nvidia/gpus: {listed}");
    if (Strata.Server.Hosting.Nvml.Open() is not { } nvml)
    {
        Console.WriteLine("NVML: not available (no libnvidia-ml.so.1, or it found no driver)");
        Environment.ExitCode = listed > 0 ? 1 : 0;
        return;
    }
    Console.WriteLine($"NVML: {nvml.Devices} GPUs");
    for (var i = 0; i < nvml.Devices; i++)
        Console.WriteLine(nvml.Read(i) is { } reading ? $"GPU {i}: utilization {reading.Utilization} %, memory in use {reading.MemoryUsed:0.###} %" : $"GPU {i}: could not be read");
    return;
}
if (args.Length > 0 && args[0] == "transform")
{
    await TransformLoad.RunAsync();
    return;
}
// The hot paths (InvokeEndpoint, S3 PUT/GET) of two builds, alternating (see HotPathLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- hotpaths A/strata.dll B/strata.dll [seconds] [rounds]
if (args.Length > 2 && args[0] == "hotpaths")
{
    await HotPathLoad.RunAsync(args[1], args[2], args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 5,
        args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
// The audit stage on whole requests: InvokeEndpoint and S3 PUT 4 KiB of this build without a
// trail (A) and with a trail taking every data event (B), alternating (see HotPathLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- audit [seconds] [rounds]
if (args.Length > 0 && args[0] == "audit")
{
    await HotPathLoad.RunAuditAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
// CloudWatch: PutMetricData ingest and GetMetricData over a day of 1-second data (see MetricsLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- metrics [seconds-per-run]
if (args.Length > 0 && args[0] == "metrics")
{
    await MetricsLoad.RunAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}
// XGBoost (or Linear Learner) training through strata-algorithms against ML.NET's trainer in-process (see TrainingBenchmarks.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- training [rows] [features] [rounds|epochs] [repeats] [xgboost|linear-learner]
if (args.Length > 0 && args[0] == "training")
{
    int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    await TrainingBenchmarks.RunAsync(args.Length > 5 ? args[5] : "xgboost", Arg(1, 100_000), Arg(2, 20), Arg(3, 100), Arg(4, 3));
    return;
}
// Bayesian against random hyperparameter search with the same budget on Branin and Hartmann-6 (see TuningBenchmarks.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- tuning [seeds]
if (args.Length > 0 && args[0] == "tuning")
{
    TuningBenchmarks.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 50);
    return;
}
// InvokeEndpoint with data capture at 100 % against the same endpoint without, alternating (see CaptureLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- capture [seconds-per-run] [rounds]
if (args.Length > 0 && args[0] == "capture")
{
    await CaptureLoad.RunAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
// Model Monitor baseline analysis against only parsing the same CSV (see BaselineLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- baseline [rows] [repeats]
if (args.Length > 0 && args[0] == "baseline")
{
    BaselineLoad.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
// Step Functions state transitions per second: EXPRESS machines (a chain of Pass states, a Map of
// 10 000 items) through StartSyncExecution against the interpreter in-process (see StatesLoad.cs):
//   dotnet run -c Release --project bench/Strata.Bench -- states [rounds] [seconds-per-row]
if (args.Length > 0 && args[0] == "states")
{
    await StatesLoad.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3,
        args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
if (args.Length > 0 && args[0] == "hop")
{
    await HopLoad.RunAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5, args.Length > 2 ? int.Parse(args[2]) : 3);
    return;
}
if (args.Length > 0 && args[0] == "paired")
{
    await PairedLoad.RunAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2, args.Length > 2 ? int.Parse(args[2]) : 10);
    return;
}
if (args.Length > 0 && args[0] == "invoke")
{
    await InvokeLoad.RunAsync(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(SigV4Benchmarks).Assembly).Run(args);

/// <summary>What SigV4 verification costs per request, against the one hash it cannot avoid.</summary>
[MemoryDiagnoser]
public class SigV4Benchmarks
{
    const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    readonly (string, string)[] _headers =
    [
        ("host", "127.0.0.1:9600"), ("x-amz-content-sha256", SigV4.EmptySha256), ("x-amz-date", "20261127T000000Z"),
    ];

    [Benchmark(Baseline = true, Description = "SHA-256 of an empty payload (floor)")]
    public string Floor() => SigV4.Sha256Hex(ReadOnlySpan<byte>.Empty);

    [Benchmark(Description = "verify a GetObject signature")]
    public string Verify()
    {
        var canonical = SigV4.CanonicalRequest("GET", SigV4.CanonicalUri("/bucket/some/key%20with%20spaces.bin", s3: true),
            SigV4.CanonicalQuery("partNumber=1&x-id=GetObject"), _headers, "host;x-amz-content-sha256;x-amz-date", SigV4.EmptySha256);
        var sts = SigV4.StringToSign("20261127T000000Z", "20261127/us-east-1/s3/aws4_request", canonical);
        return SigV4.Sign(SigV4.SigningKey(Secret, "20261127", "us-east-1", "s3"), sts);
    }

    static readonly byte[] InvokeBody = System.Text.Encoding.ASCII.GetBytes("[[5.1,3.5,1.4,0.2]]");

    [Benchmark(Description = "verify an InvokeEndpoint signature (its body hashed)")]
    public string VerifyInvoke()
    {
        var payloadHash = SigV4.Sha256Hex(InvokeBody);
        var canonical = SigV4.CanonicalRequest("POST", SigV4.CanonicalUri("/endpoints/bench/invocations", s3: false), SigV4.CanonicalQuery(""),
            _headers, "host;x-amz-content-sha256;x-amz-date", payloadHash);
        var sts = SigV4.StringToSign("20261127T000000Z", "20261127/us-east-1/sagemaker/aws4_request", canonical);
        return SigV4.Sign(SigV4.SigningKey(Secret, "20261127", "us-east-1", "sagemaker"), sts);
    }
}

/// <summary>Decoding a signed aws-chunked body, against copying the same bytes.</summary>
[MemoryDiagnoser]
public class AwsChunkedBenchmarks
{
    byte[] _plain = [];
    byte[] _chunked = [];
    readonly byte[] _key = SigV4.SigningKey("secret", "20261127", "us-east-1", "s3");

    [GlobalSetup]
    public void Setup()
    {
        _plain = new byte[8 * 1024 * 1024];
        Random.Shared.NextBytes(_plain);
        var output = new MemoryStream();
        var previous = "seed";
        for (var offset = 0; offset <= _plain.Length; offset += 64 * 1024)
        {
            var chunk = _plain.AsSpan(offset, Math.Min(64 * 1024, _plain.Length - offset)).ToArray();
            previous = SigV4.ChunkSignature(_key, "20261127T000000Z", "20261127/us-east-1/s3/aws4_request", previous, SigV4.Sha256Hex(chunk));
            output.Write(System.Text.Encoding.ASCII.GetBytes($"{chunk.Length:x};chunk-signature={previous}\r\n"));
            output.Write(chunk);
            if (chunk.Length > 0) output.Write("\r\n"u8);
        }
        output.Write("\r\n"u8);
        _chunked = output.ToArray();
    }

    readonly Sink _sink = new();

    [Benchmark(Baseline = true, Description = "copy 8 MiB (floor)")]
    public async Task Copy() => await new MemoryStream(_plain).CopyToAsync(_sink, 1024 * 1024);

    [Benchmark(Description = "SHA-256 of 8 MiB (what verification must compute)")]
    public byte[] Hash() => System.Security.Cryptography.SHA256.HashData(_plain);

    [Benchmark(Description = "decode + verify 8 MiB of signed 64 KiB chunks")]
    public async Task Decode()
    {
        await using var stream = new AwsChunkedStream(new MemoryStream(_chunked), new ChunkSigner(_key, "20261127T000000Z", "20261127/us-east-1/s3/aws4_request", "seed"), _plain.Length);
        await stream.CopyToAsync(_sink, 1024 * 1024);
    }

    /// <summary>Takes every byte (a memcpy into one buffer), as a consumer of the body would.</summary>
    sealed class Sink : Stream
    {
        readonly byte[] _buffer = new byte[8 * 1024 * 1024];
        public override void Write(byte[] buffer, int offset, int count) => buffer.AsSpan(offset, count).CopyTo(_buffer);
        public override void Write(ReadOnlySpan<byte> buffer) => buffer.CopyTo(_buffer);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            buffer.Span.CopyTo(_buffer);
            return ValueTask.CompletedTask;
        }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => 0;
        public override long Position { get => 0; set { } }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
