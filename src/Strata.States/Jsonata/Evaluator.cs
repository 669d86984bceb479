using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Strata.States.Jsonata;

/// <summary>What one evaluation shares: its clock reading ($now and $millis agree within an evaluation) and randomness.</summary>
internal sealed class EvalContext(DateTimeOffset now, Random random, long maxSteps)
{
    private long _steps;
    public DateTimeOffset Now { get; } = now;
    public Random Random { get; } = random;

    /// <summary>Counts evaluation steps: a tail-recursive function that never ends would otherwise loop forever.</summary>
    public void Step(int position)
    {
        if (++_steps > maxSteps)
            throw new JsonataException("U1001", "Expression evaluation exceeded " + maxSteps + " steps: check for an infinite loop", position);
    }
}

/// <summary>A scope of variable bindings. The function library sits below the outermost frame.</summary>
internal sealed class Frame(Frame? parent, EvalContext context)
{
    private readonly Frame? _parent = parent;
    private Dictionary<string, object?>? _bindings;
    public EvalContext Context { get; } = context;

    public Frame Child() => new(this, Context);

    public void Bind(string name, object? value) => (_bindings ??= new(StringComparer.Ordinal))[name] = value;

    public object? Lookup(string name)
    {
        for (var f = this; f is not null; f = f._parent)
            if (f._bindings is not null && f._bindings.TryGetValue(name, out var v) && v is not null) return v;
        return Functions.Library.GetValueOrDefault(name);
    }
}

/// <summary>A user function (<c>function($x){...}</c>): its body closes over the frame and context where it was defined.</summary>
internal sealed class Lambda(Node node, Frame environment, object? input) : JFunction
{
    public Node Node { get; } = node;
    public Frame Environment { get; } = environment;
    public object? Input { get; } = input;
    public override int Arity => Node.Arguments!.Count;
}

/// <summary>A call in tail position of a lambda's body, not yet made: <see cref="Evaluator.Apply"/> makes it.</summary>
internal sealed class TailCall(Node call, object? input, Frame env)
{
    public Node Call { get; } = call;
    public object? Input { get; } = input;
    public Frame Env { get; } = env;
}

/// <summary>The '?' of a partial application.</summary>
internal sealed class Placeholder
{
    public static readonly Placeholder Value = new();
}

/// <summary>A function with some arguments already given (<c>$substring(?, 0, 2)</c>).</summary>
internal sealed class PartialFunction(JFunction target, object?[] bound, string name) : JFunction
{
    public JFunction Target { get; } = target;
    public object?[] Bound { get; } = bound;
    public string Name { get; } = name;
    public override int Arity => Bound.Count(b => ReferenceEquals(b, Placeholder.Value));
}

/// <summary><c>f ~> g</c> where both are functions: a function that applies f then g.</summary>
internal sealed class ComposedFunction(JFunction first, JFunction second) : JFunction
{
    public JFunction First { get; } = first;
    public JFunction Second { get; } = second;
    public override int Arity => 1;
}

/// <summary>A regular expression literal: JSONata treats it as a function of a string.</summary>
internal sealed class RegexFunction(Regex regex) : JFunction
{
    public Regex Regex { get; } = regex;
    public override int Arity => 1;
}

/// <summary><c>| pattern | update, delete |</c>: a function that copies its argument and changes the copy.</summary>
internal sealed class TransformFunction(Node node, Frame environment) : JFunction
{
    public Node Node { get; } = node;
    public Frame Environment { get; } = environment;
    public override int Arity => 1;
}

internal static class RegexSupport
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static Regex Compile(RegexLiteral literal, int position)
    {
        var options = RegexOptions.CultureInvariant;
        if (literal.Flags.Contains('i')) options |= RegexOptions.IgnoreCase;
        if (literal.Flags.Contains('m')) options |= RegexOptions.Multiline;
        if (literal.Flags.Contains('s')) options |= RegexOptions.Singleline;
        try
        {
            return new Regex(literal.Pattern, options, Timeout);
        }
        catch (ArgumentException)
        {
            throw JsonataErrors.Create("S0201", position, token: "/" + literal.Pattern + "/");
        }
    }
}

