using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>An EventBridge connection as an HTTP Task uses it: its state, and what it adds to each
/// request (the authorization it holds, and its invocation parameters).</summary>
public sealed record HttpConnection(string State, IReadOnlyList<KeyValuePair<string, string>> Headers,
    IReadOnlyList<KeyValuePair<string, string>> QueryParameters, IReadOnlyList<KeyValuePair<string, string>> BodyParameters);

/// <summary>The connections HTTP Tasks may name (EventBridge implements it).</summary>
public interface IHttpConnections
{
    /// <summary>The connection the ARN names in the account, or null when there is none.</summary>
    HttpConnection? Find(string account, string connectionArn);
}

/// <summary>
/// Step Functions' HTTP Task (<c>arn:aws:states:::http:invoke</c>): one request to a third-party
/// API, authorized by an EventBridge connection, whose answer is the task's result
/// (<c>Headers</c>, <c>ResponseBody</c>, <c>StatusCode</c>, <c>StatusText</c>). A status other than
/// 2xx fails the task with <c>States.Http.StatusCode.NNN</c>. As on AWS the endpoint is HTTPS (plain
/// HTTP only to this machine, as EventBridge's API destinations), the request is built from the
/// task's Parameters and the connection's parameters (the connection's win), and the answer must
/// come within 60 seconds.
/// </summary>
public sealed class HttpTasks(IHttpConnections connections, string region)
{
    public const string Resource = "arn:aws:states:::http:invoke";

    /// <summary>How long an HTTP Task waits for its answer (AWS's limit).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The most of an answer's body kept: a task's result is at most 256 KiB.</summary>
    const int MaxBody = 262144;

    static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

    /// <summary>The client the requests go through (a test may give its own handler).</summary>
    public HttpMessageInvoker Http { get; init; } = OutboundHttp.Create(DecompressionMethods.All);

    /// <summary>The request a task's Parameters describe, checked: the endpoint, the method, the connection.</summary>
    public sealed record Call(Uri Endpoint, string Method, string ConnectionArn, JsonObject Parameters);

