using System.Globalization;
using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;

namespace Strata.Server.Auth;

/// <summary>A resource's own policy (a role's trust policy, later bucket and key policies), the
/// account that owns the resource, and whether the policy must allow even within that account.</summary>
public sealed record ResourcePolicy(PolicyDocument? Document, string? OwnerAccount, bool Required);

/// <summary>Finds the resource policy that applies to an action on a resource, or null.</summary>
/// <summary>The resource policy of <paramref name="resource"/> for an action; <paramref name="request"/> is the request
/// being decided (null for a service acting with a role), for lookups that depend on what it names.</summary>
public delegate ResourcePolicy? ResourcePolicyLookup(Principal principal, string action, string resource, RequestContext? request);

/// <summary>
/// Decides whether the principal may perform the request's IAM action on its resource. The
/// pipeline has already named both for every operation (<see cref="Operation"/>); this gathers
/// what IAM would read (the principal's identity policies and boundary, its session policies,
/// the resource's policy, the request context keys) and asks <see cref="Evaluator"/>.
/// </summary>
public sealed class Authorizer(IPolicySource iam, IReadOnlyList<ResourcePolicyLookup> resourcePolicies, TimeProvider clock) : IRequestAuthorizer
{
    /// <summary>Actions IAM never denies (anyone signed may ask who they are).
    /// (GetSessionToken is an authentication step: policies cannot control it.)</summary>
    static readonly HashSet<string> AlwaysAllowed = new(StringComparer.OrdinalIgnoreCase) { "sts:GetCallerIdentity", "sts:GetSessionToken" };

    /// <summary>A role's trust policy is the resource policy of <c>sts:AssumeRole</c> on it, and
    /// must allow (a role that does not exist has none, so nothing may assume it).</summary>
    public static ResourcePolicyLookup RoleTrust(IPolicySource iam) => (_, action, resource, _) =>
        !action.Equals("sts:AssumeRole", StringComparison.OrdinalIgnoreCase) ? null
        : iam.FindRole(resource) is { } role ? new ResourcePolicy(iam.Parse(role.AssumeRolePolicyDocument, PolicyKind.Trust), role.Arn.Split(':')[4], Required: true)
        : new ResourcePolicy(null, null, Required: true);

    public Task AuthorizeAsync(RequestContext ctx)
    {
        var op = ctx.Operation!;
        ctx.Action = op.ActionOf?.Invoke(ctx) ?? op.IamAction;
        ctx.ResourceArn = op.Resource(ctx);
        ctx.Authorizer = this;
        // An unsigned call of an operation that carries its own credential: its handler checks it.
        if (ctx.Principal.IsAnonymous && op.AllowUnsigned) return Task.CompletedTask;
        // Its handler asks for each item of the request (Operation.AuthorizedPerItem).
        if (op.AuthorizedPerItem) return Task.CompletedTask;
        Require(ctx, ctx.Action, ctx.ResourceArn);
        return Task.CompletedTask;
    }

    /// <summary>A further permission an operation needs besides its own (CopyObject reads its
    /// source: <c>s3:GetObject</c> on it). Handlers ask through <see cref="RequestContext.Authorize"/>.</summary>
    public void Require(RequestContext ctx, string action, string resource)
    {
        var result = Decide(ctx, action, resource);
        if (!result.IsAllowed) throw Denied(ctx, action, resource, result.Reason);
    }

    AccessDecision IRequestAuthorizer.Decide(RequestContext ctx, string action, string resource)
    {
        var result = Decide(ctx, action, resource);
        return new AccessDecision(result.IsAllowed, result.Reason);
    }

    /// <summary>The decision; <paramref name="resourcePolicy"/> stands in for the resource's own
    /// policy (KMS checks a new key policy before it takes effect).</summary>
    public AuthorizationResult Decide(RequestContext ctx, string action, string resource, ResourcePolicy? resourcePolicy = null)
    {
        var p = ctx.Principal;
        // GetSessionToken's credentials (no MFA here) may not call IAM; AWS refuses the token.
        if (p is { Temporary: true, RoleArn: null } && action.StartsWith("iam:", StringComparison.OrdinalIgnoreCase))
            throw new AwsException("InvalidClientTokenId", 403, "The security token included in the request is invalid");
        return Decide(p, action, resource, policies => Context(ctx, action, resource, policies), resourcePolicy, ctx);
    }

