using System.Runtime.CompilerServices;

namespace Strata.States.Jsonata;

/// <summary>A node of the syntax tree. Mutable only while the parser builds and then rewrites it (as the reference
/// implementation's processAST does); once compiled, nothing writes to it, so compiled expressions can be shared.</summary>
internal sealed class Node
{
    public string Type = "";
    public object? Value;
    public int Position;
    public Node? Lhs, Rhs, Expression, Condition, Then, Else, Procedure, Body, Pattern, Update, Delete;
    public List<Node>? Expressions, Arguments, Steps;
    public List<(Node Key, Node Value)>? Pairs;
    public Group? Group;
    public List<SortTerm>? Terms, RawTerms;
    public List<Stage>? Predicate, Stages;
    public bool KeepArray, KeepSingletonArray, ConsArray, Tuple;
    /// <summary>A call in tail position of a lambda's body (evaluated into a TailCall for the caller to make).</summary>
    public bool TailCall;
    public string? Focus, Index;
    public Slot? Ancestor, Slot;
    public List<Slot>? SeekingParent;
    public Signature? Signature;
    public RegexLiteral? Regex;
    public System.Text.RegularExpressions.Regex? CompiledRegex;

    public string Op => Value as string ?? "";
}

internal sealed record Group(List<(Node Key, Node Value)> Pairs, int Position);

internal sealed record SortTerm(bool Descending, Node Expression);

internal sealed class Stage
{
    public required string Kind; // "filter" or "index"
    public Node? Expr;
    public string? Variable;
    public int Position;
}

/// <summary>Where a parent (%) reference finds its ancestor: a label bound in the tuple stream.</summary>
internal sealed class Slot
{
    public required string Label;
    public int Level;
    public int Index;
}

/// <summary>A Pratt parser for JSONata's grammar, then the reference implementation's rewrite of the tree into
/// paths, stages, tuple steps and parent slots.</summary>
internal sealed class Parser
{
    private readonly string _source;
    private readonly Lexer _lexer;
    private Token _token = new(TokenType.End, "(end)", 0);
    private int _ancestorLabel;
    private int _ancestorIndex;
    private readonly List<Node> _ancestry = [];

    private Parser(string source)
    {
        _source = source;
        _lexer = new Lexer(source);
    }

    public static Node Parse(string source)
    {
        var p = new Parser(source);
        p.Advance(null, false);
        var expr = p.Expression(0);
        if (p._token.Type != TokenType.End) throw JsonataErrors.Create("S0201", p._token.Position, token: TokenText(p._token));
        var ast = p.Process(expr);
        if (ast.Type == "parent" || ast.SeekingParent is not null) throw JsonataErrors.Create("S0217", ast.Position, token: ast.Type);
        return ast;
    }

    private static string TokenText(Token t) => t.Value switch
    {
        double d => Values.FormatNumber(d),
        JsonNull => "null",
        bool b => b ? "true" : "false",
        RegexLiteral r => "/" + r.Pattern + "/",
        var v => v?.ToString() ?? "",
    };

    private static int Lbp(Token t)
    {
        if (t.Type != TokenType.Operator) return 0;
        return (string)t.Value! switch
        {
            "." or "[" or "(" or "@" or "#" or "{" or "+" or "-" or "*" or "/" or "%" or "=" or "<" or ">" or "!=" or "<=" or ">="
                or "&" or "and" or "or" or "in" or "~>" or "^" or "?" or "?:" or "??" or ":=" => Lexer.Operators[(string)t.Value!],
            _ => 0,
        };
    }

    private Token Advance(string? id, bool infix)
    {
        if (id is not null && _token.Id != id)
        {
            var code = _token.Type == TokenType.End ? "S0203" : "S0202";
            throw JsonataErrors.Create(code, _token.Position, value: id, token: TokenText(_token));
        }
        var next = _lexer.Next(infix);
        if (next.Type == TokenType.Operator && !IsKnownOperator((string)next.Value!))
            throw JsonataErrors.Create("S0204", next.Position, token: (string)next.Value!);
        _token = next;
        return next;
    }

