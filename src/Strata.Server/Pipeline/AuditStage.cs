using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Protocol;

namespace Strata.Server.Pipeline;

/// <summary>
/// The pipeline's last stage, run after every answer (success or error): it turns the request
/// into a CloudTrail record (eventVersion 1.09) and hands it to the <see cref="IAuditSink"/>.
/// Management events are always recorded; data events (S3 object operations, InvokeEndpoint)
/// only when a trail asks for them. What is recorded never includes request or response bodies,
/// key material, passwords or session tokens (<see cref="Hidden"/>). The stage never fails a
/// request: a record that cannot be made is logged and the answer stands.
/// </summary>
public sealed class AuditStage(IAuditSink sink, TimeProvider clock, string region, ILogger log)
{
    /// <summary>Members whose values are secrets (the service models mark them sensitive), payloads,
    /// or where teams put secrets (SageMaker's containers' Environment and hyperparameters, which
    /// CloudTrail hides as it hides Lambda's environment): recorded as <see cref="AuditRecords.HiddenValue"/>.</summary>
    static readonly HashSet<string> Hidden = new(StringComparer.OrdinalIgnoreCase)
    {
        "Plaintext", "CiphertextBlob", "SecretAccessKey", "SessionToken", "Password", "NewPassword", "OldPassword", "PrivateKey",
        "Body", "Message", "Detail", "Data", "SecretString", "SecretBinary", "AuthParameters", "ApiKeyValue",
        "Environment", "HyperParameters", "StaticHyperParameters",
    };

    /// <summary>S3 operations on objects, and the runtime's invocations: data events.</summary>
    static bool IsDataEvent(RequestContext ctx)
        => ctx.Service!.Id == "sagemaker-runtime" || (ctx.Service.Id == "s3" && (ctx.Key is not null || ctx.OperationName is "DeleteObjects"));

    public void Record(RequestContext ctx)
    {
        try
        {
            var principal = ctx.Principal;
            if (ctx.Service is null || ctx.OperationName is null || ctx.Operation is null || principal.IsAnonymous) return;
            var eventSource = EventSource(ctx.Service.SigningName);
            var data = IsDataEvent(ctx);
            if (data && !sink.WantsDataEvents(principal.AccountId, eventSource)) return;
            sink.Record(Build(ctx, eventSource, data));
        }
        catch (Exception e)
        {
            log.LogError(e, "The CloudTrail record of request {RequestId} ({Operation}) could not be made", ctx.RequestId, ctx.OperationName);
        }
    }

    static string EventSource(string signingName) => signingName switch
    {
        "monitoring" => "monitoring.amazonaws.com",
        _ => signingName + ".amazonaws.com",
    };

    AuditRecord Build(RequestContext ctx, string eventSource, bool data)
    {
        var readOnly = AuditRecords.IsReadOnly(ctx.OperationName!);
        return AuditRecords.Make(new AuditCall
        {
            Principal = ctx.Principal,
            InvokedBy = ctx.Principal.InvokedBy,
            EventSource = eventSource,
            EventName = ctx.OperationName!,
            // A call a service made as a role session (Step Functions' tasks) comes from that service, as CloudTrail says.
            SourceIpAddress = ctx.Principal.InvokedBy ?? ctx.Http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1",
            UserAgent = ctx.Header("User-Agent") ?? "",
            ErrorCode = ctx.Error?.Code,
            ErrorMessage = ctx.Error?.Message,
            RequestParameters = RequestParameters(ctx),
            ResponseElements = ctx.Error is null && !readOnly && !data ? ResponseElements(ctx) : null,
            RequestId = ctx.RequestId,
            ReadOnly = readOnly,
            Data = data,
            ResourceArn = ctx.ResourceArn,
            VpcEndpointId = ctx.SourceVpce,
            TlsDetails = ctx.Request.IsHttps
                ? new JsonObject
                {
                    ["tlsVersion"] = TlsVersion(ctx),
                    ["cipherSuite"] = ctx.Http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.NegotiatedCipherSuite?.ToString() ?? "",
                    ["clientProvidedHostHeader"] = ctx.Request.Host.Value,
                }
                : null,
        }, clock.GetUtcNow(), region);
    }

    static string TlsVersion(RequestContext ctx)
        => ctx.TlsProtocol switch
        {
            System.Security.Authentication.SslProtocols.Tls13 => "TLSv1.3",
            System.Security.Authentication.SslProtocols.Tls12 => "TLSv1.2",
            _ => "",
        };

    /// <summary>The request's parameters: the JSON body of a JSON service, the form of a Query
    /// one, the bucket and key of S3, the path of a REST one; secrets hidden, bodies never kept.</summary>
    static JsonNode? RequestParameters(RequestContext ctx)
    {
        switch (ctx.Service!.Protocol)
        {
            case AwsProtocol.Json10 or AwsProtocol.Json11 when ctx.Content is { Length: > 0 } body:
                try { return Redact(JsonNode.Parse(body)); }
                catch (JsonException) { return null; }
            case AwsProtocol.Query when ctx.QueryInput is { } form:
                var query = new JsonObject();
                foreach (var (k, v) in form)
                    if (k is not ("Action" or "Version")) query[Camel(k)] = Hidden.Contains(k) ? AuditRecords.HiddenValue : v;
                return query;
            case AwsProtocol.RestXml:
                var s3 = new JsonObject { ["bucketName"] = ctx.Bucket, ["Host"] = ctx.Request.Host.Value };
                if (ctx.Key is not null) s3["key"] = ctx.Key;
                return s3;
            case AwsProtocol.RestJson:
                var rest = new JsonObject();
                foreach (var (k, v) in ctx.PathParameters) rest[Camel(k)] = v;
                if (ctx.Request.ContentType is { } type) rest["contentType"] = type;
                return rest;
            default:
                return null;
        }
    }

    static JsonNode? ResponseElements(RequestContext ctx)
    {
        if (ctx.OutputJson?.Invoke() is not { } json) return null;
        try { return Redact(JsonNode.Parse(json)); }
        catch (JsonException) { return null; }
    }

    /// <summary>The JSON as CloudTrail writes it: member names in camelCase (EndpointName →
    /// endpointName), secrets replaced by <see cref="AuditRecords.HiddenValue"/>.</summary>
    static JsonNode? Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var members = o.ToList();
                o.Clear();
                foreach (var (k, v) in members)
                    o[Camel(k)] = Hidden.Contains(k) ? AuditRecords.HiddenValue : Redact(v);
                break;
            case JsonArray a:
                var items = a.ToList();
                a.Clear();
                foreach (var item in items) a.Add(Redact(item));
                break;
        }
        return node;
    }

    static string Camel(string name) => name.Length > 0 && char.IsUpper(name[0]) ? char.ToLowerInvariant(name[0]) + name[1..] : name;
}
