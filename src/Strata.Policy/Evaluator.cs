namespace Strata.Policy;

public enum Decision { ImplicitDeny, Allow, ExplicitDeny }

/// <summary>What is asked: the action, the resource, and the request context keys (aws:*,
/// s3:*, …; multivalued keys carry several values). Keys compare case-insensitively.</summary>
public sealed record PolicyRequest(string Action, string Resource, IReadOnlyDictionary<string, IReadOnlyList<string>> Context);

/// <summary>
/// IAM's evaluation of identity policies: an explicit Deny in any statement wins; otherwise an
/// Allow grants; otherwise the request is implicitly denied. Pure: no I/O, no clock.
/// </summary>
public static class Evaluator
{
    public static Decision Evaluate(IEnumerable<PolicyDocument> policies, PolicyRequest request)
        => Evaluate(policies, request, new Dictionary<string, IReadOnlyList<string>>(request.Context, StringComparer.OrdinalIgnoreCase), null);

    /// <summary>
    /// The whole of IAM's evaluation logic for one request (AWS's "policy evaluation logic"): an
    /// explicit Deny in any policy wins; within an account, a resource policy that names the
    /// principal itself grants on its own, otherwise the identity policies must allow and the
    /// permissions boundary and session policies, where present, must allow too; across
    /// accounts, both the resource policy (trusting the caller) and the caller's own policies
    /// must allow. An account's root is allowed everything its own policies could grant;
    /// anonymous callers only what a resource policy grants to <c>"*"</c>.
    /// </summary>
    public static AuthorizationResult Authorize(AuthorizationRequest a)
    {
        var request = a.Request;
        var context = new Dictionary<string, IReadOnlyList<string>>(request.Context, StringComparer.OrdinalIgnoreCase);
        var action = request.Action;
        var p = a.Principal;

        var identity = p.IsRoot ? Decision.Allow : p.IsAnonymous ? Decision.ImplicitDeny : Evaluate(a.IdentityPolicies, request, context, null);
        if (identity == Decision.ExplicitDeny) return Deny("with an explicit deny in an identity-based policy");
        var (resource, match) = a.ResourcePolicy is null ? (Decision.ImplicitDeny, PrincipalMatch.None) : EvaluateResource(a.ResourcePolicy, request, context, p);
        if (resource == Decision.ExplicitDeny) return Deny("with an explicit deny in a resource-based policy");
        var boundary = a.PermissionsBoundary is null || p.IsRoot ? Decision.Allow : Evaluate([a.PermissionsBoundary], request, context, null);
        if (boundary == Decision.ExplicitDeny) return Deny("with an explicit deny in a permissions boundary");
        var session = a.SessionPolicies is null ? Decision.Allow : Evaluate(a.SessionPolicies, request, context, null);
        if (session == Decision.ExplicitDeny) return Deny("with an explicit deny in a session policy");

        var crossAccount = a.ResourceAccount is { Length: > 0 } owner && owner != p.AccountId;
        if (resource != Decision.Allow && (p.IsAnonymous || p.Service is not null || crossAccount || a.ResourcePolicyRequired))
            return Deny($"because no resource-based policy allows the {action} action");
        // Anonymous callers and services have no policies of their own: the grant is all.
        if (p.IsAnonymous || p.Service is not null) return Allow;
        if (!crossAccount && resource == Decision.Allow)
        {
            // Granted to this very user or role session: boundaries and session policies do not
            // limit it. Granted to the role: no identity policy is needed, but they still do.
            if (match is PrincipalMatch.Session or PrincipalMatch.User) return Allow;
            if (match is PrincipalMatch.Role) identity = Decision.Allow;
        }
        if (identity != Decision.Allow) return Deny($"because no identity-based policy allows the {action} action");
        if (boundary != Decision.Allow) return Deny($"because no permissions boundary allows the {action} action");
        if (session != Decision.Allow) return Deny($"because no session policy allows the {action} action");
        return Allow;
    }

    static readonly AuthorizationResult Allow = new(Decision.Allow, "");

    static AuthorizationResult Deny(string reason)
        => new(reason.StartsWith("with", StringComparison.Ordinal) ? Decision.ExplicitDeny : Decision.ImplicitDeny, reason);

    static Decision Evaluate(IEnumerable<PolicyDocument> policies, PolicyRequest request, IReadOnlyDictionary<string, IReadOnlyList<string>> context, RequestPrincipal? principal)
    {
        var allowed = false;
        foreach (var policy in policies)
        {
            foreach (var statement in policy.Statements)
            {
                if (!Applies(statement, request, context)) continue;
                if (principal is not null && !PrincipalApplies(statement, principal, out _)) continue;
                if (statement.Effect == Effect.Deny) return Decision.ExplicitDeny;
                allowed = true;
            }
        }
        return allowed ? Decision.Allow : Decision.ImplicitDeny;
    }

    enum PrincipalMatch { None, Account, Role, User, Session, Everyone }

    /// <summary>A resource policy's decision, and how specifically its allowing statement named
    /// the caller (which decides whether it grants on its own).</summary>
    static (Decision, PrincipalMatch) EvaluateResource(PolicyDocument policy, PolicyRequest request, IReadOnlyDictionary<string, IReadOnlyList<string>> context, RequestPrincipal principal)
    {
        var best = PrincipalMatch.None;
        foreach (var statement in policy.Statements)
        {
            if (!Applies(statement, request, context) || !PrincipalApplies(statement, principal, out var match)) continue;
            if (statement.Effect == Effect.Deny) return (Decision.ExplicitDeny, match);
            if (match > best) best = match;
        }
        return (best == PrincipalMatch.None ? Decision.ImplicitDeny : Decision.Allow, best);
    }

