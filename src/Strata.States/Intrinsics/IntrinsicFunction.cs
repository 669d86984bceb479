using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.JsonPath;

namespace Strata.States.Intrinsics;

/// <summary>A parsed intrinsic function call (<c>States.Format('{}', $.x)</c>) with its arguments: literals,
/// paths and nested calls. Errors of evaluation are <c>States.IntrinsicFailure</c>.</summary>
internal sealed class IntrinsicFunction
{
    private static readonly ConcurrentDictionary<string, IntrinsicFunction> Cache = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, (int Min, int Max)> Arity = new(StringComparer.Ordinal)
    {
        ["States.Format"] = (1, int.MaxValue),
        ["States.StringToJson"] = (1, 1),
        ["States.JsonToString"] = (1, 1),
        ["States.Array"] = (0, int.MaxValue),
        ["States.ArrayPartition"] = (2, 2),
        ["States.ArrayContains"] = (2, 2),
        ["States.ArrayRange"] = (3, 3),
        ["States.ArrayGetItem"] = (2, 2),
        ["States.ArrayLength"] = (1, 1),
        ["States.ArrayUnique"] = (1, 1),
        ["States.Base64Encode"] = (1, 1),
        ["States.Base64Decode"] = (1, 1),
        ["States.Hash"] = (2, 2),
        ["States.JsonMerge"] = (3, 3),
        ["States.MathRandom"] = (2, 3),
        ["States.MathAdd"] = (2, 2),
        ["States.StringSplit"] = (2, 2),
        ["States.UUID"] = (0, 0),
    };

    private IntrinsicFunction(string name, object?[] args)
    {
        Name = name;
        Args = args;
    }

    /// <summary>States.Format and friends.</summary>
    public string Name { get; }

    /// <summary>Each a JsonNode literal, a <see cref="JsonPathExpression"/> or a nested <see cref="IntrinsicFunction"/>.</summary>
    public object?[] Args { get; }

    public static bool LooksLikeCall(string text) => text.StartsWith("States.", StringComparison.Ordinal);

    public static IntrinsicFunction Parse(string text)
    {
        if (Cache.TryGetValue(text, out var f)) return f;
        var p = new Parser(text);
        var fn = p.ParseCall();
        p.SkipSpaces();
        if (!p.AtEnd) throw new FormatException($"The value for the field is not a valid intrinsic function: unexpected text after the call in '{text}'");
        if (Cache.Count < 100_000) Cache[text] = fn;
        return fn;
    }

    public JsonNode? Evaluate(IPathResolver resolver)
    {
        var values = new JsonNode?[Args.Length];
        for (var i = 0; i < Args.Length; i++)
        {
            values[i] = Args[i] switch
            {
                JsonPathExpression path => resolver.Resolve(path, "States." + Name),
                IntrinsicFunction call => call.Evaluate(resolver),
                JsonNode node => node,
                _ => null,
            };
        }
        try
        {
            return Apply(values, resolver);
        }
        catch (StatesError)
        {
            throw;
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw Failure(e.Message);
        }
    }

    private static StatesError Failure(string message) => new("States.IntrinsicFailure", message);

