using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Logs;

/// <summary>A filter pattern CloudWatch Logs refuses; the message is AWS's.</summary>
public sealed class InvalidFilterPattern(string message) : DomainError(message);

/// <summary>
/// CloudWatch Logs' filter and pattern syntax, parsed once and matched against each event's
/// message (pure: no I/O, no clock). Four kinds, told apart by the first character:
/// <list type="bullet">
/// <item>terms (<c>ERROR "bad thing" ?WARN -healthcheck</c>): every plain term and quoted phrase
/// must appear (case-sensitive), at least one <c>?term</c> if there are any, no <c>-term</c>;</item>
/// <item>JSON (<c>{ $.a.b[0] = "x*" &amp;&amp; ($.n &gt; 5 || $.f IS TRUE) }</c>): the message must be a JSON
/// document that satisfies the expression;</item>
/// <item>space-delimited (<c>[ip, user, ..., status = 5*, bytes &gt; 1000]</c>): the message's fields
/// (space-separated; "quoted" and [bracketed] fields are one field each) bound to the names, with
/// <c>...</c> for any number of fields, and the conditions on them true;</item>
/// <item>a regular expression between percent signs (<c>%ERROR [0-9]+%</c>).</item>
/// </list>
/// An empty pattern matches every event. JSON and space-delimited patterns name fields
/// (<c>$.a.b</c>, <c>$status</c>): a metric filter publishes their values, as its metric value
/// or as dimensions, so <see cref="Extract"/> answers them for a message that matches.
/// </summary>
public abstract partial class FilterPattern
{
    public const string Invalid = "Invalid filter pattern";

    static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>();

    public abstract bool Matches(string message);

    /// <summary>The fields the pattern names, as a metric filter refers to them: JSON selectors
    /// (<c>$.latency</c>) or <c>$</c> and a space-delimited field's name (<c>$status</c>). Empty
    /// for the kinds that name none (terms, regular expressions, the empty pattern).</summary>
    public virtual IReadOnlyList<string> Fields => [];

    /// <summary>For a message that matches, the value of each field of <see cref="Fields"/> it
    /// has (text; a JSON number as written, a JSON string without its quotes); null for one that
    /// does not match.</summary>
    public virtual IReadOnlyDictionary<string, string>? Extract(string message) => Matches(message) ? NoValues : null;

