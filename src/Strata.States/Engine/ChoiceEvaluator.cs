using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.Definition;
using Strata.States.JsonPath;

namespace Strata.States.Engine;

/// <summary>The JSONPath Choice rules: comparison operators (and their *Path forms), And/Or/Not, and the
/// type tests. A comparison of values of the wrong type is false, never an error; a Variable that is absent
/// is an error (States.Runtime) except under IsPresent.</summary>
internal static class ChoiceEvaluator
{
    public static bool Matches(ChoiceRule rule, StateContext sc)
    {
        switch (rule.Operator)
        {
            case "And": return rule.Children.All(c => Matches(c, sc));
            case "Or": return rule.Children.Any(c => Matches(c, sc));
            case "Not": return !Matches(rule.Children[0], sc);
        }
        var op = rule.Operator!;
        var variable = JsonPathExpression.Compile(rule.Raw["Variable"]!.GetValue<string>());
        var present = sc.TryResolve(variable, out var value);
        if (op == "IsPresent") return present == rule.Raw[op]!.GetValue<bool>();
        if (!present) throw sc.InvalidPath(variable);
        var operand = rule.Raw[op];
        switch (op)
        {
            case "IsNull": return (value is null || Json.Kind(value) == JsonValueKind.Null) == operand!.GetValue<bool>();
            case "IsNumeric": return Json.TryNumber(value, out _) == operand!.GetValue<bool>();
            case "IsString": return Json.TryString(value, out _) == operand!.GetValue<bool>();
            case "IsBoolean": return (Json.Kind(value) is JsonValueKind.True or JsonValueKind.False) == operand!.GetValue<bool>();
            case "IsTimestamp": return (Json.TryString(value, out var ts) && Timestamps.TryParse(ts, out _)) == operand!.GetValue<bool>();
        }
        if (op.EndsWith("Path", StringComparison.Ordinal))
        {
            var path = JsonPathExpression.Compile(operand!.GetValue<string>());
            if (!sc.TryResolve(path, out operand)) throw sc.InvalidPath(path);
            op = op[..^4];
        }
        if (op == "StringMatches")
            return Json.TryString(value, out var s) && Json.TryString(operand, out var pattern) && Wildcard(s, pattern);
        if (op.StartsWith("String", StringComparison.Ordinal))
            return Json.TryString(value, out var a) && Json.TryString(operand, out var b) && Holds(op[6..], string.CompareOrdinal(a, b));
        if (op.StartsWith("Numeric", StringComparison.Ordinal))
            return Json.TryNumber(value, out var x) && Json.TryNumber(operand, out var y) && Holds(op[7..], x.CompareTo(y));
        if (op.StartsWith("Timestamp", StringComparison.Ordinal))
            return Json.TryString(value, out var t1) && Timestamps.TryParse(t1, out var d1)
                && Json.TryString(operand, out var t2) && Timestamps.TryParse(t2, out var d2) && Holds(op[9..], d1.CompareTo(d2));
        if (op == "BooleanEquals")
        {
            var k1 = Json.Kind(value);
            var k2 = Json.Kind(operand);
            return k1 is JsonValueKind.True or JsonValueKind.False && k1 == k2;
        }
        return false;
    }

    private static bool Holds(string comparison, int c) => comparison switch
    {
        "Equals" => c == 0,
        "LessThan" => c < 0,
        "GreaterThan" => c > 0,
        "LessThanEquals" => c <= 0,
        "GreaterThanEquals" => c >= 0,
        _ => false,
    };

    /// <summary>StringMatches: <c>*</c> matches any run of characters; <c>\*</c> a star, <c>\\</c> a backslash.</summary>
    internal static bool Wildcard(string s, string pattern)
    {
        // Tokens: literal chars and stars, after escapes.
        var tokens = new List<(char C, bool Star)>();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\' && i + 1 < pattern.Length) tokens.Add((pattern[++i], false));
            else if (pattern[i] == '*') tokens.Add(('*', true));
            else tokens.Add((pattern[i], false));
        }
        int si = 0, ti = 0, starT = -1, starS = 0;
        while (si < s.Length)
        {
            if (ti < tokens.Count && !tokens[ti].Star && tokens[ti].C == s[si]) { si++; ti++; }
            else if (ti < tokens.Count && tokens[ti].Star) { starT = ti++; starS = si; }
            else if (starT >= 0) { ti = starT + 1; si = ++starS; }
            else return false;
        }
        while (ti < tokens.Count && tokens[ti].Star) ti++;
        return ti == tokens.Count;
    }
}
