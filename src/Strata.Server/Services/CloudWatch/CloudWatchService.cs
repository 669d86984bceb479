using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudWatch;

/// <summary>
/// CloudWatch metrics and dashboards, in all three of its protocols (RPC v2 CBOR, JSON 1.0, Query:
/// the generated operations answer each request in the protocol it came in). Metrics are the
/// platform's own store (<see cref="MetricsStore"/>): what SageMaker endpoints record appears under
/// AWS/SageMaker and /aws/sagemaker/Endpoints beside what clients publish, per account.
/// </summary>
public sealed partial class CloudWatchService(MetricsStore metrics, IStateStore state, TimeProvider clock)
{
    const string Dashboards = "cloudwatch-dashboards";

    public IEnumerable<Operation> Operations =>
    [
        CloudWatchOperations.PutMetricData.Bind("cloudwatch:PutMetricData", Anywhere, PutMetricData),
        CloudWatchOperations.GetMetricStatistics.Bind("cloudwatch:GetMetricStatistics", Anywhere, GetMetricStatistics),
        CloudWatchOperations.GetMetricData.Bind("cloudwatch:GetMetricData", Anywhere, GetMetricData),
        CloudWatchOperations.ListMetrics.Bind("cloudwatch:ListMetrics", Anywhere, ListMetrics),
        CloudWatchOperations.PutDashboard.Bind("cloudwatch:PutDashboard", (r, ctx) => DashboardArn(ctx, r.DashboardName!), PutDashboard),
        CloudWatchOperations.GetDashboard.Bind("cloudwatch:GetDashboard", (r, ctx) => DashboardArn(ctx, r.DashboardName!), GetDashboard),
        CloudWatchOperations.ListDashboards.Bind("cloudwatch:ListDashboards", Anywhere, ListDashboards),
        CloudWatchOperations.DeleteDashboards.Bind("cloudwatch:DeleteDashboards", Anywhere, DeleteDashboards),
        CloudWatchOperations.PutMetricAlarm.Bind("cloudwatch:PutMetricAlarm", (r, ctx) => AlarmArn(ctx.Principal.AccountId, r.AlarmName!), PutMetricAlarm),
        CloudWatchOperations.PutCompositeAlarm.Bind("cloudwatch:PutCompositeAlarm", (r, ctx) => AlarmArn(ctx.Principal.AccountId, r.AlarmName!), PutCompositeAlarm),
        CloudWatchOperations.DescribeAlarms.Bind("cloudwatch:DescribeAlarms", Anywhere, DescribeAlarms),
        CloudWatchOperations.DescribeAlarmsForMetric.Bind("cloudwatch:DescribeAlarmsForMetric", Anywhere, DescribeAlarmsForMetric),
        CloudWatchOperations.DescribeAlarmHistory.Bind("cloudwatch:DescribeAlarmHistory", (r, ctx) => r.AlarmName is { } n ? AlarmArn(ctx.Principal.AccountId, n) : "*", DescribeAlarmHistory),
        CloudWatchOperations.DeleteAlarms.Bind("cloudwatch:DeleteAlarms", Anywhere, DeleteAlarms),
        CloudWatchOperations.SetAlarmState.Bind("cloudwatch:SetAlarmState", (r, ctx) => AlarmArn(ctx.Principal.AccountId, r.AlarmName!), SetAlarmState),
        CloudWatchOperations.EnableAlarmActions.Bind("cloudwatch:EnableAlarmActions", Anywhere, EnableAlarmActions),
        CloudWatchOperations.DisableAlarmActions.Bind("cloudwatch:DisableAlarmActions", Anywhere, DisableAlarmActions),
        CloudWatchOperations.TagResource.Bind("cloudwatch:TagResource", (r, _) => r.ResourceARN!, TagResource),
        CloudWatchOperations.UntagResource.Bind("cloudwatch:UntagResource", (r, _) => r.ResourceARN!, UntagResource),
        CloudWatchOperations.ListTagsForResource.Bind("cloudwatch:ListTagsForResource", (r, _) => r.ResourceARN!, ListTagsForResource),
    ];

