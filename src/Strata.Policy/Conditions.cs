using System.Globalization;
using System.Net;

namespace Strata.Policy;

/// <summary>
/// IAM's condition operators. A condition holds when any of its values matches the request's
/// value for the key (negated operators: when none does). A key the request lacks makes the
/// condition false, except for negated operators (true), <c>…IfExists</c> (true) and <c>Null</c>.
/// <c>ForAnyValue:</c>/<c>ForAllValues:</c> compare multivalued keys; without values the first
/// is false and the second true, negated or not.
/// </summary>
public static class Conditions
{
    static readonly string[] Families =
    [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
        "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
        "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
    ];

    public static bool IsKnown(string op)
    {
        var (_, name, _) = Split(op);
        return Families.Contains(name) && !(name == "Null" && op.EndsWith("IfExists", StringComparison.Ordinal));
    }

    static (string? SetOperator, string Name, bool IfExists) Split(string op)
    {
        string? set = null;
        var colon = op.IndexOf(':');
        if (colon > 0)
        {
            set = op[..colon];
            op = op[(colon + 1)..];
            if (set is not ("ForAnyValue" or "ForAllValues")) return (set, "?", false);
        }
        var ifExists = op.EndsWith("IfExists", StringComparison.Ordinal);
        return (set, ifExists ? op[..^"IfExists".Length] : op, ifExists);
    }

    public static bool Holds(Condition condition, IReadOnlyDictionary<string, IReadOnlyList<string>> context, Func<string, string> substitute)
    {
        var (set, name, ifExists) = Split(condition.Operator);
        context.TryGetValue(condition.Key, out var actual);
        var values = condition.Values.Select(substitute).ToList();
        if (name == "Null")
        {
            var wantsNull = values.Any(v => v == "true");
            return wantsNull == (actual is null || actual.Count == 0);
        }
        var negated = name.Contains("Not", StringComparison.Ordinal);
        if (actual is null || actual.Count == 0)
        {
            if (set == "ForAllValues") return true; // vacuously: every (no) value matches
            if (set == "ForAnyValue") return ifExists; // no value to match, negated or not
            return ifExists || negated;
        }
        var match = PositiveMatch(name);
        bool Matches(string requestValue) => values.Any(v => match(requestValue, v));
        return set switch
        {
            "ForAnyValue" => negated ? actual.Any(a => !Matches(a)) : actual.Any(Matches),
            "ForAllValues" => negated ? actual.All(a => !Matches(a)) : actual.All(Matches),
            _ => negated ? !Matches(actual[0]) : Matches(actual[0]),
        };
    }

    /// <summary>The non-negated comparison of a family (StringNotEquals compares like StringEquals).</summary>
    static Func<string, string, bool> PositiveMatch(string name) => name.Replace("Not", "", StringComparison.Ordinal) switch
    {
        "StringEquals" => (a, v) => a == v,
        "StringEqualsIgnoreCase" => (a, v) => string.Equals(a, v, StringComparison.OrdinalIgnoreCase),
        "StringLike" => (a, v) => Wildcard.Matches(v, a, ignoreCase: false),
        "NumericEquals" => Numeric((a, v) => a == v),
        "NumericLessThan" => Numeric((a, v) => a < v),
        "NumericLessThanEquals" => Numeric((a, v) => a <= v),
        "NumericGreaterThan" => Numeric((a, v) => a > v),
        "NumericGreaterThanEquals" => Numeric((a, v) => a >= v),
        "DateEquals" => Date((a, v) => a == v),
        "DateLessThan" => Date((a, v) => a < v),
        "DateLessThanEquals" => Date((a, v) => a <= v),
        "DateGreaterThan" => Date((a, v) => a > v),
        "DateGreaterThanEquals" => Date((a, v) => a >= v),
        "Bool" => (a, v) => string.Equals(a, v, StringComparison.OrdinalIgnoreCase),
        "BinaryEquals" => (a, v) => a == v,
        "IpAddress" => (a, v) => InCidr(a, v),
        "ArnEquals" or "ArnLike" => ArnMatch,
        _ => (_, _) => false,
    };

    static Func<string, string, bool> Numeric(Func<decimal, decimal, bool> compare)
        => (a, v) => decimal.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
            && decimal.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && compare(x, y);

    static Func<string, string, bool> Date(Func<DateTimeOffset, DateTimeOffset, bool> compare)
        => (a, v) => ParseDate(a) is { } x && ParseDate(v) is { } y && compare(x, y);

    static DateTimeOffset? ParseDate(string s)
    {
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)) return DateTimeOffset.FromUnixTimeSeconds(epoch);
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;
    }

    static bool InCidr(string address, string cidr)
    {
        var slash = cidr.IndexOf('/');
        if (!IPAddress.TryParse(address, out var ip) || !IPAddress.TryParse(slash < 0 ? cidr : cidr[..slash], out var network)) return false;
        if (ip.AddressFamily != network.AddressFamily) return false;
        var bits = slash < 0 ? network.GetAddressBytes().Length * 8 : int.Parse(cidr[(slash + 1)..], CultureInfo.InvariantCulture);
        var a = ip.GetAddressBytes();
        var n = network.GetAddressBytes();
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (n[i] & mask)) return false;
        }
        return true;
    }

    /// <summary>ARNs compare part by part (arn:partition:service:region:account:resource), each
    /// part with wildcards.</summary>
    static bool ArnMatch(string arn, string pattern)
    {
        var a = arn.Split(':', 6);
        var p = pattern.Split(':', 6);
        if (a.Length != 6 || p.Length != 6) return false;
        for (var i = 0; i < 6; i++)
        {
            if (!Wildcard.Matches(p[i], a[i], ignoreCase: false)) return false;
        }
        return true;
    }
}

/// <summary>IAM wildcards: * any run of characters, ? one character.</summary>
public static class Wildcard
{
    public static bool Matches(string pattern, string value, bool ignoreCase)
    {
        var comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || string.Compare(pattern, p, value, v, 1, comparison) == 0 && pattern[p] != '*'))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = v;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++mark;
            }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>Whether the pattern matches some value that begins with <paramref name="prefix"/>
    /// (case-sensitive): whether it can name anything under a path, such as a bucket's objects.</summary>
    public static bool MatchesSomeValueStartingWith(string pattern, string prefix)
    {
        // The pattern positions the prefix can lead to; any survivor can be completed.
        var states = Closure(pattern, [0]);
        foreach (var c in prefix)
        {
            var next = new HashSet<int>();
            foreach (var p in states)
            {
                if (p == pattern.Length) continue;
                if (pattern[p] == '*') next.Add(p);
                else if (pattern[p] == '?' || pattern[p] == c) next.Add(p + 1);
            }
            states = Closure(pattern, next);
            if (states.Count == 0) return false;
        }
        return true;
    }

    /// <summary>Adds the positions past each <c>*</c> that may match nothing.</summary>
    static HashSet<int> Closure(string pattern, HashSet<int> states)
    {
        var pending = new Stack<int>(states);
        while (pending.TryPop(out var p))
            if (p < pattern.Length && pattern[p] == '*' && states.Add(p + 1)) pending.Push(p + 1);
        return states;
    }
}
