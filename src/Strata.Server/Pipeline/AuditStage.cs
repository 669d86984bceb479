using System.Globalization;
using System.Text;
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
    /// <summary>The record format AWS writes today.</summary>
    public const string EventVersion = "1.09";

    /// <summary>What AWS writes in place of a value it does not record.</summary>
    public const string HiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS";

    /// <summary>Members whose values are secrets (the service models mark them sensitive) or
    /// payloads: recorded as <see cref="HiddenValue"/>.</summary>
    static readonly HashSet<string> Hidden = new(StringComparer.OrdinalIgnoreCase)
    {
        "Plaintext", "CiphertextBlob", "SecretAccessKey", "SessionToken", "Password", "NewPassword", "OldPassword", "PrivateKey",
        "Body", "Message", "Detail", "Data", "SecretString", "SecretBinary", "AuthParameters", "ApiKeyValue",
    };

    /// <summary>S3 operations on objects, and the runtime's invocations: data events.</summary>
    static bool IsDataEvent(RequestContext ctx)
        => ctx.Service!.Id == "sagemaker-runtime" || (ctx.Service.Id == "s3" && (ctx.Key is not null || ctx.OperationName is "DeleteObjects"));

    static bool IsReadOnly(string operation)
        => operation.StartsWith("Get", StringComparison.Ordinal) || operation.StartsWith("List", StringComparison.Ordinal)
            || operation.StartsWith("Describe", StringComparison.Ordinal) || operation.StartsWith("Head", StringComparison.Ordinal)
            || operation.StartsWith("Lookup", StringComparison.Ordinal) || operation.StartsWith("Test", StringComparison.Ordinal)
            || operation is "SelectObjectContent" or "FilterLogEvents" or "StartQuery" or "Decrypt" or "Encrypt" or "GenerateDataKey" or "GenerateDataKeyWithoutPlaintext" or "GenerateRandom";

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
        var principal = ctx.Principal;
        var time = clock.GetUtcNow();
        var eventId = Guid.NewGuid().ToString();
        var readOnly = IsReadOnly(ctx.OperationName!);
        var resources = Resources(ctx.ResourceArn);
        var record = new JsonObject
        {
            ["eventVersion"] = EventVersion,
            ["userIdentity"] = UserIdentity(principal),
            ["eventTime"] = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["eventSource"] = eventSource,
            ["eventName"] = ctx.OperationName,
            ["awsRegion"] = region,
            ["sourceIPAddress"] = ctx.Http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1",
            ["userAgent"] = ctx.Header("User-Agent") ?? "",
        };
        if (ctx.Error is { } error)
        {
            record["errorCode"] = error.Code;
            record["errorMessage"] = error.Message;
        }
        record["requestParameters"] = RequestParameters(ctx);
        record["responseElements"] = ctx.Error is null && !readOnly && !data ? ResponseElements(ctx) : null;
        record["requestID"] = ctx.RequestId;
        record["eventID"] = eventId;
        record["readOnly"] = readOnly;
        if (resources.Count > 0 && ctx.ResourceArn is { } arn)
            record["resources"] = new JsonArray(new JsonObject { ["accountId"] = principal.AccountId, ["type"] = resources[0].Type, ["ARN"] = arn });
        record["eventType"] = "AwsApiCall";
        record["managementEvent"] = !data;
        record["recipientAccountId"] = principal.AccountId;
        if (ctx.SourceVpce is { } vpce) record["vpcEndpointId"] = vpce;
        record["eventCategory"] = data ? "Data" : "Management";
        if (ctx.Request.IsHttps)
            record["tlsDetails"] = new JsonObject
            {
                ["tlsVersion"] = TlsVersion(ctx),
                ["cipherSuite"] = ctx.Http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.NegotiatedCipherSuite?.ToString() ?? "",
                ["clientProvidedHostHeader"] = ctx.Request.Host.Value,
            };
        return new AuditRecord
        {
            Account = principal.AccountId,
            EventId = eventId,
            EventTime = time,
            EventSource = eventSource,
            EventName = ctx.OperationName!,
            ReadOnly = readOnly,
            ManagementEvent = !data,
            Username = principal.Type switch
            {
                PrincipalType.Root => "root",
                PrincipalType.AssumedRole => principal.Arn[(principal.Arn.LastIndexOf('/') + 1)..],
                _ => principal.EntityName,
            },
            AccessKeyId = principal.AccessKeyId,
            Resources = resources,
            Json = record.ToJsonString(),
        };
    }

    static string TlsVersion(RequestContext ctx)
        => ctx.Http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.Protocol switch
        {
            System.Security.Authentication.SslProtocols.Tls13 => "TLSv1.3",
            System.Security.Authentication.SslProtocols.Tls12 => "TLSv1.2",
            _ => "",
        };

    /// <summary>Who called, in CloudTrail's userIdentity shape.</summary>
    static JsonObject UserIdentity(Principal p)
    {
        var identity = new JsonObject
        {
            ["type"] = p.Type switch { PrincipalType.Root => "Root", PrincipalType.AssumedRole => "AssumedRole", _ => "IAMUser" },
            ["principalId"] = p.UserId,
            ["arn"] = p.Arn,
            ["accountId"] = p.AccountId,
        };
        if (p.AccessKeyId is not null) identity["accessKeyId"] = p.AccessKeyId;
        if (p.Type == PrincipalType.User) identity["userName"] = p.EntityName;
        if (p.Type == PrincipalType.AssumedRole && p.RoleArn is { } roleArn)
            identity["sessionContext"] = new JsonObject
            {
                ["sessionIssuer"] = new JsonObject
                {
                    ["type"] = "Role",
                    ["principalId"] = p.UserId.Split(':')[0],
                    ["arn"] = roleArn,
                    ["accountId"] = p.AccountId,
                    ["userName"] = p.EntityName ?? roleArn[(roleArn.LastIndexOf('/') + 1)..],
                },
                ["attributes"] = new JsonObject { ["mfaAuthenticated"] = "false" },
            };
        return identity;
    }

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
                    if (k is not ("Action" or "Version")) query[Camel(k)] = Hidden.Contains(k) ? HiddenValue : v;
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
    /// endpointName), secrets replaced by <see cref="HiddenValue"/>.</summary>
    static JsonNode? Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var members = o.ToList();
                o.Clear();
                foreach (var (k, v) in members)
                    o[Camel(k)] = Hidden.Contains(k) ? HiddenValue : Redact(v);
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

    /// <summary>LookupEvents' resource of an ARN: (AWS::Service::Type, name).</summary>
    public static IReadOnlyList<AuditResource> Resources(string? arn)
    {
        if (arn is null || arn.Contains('*') || arn.Split(':', 6) is not [_, _, var service, _, _, var resource]) return [];
        if (service == "s3")
            return resource.IndexOf('/') is var slash and > 0
                ? [new AuditResource("AWS::S3::Object", resource)] : [new AuditResource("AWS::S3::Bucket", resource)];
        var cut = resource.IndexOfAny(['/', ':']);
        var type = cut > 0 ? resource[..cut] : resource;
        var name = cut > 0 ? resource[(cut + 1)..] : resource;
        return [new AuditResource($"AWS::{ServiceTitle(service)}::{Title(type)}", name)];
    }

    static string ServiceTitle(string service) => service switch
    {
        "sagemaker" => "SageMaker",
        "iam" => "IAM",
        "kms" => "KMS",
        "sns" => "SNS",
        "sts" => "STS",
        "logs" => "Logs",
        "cloudwatch" => "CloudWatch",
        "events" => "Events",
        "cloudtrail" => "CloudTrail",
        "application-autoscaling" => "ApplicationAutoScaling",
        _ => Title(service),
    };

    /// <summary>endpoint-config → EndpointConfig.</summary>
    static string Title(string kebab)
    {
        var b = new StringBuilder();
        foreach (var part in kebab.Split('-', StringSplitOptions.RemoveEmptyEntries)) b.Append(char.ToUpperInvariant(part[0])).Append(part[1..]);
        return b.ToString();
    }
}
