using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Server.Services.Events;

/// <summary>
/// An API destination's InvocationRateLimitPerSecond: a token bucket that holds at most one
/// second's worth of invocations and refills at the rate, on the clock it is given. A delivery
/// that finds it empty is told how long to wait, so it is rescheduled rather than failed (AWS
/// holds such events back and keeps retrying them within the retry policy's age).
/// </summary>
public sealed class TokenBucket
{
    readonly object _lock = new();
    readonly double _rate;
    double _tokens;
    DateTimeOffset _last;

    public TokenBucket(int ratePerSecond, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ratePerSecond, 1);
        _rate = ratePerSecond;
        _tokens = ratePerSecond;
        _last = now;
    }

    public int RatePerSecond => (int)_rate;

    /// <summary>Takes one invocation's token: true when there was one; otherwise false and how long
    /// until there is.</summary>
    public bool TryTake(DateTimeOffset now, out TimeSpan wait)
    {
        lock (_lock)
        {
            // A clock that went back (never the injected one in practice) refills nothing.
            if (now > _last)
            {
                _tokens = Math.Min(_rate, _tokens + (now - _last).TotalSeconds * _rate);
                _last = now;
            }
            if (_tokens >= 1)
            {
                _tokens -= 1;
                wait = TimeSpan.Zero;
                return true;
            }
            wait = TimeSpan.FromSeconds((1 - _tokens) / _rate);
            return false;
        }
    }
}

/// <summary>
/// The HTTP request EventBridge makes to an API destination for one event, built without I/O:
/// the endpoint with its "*" path wildcards filled from the target's PathParameterValues, the
/// target's query string and headers merged with the connection's invocation parameters (the
/// connection's win, as AWS documents for HttpParameters), the connection's authorization, and
/// the headers AWS always sends.
/// </summary>
public static class ApiDestinationRequest
{
    public const string UserAgent = "Amazon/EventBridge/ApiDestinations";

    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>What AWS asks of the answer: only its first megabyte is read.</summary>
    public const string Range = "bytes=0-1048575";

    /// <summary>Whether a failed answer is worth another attempt: AWS retries 401 and 407 (an
    /// OAuth token may have expired), 409, 429 and every 5xx, and no other status.</summary>
    public static bool IsRetryable(int status) => status is 401 or 407 or 409 or 429 or >= 500 and <= 599;

    public static HttpRequestMessage Build(ApiDestinationRow destination, ConnectionRow connection, TargetHttpParameters? target, string payload)
    {
        var url = FillPath(destination.InvocationEndpoint, target?.PathParameterValues ?? []);
        var query = new List<KeyValuePair<string, string>>();
        var connectionQuery = connection.InvocationHttpParameters?.QueryStringParameters ?? [];
        foreach (var (key, value) in target?.QueryStringParameters ?? [])
            if (!connectionQuery.Any(q => q.Key == key)) query.Add(new(key, value));
        query.AddRange(connectionQuery.Select(q => new KeyValuePair<string, string>(q.Key, q.Value)));
        if (query.Count > 0)
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?")
                + string.Join("&", query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));

        var method = new HttpMethod(destination.HttpMethod);
        var request = new HttpRequestMessage(method, new Uri(url));
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in target?.HeaderParameters ?? []) headers[key] = value;
        foreach (var h in connection.InvocationHttpParameters?.HeaderParameters ?? []) headers[h.Key] = h.Value;
        foreach (var (key, value) in AuthorizationHeaders(connection)) headers[key] = value;
        // A Content-Type among the parameters replaces AWS's (AWS allows that since 2024).
        var contentType = headers.Remove("Content-Type", out var given) ? given : ContentType;
        // What AWS always sends: the caller's parameters cannot change who is calling.
        headers.Remove("User-Agent");
        headers.Remove("Host");
        headers.Remove("Content-Length");
        foreach (var (key, value) in headers) request.Headers.TryAddWithoutValidation(key, value);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.TryAddWithoutValidation("Range", Range);
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip,deflate");
        if (method != HttpMethod.Get && method != HttpMethod.Head)
        {
            var body = WithBodyParameters(payload, connection.InvocationHttpParameters?.BodyParameters ?? []);
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            request.Content = content;
        }
        return request;
    }

    /// <summary>The header a connection's credentials become: its API key under the key's name, or
    /// BASIC's <c>Authorization</c> (API destinations and Step Functions' HTTP Tasks send the same).</summary>
    public static IEnumerable<KeyValuePair<string, string>> AuthorizationHeaders(ConnectionRow connection)
    {
        switch (connection.AuthorizationType)
        {
            case "API_KEY":
                yield return new(connection.ApiKeyName!, connection.ApiKeyValue!);
                break;
            case "BASIC":
                yield return new("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{connection.Username}:{connection.Password}")));
                break;
        }
    }

    /// <summary>Replaces the endpoint's "*" wildcards in order; one with no value left stays "*".</summary>
    static string FillPath(string endpoint, IReadOnlyList<string> values)
    {
        if (values.Count == 0 || !endpoint.Contains('*', StringComparison.Ordinal)) return endpoint;
        var builder = new StringBuilder();
        var next = 0;
        foreach (var c in endpoint)
        {
            if (c == '*' && next < values.Count) builder.Append(Uri.EscapeDataString(values[next++]));
            else builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>The connection's body parameters go into a JSON object payload as members; any other
    /// payload travels as it is.</summary>
    static string WithBodyParameters(string payload, IReadOnlyList<ConnectionParameterRow> parameters)
    {
        if (parameters.Count == 0) return payload;
        JsonNode? node;
        try { node = JsonNode.Parse(payload); }
        catch (JsonException) { return payload; }
        if (node is not JsonObject body) return payload;
        foreach (var p in parameters) body[p.Key] = p.Value;
        return body.ToJsonString();
    }
}
