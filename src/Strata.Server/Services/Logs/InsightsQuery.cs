using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Logs;

/// <summary>A Logs Insights query CloudWatch Logs cannot compile.</summary>
public sealed class MalformedQuery(string message) : DomainError(message);

/// <summary>One event as a Logs Insights query sees it: its system fields and the fields
/// discovered in a JSON message (nested members joined with dots, array items by index).</summary>
public sealed record InsightsEvent(string LogGroup, string LogStream, long Timestamp, long IngestionTime, string Message, string Pointer);

/// <summary>
/// The subset of the Logs Insights query language Strata runs (pure: parse once, then run over
/// events): commands joined by <c>|</c>:
/// <c>fields a, b</c>; <c>filter</c> with <c>= != &lt; &lt;= &gt; &gt;=</c>, <c>like "text"</c> or
/// <c>like /regex/</c>, <c>=~ /regex/</c>, <c>in [..]</c>, <c>ispresent(f)</c>, <c>and</c>,
/// <c>or</c>, <c>not</c> and parentheses; <c>stats count(*)|count(f)|sum|avg|min|max(f) [as name], …
/// [by bin(5m), field, …]</c>; <c>sort f [asc|desc], …</c>; <c>limit n</c>.
/// </summary>
public sealed partial class InsightsQuery
{
    readonly List<Command> _commands;

    InsightsQuery(List<Command> commands) => _commands = commands;

    abstract record Command;
    sealed record FieldsCommand(List<string> Fields) : Command;
    sealed record FilterCommand(Cond Condition) : Command;
    sealed record StatsCommand(List<Aggregate> Aggregates, List<string> By) : Command;
    sealed record SortCommand(List<(string Field, bool Descending)> Keys) : Command;
    sealed record LimitCommand(int Count) : Command;

    sealed record Aggregate(string Function, string? Field, string Name);

    /// <summary>The result: rows of (field, value), and what was scanned and matched.</summary>
    public sealed record Result(List<List<(string Field, string Value)>> Rows, long Scanned, long Matched, long BytesScanned);

    public static InsightsQuery Parse(string text)
    {
        var commands = new List<Command>();
        foreach (var part in SplitCommands(text))
        {
            var trimmed = part.Trim();
            if (trimmed.Length == 0) throw new MalformedQuery("Query is empty or has an empty command.");
            var space = trimmed.IndexOfAny([' ', '\t', '\n', '\r']);
            var verb = (space < 0 ? trimmed : trimmed[..space]).ToLowerInvariant();
            var rest = space < 0 ? "" : trimmed[(space + 1)..].Trim();
            commands.Add(verb switch
            {
                "fields" or "display" => new FieldsCommand(NonEmpty(SplitTop(rest, ','), verb).Select(f => FieldName(f.Trim())).ToList()),
                "filter" => new FilterCommand(new CondParser(Lex(rest)).ParseAll()),
                "stats" => ParseStats(rest),
                "sort" => new SortCommand(NonEmpty(SplitTop(rest, ','), verb).Select(ParseSortKey).ToList()),
                "limit" => int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= 10_000
                    ? new LimitCommand(n) : throw new MalformedQuery($"Invalid limit: {rest}"),
                _ => throw new MalformedQuery($"Unsupported command: {verb}"),
            });
        }
        if (commands.Count == 0) throw new MalformedQuery("Query is empty.");
        return new InsightsQuery(commands);
    }

    static List<string> NonEmpty(List<string> parts, string verb)
        => parts.Count > 0 ? parts : throw new MalformedQuery($"{verb} needs at least one field.");

