using System.Globalization;
using System.Text;

namespace Strata.Server.Services.CloudWatch;

/// <summary>A metric-math value: a number, one time series, or an array of them (SEARCH, METRICS()).</summary>
public abstract record MathValue;

public sealed record MathScalar(double Value) : MathValue;

/// <summary>A time series: values by period start (epoch seconds), in time order.</summary>
public sealed record MathSeries(string Label, SortedDictionary<long, double> Points) : MathValue;

public sealed record MathArray(List<MathSeries> Series) : MathValue;

/// <summary>An expression CloudWatch would refuse: GetMetricData answers ValidationError with it.</summary>
public sealed class MetricMathException(string message) : Exception(message);

/// <summary>
/// CloudWatch metric math: arithmetic (<c>+ - * / ^</c>), comparisons and <c>AND</c>/<c>OR</c>/
/// <c>NOT</c>, and the functions ABS, CEIL, FLOOR, SQRT, LOG, LOG10, SUM, AVG, MIN, MAX, STDDEV,
/// METRICS, FILL (a value, REPEAT, LINEAR), RATE, DIFF, DIFF_TIME, RUNNING_SUM, IF, PERIOD and
/// SEARCH. A function of one series returns a number (SUM(m1)); of an array, the series of its
/// values per timestamp (SUM(METRICS())). Two series combine where both have a value; a series and
/// a number combine at every point.
/// </summary>
public sealed class MetricMath(MetricMath.Context context)
{
    /// <summary>What an expression can refer to.</summary>
    public sealed class Context
    {
        /// <summary>The value of another query of the request, by its Id (evaluated on demand).</summary>
        public required Func<string, MathValue?> Resolve { get; init; }
        /// <summary>The Ids of the request's metric (not expression) queries, in order, for METRICS().</summary>
        public required IReadOnlyList<string> MetricIds { get; init; }
        /// <summary>Runs SEARCH(expression, statistic, period).</summary>
        public required Func<string, string, int, MathArray> Search { get; init; }
        /// <summary>Every period start of the request's range (FILL's and a number's timestamps).</summary>
        public required IReadOnlyList<long> Timeline { get; init; }
        public required int Period { get; init; }
    }

    List<Token> _tokens = [];
    int _at;

    public MathValue Evaluate(string expression)
    {
        _tokens = Lex(expression);
        _at = 0;
        var value = Or();
        if (Peek.Kind != TokenKind.End) throw new MetricMathException($"Unexpected token '{Peek.Text}' at position {Peek.Position}.");
        return value;
    }

    // ---- lexer ----

    enum TokenKind { Number, String, Name, Op, LParen, RParen, LBracket, RBracket, Comma, End }

    sealed record Token(TokenKind Kind, string Text, int Position);

