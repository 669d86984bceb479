using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Strata.Server.Protocol;

/// <summary>Everything the pipeline learns about one request, stage by stage.</summary>
public sealed class RequestContext(HttpContext http, string requestId, string region, bool secureTransport)
{
    public HttpContext Http { get; } = http;
    public HttpRequest Request => Http.Request;
    public HttpResponse Response => Http.Response;
    public string RequestId { get; } = requestId;
    public string Region { get; } = region;
    public long StartTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>True on the HTTPS listener: the value of <c>aws:SecureTransport</c>.</summary>
    public bool SecureTransport { get; } = secureTransport;

    /// <summary>The TLS protocol the connection negotiated; null over plain HTTP.</summary>
    public System.Security.Authentication.SslProtocols? TlsProtocol
        => Http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.Protocol;

    /// <summary>The VPC endpoint the request came through (the VPC endpoint listener), the value
    /// of <c>aws:SourceVpce</c>; null for traffic from the open listeners.</summary>
    public string? SourceVpce { get; init; }

    /// <summary>The request target exactly as sent (path and query still percent-encoded),
    /// which SigV4 needs.</summary>
    public string RawTarget { get; } = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path + http.Request.QueryString;

    public string RawPath => RawTarget.IndexOf('?') is var q and >= 0 ? RawTarget[..q] : RawTarget;
    public string RawQuery => RawTarget.IndexOf('?') is var q and >= 0 ? RawTarget[(q + 1)..] : "";

    // Service detection
    public ServiceDescriptor? Service { get; set; }
    /// <summary>The credential scope's service name, when the request is signed.</summary>
    public string? SigningName { get; set; }

    // Protocol parsing
    public string? OperationName { get; set; }
    public Operation? Operation { get; set; }
    /// <summary>The whole body of a request the protocol stage reads at once: every protocol's but
    /// S3's (JSON and Query bodies are small; SageMaker Runtime's payloads, up to 6 MB, lie in
    /// <see cref="BodyOwner"/>'s pooled array).</summary>
    public ArraySegment<byte>? BufferedBody { get; set; }
    /// <summary>The pooled array <see cref="BufferedBody"/> lies in, held by the request until it
    /// ends (<see cref="ReleaseBody"/>); null when the body is an array of its own. Whatever keeps
    /// any of the body past the request copies it.</summary>
    public Strata.Worker.PooledBody? BodyOwner { get; set; }
    /// <summary>The body as operations read it: <see cref="BufferedBody"/> with its Content-Encoding
    /// (gzip, which botocore applies to large PutMetricData requests) undone. SigV4 hashes the body
    /// as sent, so both are kept.</summary>
    public byte[]? Content { get; set; }
    public Dictionary<string, string>? QueryInput { get; set; }
    /// <summary>The typed input of a generated operation, read and validated before authorization.</summary>
    public object? Input { get; set; }
    /// <summary>S3: the bucket and key the request addresses (path or virtual host style).</summary>
    public string? Bucket { get; set; }
    public string? Key { get; set; }
    /// <summary>REST-JSON: the values of the operation's path template ({EndpointName}).</summary>
    public Dictionary<string, string> PathParameters { get; } = [];
    /// <summary>S3: the bucket came from the Host header, not the path.</summary>
    public bool VirtualHostedBucket { get; set; }

    // Authentication
    public Principal Principal { get; set; } = Principal.Anonymous;
    /// <summary>The algorithm the request was signed with (<c>AWS4-HMAC-SHA256</c>, or <c>AWS</c>
    /// for S3's SigV2); null when unsigned.</summary>
    public string? SignatureVersion { get; set; }
    /// <summary>The signature came in the query string (a presigned URL), not the Authorization header.</summary>
    public bool SignedInQuery { get; set; }
    /// <summary>When a SigV4 request says it was signed (its <c>X-Amz-Date</c>); null otherwise.</summary>
    public DateTimeOffset? SignedAt { get; set; }
    /// <summary>The payload as the handler must read it: decoded from aws-chunked and verified
    /// against its signature/hash while it is read.</summary>
    public Stream Body { get; set; } = http.Request.Body;
    /// <summary>Set when the body was aws-chunked: its trailing headers (checksums) and decoded
    /// length are known once it has been read to the end.</summary>
    public IAwsChunkedBody? ChunkedBody { get; set; }

    // Authorization
    public string? Action { get; set; }
    public string? ResourceArn { get; set; }
    /// <summary>Service condition keys the operation knows from its input (kms:EncryptionContext:*),
    /// set while it names its resource, read by the authorizer.</summary>
    public Dictionary<string, IReadOnlyList<string>> ConditionKeys { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Set by the authorization stage, for permissions the handler needs besides its own.</summary>
    public IRequestAuthorizer? Authorizer { get; set; }

    /// <summary>Checks a further permission the operation needs (e.g. reading a copy source);
    /// throws the protocol's access-denied error when it is not granted.</summary>
    public void Authorize(string action, string resourceArn)
        => (Authorizer ?? throw new InvalidOperationException("Authorize before the authorization stage")).Require(this, action, resourceArn);

    // Audit
    /// <summary>The error the request was answered with, if any (CloudTrail's errorCode).</summary>
    public AwsException? Error { get; set; }
    /// <summary>The answer of a generated JSON operation as JSON, made only if the audit stage
    /// records it (CloudTrail's responseElements).</summary>
    public Func<string?>? OutputJson { get; set; }

    public string? Header(string name) => Request.Headers.TryGetValue(name, out var v) && v.Count > 0 ? v.ToString() : null;

    /// <summary>Lets go of the pooled body, once, when the request has ended.</summary>
    public void ReleaseBody()
    {
        var owner = BodyOwner;
        BodyOwner = null;
        owner?.Release();
    }
}
