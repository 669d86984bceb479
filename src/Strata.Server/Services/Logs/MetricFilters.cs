using System.Collections.Concurrent;
using System.Globalization;
using Strata.Server.Storage;

namespace Strata.Server.Services.Logs;

/// <summary>One value a metric filter publishes for one event, with its dimensions.</summary>
public readonly record struct MetricObservation(double Value, IReadOnlyList<KeyValuePair<string, string>> Dimensions);

/// <summary>
/// A metric filter's pattern and metric transformation, checked as CloudWatch Logs checks them
/// when the filter is put, and applied to one message at a time (pure: no I/O, no clock). The
/// metric value is a number, or a field the pattern names (<c>$.latency</c> in a JSON pattern,
/// <c>$bytes</c> in a space-delimited one); dimensions (at most three, and only for those two
/// kinds of pattern) name fields too.
/// </summary>
public sealed class MetricFilterRule
{
    public const int MaxDimensions = 3;

    readonly FilterPattern _pattern;
    readonly double? _literal;
    readonly string? _valueField;
    readonly double? _defaultValue;
    readonly IReadOnlyList<KeyValuePair<string, string>> _dimensions;

    MetricFilterRule(FilterPattern pattern, double? literal, string? valueField, double? defaultValue, IReadOnlyList<KeyValuePair<string, string>> dimensions)
        => (_pattern, _literal, _valueField, _defaultValue, _dimensions) = (pattern, literal, valueField, defaultValue, dimensions);

    /// <summary>Whether the rule publishes with dimensions (else all its values go to one series).</summary>
    public bool HasDimensions => _dimensions.Count > 0;

    /// <summary>Parses and checks a filter; throws <see cref="InvalidFilterPattern"/> or
    /// <see cref="InvalidLogsParameter"/> with what CloudWatch Logs says.</summary>
    public static MetricFilterRule Create(string? pattern, string metricValue, double? defaultValue, IReadOnlyDictionary<string, string>? dimensions)
    {
        var parsed = FilterPattern.Parse(pattern);
        var fields = parsed.Fields;
        double? literal = null;
        string? valueField = null;
        if (TryNumber(metricValue, out var number)) literal = number;
        else if (metricValue.StartsWith('$') && fields.Contains(metricValue, StringComparer.Ordinal)) valueField = metricValue;
        else
            throw new InvalidLogsParameter(fields.Count == 0
                ? $"Invalid metric value '{metricValue}': with this filter pattern the metric value must be a number."
                : $"Invalid metric value '{metricValue}': the metric value must be a number or a field of the filter pattern ({string.Join(", ", fields)}).");
        var dims = dimensions?.ToList() ?? [];
        if (dims.Count > 0)
        {
            if (fields.Count == 0) throw new InvalidLogsParameter("The specified filter pattern does not support dimensions");
            if (defaultValue is not null)
                throw new InvalidLogsParameter("Invalid metric transformation: dimensions and default value are mutually exclusive properties");
            if (dims.Count > MaxDimensions)
                throw new InvalidLogsParameter($"Invalid metric transformation: a metric filter can have at most {MaxDimensions} dimensions, not {dims.Count}.");
            foreach (var (name, field) in dims)
            {
                // CloudWatch's dimension names: ASCII, not only white space, not starting with a colon.
                if (name.Length == 0 || name.All(char.IsWhiteSpace) || name[0] == ':' || !name.All(char.IsAscii))
                    throw new InvalidLogsParameter($"Invalid dimension name '{name}': a dimension name must be ASCII, contain a character other than white space and not start with ':'.");
                if (!fields.Contains(field, StringComparer.Ordinal))
                    throw new InvalidLogsParameter($"Invalid dimension value '{field}' for dimension '{name}': a dimension's value must be a field of the filter pattern ({string.Join(", ", fields)}).");
            }
        }
        return new MetricFilterRule(parsed, literal, valueField, defaultValue, dims);
    }

