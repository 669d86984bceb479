using System.Diagnostics;
using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Pipeline;

/// <summary>
/// The one path every AWS request takes, as an ordered list of small stages. Reading the list
/// tells the whole story: find the service, parse the protocol and resolve the operation,
/// authenticate (SigV4), refuse unknown operations, read the typed input (validated against the
/// service model), authorize (IAM action + resource), run the
/// handler. Any stage may
/// throw an <see cref="AwsException"/>, which is serialized in the request's protocol; anything
/// else is a bug, logged and answered as InternalError, never a bare 500 or a dropped connection.
/// </summary>
public sealed class RequestPipeline : IInternalCalls
{
    public delegate Task Stage(RequestContext ctx);

    readonly (string Name, Stage Run)[] _stages;
    readonly ILogger _log;
    readonly string _region;

    readonly (int Port, string Id)? _vpce;

    readonly AuditStage? _audit;

    /// <param name="vpce">The listener port that stands for a VPC endpoint, and that endpoint's id.</param>
    /// <param name="audit">Records every request for CloudTrail, after it is answered.</param>
    public RequestPipeline(ServiceCatalog catalog, SigV4Authenticator authenticator, Authorizer authorizer, ILogger<RequestPipeline> log, string region,
        (int Port, string Id)? vpce = null, AuditStage? audit = null)
    {
        _audit = audit;
        _vpce = vpce;
        _log = log;
        _region = region;
        _stages =
        [
            ("detect-service", ctx => { ctx.Service = catalog.Detect(ctx); SetRequestIdHeaders(ctx); return Task.CompletedTask; }),
            ("parse-protocol", ProtocolParser.ParseAsync),
            ("authenticate", authenticator.AuthenticateAsync),
            ("require-operation", ProtocolParser.RequireOperation),
            ("read-input", ProtocolParser.ReadInput),
            ("authorize", authorizer.AuthorizeAsync),
            ("invoke", ctx => ctx.Operation!.Handler(ctx)),
        ];
    }

    public IReadOnlyList<string> StageNames => _stages.Select(s => s.Name).ToArray();

    ServiceCatalog? _catalog;

    /// <summary>The services an internal call (<see cref="CallAsync"/>) may address.</summary>
    public ServiceCatalog Catalog { init => _catalog = value; }

    /// <summary>
    /// A call a service makes on a customer's behalf (Step Functions' task integrations): operation
    /// <paramref name="operation"/> of service <paramref name="serviceId"/> (a JSON protocol one), as
    /// <paramref name="principal"/> (the role session the calling service assumed), with
    /// <paramref name="body"/> as its JSON request. It takes the same stages as a request from the
    /// wire except detection (the service is named) and authentication (the principal is given):
    /// the operation's input is validated, IAM authorizes the principal, the handler runs, and
    /// CloudTrail records the call as the principal's, invoked by the calling service.
    /// </summary>
    public async Task<InternalCallResult> CallAsync(Principal principal, string serviceId, string operation, byte[] body, CancellationToken ct)
    {
        var service = _catalog?.Services.FirstOrDefault(s => s.Id == serviceId && s.IsJson && s.TargetPrefix is not null)
            ?? throw new ArgumentException($"No JSON service {serviceId} to call", nameof(serviceId));
        var http = new DefaultHttpContext { RequestAborted = ct };
        http.Request.Method = "POST";
        http.Request.Path = "/";
        http.Request.Headers["X-Amz-Target"] = service.TargetPrefix + "." + operation;
        http.Request.ContentType = service.Protocol == AwsProtocol.Json10 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1";
        var (ctx, response) = await RunInternalAsync(principal, service, http, "/", body, operation);
        return new InternalCallResult(ctx.RequestId, ctx.Error, ctx.Error is null ? response.ToArray() : null);
    }

