using Strata.Server.Services.AutoScaling;

namespace Strata.Server.Tests.Unit;

/// <summary>Target tracking's decisions, driven by a clock the test owns.</summary>
public sealed class TargetTrackingTests
{
    static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    static TrackingDecision Decide(int current, double metric, double target = 100, int min = 1, int max = 10,
        DateTimeOffset? lastOut = null, DateTimeOffset? lastAny = null, bool disableIn = false)
        => TargetTracking.Evaluate(new TrackingInput(current, min, max, metric, target, Five, Five, disableIn, Now, lastOut, lastAny));

    [Theory]
    [InlineData(1, 250, 3)]    // ceil(1 × 250 / 100)
    [InlineData(2, 100, 2)]    // on target
    [InlineData(4, 49, 2)]     // ceil(4 × 49 / 100) = 2
    [InlineData(3, 0, 1)]      // idle: down to the minimum
    [InlineData(2, 5000, 10)]  // capped at the maximum
    [InlineData(2, 100.000001, 2)] // float noise does not add an instance
    public void CapacityFollowsTheMetric(int current, double metric, int expected) => Assert.Equal(expected, Decide(current, metric).Desired);

    /// <summary>An asynchronous endpoint (MinCapacity 0): idle goes to no instance, and from none
    /// a backlog asks for one (proportion alone would never leave zero).</summary>
    [Theory]
    [InlineData(2, 0, 0)]
    [InlineData(0, 0, 0)]
    [InlineData(0, 3, 1)]
    [InlineData(1, 3, 3)]
    public void MinimumZeroScalesToZeroAndBack(int current, double metric, int expected) => Assert.Equal(expected, Decide(current, metric, target: 1, min: 0).Desired);

    [Fact]
    public void CooldownsHoldCapacity()
    {
        Assert.Equal(2, Decide(2, 300, lastOut: Now.AddMinutes(-1)).Desired);           // scale-out cooldown running
        Assert.Equal(6, Decide(2, 300, lastOut: Now.AddMinutes(-6)).Desired);           // over
        Assert.Equal(4, Decide(4, 10, lastAny: Now.AddMinutes(-2)).Desired);            // scale-in cooldown running
        Assert.Equal(1, Decide(4, 10, lastAny: Now.AddMinutes(-5)).Desired);            // over
        Assert.Contains("cooldown", Decide(4, 10, lastAny: Now.AddMinutes(-2)).Reason);
    }

    [Fact]
    public void DisableScaleInKeepsCapacityButStillScalesOut()
    {
        Assert.Equal(4, Decide(4, 10, disableIn: true).Desired);
        Assert.Equal(8, Decide(4, 200, disableIn: true).Desired);
    }

    [Fact]
    public void BoundsWinOverTheMetric()
    {
        Assert.Equal(3, Decide(1, 0, min: 3).Desired);
        Assert.Equal(5, Decide(8, 1000, max: 5).Desired);
    }
}