    /// <summary>What the filter publishes for one message: the metric value (with the dimensions'
    /// values) when it matches, the default value when it does not, or nothing: no match and no
    /// default, a metric value field that is not a number, or a dimension field the message lacks.</summary>
    public MetricObservation? Observe(string message)
    {
        if (_valueField is null && _dimensions.Count == 0)
            return _pattern.Matches(message) ? new MetricObservation(_literal!.Value, []) : Default();
        if (_pattern.Extract(message) is not { } values) return Default();
        double value;
        if (_valueField is null) value = _literal!.Value;
        else if (!values.TryGetValue(_valueField, out var text) || !TryNumber(text, out value)) return null;
        if (_dimensions.Count == 0) return new MetricObservation(value, []);
        var dims = new KeyValuePair<string, string>[_dimensions.Count];
        for (var i = 0; i < dims.Length; i++)
        {
            // CloudWatch refuses empty dimension values, so an event without one publishes nothing.
            if (!values.TryGetValue(_dimensions[i].Value, out var v) || v.Length == 0) return null;
            dims[i] = KeyValuePair.Create(_dimensions[i].Key, v);
        }
        return new MetricObservation(value, dims);
    }

    MetricObservation? Default() => _defaultValue is { } d ? new MetricObservation(d, []) : null;

    static bool TryNumber(string text, out double value)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}

/// <summary>
/// Metric filters at work: events stored into a log group (by PutLogEvents, or by Strata's own
/// ingestion of container output) are held against the group's filters, and each filter publishes
/// what <see cref="MetricFilterRule.Observe"/> gives, as a standard-resolution value at the event's
/// timestamp, in the group's account. A group's filters are read from the store on its first
/// events and kept, compiled, until one of them changes (<see cref="Changed"/>).
/// </summary>
public sealed class MetricFilterPublisher(LogStore store, MetricsStore metrics) : ILogEventsObserver
{
    sealed record Compiled(LogMetricFilterRow Row, MetricFilterRule Rule);

    readonly ConcurrentDictionary<long, Compiled[]> _byGroup = new();
    long _generation;

    /// <summary>A group's filters changed (or the group went): read them again on its next events.</summary>
    public void Changed(long groupId)
    {
        // The generation first: a read of the old filters racing with this cannot be kept.
        Interlocked.Increment(ref _generation);
        _byGroup.TryRemove(groupId, out _);
    }

    public void Appended(AppendedLogEvents appended)
    {
        var filters = FiltersOf(appended.GroupId);
        foreach (var (row, rule) in filters)
        {
            var unit = row.Unit;
            // Without dimensions every value goes to one series: its key is made once.
            var fixedKey = rule.HasDimensions ? null : MetricKey.Of(appended.Account, row.MetricNamespace, row.MetricName, []);
            foreach (var (timestamp, message) in appended.Events)
            {
                if (rule.Observe(message) is not { } o) continue;
                var key = fixedKey ?? MetricKey.Of(appended.Account, row.MetricNamespace, row.MetricName, o.Dimensions);
                metrics.Put(key, unit, DateTimeOffset.FromUnixTimeMilliseconds(timestamp), [(o.Value, 1)], highResolution: false);
            }
        }
    }

    Compiled[] FiltersOf(long groupId)
    {
        if (_byGroup.TryGetValue(groupId, out var cached)) return cached;
        var generation = Interlocked.Read(ref _generation);
        var compiled = store.MetricFiltersOf(groupId).Select(Compile).OfType<Compiled>().ToArray();
        // Kept only if no filter changed while they were read (else the next events read again).
        if (Interlocked.Read(ref _generation) == generation) _byGroup.TryAdd(groupId, compiled);
        return compiled;
    }

    /// <summary>A stored filter, compiled; null for one this version of the pattern language
    /// refuses (stored by an older one), which then publishes nothing rather than stop ingestion.</summary>
    static Compiled? Compile(LogMetricFilterRow f)
    {
        try { return new Compiled(f, MetricFilterRule.Create(f.Pattern, f.MetricValue, f.DefaultValue, f.Dimensions.ToDictionary(d => d.Key, d => d.Value))); }
        catch (Protocol.DomainError) { return null; }
    }
}