    /// <summary>A decision for a principal acting without a request of its own: a service using
    /// an execution role (SageMaker reading model artifacts), with the keys such calls carry.</summary>
    /// <param name="keys">The action's own condition keys (an HTTP Task's <c>states:HTTPEndpoint</c>, …).</param>
    public AuthorizationResult DecideForService(Principal principal, string action, string resource, string viaService,
        IReadOnlyDictionary<string, string>? keys = null)
        => Decide(principal, action, resource, policies =>
        {
            var now = clock.GetUtcNow();
            var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
            {
                // Services call each other over TLS.
                ["aws:SecureTransport"] = ["true"],
                ["aws:CurrentTime"] = [now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)],
                ["aws:EpochTime"] = [now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)],
                ["aws:PrincipalType"] = ["AssumedRole"],
                ["kms:ViaService"] = [viaService],
                ["kms:CallerAccount"] = [principal.AccountId],
            };
            foreach (var (key, value) in keys ?? new Dictionary<string, string>()) context[key] = [value];
            AddPrincipalKeys(context, principal, policies);
            return context;
        }, null, null);

    AuthorizationResult Decide(Principal p, string action, string resource, Func<PrincipalPolicies, Dictionary<string, IReadOnlyList<string>>> context, ResourcePolicy? resourcePolicy, RequestContext? ctx)
    {
        if (AlwaysAllowed.Contains(action) && !p.IsAnonymous) return new AuthorizationResult(Decision.Allow, "");
        var found = resourcePolicy;
        if (found is null)
            foreach (var lookup in resourcePolicies)
                if ((found = lookup(p, action, resource, ctx)) is not null) break;
        var owner = found?.OwnerAccount ?? ArnAccount(resource);
        // The common case costs nothing: the root in its own account, no resource policy.
        if (p.Type == PrincipalType.Root && found?.Document is null && found?.Required != true && (owner is null || owner == p.AccountId) && p.SessionPolicies is null)
            return new AuthorizationResult(Decision.Allow, "");

        var policies = p.Type is PrincipalType.User or PrincipalType.AssumedRole ? iam.PoliciesOf(p) : new PrincipalPolicies([], null, []);
        var session = p.SessionPolicies?.Select(json => iam.Parse(json, PolicyKind.Identity)).ToList();
        var request = new PolicyRequest(action, resource, context(policies));
        var who = new RequestPrincipal(p.Arn, p.AccountId, p.RoleArn, null, p.Type == PrincipalType.Root, p.IsAnonymous);
        if (found is { Required: true, Document: null }) return new AuthorizationResult(Decision.ImplicitDeny, $"because no resource-based policy allows the {action} action");
        return Evaluator.Authorize(new AuthorizationRequest(request, who, owner, policies.Identity, found?.Document, policies.Boundary, session, found?.Required ?? false));
    }

    /// <summary>The account field of an ARN (empty for S3's, which names no account).</summary>
    static string? ArnAccount(string arn)
    {
        if (!arn.StartsWith("arn:", StringComparison.Ordinal)) return null;
        var parts = arn.Split(':', 6);
        return parts.Length == 6 && parts[4].Length == 12 ? parts[4] : null;
    }

    /// <summary>The global condition keys of the request, and the keys its service adds for this
    /// action on this resource.</summary>
    Dictionary<string, IReadOnlyList<string>> Context(RequestContext ctx, string action, string resource, PrincipalPolicies policies)
    {
        var p = ctx.Principal;
        var now = clock.GetUtcNow();
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["aws:SecureTransport"] = [ctx.SecureTransport ? "true" : "false"],
            ["aws:CurrentTime"] = [now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)],
            ["aws:EpochTime"] = [now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)],
            ["aws:RequestedRegion"] = [ctx.Region],
            ["aws:PrincipalType"] = [p.Type switch { PrincipalType.Root => "Account", PrincipalType.AssumedRole => "AssumedRole", PrincipalType.User => "User", _ => "Anonymous" }],
        };
        if (ctx.SourceVpce is { } vpce) context["aws:SourceVpce"] = [vpce];
        if (ctx.Http.Connection.RemoteIpAddress is { } ip) context["aws:SourceIp"] = [(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()];
        AddPrincipalKeys(context, p, policies);
        foreach (var (key, values) in ctx.ConditionKeys) context[key] = values;
        if (!p.IsAnonymous) context["kms:CallerAccount"] = [p.AccountId];
        ctx.Service?.Operations.AddConditionKeys(ctx, action, resource, context);
        return context;
    }

    static void AddPrincipalKeys(Dictionary<string, IReadOnlyList<string>> context, Principal p, PrincipalPolicies policies)
    {
        if (p.IsAnonymous) return;
        context["aws:PrincipalAccount"] = [p.AccountId];
        // For a role session, aws:PrincipalArn is the role's ARN.
        context["aws:PrincipalArn"] = [p.RoleArn ?? p.Arn];
        context["aws:userid"] = [p.UserId];
        if (p.Type == PrincipalType.User && p.EntityName is { } name) context["aws:username"] = [name];
        foreach (var (key, value) in policies.Tags) context["aws:PrincipalTag/" + key] = [value];
    }

    static AwsException Denied(RequestContext ctx, string action, string resource, string reason)
    {
        var p = ctx.Service?.Protocol ?? AwsProtocol.RestXml;
        // S3 never says who was refused what; the other services do.
        if (p == AwsProtocol.RestXml) return new AwsException("AccessDenied", 403, "Access Denied");
        var message = $"User: {ctx.Principal.Arn} is not authorized to perform: {action} on resource: {resource}" + (reason.Length > 0 ? " " + reason : "");
        return p == AwsProtocol.Query
            ? new AwsException(ctx.Service!.QueryAccessDeniedCode, 403, message)
            : new AwsException("AccessDeniedException", 400, message);
    }
}
