namespace Strata.Server.Services.SageMaker;

/// <summary>
/// The limits that AWS keeps as service quotas (raised through Service Quotas there) and Strata
/// keeps as configuration: <c>strata serve --limit NAME=VALUE</c>, once per limit. Every
/// ResourceLimitExceeded names the limit and the option that raises it (<see cref="Raise"/>).
/// The defaults are here and nowhere else.
/// </summary>
public sealed record SageMakerLimits
{
    /// <summary>Instances one production variant may run (CreateEndpoint, UpdateEndpoint,
    /// UpdateEndpointWeightsAndCapacities, an autoscaling MaxCapacity): each is a process on this machine.</summary>
    public int InstancesPerVariant { get; init; } = 32;
    /// <summary>Instances of one batch transform job.</summary>
    public int TransformInstances { get; init; } = 32;
    /// <summary>Instances of one training job (AWS's quota is per instance type; all of Strata's
    /// run on one machine).</summary>
    public int TrainingInstances { get; init; } = 16;
    /// <summary>Training jobs one hyperparameter tuning job may launch in all.</summary>
    public int TuningTrainingJobs { get; init; } = 750;
    /// <summary>Training jobs one hyperparameter tuning job may run at once.</summary>
    public int TuningParallelTrainingJobs { get; init; } = 10;
    /// <summary>Hyperparameter tuning jobs an account may have running at once.</summary>
    public int ConcurrentTuningJobs { get; init; } = 100;

    /// <summary>One limit as the option names it.</summary>
    public sealed record Limit(string Name, string Meaning, Func<SageMakerLimits, int> Get, Func<SageMakerLimits, int, SageMakerLimits> Set);

    public static readonly IReadOnlyList<Limit> All =
    [
        new("instances-per-variant", "instances of one endpoint production variant", l => l.InstancesPerVariant, (l, v) => l with { InstancesPerVariant = v }),
        new("transform-instances", "instances of one batch transform job", l => l.TransformInstances, (l, v) => l with { TransformInstances = v }),
        new("training-instances", "instances of one training job", l => l.TrainingInstances, (l, v) => l with { TrainingInstances = v }),
        new("tuning-training-jobs", "training jobs of one hyperparameter tuning job", l => l.TuningTrainingJobs, (l, v) => l with { TuningTrainingJobs = v }),
        new("tuning-parallel-training-jobs", "training jobs one hyperparameter tuning job runs at once", l => l.TuningParallelTrainingJobs, (l, v) => l with { TuningParallelTrainingJobs = v }),
        new("concurrent-tuning-jobs", "hyperparameter tuning jobs an account runs at once", l => l.ConcurrentTuningJobs, (l, v) => l with { ConcurrentTuningJobs = v }),
    ];

    /// <summary>What a ResourceLimitExceeded message ends with: where the limit is set.</summary>
    public static string Raise(string name) => $"To change it, start Strata with `strata serve --limit {name}=N`.";

    /// <summary>The limits <paramref name="assignments"/> (NAME=VALUE each) set, over the defaults.
    /// Throws <see cref="FormatException"/> saying what is wrong with the first bad one.</summary>
    public static SageMakerLimits Parse(IEnumerable<string> assignments)
    {
        var limits = new SageMakerLimits();
        foreach (var assignment in assignments)
        {
            var equals = assignment.IndexOf('=');
            var name = equals < 0 ? assignment : assignment[..equals];
            var limit = All.FirstOrDefault(l => l.Name == name)
                ?? throw new FormatException($"--limit {assignment}: no limit is called {name}; the limits are {string.Join(", ", All.Select(l => l.Name))}");
            if (equals < 0 || !int.TryParse(assignment[(equals + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < 1)
                throw new FormatException($"--limit {assignment}: expected {name}=N, N a whole number of 1 or more");
            limits = limit.Set(limits, value);
        }
        return limits;
    }
}
