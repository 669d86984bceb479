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
    {
        var context = new Dictionary<string, IReadOnlyList<string>>(request.Context, StringComparer.OrdinalIgnoreCase);
        var allowed = false;
        foreach (var policy in policies)
        {
            foreach (var statement in policy.Statements)
            {
                if (!Applies(statement, request, context)) continue;
                if (statement.Effect == Effect.Deny) return Decision.ExplicitDeny;
                allowed = true;
            }
        }
        return allowed ? Decision.Allow : Decision.ImplicitDeny;
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