    /// <summary>Parses a pattern; throws <see cref="InvalidFilterPattern"/> with AWS's message.</summary>
    public static FilterPattern Parse(string? pattern)
    {
        var text = (pattern ?? "").Trim();
        if (text.Length == 0) return new All();
        if (text[0] == '{')
        {
            if (text[^1] != '}') throw new InvalidFilterPattern("If a filter pattern starts with '{' it must end with '}'");
            var parser = new Parser(Lex(text[1..^1]));
            var expr = parser.ParseOr(json: true);
            parser.End();
            return new JsonPattern(expr, parser.Names.Distinct(StringComparer.Ordinal).ToList());
        }
        if (text[0] == '[')
        {
            if (text[^1] != ']') throw new InvalidFilterPattern("If a filter pattern starts with '[' it must end with ']'");
            return SpaceDelimited.From(text[1..^1]);
        }
        if (text.Length >= 2 && text[0] == '%' && text[^1] == '%')
        {
            try { return new RegexPattern(new Regex(text[1..^1], RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100))); }
            catch (ArgumentException) { throw new InvalidFilterPattern(Invalid); }
        }
        return Terms.From(text);
    }

    sealed class All : FilterPattern
    {
        public override bool Matches(string message) => true;
    }

    sealed class RegexPattern(Regex regex) : FilterPattern
    {
        public override bool Matches(string message)
        {
            try { return regex.IsMatch(message); }
            catch (RegexMatchTimeoutException) { return false; }
        }
    }

    // ---- terms ----

    sealed class Terms(List<string> required, List<string> optional, List<string> excluded) : FilterPattern
    {
        public override bool Matches(string message)
            => required.All(t => message.Contains(t, StringComparison.Ordinal))
                && (optional.Count == 0 || optional.Any(t => message.Contains(t, StringComparison.Ordinal)))
                && !excluded.Any(t => message.Contains(t, StringComparison.Ordinal));

        public static Terms From(string text)
        {
            List<string> required = [], optional = [], excluded = [];
            var i = 0;
            while (i < text.Length)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    i++;
                    continue;
                }
                var list = required;
                if (text[i] is '?' or '-')
                {
                    list = text[i] == '?' ? optional : excluded;
                    i++;
                }
                if (i < text.Length && text[i] == '"')
                {
                    list.Add(ReadQuoted(text, ref i));
                    continue;
                }
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
                var term = text[start..i];
                // AWS: a term of anything but letters, digits and underscores must be quoted.
                if (term.Length == 0 || !term.All(c => char.IsLetterOrDigit(c) || c == '_'))
                    throw new InvalidFilterPattern($"Invalid character(s) in term '{(term.Length == 0 ? text[(start - 1)..start] : term)}'");
                list.Add(term);
            }
            return new Terms(required, optional, excluded);
        }
    }

    /// <summary>A double-quoted string at <paramref name="i"/> (backslash escapes the next
    /// character); leaves <paramref name="i"/> after its closing quote.</summary>
    static string ReadQuoted(string text, ref int i)
    {
        var sb = new StringBuilder();
        i++;
        while (i < text.Length && text[i] != '"')
        {
            if (text[i] == '\\' && i + 1 < text.Length) i++;
            sb.Append(text[i++]);
        }
        if (i >= text.Length) throw new InvalidFilterPattern(Invalid);
        i++;
        return sb.ToString();
    }

    // ---- the expression language shared by JSON and space-delimited patterns ----

    enum Kind { Word, String, Op, LParen, RParen, Comma, And, Or, End }

    readonly record struct Token(Kind Kind, string Text);

    static List<Token> Lex(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '"') { tokens.Add(new Token(Kind.String, ReadQuoted(text, ref i))); continue; }
            if (c == '(') { tokens.Add(new Token(Kind.LParen, "(")); i++; continue; }
            if (c == ')') { tokens.Add(new Token(Kind.RParen, ")")); i++; continue; }
            if (c == ',') { tokens.Add(new Token(Kind.Comma, ",")); i++; continue; }
            if (c == '&' && At(text, i + 1, '&')) { tokens.Add(new Token(Kind.And, "&&")); i += 2; continue; }
            if (c == '|' && At(text, i + 1, '|')) { tokens.Add(new Token(Kind.Or, "||")); i += 2; continue; }
            if (c is '=' or '!' or '<' or '>')
            {
                var op = At(text, i + 1, '=') ? text.Substring(i, 2) : c.ToString();
                if (op == "!") throw new InvalidFilterPattern(Invalid);
                tokens.Add(new Token(Kind.Op, op));
                i += op.Length;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('"' or '(' or ')' or ',' or '=' or '!' or '<' or '>')
                && !(text[i] == '&' && At(text, i + 1, '&')) && !(text[i] == '|' && At(text, i + 1, '|')))
                i++;
            tokens.Add(new Token(Kind.Word, text[start..i]));
        }
        tokens.Add(new Token(Kind.End, ""));
        return tokens;
    }

    static bool At(string text, int i, char c) => i < text.Length && text[i] == c;

    /// <summary>A condition over named values: a JSON document's selectors, or a space-delimited
    /// message's fields.</summary>
    abstract class Expr
    {
        public abstract bool Eval(IValues values);
    }

    interface IValues
    {
        /// <summary>The values a name resolves to (a JSON selector may reach several through [*]).</summary>
        IEnumerable<Value> Resolve(string name);
    }

    /// <summary>A value found in a message: a string, a number, true/false or null.</summary>
    readonly record struct Value(JsonValueKind Kind, string Text, double Number);

    sealed class AndExpr(Expr left, Expr right) : Expr
    {
        public override bool Eval(IValues values) => left.Eval(values) && right.Eval(values);
    }

    sealed class OrExpr(Expr left, Expr right) : Expr
    {
        public override bool Eval(IValues values) => left.Eval(values) || right.Eval(values);
    }

    enum Check { IsNull, IsTrue, IsFalse, NotExists, Exists }

    sealed class CheckExpr(string name, Check check) : Expr
    {
        public override bool Eval(IValues values) => check switch
        {
            Check.NotExists => !values.Resolve(name).Any(),
            Check.Exists => values.Resolve(name).Any(),
            Check.IsNull => values.Resolve(name).Any(v => v.Kind == JsonValueKind.Null),
            Check.IsTrue => values.Resolve(name).Any(v => v.Kind == JsonValueKind.True),
            _ => values.Resolve(name).Any(v => v.Kind == JsonValueKind.False),
        };
    }

    sealed class CompareExpr(string name, string op, string literal, bool quoted) : Expr
    {
        readonly double? _number = !quoted && double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : null;

        public override bool Eval(IValues values) => values.Resolve(name).Any(Test);

        bool Test(Value v)
        {
            if (_number is { } n)
            {
                // A number compares with numbers (and with text that reads as one: a space-delimited field).
                double? x = v.Kind == JsonValueKind.Number ? v.Number
                    : v.Kind == JsonValueKind.String && double.TryParse(v.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
                if (x is null) return false;
                return op switch
                {
                    "=" => x.Value == n,
                    "!=" => x.Value != n,
                    "<" => x.Value < n,
                    "<=" => x.Value <= n,
                    ">" => x.Value > n,
                    _ => x.Value >= n,
                };
            }
            if (v.Kind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)) return false;
            var equal = Wildcard(literal, v.Text);
            return op == "=" ? equal : !equal;
        }
    }

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/>, whose
    /// <c>*</c> stands for any run of characters (greedy with backtracking to the last star).</summary>
    internal static bool Wildcard(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (p < pattern.Length && pattern[p] == text[t]) { p++; t++; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    sealed class Parser(List<Token> tokens)
    {
        int _at;

        /// <summary>Every selector or field name the expressions parsed so far test, in order.</summary>
        public List<string> Names { get; } = [];

        Token Peek => tokens[_at];

        Token Next() => tokens[_at++];

        public bool AtEnd => Peek.Kind == Kind.End;

        public void End()
        {
            if (!AtEnd) throw new InvalidFilterPattern(Invalid);
        }

        public Expr ParseOr(bool json)
        {
            var left = ParseAnd(json);
            while (Peek.Kind == Kind.Or)
            {
                Next();
                left = new OrExpr(left, ParseAnd(json));
            }
            return left;
        }

        Expr ParseAnd(bool json)
        {
            var left = ParseUnary(json);
            while (Peek.Kind == Kind.And)
            {
                Next();
                left = new AndExpr(left, ParseUnary(json));
            }
            return left;
        }

        Expr ParseUnary(bool json)
        {
            if (Peek.Kind == Kind.LParen)
            {
                Next();
                var inner = ParseOr(json);
                if (Next().Kind != Kind.RParen) throw new InvalidFilterPattern(Invalid);
                return inner;
            }
            var name = Next();
            if (name.Kind != Kind.Word || (json ? !IsSelector(name.Text) : !IsFieldName(name.Text))) throw new InvalidFilterPattern(Invalid);
            Names.Add(name.Text);
            if (Peek.Kind == Kind.Word && json)
            {
                var word = Next().Text.ToUpperInvariant();
                var second = Next();
                if (second.Kind != Kind.Word) throw new InvalidFilterPattern(Invalid);
                return (word, second.Text.ToUpperInvariant()) switch
                {
                    ("IS", "NULL") => new CheckExpr(name.Text, Check.IsNull),
                    ("IS", "TRUE") => new CheckExpr(name.Text, Check.IsTrue),
                    ("IS", "FALSE") => new CheckExpr(name.Text, Check.IsFalse),
                    ("NOT", "EXISTS") => new CheckExpr(name.Text, Check.NotExists),
                    _ => throw new InvalidFilterPattern(Invalid),
                };
            }
            // A bare field of a space-delimited pattern only names it (any value matches).
            if (!json && Peek.Kind != Kind.Op) return new CheckExpr(name.Text, Check.Exists);
            var op = Next();
            if (op.Kind != Kind.Op) throw new InvalidFilterPattern(Invalid);
            var value = Next();
            if (value.Kind is not (Kind.Word or Kind.String)) throw new InvalidFilterPattern(Invalid);
            var quoted = value.Kind == Kind.String;
            var numeric = !quoted && double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            // Order comparisons are numeric only; a bare word must be a plain value.
            if (op.Text is not ("=" or "!=") && !numeric) throw new InvalidFilterPattern(Invalid);
            if (!quoted && !numeric && !value.Text.All(c => char.IsLetterOrDigit(c) || c is '_' or '*' or '-' or '.' or ':' or '/' or '@')) throw new InvalidFilterPattern(Invalid);
            return new CompareExpr(name.Text, op.Text, value.Text, quoted);
        }

        /// <summary>The names a space-delimited pattern's slots give, in order, and their conditions.</summary>
        public List<(string? Name, Expr? Condition)> ParseSlots()
        {
            var slots = new List<(string?, Expr?)>();
            while (true)
            {
                if (Peek.Kind == Kind.Word && Peek.Text == "...")
                {
                    Next();
                    slots.Add((null, null));
                }
                else
                {
                    var first = Peek.Kind == Kind.Word ? Peek.Text : Peek.Kind == Kind.LParen ? FirstName() : null;
                    if (first is null) throw new InvalidFilterPattern(Invalid);
                    var expr = ParseOr(json: false);
                    slots.Add((first, expr is CheckExpr { } ? null : expr));
                }
                if (Peek.Kind == Kind.End) return slots;
                if (Next().Kind != Kind.Comma) throw new InvalidFilterPattern(Invalid);
            }
        }

        string? FirstName()
        {
            for (var i = _at; i < tokens.Count; i++)
                if (tokens[i].Kind == Kind.Word) return tokens[i].Text;
            return null;
        }

        static bool IsSelector(string s) => s.StartsWith('$') && JsonPattern.TryPath(s, out _);

        static bool IsFieldName(string s) => s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.');
    }

    // ---- JSON ----

    sealed class JsonPattern(Expr expr, List<string> selectors) : FilterPattern
    {
        public override IReadOnlyList<string> Fields => selectors;

        public override bool Matches(string message) => Evaluate(message, extract: false, out _);

        public override IReadOnlyDictionary<string, string>? Extract(string message) => Evaluate(message, extract: true, out var values) ? values : null;

        bool Evaluate(string message, bool extract, out Dictionary<string, string>? extracted)
        {
            extracted = null;
            var trimmed = message.AsSpan().TrimStart();
            if (trimmed.Length == 0 || trimmed[0] is not ('{' or '[')) return false;
            try
            {
                using var doc = JsonDocument.Parse(message);
                var values = new JsonValues(doc.RootElement);
                if (!expr.Eval(values)) return false;
                if (extract)
                {
                    // A selector that reaches several values (through [*]) gives its first.
                    extracted = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var selector in selectors)
                        foreach (var v in values.Resolve(selector))
                        {
                            extracted[selector] = v.Text;
                            break;
                        }
                }
                return true;
            }
            catch (JsonException) { return false; }
        }

        /// <summary>A selector's steps: member names, indexes, and -1 for [*].</summary>
        public static bool TryPath(string selector, out List<object> steps)
        {
            steps = [];
            var i = 1;
            while (i < selector.Length)
            {
                if (selector[i] == '.')
                {
                    var start = ++i;
                    while (i < selector.Length && selector[i] is not ('.' or '[')) i++;
                    if (i == start) return false;
                    steps.Add(selector[start..i]);
                }
                else if (selector[i] == '[')
                {
                    var close = selector.IndexOf(']', i);
                    if (close < 0) return false;
                    var inside = selector[(i + 1)..close];
                    if (inside == "*") steps.Add(-1);
                    else if (int.TryParse(inside, NumberStyles.None, CultureInfo.InvariantCulture, out var index)) steps.Add(index);
                    else return false;
                    i = close + 1;
                }
                else return false;
            }
            return true;
        }

        sealed class JsonValues(JsonElement root) : IValues
        {
            public IEnumerable<Value> Resolve(string name)
            {
                TryPath(name, out var steps);
                IEnumerable<JsonElement> current = [root];
                foreach (var step in steps) current = current.SelectMany(e => Step(e, step));
                return current.Select(e => e.ValueKind switch
                {
                    JsonValueKind.String => new Value(JsonValueKind.String, e.GetString()!, 0),
                    JsonValueKind.Number => new Value(JsonValueKind.Number, e.GetRawText(), e.GetDouble()),
                    _ => new Value(e.ValueKind, e.GetRawText(), 0),
                });
            }

            static IEnumerable<JsonElement> Step(JsonElement e, object step)
            {
                if (step is string member)
                {
                    if (member == "*" && e.ValueKind == JsonValueKind.Object) return e.EnumerateObject().Select(p => p.Value).ToList();
                    return e.ValueKind == JsonValueKind.Object && e.TryGetProperty(member, out var child) ? [child] : [];
                }
                var index = (int)step;
                if (e.ValueKind != JsonValueKind.Array) return [];
                if (index < 0) return e.EnumerateArray().ToList();
                return index < e.GetArrayLength() ? [e[index]] : [];
            }
        }
    }

    // ---- space-delimited ----

    sealed class SpaceDelimited(List<(string? Name, Expr? Condition)> slots) : FilterPattern
    {
        readonly List<string> _fields = slots.Where(s => s.Name is not null).Select(s => "$" + s.Name).Distinct(StringComparer.Ordinal).ToList();

        public override IReadOnlyList<string> Fields => _fields;

        public static SpaceDelimited From(string inner)
        {
            if (inner.Trim().Length == 0) throw new InvalidFilterPattern(Invalid);
            var parser = new Parser(Lex(inner));
            var slots = parser.ParseSlots();
            return new SpaceDelimited(slots);
        }

        public override bool Matches(string message) => Align(Split(message), 0, 0, new Dictionary<string, string>(StringComparer.Ordinal));

        public override IReadOnlyDictionary<string, string>? Extract(string message)
        {
            var bound = new Dictionary<string, string>(StringComparer.Ordinal);
            return Align(Split(message), 0, 0, bound) ? bound.ToDictionary(b => "$" + b.Key, b => b.Value, StringComparer.Ordinal) : null;
        }

        /// <summary>Binds slots to fields from <paramref name="slot"/> and <paramref name="field"/>
        /// on; an ellipsis tries every number of fields it could stand for.</summary>
        bool Align(List<string> fields, int slot, int field, Dictionary<string, string> bound)
        {
            if (slot == slots.Count) return field == fields.Count && slots.All(s => s.Condition is null || s.Condition.Eval(new FieldValues(bound)));
            var (name, _) = slots[slot];
            if (name is null)
            {
                for (var take = fields.Count - field; take >= 0; take--)
                    if (Align(fields, slot + 1, field + take, bound)) return true;
                return false;
            }
            if (field == fields.Count) return false;
            var had = bound.TryGetValue(name, out var previous);
            bound[name] = fields[field];
            if (Align(fields, slot + 1, field + 1, bound)) return true;
            if (had) bound[name] = previous!;
            else bound.Remove(name);
            return false;
        }

        /// <summary>A message's fields: separated by spaces; what is "quoted" or [bracketed] is one field.</summary>
        static List<string> Split(string message)
        {
            var fields = new List<string>();
            var i = 0;
            while (i < message.Length)
            {
                if (char.IsWhiteSpace(message[i])) { i++; continue; }
                var close = message[i] switch { '"' => '"', '[' => ']', _ => '\0' };
                if (close != '\0')
                {
                    var end = message.IndexOf(close, i + 1);
                    if (end > 0)
                    {
                        fields.Add(message[(i + 1)..end]);
                        i = end + 1;
                        continue;
                    }
                }
                var start = i;
                while (i < message.Length && !char.IsWhiteSpace(message[i])) i++;
                fields.Add(message[start..i]);
            }
            return fields;
        }

        sealed class FieldValues(Dictionary<string, string> bound) : IValues
        {
            public IEnumerable<Value> Resolve(string name)
                => bound.TryGetValue(name, out var text) ? [new Value(JsonValueKind.String, text, 0)] : [];
        }
    }
}
