using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Server.Services.Sns;

/// <summary>A filter policy that is not valid; the message says why, in AWS's words (the caller
/// adds its own prefix, "Invalid parameter: FilterPolicy: " for SNS).</summary>
public sealed class FilterPolicyException(string message) : Exception(message);

/// <summary>
/// The event-filtering language of SNS filter policies (and EventBridge patterns): a JSON object
/// of keys to arrays of conditions. A key matches when any of its conditions matches; the policy
/// matches when every key does. Conditions: exact strings, numbers, booleans and null;
/// <c>prefix</c>, <c>suffix</c>, <c>equals-ignore-case</c>, <c>anything-but</c> (a value, a list,
/// or a <c>prefix</c>/<c>suffix</c>), <c>numeric</c> ranges, <c>exists</c>, <c>cidr</c>; a
/// <c>$or</c> key holds alternative policies; nested objects address nested keys (when nesting is
/// allowed: SNS's MessageBody scope). Pure: no I/O and nothing of SNS; the document matched is a
/// JSON object (SNS builds one from message attributes).
/// </summary>
public sealed class FilterPolicy
{
    /// <summary>AWS's limits: keys per policy and combinations of values.</summary>
    public const int MaxKeys = 5;
    public const int MaxCombinations = 150;

    readonly JsonObject _policy;

    FilterPolicy(JsonObject policy) => _policy = policy;