    static bool PrincipalApplies(Statement s, RequestPrincipal p, out PrincipalMatch match)
    {
        if (s.Principal is { } named)
        {
            match = Match(named, p);
            return match != PrincipalMatch.None;
        }
        if (s.NotPrincipal is { } excluded)
        {
            match = Match(excluded, p) == PrincipalMatch.None ? PrincipalMatch.Account : PrincipalMatch.None;
            return match != PrincipalMatch.None;
        }
        match = PrincipalMatch.None;
        return false;
    }

    static PrincipalMatch Match(PrincipalSet set, RequestPrincipal p)
    {
        var best = set.Everyone ? PrincipalMatch.Everyone : PrincipalMatch.None;
        if (set.Values.TryGetValue("Service", out var services) && p.Service is { } service && services.Contains(service, StringComparer.Ordinal))
            return PrincipalMatch.Session;
        if (!p.IsAnonymous && p.Service is null && set.Values.TryGetValue("AWS", out var aws))
        {
            foreach (var v in aws)
            {
                var m = v == p.Arn ? (p.RoleArn is null ? PrincipalMatch.User : PrincipalMatch.Session)
                    : v == p.RoleArn ? PrincipalMatch.Role
                    : v == p.AccountId || v == $"arn:aws:iam::{p.AccountId}:root" ? (p.IsRoot ? PrincipalMatch.User : PrincipalMatch.Account)
                    : PrincipalMatch.None;
                if (m > best && best != PrincipalMatch.Everyone) best = m;
            }
        }
        // "*" grants like a specific grant for anyone, signed or not.
        return best == PrincipalMatch.Everyone ? PrincipalMatch.Session : best;
    }

    static bool Applies(Statement s, PolicyRequest request, IReadOnlyDictionary<string, IReadOnlyList<string>> context)
    {
        string Substitute(string text) => PolicyVariables.Substitute(text, context);
        var actionMatches = s.Action is not null
            ? s.Action.Any(a => Wildcard.Matches(a, request.Action, ignoreCase: true))
            : !s.NotAction!.Any(a => Wildcard.Matches(a, request.Action, ignoreCase: true));
        if (!actionMatches) return false;
        if (s.Resource is not null && !s.Resource.Any(r => Wildcard.Matches(Substitute(r), request.Resource, ignoreCase: false))) return false;
        if (s.NotResource is not null && s.NotResource.Any(r => Wildcard.Matches(Substitute(r), request.Resource, ignoreCase: false))) return false;
        return s.Conditions.All(c => Conditions.Holds(c, context, Substitute));
    }
}

/// <summary>Who asks, as a policy's <c>Principal</c> element sees it: the caller's ARN (user,
/// root, or role session), its account, the role a session belongs to, or the service
/// (<c>sagemaker.amazonaws.com</c>) when a service asks.</summary>
public sealed record RequestPrincipal(string Arn, string AccountId, string? RoleArn = null, string? Service = null, bool IsRoot = false, bool IsAnonymous = false);

/// <summary>Everything one authorization decision reads. <see cref="ResourceAccount"/> is the
/// account that owns the resource (null when it is the caller's own or unknown).
/// <see cref="ResourcePolicyRequired"/>: the resource policy must allow even within the account
/// (a role's trust policy, a KMS key policy); a grant to the account root there delegates to
/// the identity policies.</summary>
public sealed record AuthorizationRequest(
    PolicyRequest Request,
    RequestPrincipal Principal,
    string? ResourceAccount,
    IReadOnlyList<PolicyDocument> IdentityPolicies,
    PolicyDocument? ResourcePolicy = null,
    PolicyDocument? PermissionsBoundary = null,
    IReadOnlyList<PolicyDocument>? SessionPolicies = null,
    bool ResourcePolicyRequired = false);

/// <summary>The decision, and for a denial the reason AWS appends to its AccessDenied message
/// ("because no identity-based policy allows the s3:GetObject action").</summary>
public sealed record AuthorizationResult(Decision Decision, string Reason)
{
    public bool IsAllowed => Decision == Decision.Allow;
}

/// <summary>Policy variables: <c>${aws:username}</c> and friends, and the escapes <c>${*}</c>,
/// <c>${?}</c>, <c>${$}</c>. A variable the request lacks leaves the text unmatchable.</summary>
public static class PolicyVariables
{
    public static string Substitute(string text, IReadOnlyDictionary<string, IReadOnlyList<string>> context)
    {
        if (!text.Contains("${", StringComparison.Ordinal)) return text;
        var sb = new System.Text.StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var start = text.IndexOf("${", i, StringComparison.Ordinal);
            var end = start < 0 ? -1 : text.IndexOf('}', start);
            if (start < 0 || end < 0)
            {
                sb.Append(text, i, text.Length - i);
                break;
            }
            sb.Append(text, i, start - i);
            var name = text[(start + 2)..end];
            sb.Append(name switch
            {
                "*" => "*",
                "?" => "?",
                "$" => "$",
                _ => context.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : "\u0000unresolved\u0000",
            });
            i = end + 1;
        }
        return sb.ToString();
    }
}
