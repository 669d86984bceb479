using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Strata.States.Jsonata;

namespace Strata.States.Tests.Jsonata;

/// <summary>The contract the interpreter relies on: variables, undefined versus null, number fidelity, errors with
/// JSONata's codes, messages and positions, a caller-supplied clock and randomness, and concurrent evaluation.</summary>
public sealed class JsonataApiTests
{
    private static JsonNode? Eval(string expression, JsonNode? input = null, IReadOnlyDictionary<string, JsonNode?>? variables = null)
    {
        Assert.True(JsonataExpression.Compile(expression).TryEvaluate(input, variables, out var result));
        return result;
    }

    [Fact]
    public void VariablesAreBoundByNameWithADollar()
    {
        var states = JsonNode.Parse("""{"input": {"items": [1, 2, 3]}, "context": {"Execution": {"Name": "run-1"}}}""");
        var vars = new Dictionary<string, JsonNode?> { ["states"] = states, ["limit"] = JsonValue.Create(2) };
        Assert.Equal("[1,2]", Eval("$states.input.items[$ < $limit + 1]", JsonNode.Parse("[1,2,3]"), vars)!.ToJsonString());
        Assert.Equal("[1,2]", Eval("$states.input.items[$ <= $limit]", null, vars)!.ToJsonString());
        Assert.Equal("\"run-1\"", Eval("$states.context.Execution.Name", null, vars)!.ToJsonString());
        Assert.Equal("6", Eval("$sum($states.input.items)", null, vars)!.ToJsonString());
    }

    [Fact]
    public void UndefinedIsFalseAndJsonNullIsTrueWithNull()
    {
        var e = JsonataExpression.Compile("a");
        Assert.False(e.TryEvaluate(JsonNode.Parse("""{"b": 1}"""), null, out var none));
        Assert.Null(none);
        Assert.True(e.TryEvaluate(JsonNode.Parse("""{"a": null}"""), null, out var nul));
        Assert.Null(nul);
        Assert.True(JsonataExpression.Compile("null").TryEvaluate(null, null, out _));
    }

    [Fact]
    public void IntegersStayIntegersAndFractionsStayFractions()
    {
        var r = Eval("[1 + 2, 7 / 2, 2.0, 1e3, $sum([0.5, 0.5]), -0, 9007199254740993]")!.AsArray();
        Assert.Equal("[3,3.5,2,1000,1,0,9007199254740992]", r.ToJsonString());
        Assert.True(r[0]!.AsValue().TryGetValue<long>(out var three) && three == 3);
        Assert.True(r[1]!.AsValue().TryGetValue<double>(out var half) && half == 3.5);
        Assert.Equal("{\"n\":42}", Eval("{'n': 6 * 7}")!.ToJsonString());
    }

    [Fact]
    public void TheResultIsIndependentOfTheInput()
    {
        var input = JsonNode.Parse("""{"a": {"b": [1, 2]}}""");
        var result = Eval("a", input)!;
        result["b"]!.AsArray().Add(3);
        Assert.Equal("""{"a":{"b":[1,2]}}""", input!.ToJsonString());
        // a transform works on a copy
        Eval("$ ~> |a|{'c': 1}|", input);
        Assert.Equal("""{"a":{"b":[1,2]}}""", input.ToJsonString());
    }

    [Theory]
    [InlineData("'5' + 1", "T2001", "The left side of the \"+\" operator must evaluate to a number", 5)]
    [InlineData("1 * 'x'", "T2002", "The right side of the \"*\" operator must evaluate to a number", 3)]
    [InlineData("$foo()", "T1006", "Attempted to invoke a non-function", 5)]
    [InlineData("[1..2.5]", "T2004", "The right side of the range operator (..) must evaluate to an integer", 4)]
    [InlineData("$substring('a', 'b')", "T0410", "Argument 2 of function \"substring\" does not match function signature", 11)]
    [InlineData("$sum(['a'])", "T0412", "Argument 1 of function \"sum\" must be an array of \"numbers\"", 5)]
    [InlineData("{'a':1, 'a':2}", "D1009", "Multiple key definitions evaluate to same key: \"a\"", 1)]
    [InlineData("$error('boom')", "D3137", "boom", 7)]
    [InlineData("1 < 'a'", "T2009", "The values 1 and \"a\" either side of operator \"<\" must be of the same data type", 3)]
    public void RuntimeErrorsCarryJsonatasCodeMessageAndPosition(string expression, string code, string message, int position)
    {
        var compiled = JsonataExpression.Compile(expression);
        var e = Assert.Throws<JsonataException>(() => compiled.TryEvaluate(null, null, out _));
        Assert.Equal(code, e.Code);
        Assert.Equal(message, e.Message);
        Assert.Equal(position, e.Position);
    }

