using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Transform;

/// <summary>
/// The JSONPath subset batch transform's InputFilter and OutputFilter accept: <c>$</c>, child
/// names (<c>.name</c>, <c>['a','b']</c>), <c>*</c>, indices (<c>[n]</c>, negative from the end,
/// <c>[0,2]</c>), and slices (<c>[1:]</c>, <c>[:-1]</c>, <c>[a:b]</c>). A CSV row is an array of its
/// fields, so CSV filters are index paths. One step may select several children; the result is
/// then an array of them (a single index or name selects the value itself).
/// </summary>
public sealed class JsonPathFilter
{
    abstract record Step;
    sealed record Names(string[] Keys) : Step;
    sealed record Indices(int[] Values) : Step;
    sealed record Slice(int? Start, int? End) : Step;
    sealed record Wildcard : Step;

    readonly List<Step> _steps;
    public string Expression { get; }

    JsonPathFilter(string expression, List<Step> steps)
    {
        Expression = expression;
        _steps = steps;
    }

    /// <summary>Parses a filter; throws <see cref="FormatException"/> with what is wrong.</summary>
    public static JsonPathFilter Parse(string expression)
    {
        var text = expression.Trim();
        if (!text.StartsWith('$')) throw new FormatException($"a JSONPath filter starts with '$': {expression}");
        var steps = new List<Step>();
        var i = 1;
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                i++;
                var start = i;
                while (i < text.Length && text[i] is not ('.' or '[')) i++;
                var name = text[start..i];
                if (name.Length == 0) throw new FormatException($"an empty name in the JSONPath filter {expression}");
                steps.Add(name == "*" ? new Wildcard() : new Names([name]));
            }
            else if (text[i] == '[')
            {
                var end = text.IndexOf(']', i);
                if (end < 0) throw new FormatException($"an unclosed '[' in the JSONPath filter {expression}");
                steps.Add(Bracket(text[(i + 1)..end].Trim(), expression));
                i = end + 1;
            }
            else throw new FormatException($"unexpected '{text[i]}' in the JSONPath filter {expression}");
        }
        return new JsonPathFilter(expression, steps);
    }

    static Step Bracket(string inner, string expression)
    {
        if (inner == "*") return new Wildcard();
        if (inner.StartsWith('\'') || inner.StartsWith('"'))
        {
            var names = inner.Split(',').Select(n => n.Trim()).Select(n =>
                n.Length >= 2 && (n[0] == '\'' && n[^1] == '\'' || n[0] == '"' && n[^1] == '"') ? n[1..^1]
                    : throw new FormatException($"a badly quoted name in the JSONPath filter {expression}")).ToArray();
            return new Names(names);
        }
        if (inner.Contains(':'))
        {
            var parts = inner.Split(':');
            if (parts.Length != 2) throw new FormatException($"a slice takes start:end in the JSONPath filter {expression}");
            return new Slice(Int(parts[0], expression, optional: true), Int(parts[1], expression, optional: true));
        }
        return new Indices(inner.Split(',').Select(p => Int(p, expression, optional: false)!.Value).ToArray());
    }

    static int? Int(string text, string expression, bool optional)
    {
        text = text.Trim();
        if (text.Length == 0 && optional) return null;
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
            : throw new FormatException($"'{text}' is not an index in the JSONPath filter {expression}");
    }

    /// <summary>Applies the filter; null when the path selects nothing.</summary>
    public JsonNode? Apply(JsonNode? node)
    {
        foreach (var step in _steps)
        {
            if (node is null) return null;
            node = step switch
            {
                Names { Keys.Length: 1 } n => node is JsonObject o && o.TryGetPropertyValue(n.Keys[0], out var v) ? v?.DeepClone() : null,
                Names n => node is JsonObject o ? new JsonObject(n.Keys.Where(o.ContainsKey).Select(k => KeyValuePair.Create(k, o[k]?.DeepClone()))) : null,
                Indices { Values.Length: 1 } x => node is JsonArray a && Index(x.Values[0], a.Count) is { } at ? a[at]?.DeepClone() : null,
                Indices x => node is JsonArray a ? new JsonArray(x.Values.Select(v => Index(v, a.Count)).OfType<int>().Select(at => a[at]?.DeepClone()).ToArray()) : null,
                Slice sl => node is JsonArray a ? new JsonArray(Range(sl, a.Count).Select(at => a[at]?.DeepClone()).ToArray()) : null,
                Wildcard => node switch
                {
                    JsonArray a => new JsonArray(a.Select(c => c?.DeepClone()).ToArray()),
                    JsonObject o => new JsonArray(o.Select(p => p.Value?.DeepClone()).ToArray()),
                    _ => null,
                },
                _ => null,
            };
        }
        return node;
    }

    static int? Index(int index, int count)
    {
        var at = index < 0 ? count + index : index;
        return at >= 0 && at < count ? at : null;
    }

    static IEnumerable<int> Range(Slice slice, int count)
    {
        int Clamp(int v) => Math.Clamp(v < 0 ? count + v : v, 0, count);
        var start = slice.Start is { } s ? Clamp(s) : 0;
        var end = slice.End is { } e ? Clamp(e) : count;
        for (var i = start; i < end; i++) yield return i;
    }
}