    /// <summary>Metrics have no ARN: their actions are granted on "*", as in IAM for CloudWatch.</summary>
    static string Anywhere<TIn>(TIn request, RequestContext ctx) => "*";

    static string DashboardArn(RequestContext ctx, string name) => $"arn:aws:cloudwatch::{ctx.Principal.AccountId}:dashboard/{name}";

    static AwsException InvalidValue(string message) => CloudWatchErrors.InvalidParameterValueException(message);

    static AwsException InvalidCombination(string message) => CloudWatchErrors.InvalidParameterCombinationException(message);

    static AwsException Missing(string message) => CloudWatchErrors.MissingRequiredParameterException(message);

    // ---- PutMetricData ----

    /// <summary>AWS's limits: 1 000 data per request, 150 values per datum; values CloudWatch can store.</summary>
    const int MaxMetricData = 1000, MaxValues = 150;

    void PutMetricData(PutMetricDataInput request, RequestContext ctx)
    {
        var ns = request.Namespace!;
        if (ns.StartsWith("AWS/", StringComparison.Ordinal))
            throw InvalidValue($"The value {ns} for parameter Namespace is invalid.");
        var data = request.MetricData ?? [];
        if (data.Count == 0 && (request.EntityMetricData?.Count ?? 0) == 0)
            throw Missing("The parameter MetricData is required.");
        var all = data.Concat(request.EntityMetricData?.SelectMany(e => e.MetricData ?? []) ?? []).ToList();
        if (all.Count > MaxMetricData)
            throw InvalidValue($"The collection MetricData must not have a size greater than {MaxMetricData}.");
        var now = clock.GetUtcNow();
        // Every datum is checked before any is stored: a refused request stores nothing.
        var accepted = new List<(MetricKey Key, MetricDatum Datum, DateTimeOffset At)>();
        for (var i = 0; i < all.Count; i++)
        {
            var d = all[i];
            var member = $"MetricData.member.{i + 1}";
            var dimensions = d.Dimensions ?? [];
            if (dimensions.GroupBy(x => x.Name).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
                throw InvalidValue($"The dimension {duplicate.Key} of {member}.Dimensions is specified more than once.");
            var at = d.Timestamp ?? now;
            if (at < now - MetricsStore.AcceptedPast)
                throw InvalidValue($"The parameter {member}.Timestamp must specify a time no more than two weeks in the past.");
            if (at > now + MetricsStore.AcceptedFuture)
                throw InvalidValue($"The parameter {member}.Timestamp must specify a time no more than two hours in the future.");
            if (d.StorageResolution is { } resolution && resolution is not (1 or 60))
                throw InvalidValue($"The value {resolution} for parameter {member}.StorageResolution is invalid.");
            var given = (d.Value is not null ? 1 : 0) + (d.StatisticValues is not null ? 1 : 0) + (d.Values is { Count: > 0 } ? 1 : 0);
            if (given > 1)
                throw InvalidCombination($"The parameters {member}.Value, {member}.StatisticValues and {member}.Values are mutually exclusive and you have specified more than one.");
            if (d.Value is { } value) CheckValue(value, $"{member}.Value");
            if (d.Values is { } values)
            {
                if (values.Count > MaxValues) throw InvalidValue($"The collection {member}.Values must not have a size greater than {MaxValues}.");
                for (var j = 0; j < values.Count; j++) CheckValue(values[j], $"{member}.Values.member.{j + 1}");
                if (d.Counts is { Count: > 0 } counts && counts.Count != values.Count)
                    throw InvalidValue($"The parameters {member}.Values and {member}.Counts must be of the same size.");
                if (d.Counts?.FirstOrDefault(c => !double.IsFinite(c) || c < 0) is { } badCount and not 0)
                    throw InvalidValue($"The value {badCount.ToString(CultureInfo.InvariantCulture)} for parameter {member}.Counts is invalid.");
            }
            else if (d.Counts is { Count: > 0 })
                throw InvalidCombination($"The parameter {member}.Counts requires {member}.Values.");
            if (d.StatisticValues is { } set)
            {
                CheckValue(set.Sum!.Value, $"{member}.StatisticValues.Sum");
                CheckValue(set.Minimum!.Value, $"{member}.StatisticValues.Minimum");
                CheckValue(set.Maximum!.Value, $"{member}.StatisticValues.Maximum");
                if (!double.IsFinite(set.SampleCount!.Value) || set.SampleCount <= 0)
                    throw InvalidValue($"The value {set.SampleCount} for parameter {member}.StatisticValues.SampleCount is invalid.");
                if (set.Minimum > set.Maximum)
                    throw InvalidValue($"The parameter {member}.StatisticValues.Minimum must be less than or equal to {member}.StatisticValues.Maximum.");
            }
            if (given == 0) throw Missing($"The parameter {member}.Value, {member}.StatisticValues or {member}.Values is required.");
            accepted.Add((MetricKey.Of(ctx.Principal.AccountId, ns, d.MetricName!, dimensions.Select(x => new KeyValuePair<string, string>(x.Name!, x.Value!))), d, at));
        }
        foreach (var (key, d, at) in accepted)
        {
            var high = d.StorageResolution == 1;
            if (d.StatisticValues is { } set)
                metrics.PutSet(key, d.Unit, at, set.SampleCount!.Value, set.Sum!.Value, set.Minimum!.Value, set.Maximum!.Value, high);
            else if (d.Values is { Count: > 0 } values)
                metrics.Put(key, d.Unit, at, values.Select((v, j) => (v, d.Counts is { Count: > 0 } c ? c[j] : 1.0)).Where(p => p.Item2 > 0), high);
            else
                metrics.Put(key, d.Unit, at, [(d.Value!.Value, 1)], high);
        }
    }

    /// <summary>CloudWatch refuses what it cannot store (<see cref="MetricsStore.IsStorable"/>).</summary>
    static void CheckValue(double value, string member)
    {
        if (!MetricsStore.IsStorable(value))
            throw InvalidValue($"The value {value.ToString(CultureInfo.InvariantCulture)} for parameter {member} is invalid.");
    }

    // ---- GetMetricStatistics ----

    const int MaxDatapoints = 1440;

    GetMetricStatisticsOutput GetMetricStatistics(GetMetricStatisticsInput request, RequestContext ctx)
    {
        var (start, end, period) = (request.StartTime!.Value, request.EndTime!.Value, request.Period!.Value);
        CheckPeriod(period, "Period");
        if (start >= end) throw InvalidValue("The parameter StartTime must be less than the parameter EndTime.");
        var statistics = request.Statistics ?? [];
        var extended = request.ExtendedStatistics ?? [];
        if (statistics.Count == 0 && extended.Count == 0)
            throw Missing("Must specify either Statistics or ExtendedStatistics.");
        var parsed = extended.Select(e => Statistic.Parse(e) ?? throw InvalidValue($"The value {e} for parameter ExtendedStatistics is not supported.")).ToList();
        if (parsed.FirstOrDefault(s => !s.IsExtended) is { } standard)
            throw InvalidValue($"The value {standard.Name} for parameter ExtendedStatistics is not supported.");
        var requested = (long)Math.Ceiling((end - start).TotalSeconds / period);
        if (requested > MaxDatapoints)
            throw InvalidCombination($"You have requested up to {requested} datapoints, which exceeds the limit of {MaxDatapoints}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.");

        var key = KeyOf(ctx, request.Namespace!, request.MetricName!, request.Dimensions);
        var unit = metrics.UnitOf(key);
        if (request.Unit is { } wanted && unit is not null && wanted != unit) return new() { Label = request.MetricName, Datapoints = [] };
        var datapoints = metrics.Read(key, start, end, period, b =>
        {
            Dictionary<string, double>? values = null;
            foreach (var s in parsed)
                if (s.Of(b) is { } v) (values ??= [])[s.Name] = v;
            return new Datapoint
            {
                SampleCount = statistics.Contains("SampleCount") ? b.SampleCount : null,
                Average = statistics.Contains("Average") ? b.Sum / b.SampleCount : null,
                Sum = statistics.Contains("Sum") ? b.Sum : null,
                Minimum = statistics.Contains("Minimum") ? b.Minimum : null,
                Maximum = statistics.Contains("Maximum") ? b.Maximum : null,
                ExtendedStatistics = values,
                Unit = unit,
            };
        }).Select(p => p.Value with { Timestamp = p.Timestamp }).ToList();
        return new() { Label = request.MetricName, Datapoints = datapoints };
    }

    /// <summary>CloudWatch's periods: 1, 5, 10, 20, 30, 60 seconds or a multiple of 60.</summary>
    static void CheckPeriod(int period, string member)
    {
        if (period is not (1 or 5 or 10 or 20 or 30) && (period <= 0 || period % 60 != 0))
            throw InvalidValue($"The parameter {member} must be 1, 5, 10, 20, 30, 60, or any multiple of 60.");
    }

    static MetricKey KeyOf(RequestContext ctx, string ns, string name, List<Dimension>? dimensions)
        => MetricKey.Of(ctx.Principal.AccountId, ns, name, (dimensions ?? []).Select(d => new KeyValuePair<string, string>(d.Name!, d.Value!)));

    // ---- ListMetrics ----

    const int MetricsPerPage = 500;

    ListMetricsOutput ListMetrics(ListMetricsInput request, RequestContext ctx)
    {
        if (request.RecentlyActive is { } active && active != "PT3H") throw InvalidValue($"The value {active} for parameter RecentlyActive is invalid.");
        var since = request.RecentlyActive is null ? DateTimeOffset.MinValue : clock.GetUtcNow() - TimeSpan.FromHours(3);
        var filters = request.Dimensions ?? [];
        var found = metrics.Catalogue()
            .Where(s => s.Key.Account == ctx.Principal.AccountId && s.LastUpdate >= since
                && (request.Namespace is null || s.Key.Namespace == request.Namespace)
                && (request.MetricName is null || s.Key.Name == request.MetricName)
                && filters.All(f => s.Key.Dimensions.Any(d => d.Key == f.Name && (f.Value is null || d.Value == f.Value))))
            .OrderBy(s => s.Key.Namespace, StringComparer.Ordinal).ThenBy(s => s.Key.Name, StringComparer.Ordinal)
            .ThenBy(s => string.Join('\u0001', s.Key.Dimensions.Select(d => d.Key + '\u0002' + d.Value)), StringComparer.Ordinal)
            .ToList();
        var offset = Offset(request.NextToken);
        var page = found.Skip(offset).Take(MetricsPerPage).Select(s => new Metric
        {
            Namespace = s.Key.Namespace,
            MetricName = s.Key.Name,
            Dimensions = s.Key.Dimensions.Select(d => new Dimension { Name = d.Key, Value = d.Value }).ToList(),
        }).ToList();
        return new() { Metrics = page, NextToken = offset + page.Count < found.Count ? PageToken.Encode(offset + page.Count) : null };
    }

    /// <summary>A page token's offset. GetMetricData's model declares InvalidNextToken for a bad one;
    /// the list operations declare only InvalidParameterValue.</summary>
    static int Offset(string? token, bool invalidNextToken = false)
    {
        try { return PageToken.Decode(token); }
        catch (AwsException)
        {
            throw invalidNextToken ? CloudWatchErrors.InvalidNextToken("The service couldn't process the NextToken.")
                : InvalidValue("The value for parameter NextToken is invalid.");
        }
    }

    // ---- GetMetricData ----

    const int MaxQueries = 500, DefaultMaxDatapoints = 100_800;

    [GeneratedRegex(@"\A[a-z][a-zA-Z0-9_]*\z")]
    private static partial Regex QueryId();

    GetMetricDataOutput GetMetricData(GetMetricDataInput request, RequestContext ctx)
    {
        var (start, end) = (request.StartTime!.Value, request.EndTime!.Value);
        var queries = request.MetricDataQueries!;
        if (queries.Count == 0) throw Missing("The parameter MetricDataQueries is required.");
        if (queries.Count > MaxQueries) throw InvalidValue($"The collection MetricDataQueries must not have a size greater than {MaxQueries}.");
        if (start >= end) throw InvalidValue("The parameter StartTime must be less than the parameter EndTime.");
        var maxDatapoints = request.MaxDatapoints ?? DefaultMaxDatapoints;
        if (maxDatapoints <= 0) throw InvalidValue($"The value {maxDatapoints} for parameter MaxDatapoints is invalid.");
        var byId = new Dictionary<string, MetricDataQuery>(StringComparer.Ordinal);
        for (var i = 0; i < queries.Count; i++)
        {
            var q = queries[i];
            var member = $"MetricDataQueries.member.{i + 1}";
            if (!QueryId().IsMatch(q.Id!))
                throw CloudWatchErrors.ValidationError($"The value {q.Id} for parameter {member}.Id is invalid: it must start with a lowercase letter and hold only letters, digits and underscores.");
            if (!byId.TryAdd(q.Id!, q)) throw CloudWatchErrors.ValidationError($"The values for parameter Id in MetricDataQueries are not unique: {q.Id}.");
            if ((q.MetricStat is null) == (q.Expression is null))
                throw CloudWatchErrors.ValidationError($"Exactly one of MetricStat and Expression must be given in {member}.");
            if (q.MetricStat is { } stat)
            {
                CheckPeriod(stat.Period!.Value, $"{member}.MetricStat.Period");
                if (Statistic.Parse(stat.Stat!) is null) throw InvalidValue($"The value {stat.Stat} for parameter {member}.MetricStat.Stat is not supported.");
            }
            if (q.Period is { } p) CheckPeriod(p, $"{member}.Period");
        }
        if (queries.All(q => q.ReturnData == false)) throw CloudWatchErrors.ValidationError("At least one query of MetricDataQueries must return data.");

        List<(string Id, string Label, List<KeyValuePair<long, double>> Points)> results;
        try { results = RunQueries(ctx.Principal.AccountId, queries, start, end); }
        catch (QueryException e) { throw CloudWatchErrors.ValidationError($"Error in expression '{e.Id}': {e.Message}"); }

        // Pages of at most MaxDatapoints values across all results, in the order asked for.
        var descending = request.ScanBy != "TimestampAscending";
        var offset = Offset(request.NextToken, invalidNextToken: true);
        var remaining = maxDatapoints;
        var skipped = 0;
        var output = new List<MetricDataResult>();
        var total = results.Sum(r => r.Points.Count);
        foreach (var (id, label, points) in results)
        {
            var ordered = descending ? Enumerable.Reverse(points).ToList() : points;
            var skip = Math.Clamp(offset - skipped, 0, ordered.Count);
            skipped += ordered.Count;
            var take = Math.Min(remaining, ordered.Count - skip);
            var slice = ordered.Skip(skip).Take(take).ToList();
            remaining -= slice.Count;
            output.Add(new MetricDataResult
            {
                Id = id,
                Label = label,
                Timestamps = slice.Select(p => DateTimeOffset.FromUnixTimeSeconds(p.Key)).ToList(),
                Values = slice.Select(p => p.Value).ToList(),
                StatusCode = skip + slice.Count < ordered.Count ? "PartialData" : "Complete",
                Messages = [],
            });
        }
        var returned = offset + maxDatapoints - remaining;
        return new() { MetricDataResults = output, NextToken = returned < total ? PageToken.Encode(returned) : null, Messages = [] };
    }

    /// <summary>An expression of one query could not be evaluated.</summary>
    sealed class QueryException(string id, string message) : Exception(message)
    {
        public string Id { get; } = id;
    }

    /// <summary>Evaluates GetMetricData's queries (already validated) for an account: the results of
    /// those that return data, in order, each a label and its points. Alarms on metric math use it too.</summary>
    List<(string Id, string Label, List<KeyValuePair<long, double>> Points)> RunQueries(string account, List<MetricDataQuery> queries, DateTimeOffset start, DateTimeOffset end)
    {
        var byId = queries.ToDictionary(q => q.Id!, StringComparer.Ordinal);

        // The period of expressions: their own, else the first metric query's, else a minute.
        var defaultPeriod = queries.FirstOrDefault(q => q.MetricStat is not null)?.MetricStat!.Period ?? 60;
        var values = new Dictionary<string, MathValue>(StringComparer.Ordinal);
        var evaluating = new HashSet<string>(StringComparer.Ordinal);
        MathValue? Resolve(string id)
        {
            if (values.TryGetValue(id, out var known)) return known;
            if (!byId.TryGetValue(id, out var q)) return null;
            if (!evaluating.Add(id)) throw new MetricMathException($"The expression of {id} refers to itself.");
            var period = q.Period ?? q.MetricStat?.Period ?? defaultPeriod;
            MathValue value;
            if (q.MetricStat is { } stat)
            {
                var m = stat.Metric!;
                value = Series(MetricKey.Of(account, m.Namespace!, m.MetricName!, (m.Dimensions ?? []).Select(d => new KeyValuePair<string, string>(d.Name!, d.Value!))), Statistic.Parse(stat.Stat!)!, period, stat.Unit, q.Label ?? m.MetricName!);
            }
            else
            {
                var math = new MetricMath(new MetricMath.Context
                {
                    Resolve = Resolve,
                    MetricIds = queries.Where(x => x.MetricStat is not null).Select(x => x.Id!).ToList(),
                    Search = (expression, statistic, searchPeriod) => Search(account, expression, statistic, searchPeriod, start, end),
                    Timeline = Timeline(start, end, period),
                    Period = period,
                });
                value = math.Evaluate(q.Expression!);
            }
            evaluating.Remove(id);
            return values[id] = value;
        }

        MathSeries Series(MetricKey key, Statistic statistic, int period, string? unit, string label)
        {
            var points = new SortedDictionary<long, double>();
            if (unit is null || metrics.UnitOf(key) is not { } actual || actual == unit)
                foreach (var (t, v) in metrics.Read(key, start, end, period, statistic.Of))
                    points[t.ToUnixTimeSeconds()] = v!.Value;
            return new MathSeries(label, points);
        }

        var results = new List<(string Id, string Label, List<KeyValuePair<long, double>> Points)>();
        foreach (var q in queries.Where(q => q.ReturnData != false))
        {
            MathValue value;
            try { value = Resolve(q.Id!)!; }
            catch (MetricMathException e) { throw new QueryException(q.Id!, e.Message); }
            var period = q.Period ?? q.MetricStat?.Period ?? defaultPeriod;
            switch (value)
            {
                case MathScalar s:
                    results.Add((q.Id!, q.Label ?? q.Id!, Timeline(start, end, period).Select(t => new KeyValuePair<long, double>(t, s.Value)).ToList()));
                    break;
                case MathSeries s:
                    // A metric query is labelled by its metric name, an expression by its Id, unless a Label is given.
                    results.Add((q.Id!, q.Label ?? (q.MetricStat is not null ? s.Label : q.Id!), s.Points.ToList()));
                    break;
                case MathArray a:
                    foreach (var s in a.Series)
                        results.Add((q.Id!, q.Label is { } prefix ? $"{prefix} {s.Label}" : s.Label, s.Points.ToList()));
                    break;
            }
        }

        return results;
    }

    /// <summary>Every period start of a range, as the store aligns them.</summary>
    static List<long> Timeline(DateTimeOffset start, DateTimeOffset end, int period)
    {
        var from = start.ToUnixTimeSeconds();
        var align = period < 60 ? period : 60;
        var first = (long)Math.Floor(from / (double)align) * align;
        var list = new List<long>();
        for (var t = first; t < end.ToUnixTimeSeconds() && list.Count < DefaultMaxDatapoints; t += period) list.Add(t);
        return list;
    }

    /// <summary>SEARCH('{Namespace,Dim1,Dim2} terms', 'Stat', period): the account's metrics with exactly
    /// the schema's dimensions (when one is given) matching every term — <c>Name="value"</c> exactly
    /// (MetricName, Namespace or a dimension), a bare word as part of any name or value, ignoring case.</summary>
    MathArray Search(string account, string expression, string statistic, int period, DateTimeOffset start, DateTimeOffset end)
    {
        var stat = Statistic.Parse(statistic) ?? throw new MetricMathException($"SEARCH: the statistic {statistic} is not supported.");
        var rest = expression.Trim();
        string? ns = null;
        HashSet<string>? schema = null;
        if (rest.StartsWith('{'))
        {
            var close = rest.IndexOf('}');
            if (close < 0) throw new MetricMathException("SEARCH: the schema has no closing '}'.");
            var parts = rest[1..close].Split(',').Select(p => p.Trim().Trim('"')).ToList();
            ns = parts[0];
            schema = parts.Skip(1).ToHashSet(StringComparer.Ordinal);
            rest = rest[(close + 1)..];
        }
        var terms = SearchTerm().Matches(rest).Select(m => m.Value).Where(t => t is not ("AND" or "and")).ToList();
        var series = metrics.Catalogue().Where(s => s.Key.Account == account
            && (ns is null || s.Key.Namespace == ns)
            && (schema is null || (schema.Count == s.Key.Dimensions.Count && s.Key.Dimensions.All(d => schema.Contains(d.Key))))
            && terms.All(t => Matches(s.Key, t)))
            .OrderBy(s => s.Key.Name, StringComparer.Ordinal).ThenBy(s => string.Join(' ', s.Key.Dimensions.Select(d => d.Value)), StringComparer.Ordinal);
        var found = new List<MathSeries>();
        foreach (var s in series)
        {
            var points = new SortedDictionary<long, double>();
            foreach (var (t, v) in metrics.Read(s.Key, start, end, period, stat.Of))
                points[t.ToUnixTimeSeconds()] = v!.Value;
            found.Add(new MathSeries(string.Join(' ', s.Key.Dimensions.Select(d => d.Value).Append(s.Key.Name)), points));
        }
        return new MathArray(found);

        static bool Matches(MetricKey key, string term)
        {
            var eq = term.IndexOf('=');
            if (eq > 0)
            {
                var name = term[..eq].Trim('"');
                var value = term[(eq + 1)..];
                var exact = value.StartsWith('"');
                value = value.Trim('"');
                bool Test(string actual) => exact ? actual == value : actual.Contains(value, StringComparison.OrdinalIgnoreCase);
                return name switch
                {
                    "MetricName" => Test(key.Name),
                    "Namespace" => Test(key.Namespace),
                    _ => key.Dimensions.Any(d => d.Key == name && Test(d.Value)),
                };
            }
            var word = term.Trim('"');
            return key.Namespace.Contains(word, StringComparison.OrdinalIgnoreCase) || key.Name.Contains(word, StringComparison.OrdinalIgnoreCase)
                || key.Dimensions.Any(d => d.Key.Contains(word, StringComparison.OrdinalIgnoreCase) || d.Value.Contains(word, StringComparison.OrdinalIgnoreCase));
        }
    }

    [GeneratedRegex(@"(?:[^\s""=]+=)?""[^""]*""|[^\s]+")]
    private static partial Regex SearchTerm();

    // ---- dashboards ----

    sealed record DashboardRow(string Name, string Body, long LastModified);

    [GeneratedRegex(@"\A[A-Za-z0-9_-]{1,255}\z")]
    private static partial Regex DashboardName();

    PutDashboardOutput PutDashboard(PutDashboardInput request, RequestContext ctx)
    {
        var name = request.DashboardName!;
        if (!DashboardName().IsMatch(name))
            throw CloudWatchErrors.DashboardInvalidInputError("The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).");
        var messages = ValidateDashboard(request.DashboardBody!);
        if (messages.Count > 0)
            throw new AwsException("InvalidParameterInput", 400, string.Join(" ", messages.Select(m => $"{m.DataPath}: {m.Message}")));
        var row = new DashboardRow(name, request.DashboardBody!, clock.GetUtcNow().ToUnixTimeSeconds());
        state.Write(w =>
        {
            w.Put(Dashboards, $"{ctx.Principal.AccountId}/{name}", JsonSerializer.Serialize(row, CloudWatchRowsJson.Default.DashboardRow));
            return 0;
        });
        return new() { DashboardValidationMessages = [] };
    }

    /// <summary>A dashboard body is a JSON object whose <c>widgets</c> is an array of objects, each
    /// with a known <c>type</c> (and a <c>properties</c> object); what is wrong is said per path.</summary>
    static List<DashboardValidationMessage> ValidateDashboard(string body)
    {
        var messages = new List<DashboardValidationMessage>();
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException) { return [new() { DataPath = "$", Message = "The dashboard body is not valid JSON." }]; }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return [new() { DataPath = "$", Message = "Should be an object." }];
            if (!doc.RootElement.TryGetProperty("widgets", out var widgets)) return [new() { DataPath = "$", Message = "Should have required property 'widgets'." }];
            if (widgets.ValueKind != JsonValueKind.Array) return [new() { DataPath = "$.widgets", Message = "Should be array." }];
            var i = 0;
            foreach (var w in widgets.EnumerateArray())
            {
                var path = $"$.widgets[{i++}]";
                if (w.ValueKind != JsonValueKind.Object) { messages.Add(new() { DataPath = path, Message = "Should be object." }); continue; }
                if (!w.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                    messages.Add(new() { DataPath = path, Message = "Should have required property 'type'." });
                else if (type.GetString() is not ("metric" or "text" or "log" or "alarm" or "explorer" or "custom"))
                    messages.Add(new() { DataPath = path + ".type", Message = "Should be equal to one of the allowed values: metric, text, log, alarm, explorer, custom." });
                if (w.TryGetProperty("properties", out var props) && props.ValueKind != JsonValueKind.Object)
                    messages.Add(new() { DataPath = path + ".properties", Message = "Should be object." });
            }
        }
        return messages;
    }