    static List<Token> Lex(string s)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            var start = i;
            if (char.IsDigit(c) || (c == '.' && i + 1 < s.Length && char.IsDigit(s[i + 1])))
            {
                while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '.')) i++;
                if (i < s.Length && (s[i] is 'e' or 'E'))
                {
                    i++;
                    if (i < s.Length && (s[i] is '+' or '-')) i++;
                    while (i < s.Length && char.IsDigit(s[i])) i++;
                }
                tokens.Add(new(TokenKind.Number, s[start..i], start));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                tokens.Add(new(TokenKind.Name, s[start..i], start));
            }
            else if (c is '"' or '\'')
            {
                // A string literal (SEARCH's query, METRICS' filter); the other quote may appear inside.
                var sb = new StringBuilder();
                i++;
                while (i < s.Length && s[i] != c)
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
                if (i >= s.Length) throw new MetricMathException($"Unterminated string at position {start}.");
                i++;
                tokens.Add(new(TokenKind.String, sb.ToString(), start));
            }
            else if (i + 1 < s.Length && s.Substring(i, 2) is "==" or "!=" or "<=" or ">=" or "&&" or "||")
            {
                tokens.Add(new(TokenKind.Op, s.Substring(i, 2), start));
                i += 2;
            }
            else
            {
                var kind = c switch
                {
                    '(' => TokenKind.LParen,
                    ')' => TokenKind.RParen,
                    '[' => TokenKind.LBracket,
                    ']' => TokenKind.RBracket,
                    ',' => TokenKind.Comma,
                    '+' or '-' or '*' or '/' or '^' or '<' or '>' => TokenKind.Op,
                    _ => throw new MetricMathException($"Unrecognized token '{c}' at position {start}."),
                };
                tokens.Add(new(kind, c.ToString(), start));
                i++;
            }
        }
        tokens.Add(new(TokenKind.End, "end of expression", s.Length));
        return tokens;
    }

    Token Peek => _tokens[_at];

    Token Next() => _tokens[_at++];

    bool TakeOp(params string[] ops)
    {
        var t = Peek;
        if ((t.Kind == TokenKind.Op || (t.Kind == TokenKind.Name && t.Text is "AND" or "OR" or "NOT")) && ops.Contains(t.Text))
        {
            _at++;
            return true;
        }
        return false;
    }

    void Expect(TokenKind kind, string what)
    {
        if (Peek.Kind != kind) throw new MetricMathException($"Expected {what} at position {Peek.Position}, found '{Peek.Text}'.");
        _at++;
    }

    // ---- grammar: or > and > not > comparison > sum > product > power > unary > primary ----

    MathValue Or()
    {
        var left = And();
        while (Peek.Text is "OR" or "||" && TakeOp("OR", "||")) left = Binary(left, And(), (a, b) => a != 0 || b != 0 ? 1 : 0);
        return left;
    }

    MathValue And()
    {
        var left = Not();
        while (Peek.Text is "AND" or "&&" && TakeOp("AND", "&&")) left = Binary(left, Not(), (a, b) => a != 0 && b != 0 ? 1 : 0);
        return left;
    }

    MathValue Not() => TakeOp("NOT") ? Map(Not(), v => v == 0 ? 1 : 0) : Comparison();

    MathValue Comparison()
    {
        var left = Sum();
        var op = Peek.Text;
        if (Peek.Kind == TokenKind.Op && op is "==" or "!=" or "<" or "<=" or ">" or ">=")
        {
            _at++;
            Func<double, double, bool> test = op switch
            {
                "==" => (a, b) => a == b,
                "!=" => (a, b) => a != b,
                "<" => (a, b) => a < b,
                "<=" => (a, b) => a <= b,
                ">" => (a, b) => a > b,
                _ => (a, b) => a >= b,
            };
            return Binary(left, Sum(), (a, b) => test(a, b) ? 1 : 0);
        }
        return left;
    }

    MathValue Sum()
    {
        var left = Product();
        while (true)
        {
            if (TakeOp("+")) left = Binary(left, Product(), (a, b) => a + b);
            else if (TakeOp("-")) left = Binary(left, Product(), (a, b) => a - b);
            else return left;
        }
    }

    MathValue Product()
    {
        var left = Power();
        while (true)
        {
            if (TakeOp("*")) left = Binary(left, Power(), (a, b) => a * b);
            else if (TakeOp("/")) left = Binary(left, Power(), (a, b) => a / b);
            else return left;
        }
    }

    MathValue Power()
    {
        var left = Unary();
        return TakeOp("^") ? Binary(left, Power(), Math.Pow) : left;
    }

    MathValue Unary() => TakeOp("-") ? Map(Unary(), v => -v) : TakeOp("+") ? Unary() : Primary();

    MathValue Primary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Number:
                return double.TryParse(t.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                    ? new MathScalar(n) : throw new MetricMathException($"Invalid number '{t.Text}' at position {t.Position}.");
            case TokenKind.LParen:
                var inner = Or();
                Expect(TokenKind.RParen, "')'");
                return inner;
            case TokenKind.LBracket:
                var items = new List<MathSeries>();
                do
                {
                    items.AddRange(AsSeriesList(Or(), t.Position));
                } while (Peek.Kind == TokenKind.Comma && Next() is not null);
                Expect(TokenKind.RBracket, "']'");
                return new MathArray(items);
            case TokenKind.Name when Peek.Kind == TokenKind.LParen:
                _at++;
                var args = new List<object>();
                if (Peek.Kind != TokenKind.RParen)
                {
                    do
                    {
                        // REPEAT and LINEAR are FILL's keywords, strings are SEARCH's and METRICS' arguments.
                        if (Peek.Kind == TokenKind.String) args.Add(Next().Text);
                        else if (Peek.Kind == TokenKind.Name && Peek.Text is "REPEAT" or "LINEAR" && _tokens[_at + 1].Kind is TokenKind.RParen or TokenKind.Comma) args.Add(Next().Text);
                        else args.Add(Or());
                    } while (Peek.Kind == TokenKind.Comma && Next() is not null);
                }
                Expect(TokenKind.RParen, "')'");
                return Call(t.Text.ToUpperInvariant(), args, t.Position);
            case TokenKind.Name:
                return context.Resolve(t.Text) ?? throw new MetricMathException($"Unrecognized identifier '{t.Text}' at position {t.Position}: no query of the request has this Id.");
            default:
                throw new MetricMathException($"Unexpected '{t.Text}' at position {t.Position}.");
        }
    }

    // ---- functions ----

    MathValue Call(string name, List<object> args, int position)
    {
        MathValue Arg(int i) => i < args.Count && args[i] is MathValue v ? v
            : throw new MetricMathException($"{name} at position {position}: argument {i + 1} must be a number or a time series.");
        void Count(int min, int max)
        {
            if (args.Count < min || args.Count > max)
                throw new MetricMathException($"{name} at position {position} takes {(min == max ? min.ToString(CultureInfo.InvariantCulture) : $"{min} to {max}")} arguments, not {args.Count}.");
        }
        switch (name)
        {
            case "ABS": Count(1, 1); return Map(Arg(0), Math.Abs);
            case "CEIL": Count(1, 1); return Map(Arg(0), Math.Ceiling);
            case "FLOOR": Count(1, 1); return Map(Arg(0), Math.Floor);
            case "SQRT": Count(1, 1); return Map(Arg(0), Math.Sqrt);
            case "LOG": Count(1, 1); return Map(Arg(0), Math.Log);
            case "LOG10": Count(1, 1); return Map(Arg(0), Math.Log10);
            case "SUM": Count(1, 1); return Aggregate(Arg(0), v => v.Sum());
            case "AVG": Count(1, 1); return Aggregate(Arg(0), v => v.Average());
            case "MIN": Count(1, 1); return Aggregate(Arg(0), v => v.Min());
            case "MAX": Count(1, 1); return Aggregate(Arg(0), v => v.Max());
            case "STDDEV":
                Count(1, 1);
                return Aggregate(Arg(0), v =>
                {
                    var mean = v.Average();
                    return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Count);
                });
            case "METRICS":
                Count(0, 1);
                var filter = args.Count == 1 ? args[0] as string ?? throw new MetricMathException("METRICS takes a string.") : null;
                return new MathArray(context.MetricIds.Where(id => filter is null || id.Contains(filter, StringComparison.Ordinal))
                    .SelectMany(id => AsSeriesList(context.Resolve(id)!, position)).ToList());
            case "PERIOD": Count(1, 1); Arg(0); return new MathScalar(context.Period);
            case "RATE": Count(1, 1); return PerSeries(Arg(0), s => Consecutive(s, (t0, v0, t1, v1) => (v1 - v0) / (t1 - t0)));
            case "DIFF": Count(1, 1); return PerSeries(Arg(0), s => Consecutive(s, (_, v0, _, v1) => v1 - v0));
            case "DIFF_TIME": Count(1, 1); return PerSeries(Arg(0), s => Consecutive(s, (t0, _, t1, _) => t1 - t0));
            case "RUNNING_SUM":
                Count(1, 1);
                return PerSeries(Arg(0), s =>
                {
                    double total = 0;
                    return new SortedDictionary<long, double>(s.Points.ToDictionary(p => p.Key, p => total += p.Value));
                });
            case "FILL": Count(2, 2); return Fill(Arg(0), args[1]);
            case "IF":
                Count(2, 3);
                return If(Arg(0), Arg(1), args.Count == 3 ? Arg(2) : null);
            case "SEARCH":
                Count(3, 3);
                var query = args[0] as string ?? throw new MetricMathException("SEARCH's first argument must be a string: the search expression.");
                var stat = args[1] as string ?? throw new MetricMathException("SEARCH's second argument must be a string: the statistic.");
                var period = Arg(2) is MathScalar { Value: var p } && p >= 1 && p == Math.Floor(p) ? (int)p
                    : throw new MetricMathException("SEARCH's third argument must be the period in seconds.");
                return context.Search(query, stat, period);
            default:
                throw new MetricMathException($"Unknown function '{name}' at position {position}.");
        }
    }

    static IEnumerable<MathSeries> AsSeriesList(MathValue v, int position) => v switch
    {
        MathSeries s => [s],
        MathArray a => a.Series,
        _ => throw new MetricMathException($"A time series is expected at position {position}, not a number."),
    };

    static SortedDictionary<long, double> Consecutive(MathSeries s, Func<long, double, long, double, double> f)
    {
        var result = new SortedDictionary<long, double>();
        KeyValuePair<long, double>? previous = null;
        foreach (var p in s.Points)
        {
            if (previous is { } q) result[p.Key] = f(q.Key, q.Value, p.Key, p.Value);
            previous = p;
        }
        return result;
    }

    static MathValue PerSeries(MathValue v, Func<MathSeries, SortedDictionary<long, double>> f) => v switch
    {
        MathSeries s => s with { Points = f(s) },
        MathArray a => new MathArray(a.Series.Select(s => s with { Points = f(s) }).ToList()),
        _ => throw new MetricMathException("This function takes a time series, not a number."),
    };

    /// <summary>A one-series function reduces to a number; an array's, to the series across it.</summary>
    static MathValue Aggregate(MathValue v, Func<List<double>, double> f) => v switch
    {
        MathScalar s => s,
        MathSeries s => s.Points.Count == 0 ? new MathScalar(double.NaN) : new MathScalar(f(s.Points.Values.ToList())),
        MathArray a => new MathSeries("", new SortedDictionary<long, double>(a.Series.SelectMany(s => s.Points)
            .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => f(g.Select(p => p.Value).ToList())))),
        _ => throw new InvalidOperationException(),
    };

    static MathValue Map(MathValue v, Func<double, double> f) => v switch
    {
        MathScalar s => new MathScalar(f(s.Value)),
        MathSeries s => s with { Points = new SortedDictionary<long, double>(s.Points.ToDictionary(p => p.Key, p => f(p.Value))) },
        MathArray a => new MathArray(a.Series.Select(s => (MathSeries)Map(s, f)).ToList()),
        _ => throw new InvalidOperationException(),
    };

    static MathValue Binary(MathValue a, MathValue b, Func<double, double, double> f)
    {
        switch (a, b)
        {
            case (MathScalar x, MathScalar y): return new MathScalar(f(x.Value, y.Value));
            case (MathScalar x, _): return Map(b, v => f(x.Value, v));
            case (_, MathScalar y): return Map(a, v => f(v, y.Value));
            case (MathSeries x, MathSeries y):
                var points = new SortedDictionary<long, double>();
                foreach (var (t, v) in x.Points)
                    if (y.Points.TryGetValue(t, out var w)) points[t] = f(v, w);
                return new MathSeries(x.Label, points);
            case (MathArray x, MathSeries y): return new MathArray(x.Series.Select(s => (MathSeries)Binary(s, y, f)).ToList());
            case (MathSeries x, MathArray y): return new MathArray(y.Series.Select(s => (MathSeries)Binary(x, s, f)).ToList());
            default: throw new MetricMathException("Two arrays of time series cannot be combined.");
        }
    }

    MathValue Fill(MathValue v, object with) => PerSeries(v, s =>
    {
        var filled = new SortedDictionary<long, double>(s.Points);
        var timeline = context.Timeline;
        switch (with)
        {
            case "REPEAT":
                double? last = null;
                foreach (var t in timeline)
                {
                    if (s.Points.TryGetValue(t, out var value)) last = value;
                    else if (last is { } l) filled[t] = l;
                }
                break;
            case "LINEAR":
                var known = s.Points.ToList();
                foreach (var t in timeline)
                {
                    if (s.Points.ContainsKey(t)) continue;
                    var before = known.LastOrDefault(p => p.Key < t);
                    var after = known.FirstOrDefault(p => p.Key > t);
                    if (known.Any(p => p.Key < t) && known.Any(p => p.Key > t))
                        filled[t] = before.Value + (after.Value - before.Value) * (t - before.Key) / (after.Key - before.Key);
                }
                break;
            case MathScalar scalar:
                foreach (var t in timeline) filled.TryAdd(t, scalar.Value);
                break;
            case MathSeries other:
                foreach (var t in timeline)
                    if (!filled.ContainsKey(t) && other.Points.TryGetValue(t, out var o)) filled[t] = o;
                break;
            default:
                throw new MetricMathException("FILL's second argument must be a number, a time series, REPEAT or LINEAR.");
        }
        return filled;
    });

    MathValue If(MathValue condition, MathValue then, MathValue? otherwise)
    {
        double? At(MathValue v, long t) => v switch
        {
            MathScalar s => s.Value,
            MathSeries s => s.Points.TryGetValue(t, out var x) ? x : null,
            _ => throw new MetricMathException("IF's values must be numbers or single time series."),
        };
        MathSeries Select(MathSeries c)
        {
            var points = new SortedDictionary<long, double>();
            foreach (var (t, v) in c.Points)
                if ((v != 0 ? At(then, t) : otherwise is null ? null : At(otherwise, t)) is { } chosen) points[t] = chosen;
            return new MathSeries(c.Label, points);
        }
        return condition switch
        {
            MathScalar s => s.Value != 0 ? then : otherwise ?? new MathSeries("", []),
            MathSeries s => Select(s),
            MathArray a => new MathArray(a.Series.Select(Select).ToList()),
            _ => throw new InvalidOperationException(),
        };
    }
}