    /// <summary>Reads and checks the task's Parameters (a bad one fails the task with States.Runtime, as AWS's do).</summary>
    public static Call Parse(JsonNode? parameters)
    {
        var p = parameters as JsonObject ?? throw Runtime("The HTTP Task needs Parameters (or Arguments) with ApiEndpoint, Method and Authentication.");
        var endpoint = Text(p, "ApiEndpoint") ?? throw Runtime("The HTTP Task's parameters need an ApiEndpoint, a string.");
        var method = Text(p, "Method") ?? throw Runtime("The HTTP Task's parameters need a Method, a string.");
        if (!Methods.Contains(method)) throw Runtime($"The HTTP Task's Method must be one of [{string.Join(", ", Methods)}], not {method}.");
        var connection = (p["Authentication"] as JsonObject) is { } auth ? Text(auth, "ConnectionArn") : null;
        if (connection is null) throw Runtime("The HTTP Task's parameters need Authentication with a ConnectionArn.");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw Runtime($"The HTTP Task's ApiEndpoint {endpoint} is not an HTTPS URL.");
        if (uri.Scheme == Uri.UriSchemeHttp && !(uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip))))
            throw Runtime($"The HTTP Task's ApiEndpoint {endpoint} must use HTTPS (plain HTTP is accepted only to a loopback address).");
        return new Call(uri, method, connection, p);
    }

    /// <summary>Sends the request as the call and the connection say; returns the task's result.</summary>
    public async Task<JsonNode?> InvokeAsync(string account, Call call, CancellationToken ct)
    {
        var connection = connections.Find(account, call.ConnectionArn)
            ?? throw new StatesError("States.Runtime", $"The connection '{call.ConnectionArn}' does not exist.");
        if (connection.State is not ("AUTHORIZED" or "ACTIVE"))
            throw new StatesError("States.Runtime", $"The connection '{call.ConnectionArn}' is {connection.State}: it cannot authorize requests.");
        using var request = Build(call, connection);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        HttpResponseMessage response;
        try { response = await Http.SendAsync(request, timeout.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new StatesError("States.Timeout", $"The HTTP endpoint {call.Endpoint} did not answer within {Timeout.TotalSeconds:0} seconds.");
        }
        catch (HttpRequestException e)
        {
            throw new StatesError("States.Http.Socket", $"The request to {call.Endpoint} failed: {e.Message}");
        }
        using (response)
        {
            var result = await ResultAsync(response, ct);
            var status = (int)response.StatusCode;
            if (status is < 200 or > 299) throw new StatesError($"States.Http.StatusCode.{status}", Json(result));
            return result;
        }
    }

    HttpRequestMessage Build(Call call, HttpConnection connection)
    {
        var p = call.Parameters;
        var query = new List<KeyValuePair<string, string>>();
        if (p["QueryParameters"] is JsonObject q)
            foreach (var (key, value) in q)
                if (!connection.QueryParameters.Any(c => c.Key == key)) query.Add(new(key, Scalar(value)));
        query.AddRange(connection.QueryParameters);
        var url = call.Endpoint.ToString();
        if (query.Count > 0)
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join("&", query.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
        var request = new HttpRequestMessage(new HttpMethod(call.Method), url);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (p["Headers"] is JsonObject h) foreach (var (key, value) in h) headers[key] = Scalar(value);
        foreach (var (key, value) in connection.Headers) headers[key] = value;
        var urlEncoded = (p["Transform"] as JsonObject)?["RequestBodyEncoding"]?.GetValue<string>() == "URL_ENCODED";
        var contentType = headers.Remove("Content-Type", out var given) ? given : null;
        // Who calls cannot be changed by the parameters.
        foreach (var reserved in new[] { "Host", "Content-Length", "User-Agent", "Range" }) headers.Remove(reserved);
        foreach (var (key, value) in headers) request.Headers.TryAddWithoutValidation(key, value);
        request.Headers.TryAddWithoutValidation("User-Agent", $"Amazon|StepFunctions|HttpInvoke|{region}");
        if (p.ContainsKey("RequestBody") || connection.BodyParameters.Count > 0)
        {
            var body = p["RequestBody"]?.DeepClone();
            if (connection.BodyParameters.Count > 0)
            {
                var merged = body as JsonObject ?? [];
                foreach (var (key, value) in connection.BodyParameters) merged[key] = value;
                body = merged;
            }
            string text;
            if (urlEncoded)
            {
                var arrayFormat = ((p["Transform"] as JsonObject)?["RequestEncodingOptions"] as JsonObject)?["ArrayFormat"]?.GetValue<string>() ?? "INDICES";
                var pairs = new List<KeyValuePair<string, string>>();
                Form(body, null, arrayFormat, pairs);
                text = string.Join("&", pairs.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
                contentType ??= "application/x-www-form-urlencoded";
            }
            else
            {
                text = body is JsonValue v && v.TryGetValue<string>(out var s) ? s : Json(body);
                contentType ??= body is JsonValue sv && sv.TryGetValue<string>(out _) ? "text/plain" : "application/json";
            }
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            request.Content = content;
        }
        return request;
    }

    /// <summary>A JSON body as form fields: objects as <c>a[b]</c>; arrays as ArrayFormat says
    /// (INDICES <c>a[0]=x</c>, BRACKETS <c>a[]=x</c>, REPEAT <c>a=x&amp;a=y</c>, COMMAS <c>a=x,y</c>).</summary>
    static void Form(JsonNode? node, string? name, string arrayFormat, List<KeyValuePair<string, string>> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o) Form(value, name is null ? key : $"{name}[{key}]", arrayFormat, into);
                break;
            case JsonArray a when name is not null:
                if (arrayFormat == "COMMAS")
                {
                    into.Add(new(name, string.Join(",", a.Select(Scalar))));
                    break;
                }
                for (var i = 0; i < a.Count; i++)
                    Form(a[i], arrayFormat switch { "BRACKETS" => name + "[]", "REPEAT" => name, _ => $"{name}[{i}]" }, arrayFormat, into);
                break;
            default:
                if (name is not null) into.Add(new(name, node is null ? "" : Scalar(node)));
                break;
        }
    }

    static async Task<JsonObject> ResultAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var headers = new JsonObject();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            headers[name] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > MaxBody + 1) throw new StatesError("States.DataLimitExceeded", "The HTTP endpoint's answer is larger than a task's result may be (256 KiB).");
            buffer.Write(chunk, 0, n);
        }
        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        JsonNode? body = text;
        // A JSON answer is the result's JSON; any other is its text.
        if (response.Content.Headers.ContentType?.MediaType is { } media && (media == "application/json" || media.EndsWith("+json", StringComparison.Ordinal)))
        {
            try { body = JsonNode.Parse(text); }
            catch (JsonException) { }
        }
        return new JsonObject
        {
            ["Headers"] = headers,
            ["ResponseBody"] = body,
            ["StatusCode"] = (int)response.StatusCode,
            ["StatusText"] = response.ReasonPhrase ?? "",
        };
    }

    static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static string Scalar(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString(CultureInfo.InvariantCulture),
        _ => Json(node),
    };

    static string Json(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    static StatesError Runtime(string message) => new("States.Runtime", message);
}
