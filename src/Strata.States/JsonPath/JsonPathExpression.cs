using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.States.JsonPath;

/// <summary>A compiled JSONPath as Step Functions reads it: <c>$</c> (the input), <c>$$</c> (the context
/// object) or <c>$name</c> (a variable), then <c>.a</c>, <c>['a']</c>, <c>[0]</c>, <c>[*]</c>, <c>[1:3]</c>,
/// <c>[0,2]</c>, <c>..a</c> and <c>[?(@.x &gt; 1)]</c>. A path without wildcards, slices, unions, filters or
/// descent is definite: it names one value (or fails); any other selects a list.</summary>
internal sealed class JsonPathExpression
{
    private static readonly ConcurrentDictionary<string, JsonPathExpression> Cache = new(StringComparer.Ordinal);

    private readonly Segment[] _segments;

    private JsonPathExpression(string text, PathRoot root, string? variable, Segment[] segments)
    {
        Text = text;
        Root = root;
        Variable = variable;
        _segments = segments;
        IsDefinite = segments.All(s => s.Kind is SegmentKind.Name or SegmentKind.Index);
    }

    public string Text { get; }
    public PathRoot Root { get; }
    public string? Variable { get; }
    public bool IsDefinite { get; }

    /// <summary>A reference path (ResultPath): only names and indexes, no variable or context root.</summary>
    public bool IsReferencePath => IsDefinite && Root == PathRoot.Input;

    public static JsonPathExpression Compile(string text)
    {
        if (Cache.TryGetValue(text, out var cached)) return cached;
        var compiled = new Parser(text).Parse();
        if (Cache.Count < 100_000) Cache[text] = compiled;
        return compiled;
    }

