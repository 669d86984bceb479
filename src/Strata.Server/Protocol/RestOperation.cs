namespace Strata.Server.Protocol;

/// <summary>Where a member of a REST operation's input or output travels (the model's
/// <c>location</c>; <see cref="Payload"/> is the structure's <c>payload</c> member, <see cref="Body"/>
/// a member of the JSON document).</summary>
public enum HttpLocation { Uri, Querystring, Header, Headers, StatusCode, Payload, Body }

/// <summary>One member's binding: its model name, where it travels and its name there (the
/// header, URI label or query key; the member name for the payload and body members).</summary>
public sealed record HttpMember(string Member, HttpLocation Location, string WireName);

/// <summary>
/// The HTTP binding of a REST-JSON operation, generated from the service model: method, request
/// URI template and where each input and output member travels. Resolving a request is matching
/// its method and path against the template; reading and writing the members is the service's
/// (SageMaker Runtime streams its payloads).
/// </summary>
public sealed class RestOperation
{
    readonly string[] _segments;

    public RestOperation(string name, string method, string requestUri, IReadOnlyList<HttpMember> input, IReadOnlyList<HttpMember> output)
    {
        if (requestUri.Contains('?') || requestUri.Contains("+}", StringComparison.Ordinal))
            throw new NotSupportedException($"{name}: query literals and greedy labels in {requestUri} are not matched yet");
        (Name, Method, RequestUri, Input, Output) = (name, method, requestUri, input, output);
        _segments = requestUri.Split('/');
    }

    public string Name { get; }
    public string Method { get; }
    public string RequestUri { get; }
    public IReadOnlyList<HttpMember> Input { get; }
    public IReadOnlyList<HttpMember> Output { get; }

    /// <summary>Whether a request's method and raw (still encoded) path are this operation's;
    /// when they are, each URI label's value, passed through <paramref name="decode"/>, is put
    /// into <paramref name="labels"/>. A label matches one non-empty path segment.</summary>
    public bool TryMatch(string method, string rawPath, IDictionary<string, string> labels, Func<string, string> decode)
    {
        if (!string.Equals(method, Method, StringComparison.OrdinalIgnoreCase)) return false;
        var parts = rawPath.Split('/');
        if (parts.Length != _segments.Length) return false;
        for (var i = 0; i < parts.Length; i++)
        {
            if (IsLabel(_segments[i]) ? parts[i].Length == 0 : !string.Equals(parts[i], _segments[i], StringComparison.Ordinal)) return false;
        }
        for (var i = 0; i < parts.Length; i++)
            if (IsLabel(_segments[i])) labels[_segments[i][1..^1]] = decode(parts[i]);
        return true;
    }

    static bool IsLabel(string segment) => segment.Length > 2 && segment[0] == '{' && segment[^1] == '}';
}
