namespace Strata.Server.Hosting;

/// <summary>A running endpoint: its variants, each with weight and instances. Picks where a
/// request goes: a variant by weight (or the one asked for), then the instance of that
/// variant with the fewest requests in flight.</summary>
public sealed class EndpointRuntime(string name, string configName, IReadOnlyList<VariantRuntime> variants) : IAsyncDisposable
{
    public string Name { get; } = name;
    public string ConfigName { get; } = configName;
    public IReadOnlyList<VariantRuntime> Variants { get; } = variants;

    public VariantRuntime? PickVariant(string? target)
    {
        if (target is not null) return Variants.FirstOrDefault(v => v.Name == target);
        var total = Variants.Sum(v => Math.Max(0, v.Weight));
        if (total <= 0) return null;
        var roll = Random.Shared.NextDouble() * total;
        foreach (var v in Variants)
        {
            if (v.Weight <= 0) continue;
            roll -= v.Weight;
            if (roll < 0) return v;
        }
        return Variants.Last(v => v.Weight > 0);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var v in Variants)
            foreach (var i in v.Instances) await i.DisposeAsync();
    }
}

public sealed class VariantRuntime(string name, float weight, string image, IReadOnlyList<WorkerProcess> instances)
{
    public string Name { get; } = name;
    public float Weight { get; set; } = weight;
    public string Image { get; } = image;
    public IReadOnlyList<WorkerProcess> Instances { get; } = instances;

    /// <summary>Least outstanding requests among live instances, ties broken at random;
    /// <paramref name="except"/> is skipped (the instance a retry moves away from).</summary>
    public WorkerProcess? PickInstance(WorkerProcess? except = null)
    {
        WorkerProcess? best = null;
        var ties = 0;
        foreach (var i in Instances)
        {
            if (i == except || i.HasExited) continue;
            if (best is null || i.Outstanding < best.Outstanding)
            {
                best = i;
                ties = 1;
            }
            else if (i.Outstanding == best.Outstanding && Random.Shared.Next(++ties) == 0)
            {
                best = i;
            }
        }
        return best;
    }
}
