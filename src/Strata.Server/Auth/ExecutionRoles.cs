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
/// decrypting it) is authorized like a request from that role's session.
/// </summary>
public sealed class ExecutionRoles(IPolicySource iam, Authorizer authorizer)
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
        if (CannotAssume(roleArn, service) is { } reason) throw new ExecutionRoleException(reason);
        var role = iam.FindRole(roleArn)!;
        var account = role.Arn.Split(':')[4];
        var session = service.Split('.')[0] switch { "sagemaker" => "SageMaker", var s => s };
        return new Principal(PrincipalType.AssumedRole, account, $"arn:aws:sts::{account}:assumed-role/{role.Name}/{session}",
            $"{role.Id}:{session}", null, role.Name, role.Arn);
    }

    /// <summary>Throws unless the role session may perform <paramref name="action"/> on
    /// <paramref name="resource"/>; the message names all three.</summary>
    public void Require(Principal session, string action, string resource, string viaService, string what)
    {
        var result = authorizer.DecideForService(session, action, resource, viaService);
        if (!result.IsAllowed)
            throw new ExecutionRoleException($"{what}: the execution role {session.RoleArn} is not authorized to perform {action} on resource {resource}"
                + (result.Reason.Length > 0 ? " " + result.Reason : "") + ".");
    }
}
