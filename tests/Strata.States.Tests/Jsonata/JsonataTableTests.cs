using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.Jsonata;

namespace Strata.States.Tests.Jsonata;

/// <summary>The reference documentation's examples, one case each: the result as JSON, no result (undefined),
/// or the error code JSONata gives.</summary>
public sealed class JsonataTableTests
{
    public static TheoryData<string, string, string> Paths => Data(JsonataCases.Paths);
    public static TheoryData<string, string, string> Operators => Data(JsonataCases.Operators);
    public static TheoryData<string, string, string> Sorting => Data(JsonataCases.Sorting);
    public static TheoryData<string, string, string> Functions => Data(JsonataCases.Functions);
    public static TheoryData<string, string, string> DateTimes => Data(JsonataCases.DateTimes);
    public static TheoryData<string, string, string> StepFunctions => Data(JsonataCases.StepFunctions);
    public static TheoryData<string, string, string> SyntaxErrors => Data(JsonataCases.SyntaxErrors);

    private static TheoryData<string, string, string> Data(string[][] rows)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var row in rows) data.Add(row[0], row[1], row[2]);
        return data;
    }

    [Theory, MemberData(nameof(Paths))]
    public void PathsPredicatesAndConstructors(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(Operators))]
    public void OperatorsConditionsAndTransforms(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(Sorting))]
    public void SortingGroupingAndBindings(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(Functions))]
    public void FunctionLibrary(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(DateTimes))]
    public void DateTimeFunctions(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(StepFunctions))]
    public void StepFunctionsAdditions(string expression, string input, string expected) => Check(expression, input, expected);

    [Theory, MemberData(nameof(SyntaxErrors))]
    public void SyntaxErrorsAreCompileErrors(string expression, string input, string expected)
    {
        var e = Assert.Throws<JsonataException>(() => JsonataExpression.Compile(expression));
        Assert.Equal(expected[1..], e.Code);
        Assert.False(string.IsNullOrEmpty(e.Message));
        _ = input;
    }

    internal static void Check(string expression, string input, string expected)
    {
        var compiled = JsonataExpression.Compile(expression);
        if (expected.StartsWith('!'))
        {
            var e = Assert.Throws<JsonataException>(() => compiled.TryEvaluate(JsonataSamples.Input(input), null, out _));
            Assert.Equal(expected[1..], e.Code);
            Assert.False(string.IsNullOrEmpty(e.Message));
            return;
        }
        var found = compiled.TryEvaluate(JsonataSamples.Input(input), null, out var result);
        if (expected == "undefined")
        {
            Assert.False(found, $"expected no result, got {result?.ToJsonString() ?? "null"}");
            return;
        }
        Assert.True(found, "expected a result, got undefined");
        var want = JsonNode.Parse(expected);
        Assert.True(SameJson(want, result), $"expected {want?.ToJsonString() ?? "null"}, got {result?.ToJsonString() ?? "null"}");
    }

    /// <summary>JSON equality where numbers compare by value (1.0 = 1) and member order does not matter.</summary>
    internal static bool SameJson(JsonNode? a, JsonNode? b)
    {
        switch (a)
        {
            case null: return b is null;
            case JsonObject oa:
                if (b is not JsonObject ob || oa.Count != ob.Count) return false;
                foreach (var (k, v) in oa)
                    if (!ob.TryGetPropertyValue(k, out var w) || !SameJson(v, w)) return false;
                return true;
            case JsonArray aa:
                if (b is not JsonArray ab || aa.Count != ab.Count) return false;
                for (var i = 0; i < aa.Count; i++)
                    if (!SameJson(aa[i], ab[i])) return false;
                return true;
            default:
                if (b is not JsonValue bv) return false;
                var av = (JsonValue)a;
                if (av.GetValueKind() == JsonValueKind.Number && bv.GetValueKind() == JsonValueKind.Number)
                    return double.Parse(av.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
                        == double.Parse(bv.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
                return av.ToJsonString() == bv.ToJsonString();
        }
    }
}