    private static bool IsKnownOperator(string op) => op is not ("!" or "~");

    private Node Expression(int rbp)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw JsonataErrors.Create("U1001", _token.Position);
        var t = _token;
        Advance(null, true);
        var left = Nud(t);
        while (rbp < Lbp(_token))
        {
            t = _token;
            Advance(null, false);
            left = Led(t, left);
        }
        return left;
    }

    private static Node NodeOf(Token t, string type) => new() { Type = type, Value = t.Value, Position = t.Position };

    private Node Nud(Token t)
    {
        switch (t.Type)
        {
            case TokenType.End: throw JsonataErrors.Create("S0207", t.Position);
            case TokenType.Name: return NodeOf(t, "name");
            case TokenType.Variable: return NodeOf(t, "variable");
            case TokenType.String: return NodeOf(t, "string");
            case TokenType.Number: return NodeOf(t, "number");
            case TokenType.Value: return NodeOf(t, "value");
            case TokenType.Regex:
                {
                    var n = NodeOf(t, "regex");
                    n.Regex = (RegexLiteral)t.Value!;
                    n.CompiledRegex = RegexSupport.Compile(n.Regex, t.Position);
                    return n;
                }
        }
        var op = (string)t.Value!;
        switch (op)
        {
            case "and" or "or" or "in": return NodeOf(t, "operator");
            case "-":
                {
                    var n = NodeOf(t, "unary");
                    n.Expression = Expression(70);
                    return n;
                }
            case "*": return NodeOf(t, "wildcard");
            case "**": return NodeOf(t, "descendant");
            case "%": return NodeOf(t, "parent");
            case "(":
                {
                    var n = NodeOf(t, "block");
                    n.Expressions = [];
                    while (_token.Id != ")")
                    {
                        n.Expressions.Add(Expression(0));
                        if (_token.Id != ";") break;
                        Advance(";", false);
                    }
                    Advance(")", true);
                    return n;
                }
            case "[":
                {
                    var n = NodeOf(t, "unary");
                    n.Expressions = [];
                    if (_token.Id != "]")
                    {
                        while (true)
                        {
                            var item = Expression(0);
                            if (_token.Id == "..")
                            {
                                var range = new Node { Type = "binary", Value = "..", Position = _token.Position, Lhs = item };
                                Advance("..", false);
                                range.Rhs = Expression(0);
                                item = range;
                            }
                            n.Expressions.Add(item);
                            if (_token.Id != ",") break;
                            Advance(",", false);
                        }
                    }
                    Advance("]", true);
                    return n;
                }
            case "{":
                {
                    var n = NodeOf(t, "unary");
                    n.Pairs = ObjectPairs();
                    return n;
                }
            case "|":
                {
                    var n = NodeOf(t, "transform");
                    n.Pattern = Expression(0);
                    Advance("|", false);
                    n.Update = Expression(0);
                    if (_token.Id == ",")
                    {
                        Advance(",", false);
                        n.Delete = Expression(0);
                    }
                    Advance("|", true);
                    return n;
                }
            case "?": return NodeOf(t, "operator"); // a placeholder of partial application, checked by the caller
            default: throw JsonataErrors.Create("S0211", t.Position, token: op);
        }
    }

    private List<(Node, Node)> ObjectPairs()
    {
        var pairs = new List<(Node, Node)>();
        if (_token.Id != "}")
        {
            while (true)
            {
                var k = Expression(0);
                Advance(":", false);
                var v = Expression(0);
                pairs.Add((k, v));
                if (_token.Id != ",") break;
                Advance(",", false);
            }
        }
        Advance("}", true);
        return pairs;
    }

    private Node Led(Token t, Node left)
    {
        var op = (string)t.Value!;
        var bp = Lexer.Operators[op];
        switch (op)
        {
            case "(":
                {
                    var n = NodeOf(t, "function");
                    n.Procedure = left;
                    n.Arguments = [];
                    if (_token.Id != ")")
                    {
                        while (true)
                        {
                            if (_token.Type == TokenType.Operator && _token.Id == "?")
                            {
                                n.Type = "partial";
                                n.Arguments.Add(NodeOf(_token, "operator"));
                                Advance("?", false);
                            }
                            else n.Arguments.Add(Expression(0));
                            if (_token.Id != ",") break;
                            Advance(",", false);
                        }
                    }
                    Advance(")", true);
                    if (left.Type == "name" && (left.Op == "function" || left.Op == "\u03BB"))
                    {
                        for (var i = 0; i < n.Arguments.Count; i++)
                        {
                            var arg = n.Arguments[i];
                            if (arg.Type != "variable")
                                throw JsonataErrors.Create("S0208", arg.Position, value: (double)(i + 1), token: arg.Op);
                        }
                        n.Type = "lambda";
                        if (_token.Id == "<")
                        {
                            var sigPos = _token.Position;
                            var depth = 1;
                            var sig = "<";
                            while (depth > 0 && _token.Id != "{" && _token.Type != TokenType.End)
                            {
                                var tok = Advance(null, false);
                                if (tok.Id == ">") depth--;
                                else if (tok.Id == "<") depth++;
                                sig += TokenText(tok);
                            }
                            Advance(">", false);
                            n.Signature = Signature.Parse(sig, sigPos);
                        }
                        Advance("{", false);
                        n.Body = Expression(0);
                        Advance("}", true);
                    }
                    return n;
                }
            case "[":
                {
                    if (_token.Id == "]")
                    {
                        var step = left;
                        while (step.Type == "binary" && step.Op == "[") step = step.Lhs!;
                        step.KeepArray = true;
                        Advance("]", true);
                        return left;
                    }
                    var n = NodeOf(t, "binary");
                    n.Lhs = left;
                    n.Rhs = Expression(Lexer.Operators["]"]);
                    Advance("]", true);
                    return n;
                }
            case "^":
                {
                    var n = NodeOf(t, "binary");
                    Advance("(", false);
                    n.RawTerms = [];
                    while (true)
                    {
                        var descending = false;
                        if (_token.Id == "<") Advance("<", false);
                        else if (_token.Id == ">")
                        {
                            descending = true;
                            Advance(">", false);
                        }
                        n.RawTerms.Add(new SortTerm(descending, Expression(0)));
                        if (_token.Id != ",") break;
                        Advance(",", false);
                    }
                    Advance(")", true);
                    n.Lhs = left;
                    return n;
                }
            case "{":
                {
                    var n = NodeOf(t, "binary");
                    n.Lhs = left;
                    n.Pairs = ObjectPairs();
                    return n;
                }
            case ":=":
                {
                    if (left.Type != "variable") throw JsonataErrors.Create("S0212", left.Position, token: left.Op);
                    var n = NodeOf(t, "binary");
                    n.Lhs = left;
                    n.Rhs = Expression(bp - 1);
                    return n;
                }
            case "@" or "#":
                {
                    var n = NodeOf(t, "binary");
                    n.Lhs = left;
                    n.Rhs = Expression(bp);
                    if (n.Rhs.Type != "variable") throw JsonataErrors.Create("S0214", n.Rhs.Position, token: op);
                    return n;
                }
            case "?":
                {
                    var n = NodeOf(t, "condition");
                    n.Condition = left;
                    n.Then = Expression(0);
                    if (_token.Id == ":")
                    {
                        Advance(":", false);
                        n.Else = Expression(0);
                    }
                    return n;
                }
            case "?:":
                {
                    var n = NodeOf(t, "condition");
                    n.Condition = left;
                    n.Then = left;
                    n.Else = Expression(0);
                    return n;
                }
            case "??":
                {
                    var n = NodeOf(t, "condition");
                    n.Condition = new Node
                    {
                        Type = "function",
                        Value = "(",
                        Position = t.Position,
                        Procedure = new Node { Type = "variable", Value = "exists", Position = t.Position },
                        Arguments = [left],
                    };
                    n.Then = left;
                    n.Else = Expression(0);
                    return n;
                }
            default:
                {
                    var n = NodeOf(t, "binary");
                    n.Lhs = left;
                    n.Rhs = Expression(bp);
                    return n;
                }
        }
    }

    // ---- the rewrite (processAST) ----

    private Node Process(Node expr)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw JsonataErrors.Create("U1001", expr.Position);
        Node result;
        switch (expr.Type)
        {
            case "binary":
                switch (expr.Op)
                {
                    case ".":
                        {
                            var lstep = Process(expr.Lhs!);
                            result = lstep.Type == "path" ? lstep : new Node { Type = "path", Steps = [lstep], Position = expr.Position };
                            if (lstep.Type == "parent") result.SeekingParent = [lstep.Slot!];
                            var rest = Process(expr.Rhs!);
                            if (rest.Type == "path") result.Steps!.AddRange(rest.Steps!);
                            else
                            {
                                if (rest.Predicate is not null)
                                {
                                    rest.Stages = rest.Predicate;
                                    rest.Predicate = null;
                                }
                                result.Steps!.Add(rest);
                            }
                            foreach (var step in result.Steps!)
                            {
                                if (step.Type is "number" or "value")
                                    throw JsonataErrors.Create("S0213", step.Position, value: step.Value);
                                if (step.Type == "string") step.Type = "name";
                            }
                            if (result.Steps.Any(s => s.KeepArray)) result.KeepSingletonArray = true;
                            var first = result.Steps[0];
                            if (first.Type == "unary" && first.Op == "[") first.ConsArray = true;
                            var last = result.Steps[^1];
                            if (last.Type == "unary" && last.Op == "[") last.ConsArray = true;
                            ResolveAncestry(result);
                            break;
                        }
                    case "[":
                        {
                            result = Process(expr.Lhs!);
                            var step = result;
                            var usesStages = false;
                            if (result.Type == "path")
                            {
                                step = result.Steps![^1];
                                usesStages = true;
                            }
                            if (step.Group is not null) throw JsonataErrors.Create("S0209", expr.Position);
                            var predicate = Process(expr.Rhs!);
                            if (predicate.SeekingParent is not null)
                            {
                                foreach (var slot in predicate.SeekingParent)
                                {
                                    if (slot.Level == 1) SeekParent(step, slot);
                                    else slot.Level--;
                                }
                                PushAncestry(step, predicate);
                            }
                            var stage = new Stage { Kind = "filter", Expr = predicate, Position = expr.Position };
                            if (usesStages) (step.Stages ??= []).Add(stage);
                            else (step.Predicate ??= []).Add(stage);
                            break;
                        }
                    case "{":
                        {
                            result = Process(expr.Lhs!);
                            if (result.Group is not null) throw JsonataErrors.Create("S0210", expr.Position);
                            result.Group = new Group(expr.Pairs!.Select(p => (Process(p.Key), Process(p.Value))).ToList(), expr.Position);
                            break;
                        }
                    case "^":
                        {
                            result = Process(expr.Lhs!);
                            if (result.Type != "path") result = new Node { Type = "path", Steps = [result], Position = expr.Position };
                            var sortStep = new Node { Type = "sort", Position = expr.Position, Terms = [] };
                            foreach (var term in expr.RawTerms!)
                            {
                                var e = Process(term.Expression);
                                PushAncestry(sortStep, e);
                                sortStep.Terms.Add(new SortTerm(term.Descending, e));
                            }
                            result.Steps!.Add(sortStep);
                            ResolveAncestry(result);
                            break;
                        }
                    case ":=":
                        {
                            result = new Node { Type = "bind", Value = expr.Value, Position = expr.Position, Lhs = Process(expr.Lhs!), Rhs = Process(expr.Rhs!) };
                            PushAncestry(result, result.Rhs!);
                            break;
                        }
                    case "@":
                        {
                            result = Process(expr.Lhs!);
                            var step = result;
                            if (result.Type == "path") step = result.Steps![^1];
                            if (step.Stages is not null || step.Predicate is not null) throw JsonataErrors.Create("S0215", expr.Position);
                            if (step.Type == "sort") throw JsonataErrors.Create("S0216", expr.Position);
                            if (expr.KeepArray) step.KeepArray = true;
                            step.Focus = expr.Rhs!.Op;
                            step.Tuple = true;
                            break;
                        }
                    case "#":
                        {
                            result = Process(expr.Lhs!);
                            var step = result;
                            if (result.Type == "path") step = result.Steps![^1];
                            else
                            {
                                result = new Node { Type = "path", Steps = [result], Position = expr.Position };
                                if (step.Predicate is not null)
                                {
                                    step.Stages = step.Predicate;
                                    step.Predicate = null;
                                }
                            }
                            if (step.Stages is null) step.Index = expr.Rhs!.Op;
                            else step.Stages.Add(new Stage { Kind = "index", Variable = expr.Rhs!.Op, Position = expr.Position });
                            step.Tuple = true;
                            break;
                        }
                    case "~>":
                        {
                            result = new Node { Type = "apply", Value = expr.Value, Position = expr.Position, Lhs = Process(expr.Lhs!), Rhs = Process(expr.Rhs!) };
                            result.KeepArray = result.Lhs!.KeepArray || result.Rhs!.KeepArray;
                            break;
                        }
                    default:
                        {
                            result = new Node { Type = "binary", Value = expr.Value, Position = expr.Position, Lhs = Process(expr.Lhs!), Rhs = Process(expr.Rhs!) };
                            PushAncestry(result, result.Lhs!);
                            PushAncestry(result, result.Rhs!);
                            break;
                        }
                }
                break;
            case "unary":
                result = new Node { Type = "unary", Value = expr.Value, Position = expr.Position };
                if (expr.Op == "[")
                {
                    result.Expressions = [];
                    foreach (var item in expr.Expressions!)
                    {
                        var v = Process(item);
                        PushAncestry(result, v);
                        result.Expressions.Add(v);
                    }
                }
                else if (expr.Op == "{")
                {
                    result.Pairs = [];
                    foreach (var (k, v) in expr.Pairs!)
                    {
                        var key = Process(k);
                        PushAncestry(result, key);
                        var value = Process(v);
                        PushAncestry(result, value);
                        result.Pairs.Add((key, value));
                    }
                }
                else
                {
                    result.Expression = Process(expr.Expression!);
                    if (expr.Op == "-" && result.Expression.Type == "number")
                    {
                        result = result.Expression;
                        result.Value = -(double)result.Value!;
                    }
                    else PushAncestry(result, result.Expression);
                }
                break;
            case "function" or "partial":
                result = new Node { Type = expr.Type, Value = expr.Value, Position = expr.Position, Arguments = [] };
                foreach (var arg in expr.Arguments!)
                {
                    var a = arg.Type == "operator" && arg.Op == "?" ? arg : Process(arg);
                    PushAncestry(result, a);
                    result.Arguments.Add(a);
                }
                result.Procedure = Process(expr.Procedure!);
                break;
            case "lambda":
                result = new Node
                {
                    Type = "lambda",
                    Arguments = expr.Arguments,
                    Signature = expr.Signature,
                    Position = expr.Position,
                    Body = Process(expr.Body!),
                };
                MarkTailCalls(result.Body);
                break;
            case "condition":
                result = new Node { Type = "condition", Position = expr.Position, Condition = Process(expr.Condition!) };
                PushAncestry(result, result.Condition);
                result.Then = Process(expr.Then!);
                PushAncestry(result, result.Then);
                if (expr.Else is not null)
                {
                    result.Else = Process(expr.Else);
                    PushAncestry(result, result.Else);
                }
                break;
            case "transform":
                result = new Node
                {
                    Type = "transform",
                    Position = expr.Position,
                    Pattern = Process(expr.Pattern!),
                    Update = Process(expr.Update!),
                    Delete = expr.Delete is null ? null : Process(expr.Delete),
                };
                break;
            case "block":
                result = new Node { Type = "block", Position = expr.Position, Expressions = [] };
                foreach (var item in expr.Expressions!)
                {
                    var part = Process(item);
                    PushAncestry(result, part);
                    if (part.ConsArray || (part.Type == "path" && part.Steps![0].ConsArray)) result.ConsArray = true;
                    result.Expressions.Add(part);
                }
                break;
            case "name":
                result = new Node { Type = "path", Steps = [expr], Position = expr.Position };
                if (expr.KeepArray) result.KeepSingletonArray = true;
                break;
            case "parent":
                result = new Node
                {
                    Type = "parent",
                    Position = expr.Position,
                    Slot = new Slot { Label = "!" + _ancestorLabel++, Level = 1, Index = _ancestorIndex++ },
                };
                _ancestry.Add(result);
                break;
            case "string" or "number" or "value" or "wildcard" or "descendant" or "variable" or "regex":
                result = expr;
                break;
            case "operator":
                if (expr.Op is "and" or "or" or "in")
                {
                    expr.Type = "name";
                    result = Process(expr);
                }
                else throw JsonataErrors.Create("S0201", expr.Position, token: expr.Op);
                break;
            default:
                throw JsonataErrors.Create("S0207", expr.Position);
        }
        if (expr.KeepArray) result.KeepArray = true;
        return result;
    }

    private static void MarkTailCalls(Node expr)
    {
        if (expr.KeepArray || expr.Group is not null || expr.Predicate is not null) return;
        switch (expr.Type)
        {
            case "function":
                expr.TailCall = true;
                break;
            case "condition":
                MarkTailCalls(expr.Then!);
                if (expr.Else is not null) MarkTailCalls(expr.Else);
                break;
            case "block" when expr.Expressions!.Count > 0:
                MarkTailCalls(expr.Expressions[^1]);
                break;
        }
    }

    private Slot SeekParent(Node node, Slot slot)
    {
        switch (node.Type)
        {
            case "name" or "wildcard":
                slot.Level--;
                if (slot.Level == 0)
                {
                    if (node.Ancestor is null) node.Ancestor = slot;
                    else
                    {
                        _ancestry[slot.Index].Slot!.Label = node.Ancestor.Label;
                        node.Ancestor = slot;
                    }
                    node.Tuple = true;
                }
                break;
            case "parent":
                slot.Level++;
                break;
            case "block":
                if (node.Expressions!.Count > 0)
                {
                    node.Tuple = true;
                    slot = SeekParent(node.Expressions[^1], slot);
                }
                break;
            case "path":
                {
                    node.Tuple = true;
                    var index = node.Steps!.Count - 1;
                    slot = SeekParent(node.Steps[index--], slot);
                    while (slot.Level > 0 && index >= 0) slot = SeekParent(node.Steps[index--], slot);
                    break;
                }
            default:
                throw JsonataErrors.Create("S0217", node.Position, token: node.Type);
        }
        return slot;
    }

    private static void PushAncestry(Node result, Node value)
    {
        if (value.SeekingParent is null && value.Type != "parent") return;
        var slots = value.SeekingParent ?? [];
        if (value.Type == "parent") slots.Add(value.Slot!);
        if (result.SeekingParent is null) result.SeekingParent = slots;
        else result.SeekingParent.AddRange(slots);
    }

    private void ResolveAncestry(Node path)
    {
        var steps = path.Steps!;
        var laststep = steps[^1];
        var slots = laststep.SeekingParent ?? [];
        if (laststep.Type == "parent") slots.Add(laststep.Slot!);
        foreach (var s in slots)
        {
            var slot = s;
            var index = steps.Count - 2;
            while (slot.Level > 0)
            {
                if (index < 0)
                {
                    (path.SeekingParent ??= []).Add(slot);
                    break;
                }
                var step = steps[index--];
                while (index >= 0 && step.Focus is not null && steps[index].Focus is not null) step = steps[index--];
                slot = SeekParent(step, slot);
            }
        }
    }

    public override string ToString() => _source;
}