    [Theory]
    [InlineData("1 +", "S0207", "Unexpected end of expression", 3)]
    [InlineData("(1; 2", "S0203", "Expected \")\" before end of expression", 5)]
    [InlineData("{'a' 1}", "S0202", "Expected \":\", got \"1\"", 6)]
    [InlineData("1 2", "S0201", "Syntax error: \"2\"", 3)]
    [InlineData("= 1", "S0211", "The symbol \"=\" cannot be used as a unary operator", 1)]
    [InlineData("a.1", "S0213", "The literal value 1 cannot be used as a step within a path expression", 3)]
    [InlineData("Phone@x", "S0214", "The right side of \"@\" must be a variable name (start with $)", 7)]
    [InlineData("'abc", "S0101", "String literal must be terminated by a matching quote", 4)]
    public void CompileErrorsCarryJsonatasCodeMessageAndPosition(string expression, string code, string message, int position)
    {
        var e = Assert.Throws<JsonataException>(() => JsonataExpression.Compile(expression));
        Assert.Equal(code, e.Code);
        Assert.Equal(message, e.Message);
        Assert.Equal(position, e.Position);
    }

    [Fact]
    public void TheCallerSuppliesTheClockAndTheRandomness()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T10:20:30.456Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new JsonataEvaluationOptions { TimeProvider = clock, Random = new Random(7) };
        var e = JsonataExpression.Compile("[$now(), $millis(), $now('[H01]:[m01]'), $now() = $fromMillis($millis())]");
        Assert.True(e.TryEvaluate(null, null, options, out var result));
        Assert.Equal("""["2026-12-02T10:20:30.456Z",1796206830456,"10:20",true]""", result!.ToJsonString());

        var random = JsonataExpression.Compile("[$random(), $uuid(), $shuffle([1,2,3,4,5,6])]");
        Assert.True(random.TryEvaluate(null, null, new JsonataEvaluationOptions { Random = new Random(7) }, out var first));
        Assert.True(random.TryEvaluate(null, null, new JsonataEvaluationOptions { Random = new Random(7) }, out var second));
        Assert.Equal(first!.ToJsonString(), second!.ToJsonString());
        Assert.True(random.TryEvaluate(null, null, new JsonataEvaluationOptions { Random = new Random(8) }, out var other));
        Assert.NotEqual(first.ToJsonString(), other!.ToJsonString());
    }

    [Fact]
    public void RunawayRecursionIsAnErrorNotACrash()
    {
        var e = JsonataExpression.Compile("($f := function($n){ $f($n + 1) + 1 }; $f(0))");
        var error = Assert.Throws<JsonataException>(() => e.TryEvaluate(null, null, out _));
        Assert.Equal("U1001", error.Code);
        // an endless tail recursion uses no stack: the step budget ends it
        var endless = JsonataExpression.Compile("($f := function($n){ $f($n + 1) }; $f(0))");
        var timeout = Assert.Throws<JsonataException>(() => endless.TryEvaluate(null, null, new JsonataEvaluationOptions { MaxSteps = 100_000 }, out _));
        Assert.Equal("U1001", timeout.Code);
        // and a deep but finite recursion still works
        Assert.Equal("500", Eval("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(500))")!.ToJsonString());
    }

    [Fact]
    public void ACompiledExpressionEvaluatesConcurrently()
    {
        var e = JsonataExpression.Compile(
            "($total := $sum(items.(price * qty)); $c := function($x){ $x * 2 }; {'total': $total, 'ids': items#$i.($i & ':' & id), 'twice': $map(items.qty, $c)})");
        Parallel.For(0, 200, i =>
        {
            var input = JsonNode.Parse($$"""{"items": [{"id": "a{{i}}", "price": {{i}}, "qty": 2}, {"id": "b", "price": 1, "qty": {{i}}}]}""");
            Assert.True(e.TryEvaluate(input, null, out var r));
            Assert.Equal($$"""{"total":{{3 * i}},"ids":["0:a{{i}}","1:b"],"twice":[4,{{2 * i}}]}""", r!.ToJsonString());
        });
    }

    [Fact]
    public void ATopLevelArrayInputIsOneValue()
    {
        var input = JsonNode.Parse("[{\"a\": 1}, {\"a\": 2}]");
        Assert.Equal("[1,2]", Eval("a", input)!.ToJsonString());
        Assert.Equal("2", Eval("$count($)", input)!.ToJsonString());
        Assert.Equal("{\"a\":2}", Eval("$[1]", input)!.ToJsonString());
        Assert.Equal("[{\"a\":1},{\"a\":2}]", Eval("$", input)!.ToJsonString());
    }
}
