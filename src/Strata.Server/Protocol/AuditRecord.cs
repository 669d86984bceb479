using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Strata.Server.Protocol;

/// <summary>
/// One CloudTrail event record, as the request pipeline's audit stage made it: <see cref="Json"/>
/// is the whole record (eventVersion 1.09, the fields AWS documents) and the other members are
/// what event history and trails select on, so that neither has to parse it again.
/// </summary>
public sealed record AuditRecord
{
    /// <summary>The account whose resources the call was about (recipientAccountId).</summary>
    public required string Account { get; init; }
    public required string EventId { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    /// <summary>The service's endpoint name, e.g. <c>sagemaker.amazonaws.com</c>.</summary>
    public required string EventSource { get; init; }
    public required string EventName { get; init; }
    public required bool ReadOnly { get; init; }
    /// <summary>False for data events (S3 object operations, InvokeEndpoint), which only trails
    /// whose selectors ask for them record.</summary>
    public required bool ManagementEvent { get; init; }
    /// <summary>The identity's user name (or role session name), as LookupEvents' Username.</summary>
    public string? Username { get; init; }
    public string? AccessKeyId { get; init; }
    /// <summary>What the call addressed: (ResourceType, ResourceName), e.g. ("AWS::S3::Bucket", "models").</summary>
    public IReadOnlyList<AuditResource> Resources { get; init; } = [];
    public required string Json { get; init; }
}

public sealed record AuditResource(string Type, string Name);

/// <summary>
/// Where the audit stage hands its records (CloudTrail's event history and trails). Both calls
/// are made on the request path: they must be cheap, must not block on I/O and never throw.
/// </summary>
public interface IAuditSink
{
    /// <summary>Whether any trail of the account records data events of this source (S3's
    /// object operations, SageMaker's InvokeEndpoint): when none does, the pipeline does not even
    /// build the record.</summary>
    bool WantsDataEvents(string account, string eventSource);

    void Record(AuditRecord record);
}

/// <summary>
/// What a CloudTrail record says about one call, whoever made it: a request the pipeline answered
/// (the audit stage) or a call a service made on a customer's behalf (SageMaker assuming an
/// execution role, then reading an artifact as it). <see cref="AuditRecords.Make"/> writes it.
/// </summary>
public sealed record AuditCall
{
    /// <summary>Who called; null for a call an AWS service made as itself (type AWSService),
    /// such as assuming an execution role.</summary>
    public Principal? Principal { get; init; }
    /// <summary>The account the call was about, when <see cref="Principal"/> does not say.</summary>
    public string? Account { get; init; }
    /// <summary>The service that made the call for the principal, e.g. <c>sagemaker.amazonaws.com</c>
    /// (AWS writes it as userIdentity.invokedBy, and as the source address and user agent).</summary>
    public string? InvokedBy { get; init; }
    public required string EventSource { get; init; }
    public required string EventName { get; init; }
    public required string SourceIpAddress { get; init; }
    public required string UserAgent { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public JsonNode? RequestParameters { get; init; }
    public JsonNode? ResponseElements { get; init; }
    public required string RequestId { get; init; }
    public required bool ReadOnly { get; init; }
    /// <summary>A data event (S3 object operations, InvokeEndpoint) rather than a management one.</summary>
    public required bool Data { get; init; }
    public string? ResourceArn { get; init; }
    /// <summary>Set on the records of one action that AWS writes in more than one place.</summary>
    public string? SharedEventId { get; init; }
    public string? VpcEndpointId { get; init; }
    public JsonObject? TlsDetails { get; init; }
}

/// <summary>CloudTrail's record format (eventVersion 1.09), written in one place.</summary>
public static class AuditRecords
{
    /// <summary>The record format AWS writes today.</summary>
    public const string EventVersion = "1.09";

    /// <summary>What AWS writes in place of a value it does not record.</summary>
    public const string HiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS";

    /// <summary>CloudTrail's readOnly: calls that change nothing.</summary>
    public static bool IsReadOnly(string operation)
        => operation.StartsWith("Get", StringComparison.Ordinal) || operation.StartsWith("List", StringComparison.Ordinal)
            || operation.StartsWith("Describe", StringComparison.Ordinal) || operation.StartsWith("Head", StringComparison.Ordinal)
            || operation.StartsWith("Lookup", StringComparison.Ordinal) || operation.StartsWith("Test", StringComparison.Ordinal)
            || operation is "SelectObjectContent" or "FilterLogEvents" or "StartQuery" or "Decrypt" or "Encrypt" or "GenerateDataKey" or "GenerateDataKeyWithoutPlaintext" or "GenerateRandom" or "AssumeRole";

    public static AuditRecord Make(AuditCall call, DateTimeOffset time, string region)
    {
        var p = call.Principal;
        var account = p?.AccountId ?? call.Account ?? throw new ArgumentException("A record needs the account it is about.", nameof(call));
        var eventId = Guid.NewGuid().ToString();
        var resources = Resources(call.ResourceArn);
        var record = new JsonObject
        {
            ["eventVersion"] = EventVersion,
            ["userIdentity"] = p is null ? new JsonObject { ["type"] = "AWSService", ["invokedBy"] = call.InvokedBy } : UserIdentity(p, call.InvokedBy),
            ["eventTime"] = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["eventSource"] = call.EventSource,
            ["eventName"] = call.EventName,
            ["awsRegion"] = region,
            ["sourceIPAddress"] = call.SourceIpAddress,
            ["userAgent"] = call.UserAgent,
        };
        if (call.ErrorCode is not null)
        {
            record["errorCode"] = call.ErrorCode;
            record["errorMessage"] = call.ErrorMessage;
        }
        record["requestParameters"] = call.RequestParameters;
        record["responseElements"] = call.ResponseElements;
        record["requestID"] = call.RequestId;
        record["eventID"] = eventId;
        record["readOnly"] = call.ReadOnly;
        if (resources.Count > 0)
            record["resources"] = new JsonArray(new JsonObject { ["accountId"] = account, ["type"] = resources[0].Type, ["ARN"] = call.ResourceArn });
        record["eventType"] = "AwsApiCall";
        record["managementEvent"] = !call.Data;
        record["recipientAccountId"] = account;
        if (call.SharedEventId is { } shared) record["sharedEventID"] = shared;
        if (call.VpcEndpointId is { } vpce) record["vpcEndpointId"] = vpce;
        record["eventCategory"] = call.Data ? "Data" : "Management";
        if (call.TlsDetails is { } tls) record["tlsDetails"] = tls;
        return new AuditRecord
        {
            Account = account,
            EventId = eventId,
            EventTime = time,
            EventSource = call.EventSource,
            EventName = call.EventName,
            ReadOnly = call.ReadOnly,
            ManagementEvent = !call.Data,
            Username = p?.Type switch
            {
                null => null,
                PrincipalType.Root => "root",
                PrincipalType.AssumedRole => p.Arn[(p.Arn.LastIndexOf('/') + 1)..],
                _ => p.EntityName,
            },
            AccessKeyId = p?.AccessKeyId,
            Resources = resources,
            Json = record.ToJsonString(),
        };
    }

    /// <summary>Who called, in CloudTrail's userIdentity shape.</summary>
    static JsonObject UserIdentity(Principal p, string? invokedBy)
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
        if (invokedBy is not null) identity["invokedBy"] = invokedBy;
        return identity;
    }

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
