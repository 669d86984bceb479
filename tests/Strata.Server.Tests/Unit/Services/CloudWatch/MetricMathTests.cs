using Strata.Server.Services.CloudWatch;

namespace Strata.Server.Tests.Unit;

public sealed class MetricMathTests
{
    static MathSeries Series(params (long T, double V)[] points) => new("s", new SortedDictionary<long, double>(points.ToDictionary(p => p.T, p => p.V)));

    static readonly Dictionary<string, MathValue> Ids = new()
    {
        ["a"] = Series((0, 1), (60, 2), (180, 4)),
        ["b"] = Series((0, 10), (60, 10), (120, 10), (180, 10)),
    };

    static MathValue Eval(string expression) => new MetricMath(new MetricMath.Context
    {
        Resolve = id => Ids.GetValueOrDefault(id),
        MetricIds = ["a", "b"],
        Search = (_, _, _) => new MathArray([]),
        Timeline = [0, 60, 120, 180],
        Period = 60,
    }).Evaluate(expression);

    static double[] Values(string expression) => ((MathSeries)Eval(expression)).Points.Values.ToArray();

    [Theory]
    [InlineData("a + b", new[] { 11.0, 12, 14 })]
    [InlineData("2 * a ^ 2 - 1", new[] { 1.0, 7, 31 })]
    [InlineData("-a", new[] { -1.0, -2, -4 })]
    [InlineData("(a + 1) / 2", new[] { 1.0, 1.5, 2.5 })]
    [InlineData("SUM(METRICS())", new[] { 11.0, 12, 10, 14 })]
    [InlineData("MAX([a, b])", new[] { 10.0, 10, 10, 10 })]
    [InlineData("FILL(a, 0)", new[] { 1.0, 2, 0, 4 })]
    [InlineData("FILL(a, REPEAT)", new[] { 1.0, 2, 2, 4 })]
    [InlineData("FILL(a, LINEAR)", new[] { 1.0, 2, 3, 4 })]
    [InlineData("FILL(a, b)", new[] { 1.0, 2, 10, 4 })]
    [InlineData("DIFF(a)", new[] { 1.0, 2 })]
    [InlineData("RATE(a)", new[] { 1 / 60.0, 2 / 120.0 })]
    [InlineData("RUNNING_SUM(a)", new[] { 1.0, 3, 7 })]
    [InlineData("IF(a >= 2 AND NOT a == 4, a, -1)", new[] { -1.0, 2, -1 })]
    [InlineData("IF(a > 1, 100)", new[] { 100.0, 100 })]
    [InlineData("ABS(a - 3)", new[] { 2.0, 1, 1 })]
    public void SeriesExpressions(string expression, double[] expected)
    {
        var actual = Values(expression);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 9);
    }

    [Theory]
    [InlineData("SUM(a)", 7)]
    [InlineData("AVG(b) + 1", 11)]
    [InlineData("MIN(a) * MAX(a)", 4)]
    [InlineData("PERIOD(a)", 60)]
    [InlineData("1 + 2 * 3", 7)]
    public void NumberExpressions(string expression, double expected) => Assert.Equal(expected, ((MathScalar)Eval(expression)).Value, 9);

    [Theory]
    [InlineData("a +", "Unexpected")]
    [InlineData("a $ b", "Unrecognized token")]
    [InlineData("zz * 2", "zz")]
    [InlineData("NOPE(a)", "Unknown function")]
    [InlineData("FILL(a)", "takes 2")]
    [InlineData("METRICS() + METRICS()", "Two arrays")]
    [InlineData("SEARCH(a, 'Sum', 60)", "string")]
    [InlineData("'unterminated", "Unterminated")]
    public void BadExpressionsSayWhy(string expression, string why)
        => Assert.Contains(why, Assert.Throws<MetricMathException>(() => Eval(expression)).Message);
}

public sealed class StatisticTests
{
    [Theory]
    [InlineData("Sum")]
    [InlineData("p99")]
    [InlineData("p99.9")]
    [InlineData("p0")]
    [InlineData("p100")]
    [InlineData("tm90")]
    [InlineData("wm99")]
    [InlineData("tc10")]
    [InlineData("ts90")]
    [InlineData("TM(10%:90%)")]
    [InlineData("TM(150:1000)")]
    [InlineData("TC(:500)")]
    [InlineData("PR(10:)")]
    [InlineData("IQM")]
    public void CloudWatchStatisticsParse(string name) => Assert.NotNull(Statistic.Parse(name));

    [Theory]
    [InlineData("sum")]
    [InlineData("p101")]
    [InlineData("p")]
    [InlineData("TM(90%:10%)")]
    [InlineData("PR(10%:20%)")]
    [InlineData("WM(1:2)")]
    [InlineData("TM(10%:90)")]
    [InlineData("x99")]
    public void OthersAreRefused(string name) => Assert.Null(Statistic.Parse(name));
}