    private JsonNode? Apply(JsonNode?[] v, IPathResolver resolver)
    {
        switch (Name)
        {
            case "States.Format":
                return JsonValue.Create(Format(Str(v[0], 1), v.AsSpan(1)));
            case "States.StringToJson":
                return JsonNode.Parse(Str(v[0], 1));
            case "States.JsonToString":
                return JsonValue.Create(Json.Serialize(v[0]));
            case "States.Array":
                {
                    // The same argument twice (States.Array($, $)) is one node: each place gets its own.
                    var seen = new HashSet<JsonNode>(ReferenceEqualityComparer.Instance);
                    return new JsonArray([.. v.Select(n => n is null ? null : n.Parent is null && seen.Add(n) ? n : n.DeepClone())]);
                }
            case "States.ArrayPartition":
                {
                    var arr = Arr(v[0], 1);
                    var size = Int(v[1], 2);
                    if (size <= 0) throw Failure("The chunk size must be a positive integer");
                    var result = new JsonArray();
                    for (var i = 0; i < arr.Count; i += (int)size)
                        result.Add(new JsonArray([.. arr.Skip(i).Take((int)size).Select(Json.Detach)]));
                    return result;
                }
            case "States.ArrayContains":
                return JsonValue.Create(Arr(v[0], 1).Any(e => Json.DeepEquals(e, v[1])));
            case "States.ArrayRange":
                {
                    var (start, end, step) = (Int(v[0], 1), Int(v[1], 2), Int(v[2], 3));
                    if (step == 0) throw Failure("The step value can't be 0");
                    var result = new JsonArray();
                    for (var i = start; step > 0 ? i <= end : i >= end; i += step)
                    {
                        if (result.Count >= 1000) throw Failure("The array created by States.ArrayRange can't have more than 1000 items");
                        result.Add(i);
                    }
                    return result;
                }
            case "States.ArrayGetItem":
                {
                    var arr = Arr(v[0], 1);
                    var i = Int(v[1], 2);
                    if (i < 0 || i >= arr.Count) throw Failure($"Index {i} is out of bounds for an array of length {arr.Count}");
                    return Json.Detach(arr[(int)i]);
                }
            case "States.ArrayLength":
                return JsonValue.Create(Arr(v[0], 1).Count);
            case "States.ArrayUnique":
                {
                    var result = new JsonArray();
                    var seen = new List<JsonNode?>();
                    foreach (var e in Arr(v[0], 1))
                    {
                        if (seen.Any(s => Json.DeepEquals(s, e))) continue;
                        seen.Add(e);
                        result.Add(Json.Detach(e));
                    }
                    return result;
                }
            case "States.Base64Encode":
                {
                    var s = Str(v[0], 1);
                    if (s.Length > 10_000) throw Failure("The input string for States.Base64Encode can't be longer than 10000 characters");
                    return JsonValue.Create(Convert.ToBase64String(Encoding.UTF8.GetBytes(s)));
                }
            case "States.Base64Decode":
                {
                    var s = Str(v[0], 1);
                    if (s.Length > 10_000) throw Failure("The input string for States.Base64Decode can't be longer than 10000 characters");
                    return JsonValue.Create(Encoding.UTF8.GetString(Convert.FromBase64String(s)));
                }
            case "States.Hash":
                {
                    var data = v[0] is JsonValue dv && dv.GetValueKind() == JsonValueKind.String ? dv.GetValue<string>() : Json.Serialize(v[0]);
                    var bytes = Encoding.UTF8.GetBytes(data);
                    var hash = Str(v[1], 2) switch
                    {
                        "MD5" => MD5.HashData(bytes),
                        "SHA-1" => SHA1.HashData(bytes),
                        "SHA-256" => SHA256.HashData(bytes),
                        "SHA-384" => SHA384.HashData(bytes),
                        "SHA-512" => SHA512.HashData(bytes),
                        var other => throw Failure($"The hash algorithm '{other}' is not supported: use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
                    };
                    return JsonValue.Create(Convert.ToHexStringLower(hash));
                }
            case "States.JsonMerge":
                {
                    if (v[0] is not JsonObject a || v[1] is not JsonObject b) throw Failure("States.JsonMerge merges two JSON objects");
                    if (v[2] is not JsonValue deep || deep.GetValueKind() != JsonValueKind.False)
                        throw Failure("States.JsonMerge supports only a shallow merge: its third argument must be false");
                    var result = new JsonObject();
                    foreach (var kv in a) result[kv.Key] = Json.Detach(kv.Value);
                    foreach (var kv in b) result[kv.Key] = Json.Detach(kv.Value);
                    return result;
                }
            case "States.MathRandom":
                {
                    var (start, end) = (Int(v[0], 1), Int(v[1], 2));
                    if (end <= start) throw Failure("The end of the range must be greater than its start");
                    int? seed = v.Length > 2 ? (int)Int(v[2], 3) : null;
                    // A seeded call is reproducible by itself; an unseeded one is recorded so that a replay sees it again.
                    if (seed is not null) return JsonValue.Create(new Random(seed.Value).NextInt64(start, end));
                    return resolver.Once(() => JsonValue.Create(Random.Shared.NextInt64(start, end)));
                }
            case "States.MathAdd":
                return JsonValue.Create(checked(Int(v[0], 1) + Int(v[1], 2)));
            case "States.StringSplit":
                {
                    var s = Str(v[0], 1);
                    var delimiters = Str(v[1], 2).ToCharArray();
                    var result = new JsonArray();
                    foreach (var part in delimiters.Length == 0 ? [s] : s.Split(delimiters, StringSplitOptions.RemoveEmptyEntries)) result.Add(part);
                    return result;
                }
            case "States.UUID":
                return resolver.Once(() => JsonValue.Create(Guid.NewGuid().ToString()));
        }
        throw Failure($"The intrinsic function '{Name}' is not supported");
    }

    private string Str(JsonNode? node, int position) =>
        Json.TryString(node, out var s) ? s : throw Failure($"The argument {position} of {Name} must be a string");

    private JsonArray Arr(JsonNode? node, int position) =>
        node as JsonArray ?? throw Failure($"The argument {position} of {Name} must be an array");

    private long Int(JsonNode? node, int position) =>
        Json.IsInteger(node, out var l) ? l : throw Failure($"The argument {position} of {Name} must be an integer");

    private static string Format(string template, ReadOnlySpan<JsonNode?> args)
    {
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '\\' && i + 1 < template.Length)
            {
                sb.Append(template[++i]);
                continue;
            }
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '}')
            {
                if (next >= args.Length) throw Failure("The number of arguments does not match the number of '{}' placeholders in States.Format");
                var a = args[next++];
                sb.Append(Json.TryString(a, out var s) ? s : Json.Serialize(a));
                i++;
                continue;
            }
            sb.Append(c);
        }
        if (next != args.Length) throw Failure("The number of arguments does not match the number of '{}' placeholders in States.Format");
        return sb.ToString();
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        private FormatException Error(string why) => new($"The value '{text}' is not a valid intrinsic function: {why}");

        public void SkipSpaces()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        public IntrinsicFunction ParseCall()
        {
            SkipSpaces();
            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '.')) _pos++;
            var name = text[start.._pos];
            if (!Arity.TryGetValue(name, out var arity)) throw Error($"unknown function '{name}'");
            SkipSpaces();
            if (_pos >= text.Length || text[_pos] != '(') throw Error("'(' expected");
            _pos++;
            var args = new List<object?>();
            SkipSpaces();
            if (_pos < text.Length && text[_pos] == ')') _pos++;
            else
            {
                while (true)
                {
                    args.Add(ParseArg());
                    SkipSpaces();
                    if (_pos < text.Length && text[_pos] == ',') { _pos++; continue; }
                    if (_pos < text.Length && text[_pos] == ')') { _pos++; break; }
                    throw Error("',' or ')' expected");
                }
            }
            if (args.Count < arity.Min || args.Count > arity.Max) throw Error($"{name} takes {(arity.Min == arity.Max ? arity.Min.ToString(CultureInfo.InvariantCulture) : "a different number of")} arguments");
            return new IntrinsicFunction(name, [.. args]);
        }

        private object? ParseArg()
        {
            SkipSpaces();
            if (_pos >= text.Length) throw Error("an argument is missing");
            var c = text[_pos];
            if (c == '\'')
            {
                _pos++;
                var sb = new StringBuilder();
                while (_pos < text.Length && text[_pos] != '\'')
                {
                    // Keep the escapes: States.Format reads them; other functions see the escaped character.
                    if (text[_pos] == '\\' && _pos + 1 < text.Length)
                    {
                        sb.Append(text[_pos++]);
                    }
                    sb.Append(text[_pos++]);
                }
                if (_pos >= text.Length) throw Error("unclosed string");
                _pos++;
                return JsonValue.Create(Unescape(sb.ToString()));
            }
            if (c == '$')
            {
                var start = _pos;
                var depth = 0;
                var quoted = false;
                while (_pos < text.Length)
                {
                    var ch = text[_pos];
                    if (ch == '\'') quoted = !quoted;
                    else if (!quoted && (ch == '[' || ch == '(')) depth++;
                    else if (!quoted && (ch == ']' || ch == ')'))
                    {
                        if (depth == 0) break;
                        depth--;
                    }
                    else if (!quoted && depth == 0 && (ch == ',' || char.IsWhiteSpace(ch))) break;
                    _pos++;
                }
                return JsonPathExpression.Compile(text[start.._pos]);
            }
            if (text.AsSpan(_pos).StartsWith("States.", StringComparison.Ordinal)) return ParseCall();
            var s = _pos;
            while (_pos < text.Length && text[_pos] is not (',' or ')') && !char.IsWhiteSpace(text[_pos])) _pos++;
            var token = text[s.._pos];
            try
            {
                var node = JsonNode.Parse(token);
                if (node is JsonObject or JsonArray) throw Error($"bad argument '{token}'");
                return node;
            }
            catch (JsonException)
            {
                throw Error($"bad argument '{token}'");
            }
        }

        // The literal keeps '\{' and '\}' for States.Format; '\'' and '\\' are plain characters everywhere.
        private static string Unescape(string s)
        {
            if (!s.Contains('\\')) return s;
            var sb = new StringBuilder();
            for (var i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 1 < s.Length && (s[i + 1] == '\'' || s[i + 1] == '\\'))
                {
                    if (s[i + 1] == '\\') sb.Append('\\');
                    sb.Append(s[++i]);
                    continue;
                }
                sb.Append(s[i]);
            }
            return sb.ToString();
        }
    }
}

/// <summary>What an intrinsic function reads: paths against the input, the context object or variables,
/// and recorded values for MathRandom/UUID.</summary>
internal interface IPathResolver
{
    JsonNode? Resolve(JsonPathExpression path, string field);

    JsonNode? Once(Func<JsonNode?> compute);
}
