using System.Globalization;
using System.Text.Json;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>One condition of a POST policy on a form field: an exact match (<c>eq</c>, or the
/// object form <c>{"field": "value"}</c>) or a prefix (<c>starts-with</c>; an empty prefix allows
/// any value). <see cref="Field"/> is the name as the policy spells it, without its <c>$</c>.</summary>
public sealed record PostCondition(string Operator, string Field, string Value)
{
    /// <summary>The condition as S3 quotes it when it fails (the object form in its array form).</summary>
    public override string ToString() => $"[\"{Operator}\", \"${Field}\", \"{Value}\"]";
}

/// <summary>
/// The policy of a browser upload (S3's POST Object): base64 JSON that says until when the form
/// may be used and what its fields may hold. Pure: the form's fields and the time are given, and
/// a form the policy does not allow is refused in S3's words ("Invalid according to Policy: …").
/// </summary>
public sealed class PostPolicy
{
    public DateTimeOffset Expiration { get; }
    public IReadOnlyList<PostCondition> Conditions { get; }

    /// <summary>The file's allowed size (<c>content-length-range</c>), checked as it arrives.</summary>
    public (long Min, long Max)? ContentLengthRange { get; }

    PostPolicy(DateTimeOffset expiration, IReadOnlyList<PostCondition> conditions, (long, long)? range)
    {
        Expiration = expiration;
        Conditions = conditions;
        ContentLengthRange = range;
    }

    /// <summary>Fields no condition needs to cover: the signature, the policy itself, the file, and
    /// whatever the form marks as not S3's (<c>x-ignore-</c>).</summary>
    static readonly HashSet<string> Uncovered = new(StringComparer.OrdinalIgnoreCase) { "x-amz-signature", "signature", "AWSAccessKeyId", "policy", "file" };

    public static PostPolicy Parse(string base64)
    {
        byte[] json;
        try { json = Convert.FromBase64String(base64); }
        catch (FormatException) { throw Invalid("Invalid Policy: Invalid JSON."); }
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException) { throw Invalid("Invalid Policy: Invalid JSON."); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("Invalid Policy: Invalid JSON.");
            if (!root.TryGetProperty("expiration", out var expiration)) throw Invalid("Invalid Policy: Policy missing expiration.");
            if (expiration.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(expiration.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var expires))
                throw Invalid($"Invalid Policy: Invalid 'expiration' value: '{Text(expiration)}'");
            if (!root.TryGetProperty("conditions", out var conditions)) throw Invalid("Invalid Policy: Policy missing conditions.");
            if (conditions.ValueKind != JsonValueKind.Array) throw Invalid("Invalid Policy: Invalid 'conditions' value: must be a list.");
            var list = new List<PostCondition>();
            (long, long)? range = null;
            foreach (var condition in conditions.EnumerateArray())
            {
                switch (condition.ValueKind)
                {
                    case JsonValueKind.Object:
                        foreach (var field in condition.EnumerateObject())
                        {
                            if (field.Value.ValueKind != JsonValueKind.String) throw Invalid("Invalid Policy: Invalid Simple-Condition: value must be a string.");
                            list.Add(new PostCondition("eq", field.Name, field.Value.GetString()!));
                        }
                        break;
                    case JsonValueKind.Array:
                        var items = condition.EnumerateArray().ToList();
                        var op = items.Count > 0 && items[0].ValueKind == JsonValueKind.String ? items[0].GetString()!.ToLowerInvariant() : "";
                        if (op == "content-length-range")
                        {
                            if (items.Count != 3 || Length(items[1]) is not { } min || Length(items[2]) is not { } max)
                                throw Invalid("Invalid Policy: Invalid content-length-range condition: expecting two non-negative integers.");
                            range = (min, max);
                            break;
                        }
                        if (op is not ("eq" or "starts-with"))
                            throw Invalid($"Invalid Policy: Invalid Condition: unknown operation '{Text(items.FirstOrDefault())}'.");
                        if (items.Count != 3 || items[1].ValueKind != JsonValueKind.String || items[2].ValueKind != JsonValueKind.String)
                            throw Invalid($"Invalid Policy: Invalid '{op}' condition: expecting [\"{op}\", \"$field\", \"value\"].");
                        var name = items[1].GetString()!;
                        if (!name.StartsWith('$') || name.Length == 1)
                            throw Invalid($"Invalid Policy: Invalid '{op}' condition: the field name must start with '$'.");
                        list.Add(new PostCondition(op, name[1..], items[2].GetString()!));
                        break;
                    default:
                        throw Invalid("Invalid Policy: Invalid Condition: must be an object or a list.");
                }
            }
            return new PostPolicy(expires, list, range);
        }
    }

    /// <summary>Refuses a form the policy does not allow at <paramref name="now"/>: an expired
    /// policy, a field that fails a condition (in the policy's order), a field no condition covers.
    /// <paramref name="fields"/> are the form's fields (names case-insensitive) as the request will
    /// use them (the key with <c>${filename}</c> replaced); <c>bucket</c> is the addressed bucket.</summary>
    public void Check(IReadOnlyDictionary<string, string> fields, string bucket, DateTimeOffset now)
    {
        if (now >= Expiration) throw Refused("Policy expired.");
        foreach (var condition in Conditions)
        {
            var value = condition.Field.Equals("bucket", StringComparison.OrdinalIgnoreCase) ? bucket : fields.GetValueOrDefault(condition.Field) ?? "";
            if (!Holds(condition, value)) throw Refused($"Policy Condition failed: {condition}");
        }
        var extra = fields.Keys
            .Where(name => !Uncovered.Contains(name) && !name.StartsWith("x-ignore-", StringComparison.OrdinalIgnoreCase))
            .Where(name => !Conditions.Any(c => c.Field.Equals(name, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        if (extra.Count > 0) throw Refused($"Extra input fields: {string.Join(", ", extra)}");
    }

    static bool Holds(PostCondition condition, string value)
    {
        if (condition.Operator == "eq") return value == condition.Value;
        // A Content-Type may list several types; each must start with the prefix.
        if (condition.Field.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            return value.Split(',').All(part => part.Trim().StartsWith(condition.Value, StringComparison.Ordinal));
        return value.StartsWith(condition.Value, StringComparison.Ordinal);
    }

    /// <summary>The file's size against <c>content-length-range</c>, in S3's words.</summary>
    public static AwsException TooLarge(long max)
        => new AwsException("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size").With("MaxSizeAllowed", max.ToString(CultureInfo.InvariantCulture));

    public static AwsException TooSmall(long size, long min)
        => new AwsException("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size")
            .With("ProposedSize", size.ToString(CultureInfo.InvariantCulture)).With("MinSizeAllowed", min.ToString(CultureInfo.InvariantCulture));

    static long? Length(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number when e.TryGetInt64(out var n) && n >= 0 => n,
        JsonValueKind.String when long.TryParse(e.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };

    static string Text(JsonElement? e) => e is not { } v ? "" : v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();

    static AwsException Invalid(string message) => new("InvalidPolicyDocument", 400, message);

    static AwsException Refused(string reason) => new("AccessDenied", 403, "Invalid according to Policy: " + reason);
}
