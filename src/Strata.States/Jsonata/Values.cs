using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Strata.States.Jsonata;

// JSONata's value model, as its reference implementation has it in JavaScript: undefined is a C# null,
// JSON null is JsonNull.Value, numbers are doubles, strings, booleans, JArray (an array or a sequence),
// JObject (insertion ordered, as JavaScript objects are) and functions. JsonNode is only the boundary:
// a JsonNode has one parent, and JSONata shares values freely between results.

/// <summary>JSON null (C# null is JSONata's undefined).</summary>
internal sealed class JsonNull
{
    public static readonly JsonNull Value = new();
    private JsonNull() { }
}

/// <summary>An array. A sequence is the result of a path (flattened, singletons unwrapped); a plain array is a JSON array.</summary>
internal sealed class JArray : List<object?>
{
    public JArray() { }
    public JArray(IEnumerable<object?> items) : base(items) { }
    public bool Sequence { get; init; }
    public bool KeepSingleton { get; set; }
    public bool OuterWrapper { get; set; }
    public bool TupleStream { get; set; }
    /// <summary>Built by an array constructor: not flattened into a path's results.</summary>
    public bool Cons { get; set; }

    public static JArray Seq() => new() { Sequence = true };
    public static JArray Seq(object? item)
    {
        var s = new JArray { Sequence = true };
        if (item is not null) s.Add(item);
        return s;
    }
}

internal sealed class JObject : OrderedDictionary<string, object?>
{
    public JObject() : base(StringComparer.Ordinal) { }
}

/// <summary>One binding tuple of a path that binds focus (@), index (#) or parent (%) variables; "@" is the context.</summary>
internal sealed class Tuple : Dictionary<string, object?>
{
    public Tuple() : base(StringComparer.Ordinal) { }
    public Tuple(Tuple other) : base(other, StringComparer.Ordinal) { }
}

internal abstract class JFunction
{
    public Signature? Signature { get; init; }
    /// <summary>How many arguments it declares (what $map/$filter/$each look at to decide what to pass).</summary>
    public abstract int Arity { get; }
}

internal static class Values
{
    public static bool IsNumber(object? v) => v is double;
    public static bool IsArrayOfNumbers(object? v) => v is JArray a && a.All(x => x is double);
    public static bool IsArrayOfStrings(object? v) => v is JArray a && a.All(x => x is string);

    public static JArray ToArray(object? v) => v is JArray a ? a : JArray.Seq(v);

    /// <summary>$boolean's rules (undefined stays undefined; the caller decides what that means).</summary>
    public static bool? Boolean(object? arg) => arg switch
    {
        null => null,
        JArray a => a.Count == 1 ? Boolean(a[0]) : a.Count > 1 && a.Any(x => Boolean(x) == true),
        string s => s.Length > 0,
        double d => d != 0,
        JObject o => o.Count > 0,
        bool b => b,
        JFunction => false,
        _ => false,
    };

    public static bool Truthy(object? arg) => Boolean(arg) == true;

    public static object? Append(object? a, object? b)
    {
        if (a is null) return b;
        if (b is null) return a;
        var result = new JArray();
        if (a is JArray x) result.AddRange(x); else result.Add(a);
        if (b is JArray y) result.AddRange(y); else result.Add(b);
        return result;
    }

    public static bool DeepEquals(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        switch (a)
        {
            case double x: return b is double y && x == y;
            case string s: return b is string t && string.Equals(s, t, StringComparison.Ordinal);
            case bool p: return b is bool q && p == q;
            case JArray xs:
                if (b is not JArray ys || xs.Count != ys.Count) return false;
                for (var i = 0; i < xs.Count; i++)
                    if (!DeepEquals(xs[i], ys[i])) return false;
                return true;
            case JObject o:
                if (b is not JObject p2 || o.Count != p2.Count) return false;
                foreach (var (k, v) in o)
                    if (!p2.TryGetValue(k, out var w) || !DeepEquals(v, w)) return false;
                return true;
            default: return false;
        }
    }

    public static string TypeName(object? v) => v switch
    {
        null => "undefined",
        JsonNull => "null",
        double => "number",
        string => "string",
        bool => "boolean",
        JArray => "array",
        JFunction => "function",
        _ => "object",
    };

