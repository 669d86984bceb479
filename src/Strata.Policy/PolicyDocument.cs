using System.Text.Json;

namespace Strata.Policy;

public enum Effect { Allow, Deny }

/// <summary>Where a policy is used decides what IAM lets it contain: identity policies (and
/// boundaries and session policies) name no principal; resource policies (bucket, key) and
/// role trust policies must.</summary>
public enum PolicyKind { Identity, Resource, Trust }

/// <summary>A condition: operator (with its IfExists / ForAnyValue / ForAllValues qualifiers),
/// the context key, and the values one of which must match.</summary>
public sealed record Condition(string Operator, string Key, IReadOnlyList<string> Values);

/// <summary>One statement. Action/Resource lists are patterns with * and ?; a null list means the
/// element is absent (NotAction/NotResource used instead).</summary>
public sealed record Statement(
    string? Sid,
    Effect Effect,
    IReadOnlyList<string>? Action,
    IReadOnlyList<string>? NotAction,
    IReadOnlyList<string>? Resource,
    IReadOnlyList<string>? NotResource,
    IReadOnlyList<Condition> Conditions,
    PrincipalSet? Principal = null,
    PrincipalSet? NotPrincipal = null);

/// <summary>A statement's <c>Principal</c>: values per type (<c>AWS</c>, <c>Service</c>,
/// <c>Federated</c>, <c>CanonicalUser</c>); <c>"*"</c> is everyone, signed or not.</summary>
public sealed record PrincipalSet(bool Everyone, IReadOnlyDictionary<string, IReadOnlyList<string>> Values);

