using System.Text.Json.Nodes;
using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;

namespace Strata.Server.Auth;

/// <summary>A service could not act as an execution role; the message says why, naming the role
/// and (for a missing permission) the action and resource.</summary>
public sealed class ExecutionRoleException(string message) : Exception(message);

/// <summary>
/// How Strata's services act for a customer: as the execution role the customer passed (a model's
/// <c>ExecutionRoleArn</c>), never as root. The role's trust policy must let the service assume
/// it, and every access the service makes on the role's behalf (reading the model artifact,
/// decrypting it) is authorized like a request from that role's session. Both are audited as
/// CloudTrail records them: the assumption as the service's own call (userIdentity type
/// AWSService), every access as the role session with <c>invokedBy</c> naming the service.
/// </summary>
public sealed class ExecutionRoles(IPolicySource iam, Authorizer authorizer, IAuditSink? audit, TimeProvider clock, string region)
{
    public const string SageMaker = "sagemaker.amazonaws.com";

    /// <summary>Why <paramref name="service"/> may not assume the role, or null when it may.</summary>
    public string? CannotAssume(string roleArn, string service)
    {
        var role = iam.FindRole(roleArn);
        if (role is null) return $"Could not assume role {roleArn}: the role does not exist.";
        var trust = iam.Parse(role.AssumeRolePolicyDocument, PolicyKind.Trust);
        var decision = Evaluator.Authorize(new AuthorizationRequest(
            new PolicyRequest("sts:AssumeRole", role.Arn, new Dictionary<string, IReadOnlyList<string>>()),
            new RequestPrincipal(service, "", Service: service), role.Arn.Split(':')[4], [], trust, ResourcePolicyRequired: true));
        return decision.IsAllowed ? null
            : $"Could not assume role {roleArn}. Please ensure that the role exists and allows principal '{service}' to assume the role.";
    }

    /// <summary>The role session <paramref name="service"/> acts in.</summary>
    public Principal Assume(string roleArn, string service)
    {
        var session = service.Split('.')[0] switch { "sagemaker" => "SageMaker", "cloudtrail" => "CloudTrail", var s => s };
        var reason = CannotAssume(roleArn, service);
        RecordAssumeRole(service, roleArn, session, reason);
        if (reason is not null) throw new ExecutionRoleException(reason);
        var role = iam.FindRole(roleArn)!;
        var account = role.Arn.Split(':')[4];
        return new Principal(PrincipalType.AssumedRole, account, $"arn:aws:sts::{account}:assumed-role/{role.Name}/{session}",
            $"{role.Id}:{session}", null, role.Name, role.Arn, InvokedBy: service);
    }

    /// <summary>Throws unless the role session may perform <paramref name="action"/> on
    /// <paramref name="resource"/>; the message names all three.</summary>
    public void Require(Principal session, string action, string resource, string viaService, string what, IReadOnlyDictionary<string, string>? keys = null)
    {
        var result = authorizer.DecideForService(session, action, resource, viaService, keys);
        RecordAccess(session, action, resource, viaService, result.IsAllowed);
        if (!result.IsAllowed)
            throw new ExecutionRoleException($"{what}: the execution role {session.RoleArn} is not authorized to perform {action} on resource {resource}"
                + (result.Reason.Length > 0 ? " " + result.Reason : "") + ".");
    }

    void RecordAssumeRole(string service, string roleArn, string session, string? refusal)
    {
        if (audit is null || roleArn.Split(':') is not [_, _, _, _, var account, _]) return;
        audit.Record(AuditRecords.Make(new AuditCall
        {
            Account = account,
            InvokedBy = service,
            EventSource = "sts.amazonaws.com",
            EventName = "AssumeRole",
            SourceIpAddress = service,
            UserAgent = service,
            ErrorCode = refusal is null ? null : "AccessDenied",
            ErrorMessage = refusal,
            RequestParameters = new JsonObject { ["roleArn"] = roleArn, ["roleSessionName"] = session },
            RequestId = Guid.NewGuid().ToString(),
            ReadOnly = true,
            Data = false,
            ResourceArn = roleArn,
            SharedEventId = Guid.NewGuid().ToString(),
        }, clock.GetUtcNow(), region));
    }

    /// <summary>An access made as the role session: S3's object operations are data events
    /// (recorded only when a trail asks for them), made by the service that assumed the role;
    /// KMS's are management events, made by S3 as it opens or seals the object.</summary>
    void RecordAccess(Principal session, string action, string resource, string viaService, bool allowed)
    {
        if (audit is null || action.Split(':') is not [var prefix, var permission]) return;
        // The permission names the call, except where S3's names differ.
        var operation = action == "s3:ListBucket" ? "ListObjects" : permission;
        // As CloudTrail classes them: S3's object operations and CloudWatch Logs' event writes are data events.
        var data = (prefix == "s3" && resource.Contains('/')) || action == "logs:PutLogEvents";
        var eventSource = prefix + ".amazonaws.com";
        if (data && !audit.WantsDataEvents(session.AccountId, eventSource)) return;
        // The service that acts as the session makes the call, unless another one does it for it
        // (S3 calling KMS as it opens an object).
        var via = viaService.Split('.')[0];
        var invokedBy = via == prefix ? session.InvokedBy ?? "AWS Internal" : via + ".amazonaws.com";
        var parameters = prefix switch
        {
            "s3" when resource.Split(":::", 2) is [_, var path] && path.Split('/', 2) is var parts =>
                parts.Length == 2 ? new JsonObject { ["bucketName"] = parts[0], ["key"] = parts[1], ["Host"] = $"{parts[0]}.s3.{region}.amazonaws.com" }
                    : new JsonObject { ["bucketName"] = parts[0], ["Host"] = $"{parts[0]}.s3.{region}.amazonaws.com" },
            "kms" => new JsonObject { ["keyId"] = resource, ["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT" },
            _ => new JsonObject(),
        };
        audit.Record(AuditRecords.Make(new AuditCall
        {
            Principal = session,
            InvokedBy = invokedBy,
            EventSource = eventSource,
            EventName = operation,
            SourceIpAddress = invokedBy,
            UserAgent = invokedBy,
            ErrorCode = allowed ? null : prefix == "s3" ? "AccessDenied" : "AccessDeniedException",
            ErrorMessage = allowed ? null : $"User: {session.Arn} is not authorized to perform: {action} on resource: {resource}",
            RequestParameters = parameters,
            RequestId = Guid.NewGuid().ToString(),
            ReadOnly = AuditRecords.IsReadOnly(operation),
            Data = data,
            ResourceArn = resource,
        }, clock.GetUtcNow(), region));
    }
}
