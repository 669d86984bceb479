using System.Globalization;

namespace Strata.Server.Protocol;

/// <summary>
/// Reads typed values out of a Query request's form parameters, for the generated readers:
/// <c>Name</c>, <c>Name.member.N</c> (lists; <c>Name.N</c> when flattened) and
/// <c>Name.entry.N.key</c>/<c>.value</c> (maps). Malformed scalars are AWS's ValidationError.
/// </summary>
public sealed class QueryReader(IReadOnlyDictionary<string, string> parameters)
{
    public static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    public string? String(string key) => parameters.TryGetValue(key, out var v) ? v : null;

    /// <summary>Whether any parameter is <paramref name="key"/> or lies below it.</summary>
    public bool Has(string key)
    {
        if (parameters.ContainsKey(key)) return true;
        foreach (var k in parameters.Keys)
            if (k.Length > key.Length && k[key.Length] == '.' && k.StartsWith(key, StringComparison.Ordinal)) return true;
        return false;
    }

    public int? Int(string key) => String(key) is { } text
        ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw NotA(key, text, "an integer")
        : null;

    public long? Long(string key) => String(key) is { } text
        ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw NotA(key, text, "an integer")
        : null;

    public double? Double(string key) => String(key) is { } text
        ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw NotA(key, text, "a number")
        : null;

    public bool? Bool(string key) => String(key) switch
    {
        null => null,
        var t when t.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
        var t when t.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
        var t => throw NotA(key, t, "a boolean"),
    };

    public DateTimeOffset? Timestamp(string key) => String(key) is { } text
        ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v) ? v : throw NotA(key, text, "a timestamp")
        : null;

    public byte[]? Blob(string key)
    {
        if (String(key) is not { } text) return null;
        try { return Convert.FromBase64String(text); }
        catch (FormatException) { throw NotA(key, text, "base64-encoded"); }
    }

    /// <summary>A list: items 1, 2, … until one is missing; null when there is none.</summary>
    public List<T>? List<T>(string key, string memberName, bool flattened, Func<QueryReader, string, T> item)
    {
        var prefix = flattened ? key : key + "." + memberName;
        List<T>? list = null;
        for (var i = 1; Has($"{prefix}.{i}"); i++) (list ??= []).Add(item(this, $"{prefix}.{i}"));
        // An empty list is sent as the bare name with no value.
        return list ?? (parameters.ContainsKey(key) ? [] : null);
    }

    public Dictionary<string, T>? Map<T>(string key, string keyName, string valueName, Func<QueryReader, string, T> value)
    {
        Dictionary<string, T>? map = null;
        for (var i = 1; String($"{key}.entry.{i}.{keyName}") is { } k; i++) (map ??= new(StringComparer.Ordinal))[k] = value(this, $"{key}.entry.{i}.{valueName}");
        return map;
    }

    static AwsException NotA(string key, string text, string what)
        => new("ValidationError", 400, $"Invalid value '{text}' for parameter {key}: not {what}.");
}