    /// <summary>A number as JavaScript's Number#toString writes it (what JSON.stringify writes too).</summary>
    public static string FormatNumber(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return "0";
        var r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        var e = 0;
        var ei = r.IndexOfAny(['E', 'e']);
        if (ei >= 0)
        {
            e = int.Parse(r.AsSpan(ei + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ei];
        }
        var dot = r.IndexOf('.');
        var intPart = dot >= 0 ? r[..dot] : r;
        var frac = dot >= 0 ? r[(dot + 1)..] : "";
        var digits = (intPart + frac).TrimStart('0');
        var lead = (intPart + frac).Length - digits.Length;
        var n = intPart.Length + e - lead; // value = 0.digits × 10^n
        digits = digits.TrimEnd('0');
        var k = digits.Length;
        var sb = new StringBuilder();
        if (d < 0) sb.Append('-');
        if (k <= n && n <= 21) sb.Append(digits).Append('0', n - k);
        else if (0 < n && n <= 21) sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        else if (-6 < n && n <= 0) sb.Append("0.").Append('0', -n).Append(digits);
        else
        {
            sb.Append(digits[0]);
            if (k > 1) sb.Append('.').Append(digits, 1, k - 1);
            sb.Append('e').Append(n - 1 >= 0 ? "+" : "-").Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Number(n.toPrecision(15)): how $string rounds away binary noise (0.1 + 0.2 → 0.3).</summary>
    public static double Precision15(double d) =>
        double.IsFinite(d) ? double.Parse(d.ToString("G15", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : d;

    /// <summary>JSON text as JSON.stringify writes it (numbers to 15 significant digits, functions as "").</summary>
    public static string Stringify(object? v, bool pretty)
    {
        var sb = new StringBuilder();
        Write(sb, v, pretty, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? v, bool pretty, int indent)
    {
        switch (v)
        {
            case null or JsonNull: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case double d: sb.Append(double.IsFinite(d) ? FormatNumber(Precision15(d)) : "null"); break;
            case string s: Quote(sb, s); break;
            case JFunction: sb.Append("\"\""); break;
            case JArray a:
                {
                    sb.Append('[');
                    var first = true;
                    foreach (var item in a)
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        if (pretty) sb.Append('\n').Append(' ', (indent + 1) * 2);
                        Write(sb, item, pretty, indent + 1);
                    }
                    if (pretty && a.Count > 0) sb.Append('\n').Append(' ', indent * 2);
                    sb.Append(']');
                    break;
                }
            case JObject o:
                {
                    sb.Append('{');
                    var first = true;
                    foreach (var (k, item) in o)
                    {
                        if (item is null) continue; // JSON.stringify leaves out undefined members
                        if (!first) sb.Append(',');
                        first = false;
                        if (pretty) sb.Append('\n').Append(' ', (indent + 1) * 2);
                        Quote(sb, k);
                        sb.Append(pretty ? ": " : ":");
                        Write(sb, item, pretty, indent + 1);
                    }
                    if (pretty && !first) sb.Append('\n').Append(' ', indent * 2);
                    sb.Append('}');
                    break;
                }
            default: sb.Append("null"); break;
        }
    }

    public static void Quote(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    public static object? FromNode(JsonNode? node)
    {
        switch (node)
        {
            case null: return JsonNull.Value;
            case JsonObject o:
                {
                    var r = new JObject();
                    foreach (var (k, v) in o) r[k] = FromNode(v);
                    return r;
                }
            case System.Text.Json.Nodes.JsonArray a:
                {
                    var r = new JArray();
                    foreach (var v in a) r.Add(FromNode(v));
                    return r;
                }
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case System.Text.Json.JsonValueKind.String: return v.GetValue<string>();
                    case System.Text.Json.JsonValueKind.True: return true;
                    case System.Text.Json.JsonValueKind.False: return false;
                    case System.Text.Json.JsonValueKind.Number:
                        return v.TryGetValue<double>(out var d) ? d
                            : double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
                    default: return JsonNull.Value;
                }
            default: return JsonNull.Value;
        }
    }

    /// <summary>To JSON: integral numbers become integers (JSON number fidelity), undefined members are left out,
    /// functions become "" (as JSON.stringify does through JSONata's replacer).</summary>
    public static JsonNode? ToNode(object? v)
    {
        switch (v)
        {
            case null or JsonNull: return null;
            case bool b: return JsonValue.Create(b);
            case double d:
                if (!double.IsFinite(d)) throw JsonataErrors.Create("D1001", 0, d);
                if (Math.Floor(d) == d && Math.Abs(d) < 9.2e18) return JsonValue.Create((long)d);
                return JsonValue.Create(d);
            case string s: return JsonValue.Create(s);
            case JArray a:
                {
                    var r = new System.Text.Json.Nodes.JsonArray();
                    foreach (var item in a)
                        if (item is not null) r.Add(ToNode(item));
                    return r;
                }
            case JObject o:
                {
                    var r = new JsonObject();
                    foreach (var (k, item) in o)
                        if (item is not null) r[k] = ToNode(item);
                    return r;
                }
            case JFunction: return JsonValue.Create("");
            default: return null;
        }
    }

    public static object? DeepClone(object? v) => v switch
    {
        JArray a => CloneArray(a),
        JObject o => CloneObject(o),
        _ => v,
    };

    private static JArray CloneArray(JArray a)
    {
        var r = new JArray { Sequence = a.Sequence, Cons = a.Cons, KeepSingleton = a.KeepSingleton, OuterWrapper = a.OuterWrapper };
        foreach (var x in a) r.Add(DeepClone(x));
        return r;
    }

    private static JObject CloneObject(JObject o)
    {
        var r = new JObject();
        foreach (var (k, x) in o) r[k] = DeepClone(x);
        return r;
    }
}