    /// <summary>Parses and validates a policy. <paramref name="allowNesting"/>: whether keys may hold
    /// objects (nested keys of a JSON body) rather than only condition arrays.</summary>
    public static FilterPolicy Parse(string json, bool allowNesting)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FilterPolicyException($"failed to parse JSON. {e.Message}");
        }
        if (node is not JsonObject obj) throw new FilterPolicyException("Filter policy must be a JSON object");
        if (obj.Count == 0) throw new FilterPolicyException("Filter policy can not be empty");
        var (keys, combinations) = Check(obj, allowNesting, 0);
        if (keys > MaxKeys) throw new FilterPolicyException($"Filter policy can not have more than {MaxKeys} keys");
        if (combinations > MaxCombinations) throw new FilterPolicyException("Filter policy is too complex");
        return new FilterPolicy(obj);
    }

    /// <summary>Checks one level; answers its leaf keys (the most any alternative has) and its
    /// combinations of values (product over keys, sum over <c>$or</c> alternatives).</summary>
    static (int Keys, long Combinations) Check(JsonObject obj, bool allowNesting, int depth)
    {
        var keys = 0;
        long combinations = 1;
        foreach (var (name, value) in obj)
        {
            if (name == "$or")
            {
                if (value is not JsonArray alternatives || alternatives.Count < 2 || alternatives.Any(a => a is not JsonObject))
                    throw new FilterPolicyException("$or must be an array of at least two JSON objects");
                var most = 0;
                long sum = 0;
                foreach (var alternative in alternatives.Cast<JsonObject>())
                {
                    var (k, c) = Check(alternative, allowNesting, depth);
                    most = Math.Max(most, k);
                    sum += c;
                }
                keys += most;
                combinations = Multiply(combinations, sum);
                continue;
            }
            switch (value)
            {
                case JsonObject nested when allowNesting:
                    if (nested.Count == 0) throw new FilterPolicyException($"Empty objects are not allowed in filter policies: {name}");
                    var (nk, nc) = Check(nested, allowNesting, depth + 1);
                    keys += nk;
                    combinations = Multiply(combinations, nc);
                    break;
                case JsonObject:
                    throw new FilterPolicyException($"Filter policy scope MessageAttributes does not support nested filter policy");
                case JsonArray conditions:
                    if (conditions.Count == 0) throw new FilterPolicyException($"Empty arrays are not allowed in filter policies: {name}");
                    foreach (var condition in conditions) CheckCondition(condition);
                    keys++;
                    combinations = Multiply(combinations, conditions.Count);
                    break;
                default:
                    throw new FilterPolicyException($"Match value must be String, number, true, false, or null: {name} must hold an array");
            }
        }
        return (keys, combinations);
    }

    static long Multiply(long a, long b) => Math.Min(a * b, long.MaxValue / 1024);

    static void CheckCondition(JsonNode? condition)
    {
        switch (condition)
        {
            case null:
                return;
            case JsonValue v when v.GetValueKind() is JsonValueKind.String or JsonValueKind.True or JsonValueKind.False:
                return;
            case JsonValue v when v.GetValueKind() is JsonValueKind.Number:
                CheckNumber(v, "=");
                return;
            case JsonObject op:
                if (op.Count != 1) throw new FilterPolicyException("Only one key allowed in match expression");
                var (name, argument) = op.First();
                switch (name)
                {
                    case "prefix" or "suffix" or "equals-ignore-case":
                        if (StringOf(argument) is null) throw new FilterPolicyException($"{name} match pattern must be a string");
                        return;
                    case "exists":
                        if (argument?.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                            throw new FilterPolicyException("exists match pattern must be either true or false.");
                        return;
                    case "anything-but":
                        CheckAnythingBut(argument);
                        return;
                    case "numeric":
                        CheckNumeric(argument);
                        return;
                    case "cidr":
                        if (StringOf(argument) is not { } cidr || Cidr.Parse(cidr) is null) throw new FilterPolicyException($"Malformed CIDR: {argument?.ToJsonString()}");
                        return;
                    default:
                        throw new FilterPolicyException($"Unrecognized match type {name}");
                }
            default:
                throw new FilterPolicyException("Match value must be String, number, true, false, or null");
        }
    }

    static void CheckAnythingBut(JsonNode? argument)
    {
        switch (argument)
        {
            case JsonValue v when v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number:
                return;
            case JsonArray list when list.Count > 0 && list.All(x => x is JsonValue xv && xv.GetValueKind() is JsonValueKind.String or JsonValueKind.Number):
                return;
            case JsonObject inner when inner.Count == 1 && inner.First() is var (n, a) && n is "prefix" or "suffix":
                if (StringOf(inner.First().Value) is not { Length: > 0 }) throw new FilterPolicyException($"Value of {inner.First().Key} must be a non-empty string");
                return;
            default:
                throw new FilterPolicyException("Value of anything-but must be an array or single string/number value.");
        }
    }

    static void CheckNumeric(JsonNode? argument)
    {
        if (argument is not JsonArray items || items.Count is not (2 or 4))
            throw new FilterPolicyException("Value of numeric must be an array.");
        bool lower = false, upper = false;
        for (var i = 0; i < items.Count; i += 2)
        {
            var op = StringOf(items[i]) ?? throw new FilterPolicyException("Value of numeric must be an array of operators and numbers.");
            CheckNumber(items[i + 1], op);
            switch (op)
            {
                case "=":
                    if (items.Count != 2) throw new FilterPolicyException("Bad numeric range operator: =");
                    break;
                case ">" or ">=":
                    if (lower) throw new FilterPolicyException($"Bad numeric range operator: {op}");
                    lower = true;
                    break;
                case "<" or "<=":
                    if (upper) throw new FilterPolicyException($"Bad numeric range operator: {op}");
                    upper = true;
                    break;
                default:
                    throw new FilterPolicyException($"Unrecognized numeric range operator: {op}");
            }
        }
        if (items.Count == 4 && NumberOf(items[1]) >= NumberOf(items[3]))
            throw new FilterPolicyException("Bottom must be less than top");
    }

    static void CheckNumber(JsonNode? node, string op)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) throw new FilterPolicyException($"Value of {op} must be numeric");
        var d = NumberOf(node);
        // AWS compares numbers as fixed point within ±1e9 and five decimal places.
        if (d is < -1e9 or > 1e9) throw new FilterPolicyException($"Value of {op} must be in the range -1e9 to 1e9");
    }

    static string? StringOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    static double NumberOf(JsonNode? node) => node!.GetValue<double>();

    // ---- matching ----

    /// <summary>Whether <paramref name="document"/> (a JSON object) matches the policy.</summary>
    public bool Matches(JsonObject document) => MatchesObject(_policy, document);

    static bool MatchesObject(JsonObject policy, JsonObject? document)
    {
        foreach (var (name, rule) in policy)
        {
            if (name == "$or")
            {
                if (!rule!.AsArray().Any(alternative => MatchesObject(alternative!.AsObject(), document))) return false;
                continue;
            }
            var present = document is not null && document.TryGetPropertyValue(name, out _);
            var value = present ? document![name] : null;
            if (rule is JsonObject nested)
            {
                // A nested rule looks inside an object, or inside each object of an array.
                var matched = value switch
                {
                    JsonObject o => MatchesObject(nested, o),
                    JsonArray a => a.OfType<JsonObject>().Any(o => MatchesObject(nested, o)),
                    _ => MatchesObject(nested, null),
                };
                if (!matched) return false;
                continue;
            }
            if (!rule!.AsArray().Any(condition => MatchesCondition(condition, present, value))) return false;
        }
        return true;
    }

    static bool MatchesCondition(JsonNode? condition, bool present, JsonNode? value)
    {
        if (condition is JsonObject op && op.First() is var (name, argument) && name == "exists")
            return argument!.GetValue<bool>() == (present && value is not JsonObject);
        if (!present) return false;
        // An array value matches when one of its elements does.
        if (value is JsonArray array) return array.Any(item => item is not JsonArray && MatchesCondition(condition, true, item));
        if (value is JsonObject) return false;
        return condition switch
        {
            null => value is null,
            JsonValue v => EqualsValue(v, value),
            JsonObject o => MatchesOperator(o.First().Key, o.First().Value, value),
            _ => false,
        };
    }

    static bool EqualsValue(JsonValue expected, JsonNode? actual)
    {
        if (actual is not JsonValue a) return false;
        return expected.GetValueKind() switch
        {
            JsonValueKind.String => a.GetValueKind() == JsonValueKind.String && a.GetValue<string>() == expected.GetValue<string>(),
            JsonValueKind.Number => a.GetValueKind() == JsonValueKind.Number && SameNumber(a.GetValue<double>(), expected.GetValue<double>()),
            var kind => a.GetValueKind() == kind,
        };
    }

    /// <summary>Numbers compare with AWS's precision: five decimal places.</summary>
    static bool SameNumber(double a, double b) => Math.Abs(a - b) < 0.000005;

    static bool MatchesOperator(string name, JsonNode? argument, JsonNode? value)
    {
        var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        double? number = value is JsonValue n && n.GetValueKind() == JsonValueKind.Number ? n.GetValue<double>() : null;
        switch (name)
        {
            case "prefix": return text is not null && text.StartsWith(StringOf(argument)!, StringComparison.Ordinal);
            case "suffix": return text is not null && text.EndsWith(StringOf(argument)!, StringComparison.Ordinal);
            case "equals-ignore-case": return text is not null && string.Equals(text, StringOf(argument), StringComparison.OrdinalIgnoreCase);
            case "cidr": return text is not null && IPAddress.TryParse(text, out var ip) && Cidr.Parse(StringOf(argument)!)!.Value.Contains(ip);
            case "numeric":
                if (number is not { } x) return false;
                var items = argument!.AsArray();
                for (var i = 0; i < items.Count; i += 2)
                {
                    var bound = NumberOf(items[i + 1]);
                    var ok = StringOf(items[i]) switch
                    {
                        "=" => SameNumber(x, bound),
                        "<" => x < bound && !SameNumber(x, bound),
                        "<=" => x <= bound || SameNumber(x, bound),
                        ">" => x > bound && !SameNumber(x, bound),
                        ">=" => x >= bound || SameNumber(x, bound),
                        _ => false,
                    };
                    if (!ok) return false;
                }
                return true;
            case "anything-but":
                switch (argument)
                {
                    case JsonObject inner:
                        var (kind, affix) = inner.First();
                        return text is not null && !(kind == "prefix" ? text.StartsWith(StringOf(affix)!, StringComparison.Ordinal) : text.EndsWith(StringOf(affix)!, StringComparison.Ordinal));
                    case JsonArray list:
                        return !list.Any(item => EqualsValue(item!.AsValue(), value));
                    default:
                        return !EqualsValue(argument!.AsValue(), value);
                }
            default: return false;
        }
    }

    /// <summary>An IPv4 or IPv6 network in CIDR notation.</summary>
    readonly record struct Cidr(byte[] Network, int PrefixLength)
    {
        public static Cidr? Parse(string text)
        {
            var slash = text.IndexOf('/');
            if (slash < 0 || !IPAddress.TryParse(text[..slash], out var address)
                || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length)) return null;
            var bytes = address.GetAddressBytes();
            return length <= bytes.Length * 8 ? new Cidr(bytes, length) : null;
        }

        public bool Contains(IPAddress address)
        {
            var bytes = (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).GetAddressBytes();
            if (bytes.Length != Network.Length) return false;
            for (var bit = 0; bit < PrefixLength; bit++)
            {
                var mask = 0x80 >> (bit % 8);
                if ((bytes[bit / 8] & mask) != (Network[bit / 8] & mask)) return false;
            }
            return true;
        }
    }
}