    /// <summary>
    /// The same for a service whose protocol is not JSON (S3's REST-XML, SNS's Query): the request
    /// as its clients send it, resolved to its operation by the service's own rules. The answer is
    /// the handler's status, headers and body, or the error the handler or a stage threw.
    /// </summary>
    public async Task<InternalHttpResult> SendAsync(Principal principal, string serviceId, InternalHttpRequest request, CancellationToken ct)
    {
        var service = _catalog?.Services.FirstOrDefault(s => s.Id == serviceId)
            ?? throw new ArgumentException($"No service {serviceId} to call", nameof(serviceId));
        var http = new DefaultHttpContext { RequestAborted = ct };
        http.Request.Method = request.Method;
        http.Request.Path = PathString.FromUriComponent(request.Path);
        http.Request.QueryString = request.Query.Length == 0 ? QueryString.Empty : new QueryString("?" + request.Query);
        // A path-style address: S3 takes the bucket from the path when the host is an IP address.
        http.Request.Host = new HostString("127.0.0.1");
        foreach (var (name, value) in request.Headers) http.Request.Headers[name] = value;
        var target = request.Path + (request.Query.Length == 0 ? "" : "?" + request.Query);
        var (ctx, response) = await RunInternalAsync(principal, service, http, target, request.Body, null, request.MaxResponseBody);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in http.Response.Headers) headers[name] = value.ToString();
        return new InternalHttpResult(ctx.RequestId, ctx.Error, ctx.Error is null ? http.Response.StatusCode : ctx.Error.Status, headers,
            ctx.Error is null ? response.ToArray() : []);
    }

    /// <summary>Runs an internal request through the stages but detection (the service is named) and
    /// authentication (the principal is given): validation, IAM authorization of the principal, the
    /// handler, and CloudTrail's record of the call as the principal's, invoked by the calling service.</summary>
    async Task<(RequestContext Context, MemoryStream Response)> RunInternalAsync(Principal principal, Protocol.ServiceDescriptor service, DefaultHttpContext http,
        string rawTarget, byte[] body, string? operation, long maxResponseBody = long.MaxValue)
    {
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget = rawTarget;
        http.Request.Headers.UserAgent = principal.InvokedBy ?? "AWS Internal";
        http.Request.ContentLength = body.Length;
        http.Request.Body = new MemoryStream(body, writable: false);
        var response = new FirstBytes(maxResponseBody);
        http.Response.Body = response;
        var ctx = new RequestContext(http, NewRequestId(), _region, secureTransport: true) { Service = service, Principal = principal };
        try
        {
            foreach (var (name, run) in _stages)
            {
                if (name is "detect-service" or "authenticate") continue;
                await run(ctx);
            }
        }
        catch (AwsException e) { ctx.Error = e; }
        catch (DomainError e) when (service.Operations.Errors.TryMap(e) is { } mapped) { ctx.Error = mapped; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "Internal call {RequestId} {Service}.{Operation} failed", ctx.RequestId, service.Id, operation ?? ctx.OperationName);
            ctx.Error = AwsException.Internal();
        }
        finally
        {
            _audit?.Record(ctx);
            ctx.ReleaseBody();
        }
        return (ctx, response);
    }

    public async Task HandleAsync(HttpContext http)
    {
        var requestId = NewRequestId();
        var ctx = new RequestContext(http, requestId, _region, http.Request.IsHttps)
        {
            SourceVpce = _vpce is { } v && http.Connection.LocalPort == v.Port ? v.Id : null,
        };
        var stage = "";
        try
        {
            foreach (var (name, run) in _stages)
            {
                stage = name;
                await run(ctx);
            }
        }
        catch (AwsException e)
        {
            await WriteErrorAsync(ctx, e);
        }
        catch (DomainError e) when (ctx.Service?.Operations.Errors.TryMap(e) is { } mapped)
        {
            await WriteErrorAsync(ctx, mapped);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionResetException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (BadHttpRequestException e)
        {
            await WriteErrorAsync(ctx, new AwsException("IncompleteBody", 400, e.Message));
        }
        catch (Exception e)
        {
            _log.LogError(e, "Request {RequestId} failed in stage {Stage} ({Operation})", requestId, stage, ctx.OperationName);
            await WriteErrorAsync(ctx, AwsException.Internal());
        }
        finally
        {
            _audit?.Record(ctx);
            ctx.ReleaseBody();
            if (_log.IsEnabled(LogLevel.Debug))
                _log.LogDebug("{RequestId} {Service}.{Operation} {Status} {Ms:F2}ms", requestId, ctx.Service?.Id, ctx.OperationName, http.Response.StatusCode, Stopwatch.GetElapsedTime(ctx.StartTimestamp).TotalMilliseconds);
        }
    }

    /// <summary>Each protocol's clients read the request id from their own header; S3's also
    /// carry <c>x-amz-id-2</c>.</summary>
    static void SetRequestIdHeaders(RequestContext ctx)
    {
        var headers = ctx.Response.Headers;
        if (ctx.Service?.Protocol is AwsProtocol.RestXml or null)
        {
            headers["x-amz-request-id"] = ctx.RequestId;
            headers["x-amz-id-2"] = ErrorWriter.HostId(ctx.RequestId);
        }
        else headers["x-amzn-RequestId"] = ctx.RequestId;
    }

    static async Task WriteErrorAsync(RequestContext ctx, AwsException error)
    {
        ctx.Error = error;
        if (ctx.Response.HasStarted)
        {
            // Too late for a status code: cut the response so the client sees a failure, not a
            // truncated body that looks complete.
            ctx.Http.Abort();
            return;
        }
        ctx.Response.Headers.Remove("Content-Range");
        if (!ctx.Response.Headers.ContainsKey("x-amz-request-id") && !ctx.Response.Headers.ContainsKey("x-amzn-RequestId")) SetRequestIdHeaders(ctx);
        // A refused request's body may be unread (or, after "Expect: 100-continue", never sent):
        // the connection cannot be reused safely, so it ends with this response.
        if (ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0)
            ctx.Response.Headers.Connection = "close";
        ctx.Response.Headers.ContentLength = null;
        await ErrorWriter.WriteAsync(ctx, error);
    }

    static long _sequence;

    /// <summary>16 upper-case hex characters, unique per process, like S3's request ids.</summary>
    static string NewRequestId()
        => (Interlocked.Increment(ref _sequence) ^ (Stopwatch.GetTimestamp() << 20)).ToString("X16");
}

/// <summary>An internal call's answer body: the first <paramref name="max"/> bytes written are kept,
/// the rest is counted out and dropped.</summary>
sealed class FirstBytes(long max) : MemoryStream
{
    int Room(int count) => (int)Math.Min(count, Math.Max(0, max - Length));

    // Every write ends in MemoryStream's array write: its span write, in a derived class, comes back
    // through Stream's to the array write overridden here.
    public override void Write(byte[] buffer, int offset, int count)
    {
        if (Room(count) is > 0 and var room) base.Write(buffer, offset, room);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Room(buffer.Length) is > 0 and var room) base.Write(buffer[..room].ToArray(), 0, room);
    }

    public override void WriteByte(byte value)
    {
        if (Length < max) base.WriteByte(value);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }
}
