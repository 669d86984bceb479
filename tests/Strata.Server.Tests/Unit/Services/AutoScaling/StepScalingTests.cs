using Strata.Server.Services.AutoScaling;

namespace Strata.Server.Tests.Unit;

/// <summary>Step scaling's decisions (the step an alarm's datapoints fall in, the adjustment types,
/// the cooldown) and AWS's rules for a policy's steps.</summary>
public sealed class StepScalingTests
{
    static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    // AWS's example: threshold 50; [50, 60) adds 1, [60, ∞) adds 3; (40, 50] removes 1, (-∞, 40] removes 2.
    static StepConfigRow Config(string type = "ChangeInCapacity", int? cooldown = 300, int? magnitude = null, string? aggregation = null) => new(type,
        [new(0, 10, 1), new(10, null, 3), new(-10, 0, -1), new(null, -10, -2)], magnitude, cooldown, aggregation);

    static StepInput Input(int current, params double[] points) => new(current, 1, 10, 50, points, Now, null, null, null);

    [Theory]
    [InlineData(50, 5)] // on the threshold: [0, 10) (the lower bound is inclusive above it)
    [InlineData(59.9, 5)]
    [InlineData(60, 7)] // 10 above: the next step
    [InlineData(45, 3)] // below: (-10, 0]
    [InlineData(50.0 - 1e-9, 3)]
    [InlineData(40, 2)] // 10 below: below the threshold the lower bound is exclusive, the upper inclusive
    [InlineData(39, 2)]
    public void TheStepIsTheOneWhoseIntervalHoldsTheDifference(double metric, int desired)
        => Assert.Equal(desired, StepScaling.Evaluate(Config(), Input(4, metric)).Desired);

    [Fact]
    public void DatapointsAreAggregatedAsTheConfigurationSays()
    {
        Assert.Equal(5, StepScaling.Evaluate(Config(), Input(4, 52, 58, 55)).Desired); // average 55
        Assert.Equal(7, StepScaling.Evaluate(Config(aggregation: "Maximum"), Input(4, 52, 61)).Desired);
        Assert.Equal(3, StepScaling.Evaluate(Config(aggregation: "Minimum"), Input(4, 45, 61)).Desired);
        Assert.Equal(4, StepScaling.Evaluate(Config(), Input(4)).Desired); // no datapoint: nothing
    }

    [Fact]
    public void PercentChangesRoundAsAwsRoundsThemAndExactCapacitySets()
    {
        // 3 × 10 % = 0.3: one instance; 4 × 50 % = 2; 9 × 10 % = 0.9 with MinAdjustmentMagnitude 2: two.
        var tenPercent = new StepConfigRow("PercentChangeInCapacity", [new(0, null, 10), new(null, 0, -10)], null, 0, null);
        Assert.Equal(4, StepScaling.Evaluate(tenPercent, Input(3, 55)).Desired);
        Assert.Equal(2, StepScaling.Evaluate(tenPercent, Input(3, 45)).Desired);
        Assert.Equal(6, StepScaling.Evaluate(new StepConfigRow("PercentChangeInCapacity", [new(0, null, 50)], null, 0, null), Input(4, 55)).Desired);
        Assert.Equal(10, StepScaling.Evaluate(tenPercent with { MinAdjustmentMagnitude = 2 }, Input(8, 55)).Desired);
        // 25 % of 9 = 2.25: toward zero, 2.
        Assert.Equal(11, StepScaling.Evaluate(tenPercent with { StepAdjustments = [new(0, null, 25)] }, Input(9, 55) with { Max = 20 }).Desired);
        Assert.Equal(6, StepScaling.Evaluate(new StepConfigRow("ExactCapacity", [new(0, null, 6)], null, 0, null), Input(2, 70)).Desired);
    }

    [Fact]
    public void AtTheThresholdTheBreachingSideDecides()
    {
        // A "≤ 0" alarm (a backlog gone) at exactly 0 falls in the (-∞, 0] step: scale in.
        var scaleIn = new StepConfigRow("ChangeInCapacity", [new(null, 0, -1)], null, 0, null);
        var atZero = new StepInput(3, 0, 5, 0, [0], Now, null, null, null, "LessThanOrEqualToThreshold");
        Assert.Equal(2, StepScaling.Evaluate(scaleIn, atZero).Desired);
        Assert.Equal(3, StepScaling.Evaluate(scaleIn, atZero with { ComparisonOperator = "GreaterThanOrEqualToThreshold" }).Desired);
    }