    /// <summary>Runs the query over <paramref name="events"/> (any order); at most
    /// <paramref name="limit"/> rows.</summary>
    public Result Run(IEnumerable<InsightsEvent> events, int limit)
    {
        long scanned = 0, bytes = 0;
        var filters = _commands.TakeWhile(c => c is not StatsCommand).OfType<FilterCommand>().ToList();
        var matched = new List<Dictionary<string, string>>();
        foreach (var e in events)
        {
            scanned++;
            bytes += Encoding.UTF8.GetByteCount(e.Message);
            var record = Record(e);
            if (filters.All(f => f.Condition.Eval(record))) matched.Add(record);
        }
        IEnumerable<Dictionary<string, string>> rows = matched;
        List<string>? fields = null;
        var sorted = false;
        var afterStats = false;
        foreach (var command in _commands)
        {
            switch (command)
            {
                case FilterCommand f when afterStats:
                    rows = rows.Where(r => f.Condition.Eval(r)).ToList();
                    break;
                case FieldsCommand f:
                    fields = [.. (fields ?? []).Concat(f.Fields).Distinct()];
                    break;
                case StatsCommand s:
                    rows = Stats(rows, s);
                    fields = [.. s.By, .. s.Aggregates.Select(a => a.Name)];
                    afterStats = true;
                    break;
                case SortCommand s:
                    rows = Sort(rows, s.Keys);
                    sorted = true;
                    break;
                case LimitCommand l:
                    limit = Math.Min(limit, l.Count);
                    break;
            }
        }
        // Without a sort, the newest events first (the console's default query); groups in key order.
        if (!sorted && !afterStats) rows = Sort(rows, [("@timestamp", true)]);
        fields ??= ["@timestamp", "@message"];
        var output = rows.Take(limit).Select(r =>
        {
            var row = fields.Where(r.ContainsKey).Select(f => (f, r[f])).ToList();
            if (!afterStats && r.TryGetValue("@ptr", out var ptr)) row.Add(("@ptr", ptr));
            return row;
        }).ToList();
        return new Result(output, scanned, matched.Count, bytes);
    }