    GetDashboardOutput GetDashboard(GetDashboardInput request, RequestContext ctx)
    {
        var row = Find(ctx, request.DashboardName!) ?? throw CloudWatchErrors.DashboardNotFoundError($"Dashboard {request.DashboardName} does not exist");
        return new() { DashboardName = row.Name, DashboardBody = row.Body, DashboardArn = DashboardArn(ctx, row.Name) };
    }

    DashboardRow? Find(RequestContext ctx, string name)
        => state.Read(r => r.Get(Dashboards, $"{ctx.Principal.AccountId}/{name}")) is { } json ? JsonSerializer.Deserialize(json, CloudWatchRowsJson.Default.DashboardRow) : null;

    const int DashboardsPerPage = 1000;

    ListDashboardsOutput ListDashboards(ListDashboardsInput request, RequestContext ctx)
    {
        var prefix = $"{ctx.Principal.AccountId}/";
        var rows = state.Read(r => r.Scan(Dashboards, prefix + (request.DashboardNamePrefix ?? ""), null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, CloudWatchRowsJson.Default.DashboardRow)!).ToList();
        var offset = Offset(request.NextToken);
        var page = rows.Skip(offset).Take(DashboardsPerPage).Select(d => new DashboardEntry
        {
            DashboardName = d.Name,
            DashboardArn = DashboardArn(ctx, d.Name),
            LastModified = DateTimeOffset.FromUnixTimeSeconds(d.LastModified),
            Size = System.Text.Encoding.UTF8.GetByteCount(d.Body),
        }).ToList();
        return new() { DashboardEntries = page, NextToken = offset + page.Count < rows.Count ? PageToken.Encode(offset + page.Count) : null };
    }

    DeleteDashboardsOutput DeleteDashboards(DeleteDashboardsInput request, RequestContext ctx)
    {
        var names = request.DashboardNames!;
        if (names.Count == 0) throw Missing("The parameter DashboardNames is required.");
        if (names.Count > 100) throw InvalidValue("The collection DashboardNames must not have a size greater than 100.");
        foreach (var name in names) ctx.Authorize("cloudwatch:DeleteDashboards", DashboardArn(ctx, name));
        // All or nothing: one that does not exist and none is deleted, as in CloudWatch.
        state.Write(w =>
        {
            foreach (var name in names)
                if (w.Get(Dashboards, $"{ctx.Principal.AccountId}/{name}") is null)
                    throw CloudWatchErrors.DashboardNotFoundError($"Dashboard {name} does not exist");
            foreach (var name in names) w.Delete(Dashboards, $"{ctx.Principal.AccountId}/{name}");
            return 0;
        });
        return new();
    }

    [System.Text.Json.Serialization.JsonSerializable(typeof(DashboardRow))]
    sealed partial class CloudWatchRowsJson : System.Text.Json.Serialization.JsonSerializerContext;
}
