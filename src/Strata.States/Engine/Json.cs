using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.States;

/// <summary>Small JSON helpers. A JsonNode has one parent, so a value already placed in a tree is
/// copied when it is placed in another (<see cref="Detach"/>); nothing else is ever copied or re-parsed.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonNode? Detach(JsonNode? node) => node is null || node.Parent is null ? node : node.DeepClone();

    public static string Serialize(JsonNode? node) => node is null ? "null" : node.ToJsonString(Compact);

    public static int ByteCount(string json) => Encoding.UTF8.GetByteCount(json);

    public static bool DeepEquals(JsonNode? a, JsonNode? b)
    {
        if (a is JsonValue va && b is JsonValue vb && va.GetValueKind() == JsonValueKind.Number && vb.GetValueKind() == JsonValueKind.Number)
            return ToDecimalOrDouble(va) == ToDecimalOrDouble(vb);
        return JsonNode.DeepEquals(a, b);
    }

    public static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;

    public static bool TryNumber(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        value = ToDecimalOrDouble(v);
        return true;
    }

    public static bool TryString(JsonNode? node, out string value)
    {
        value = "";
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return false;
        value = v.GetValue<string>();
        return true;
    }

    public static bool IsInteger(JsonNode? node, out long value)
    {
        value = 0;
        if (!TryNumber(node, out var d) || d != Math.Floor(d) || double.IsInfinity(d)) return false;
        value = (long)d;
        return true;
    }

    private static double ToDecimalOrDouble(JsonValue v)
    {
        if (v.TryGetValue<double>(out var d)) return d;
        if (v.TryGetValue<long>(out var l)) return l;
        if (v.TryGetValue<int>(out var i)) return i;
        if (v.TryGetValue<decimal>(out var m)) return (double)m;
        if (v.TryGetValue<JsonElement>(out var e)) return e.GetDouble();
        return double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Orders two numbers or two strings; null for values of different kinds.</summary>
    public static int? Compare(JsonNode? a, JsonNode? b)
    {
        if (TryNumber(a, out var x) && TryNumber(b, out var y)) return x.CompareTo(y);
        if (TryString(a, out var s) && TryString(b, out var t)) return string.CompareOrdinal(s, t);
        return null;
    }
}
