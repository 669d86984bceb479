namespace Strata.Server.Storage;

/// <summary>
/// The distribution of one bucket's values, for CloudWatch's percentile statistics (p99, tm90,
/// wm, tc, ts, PR, IQM): a relative-error sketch (DDSketch) whose bins grow geometrically, so
/// any percentile is within 1 % of the true value whatever the range, and two sketches merge by
/// adding their bins — which is how 1-second buckets roll up into minutes and hours.
/// </summary>
public sealed class MetricSketch
{
    /// <summary>Relative accuracy: a reported percentile is within 1 % of a value that was recorded.</summary>
    const double Alpha = 0.01;
    static readonly double Gamma = (1 + Alpha) / (1 - Alpha);
    static readonly double LogGamma = Math.Log(Gamma);

    readonly Dictionary<int, double> _positive = [];
    readonly Dictionary<int, double> _negative = [];
    double _zero;

    public double Count { get; private set; }

    public void Add(double value, double count = 1)
    {
        if (value > 0) Bump(_positive, Index(value), count);
        else if (value < 0) Bump(_negative, Index(-value), count);
        else _zero += count;
        Count += count;
    }

    public void Merge(MetricSketch other)
    {
        foreach (var (k, c) in other._positive) Bump(_positive, k, c);
        foreach (var (k, c) in other._negative) Bump(_negative, k, c);
        _zero += other._zero;
        Count += other.Count;
    }

    public MetricSketch Clone()
    {
        var copy = new MetricSketch();
        copy.Merge(this);
        return copy;
    }

    static void Bump(Dictionary<int, double> bins, int index, double count)
        => bins[index] = bins.TryGetValue(index, out var c) ? c + count : count;

    static int Index(double magnitude) => (int)Math.Ceiling(Math.Log(magnitude) / LogGamma);

    /// <summary>The value a bin stands for: the midpoint (in relative terms) of its range.</summary>
    static double Value(int index) => 2 * Math.Pow(Gamma, index) / (Gamma + 1);

    /// <summary>The bins in ascending order of value, each with its representative value and count.</summary>
    public IEnumerable<(double Value, double Count)> Ascending()
    {
        foreach (var k in _negative.Keys.OrderDescending()) yield return (-Value(k), _negative[k]);
        if (_zero > 0) yield return (0, _zero);
        foreach (var k in _positive.Keys.Order()) yield return (Value(k), _positive[k]);
    }

    /// <summary>The value at quantile <paramref name="q"/> (0 to 1) by nearest rank — the smallest
    /// value with at least that share of the values at or below it — clamped to what was recorded.</summary>
    public double Quantile(double q, double min, double max)
    {
        if (Count <= 0) return double.NaN;
        if (q <= 0) return min;
        var rank = Math.Max(1, Math.Ceiling(q * Count - 1e-9));
        double seen = 0;
        foreach (var (value, count) in Ascending())
        {
            seen += count;
            if (seen >= rank) return Math.Clamp(value, min, max);
        }
        return max;
    }

    // ---- persistence: a compact binary form, written to the metrics database ----

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            w.Write(_zero);
            Write(w, _positive);
            Write(w, _negative);
        }
        return buffer.ToArray();

        static void Write(BinaryWriter w, Dictionary<int, double> bins)
        {
            w.Write(bins.Count);
            foreach (var (k, c) in bins)
            {
                w.Write(k);
                w.Write(c);
            }
        }
    }

    public static MetricSketch FromBytes(byte[] bytes)
    {
        var sketch = new MetricSketch();
        using var r = new BinaryReader(new MemoryStream(bytes));
        sketch._zero = r.ReadDouble();
        Read(r, sketch._positive);
        Read(r, sketch._negative);
        sketch.Count = sketch._zero + sketch._positive.Values.Sum() + sketch._negative.Values.Sum();
        return sketch;

        static void Read(BinaryReader r, Dictionary<int, double> bins)
        {
            var n = r.ReadInt32();
            for (var i = 0; i < n; i++) bins[r.ReadInt32()] = r.ReadDouble();
        }
    }
}
