using System.Globalization;

namespace Strata.Server.Jobs.Tuning;

/// <summary>One hyperparameter a tuning job searches, as the request gave it (its strings are kept
/// to be described as they were asked for).</summary>
public sealed record TunedParameter
{
    public const string Integer = "Integer";
    public const string Continuous = "Continuous";
    public const string Categorical = "Categorical";

    public required string Name { get; init; }
    /// <summary><see cref="Integer"/>, <see cref="Continuous"/> or <see cref="Categorical"/>.</summary>
    public required string Kind { get; init; }
    public string? MinValue { get; init; }
    public string? MaxValue { get; init; }
    /// <summary>Auto, Linear, Logarithmic or ReverseLogarithmic, as asked (null: not given).</summary>
    public string? ScalingType { get; init; }
    public List<string>? Values { get; init; }
}

/// <summary>A tuning job's ranges that cannot be searched; the message says why (a ValidationException).</summary>
public sealed class TuningConfigurationException(string message) : Exception(message);

/// <summary>
/// The space a tuning job searches, encoded as a point of the unit cube that every strategy works
/// in: an integer or continuous range is one coordinate in [0, 1], uniform in the range's scale
/// (linear, logarithmic, or reverse logarithmic: log(1 − x), dense near 1), and a categorical range
/// is one coordinate per value (one-hot), so that no strategy assumes an order among its values.
/// A point becomes hyperparameters as SageMaker passes them: strings, an integer as "7", a real as
/// its shortest round-trip form ("0.1", "1e-05", as Python's repr writes it). Auto scaling is
/// logarithmic for a positive range spanning at least two orders of magnitude (max ≥ 100 × min)
/// and linear otherwise (AWS only says that it "chooses the best scale").
/// </summary>
public sealed class ParameterSpace
{
    /// <summary>AWS's limit on the hyperparameters one tuning job searches.</summary>
    public const int MaxParameters = 30;

    readonly List<Dimension> _dimensions = [];

    public IReadOnlyList<TunedParameter> Parameters { get; }

    /// <summary>The number of coordinates of an encoded point.</summary>
    public int Width { get; }

    /// <summary>Whether every range is finite (categorical or integer): what a grid can enumerate.</summary>
    public bool IsFinite => _dimensions.All(d => d is not ContinuousDimension);

