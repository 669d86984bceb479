using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.Server.Protocol;

/// <summary>A generated input shape that checks the constraints its service model declares.</summary>
public interface IValidatable
{
    void Validate(Validator v);
}

/// <summary>
/// Collects constraint failures of one request's input, worded as AWS words them:
/// "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must
/// not be null; Value …". Member paths are camel-cased; list items are <c>name.N.member</c>.
/// </summary>
public sealed class Validator
{
    readonly List<string> _errors = [];
    readonly List<string> _path = [];
    // While a map's keys or values are checked, the constraints they break (in order, once each).
    List<string>? _collected;

    public void Required(object? value, string member)
    {
        if (value is null) Fail(member, null, "Member must not be null");
    }

    public void Length(string? value, string? member, double? min, double? max, bool sensitive = false)
    {
        if (value is not null) Bounds(value.Length, member, sensitive ? "[sensitive]" : value, min, max, "length");
    }

    public void Length(byte[]? value, string? member, double? min, double? max, bool sensitive = false)
    {
        if (value is not null) Bounds(value.Length, member, sensitive ? "[sensitive]" : "java.nio.HeapByteBuffer", min, max, "length");
    }

    public void Length(ICollection? value, string? member, double? min, double? max, bool sensitive = false)
    {
        if (value is not null) Bounds(value.Count, member, sensitive ? "[sensitive]" : Describe(value), min, max, "length");
    }

    public void Range(double? value, string? member, double? min, double? max)
    {
        if (value is { } v) Bounds(v, member, v.ToString(CultureInfo.InvariantCulture), min, max, "value");
    }

    public void Enum(string? value, string? member, string[] allowed)
    {
        if (value is not null && Array.IndexOf(allowed, value) < 0)
            Fail(member, value, $"Member must satisfy enum value set: [{string.Join(", ", allowed)}]");
    }

    /// <summary>The model's pattern, matched against the whole value (<paramref name="regex"/> is its .NET
    /// form; the message quotes the model's own text, as AWS does).</summary>
    public void Pattern(string? value, string? member, Regex regex, string pattern, bool sensitive = false)
    {
        if (value is not null && !regex.IsMatch(value))
            Fail(member, sensitive ? "[sensitive]" : value, $"Member must satisfy regular expression pattern: {pattern}");
    }

    /// <summary>Checks every key of a map; AWS reports the whole map once, with the constraints its keys broke.</summary>
    public void Keys<T>(Dictionary<string, T>? map, string member, Action<Validator, string> check)
    {
        if (map is not null) EachOf(map, member, map.Keys, check, "Map keys");
    }

    /// <summary>Checks every value of a map, reported as <see cref="Keys"/> reports keys.</summary>
    public void Values<T>(Dictionary<string, T>? map, string member, Action<Validator, T> check)
    {
        if (map is not null) EachOf(map, member, map.Values, check, "Map value");
    }

    void EachOf<T, TItem>(Dictionary<string, T> map, string member, IEnumerable<TItem> items, Action<Validator, TItem> check, string what)
    {
        var outer = _collected;
        _collected = [];
        foreach (var item in items) check(this, item);
        var broken = _collected;
        _collected = outer;
        if (broken.Count > 0) Fail(member, Describe(map), $"{what} must satisfy constraint: [{string.Join(", ", broken)}]");
    }

    public void Nested(IValidatable? value, string? member)
    {
        if (value is null) return;
        Push(member);
        value.Validate(this);
        Pop(member);
    }

    /// <summary>A list without null items (JSON can send <c>[null]</c>; the model's lists are not sparse).</summary>
    public void NoNulls<T>(List<T>? items, string? member)
    {
        if (items is null) return;
        for (var i = 0; i < items.Count; i++)
            if (items[i] is null) Fail(member is null ? null : $"{member}.{i + 1}.member", null, "Member must not be null");
    }

    /// <summary>A map without null values.</summary>
    public void NoNulls<T>(Dictionary<string, T>? map, string? member)
    {
        if (map is null) return;
        foreach (var (key, value) in map)
            if (value is null) Fail(member, key, "Map value must not be null");
    }

    /// <summary>Checks every item of a list (AWS names the N-th <c>member.N.member</c>, from 1).</summary>
    public void Each<T>(List<T>? items, string member, Action<Validator, T> check)
    {
        if (items is null) return;
        for (var i = 0; i < items.Count; i++)
        {
            _path.Add($"{Camel(member)}.{i + 1}.member");
            check(this, items[i]);
            _path.RemoveAt(_path.Count - 1);
        }
    }

    public void ThrowIfInvalid(string code)
    {
        if (_errors.Count == 0) return;
        var message = new StringBuilder();
        message.Append(_errors.Count).Append(_errors.Count == 1 ? " validation error detected: " : " validation errors detected: ");
        message.AppendJoin("; ", _errors);
        throw new AwsException(code, 400, message.ToString());
    }

    void Bounds(double actual, string? member, string shown, double? min, double? max, string what)
    {
        if (min is { } lo && actual < lo) Fail(member, shown, $"Member must have {what} greater than or equal to {lo.ToString(CultureInfo.InvariantCulture)}");
        else if (max is { } hi && actual > hi) Fail(member, shown, $"Member must have {what} less than or equal to {hi.ToString(CultureInfo.InvariantCulture)}");
    }

    void Fail(string? member, string? value, string constraint)
    {
        if (_collected is not null)
        {
            if (!_collected.Contains(constraint)) _collected.Add(constraint);
            return;
        }
        var path = string.Join('.', member is null ? _path : [.. _path, Camel(member)]);
        _errors.Add($"Value {(value is null ? "null" : $"'{value}'")} at '{path}' failed to satisfy constraint: {constraint}");
    }

    void Push(string? member)
    {
        if (member is not null) _path.Add(Camel(member));
    }

    void Pop(string? member)
    {
        if (member is not null) _path.RemoveAt(_path.Count - 1);
    }

    static string Camel(string member) => member.Length == 0 ? member : char.ToLowerInvariant(member[0]) + member[1..];

    static string Describe(ICollection value) => value is IDictionary map
        ? "{" + string.Join(", ", map.Keys.Cast<object>().Select(k => $"{k}={map[k]}")) + "}"
        : "[" + string.Join(", ", value.Cast<object>()) + "]";
}
