namespace Strata.Algorithms.Monitor;

/// <summary>
/// The KLL quantile sketch of Karnin, Lang and Liberty ("Optimal Quantile Approximation in
/// Streams", 2016), with lazy compaction: a stack of compactors, level h holding items of weight
/// 2^h. A level over its capacity is sorted and halved — every other item, from a random first
/// one, goes up a level with double the weight — so n items are kept in O(k) space and any rank is
/// estimated within a small multiple of n/k (KllSketchTests checks it against exact ranks). The
/// top level holds up to k items and each level below c times fewer (at least 2), as the paper sets it.
/// The parameters and the compactors' items are what SageMaker's analyzer writes in
/// statistics.json (<c>sketch.parameters {c, k}</c>, <c>sketch.data</c>, level 0 first), and a
/// sketch can be rebuilt from them (<see cref="FromData"/>) to compare a dataset with its baseline.
/// </summary>
public sealed class KllSketch
{
    /// <summary>AWS's analyzer (Deequ's KLL) writes k 2048 and c 0.64.</summary>
    public const int DefaultK = 2048;
    public const double DefaultC = 0.64;

    readonly List<List<double>> _levels = [[]];
    readonly Random _coin;
    int _size;
    int _capacity;

    public int K { get; }
    public double C { get; }
    /// <summary>How many items the sketch has seen (the sum of its items' weights).</summary>
    public long Count { get; private set; }

    /// <param name="seed">The coin that picks which half of a level goes up: fixed, so that one
    /// dataset always gives the same sketch.</param>
    public KllSketch(int k = DefaultK, double c = DefaultC, int seed = 0x5EED)
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), "k must be at least 2");
        if (c is <= 0.5 or > 1) throw new ArgumentOutOfRangeException(nameof(c), "c must be in (0.5, 1]");
        K = k;
        C = c;
        _coin = new Random(seed);
        _capacity = Capacity(0);
    }

    /// <summary>A sketch as statistics.json writes it: its parameters and its levels' items (level 0 first).</summary>
    public static KllSketch FromData(int k, double c, IReadOnlyList<IReadOnlyList<double>> data)
    {
        var sketch = new KllSketch(k, c);
        sketch._levels.Clear();
        for (var h = 0; h < Math.Max(1, data.Count); h++)
        {
            var level = h < data.Count ? new List<double>(data[h]) : [];
            sketch._levels.Add(level);
            sketch._size += level.Count;
            sketch.Count += (long)level.Count << h;
        }
        sketch._capacity = Enumerable.Range(0, sketch._levels.Count).Sum(sketch.Capacity);
        return sketch;
    }

    /// <summary>The items of each level, level 0 (weight 1) first.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Levels => _levels;

    /// <summary>The capacity of level h: k·c^(depth below the top), at least 2.</summary>
    int Capacity(int level) => Math.Max(2, (int)Math.Ceiling(K * Math.Pow(C, _levels.Count - 1 - level)));

    public void Add(double item)
    {
        if (double.IsNaN(item)) throw new ArgumentException("a KLL sketch orders numbers: NaN has no rank", nameof(item));
        _levels[0].Add(item);
        _size++;
        Count++;
        if (_size >= _capacity) Compress();
    }

    /// <summary>Lazy compaction: the lowest level over its capacity is halved, and only as many
    /// levels as it takes to be under the total capacity again.</summary>
    void Compress()
    {
        for (var h = 0; h < _levels.Count && _size >= _capacity; h++)
        {
            if (_levels[h].Count < Capacity(h)) continue;
            if (h + 1 == _levels.Count)
            {
                _levels.Add([]);
                // A new top level: every level's capacity is recomputed from its new depth.
                _capacity = Enumerable.Range(0, _levels.Count).Sum(Capacity);
            }
            Compact(_levels[h], _levels[h + 1]);
            _size = _levels.Sum(l => l.Count);
        }
    }

    /// <summary>Sorts the level and sends every other item up (the first at random); an odd item
    /// out (the largest) stays, so the total weight never changes.</summary>
    void Compact(List<double> level, List<double> above)
    {
        level.Sort();
        double? kept = level.Count % 2 == 1 ? level[^1] : null;
        var pairs = level.Count / 2;
        var offset = _coin.Next(2);
        for (var i = 0; i < pairs; i++) above.Add(level[2 * i + offset]);
        level.Clear();
        if (kept is { } item) level.Add(item);
    }

    /// <summary>The estimated number of items ≤ <paramref name="x"/> (inclusive) or &lt; it.</summary>
    public long Rank(double x, bool inclusive = true)
    {
        long rank = 0;
        for (var h = 0; h < _levels.Count; h++)
        {
            long count = 0;
            foreach (var item in _levels[h])
                if (inclusive ? item <= x : item < x) count++;
            rank += count << h;
        }
        return rank;
    }

    /// <summary>The estimated q-quantile (0 ≤ q ≤ 1): the smallest item whose inclusive rank reaches q·n.</summary>
    public double Quantile(double q)
    {
        if (Count == 0) throw new InvalidOperationException("an empty sketch has no quantiles");
        var weighted = new List<(double Item, long Weight)>(_size);
        for (var h = 0; h < _levels.Count; h++)
            foreach (var item in _levels[h]) weighted.Add((item, 1L << h));
        weighted.Sort((a, b) => a.Item.CompareTo(b.Item));
        var target = Math.Max(1, (long)Math.Ceiling(Math.Clamp(q, 0, 1) * Count));
        long cumulative = 0;
        foreach (var (item, weight) in weighted)
        {
            cumulative += weight;
            if (cumulative >= target) return item;
        }
        return weighted[^1].Item;
    }

    /// <summary><paramref name="count"/> equal-width buckets from <paramref name="min"/> to
    /// <paramref name="max"/>, each counting the items in [lower, upper) by the sketch's ranks (the
    /// last also those equal to max), as SageMaker's analyzer materializes the distribution.</summary>
    public List<(double Lower, double Upper, long Count)> Buckets(double min, double max, int count = 10)
    {
        var buckets = new List<(double, double, long)>(count);
        for (var i = 0; i < count; i++)
        {
            var lower = min + (max - min) * i / count;
            var upper = i == count - 1 ? max : min + (max - min) * (i + 1) / count;
            var n = (i == count - 1 ? Rank(upper) : Rank(upper, inclusive: false)) - Rank(lower, inclusive: false);
            buckets.Add((lower, upper, n));
        }
        return buckets;
    }
}