/// <summary>An IAM policy document (Version 2012-10-17), parsed and checked the way IAM checks it
/// on write (<see cref="MalformedPolicyException"/> with IAM's messages).</summary>
public sealed record PolicyDocument(string Version, IReadOnlyList<Statement> Statements)
{
    public static PolicyDocument Parse(string json, PolicyKind kind = PolicyKind.Identity)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException) { throw MalformedPolicyException.Syntax(); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw MalformedPolicyException.Syntax();
            var version = root.TryGetProperty("Version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "2008-10-17";
            if (version is not ("2012-10-17" or "2008-10-17")) throw new MalformedPolicyException("The policy must contain a valid version string");
            if (!root.TryGetProperty("Statement", out var statements)) throw MalformedPolicyException.Syntax();
            var list = statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().Select(ParseStatement).ToList() : [ParseStatement(statements)];
            if (list.Count == 0) throw MalformedPolicyException.Syntax();
            foreach (var statement in list)
            {
                var named = statement.Principal is not null || statement.NotPrincipal is not null;
                if (kind == PolicyKind.Identity && named) throw new MalformedPolicyException("Policy document should not specify a principal.");
                if (kind != PolicyKind.Identity && !named) throw new MalformedPolicyException("Missing required field Principal");
                if (kind == PolicyKind.Identity && statement.Resource is null && statement.NotResource is null)
                    throw new MalformedPolicyException("Policy statement must contain resources.");
            }
            return new PolicyDocument(version, list);
        }
    }

    static Statement ParseStatement(JsonElement s)
    {
        if (s.ValueKind != JsonValueKind.Object) throw MalformedPolicyException.Syntax();
        var effect = s.TryGetProperty("Effect", out var e) ? e.GetString() : null;
        var parsedEffect = effect switch
        {
            "Allow" => Effect.Allow,
            "Deny" => Effect.Deny,
            null => throw new MalformedPolicyException("Missing required field Effect"),
            _ => throw new MalformedPolicyException($"Invalid effect: {effect}"),
        };
        var action = Strings(s, "Action");
        var notAction = Strings(s, "NotAction");
        if (action is null && notAction is null) throw new MalformedPolicyException("Policy statement must contain actions.");
        if (action is not null && notAction is not null) throw MalformedPolicyException.Syntax();
        foreach (var a in (action ?? notAction)!)
        {
            if (a != "*" && !a.Contains(':')) throw new MalformedPolicyException($"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
        }
        var resource = Strings(s, "Resource");
        var notResource = Strings(s, "NotResource");
        if (resource is not null && notResource is not null) throw MalformedPolicyException.Syntax();
        var conditions = new List<Condition>();
        if (s.TryGetProperty("Condition", out var c))
        {
            if (c.ValueKind != JsonValueKind.Object) throw MalformedPolicyException.Syntax();
            foreach (var op in c.EnumerateObject())
            {
                if (!Conditions.IsKnown(op.Name)) throw new MalformedPolicyException($"Invalid Condition type : {op.Name}");
                if (op.Value.ValueKind != JsonValueKind.Object) throw MalformedPolicyException.Syntax();
                foreach (var key in op.Value.EnumerateObject())
                    conditions.Add(new Condition(op.Name, key.Name, Values(key.Value)));
            }
        }
        var principal = s.TryGetProperty("Principal", out var p) ? ParsePrincipal(p) : null;
        var notPrincipal = s.TryGetProperty("NotPrincipal", out var np) ? ParsePrincipal(np) : null;
        if (principal is not null && notPrincipal is not null) throw MalformedPolicyException.Syntax();
        return new Statement(s.TryGetProperty("Sid", out var sid) ? sid.GetString() : null, parsedEffect, action, notAction, resource, notResource, conditions, principal, notPrincipal);
    }

    static readonly string[] PrincipalTypes = ["AWS", "Service", "Federated", "CanonicalUser"];

    static PrincipalSet ParsePrincipal(JsonElement p)
    {
        if (p.ValueKind == JsonValueKind.String)
            return p.GetString() == "*" ? new PrincipalSet(true, new Dictionary<string, IReadOnlyList<string>>()) : throw new MalformedPolicyException("Invalid principal in policy");
        if (p.ValueKind != JsonValueKind.Object) throw MalformedPolicyException.Syntax();
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var everyone = false;
        foreach (var type in p.EnumerateObject())
        {
            if (!PrincipalTypes.Contains(type.Name)) throw new MalformedPolicyException("Invalid principal in policy");
            var list = Values(type.Value);
            foreach (var v in list)
            {
                // Only "*" may be a wildcard; an ARN with * in it is refused (IAM does the same).
                if (v == "*" && type.Name == "AWS") everyone = true;
                else if (v.Contains('*') || v.Length == 0) throw new MalformedPolicyException("Invalid principal in policy");
                else if (type.Name == "AWS" && !(IsAccountId(v) || v.StartsWith("arn:aws:iam::", StringComparison.Ordinal) || v.StartsWith("arn:aws:sts::", StringComparison.Ordinal)))
                    throw new MalformedPolicyException($"Invalid principal in policy: \"AWS\":\"{v}\"");
            }
            values[type.Name] = list;
        }
        return new PrincipalSet(everyone, values);
    }

    static bool IsAccountId(string v) => v.Length == 12 && v.All(char.IsAsciiDigit);

    static IReadOnlyList<string>? Strings(JsonElement s, string name)
        => s.TryGetProperty(name, out var e) ? Values(e) : null;

    static IReadOnlyList<string> Values(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select(Scalar).ToList(),
        JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => [Scalar(e)],
        _ => throw MalformedPolicyException.Syntax(),
    };

    static string Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => e.GetRawText(),
        _ => throw MalformedPolicyException.Syntax(),
    };
}

/// <summary>IAM's MalformedPolicyDocument, with its message.</summary>
public sealed class MalformedPolicyException(string message, bool syntax = false) : Exception(message)
{
    /// <summary>The document is not a policy's shape at all (IAM says "Syntax errors in policy.";
    /// S3 says it in its own words), as opposed to a policy with a wrong element.</summary>
    public bool IsSyntaxError { get; } = syntax;

    public static MalformedPolicyException Syntax() => new("Syntax errors in policy.", syntax: true);
}