    static Dictionary<string, string> Record(InsightsEvent e)
    {
        var record = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["@timestamp"] = Time(e.Timestamp),
            ["@message"] = e.Message,
            ["@logStream"] = e.LogStream,
            ["@log"] = e.LogGroup,
            ["@ingestionTime"] = Time(e.IngestionTime),
            ["@ptr"] = e.Pointer,
        };
        var trimmed = e.Message.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] == '{')
        {
            try
            {
                using var doc = JsonDocument.Parse(e.Message);
                Flatten(doc.RootElement, "", record, 0);
            }
            catch (JsonException) { }
        }
        return record;
    }

    static void Flatten(JsonElement element, string prefix, Dictionary<string, string> record, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when depth < 10:
                foreach (var p in element.EnumerateObject()) Flatten(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}", record, depth + 1);
                break;
            case JsonValueKind.Array when depth < 10:
                var i = 0;
                foreach (var item in element.EnumerateArray()) Flatten(item, $"{prefix}.{i++}", record, depth + 1);
                break;
            case JsonValueKind.String:
                record.TryAdd(prefix, element.GetString()!);
                break;
            case JsonValueKind.Null:
                break;
            default:
                record.TryAdd(prefix, element.GetRawText());
                break;
        }
    }

    /// <summary>Insights' time format: <c>2026-12-01 03:45:12.000</c> (UTC).</summary>
    static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);

    // ---- stats ----

    static StatsCommand ParseStats(string rest)
    {
        var at = ByKeyword().Match(rest);
        var aggregatesText = at.Success ? rest[..at.Index] : rest;
        var by = at.Success ? SplitTop(rest[(at.Index + at.Length)..], ',').Select(b => NormalizeBin(b.Trim())).ToList() : [];
        var aggregates = new List<Aggregate>();
        foreach (var part in SplitTop(aggregatesText, ','))
        {
            var m = AggregateSyntax().Match(part.Trim());
            if (!m.Success) throw new MalformedQuery($"Invalid stats expression: {part.Trim()}");
            var function = m.Groups[1].Value.ToLowerInvariant();
            var argument = m.Groups[2].Value.Trim();
            if (function is not ("count" or "sum" or "avg" or "min" or "max")) throw new MalformedQuery($"Unsupported stats function: {function}");
            if (argument.Length == 0 || (argument == "*" && function != "count")) throw new MalformedQuery($"Invalid stats expression: {part.Trim()}");
            var name = m.Groups[3].Success ? m.Groups[3].Value : $"{function}({argument})";
            aggregates.Add(new Aggregate(function, argument == "*" ? null : FieldName(argument), name));
        }
        if (aggregates.Count == 0) throw new MalformedQuery("stats needs at least one aggregate.");
        foreach (var b in by)
            if (b.StartsWith("bin(", StringComparison.Ordinal) && BinSize(b) is null) throw new MalformedQuery($"Invalid bin: {b}");
        return new StatsCommand(aggregates, by);
    }

    static string NormalizeBin(string by) => by.Replace(" ", "", StringComparison.Ordinal) is var compact && compact.StartsWith("bin(", StringComparison.OrdinalIgnoreCase) ? "bin(" + compact[4..] : FieldName(by);

    static long? BinSize(string bin)
    {
        var m = BinSyntax().Match(bin);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0) return null;
        return m.Groups[2].Value switch
        {
            "ms" => n,
            "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            "d" => n * 86_400_000,
            _ => null,
        };
    }

    static List<Dictionary<string, string>> Stats(IEnumerable<Dictionary<string, string>> rows, StatsCommand s)
    {
        var groups = new SortedDictionary<string, (Dictionary<string, string> Keys, List<Dictionary<string, string>> Rows)>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var b in s.By)
            {
                if (b.StartsWith("bin(", StringComparison.Ordinal))
                {
                    var size = BinSize(b)!.Value;
                    var ts = DateTime.ParseExact(r["@timestamp"], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
                    var ms = new DateTimeOffset(ts, TimeSpan.Zero).ToUnixTimeMilliseconds();
                    keys[b] = Time(ms - (ms % size));
                }
                else if (r.TryGetValue(b, out var v)) keys[b] = v;
            }
            var key = string.Join("\u0001", s.By.Select(b => keys.GetValueOrDefault(b) ?? ""));
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = (keys, []);
            g.Rows.Add(r);
        }
        return groups.Values.Select(g =>
        {
            var row = new Dictionary<string, string>(g.Keys, StringComparer.Ordinal);
            foreach (var a in s.Aggregates)
            {
                if (a.Function == "count")
                {
                    row[a.Name] = (a.Field is null ? g.Rows.Count : g.Rows.Count(r => r.ContainsKey(a.Field))).ToString(CultureInfo.InvariantCulture);
                    continue;
                }
                var values = g.Rows.Select(r => r.TryGetValue(a.Field!, out var v) && Number(v) is { } d ? d : (double?)null).OfType<double>().ToList();
                if (values.Count == 0) continue;
                var value = a.Function switch
                {
                    "sum" => values.Sum(),
                    "avg" => values.Average(),
                    "min" => values.Min(),
                    _ => values.Max(),
                };
                row[a.Name] = value.ToString("R", CultureInfo.InvariantCulture);
            }
            return row;
        }).ToList();
    }

    // ---- sort ----

    static (string, bool) ParseSortKey(string key)
    {
        var parts = key.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2) throw new MalformedQuery($"Invalid sort: {key.Trim()}");
        var descending = parts.Length == 2 ? parts[1].ToLowerInvariant() switch
        {
            "desc" => true,
            "asc" => false,
            _ => throw new MalformedQuery($"Invalid sort order: {parts[1]}"),
        } : true; // Insights sorts descending unless told otherwise.
        return (NormalizeBin(parts[0]), descending);
    }

    static List<Dictionary<string, string>> Sort(IEnumerable<Dictionary<string, string>> rows, List<(string Field, bool Descending)> keys)
    {
        var list = rows.ToList();
        list.Sort((a, b) =>
        {
            foreach (var (field, descending) in keys)
            {
                var c = CompareValues(a.GetValueOrDefault(field), b.GetValueOrDefault(field));
                if (c != 0) return descending ? -c : c;
            }
            return 0;
        });
        return list;
    }

    static int CompareValues(string? a, string? b)
    {
        if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
        return Number(a) is { } x && Number(b) is { } y ? x.CompareTo(y) : string.CompareOrdinal(a, b);
    }

    static double? Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    // ---- filter expressions ----

    abstract class Cond
    {
        public abstract bool Eval(Dictionary<string, string> r);
    }

    sealed class AndCond(Cond a, Cond b) : Cond
    {
        public override bool Eval(Dictionary<string, string> r) => a.Eval(r) && b.Eval(r);
    }

    sealed class OrCond(Cond a, Cond b) : Cond
    {
        public override bool Eval(Dictionary<string, string> r) => a.Eval(r) || b.Eval(r);
    }

    sealed class NotCond(Cond a) : Cond
    {
        public override bool Eval(Dictionary<string, string> r) => !a.Eval(r);
    }

    sealed class PresentCond(string field) : Cond
    {
        public override bool Eval(Dictionary<string, string> r) => r.ContainsKey(field);
    }

    sealed class CompareCond(string field, string op, string value) : Cond
    {
        public override bool Eval(Dictionary<string, string> r)
        {
            if (!r.TryGetValue(field, out var actual)) return false;
            var c = CompareValues(actual, value);
            return op switch
            {
                "=" => c == 0,
                "!=" => c != 0,
                "<" => c < 0,
                "<=" => c <= 0,
                ">" => c > 0,
                _ => c >= 0,
            };
        }
    }

    sealed class InCond(string field, List<string> values) : Cond
    {
        public override bool Eval(Dictionary<string, string> r) => r.TryGetValue(field, out var v) && values.Any(x => CompareValues(v, x) == 0);
    }

    sealed class LikeCond(string field, Regex? regex, string? text) : Cond
    {
        public override bool Eval(Dictionary<string, string> r)
        {
            if (!r.TryGetValue(field, out var v)) return false;
            if (text is not null) return v.Contains(text, StringComparison.Ordinal);
            try { return regex!.IsMatch(v); }
            catch (RegexMatchTimeoutException) { return false; }
        }
    }

    enum Tok { Word, String, Regex, Number, Op, LParen, RParen, LBracket, RBracket, Comma, End }

    readonly record struct Token(Tok Kind, string Text);

    static List<Token> Lex(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '"' or '\'')
            {
                var sb = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length) i++;
                    sb.Append(text[i++]);
                }
                if (i >= text.Length) throw new MalformedQuery("Unterminated string in filter.");
                i++;
                tokens.Add(new Token(Tok.String, sb.ToString()));
                continue;
            }
            if (c == '/')
            {
                var end = i + 1;
                while (end < text.Length && text[end] != '/') end += text[end] == '\\' ? 2 : 1;
                if (end >= text.Length) throw new MalformedQuery("Unterminated regular expression in filter.");
                tokens.Add(new Token(Tok.Regex, text[(i + 1)..end]));
                i = end + 1;
                continue;
            }
            if (c == '(') { tokens.Add(new Token(Tok.LParen, "(")); i++; continue; }
            if (c == ')') { tokens.Add(new Token(Tok.RParen, ")")); i++; continue; }
            if (c == '[') { tokens.Add(new Token(Tok.LBracket, "[")); i++; continue; }
            if (c == ']') { tokens.Add(new Token(Tok.RBracket, "]")); i++; continue; }
            if (c == ',') { tokens.Add(new Token(Tok.Comma, ",")); i++; continue; }
            if (c is '=' or '!' or '<' or '>')
            {
                var op = i + 1 < text.Length && text[i + 1] is '=' or '~' ? text.Substring(i, 2) : c.ToString();
                if (op is "!" or "!~") throw new MalformedQuery($"Unexpected '{op}' in filter.");
                if (op == "==") op = "=";
                tokens.Add(new Token(Tok.Op, op));
                i += op.Length;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')' or '[' or ']' or ',' or '=' or '!' or '<' or '>' or '"' or '\'')) i++;
            if (i == start) throw new MalformedQuery($"Unexpected '{text[i]}' in filter.");
            var word = text[start..i];
            tokens.Add(new Token(double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? Tok.Number : Tok.Word, word));
        }
        tokens.Add(new Token(Tok.End, ""));
        return tokens;
    }

    sealed class CondParser(List<Token> tokens)
    {
        int _at;

        Token Peek => tokens[_at];

        Token Next() => tokens[_at++];

        bool IsWord(string w) => Peek.Kind == Tok.Word && Peek.Text.Equals(w, StringComparison.OrdinalIgnoreCase);

        public Cond ParseAll()
        {
            var c = ParseOr();
            if (Peek.Kind != Tok.End) throw new MalformedQuery($"Unexpected '{Peek.Text}' in filter.");
            return c;
        }

        Cond ParseOr()
        {
            var left = ParseAnd();
            while (IsWord("or"))
            {
                Next();
                left = new OrCond(left, ParseAnd());
            }
            return left;
        }

        Cond ParseAnd()
        {
            var left = ParseNot();
            while (IsWord("and"))
            {
                Next();
                left = new AndCond(left, ParseNot());
            }
            return left;
        }

        Cond ParseNot()
        {
            if (IsWord("not"))
            {
                Next();
                return new NotCond(ParseNot());
            }
            if (Peek.Kind == Tok.LParen)
            {
                Next();
                var inner = ParseOr();
                if (Next().Kind != Tok.RParen) throw new MalformedQuery("Missing ')' in filter.");
                return inner;
            }
            if (IsWord("ispresent"))
            {
                Next();
                if (Next().Kind != Tok.LParen || Next() is not { Kind: Tok.Word } field || Next().Kind != Tok.RParen)
                    throw new MalformedQuery("ispresent takes one field.");
                return new PresentCond(FieldName(field.Text));
            }
            var name = Next();
            if (name.Kind != Tok.Word) throw new MalformedQuery($"Expected a field in filter, found '{name.Text}'.");
            var fieldName = FieldName(name.Text);
            if (IsWord("like") || (Peek.Kind == Tok.Op && Peek.Text == "=~"))
            {
                Next();
                var pattern = Next();
                return pattern.Kind switch
                {
                    Tok.String => new LikeCond(fieldName, null, pattern.Text),
                    Tok.Regex => new LikeCond(fieldName, Compile(pattern.Text), null),
                    _ => throw new MalformedQuery("like takes a \"string\" or a /regular expression/."),
                };
            }
            if (IsWord("in") || IsWord("not"))
            {
                var negate = IsWord("not");
                Next();
                if (negate && !IsWord("in")) throw new MalformedQuery("Expected 'in' after 'not'.");
                if (negate) Next();
                if (Next().Kind != Tok.LBracket) throw new MalformedQuery("in takes a [list].");
                var values = new List<string>();
                while (Peek.Kind != Tok.RBracket)
                {
                    var v = Next();
                    if (v.Kind is not (Tok.String or Tok.Number or Tok.Word)) throw new MalformedQuery("Invalid value in list.");
                    values.Add(v.Text);
                    if (Peek.Kind == Tok.Comma) Next();
                    else if (Peek.Kind != Tok.RBracket) throw new MalformedQuery("Expected ',' or ']' in list.");
                }
                Next();
                Cond cond = new InCond(fieldName, values);
                return negate ? new NotCond(cond) : cond;
            }
            var op = Next();
            if (op.Kind != Tok.Op) throw new MalformedQuery($"Expected a comparison after {name.Text}.");
            var value = Next();
            if (value.Kind is not (Tok.String or Tok.Number or Tok.Word)) throw new MalformedQuery($"Expected a value after {op.Text}.");
            return new CompareCond(fieldName, op.Text, value.Text);
        }

        static Regex Compile(string pattern)
        {
            try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)); }
            catch (ArgumentException) { throw new MalformedQuery($"Invalid regular expression: /{pattern}/"); }
        }
    }

    // ---- text ----

    /// <summary>A field as written: <c>@message</c>, <c>status</c>, <c>a.b</c>, or <c>`odd name`</c>.</summary>
    static string FieldName(string text)
    {
        var t = text.Trim();
        if (t.Length > 1 && t[0] == '`' && t[^1] == '`') return t[1..^1];
        if (t.Length == 0 || !t.All(c => char.IsLetterOrDigit(c) || c is '@' or '_' or '.' or '-' or '$')) throw new MalformedQuery($"Invalid field: {t}");
        return t;
    }

    /// <summary>Splits on <paramref name="separator"/> outside quotes, slashes, parentheses and brackets.</summary>
    static List<string> SplitTop(string text, char separator)
    {
        var parts = new List<string>();
        var depth = 0;
        var quote = '\0';
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'' or '`') quote = c;
            else if (c is '(' or '[') depth++;
            else if (c is ')' or ']') depth--;
            else if (c == separator && depth == 0)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }
        parts.Add(text[start..]);
        return parts.Where(p => p.Trim().Length > 0 || separator == '|').ToList();
    }

    static List<string> SplitCommands(string text)
    {
        // A | inside a regular expression or string is not a command separator.
        var parts = new List<string>();
        var quote = '\0';
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'' or '`' or '/') quote = c;
            else if (c == '|')
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }
        parts.Add(text[start..]);
        return parts;
    }

    [GeneratedRegex(@"\s+by\s+", RegexOptions.IgnoreCase)]
    private static partial Regex ByKeyword();

    [GeneratedRegex(@"^([A-Za-z]+)\s*\(\s*([^)]*)\)(?:\s+as\s+([A-Za-z_@][\w.@]*))?$", RegexOptions.IgnoreCase)]
    private static partial Regex AggregateSyntax();

    [GeneratedRegex(@"^bin\((\d+)(ms|s|m|h|d)\)$")]
    private static partial Regex BinSyntax();
}
