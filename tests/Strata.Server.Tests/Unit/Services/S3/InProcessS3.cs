using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// S3 in process for unit tests: a real store (SQLite and blob files in a temporary folder) on a
/// fake clock, and requests sent through S3's own routing and handlers as the pipeline sends them
/// once it has authorized them (as the account's root; authorization itself is tested elsewhere).
/// </summary>
internal sealed class InProcessS3 : IDisposable
{
    public const string Account = "111122223333";

    readonly string _dir;
    readonly SqliteStateStore _state;
    int _requests;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    public S3Store Store { get; }
    public S3Service Service { get; }
    public S3Environment Environment { get; }

    /// <param name="buckets">Buckets made up front, owned by <see cref="Account"/>.</param>
    public InProcessS3(IServiceEvents? events, params string[] buckets)
    {
        _dir = Directory.CreateTempSubdirectory("strata-s3-").FullName;
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        Store = new S3Store(_state, new BlobStore(Path.Combine(_dir, "objects")));
        // No object here is encrypted: server-side encryption never reaches KMS.
        Environment = new S3Environment(Store, null!, Clock, "us-east-1", new ServerSideEncryption(null!, null!, "us-east-1")) { Events = events ?? NoServiceEvents.Instance };
        Service = new S3Service(Environment, ["localhost"]);
        foreach (var bucket in buckets) Store.CreateBucket(new BucketRecord(bucket, Account, "us-east-1", Clock.GetUtcNow()));
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    sealed class AllowAll : IRequestAuthorizer
    {
        public void Require(RequestContext ctx, string action, string resource) { }

        public AccessDecision Decide(RequestContext ctx, string action, string resource) => new(true, "allowed");
    }

    /// <summary>Sends one request through S3's routing and handler; returns the context (response, request id).</summary>
    public async Task<RequestContext> SendAsync(string method, string target, string body = "", params (string Name, string Value)[] headers)
    {
        var http = new DefaultHttpContext();
        var bytes = Encoding.UTF8.GetBytes(body);
        var query = target.IndexOf('?');
        http.Request.Method = method;
        http.Request.Path = query < 0 ? target : target[..query];
        http.Request.QueryString = new QueryString(query < 0 ? "" : target[query..]);
        http.Request.Host = new HostString("localhost");
        http.Request.Body = new MemoryStream(bytes);
        http.Request.ContentLength = bytes.Length;
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        foreach (var (name, value) in headers) http.Request.Headers[name] = value;
        http.Response.Body = new MemoryStream();
        http.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        var ctx = new RequestContext(http, $"REQ{++_requests:D4}", "us-east-1", false)
        {
            Principal = Principal.Root(Account, "AKIAEXAMPLE"),
            Authorizer = new AllowAll(),
        };
        var op = Service.Resolve(ctx) ?? throw new InvalidOperationException($"no S3 operation for {method} {target}");
        await op.Handler(ctx);
        return ctx;
    }

    public static string ResponseText(RequestContext ctx)
    {
        ctx.Response.Body.Position = 0;
        return new StreamReader(ctx.Response.Body).ReadToEnd();
    }
}
