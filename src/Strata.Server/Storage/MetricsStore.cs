using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Strata.Server.Storage;

/// <summary>A metric series: CloudWatch's namespace, metric name and dimensions.</summary>
public sealed record MetricKey(string Namespace, string Name, string Unit, IReadOnlyList<KeyValuePair<string, string>> Dimensions)
{
    public bool Equals(MetricKey? other) => other is not null && Namespace == other.Namespace && Name == other.Name
        && Dimensions.SequenceEqual(other.Dimensions);

    public override int GetHashCode()
    {
        var hash = HashCode.Combine(Namespace, Name);
        foreach (var (k, v) in Dimensions) hash = HashCode.Combine(hash, k, v);
        return hash;
    }
}

/// <summary>CloudWatch's statistics of one period.</summary>
public sealed record MetricStatistics(DateTimeOffset Timestamp, long SampleCount, double Sum, double Minimum, double Maximum)
{
    public double Average => SampleCount == 0 ? 0 : Sum / SampleCount;
}

/// <summary>
/// The platform's metrics: every value recorded into one-minute statistics per series (kept for a
/// day), and running totals since start for the Prometheus view. Autoscaling and CloudWatch read
/// the minutes; <c>GET /_strata/metrics</c> renders the totals.
/// </summary>
public sealed class MetricsStore(TimeProvider clock)
{
    const int RetainedMinutes = 24 * 60;
    readonly ConcurrentDictionary<MetricKey, Series> _series = new();

    public void Record(string ns, string name, string unit, double value, params (string Name, string Value)[] dimensions)
        => Handle(ns, name, unit, dimensions).Record(value);

    /// <summary>A series to record into repeatedly without looking it up each time (hot paths
    /// keep one per metric they emit).</summary>
    public MetricHandle Handle(string ns, string name, string unit, params (string Name, string Value)[] dimensions)
    {
        var key = new MetricKey(ns, name, unit, dimensions.Select(d => new KeyValuePair<string, string>(d.Name, d.Value)).ToList());
        return new MetricHandle(_series.GetOrAdd(key, _ => new Series()), clock);
    }

    public sealed class MetricHandle
    {
        readonly Series _series;
        readonly TimeProvider _clock;

        internal MetricHandle(Series series, TimeProvider clock) => (_series, _clock) = (series, clock);

        public void Record(double value) => _series.Add(_clock.GetUtcNow(), value);
    }

    /// <summary>One-minute statistics of a series between two times (oldest first).</summary>
    public List<MetricStatistics> Query(string ns, string name, IReadOnlyList<KeyValuePair<string, string>> dimensions, DateTimeOffset from, DateTimeOffset to)
        => _series.TryGetValue(new MetricKey(ns, name, "", dimensions), out var s) ? s.Between(from, to) : [];

    public IEnumerable<MetricKey> Keys => _series.Keys;

    /// <summary>Everything a series has recorded since it began (count and sum): two readings a
    /// period apart give its rate over exactly that period, whatever the minute buckets.</summary>
    public (long Count, double Sum) Totals(string ns, string name, IReadOnlyList<KeyValuePair<string, string>> dimensions)
        => _series.TryGetValue(new MetricKey(ns, name, "", dimensions), out var s) ? s.Totals : (0, 0);

    /// <summary>Prometheus text exposition: per series a _count and _sum since start.</summary>
    public string Prometheus()
    {
        var sb = new StringBuilder();
        foreach (var group in _series.GroupBy(kv => MetricName(kv.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(" summary\n");
            foreach (var (key, series) in group.OrderBy(kv => string.Join(",", kv.Key.Dimensions.Select(d => d.Value)), StringComparer.Ordinal))
            {
                var labels = string.Join(",", key.Dimensions.Select(d => $"{Label(d.Key)}=\"{d.Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\""));
                var (count, sum) = series.Totals;
                sb.Append(group.Key).Append("_count{").Append(labels).Append("} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                sb.Append(group.Key).Append("_sum{").Append(labels).Append("} ").Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        return sb.ToString();
    }

    static string MetricName(MetricKey key)
        => $"{key.Namespace.ToLowerInvariant().Replace('/', ' ').Replace('-', ' ').Trim().Replace(' ', '_')}_{SnakeCase(key.Name)}";

    static string Label(string dimension) => SnakeCase(dimension);

    /// <summary>CPUUtilization → cpu_utilization, Invocation4XXErrors → invocation_4xx_errors.</summary>
    static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var previous = i > 0 ? name[i - 1] : ' ';
            var next = i + 1 < name.Length ? name[i + 1] : ' ';
            var boundary = i > 0 && previous != ' ' && (
                (char.IsUpper(c) && (char.IsLower(previous) || (char.IsUpper(previous) && char.IsLower(next))))
                || (char.IsDigit(c) && char.IsLetter(previous)));
            if (boundary) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    internal sealed class Series
    {
        readonly Lock _lock = new();
        readonly SortedDictionary<long, (long Count, double Sum, double Min, double Max)> _minutes = [];
        long _count;
        double _sum;

        public (long Count, double Sum) Totals { get { lock (_lock) return (_count, _sum); } }

        public void Add(DateTimeOffset at, double value)
        {
            var minute = at.ToUnixTimeSeconds() / 60;
            lock (_lock)
            {
                _count++;
                _sum += value;
                _minutes[minute] = _minutes.TryGetValue(minute, out var m)
                    ? (m.Count + 1, m.Sum + value, Math.Min(m.Min, value), Math.Max(m.Max, value))
                    : (1, value, value, value);
                while (_minutes.Count > RetainedMinutes) _minutes.Remove(_minutes.Keys.First());
            }
        }

        public List<MetricStatistics> Between(DateTimeOffset from, DateTimeOffset to)
        {
            var (a, b) = (from.ToUnixTimeSeconds() / 60, to.ToUnixTimeSeconds() / 60);
            lock (_lock)
                return _minutes.Where(m => m.Key >= a && m.Key <= b)
                    .Select(m => new MetricStatistics(DateTimeOffset.FromUnixTimeSeconds(m.Key * 60), m.Value.Count, m.Value.Sum, m.Value.Min, m.Value.Max)).ToList();
        }
    }
}
