using System.Globalization;

namespace Strata.Algorithms.Monitor;

/// <summary>One field of a record: a feature's name and its value as text (null when missing).</summary>
public readonly record struct Field(string Name, string? Value);

/// <summary>
/// The statistics SageMaker's model monitor analyzer computes of a dataset, in one pass over its
/// records (a baseline's CSV or JSON lines, or — for monitoring executions — the records of
/// captured data): the item count, and per feature its inferred type and its numerical or string
/// statistics. Pure: no files, no clock. <see cref="MonitorReport"/> writes the result as
/// statistics.json and constraints.json.
/// </summary>
public sealed class DatasetStatistics
{
    readonly Dictionary<string, FeatureAccumulator> _byName = new(StringComparer.Ordinal);
    readonly List<FeatureAccumulator> _features = [];

    public long ItemCount { get; private set; }

    /// <summary>The features in the order they first appeared.</summary>
    public IReadOnlyList<FeatureAccumulator> Features => _features;

    /// <summary>One record; a null value is missing (the readers make a CSV's empty field null, as
    /// Spark reads CSV), and so is a feature the record does not name. The record may be
    /// reused by the caller afterwards: nothing of it is kept but its values' text.</summary>
    public void Add(IReadOnlyList<Field> record)
    {
        ItemCount++;
        for (var i = 0; i < record.Count; i++)
        {
            var (name, value) = record[i];
            // Records of one CSV have their fields in one order with the same name strings: the
            // feature at the field's position is nearly always the one.
            var feature = i < _features.Count && ReferenceEquals(_features[i].Name, name) ? _features[i] : Find(name);
            if (value is not null) feature.Add(value);
        }
    }

    FeatureAccumulator Find(string name)
    {
        if (_byName.TryGetValue(name, out var feature)) return feature;
        feature = new FeatureAccumulator(name);
        _byName.Add(name, feature);
        _features.Add(feature);
        return feature;
    }

    public static DatasetStatistics Compute(IEnumerable<IReadOnlyList<Field>> records)
    {
        var statistics = new DatasetStatistics();
        foreach (var record in records) statistics.Add(record);
        return statistics;
    }
}

/// <summary>The inferred types statistics.json names, as SageMaker's analyzer infers them: a
/// feature whose present values are all integers is Integral, all numbers Fractional, any other
/// value makes it String, and one with no value at all is Unknown.</summary>
public enum InferredType { Unknown, Integral, Fractional, String }

/// <summary>What one pass keeps of a feature: counts, the numeric moments (Welford's mean and
/// variance, a compensated sum), min and max and a <see cref="KllSketch"/> of its numbers, and the
/// counts of its distinct values while they are few (a <see cref="HyperLogLog"/> after that).</summary>
public sealed class FeatureAccumulator(string name)
{
    /// <summary>Distinct values counted exactly, and written as categorical buckets, up to this many.</summary>
    public const int CategoricalLimit = 1000;

    public string Name { get; } = name;

    public long Present { get; private set; }
    public long IntegralCount { get; private set; }
    public long FractionalCount { get; private set; }
    public long StringCount { get; private set; }

    double _mean, _m2, _sum, _compensation;
    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;
    public KllSketch Sketch { get; } = new();

    Dictionary<string, long>? _values = new(StringComparer.Ordinal);
    HyperLogLog? _distinct;

    public InferredType Type => Present == 0 ? InferredType.Unknown
        : StringCount > 0 ? InferredType.String
        : FractionalCount > 0 ? InferredType.Fractional
        : InferredType.Integral;

    public long NumericCount => IntegralCount + FractionalCount;
    public double Sum => _sum + _compensation;
    /// <summary>The compensated sum over the count: nearer the exact mean than the running one.</summary>
    public double Mean => NumericCount == 0 ? double.NaN : Sum / NumericCount;
    /// <summary>The population standard deviation (as Deequ, which SageMaker's analyzer runs on, computes it).</summary>
    public double StdDev => NumericCount == 0 ? double.NaN : Math.Sqrt(_m2 / NumericCount);

    /// <summary>The values' counts, most frequent first (null once there were more than <see cref="CategoricalLimit"/>).</summary>
    public List<KeyValuePair<string, long>>? Categories
        => _values?.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    public double DistinctCount => _values?.Count ?? Math.Round(_distinct!.Estimate());

    public void Add(string value)
    {
        Present++;
        if (_values is not null)
        {
            ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_values, value, out _);
            count++;
            if (_values.Count > CategoricalLimit)
            {
                _distinct = new HyperLogLog();
                foreach (var seen in _values.Keys) _distinct.Add(seen);
                _values = null;
            }
        }
        else _distinct!.Add(value);

        switch (Classify(value, out var number))
        {
            case InferredType.Integral: IntegralCount++; AddNumber(number); break;
            case InferredType.Fractional: FractionalCount++; AddNumber(number); break;
            default: StringCount++; break;
        }
    }

    void AddNumber(double x)
    {
        var n = NumericCount;
        var delta = x - _mean;
        _mean += delta / n;
        _m2 += delta * (x - _mean);
        // Neumaier's compensated sum: a long column of small fractions sums as exactly as its mean.
        var t = _sum + x;
        _compensation += Math.Abs(_sum) >= Math.Abs(x) ? (_sum - t) + x : (x - t) + _sum;
        _sum = t;
        if (x < Min) Min = x;
        if (x > Max) Max = x;
        Sketch.Add(x);
    }

    /// <summary>Integral: an optional sign and digits (surrounding blanks ignored); Fractional: any
    /// other finite number in invariant notation (1.5, -2e3, .5); otherwise String (NaN, Infinity,
    /// 1,5 and words alike).</summary>
    public static InferredType Classify(string text, out double number)
    {
        var s = text.AsSpan().Trim();
        number = 0;
        if (s.IsEmpty) return InferredType.String;
        var digits = s[0] is '+' or '-' ? s[1..] : s;
        if (!digits.IsEmpty && !digits.ContainsAnyExcept("0123456789"))
        {
            if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            {
                number = integer;
                return InferredType.Integral;
            }
            number = double.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return InferredType.Integral;
        }
        if (digits.IndexOfAnyInRange('0', '9') >= 0
            && double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out number)
            && double.IsFinite(number))
            return InferredType.Fractional;
        number = 0;
        return InferredType.String;
    }
}
