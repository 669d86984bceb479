using System.Text.Json;

namespace Strata.Policy;

public enum Effect { Allow, Deny }

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
    IReadOnlyList<Condition> Conditions);

/// <summary>An IAM policy document (Version 2012-10-17), parsed and checked the way IAM checks it
/// on write (<see cref="MalformedPolicyException"/> with IAM's messages).</summary>
public sealed record PolicyDocument(string Version, IReadOnlyList<Statement> Statements)
{
    public static PolicyDocument Parse(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException) { throw new MalformedPolicyException("Syntax errors in policy."); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new MalformedPolicyException("Syntax errors in policy.");
            var version = root.TryGetProperty("Version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "2008-10-17";
            if (version is not ("2012-10-17" or "2008-10-17")) throw new MalformedPolicyException("The policy must contain a valid version string");
            if (!root.TryGetProperty("Statement", out var statements)) throw new MalformedPolicyException("Syntax errors in policy.");
            var list = statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().Select(ParseStatement).ToList() : [ParseStatement(statements)];
            if (list.Count == 0) throw new MalformedPolicyException("Syntax errors in policy.");
            return new PolicyDocument(version, list);
        }
    }

    static Statement ParseStatement(JsonElement s)
    {
        if (s.ValueKind != JsonValueKind.Object) throw new MalformedPolicyException("Syntax errors in policy.");
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
        if (action is not null && notAction is not null) throw new MalformedPolicyException("Syntax errors in policy.");
        foreach (var a in (action ?? notAction)!)
        {
            if (a != "*" && !a.Contains(':')) throw new MalformedPolicyException($"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
        }
        var resource = Strings(s, "Resource");
        var notResource = Strings(s, "NotResource");
        if (resource is not null && notResource is not null) throw new MalformedPolicyException("Syntax errors in policy.");
        var conditions = new List<Condition>();
        if (s.TryGetProperty("Condition", out var c))
        {
            if (c.ValueKind != JsonValueKind.Object) throw new MalformedPolicyException("Syntax errors in policy.");
            foreach (var op in c.EnumerateObject())
            {
                if (!Conditions.IsKnown(op.Name)) throw new MalformedPolicyException($"Invalid Condition type : {op.Name}");
                if (op.Value.ValueKind != JsonValueKind.Object) throw new MalformedPolicyException("Syntax errors in policy.");
                foreach (var key in op.Value.EnumerateObject())
                    conditions.Add(new Condition(op.Name, key.Name, Values(key.Value)));
            }
        }
        return new Statement(s.TryGetProperty("Sid", out var sid) ? sid.GetString() : null, parsedEffect, action, notAction, resource, notResource, conditions);
    }

    static IReadOnlyList<string>? Strings(JsonElement s, string name)
        => s.TryGetProperty(name, out var e) ? Values(e) : null;

    static IReadOnlyList<string> Values(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select(Scalar).ToList(),
        JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => [Scalar(e)],
        _ => throw new MalformedPolicyException("Syntax errors in policy."),
    };

    static string Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => e.GetRawText(),
        _ => throw new MalformedPolicyException("Syntax errors in policy."),
    };
}

/// <summary>IAM's MalformedPolicyDocument, with its message.</summary>
public sealed class MalformedPolicyException(string message) : Exception(message);
