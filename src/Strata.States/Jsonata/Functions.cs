using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.States.Jsonata;

/// <summary>Where a library function was called from: the context value, the scope, its name (for errors).</summary>
internal sealed record CallContext(object? Input, Frame Env, string Name, int Position)
{
    public object? Call(JFunction f, params object?[] args) => Evaluator.Apply(f, [.. args], null, Env, Name, Position);

    /// <summary>The arguments a higher-order function passes to its callback: as many as the callback declares.</summary>
    public object? CallHof(JFunction f, object? value, object? second, object? third)
    {
        var args = new List<object?> { value };
        if (f.Arity >= 2) args.Add(second);
        if (f.Arity >= 3) args.Add(third);
        return Evaluator.Apply(f, args, null, Env, Name, Position);
    }

    public JsonataException Error(string code, object? value = null, string? message = null, object? value2 = null) =>
        JsonataErrors.Create(code, Position, value: value, token: Name, message: message, value2: value2);
}

internal sealed class Builtin : JFunction
{
    public required string Name { get; init; }
    public required Func<CallContext, List<object?>, object?> Implementation { get; init; }
    /// <summary>The parameters a callback must take (what JavaScript's Function#length says of the reference
    /// implementation: optional parameters do not count).</summary>
    public override int Arity => Signature?.RequiredCount ?? 0;
}

/// <summary>JSONata's function library (https://docs.jsonata.org), and the functions Step Functions adds.</summary>
internal static partial class Functions
{
    public static readonly Dictionary<string, Builtin> Library = Build();

    private static void Add(Dictionary<string, Builtin> lib, string name, string signature, Func<CallContext, List<object?>, object?> impl) =>
        lib[name] = new Builtin { Name = name, Signature = Signature.Parse(signature), Implementation = impl };

    private static object? Arg(List<object?> a, int i) => i < a.Count ? a[i] : null;