    public static bool TryCompile(string text, out JsonPathExpression? path, out string? error)
    {
        try
        {
            path = Compile(text);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            path = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>The normalized form AWS prints in errors: <c>$['a'][0]</c>.</summary>
    public string Normalized
    {
        get
        {
            var sb = new StringBuilder(Root switch { PathRoot.Context => "$$", PathRoot.Variable => "$" + Variable, _ => "$" });
            foreach (var s in _segments) sb.Append(s.Describe());
            return sb.ToString();
        }
    }

    /// <summary>Selects from the root. A definite path answers its one value (found=false when absent);
    /// an indefinite one answers an array of every match (found=true, possibly empty).</summary>
    public bool TrySelect(JsonNode? root, out JsonNode? value)
    {
        if (IsDefinite)
        {
            var current = root;
            foreach (var s in _segments)
            {
                if (!s.TryStep(current, out current))
                {
                    value = null;
                    return false;
                }
            }
            value = current;
            return true;
        }
        var matches = new List<JsonNode?> { root };
        foreach (var s in _segments)
        {
            var next = new List<JsonNode?>();
            foreach (var m in matches) s.Select(m, next);
            matches = next;
        }
        var array = new JsonArray();
        foreach (var m in matches) array.Add(Json.Detach(m));
        value = array;
        return true;
    }

    /// <summary>Writes <paramref name="value"/> at this reference path inside <paramref name="root"/> (already a
    /// private copy), creating objects on the way; false when a step crosses a non-object.</summary>
    public bool TrySet(ref JsonNode? root, JsonNode? value)
    {
        if (_segments.Length == 0)
        {
            root = value;
            return true;
        }
        root ??= new JsonObject();
        var current = root;
        for (var i = 0; i < _segments.Length; i++)
        {
            var s = _segments[i];
            var last = i == _segments.Length - 1;
            if (s.Kind == SegmentKind.Name)
            {
                if (current is not JsonObject obj) return false;
                if (last)
                {
                    obj[s.Name!] = Json.Detach(value);
                    return true;
                }
                if (!obj.TryGetPropertyValue(s.Name!, out var child) || child is null)
                {
                    child = new JsonObject();
                    obj[s.Name!] = child;
                }
                current = child;
            }
            else
            {
                if (current is not JsonArray arr || s.Index < 0 || s.Index >= arr.Count) return false;
                if (last)
                {
                    arr[s.Index] = Json.Detach(value);
                    return true;
                }
                current = arr[s.Index] ??= new JsonObject();
            }
        }
        return true;
    }

    private enum SegmentKind { Name, Index, Wildcard, Slice, Union, Descendant, Filter }

    private sealed class Segment
    {
        public SegmentKind Kind;
        public string? Name;
        public int Index;
        public int? Start, End;
        public int Step = 1;
        public object[]? Members;
        public Segment? Inner;
        public FilterExpression? Filter;

        public string Describe() => Kind switch
        {
            SegmentKind.Name => "['" + Name + "']",
            SegmentKind.Index => "[" + Index.ToString(CultureInfo.InvariantCulture) + "]",
            SegmentKind.Wildcard => "[*]",
            SegmentKind.Slice => "[" + Start + ":" + End + (Step != 1 ? ":" + Step : "") + "]",
            SegmentKind.Union => "[" + string.Join(",", Members!.Select(m => m is string n ? "'" + n + "'" : m.ToString())) + "]",
            SegmentKind.Descendant => ".." + (Inner!.Kind == SegmentKind.Wildcard ? "*" : Inner.Describe()),
            _ => "[?(" + Filter!.Text + ")]",
        };

        public bool TryStep(JsonNode? node, out JsonNode? child)
        {
            child = null;
            if (Kind == SegmentKind.Name)
                return node is JsonObject obj && obj.TryGetPropertyValue(Name!, out child);
            if (node is not JsonArray arr) return false;
            var i = Index < 0 ? arr.Count + Index : Index;
            if (i < 0 || i >= arr.Count) return false;
            child = arr[i];
            return true;
        }

        public void Select(JsonNode? node, List<JsonNode?> into)
        {
            switch (Kind)
            {
                case SegmentKind.Name:
                case SegmentKind.Index:
                    if (TryStep(node, out var c)) into.Add(c);
                    break;
                case SegmentKind.Wildcard:
                    if (node is JsonObject o) foreach (var kv in o) into.Add(kv.Value);
                    else if (node is JsonArray a) foreach (var e in a) into.Add(e);
                    break;
                case SegmentKind.Slice:
                    if (node is JsonArray sa)
                    {
                        var n = sa.Count;
                        int Norm(int v) => v < 0 ? Math.Max(0, n + v) : Math.Min(n, v);
                        var start = Norm(Start ?? 0);
                        var end = Norm(End ?? n);
                        for (var i = start; i < end; i += Math.Max(1, Step)) into.Add(sa[i]);
                    }
                    break;
                case SegmentKind.Union:
                    foreach (var m in Members!)
                    {
                        if (m is string name && node is JsonObject uo && uo.TryGetPropertyValue(name, out var v)) into.Add(v);
                        else if (m is int idx && node is JsonArray ua)
                        {
                            var i = idx < 0 ? ua.Count + idx : idx;
                            if (i >= 0 && i < ua.Count) into.Add(ua[i]);
                        }
                    }
                    break;
                case SegmentKind.Descendant:
                    Descend(node, into);
                    break;
                case SegmentKind.Filter:
                    if (node is JsonArray fa) { foreach (var e in fa) if (Filter!.Matches(e)) into.Add(e); }
                    else if (node is JsonObject fo) { foreach (var kv in fo) if (Filter!.Matches(kv.Value)) into.Add(kv.Value); }
                    break;
            }
        }

        private void Descend(JsonNode? node, List<JsonNode?> into)
        {
            Inner!.Select(node, into);
            if (node is JsonObject o) foreach (var kv in o) Descend(kv.Value, into);
            else if (node is JsonArray a) foreach (var e in a) Descend(e, into);
        }
    }

    /// <summary>A filter: <c>@.path</c> (present), or <c>@.path OP literal</c>, joined by &amp;&amp; and ||.</summary>
    private sealed class FilterExpression
    {
        public required string Text;
        public required List<List<(JsonPathExpression Path, string? Op, JsonNode? Literal)>> AnyOfAllOf;

        public bool Matches(JsonNode? item) => AnyOfAllOf.Any(all => all.All(t => Test(t, item)));

        private static bool Test((JsonPathExpression Path, string? Op, JsonNode? Literal) t, JsonNode? item)
        {
            if (!t.Path.TrySelect(item, out var v)) return false;
            if (t.Op is null) return true;
            var cmp = Json.Compare(v, t.Literal);
            return t.Op switch
            {
                "==" => Json.DeepEquals(v, t.Literal),
                "!=" => !Json.DeepEquals(v, t.Literal),
                "<" => cmp is < 0,
                "<=" => cmp is <= 0,
                ">" => cmp is > 0,
                ">=" => cmp is >= 0,
                _ => false,
            };
        }
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        private FormatException Error(string why) => new($"Invalid JSONPath '{text}': {why}");

        public JsonPathExpression Parse()
        {
            if (text.Length == 0 || text[0] != '$') throw Error("a path starts with '$'");
            _pos = 1;
            var root = PathRoot.Input;
            string? variable = null;
            if (_pos < text.Length && text[_pos] == '$')
            {
                root = PathRoot.Context;
                _pos++;
            }
            else if (_pos < text.Length && (char.IsLetter(text[_pos]) || text[_pos] == '_'))
            {
                var start = _pos;
                while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                root = PathRoot.Variable;
                variable = text[start.._pos];
            }
            var segments = ParseSegments('\0');
            return new JsonPathExpression(text, root, variable, [.. segments]);
        }

        private List<Segment> ParseSegments(char stop)
        {
            var segments = new List<Segment>();
            while (_pos < text.Length && text[_pos] != stop)
            {
                var c = text[_pos];
                if (c == '.')
                {
                    _pos++;
                    if (_pos < text.Length && text[_pos] == '.')
                    {
                        _pos++;
                        Segment inner;
                        if (_pos < text.Length && text[_pos] == '[') inner = ParseBracket();
                        else inner = ParseDotName();
                        segments.Add(new Segment { Kind = SegmentKind.Descendant, Inner = inner });
                    }
                    else segments.Add(ParseDotName());
                }
                else if (c == '[') segments.Add(ParseBracket());
                else if (stop != '\0' && (c == ' ' || c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' || c == ')')) break;
                else throw Error($"unexpected '{c}' at {_pos}");
            }
            return segments;
        }

        private Segment ParseDotName()
        {
            if (_pos < text.Length && text[_pos] == '*')
            {
                _pos++;
                return new Segment { Kind = SegmentKind.Wildcard };
            }
            var start = _pos;
            while (_pos < text.Length && text[_pos] is not ('.' or '[' or ' ' or '=' or '!' or '<' or '>' or '&' or '|' or ')')) _pos++;
            if (_pos == start) throw Error("a name is missing after '.'");
            return new Segment { Kind = SegmentKind.Name, Name = text[start.._pos] };
        }

        private Segment ParseBracket()
        {
            _pos++; // [
            SkipSpaces();
            if (_pos >= text.Length) throw Error("unclosed '['");
            Segment seg;
            if (text[_pos] == '*')
            {
                _pos++;
                seg = new Segment { Kind = SegmentKind.Wildcard };
            }
            else if (text[_pos] == '?') seg = ParseFilter();
            else
            {
                var members = new List<object>();
                var slice = false;
                int?[] parts = [null, null, null];
                var part = 0;
                while (true)
                {
                    SkipSpaces();
                    if (_pos >= text.Length) throw Error("unclosed '['");
                    var c = text[_pos];
                    if (c is '\'' or '"') members.Add(ParseQuoted());
                    else if (c == '-' || char.IsDigit(c))
                    {
                        var n = ParseInt();
                        if (slice) parts[part] = n;
                        else members.Add(n);
                    }
                    else if (c == ':')
                    {
                        if (!slice)
                        {
                            slice = true;
                            if (members.Count == 1 && members[0] is int first) parts[0] = first;
                            else if (members.Count > 0) throw Error("bad slice");
                            members.Clear();
                        }
                        part++;
                        if (part > 2) throw Error("bad slice");
                        _pos++;
                        continue;
                    }
                    else if (c == ']') break;
                    else throw Error($"unexpected '{c}' at {_pos}");
                    SkipSpaces();
                    if (_pos < text.Length && text[_pos] == ',') { _pos++; continue; }
                    if (_pos < text.Length && (text[_pos] == ']' || text[_pos] == ':')) continue;
                    throw Error("unclosed '['");
                }
                if (slice) seg = new Segment { Kind = SegmentKind.Slice, Start = parts[0], End = parts[1], Step = parts[2] ?? 1 };
                else if (members.Count == 1)
                    seg = members[0] is string name ? new Segment { Kind = SegmentKind.Name, Name = name } : new Segment { Kind = SegmentKind.Index, Index = (int)members[0] };
                else if (members.Count == 0) throw Error("empty '[]'");
                else seg = new Segment { Kind = SegmentKind.Union, Members = [.. members] };
            }
            SkipSpaces();
            if (_pos >= text.Length || text[_pos] != ']') throw Error("unclosed '['");
            _pos++;
            return seg;
        }

        private Segment ParseFilter()
        {
            _pos++; // ?
            if (_pos >= text.Length || text[_pos] != '(') throw Error("a filter is '[?(...)]'");
            _pos++;
            var start = _pos;
            var any = new List<List<(JsonPathExpression, string?, JsonNode?)>> { new() };
            while (true)
            {
                SkipSpaces();
                if (_pos >= text.Length || text[_pos] != '@') throw Error("a filter term starts with '@'");
                var pathStart = _pos;
                _pos++;
                ParseSegments(')');
                var path = new Parser("$" + text[(pathStart + 1).._pos]).Parse();
                SkipSpaces();
                string? op = null;
                JsonNode? literal = null;
                foreach (var candidate in new[] { "==", "!=", "<=", ">=", "<", ">" })
                {
                    if (string.CompareOrdinal(text, _pos, candidate, 0, candidate.Length) == 0)
                    {
                        op = candidate;
                        _pos += candidate.Length;
                        SkipSpaces();
                        literal = ParseLiteral();
                        SkipSpaces();
                        break;
                    }
                }
                any[^1].Add((path, op, literal));
                if (string.CompareOrdinal(text, _pos, "&&", 0, 2) == 0) { _pos += 2; continue; }
                if (string.CompareOrdinal(text, _pos, "||", 0, 2) == 0) { _pos += 2; any.Add([]); continue; }
                if (_pos < text.Length && text[_pos] == ')') break;
                throw Error("unclosed filter");
            }
            var filterText = text[start.._pos];
            _pos++; // )
            return new Segment { Kind = SegmentKind.Filter, Filter = new FilterExpression { Text = filterText, AnyOfAllOf = any } };
        }

        private JsonNode? ParseLiteral()
        {
            if (_pos >= text.Length) throw Error("a literal is missing");
            if (text[_pos] is '\'' or '"') return JsonValue.Create(ParseQuoted());
            var start = _pos;
            while (_pos < text.Length && text[_pos] is not (' ' or ')' or '&' or '|')) _pos++;
            var token = text[start.._pos];
            try
            {
                return JsonNode.Parse(token);
            }
            catch (JsonException)
            {
                throw Error($"bad literal '{token}'");
            }
        }

        private string ParseQuoted()
        {
            var quote = text[_pos++];
            var sb = new StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length) _pos++;
                sb.Append(text[_pos++]);
            }
            if (_pos >= text.Length) throw Error("unclosed quote");
            _pos++;
            return sb.ToString();
        }

        private int ParseInt()
        {
            var start = _pos;
            if (text[_pos] == '-') _pos++;
            while (_pos < text.Length && char.IsDigit(text[_pos])) _pos++;
            if (!int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                throw Error("bad index");
            return n;
        }

        private void SkipSpaces()
        {
            while (_pos < text.Length && text[_pos] == ' ') _pos++;
        }
    }
}

internal enum PathRoot { Input, Context, Variable }
