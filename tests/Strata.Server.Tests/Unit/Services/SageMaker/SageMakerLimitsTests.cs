using Strata.Server.Services.SageMaker;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// `strata serve --limit NAME=VALUE`: each name sets its own limit over the defaults (which are
/// AWS's and Strata's of before), a later one wins, and a name or value that is not one is refused
/// saying which limits there are.
/// </summary>
public sealed class SageMakerLimitsTests
{
    [Fact]
    public void DefaultsWithoutOptions()
    {
        var limits = SageMakerLimits.Parse([]);
        Assert.Equal(new SageMakerLimits(), limits);
        Assert.Equal((32, 32, 16, 750, 10, 100), (limits.InstancesPerVariant, limits.TransformInstances, limits.TrainingInstances,
            limits.TuningTrainingJobs, limits.TuningParallelTrainingJobs, limits.ConcurrentTuningJobs));
    }

    [Fact]
    public void EachNameSetsItsLimit()
    {
        foreach (var limit in SageMakerLimits.All)
        {
            var set = SageMakerLimits.Parse([$"{limit.Name}=7"]);
            Assert.Equal(7, limit.Get(set));
            // And no other.
            foreach (var other in SageMakerLimits.All.Where(o => o != limit))
                Assert.Equal(other.Get(new SageMakerLimits()), other.Get(set));
        }
        Assert.Equal(3, SageMakerLimits.Parse(["training-instances=2", "training-instances=3"]).TrainingInstances);
    }

    [Theory]
    [InlineData("instance-count=3", "no limit is called instance-count; the limits are instances-per-variant, transform-instances")]
    [InlineData("training-instances", "expected training-instances=N")]
    [InlineData("training-instances=0", "expected training-instances=N")]
    [InlineData("training-instances=-1", "expected training-instances=N")]
    [InlineData("training-instances=two", "expected training-instances=N")]
    [InlineData("training-instances=", "expected training-instances=N")]
    public void RefusedSayingWhy(string option, string reason)
    {
        var e = Assert.Throws<FormatException>(() => SageMakerLimits.Parse([option]));
        Assert.Contains(reason, e.Message);
        Assert.StartsWith($"--limit {option}:", e.Message);
    }
}