    [Fact]
    public void HugeAdjustmentsDoNotWrapAround()
    {
        Assert.Equal(10, StepScaling.Evaluate(new StepConfigRow("ChangeInCapacity", [new(0, null, int.MaxValue)], null, 0, null), Input(5, 60)).Desired);
        Assert.Equal(10, StepScaling.Evaluate(new StepConfigRow("PercentChangeInCapacity", [new(0, null, int.MaxValue)], null, 0, null), Input(5, 60)).Desired);
    }

    [Fact]
    public void TheBoundsHold()
    {
        Assert.Equal(10, StepScaling.Evaluate(Config(), Input(9, 80)).Desired);
        Assert.Equal(1, StepScaling.Evaluate(Config(), Input(2, 0)).Desired);
    }

    [Fact]
    public void AScaleOutInItsCooldownCountsFromTheCapacityBeforeTheFirst()
    {
        // Scaled 2 → 3 a minute ago; now the metric is 10 above: the +3 step counts from 2, giving 5 (not 6).
        var input = Input(3, 60) with { LastScaleOut = Now.AddMinutes(-1), LastScaling = Now.AddMinutes(-1), ScaleOutBase = 2 };
        Assert.Equal(5, StepScaling.Evaluate(Config(), input).Desired);
        // The same step again (+1 from 2) is already met by 3 instances.
        Assert.Equal(3, StepScaling.Evaluate(Config(), input with { Datapoints = [55] }).Desired);
        // After the cooldown, a step counts from what there is.
        Assert.Equal(4, StepScaling.Evaluate(Config(), input with { Datapoints = [55], LastScaleOut = Now.AddMinutes(-6), LastScaling = Now.AddMinutes(-6) }).Desired);
    }

    [Fact]
    public void NoScaleInWithinTheCooldownOfAnyScaling()
    {
        var input = Input(4, 45) with { LastScaling = Now.AddSeconds(-100) };
        var d = StepScaling.Evaluate(Config(), input);
        Assert.Equal(4, d.Desired);
        Assert.Contains("cooldown", d.Reason, StringComparison.Ordinal);
        Assert.Equal(3, StepScaling.Evaluate(Config(cooldown: 60), input).Desired);
    }

    [Theory]
    [InlineData("overlap", 0.0, 20.0, 10.0, null)]
    [InlineData("gap", 0.0, 10.0, 20.0, null)]
    public void StepsMustNeitherOverlapNorLeaveAGap(string word, double lo1, double hi1, double lo2, double? hi2)
    {
        var why = StepScaling.Refusal(new StepConfigRow("ChangeInCapacity", [new(lo1, hi1, 1), new(lo2, hi2, 2)], null, null, null));
        Assert.Contains(word, why, StringComparison.Ordinal);
    }

    [Fact]
    public void AwsRulesForTheBoundsAndTheOptions()
    {
        string? Refusal(params StepRow[] steps) => StepScaling.Refusal(new StepConfigRow("ChangeInCapacity", [.. steps], null, null, null));
        Assert.Null(StepScaling.Refusal(Config()));
        Assert.Contains("cannot both be null", Refusal(new StepRow(null, null, 1)), StringComparison.Ordinal);
        Assert.Contains("null lower bound", Refusal(new StepRow(null, 0, 1), new StepRow(null, 5, 1)), StringComparison.Ordinal);
        Assert.Contains("null upper bound", Refusal(new StepRow(0, 10, 1)), StringComparison.Ordinal); // a positive upper bound needs a step above it
        Assert.Contains("null lower bound", Refusal(new StepRow(-10, 0, 1)), StringComparison.Ordinal);
        Assert.Contains("at least one", Refusal(), StringComparison.Ordinal);
        Assert.Contains("MinAdjustmentMagnitude", StepScaling.Refusal(Config(magnitude: 2)), StringComparison.Ordinal);
        Assert.Contains("must not be negative", StepScaling.Refusal(new StepConfigRow("ExactCapacity", [new(0, null, -1)], null, null, null)), StringComparison.Ordinal);
    }
}
