using System.IO.Compression;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Strata.Server.Pipeline;
using Strata.Server.Protocol;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

/// <summary>
/// What the pipeline's audit stage adds to a request. Each row builds the request context as the
/// pipeline leaves it after answering (an IAM user's request, the body, the operation, the
/// resource, the answer's JSON made on demand); the baseline of each category stops there, the
/// other rows then run <see cref="AuditStage.Record"/> into a sink that discards the record. So
/// a row's time minus its baseline's is the audit stage's cost per request.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AuditStageBenchmarks
{
    static readonly Principal Alice = new(PrincipalType.User, "123456789012", "arn:aws:iam::123456789012:user/alice", "AIDAEXAMPLEALICE00001",
        "AKIAEXAMPLEALICE0001", EntityName: "alice");
    static readonly ServiceDescriptor SageMaker = new("sagemaker", "sagemaker", AwsProtocol.Json11, NamedOperations.None, TargetPrefix: "SageMaker");
    static readonly ServiceDescriptor S3 = new("s3", "s3", AwsProtocol.RestXml, NamedOperations.None);
    static readonly Operation CreateEndpoint = new("CreateEndpoint", "sagemaker:CreateEndpoint", _ => "", _ => Task.CompletedTask);
    static readonly Operation PutObject = new("PutObject", "s3:PutObject", _ => "", _ => Task.CompletedTask);

    /// <summary>A typical management call: SageMaker CreateEndpoint, JSON 1.1, 140 bytes.</summary>
    static readonly byte[] CreateEndpointBody =
        """{"EndpointName":"my-endpoint","EndpointConfigName":"my-endpoint-config","Tags":[{"Key":"team","Value":"ml"},{"Key":"stage","Value":"prod"}]}"""u8.ToArray();
    static readonly CreateEndpointOutput CreateEndpointAnswer = new() { EndpointArn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint" };

    readonly AuditStage _audit = new(new DiscardingSink(wantsDataEvents: true), TimeProvider.System, "us-east-1", NullLogger.Instance);
    readonly AuditStage _auditNoTrail = new(new DiscardingSink(wantsDataEvents: false), TimeProvider.System, "us-east-1", NullLogger.Instance);

    static HttpContext Http(string method, string path, string contentType)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = path;
        http.Request.Host = new HostString("127.0.0.1:9600");
        http.Request.ContentType = contentType;
        http.Request.Headers.UserAgent = "Boto3/1.43.0 md/Botocore#1.43.0 ua/2.1 os/linux#6.1 md/arch#x86_64 lang/python#3.13.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.43.0";
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        return http;
    }

    /// <summary>CreateEndpoint by an IAM user, answered, as the audit stage receives it.</summary>
    public static RequestContext ManagementCall()
    {
        var http = Http("POST", "/", "application/x-amz-json-1.1");
        http.Request.Headers["X-Amz-Target"] = "SageMaker.CreateEndpoint";
        return new RequestContext(http, Guid.NewGuid().ToString(), "us-east-1", false)
        {
            Service = SageMaker,
            SigningName = "sagemaker",
            OperationName = "CreateEndpoint",
            Operation = CreateEndpoint,
            BufferedBody = CreateEndpointBody,
            Content = CreateEndpointBody,
            Principal = Alice,
            Action = "sagemaker:CreateEndpoint",
            ResourceArn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint",
            // As OperationBinding sets it: the answer as JSON, made only if the audit stage asks.
            OutputJson = () => SageMakerOperations.CreateEndpoint.OutputJson(CreateEndpointAnswer),
        };
    }

    /// <summary>PutObject of a 4 KiB object by the same user (an S3 data event).</summary>
    static RequestContext DataCall()
    {
        var http = Http("PUT", "/hot/4096/17", "application/octet-stream");
        return new RequestContext(http, Guid.NewGuid().ToString(), "us-east-1", false)
        {
            Service = S3,
            SigningName = "s3",
            OperationName = "PutObject",
            Operation = PutObject,
            Bucket = "hot",
            Key = "4096/17",
            Principal = Alice,
            Action = "s3:PutObject",
            ResourceArn = "arn:aws:s3:::hot/4096/17",
        };
    }

    [BenchmarkCategory("management"), Benchmark(Baseline = true, Description = "CreateEndpoint (JSON 1.1, IAM user): the request context, no audit (baseline)")]
    public RequestContext ManagementBaseline() => ManagementCall();

    [BenchmarkCategory("management"), Benchmark(Description = "CreateEndpoint: the context + AuditStage.Record (record built, sink discards)")]
    public RequestContext ManagementAudited()
    {
        var ctx = ManagementCall();
        _audit.Record(ctx);
        return ctx;
    }

    [BenchmarkCategory("data"), Benchmark(Baseline = true, Description = "S3 PutObject (IAM user): the request context, no audit (baseline)")]
    public RequestContext DataBaseline() => DataCall();

    [BenchmarkCategory("data"), Benchmark(Description = "S3 PutObject: the context + AuditStage.Record, no trail wants data events (not built)")]
    public RequestContext DataNoTrail()
    {
        var ctx = DataCall();
        _auditNoTrail.Record(ctx);
        return ctx;
    }

    [BenchmarkCategory("data"), Benchmark(Description = "S3 PutObject: the context + AuditStage.Record, a trail wants data events (built, sink discards)")]
    public RequestContext DataTrail()
    {
        var ctx = DataCall();
        _audit.Record(ctx);
        return ctx;
    }

    /// <summary>Takes every record and keeps none (the last one, so that it is not optimised away).</summary>
    public sealed class DiscardingSink(bool wantsDataEvents) : IAuditSink
    {
        public AuditRecord? Last { get; private set; }
        public bool WantsDataEvents(string account, string eventSource) => wantsDataEvents;
        public void Record(AuditRecord record) => Last = record;
    }
}

/// <summary>
/// What the event history writer costs per record: <see cref="EventHistoryStore.Append"/> in
/// batches of 1 000 (the writer's batch size) into a SQLite file on disk, against the Brotli
/// compression of the same records that Append does first (the baseline). Both rows are per
/// record (1 000 operations per invocation). The records are the audit stage's own for the
/// management call of <see cref="AuditStageBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class EventHistoryBenchmarks
{
    const int Batch = 1000;
    readonly List<AuditRecord> _records = [];
    string _dir = "";
    EventHistoryStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        var sink = new AuditStageBenchmarks.DiscardingSink(wantsDataEvents: false);
        var audit = new AuditStage(sink, TimeProvider.System, "us-east-1", NullLogger.Instance);
        for (var i = 0; i < Batch; i++)
        {
            audit.Record(AuditStageBenchmarks.ManagementCall());
            _records.Add(sink.Last!);
        }
        _dir = Directory.CreateTempSubdirectory("strata-bench-history-").FullName;
        _store = new EventHistoryStore(Path.Combine(_dir, "history.db"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "Brotli (quality 4) of one record, as Append does first (baseline)")]
    public int Compress()
    {
        var total = 0;
        foreach (var r in _records)
        {
            var bytes = Encoding.UTF8.GetBytes(r.Json);
            var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
            BrotliEncoder.TryCompress(bytes, buffer, out var written, quality: 4, window: 22);
            total += written;
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "EventHistoryStore.Append, per record, in batches of 1 000 (SQLite WAL, 6 indexes + resources)")]
    public void Append() => _store.Append(_records);
}
