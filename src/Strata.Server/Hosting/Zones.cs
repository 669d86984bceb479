namespace Strata.Server.Hosting;

/// <summary>
/// The installation's availability zones, and which of them have failed (a drill: `strata chaos
/// fail-zone`). New instances go to the healthy zone where their variant has the fewest, so a
/// variant spreads as evenly as it can and its replacements avoid a failed zone.
/// </summary>
public sealed class Zones(IReadOnlyList<string> names)
{
    readonly HashSet<string> _failed = [];
    readonly Lock _lock = new();

    public IReadOnlyList<string> Names { get; } = names.Count > 0 ? names : throw new ArgumentException("at least one zone is needed");

    public static IReadOnlyList<string> Default(string region) => [region + "a", region + "b", region + "c"];

    public bool IsFailed(string zone) { lock (_lock) return _failed.Contains(zone); }

    public IReadOnlyList<string> Failed { get { lock (_lock) return _failed.ToList(); } }

    public void Fail(string zone) { lock (_lock) _failed.Add(Known(zone)); }

    public void Restore(string zone) { lock (_lock) _failed.Remove(Known(zone)); }

    string Known(string zone) => Names.Contains(zone) ? zone : throw new HostingException($"{zone} is not one of this installation's zones ({string.Join(", ", Names)})");

    /// <summary>The zone for the next instance of a variant whose instances are in <paramref name="inUse"/>.</summary>
    public string Pick(IEnumerable<string?> inUse)
    {
        var counts = inUse.Where(z => z is not null).GroupBy(z => z!).ToDictionary(g => g.Key, g => g.Count());
        lock (_lock)
        {
            var healthy = Names.Where(z => !_failed.Contains(z)).ToList();
            if (healthy.Count == 0) throw new HostingException($"every zone has failed ({string.Join(", ", Names)}); no instance can start");
            return healthy.OrderBy(z => counts.GetValueOrDefault(z)).First();
        }
    }

    /// <summary>Zones for <paramref name="count"/> new instances at once, spread evenly.</summary>
    public List<string> Spread(int count)
    {
        var picked = new List<string>();
        for (var i = 0; i < count; i++) picked.Add(Pick(picked));
        return picked;
    }
}
