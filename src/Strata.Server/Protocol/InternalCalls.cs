namespace Strata.Server.Protocol;

/// <summary>The answer of an internal call: its request id, and its error or its JSON body.</summary>
public sealed record InternalCallResult(string RequestId, AwsException? Error, byte[]? Body);

/// <summary>A request to a service whose protocol is not JSON (S3's REST-XML, SNS's Query), as its
/// clients send it: method, path (percent-encoded, as on the wire), query string (without '?'),
/// headers and body. Of the answer's body only the first <paramref name="MaxResponseBody"/> bytes are
/// kept (the rest is read and dropped), so that a caller with a bound on what it can use (a task's
/// 256 KiB result) does not hold a large object in memory.</summary>
public sealed record InternalHttpRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body,
    long MaxResponseBody = long.MaxValue);

/// <summary>The answer of such a request: its request id, its error, or its status, headers and body.</summary>
public sealed record InternalHttpResult(string RequestId, AwsException? Error, int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// Calls of Strata's own operations that a service makes for a customer, as the role session it
/// assumed (Step Functions' task integrations). The request pipeline implements it, so that such a
/// call is validated, authorized and audited exactly as the same request from the wire; the layers
/// below the pipeline see only this.
/// </summary>
public interface IInternalCalls
{
    /// <summary>Operation <paramref name="operation"/> of the JSON service <paramref name="serviceId"/>
    /// (its id in the service catalog), with <paramref name="body"/> as its JSON request.</summary>
    Task<InternalCallResult> CallAsync(Principal principal, string serviceId, string operation, byte[] body, CancellationToken ct);

    /// <summary>An HTTP request to service <paramref name="serviceId"/> in its own protocol (S3, SNS),
    /// taken through the same stages.</summary>
    Task<InternalHttpResult> SendAsync(Principal principal, string serviceId, InternalHttpRequest request, CancellationToken ct);
}