    public ParameterSpace(IReadOnlyList<TunedParameter> parameters)
    {
        if (parameters.Count == 0) throw new TuningConfigurationException("The hyperparameter tuning job must search at least one hyperparameter: ParameterRanges is empty.");
        if (parameters.Count > MaxParameters)
            throw new TuningConfigurationException($"The hyperparameter tuning job searches {parameters.Count} hyperparameters; the maximum is {MaxParameters}.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var offset = 0;
        foreach (var p in parameters)
        {
            if (!names.Add(p.Name)) throw new TuningConfigurationException($"The hyperparameter {p.Name} has more than one range: each hyperparameter can be tuned once.");
            Dimension d = p.Kind switch
            {
                TunedParameter.Continuous => ContinuousDimension.Of(p, offset),
                TunedParameter.Integer => IntegerDimension.Of(p, offset),
                _ => CategoricalDimension.Of(p, offset),
            };
            _dimensions.Add(d);
            offset += d.Width;
        }
        Parameters = parameters;
        Width = offset;
    }

    /// <summary>A point drawn uniformly (in each range's scale).</summary>
    public double[] Sample(Random rng)
    {
        var point = new double[Width];
        foreach (var d in _dimensions) d.Sample(rng, point.AsSpan(d.Offset, d.Width));
        return point;
    }

    /// <summary>The point that the hyperparameters a point stands for encode to: an integer's
    /// coordinate at its value's centre, a categorical value one-hot. Strategies learn from what
    /// was really tried.</summary>
    public double[] Canonical(double[] point)
    {
        var canonical = (double[])point.Clone();
        foreach (var d in _dimensions) d.Snap(canonical.AsSpan(d.Offset, d.Width));
        return canonical;
    }

    /// <summary>A canonical point near <paramref name="point"/>: each numeric coordinate moved by a
    /// normal step of <paramref name="sigma"/>, each categorical value changed with probability
    /// <paramref name="sigma"/> (at least 0.1).</summary>
    public double[] Perturb(double[] point, double sigma, Random rng)
    {
        var moved = (double[])point.Clone();
        foreach (var d in _dimensions)
        {
            var span = moved.AsSpan(d.Offset, d.Width);
            if (d is CategoricalDimension)
            {
                if (rng.NextDouble() < Math.Max(0.1, sigma)) d.Sample(rng, span);
            }
            else span[0] = Math.Clamp(span[0] + sigma * Gaussian(rng), 0, 1);
        }
        return Canonical(moved);
    }

    /// <summary>The hyperparameters a point stands for, by name, as strings.</summary>
    public Dictionary<string, string> Values(double[] point)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in _dimensions) values[d.Parameter.Name] = d.Format(point.AsSpan(d.Offset, d.Width));
        return values;
    }

    /// <summary>The number of points of the grid (the product of the ranges' sizes).</summary>
    public long GridSize
    {
        get
        {
            if (!IsFinite) throw new InvalidOperationException("a continuous range has no grid");
            long size = 1;
            foreach (var d in _dimensions) size = size > long.MaxValue / Math.Max(1, d.Count) ? long.MaxValue : size * d.Count;
            return size;
        }
    }

    /// <summary>The grid's point number <paramref name="index"/>, in order: the first range varies
    /// slowest, each range's values in the order given (an integer range's from MinValue up).</summary>
    public double[] GridPoint(long index)
    {
        var point = new double[Width];
        for (var i = _dimensions.Count - 1; i >= 0; i--)
        {
            var d = _dimensions[i];
            d.Select((int)(index % d.Count), point.AsSpan(d.Offset, d.Width));
            index /= d.Count;
        }
        return point;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A real hyperparameter as SageMaker passes it: the shortest string that reads back as
    /// the same double, with Python's exponent ("1e-05").</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');

    abstract class Dimension(TunedParameter parameter, int offset)
    {
        public TunedParameter Parameter { get; } = parameter;
        public int Offset { get; } = offset;
        public virtual int Width => 1;
        /// <summary>How many values a grid takes (continuous: none).</summary>
        public abstract int Count { get; }
        public abstract void Sample(Random rng, Span<double> u);
        public abstract void Snap(Span<double> u);
        public abstract string Format(ReadOnlySpan<double> u);
        public abstract void Select(int value, Span<double> u);
    }

    /// <summary>The scale a numeric range is searched in: the transform to a line and back.</summary>
    sealed record Scale(Func<double, double> Forward, Func<double, double> Back);

    static readonly Scale Linear = new(x => x, x => x);
    static readonly Scale Logarithmic = new(Math.Log, Math.Exp);
    static readonly Scale ReverseLogarithmic = new(x => Math.Log(1 - x), t => 1 - Math.Exp(t));

    static double Number(TunedParameter p, string? text, string member)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new TuningConfigurationException($"The {member} '{text}' of the hyperparameter range {p.Name} is not a number.");
        return value;
    }

    static (double Min, double Max) Bounds(TunedParameter p, Func<TunedParameter, string?, string, double> parse)
    {
        var (min, max) = (parse(p, p.MinValue, "MinValue"), parse(p, p.MaxValue, "MaxValue"));
        if (min > max)
            throw new TuningConfigurationException($"The MinValue ({p.MinValue}) of the hyperparameter range {p.Name} is greater than its MaxValue ({p.MaxValue}).");
        return (min, max);
    }

    /// <summary>What a range's ScalingType means for it (Auto resolved as this class says).</summary>
    static Scale ScaleOf(TunedParameter p, double min, double max, bool integer)
    {
        var scaling = p.ScalingType ?? "Auto";
        if (scaling == "Auto") scaling = min > 0 && max >= 100 * min ? "Logarithmic" : "Linear";
        switch (scaling)
        {
            case "Logarithmic":
                if (min <= 0)
                    throw new TuningConfigurationException($"The hyperparameter range {p.Name} uses Logarithmic scaling, which works only for ranges whose values are all greater than 0 (MinValue is {p.MinValue}).");
                return Logarithmic;
            case "ReverseLogarithmic":
                if (integer) throw new TuningConfigurationException($"The hyperparameter range {p.Name}: ReverseLogarithmic scaling is not supported for integer hyperparameter ranges.");
                if (min < 0 || max >= 1)
                    throw new TuningConfigurationException($"The hyperparameter range {p.Name} uses ReverseLogarithmic scaling, which works only for ranges entirely within 0 <= x < 1.0.");
                return ReverseLogarithmic;
            default:
                return Linear;
        }
    }

    sealed class ContinuousDimension : Dimension
    {
        readonly double _min, _max, _low, _high;
        readonly Scale _scale;

        ContinuousDimension(TunedParameter p, int offset, double min, double max, Scale scale) : base(p, offset)
        {
            (_min, _max, _scale) = (min, max, scale);
            (_low, _high) = (scale.Forward(min), scale.Forward(max));
        }

        public static ContinuousDimension Of(TunedParameter p, int offset)
        {
            var (min, max) = Bounds(p, Number);
            return new ContinuousDimension(p, offset, min, max, ScaleOf(p, min, max, integer: false));
        }

        public override int Count => 0;
        public override void Sample(Random rng, Span<double> u) => u[0] = rng.NextDouble();
        public override void Snap(Span<double> u) => u[0] = _min == _max ? 0.5 : Math.Clamp(u[0], 0, 1);
        public override string Format(ReadOnlySpan<double> u) => ParameterSpace.Format(Value(u[0]));
        public override void Select(int value, Span<double> u) => throw new InvalidOperationException("a continuous range has no grid");

        double Value(double u) => _min == _max ? _min : Math.Clamp(_scale.Back(_low + Math.Clamp(u, 0, 1) * (_high - _low)), _min, _max);
    }

    sealed class IntegerDimension : Dimension
    {
        readonly long _min, _max;
        readonly bool _logarithmic;
        // On a logarithmic scale each integer owns the stretch of the line that rounds to it.
        readonly double _low, _high;

        IntegerDimension(TunedParameter p, int offset, long min, long max, bool logarithmic) : base(p, offset)
        {
            (_min, _max, _logarithmic) = (min, max, logarithmic);
            if (logarithmic) (_low, _high) = (Math.Log(min - 0.5), Math.Log(max + 0.5));
        }

        public static IntegerDimension Of(TunedParameter p, int offset)
        {
            var (min, max) = Bounds(p, Integral);
            var scale = ScaleOf(p, min, max, integer: true);
            if (max - min >= int.MaxValue) throw new TuningConfigurationException($"The hyperparameter range {p.Name} is too wide: at most {int.MaxValue} integers.");
            return new IntegerDimension(p, offset, (long)min, (long)max, scale == Logarithmic);
        }

        static double Integral(TunedParameter p, string? text, string member)
        {
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                throw new TuningConfigurationException($"The {member} '{text}' of the integer hyperparameter range {p.Name} is not an integer.");
            return value;
        }

        public override int Count => (int)(_max - _min + 1);
        public override void Sample(Random rng, Span<double> u) => u[0] = rng.NextDouble();
        public override void Snap(Span<double> u) => u[0] = Position(Value(u[0]));
        public override string Format(ReadOnlySpan<double> u) => Value(u[0]).ToString(CultureInfo.InvariantCulture);
        public override void Select(int value, Span<double> u) => u[0] = Position(_min + value);

        long Value(double u)
        {
            u = Math.Clamp(u, 0, 1);
            if (_logarithmic) return Math.Clamp((long)Math.Round(Math.Exp(_low + u * (_high - _low))), _min, _max);
            return Math.Min(_max, _min + (long)Math.Floor(u * Count));
        }

        double Position(long value) => _logarithmic ? (Math.Log(value) - _low) / (_high - _low) : (value - _min + 0.5) / Count;
    }

    sealed class CategoricalDimension(TunedParameter p, int offset, List<string> values) : Dimension(p, offset)
    {
        public static CategoricalDimension Of(TunedParameter p, int offset)
        {
            if (p.Values is not { Count: > 0 } values) throw new TuningConfigurationException($"The categorical hyperparameter range {p.Name} has no values.");
            if (values.Distinct(StringComparer.Ordinal).Count() != values.Count)
                throw new TuningConfigurationException($"The categorical hyperparameter range {p.Name} lists a value more than once.");
            return new CategoricalDimension(p, offset, values);
        }

        public override int Width => values.Count;
        public override int Count => values.Count;
        public override void Sample(Random rng, Span<double> u) => Select(rng.Next(values.Count), u);
        public override void Snap(Span<double> u) => Select(Chosen(u), u);
        public override string Format(ReadOnlySpan<double> u) => values[Chosen(u)];

        public override void Select(int value, Span<double> u)
        {
            u.Clear();
            u[value] = 1;
        }

        static int Chosen(ReadOnlySpan<double> u)
        {
            var best = 0;
            for (var i = 1; i < u.Length; i++)
                if (u[i] > u[best]) best = i;
            return best;
        }
    }
}