internal static class Evaluator
{
    public static object? Evaluate(Node expr, object? input, Frame env)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw JsonataErrors.Create("U1001", expr.Position);
        env.Context.Step(expr.Position);
        var result = expr.Type switch
        {
            "path" => EvaluatePath(expr, input, env),
            "binary" => EvaluateBinary(expr, input, env),
            "unary" => EvaluateUnary(expr, input, env),
            "name" => Lookup(input, expr.Op),
            "string" or "number" or "value" => expr.Value,
            "wildcard" => EvaluateWildcard(input),
            "descendant" => EvaluateDescendants(input),
            "parent" => env.Lookup(expr.Slot!.Label),
            "condition" => EvaluateCondition(expr, input, env),
            "block" => EvaluateBlock(expr, input, env),
            "bind" => EvaluateBind(expr, input, env),
            "regex" => new RegexFunction(expr.CompiledRegex!),
            "function" when expr.TailCall => new TailCall(expr, input, env),
            "function" => EvaluateFunction(expr, input, env, null, false),
            "variable" => expr.Op.Length == 0 ? (input is JArray { OuterWrapper: true } w ? w[0] : input) : env.Lookup(expr.Op),
            "lambda" => new Lambda(expr, env, input) { Signature = expr.Signature },
            "partial" => EvaluatePartial(expr, input, env),
            "apply" => EvaluateApply(expr, input, env),
            "transform" => new TransformFunction(expr, env) { Signature = TransformSignature },
            _ => throw JsonataErrors.Create("S0206", expr.Position, token: expr.Type),
        };
        if (expr.Predicate is not null)
            foreach (var stage in expr.Predicate) result = EvaluateFilter(stage.Expr!, result, env);
        if (expr.Type != "path" && expr.Group is not null) result = EvaluateGroup(expr.Group.Pairs, expr.Group.Position, result, env);
        if (result is JArray { Sequence: true, TupleStream: false } seq)
        {
            if (expr.KeepArray) seq.KeepSingleton = true;
            if (seq.Count == 0) result = null;
            else if (seq.Count == 1) result = seq.KeepSingleton ? seq : seq[0];
        }
        return result;
    }

    private static readonly Signature TransformSignature = Signature.Parse("<(oa):o>");

    private static object? EvaluatePath(Node expr, object? input, Frame env)
    {
        var steps = expr.Steps!;
        var inputSequence = input is JArray a && steps[0].Type != "variable" ? a : JArray.Seq(input);
        JArray? resultSequence = null;
        var isTupleStream = false;
        JArray? tupleBindings = null;
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            if (step.Tuple) isTupleStream = true;
            if (i == 0 && step.ConsArray)
            {
                var r = Evaluate(step, inputSequence, env);
                resultSequence = r is JArray ra ? ra : JArray.Seq(r);
            }
            else if (isTupleStream) tupleBindings = EvaluateTupleStep(step, inputSequence, tupleBindings, env);
            else resultSequence = EvaluateStep(step, inputSequence, env, i == steps.Count - 1);
            if (!isTupleStream && (resultSequence is null || resultSequence.Count == 0)) break;
            if (step.Focus is null) inputSequence = resultSequence ?? JArray.Seq();
        }
        if (isTupleStream)
        {
            if (expr.Tuple) resultSequence = tupleBindings;
            else
            {
                resultSequence = JArray.Seq();
                foreach (var t in tupleBindings!) resultSequence.Add(((Tuple)t!).GetValueOrDefault("@"));
            }
        }
        if (expr.KeepSingletonArray && resultSequence is not null)
        {
            if (resultSequence.Cons && !resultSequence.Sequence) resultSequence = JArray.Seq(resultSequence);
            resultSequence.KeepSingleton = true;
        }
        if (expr.Group is not null)
            return EvaluateGroup(expr.Group.Pairs, expr.Group.Position, isTupleStream ? tupleBindings : resultSequence, env);
        return resultSequence;
    }

    private static Frame FrameFromTuple(Frame env, Tuple tuple)
    {
        var frame = env.Child();
        foreach (var (k, v) in tuple) frame.Bind(k, v);
        return frame;
    }

    private static JArray? EvaluateStep(Node expr, JArray input, Frame env, bool lastStep)
    {
        if (expr.Type == "sort")
        {
            var sorted = EvaluateSort(expr, input, env);
            if (expr.Stages is not null) sorted = EvaluateStages(expr.Stages, sorted, env);
            return sorted;
        }
        var result = new List<object?>();
        foreach (var item in input)
        {
            var res = Evaluate(expr, item, env);
            if (expr.Stages is not null)
                foreach (var stage in expr.Stages) res = EvaluateFilter(stage.Expr!, res, env);
            if (res is not null) result.Add(res);
        }
        if (lastStep && result.Count == 1 && result[0] is JArray { Sequence: false } only) return only;
        var sequence = JArray.Seq();
        foreach (var res in result)
        {
            if (res is not JArray arr || arr.Cons) sequence.Add(res);
            else sequence.AddRange(arr);
        }
        return sequence;
    }

    private static JArray EvaluateStages(List<Stage> stages, JArray input, Frame env)
    {
        var result = input;
        foreach (var stage in stages)
        {
            if (stage.Kind == "filter") result = EvaluateFilter(stage.Expr!, result, env);
            else
                for (var i = 0; i < result.Count; i++) ((Tuple)result[i]!)[stage.Variable!] = (double)i;
        }
        return result;
    }

    private static JArray EvaluateTupleStep(Node expr, JArray input, JArray? tupleBindings, Frame env)
    {
        JArray result;
        if (expr.Type == "sort")
        {
            if (tupleBindings is not null) result = EvaluateSort(expr, tupleBindings, env);
            else
            {
                var sorted = EvaluateSort(expr, input, env);
                result = new JArray { Sequence = true, TupleStream = true };
                for (var i = 0; i < sorted.Count; i++)
                {
                    var t = new Tuple { ["@"] = sorted[i] };
                    if (expr.Index is not null) t[expr.Index] = (double)i;
                    result.Add(t);
                }
            }
            if (expr.Stages is not null) result = EvaluateStages(expr.Stages, result, env);
            return result;
        }
        result = new JArray { Sequence = true, TupleStream = true };
        if (tupleBindings is null)
        {
            tupleBindings = new JArray { Sequence = true, TupleStream = true };
            foreach (var item in input) tupleBindings.Add(new Tuple { ["@"] = item });
        }
        foreach (var bindingItem in tupleBindings)
        {
            var binding = (Tuple)bindingItem!;
            var stepEnv = FrameFromTuple(env, binding);
            var res = Evaluate(expr, binding.GetValueOrDefault("@"), stepEnv);
            if (res is null) continue;
            var resArr = res as JArray ?? new JArray { res };
            for (var b = 0; b < resArr.Count; b++)
            {
                var tuple = new Tuple(binding);
                if (resArr.TupleStream)
                {
                    foreach (var (k, v) in (Tuple)resArr[b]!) tuple[k] = v;
                }
                else
                {
                    if (expr.Focus is not null)
                    {
                        tuple[expr.Focus] = resArr[b];
                        tuple["@"] = binding.GetValueOrDefault("@");
                    }
                    else tuple["@"] = resArr[b];
                    if (expr.Index is not null) tuple[expr.Index] = (double)b;
                    if (expr.Ancestor is not null) tuple[expr.Ancestor.Label] = binding.GetValueOrDefault("@");
                }
                result.Add(tuple);
            }
        }
        if (expr.Stages is not null) result = EvaluateStages(expr.Stages, result, env);
        return result;
    }

    private static JArray EvaluateFilter(Node predicate, object? input, Frame env)
    {
        var isTuple = input is JArray { TupleStream: true };
        var results = new JArray { Sequence = true, TupleStream = isTuple };
        var items = input as JArray ?? JArray.Seq(input);
        if (predicate.Type == "number")
        {
            var index = (int)Math.Floor((double)predicate.Value!);
            if (index < 0) index = items.Count + index;
            if (index >= 0 && index < items.Count)
            {
                var item = items[index];
                if (item is JArray arr) return arr;
                results.Add(item);
            }
            return results;
        }
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            var context = item;
            var frame = env;
            if (isTuple)
            {
                context = ((Tuple)item!).GetValueOrDefault("@");
                frame = FrameFromTuple(env, (Tuple)item!);
            }
            var res = Evaluate(predicate, context, frame);
            if (res is double) res = new JArray { res };
            if (res is JArray ra && ra.Count > 0 && ra.All(x => x is double))
            {
                foreach (var iresItem in ra)
                {
                    var ii = (int)Math.Floor((double)iresItem!);
                    if (ii < 0) ii = items.Count + ii;
                    if (ii == index) results.Add(item);
                }
            }
            else if (Values.Truthy(res)) results.Add(item);
        }
        return results;
    }

    public static object? Lookup(object? input, string key)
    {
        if (input is JArray arr)
        {
            var result = JArray.Seq();
            foreach (var item in arr)
            {
                var res = Lookup(item, key);
                if (res is null) continue;
                if (res is JArray ra) result.AddRange(ra);
                else result.Add(res);
            }
            return result;
        }
        return input is JObject o ? o.GetValueOrDefault(key) : null;
    }

    private static JArray EvaluateWildcard(object? input)
    {
        var results = JArray.Seq();
        if (input is JArray { OuterWrapper: true } w && w.Count > 0) input = w[0];
        if (input is JObject o)
        {
            foreach (var value in o.Values)
            {
                if (value is JArray arr) Flatten(arr, results);
                else if (value is not null) results.Add(value);
            }
        }
        return results;
    }

    private static void Flatten(object? v, JArray into)
    {
        if (v is JArray arr)
            foreach (var x in arr) Flatten(x, into);
        else into.Add(v);
    }

    private static object? EvaluateDescendants(object? input)
    {
        if (input is null) return null;
        var results = JArray.Seq();
        RecurseDescendants(input, results);
        return results.Count == 1 ? results[0] : results;
    }

    private static void RecurseDescendants(object? input, JArray results)
    {
        if (input is JArray arr)
        {
            foreach (var m in arr) RecurseDescendants(m, results);
            return;
        }
        results.Add(input);
        if (input is JObject o)
            foreach (var v in o.Values) RecurseDescendants(v, results);
    }

    private static object? EvaluateCondition(Node expr, object? input, Frame env)
    {
        var condition = Evaluate(expr.Condition!, input, env);
        if (Values.Truthy(condition)) return Evaluate(expr.Then!, input, env);
        return expr.Else is null ? null : Evaluate(expr.Else, input, env);
    }

    private static object? EvaluateBlock(Node expr, object? input, Frame env)
    {
        var frame = env.Child();
        object? result = null;
        foreach (var e in expr.Expressions!) result = Evaluate(e, input, frame);
        return result;
    }

    private static object? EvaluateBind(Node expr, object? input, Frame env)
    {
        var value = Evaluate(expr.Rhs!, input, env);
        env.Bind(expr.Lhs!.Op, value);
        return value;
    }

    private static object? EvaluateBinary(Node expr, object? input, Frame env)
    {
        var lhs = Evaluate(expr.Lhs!, input, env);
        var op = expr.Op;
        if (op == "and") return Values.Truthy(lhs) && Values.Truthy(Evaluate(expr.Rhs!, input, env));
        if (op == "or") return Values.Truthy(lhs) || Values.Truthy(Evaluate(expr.Rhs!, input, env));
        var rhs = Evaluate(expr.Rhs!, input, env);
        switch (op)
        {
            case "+" or "-" or "*" or "/" or "%":
                {
                    if (lhs is not null && !IsNumeric(lhs, expr.Position)) throw JsonataErrors.Create("T2001", expr.Position, value: lhs, token: op);
                    if (rhs is not null && !IsNumeric(rhs, expr.Position)) throw JsonataErrors.Create("T2002", expr.Position, value: rhs, token: op);
                    if (lhs is null || rhs is null) return null;
                    double l = (double)lhs, r = (double)rhs;
                    return op switch
                    {
                        "+" => l + r,
                        "-" => l - r,
                        "*" => l * r,
                        "/" => l / r,
                        _ => l % r,
                    };
                }
            case "=" or "!=":
                if (lhs is null || rhs is null) return false;
                return op == "=" ? Values.DeepEquals(lhs, rhs) : !Values.DeepEquals(lhs, rhs);
            case "<" or "<=" or ">" or ">=":
                {
                    var lc = lhs is null or string or double;
                    var rc = rhs is null or string or double;
                    if (!lc || !rc) throw JsonataErrors.Create("T2010", expr.Position, value: !lc ? lhs : rhs, token: op);
                    if (lhs is null || rhs is null) return false;
                    if (lhs.GetType() != rhs.GetType()) throw JsonataErrors.Create("T2009", expr.Position, value: lhs, value2: rhs, token: op);
                    var c = lhs is double ld ? ld.CompareTo((double)rhs) : string.CompareOrdinal((string)lhs, (string)rhs);
                    return op switch
                    {
                        "<" => c < 0,
                        "<=" => c <= 0,
                        ">" => c > 0,
                        _ => c >= 0,
                    };
                }
            case "&":
                {
                    var joined = (lhs is null ? "" : Functions.ToStringValue(lhs, false, expr.Position)) + (rhs is null ? "" : Functions.ToStringValue(rhs, false, expr.Position));
                    // A string doubled in a loop would take the process's memory long before the step
                    // limit ends it; nothing larger than Step Functions' payload limit can be used anyway.
                    if (joined.Length > Functions.MaxStringLength)
                        throw new JsonataException("D3137", $"The string built by '&' is longer than {Functions.MaxStringLength} characters", expr.Position);
                    return joined;
                }
            case "..":
                {
                    if (lhs is not null && !(lhs is double ld2 && Math.Floor(ld2) == ld2)) throw JsonataErrors.Create("T2003", expr.Position, value: lhs, token: op);
                    if (rhs is not null && !(rhs is double rd2 && Math.Floor(rd2) == rd2)) throw JsonataErrors.Create("T2004", expr.Position, value: rhs, token: op);
                    if (lhs is null || rhs is null) return null;
                    double from = (double)lhs, to = (double)rhs;
                    if (from > to) return null;
                    var size = to - from + 1;
                    if (size > 1e7) throw JsonataErrors.Create("D2014", expr.Position, value: size, token: op);
                    var result = new JArray { Sequence = true };
                    result.Capacity = (int)size;
                    for (var i = 0; i < (int)size; i++) result.Add(from + i);
                    return result;
                }
            case "in":
                {
                    if (lhs is null || rhs is null) return false;
                    var arr = rhs as JArray ?? [rhs];
                    return arr.Any(x => StrictEquals(x, lhs));
                }
            default:
                throw JsonataErrors.Create("S0201", expr.Position, token: op);
        }
    }

    // JavaScript's ===: values for primitives, identity for objects and arrays.
    private static bool StrictEquals(object? a, object? b) => a switch
    {
        double x => b is double y && x == y,
        string s => b is string t && s == t,
        bool p => b is bool q && p == q,
        _ => ReferenceEquals(a, b),
    };

    public static bool IsNumeric(object? v, int position)
    {
        if (v is not double d) return false;
        if (double.IsNaN(d)) return false;
        if (double.IsInfinity(d)) throw JsonataErrors.Create("D1001", position, value: d);
        return true;
    }

    private static object? EvaluateUnary(Node expr, object? input, Frame env)
    {
        switch (expr.Op)
        {
            case "-":
                {
                    var v = Evaluate(expr.Expression!, input, env);
                    if (v is null) return null;
                    if (IsNumeric(v, expr.Position)) return -(double)v;
                    throw JsonataErrors.Create("D1002", expr.Position, value: v, token: "-");
                }
            case "[":
                {
                    var result = new JArray();
                    foreach (var item in expr.Expressions!)
                    {
                        var value = Evaluate(item, input, env);
                        if (value is null) continue;
                        if (item.Type == "unary" && item.Op == "[") result.Add(value);
                        else if (value is JArray va) result.AddRange(va);
                        else result.Add(value);
                    }
                    if (expr.ConsArray) result.Cons = true;
                    return result;
                }
            case "{":
                return EvaluateGroup(expr.Pairs!, expr.Position, input, env);
            default:
                throw JsonataErrors.Create("S0211", expr.Position, token: expr.Op);
        }
    }

    private static JObject EvaluateGroup(List<(Node Key, Node Value)> pairs, int position, object? input, Frame env)
    {
        var result = new JObject();
        var groups = new OrderedDictionary<string, (object? Data, int ExprIndex)>(StringComparer.Ordinal);
        var reduce = input is JArray { TupleStream: true };
        var items = input as JArray ?? JArray.Seq(input);
        if (items.Count == 0) items = new JArray { null };
        foreach (var item in items)
        {
            var frame = reduce ? FrameFromTuple(env, (Tuple)item!) : env;
            for (var p = 0; p < pairs.Count; p++)
            {
                var key = Evaluate(pairs[p].Key, reduce ? ((Tuple)item!).GetValueOrDefault("@") : item, frame);
                if (key is null) continue;
                if (key is not string k) throw JsonataErrors.Create("T1003", position, value: key);
                if (groups.TryGetValue(k, out var existing))
                {
                    if (existing.ExprIndex != p) throw JsonataErrors.Create("D1009", position, value: k);
                    groups[k] = (reduce ? AppendTuple(existing.Data, item) : Values.Append(existing.Data, item), p);
                }
                else groups[k] = (item, p);
            }
        }
        foreach (var (key, entry) in groups)
        {
            var context = entry.Data;
            var frame = env;
            if (reduce)
            {
                var tuple = ReduceTupleStream(entry.Data);
                context = tuple.GetValueOrDefault("@");
                tuple.Remove("@");
                frame = FrameFromTuple(env, tuple);
            }
            var value = Evaluate(pairs[entry.ExprIndex].Value, context, frame);
            if (value is not null) result[key] = value;
        }
        return result;
    }

    private static object AppendTuple(object? data, object? item)
    {
        if (data is JArray { TupleStream: true } list)
        {
            list.Add(item);
            return list;
        }
        var tuples = new JArray { Sequence = true, TupleStream = true }; // a tuple list to reduce later
        tuples.Add(data);
        tuples.Add(item);
        return tuples;
    }

    private static Tuple ReduceTupleStream(object? data)
    {
        if (data is not JArray list) return new Tuple((Tuple)data!);
        var result = new Tuple((Tuple)list[0]!);
        for (var i = 1; i < list.Count; i++)
            foreach (var (k, v) in (Tuple)list[i]!) result[k] = Values.Append(result.GetValueOrDefault(k), v);
        return result;
    }

    private static JArray EvaluateSort(Node expr, JArray input, Frame env)
    {
        var isTupleSort = input.TupleStream;
        bool Greater(object? a, object? b)
        {
            var comp = 0;
            for (var i = 0; comp == 0 && i < expr.Terms!.Count; i++)
            {
                var term = expr.Terms[i];
                var aa = isTupleSort ? Evaluate(term.Expression, ((Tuple)a!).GetValueOrDefault("@"), FrameFromTuple(env, (Tuple)a!)) : Evaluate(term.Expression, a, env);
                var bb = isTupleSort ? Evaluate(term.Expression, ((Tuple)b!).GetValueOrDefault("@"), FrameFromTuple(env, (Tuple)b!)) : Evaluate(term.Expression, b, env);
                if (aa is null)
                {
                    comp = bb is null ? 0 : 1;
                    continue;
                }
                if (bb is null)
                {
                    comp = -1;
                    continue;
                }
                var aok = aa is string or double;
                var bok = bb is string or double;
                if (!aok || !bok) throw JsonataErrors.Create("T2008", expr.Position, value: !aok ? aa : bb);
                if (aa.GetType() != bb.GetType()) throw JsonataErrors.Create("T2007", expr.Position, value: aa, value2: bb);
                comp = aa is double ad ? ad.CompareTo((double)bb) : Math.Sign(string.CompareOrdinal((string)aa, (string)bb));
                if (term.Descending) comp = -comp;
            }
            return comp == 1;
        }
        var sorted = MergeSort(input, Greater);
        return new JArray(sorted) { Sequence = true, TupleStream = isTupleSort };
    }

    /// <summary>A stable merge sort driven by "should a come after b" (the contract of $sort's comparator).</summary>
    public static List<object?> MergeSort(IReadOnlyList<object?> items, Func<object?, object?, bool> swap)
    {
        if (items.Count <= 1) return [.. items];
        var middle = items.Count / 2;
        var left = MergeSort(items.Take(middle).ToList(), swap);
        var right = MergeSort(items.Skip(middle).ToList(), swap);
        var result = new List<object?>(items.Count);
        int i = 0, j = 0;
        while (i < left.Count && j < right.Count)
        {
            if (swap(left[i], right[j])) result.Add(right[j++]);
            else result.Add(left[i++]);
        }
        while (i < left.Count) result.Add(left[i++]);
        while (j < right.Count) result.Add(right[j++]);
        return result;
    }

    private static string ProcedureName(Node procedure) =>
        procedure.Type == "path" ? procedure.Steps![0].Op : procedure.Op;

    private static object? EvaluateFunction(Node expr, object? input, Frame env, object? applyTo, bool hasApplyTo, bool tail = false)
    {
        var proc = Evaluate(expr.Procedure!, input, env);
        var name = ProcedureName(expr.Procedure!);
        if (proc is null && expr.Procedure!.Type == "path" && env.Lookup(name) is not null)
            throw JsonataErrors.Create("T1005", expr.Position, token: name);
        var args = new List<object?>();
        if (hasApplyTo) args.Add(applyTo);
        foreach (var a in expr.Arguments!) args.Add(Evaluate(a, input, env));
        try
        {
            return tail ? ApplyInner(proc, args, input, env, name, expr.Position) : Apply(proc, args, input, env, name, expr.Position);
        }
        catch (JsonataException e) when (e.Position == 0)
        {
            throw JsonataErrors.WithPosition(e, expr.Position);
        }
    }

    /// <summary>Applies a function. A call in a lambda's tail position comes back as a <see cref="TailCall"/>, made here in a
    /// loop rather than by recursion (as the reference implementation does), so tail-recursive functions run in constant stack.</summary>
    public static object? Apply(object? procedure, List<object?> args, object? input, Frame env, string name = "", int position = 0)
    {
        var result = ApplyInner(procedure, args, input, env, name, position);
        while (result is TailCall call) result = EvaluateFunction(call.Call, call.Input, call.Env, null, false, tail: true);
        return result;
    }

    private static object? ApplyInner(object? procedure, List<object?> args, object? input, Frame env, string name, int position)
    {
        if (procedure is not JFunction fn) throw JsonataErrors.Create("T1006", position, token: name);
        var validated = fn.Signature is null ? args : fn.Signature.Validate(args, input, name, position);
        switch (fn)
        {
            case Lambda lambda:
                {
                    var frame = lambda.Environment.Child();
                    var parameters = lambda.Node.Arguments!;
                    for (var i = 0; i < parameters.Count; i++) frame.Bind(parameters[i].Op, i < validated.Count ? validated[i] : null);
                    return Evaluate(lambda.Node.Body!, lambda.Input, frame);
                }
            case Builtin builtin:
                return builtin.Implementation(new CallContext(input, env, builtin.Name, position), validated);
            case PartialFunction partial:
                {
                    var full = new List<object?>();
                    var next = 0;
                    foreach (var b in partial.Bound)
                        full.Add(ReferenceEquals(b, Placeholder.Value) ? (next < validated.Count ? validated[next++] : null) : b);
                    return Apply(partial.Target, full, input, env, partial.Name, position);
                }
            case ComposedFunction composed:
                {
                    var first = Apply(composed.First, [validated.Count > 0 ? validated[0] : null], null, env, name, position);
                    return Apply(composed.Second, [first], null, env, name, position);
                }
            case RegexFunction regex:
                {
                    var s = validated.Count > 0 ? validated[0] as string : null;
                    if (s is null) return null;
                    var m = regex.Regex.Match(s);
                    return m.Success ? Functions.MatchObject(m) : null;
                }
            case TransformFunction transform:
                return ApplyTransform(transform, validated.Count > 0 ? validated[0] : null);
            default:
                throw JsonataErrors.Create("T1006", position, token: name);
        }
    }

    private static object? EvaluatePartial(Node expr, object? input, Frame env)
    {
        var bound = new object?[expr.Arguments!.Count];
        for (var i = 0; i < bound.Length; i++)
        {
            var arg = expr.Arguments[i];
            bound[i] = arg.Type == "operator" && arg.Op == "?" ? Placeholder.Value : Evaluate(arg, input, env);
        }
        var proc = Evaluate(expr.Procedure!, input, env);
        var name = ProcedureName(expr.Procedure!);
        if (proc is null && expr.Procedure!.Type == "path" && env.Lookup(name) is not null)
            throw JsonataErrors.Create("T1007", expr.Position, token: name);
        if (proc is not JFunction fn) throw JsonataErrors.Create("T1008", expr.Position, token: name);
        return new PartialFunction(fn, bound, name);
    }

    private static object? EvaluateApply(Node expr, object? input, Frame env)
    {
        var lhs = Evaluate(expr.Lhs!, input, env);
        if (expr.Rhs!.Type == "function") return EvaluateFunction(expr.Rhs, input, env, lhs, true);
        var func = Evaluate(expr.Rhs, input, env);
        if (func is not JFunction f) throw JsonataErrors.Create("T2006", expr.Position, value: func);
        if (lhs is JFunction g) return new ComposedFunction(g, f);
        return Apply(f, [lhs], null, env, "", expr.Position);
    }

    private static object? ApplyTransform(TransformFunction transform, object? obj)
    {
        if (obj is null) return null;
        var expr = transform.Node;
        var env = transform.Environment;
        var result = Values.DeepClone(obj);
        var matches = Evaluate(expr.Pattern!, result, env);
        if (matches is null) return result;
        var list = matches as JArray ?? [matches];
        foreach (var match in list)
        {
            var update = Evaluate(expr.Update!, match, env);
            if (update is not null)
            {
                if (update is not JObject u) throw JsonataErrors.Create("T2011", expr.Update!.Position, value: update);
                if (match is JObject m)
                    foreach (var (k, v) in u) m[k] = v;
            }
            if (expr.Delete is not null)
            {
                var deletions = Evaluate(expr.Delete, match, env);
                if (deletions is null) continue;
                var del = deletions as JArray ?? [deletions];
                if (!del.All(d => d is string)) throw JsonataErrors.Create("T2012", expr.Delete.Position, value: deletions);
                if (match is JObject m2)
                    foreach (var d in del) m2.Remove((string)d!);
            }
        }
        return result;
    }
}
