using Microsoft.Extensions.Time.Testing;
using Strata.Server.Hosting;

namespace Strata.Server.Tests.Unit;

/// <summary>A serverless variant's admission and idle time, on a clock the test owns.</summary>
public sealed class ServerlessTests
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void IdleCountsFromTheLastRequestAndNeverWhileOneIsInFlight()
    {
        var variant = new Serverless(new ServerlessSettings(2048, 2, null), _clock);
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TimeSpan.FromMinutes(10), variant.Idle);

        Assert.True(variant.TryEnter());
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.Zero, variant.Idle);    // a long request is not idleness
        variant.Exit(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.Zero, variant.Idle);

        _clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(TimeSpan.FromSeconds(119), variant.Idle);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(120), variant.Idle);
        Assert.Equal(new ServerlessUsage(1, 600, 0), variant.Usage); // 2 GB × 300 s
    }

    [Fact]
    public void AdmitsUpToMaxConcurrencyAndKeepsProvisionedInstances()
    {
        var variant = new Serverless(new ServerlessSettings(1024, 2, 5), _clock);
        Assert.True(variant.TryEnter());
        Assert.True(variant.TryEnter());
        Assert.False(variant.TryEnter());
        Assert.Equal(2, variant.ProvisionedInstances); // 5 concurrent requests at 4 an instance
        Assert.Equal(2, variant.NeededInstances);
        variant.Exit(TimeSpan.Zero);
        Assert.True(variant.TryEnter());
    }
}