    private static Dictionary<string, Builtin> Build()
    {
        var lib = new Dictionary<string, Builtin>(StringComparer.Ordinal);
        // aggregation
        Add(lib, "sum", "<a<n>:n>", (c, a) => a[0] is JArray arr ? arr.Sum(x => (double)x!) : null);
        Add(lib, "count", "<a:n>", (c, a) => a[0] is JArray arr ? arr.Count : 0.0);
        Add(lib, "max", "<a<n>:n>", (c, a) => a[0] is JArray { Count: > 0 } arr ? arr.Max(x => (double)x!) : null);
        Add(lib, "min", "<a<n>:n>", (c, a) => a[0] is JArray { Count: > 0 } arr ? arr.Min(x => (double)x!) : null);
        Add(lib, "average", "<a<n>:n>", (c, a) => a[0] is JArray { Count: > 0 } arr ? arr.Average(x => (double)x!) : null);
        // strings
        Add(lib, "string", "<x-b?:s>", (c, a) => a[0] is null ? null : ToStringValue(a[0], Arg(a, 1) is true, c.Position));
        Add(lib, "substring", "<s-nn?:s>", (c, a) => a[0] is string s ? Substring(s, (double)a[1]!, Arg(a, 2) as double?) : null);
        Add(lib, "substringBefore", "<s-s:s>", (c, a) =>
        {
            if (a[0] is not string s) return null;
            if (Arg(a, 1) is not string chars) return s;
            var i = s.IndexOf(chars, StringComparison.Ordinal);
            return i >= 0 ? s[..i] : s;
        });
        Add(lib, "substringAfter", "<s-s:s>", (c, a) =>
        {
            if (a[0] is not string s) return null;
            if (Arg(a, 1) is not string chars) return s;
            var i = s.IndexOf(chars, StringComparison.Ordinal);
            return i >= 0 ? s[(i + chars.Length)..] : s;
        });
        Add(lib, "lowercase", "<s-:s>", (c, a) => (a[0] as string)?.ToLowerInvariant());
        Add(lib, "uppercase", "<s-:s>", (c, a) => (a[0] as string)?.ToUpperInvariant());
        Add(lib, "length", "<s-:n>", (c, a) => a[0] is string s ? (double)CodePoints(s).Count : null);
        Add(lib, "trim", "<s-:s>", (c, a) => a[0] is string s ? Trim(s) : null);
        Add(lib, "pad", "<s-ns?:s>", (c, a) => a[0] is string s ? Pad(s, (double)a[1]!, Arg(a, 2) as string) : null);
        Add(lib, "contains", "<s-(sf):b>", (c, a) =>
        {
            if (a[0] is not string s) return null;
            return a[1] switch
            {
                string t => s.Contains(t, StringComparison.Ordinal),
                RegexFunction r => Matches(r.Regex, s, c).Any(),
                _ => false,
            };
        });
        Add(lib, "split", "<s-(sf)n?:a<s>>", (c, a) => a[0] is string s ? Split(s, a[1], Arg(a, 2) as double?, c) : null);
        Add(lib, "join", "<a<s>s?:s>", (c, a) => a[0] is JArray arr ? string.Join(Arg(a, 1) as string ?? "", arr.Select(x => (string)x!)) : null);
        Add(lib, "match", "<s-f<s:o>n?:a<o>>", (c, a) => a[0] is string s ? Match(s, a[1], Arg(a, 2) as double?, c) : null);
        Add(lib, "replace", "<s-(sf)(sf)n?:s>", (c, a) => a[0] is string s ? Replace(s, a[1], a[2], Arg(a, 3) as double?, c) : null);
        Add(lib, "eval", "<sx?:x>", (c, a) => Eval(a[0] as string, Arg(a, 1) ?? c.Input, c));
        Add(lib, "base64encode", "<s-:s>", (c, a) => a[0] is string s ? Convert.ToBase64String(Encoding.UTF8.GetBytes(s)) : null);
        Add(lib, "base64decode", "<s-:s>", (c, a) => a[0] is string s ? Encoding.UTF8.GetString(Convert.FromBase64String(s)) : null);
        Add(lib, "encodeUrlComponent", "<s-:s>", (c, a) => a[0] is string s ? UrlEncode(s, "-_.!~*'()", c) : null);
        Add(lib, "encodeUrl", "<s-:s>", (c, a) => a[0] is string s ? UrlEncode(s, "-_.!~*'();/?:@&=+$,#", c) : null);
        Add(lib, "decodeUrlComponent", "<s-:s>", (c, a) => a[0] is string s ? UrlDecode(s, "", c) : null);
        Add(lib, "decodeUrl", "<s-:s>", (c, a) => a[0] is string s ? UrlDecode(s, ";/?:@&=+$,#", c) : null);
        Add(lib, "formatNumber", "<n-so?:s>", (c, a) => a[0] is double d ? FormatNumberPicture(d, (string)a[1]!, Arg(a, 2) as JObject, c) : null);
        Add(lib, "formatBase", "<n-n?:s>", (c, a) => a[0] is double d ? FormatBase(d, Arg(a, 1) as double?, c) : null);
        Add(lib, "formatInteger", "<n-s:s>", (c, a) => a[0] is double d ? FormatInteger(d, (string)a[1]!, c) : null);
        Add(lib, "parseInteger", "<s-s:n>", (c, a) => a[0] is string s ? ParseInteger(s, (string)a[1]!, c) : null);
        // numbers
        Add(lib, "number", "<(nsb)-:n>", (c, a) => ToNumber(a[0], c));
        Add(lib, "floor", "<n-:n>", (c, a) => a[0] is double d ? Math.Floor(d) : null);
        Add(lib, "ceil", "<n-:n>", (c, a) => a[0] is double d ? Math.Ceiling(d) : null);
        Add(lib, "round", "<n-n?:n>", (c, a) => a[0] is double d ? Round(d, Arg(a, 1) is double p ? (int)p : 0) : null);
        Add(lib, "abs", "<n-:n>", (c, a) => a[0] is double d ? Math.Abs(d) : null);
        Add(lib, "sqrt", "<n-:n>", (c, a) =>
        {
            if (a[0] is not double d) return null;
            if (d < 0) throw c.Error("D3060", d);
            return Math.Sqrt(d);
        });
        Add(lib, "power", "<n-n:n>", (c, a) =>
        {
            if (a[0] is not double b) return null;
            var r = Math.Pow(b, (double)a[1]!);
            if (!double.IsFinite(r)) throw c.Error("D3061", b, value2: a[1]);
            return r;
        });
        // Step Functions' $random takes an optional seed (the same seed, the same number).
        Add(lib, "random", "<n?:n>", (c, a) => Arg(a, 0) is double seed ? new Random((int)(long)seed).NextDouble() : c.Env.Context.Random.NextDouble());
        // booleans
        Add(lib, "boolean", "<x-:b>", (c, a) => Values.Boolean(a[0]));
        Add(lib, "not", "<x-:b>", (c, a) => a[0] is null ? null : !Values.Truthy(a[0]));
        Add(lib, "exists", "<x:b>", (c, a) => Arg(a, 0) is not null);
        // arrays
        Add(lib, "append", "<xx:a>", (c, a) => Values.Append(Arg(a, 0), Arg(a, 1)));
        Add(lib, "reverse", "<a:a>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            if (arr.Count <= 1) return arr;
            var r = new JArray(arr);
            r.Reverse();
            return r;
        });
        Add(lib, "shuffle", "<a:a>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            if (arr.Count <= 1) return arr;
            var r = new JArray(arr);
            for (var i = r.Count - 1; i > 0; i--)
            {
                var j = c.Env.Context.Random.Next(i + 1);
                (r[i], r[j]) = (r[j], r[i]);
            }
            return r;
        });
        Add(lib, "distinct", "<x:x>", (c, a) =>
        {
            if (Arg(a, 0) is not JArray arr) return Arg(a, 0);
            if (arr.Count <= 1) return arr;
            var r = new JArray { Sequence = arr.Sequence };
            foreach (var x in arr)
                if (!r.Any(y => Values.DeepEquals(x, y))) r.Add(x);
            return r;
        });
        Add(lib, "sort", "<af?:a>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            if (arr.Count <= 1) return arr;
            Func<object?, object?, bool> swap;
            if (Arg(a, 1) is JFunction f) swap = (x, y) => Values.Truthy(c.Call(f, x, y));
            else
            {
                if (Values.IsArrayOfNumbers(arr)) swap = (x, y) => (double)x! > (double)y!;
                else if (Values.IsArrayOfStrings(arr)) swap = (x, y) => string.CompareOrdinal((string)x!, (string)y!) > 0;
                else throw c.Error("D3070");
            }
            return new JArray(Evaluator.MergeSort(arr, swap));
        });
        Add(lib, "zip", "<a+>", (c, a) =>
        {
            var arrays = a.Select(x => x as JArray ?? []).ToList();
            var n = arrays.Count == 0 ? 0 : arrays.Min(x => x.Count);
            var r = new JArray();
            for (var i = 0; i < n; i++) r.Add(new JArray(arrays.Select(x => x[i])));
            return r;
        });
        // objects
        Add(lib, "keys", "<x-:a<s>>", (c, a) => Keys(a[0]));
        Add(lib, "lookup", "<x-s:x>", (c, a) => Evaluator.Lookup(a[0], (string)a[1]!));
        Add(lib, "spread", "<x-:a<o>>", (c, a) => Spread(a[0]));
        Add(lib, "merge", "<a<o>:o>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var r = new JObject();
            foreach (var o in arr)
                foreach (var (k, v) in (JObject)o!) r[k] = v;
            return r;
        });
        Add(lib, "sift", "<o-f?:o>", (c, a) =>
        {
            if (a[0] is not JObject o) return null;
            var f = (JFunction)a[1]!;
            var r = new JObject();
            foreach (var (k, v) in o)
                if (Values.Truthy(c.CallHof(f, v, k, o))) r[k] = v;
            return r.Count == 0 ? null : r;
        });
        Add(lib, "each", "<o-f:a>", (c, a) =>
        {
            if (a[0] is not JObject o) return null;
            var f = (JFunction)a[1]!;
            var r = JArray.Seq();
            foreach (var (k, v) in o)
            {
                var x = c.CallHof(f, v, k, o);
                if (x is not null) r.Add(x);
            }
            return r;
        });
        Add(lib, "error", "<s?:x>", (c, a) => throw c.Error("D3137", message: Arg(a, 0) as string ?? "$error() function evaluated"));
        Add(lib, "assert", "<bs?:x>", (c, a) =>
        {
            if (a[0] is not true) throw c.Error("D3141", message: Arg(a, 1) as string ?? "$assert() statement failed");
            return null;
        });
        Add(lib, "type", "<x:s>", (c, a) => Arg(a, 0) is null ? null : Values.TypeName(a[0]));
        Add(lib, "clone", "<(oa)-:o>", (c, a) => Values.DeepClone(a[0]));
        // higher-order
        Add(lib, "map", "<af>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var f = (JFunction)a[1]!;
            var r = JArray.Seq();
            for (var i = 0; i < arr.Count; i++)
            {
                var x = c.CallHof(f, arr[i], (double)i, arr);
                if (x is not null) r.Add(x);
            }
            return r;
        });
        Add(lib, "filter", "<af>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var f = (JFunction)a[1]!;
            var r = JArray.Seq();
            for (var i = 0; i < arr.Count; i++)
                if (Values.Truthy(c.CallHof(f, arr[i], (double)i, arr))) r.Add(arr[i]);
            return r;
        });
        Add(lib, "single", "<af?>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var f = Arg(a, 1) as JFunction;
            var found = false;
            object? result = null;
            for (var i = 0; i < arr.Count; i++)
            {
                if (f is not null && !Values.Truthy(c.CallHof(f, arr[i], (double)i, arr))) continue;
                if (found) throw c.Error("D3138");
                found = true;
                result = arr[i];
            }
            if (!found) throw c.Error("D3139");
            return result;
        });
        Add(lib, "reduce", "<afj?:j>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var f = (JFunction)a[1]!;
            if (f.Arity < 2) throw c.Error("D3050");
            object? result;
            int index;
            if (Arg(a, 2) is null && arr.Count > 0)
            {
                result = arr[0];
                index = 1;
            }
            else
            {
                result = Arg(a, 2);
                index = 0;
            }
            for (; index < arr.Count; index++)
            {
                var args = new List<object?> { result, arr[index] };
                if (f.Arity >= 3) args.Add((double)index);
                if (f.Arity >= 4) args.Add(arr);
                result = Evaluator.Apply(f, args, null, c.Env, c.Name, c.Position);
            }
            return result;
        });
        AddDateTime(lib);
        AddStepFunctions(lib);
        return lib;
    }

    // ---- Step Functions' additions ----

    private static void AddStepFunctions(Dictionary<string, Builtin> lib)
    {
        Add(lib, "partition", "<an:a>", (c, a) =>
        {
            if (a[0] is not JArray arr) return null;
            var size = (double)a[1]!;
            if (size < 1 || Math.Floor(size) != size) throw c.Error("D3137", message: "Chunk size must be a positive integer: " + Values.FormatNumber(size));
            var r = new JArray();
            for (var i = 0; i < arr.Count; i += (int)size) r.Add(new JArray(arr.Skip(i).Take((int)size)));
            return r;
        });
        Add(lib, "range", "<nnn?:a>", (c, a) =>
        {
            double start = (double)a[0]!, end = (double)a[1]!, step = Arg(a, 2) as double? ?? 1;
            if (step == 0) throw c.Error("D3137", message: "The step of $range must not be zero");
            var r = new JArray();
            for (var v = start; step > 0 ? v <= end : v >= end; v += step)
            {
                r.Add(v);
                if (r.Count > 1_000_000) throw c.Error("D2014", (end - start) / step);
            }
            return r;
        });
        Add(lib, "hash", "<s-s:s>", (c, a) =>
        {
            if (a[0] is not string s) return null;
            var bytes = Encoding.UTF8.GetBytes(s);
            var digest = (string)a[1]! switch
            {
                "MD5" => MD5.HashData(bytes),
                "SHA-1" => SHA1.HashData(bytes),
                "SHA-256" => SHA256.HashData(bytes),
                "SHA-384" => SHA384.HashData(bytes),
                "SHA-512" => SHA512.HashData(bytes),
                var other => throw c.Error("D3137", message: "Unsupported hash algorithm: " + other + " (MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"),
            };
            return Convert.ToHexStringLower(digest);
        });
        Add(lib, "uuid", "<:s>", (c, a) =>
        {
            Span<byte> b = stackalloc byte[16];
            c.Env.Context.Random.NextBytes(b);
            b[6] = (byte)((b[6] & 0x0F) | 0x40);
            b[8] = (byte)((b[8] & 0x3F) | 0x80);
            var hex = Convert.ToHexStringLower(b);
            return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
        });
        Add(lib, "parse", "<s-:j>", (c, a) =>
        {
            if (a[0] is not string s) return null;
            try
            {
                return Values.FromNode(System.Text.Json.Nodes.JsonNode.Parse(s));
            }
            catch (System.Text.Json.JsonException e)
            {
                throw c.Error("D3137", message: "Unable to parse JSON: " + e.Message);
            }
        });
    }

    // ---- helpers ----

    public static string ToStringValue(object? arg, bool pretty, int position) => arg switch
    {
        string s => s,
        JFunction => "",
        double d when !double.IsFinite(d) => throw JsonataErrors.Create("D3001", position, value: d),
        JArray { OuterWrapper: true } w => Values.Stringify(w[0], pretty),
        _ => Values.Stringify(arg, pretty),
    };

    public static List<string> CodePoints(string s)
    {
        var list = new List<string>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                list.Add(s.Substring(i, 2));
                i++;
            }
            else list.Add(s[i].ToString());
        }
        return list;
    }

    // JavaScript's Array#slice: negative positions count from the end; fractions truncate.
    private static string Slice(List<string> chars, double start, double? end)
    {
        var len = chars.Count;
        var s = (int)Math.Clamp(Math.Truncate(start), -len - 1L, len + 1L);
        s = s < 0 ? Math.Max(len + s, 0) : Math.Min(s, len);
        var e = len;
        if (end is double ed)
        {
            var ei = (int)Math.Clamp(Math.Truncate(ed), -len - 1L, len + 1L);
            e = ei < 0 ? Math.Max(len + ei, 0) : Math.Min(ei, len);
        }
        return e <= s ? "" : string.Concat(chars.Skip(s).Take(e - s));
    }

    private static string Substring(string str, double start, double? length)
    {
        var chars = CodePoints(str);
        if (chars.Count + start < 0) start = 0;
        if (length is double l)
        {
            if (l <= 0) return "";
            var end = start >= 0 ? start + l : chars.Count + start + l;
            return Slice(chars, start, end);
        }
        return Slice(chars, start, null);
    }

    private static string Trim(string s)
    {
        var r = WhitespaceRun().Replace(s, " ");
        if (r.StartsWith(' ')) r = r[1..];
        if (r.EndsWith(' ')) r = r[..^1];
        return r;
    }

    [GeneratedRegex("[ \t\n\r]+")]
    private static partial Regex WhitespaceRun();

    /// <summary>The longest string an expression may build (4 MiB characters, sixteen times Step
    /// Functions' 256 KB payload limit): past it an expression fails instead of exhausting memory.</summary>
    public const int MaxStringLength = 4 * 1024 * 1024;

    private static string Pad(string s, double width, string? chars)
    {
        if (Math.Abs(width) > MaxStringLength)
            throw new JsonataException("D3137", $"$pad's width {width} is longer than {MaxStringLength} characters", 0);
        if (string.IsNullOrEmpty(chars)) chars = " ";
        var padLength = (int)Math.Abs(width) - CodePoints(s).Count;
        if (padLength <= 0) return s;
        var sb = new StringBuilder();
        for (var i = 0; i < padLength; i++) sb.Append(chars);
        var padding = chars.Length > 1 ? Substring(sb.ToString(), 0, padLength) : sb.ToString();
        return width > 0 ? s + padding : padding + s;
    }

    /// <summary>The successive matches as JSONata's regex closure yields them: a zero-length match after the first is D1004.</summary>
    public static IEnumerable<System.Text.RegularExpressions.Match> Matches(Regex re, string s, CallContext c)
    {
        System.Text.RegularExpressions.Match m;
        try
        {
            m = re.Match(s, 0);
        }
        catch (RegexMatchTimeoutException)
        {
            throw c.Error("D1004");
        }
        if (!m.Success) yield break;
        yield return m;
        var last = m.Index + m.Length;
        while (last < s.Length)
        {
            m = re.Match(s, last);
            if (!m.Success) yield break;
            if (m.Length == 0) throw c.Error("D1004", re.ToString());
            yield return m;
            last = m.Index + m.Length;
        }
    }

    public static JObject MatchObject(System.Text.RegularExpressions.Match m)
    {
        var groups = new JArray();
        for (var i = 1; i < m.Groups.Count; i++) groups.Add(m.Groups[i].Success ? m.Groups[i].Value : "");
        return new JObject { ["match"] = m.Value, ["index"] = (double)m.Index, ["groups"] = groups };
    }

    private static object? Split(string s, object? separator, double? limit, CallContext c)
    {
        if (limit < 0) throw c.Error("D3020", limit);
        var result = new JArray();
        if (limit is not null && limit == 0) return result;
        var max = limit is double l ? (int)l : int.MaxValue;
        if (separator is string sep)
        {
            if (sep.Length == 0)
                foreach (var ch in s)
                {
                    if (result.Count >= max) break;
                    result.Add(ch.ToString());
                }
            else
                foreach (var part in s.Split(sep))
                {
                    if (result.Count >= max) break;
                    result.Add(part);
                }
            return result;
        }
        var re = ((RegexFunction)separator!).Regex;
        var start = 0;
        var count = 0;
        foreach (var m in Matches(re, s, c))
        {
            if (count >= max) break;
            result.Add(s[start..m.Index]);
            start = m.Index + m.Length;
            count++;
        }
        if (count < max) result.Add(s[start..]);
        return result;
    }

    private static object? Match(string s, object? pattern, double? limit, CallContext c)
    {
        if (limit < 0) throw c.Error("D3040", limit);
        var result = JArray.Seq();
        if (limit is not null && limit == 0) return result;
        var max = limit is double l ? (int)l : int.MaxValue;
        foreach (var m in Matches(((RegexFunction)pattern!).Regex, s, c))
        {
            if (result.Count >= max) break;
            result.Add(MatchObject(m));
        }
        return result;
    }

    private static string Replace(string s, object? pattern, object? replacement, double? limit, CallContext c)
    {
        if (pattern is "") throw c.Error("D3010");
        if (limit < 0) throw c.Error("D3011", limit);
        if (limit is not null && limit == 0) return s;
        var max = limit is double l ? (int)l : int.MaxValue;
        var sb = new StringBuilder();
        var position = 0;
        var count = 0;
        if (pattern is string p)
        {
            var index = s.IndexOf(p, StringComparison.Ordinal);
            while (index >= 0 && count < max)
            {
                sb.Append(s, position, index - position);
                sb.Append(replacement as string ?? ToStringValue(replacement, false, c.Position));
                position = index + p.Length;
                count++;
                index = s.IndexOf(p, position, StringComparison.Ordinal);
            }
            sb.Append(s, position, s.Length - position);
            return sb.ToString();
        }
        foreach (var m in Matches(((RegexFunction)pattern!).Regex, s, c))
        {
            if (count >= max) break;
            sb.Append(s, position, m.Index - position);
            var with = replacement is string r ? (object?)Substitute(r, m) : c.Call((JFunction)replacement!, MatchObject(m));
            if (with is not string ws) throw c.Error("D3012", with);
            sb.Append(ws);
            position = m.Index + m.Length;
            count++;
        }
        sb.Append(s, position, s.Length - position);
        return sb.ToString();
    }

    // $0 is the match, $n a group ($ followed by no group number is a literal $, $$ too).
    private static string Substitute(string replacement, System.Text.RegularExpressions.Match m)
    {
        var groupCount = m.Groups.Count - 1;
        var sb = new StringBuilder();
        var position = 0;
        var index = replacement.IndexOf('$', position);
        while (index != -1 && position < replacement.Length)
        {
            sb.Append(replacement, position, index - position);
            position = index + 1;
            var next = position < replacement.Length ? replacement[position] : '\0';
            if (next == '$')
            {
                sb.Append('$');
                position++;
            }
            else if (next == '0')
            {
                sb.Append(m.Value);
                position++;
            }
            else
            {
                var maxDigits = groupCount == 0 ? 1 : (int)Math.Floor(Math.Log10(groupCount)) + 1;
                var digits = TakeDigits(replacement, position, maxDigits);
                if (maxDigits > 1 && digits.Length > 0 && int.Parse(digits, CultureInfo.InvariantCulture) > groupCount)
                    digits = TakeDigits(replacement, position, maxDigits - 1);
                if (digits.Length > 0)
                {
                    var g = int.Parse(digits, CultureInfo.InvariantCulture);
                    if (groupCount > 0 && g >= 1 && g <= groupCount && m.Groups[g].Success) sb.Append(m.Groups[g].Value);
                    position += g.ToString(CultureInfo.InvariantCulture).Length;
                }
                else sb.Append('$');
            }
            index = replacement.IndexOf('$', position);
        }
        if (position < replacement.Length) sb.Append(replacement, position, replacement.Length - position);
        return sb.ToString();
    }

    private static string TakeDigits(string s, int start, int max)
    {
        var end = start;
        while (end < s.Length && end - start < max && char.IsAsciiDigit(s[end])) end++;
        return s[start..end];
    }

    private static object? Eval(string? expression, object? input, CallContext c)
    {
        if (expression is null) return null;
        Node ast;
        try
        {
            ast = Parser.Parse(expression);
        }
        catch (JsonataException e)
        {
            throw c.Error("D3120", e.Message);
        }
        try
        {
            if (input is JArray { Sequence: false } arr) input = Wrap(arr);
            return Evaluator.Evaluate(ast, input, c.Env);
        }
        catch (JsonataException e)
        {
            throw c.Error("D3121", e.Message);
        }
    }

    public static JArray Wrap(JArray array)
    {
        var wrapper = new JArray { Sequence = true, OuterWrapper = true };
        wrapper.Add(array);
        return wrapper;
    }

    private static string UrlEncode(string s, string unreserved, CallContext c)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            var ch = s[i];
            if (char.IsAsciiLetterOrDigit(ch) || unreserved.Contains(ch))
            {
                sb.Append(ch);
                continue;
            }
            string unit;
            if (char.IsHighSurrogate(ch))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) throw c.Error("D3140", s);
                unit = s.Substring(i, 2);
                i++;
            }
            else if (char.IsLowSurrogate(ch)) throw c.Error("D3140", s);
            else unit = ch.ToString();
            foreach (var b in Encoding.UTF8.GetBytes(unit)) sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string UrlDecode(string s, string keepEncoded, CallContext c)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '%')
            {
                sb.Append(s[i]);
                continue;
            }
            var start = i;
            bytes.Clear();
            while (i < s.Length && s[i] == '%')
            {
                if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2])) throw c.Error("D3140", s);
                bytes.Add(byte.Parse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 3;
                if (bytes[0] < 0x80) break;
                var need = bytes[0] >= 0xF0 ? 4 : bytes[0] >= 0xE0 ? 3 : 2;
                if (bytes.Count == need) break;
            }
            i--;
            string decoded;
            try
            {
                decoded = new UTF8Encoding(false, true).GetString([.. bytes]);
            }
            catch (DecoderFallbackException)
            {
                throw c.Error("D3140", s);
            }
            if (decoded.Length == 1 && keepEncoded.Contains(decoded[0])) sb.Append(s, start, i - start + 1);
            else sb.Append(decoded);
        }
        return sb.ToString();
    }

    private static object? ToNumber(object? arg, CallContext c)
    {
        switch (arg)
        {
            case null: return null;
            case double d: return d;
            case bool b: return b ? 1.0 : 0.0;
            case string s:
                if (DecimalNumber().IsMatch(s))
                {
                    var v = double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
                    if (double.IsFinite(v)) return v;
                }
                else if (s.Length > 2 && s[0] == '0')
                {
                    var radix = char.ToLowerInvariant(s[1]) switch { 'x' => 16, 'o' => 8, 'b' => 2, _ => 0 };
                    if (radix > 0)
                    {
                        try
                        {
                            return (double)Convert.ToInt64(s[2..], radix);
                        }
                        catch (FormatException)
                        {
                        }
                        catch (ArgumentException)
                        {
                        }
                        catch (OverflowException)
                        {
                        }
                    }
                }
                throw c.Error("D3030", s);
            default: throw c.Error("D3030", arg);
        }
    }

    [GeneratedRegex(@"^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$")]
    private static partial Regex DecimalNumber();

    /// <summary>Round half to even, at a decimal position (shifted as text, as JSONata does, to avoid binary noise).</summary>
    public static double Round(double arg, int precision)
    {
        if (precision != 0) arg = Shift(arg, precision);
        var result = Math.Floor(arg + 0.5);
        var diff = result - arg;
        if (Math.Abs(diff) == 0.5 && Math.Abs(result % 2) == 1) result -= 1;
        if (precision != 0) result = Shift(result, -precision);
        return result == 0 ? 0 : result;
    }

    private static double Shift(double v, int places)
    {
        var text = Values.FormatNumber(v);
        var e = text.IndexOf('e');
        var mantissa = e >= 0 ? text[..e] : text;
        var exponent = (e >= 0 ? int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0) + places;
        return double.Parse(mantissa + "e" + exponent.ToString(CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static string FormatBase(double value, double? radix, CallContext c)
    {
        var r = radix ?? 10;
        if (r < 2 || r > 36) throw c.Error("D3100", r);
        var n = (long)Round(value, 0);
        if (n == 0) return "0";
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var neg = n < 0;
        var u = neg ? (ulong)(-n) : (ulong)n;
        var sb = new StringBuilder();
        while (u > 0)
        {
            sb.Insert(0, digits[(int)(u % (ulong)r)]);
            u /= (ulong)r;
        }
        if (neg) sb.Insert(0, '-');
        return sb.ToString();
    }

    private static JArray Keys(object? arg)
    {
        var result = JArray.Seq();
        if (arg is JArray arr)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in arr)
                if (item is JObject o)
                    foreach (var k in o.Keys)
                        if (seen.Add(k)) result.Add(k);
        }
        else if (arg is JObject o)
            foreach (var k in o.Keys) result.Add(k);
        return result;
    }

    private static object? Spread(object? arg)
    {
        if (arg is JArray arr)
        {
            object? result = JArray.Seq();
            foreach (var item in arr) result = Values.Append(result, Spread(item));
            return result;
        }
        if (arg is JObject o)
        {
            var result = JArray.Seq();
            foreach (var (k, v) in o) result.Add(new JObject { [k] = v });
            return result;
        }
        return arg;
    }
}
