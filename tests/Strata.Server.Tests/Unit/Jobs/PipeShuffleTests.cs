using Strata.Server.Jobs.Training;

namespace Strata.Server.Tests.Unit;

/// <summary>ShuffleConfig in Pipe mode: each epoch's order is a permutation drawn from the Seed
/// and the epoch alone.</summary>
public sealed class PipeShuffleTests
{
    [Fact]
    public void TheSameSeedAndEpochGiveTheSameOrderAndEachEpochItsOwn()
    {
        var orders = Enumerable.Range(0, 5).Select(epoch => PipeChannels.ShuffleOrder(20, 1234, epoch)).ToList();
        foreach (var (order, epoch) in orders.Select((o, i) => (o, i)))
        {
            Assert.Equal(Enumerable.Range(0, 20), order.Order());
            Assert.Equal(order, PipeChannels.ShuffleOrder(20, 1234, epoch));
        }
        Assert.Equal(5, orders.Select(o => string.Join(',', o)).Distinct().Count());
        Assert.DoesNotContain(orders, o => o.SequenceEqual(Enumerable.Range(0, 20)));
        Assert.NotEqual(orders[0], PipeChannels.ShuffleOrder(20, 1235, 0));
        Assert.NotEqual(orders[0], PipeChannels.ShuffleOrder(20, -1234, 0));
    }

    [Fact]
    public void TheOrdersAreFixedAcrossVersions()
    {
        // A seed's orders are part of a job's reproducibility: they must not change with a release.
        Assert.Equal([0, 3, 4, 7, 5, 2, 1, 6], PipeChannels.ShuffleOrder(8, 42, 0));
        Assert.Equal([2, 6, 0, 7, 5, 1, 3, 4], PipeChannels.ShuffleOrder(8, 42, 1));
        Assert.Equal([], PipeChannels.ShuffleOrder(0, 42, 0));
        Assert.Equal([0], PipeChannels.ShuffleOrder(1, 42, 3));
    }

    [Fact]
    public void EveryOrderIsAboutAsLikely()
    {
        // 6000 seeds over 3 items: each of the 6 orders about 1000 times (a biased draw, such as
        // a modulo or a naive swap, is far outside these bounds).
        var counts = new Dictionary<string, int>();
        for (var seed = 0; seed < 6000; seed++)
        {
            var key = string.Join(',', PipeChannels.ShuffleOrder(3, seed, 0));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.Equal(6, counts.Count);
        Assert.All(counts.Values, n => Assert.InRange(n, 880, 1120));
    }
}
