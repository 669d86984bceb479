using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudWatch;

/// <summary>Where alarm actions go: an SNS topic of the alarm's account (the composition root
/// plugs SNS in). Returns the message id; throws when the topic cannot take the message.</summary>
public interface IAlarmNotifier
{
    Task<string> PublishAsync(string account, string topicArn, string subject, string message, CancellationToken ct);
}

/// <summary>Where alarm actions that name an Application Auto Scaling policy go (the composition
/// root plugs the scaler in): the policy is applied now. Throws when there is no such policy.</summary>
public interface IAlarmScalingAction
{
    Task ExecuteAsync(string account, string policyArn, AlarmBreach breach, CancellationToken ct);
}

/// <summary>What an alarm tells the scaling policy it invokes: its threshold and the datapoints it
/// evaluated (a step policy's steps are relative to the threshold), and whether this is a repeat
/// invocation of an alarm that stayed in ALARM (CloudWatch invokes Auto Scaling actions once a
/// minute while the alarm is in that state, not only when it changes).</summary>
public sealed record AlarmBreach(string AlarmName, double Threshold, IReadOnlyList<double> Datapoints, bool Repeated,
    string ComparisonOperator = "GreaterThanOrEqualToThreshold");

/// <summary>A metric alarm as kept in the state store (not the wire shape: its JSON is what data
/// directories hold). Metric-math alarms keep their queries as the JSON the API received.</summary>
public sealed record AlarmRow
{
    public required string Account { get; init; }
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public string? Description { get; init; }
    public bool ActionsEnabled { get; init; } = true;
    public List<string> OKActions { get; init; } = [];
    public List<string> AlarmActions { get; init; } = [];
    public List<string> InsufficientDataActions { get; init; } = [];
    public string? MetricName { get; init; }
    public string? Namespace { get; init; }
    public string? Statistic { get; init; }
    public string? ExtendedStatistic { get; init; }
    public List<List<string>> Dimensions { get; init; } = [];
    public int Period { get; init; }
    public string? Unit { get; init; }
    public int EvaluationPeriods { get; init; }
    public int DatapointsToAlarm { get; init; }
    public double Threshold { get; init; }
    public string ComparisonOperator { get; init; } = "";
    public string TreatMissingData { get; init; } = "missing";
    public string? EvaluateLowSampleCountPercentile { get; init; }
    public string? MetricsJson { get; init; }
    public string? ThresholdMetricId { get; init; }
    public long ConfigurationUpdated { get; init; }
    public string StateValue { get; init; } = "INSUFFICIENT_DATA";
    public string StateReason { get; init; } = "Unchecked: Initial alarm creation";
    public string? StateReasonData { get; init; }
    public long StateUpdated { get; init; }
    public long StateTransitioned { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];

    // A composite alarm has a rule instead of a metric.
    public string? AlarmRule { get; init; }
    public string? ActionsSuppressor { get; init; }
    public int? ActionsSuppressorWaitPeriod { get; init; }
    public int? ActionsSuppressorExtensionPeriod { get; init; }

    /// <summary>The state whose actions wait on the suppressor (null: none wait), the state it
    /// left and since when it waits; whether the suppressor was seen in ALARM meanwhile.</summary>
    public string? PendingActions { get; init; }
    public string? PendingOldState { get; init; }
    public long PendingSince { get; init; }
    public bool SuppressorSeenInAlarm { get; init; }
    public string? ActionsSuppressedBy { get; init; }
    public string? ActionsSuppressedReason { get; init; }

    [JsonIgnore] public bool IsComposite => AlarmRule is not null;
    [JsonIgnore] public string AlarmType => IsComposite ? "CompositeAlarm" : "MetricAlarm";
}

public sealed record AlarmHistoryRow(string AlarmName, long TimestampMs, string HistoryItemType, string HistorySummary, string HistoryData, string AlarmType = "MetricAlarm");

[JsonSerializable(typeof(AlarmRow))]
[JsonSerializable(typeof(AlarmHistoryRow))]
internal sealed partial class AlarmRowsJson : JsonSerializerContext;

public sealed partial class CloudWatchService
{
    internal const string Alarms = "cloudwatch-alarms";
    internal const string AlarmHistory = "cloudwatch-alarm-history";

    /// <summary>Where alarm actions publish; set by the composition root once SNS exists.</summary>
    public IAlarmNotifier? Notifier { get; set; }

    /// <summary>Where alarm actions on scaling policies go; set by the composition root.</summary>
    public IAlarmScalingAction? ScalingActions { get; set; }

    /// <summary>Where each change of an alarm's state is put as AWS's "CloudWatch Alarm State
    /// Change" (the account's default event bus), whether or not the alarm has actions.</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    public string Region { get; init; } = "us-east-1";

    static readonly string[] States = ["OK", "ALARM", "INSUFFICIENT_DATA"];

    string AlarmArn(string account, string name) => $"arn:aws:cloudwatch:{Region}:{account}:alarm:{name}";

    static string AlarmKey(string account, string name) => $"{account}/{name}";

    AlarmRow? FindAlarm(string account, string name)
        => state.Read(r => r.Get(Alarms, AlarmKey(account, name))) is { } json ? JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow) : null;

    List<AlarmRow> AlarmsOf(string account)
        => state.Read(r => r.Scan(Alarms, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, AlarmRowsJson.Default.AlarmRow)!).ToList();

    static void PutAlarm(IStateWriter w, AlarmRow row) => w.Put(Alarms, AlarmKey(row.Account, row.Name), JsonSerializer.Serialize(row, AlarmRowsJson.Default.AlarmRow));

    static long _historySequence;

    /// <summary>History keys sort by time, then by the order written (several changes can share a
    /// millisecond, always so on a fake clock), then by a random part that keeps them unique.</summary>
    static void AddHistory(IStateWriter w, string account, AlarmHistoryRow item)
        => w.Put(AlarmHistory, $"{account}/{item.AlarmName}/{item.TimestampMs:D15}-{Interlocked.Increment(ref _historySequence):D12}-{Guid.NewGuid():N}",
            JsonSerializer.Serialize(item, AlarmRowsJson.Default.AlarmHistoryRow));

    // ---- PutMetricAlarm ----

    void PutMetricAlarm(PutMetricAlarmInput r, RequestContext ctx) => PutMetricAlarm(ctx.Principal.AccountId, r);

    /// <summary>PutMetricAlarm for an account: also how another service makes the alarms it owns
    /// (Application Auto Scaling's target-tracking alarms), validated the same way. Returns the ARN.</summary>
    public string PutMetricAlarm(string account, PutMetricAlarmInput r)
    {
        var single = r.MetricName is not null || r.Namespace is not null || r.Statistic is not null || r.ExtendedStatistic is not null || r.Dimensions is { Count: > 0 } || r.Period is not null;
        if (single && r.Metrics is { Count: > 0 })
            throw InvalidCombination("The parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions and Period cannot be given with Metrics.");
        if (!single && r.Metrics is not { Count: > 0 })
            throw Missing("Either the parameter MetricName (with Namespace, Period and Statistic or ExtendedStatistic) or the parameter Metrics is required.");
        if (r.EvaluationCriteria is not null || r.EvaluationInterval is not null)
            throw InvalidValue("PromQL alarms (EvaluationCriteria, EvaluationInterval) are not supported by Strata: give a metric or metric math instead.");
        var evaluationPeriods = r.EvaluationPeriods ?? throw Missing("The parameter EvaluationPeriods is required.");
        if (r.ComparisonOperator is null) throw Missing("The parameter ComparisonOperator is required.");
        if (r.ComparisonOperator is "LessThanLowerOrGreaterThanUpperThreshold" or "LessThanLowerThreshold" or "GreaterThanUpperThreshold" || r.ThresholdMetricId is not null)
            throw InvalidValue($"Anomaly detection bands (ComparisonOperator {r.ComparisonOperator}, ThresholdMetricId) are not supported by Strata: use a static threshold.");
        var datapoints = r.DatapointsToAlarm ?? evaluationPeriods;
        if (datapoints > evaluationPeriods)
            throw CloudWatchErrors.ValidationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods.");
        if (r.Threshold is null && r.ThresholdMetricId is null) throw Missing("The parameter Threshold is required.");
        if (r.TreatMissingData is { } treat && treat is not ("breaching" or "notBreaching" or "ignore" or "missing"))
            throw CloudWatchErrors.ValidationError($"The value {treat} for parameter TreatMissingData is invalid: it must be breaching, notBreaching, ignore or missing.");
        if (r.EvaluateLowSampleCountPercentile is { } low && low is not ("evaluate" or "ignore"))
            throw CloudWatchErrors.ValidationError($"The value {low} for parameter EvaluateLowSampleCountPercentile is invalid: it must be evaluate or ignore.");
        int period;
        string? metricsJson = null;
        if (single)
        {
            if (r.MetricName is null || r.Namespace is null) throw Missing("The parameters MetricName and Namespace are required.");
            if (r.Period is null) throw Missing("The parameter Period is required.");
            if ((r.Statistic is null) == (r.ExtendedStatistic is null))
                throw InvalidCombination("Exactly one of the parameters Statistic and ExtendedStatistic must be given.");
            if (r.ExtendedStatistic is { } ext && Statistic.Parse(ext) is not { IsExtended: true })
                throw InvalidValue($"The value {ext} for parameter ExtendedStatistic is not supported.");
            period = r.Period.Value;
            if (period is not (10 or 20 or 30) && period % 60 != 0)
                throw InvalidValue("The parameter Period must be 10, 20, 30 or a multiple of 60.");
        }
        else
        {
            var queries = r.Metrics!;
            if (queries.Count(q => q.ReturnData != false) != 1)
                throw CloudWatchErrors.ValidationError("Exactly one element of the metrics list should return data.");
            for (var i = 0; i < queries.Count; i++)
            {
                var q = queries[i];
                if (!QueryId().IsMatch(q.Id!)) throw CloudWatchErrors.ValidationError($"The value {q.Id} for parameter Metrics.member.{i + 1}.Id is invalid.");
                if ((q.MetricStat is null) == (q.Expression is null))
                    throw CloudWatchErrors.ValidationError($"Exactly one of MetricStat and Expression must be given in Metrics.member.{i + 1}.");
                if (q.MetricStat is { } stat && Statistic.Parse(stat.Stat!) is null)
                    throw InvalidValue($"The value {stat.Stat} for parameter Metrics.member.{i + 1}.MetricStat.Stat is not supported.");
            }
            if (queries.Select(q => q.Id).Distinct().Count() != queries.Count) throw CloudWatchErrors.ValidationError("The values for parameter Id in Metrics are not unique.");
            var returned = queries.Single(q => q.ReturnData != false);
            period = returned.MetricStat?.Period ?? returned.Period ?? queries.FirstOrDefault(q => q.MetricStat is not null)?.MetricStat!.Period
                ?? throw CloudWatchErrors.ValidationError("The expression of an alarm needs a Period.");
            metricsJson = JsonSerializer.Serialize(queries, CloudWatchJson.Default.ListMetricDataQuery);
        }
        if ((long)period * evaluationPeriods > 7 * 86_400)
            throw CloudWatchErrors.ValidationError("The product of Period and EvaluationPeriods must not exceed 7 days.");
        CheckActions(r.OKActions, r.AlarmActions, r.InsufficientDataActions);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        state.Write(w =>
        {
            var existing = w.Get(Alarms, AlarmKey(account, r.AlarmName!)) is { } json ? JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow) : null;
            if (existing is { IsComposite: true })
                throw CloudWatchErrors.ValidationError($"The alarm {r.AlarmName} is a composite alarm; PutMetricAlarm cannot change it into a metric alarm.");
            var row = new AlarmRow
            {
                Account = account,
                Name = r.AlarmName!,
                Arn = AlarmArn(account, r.AlarmName!),
                Description = r.AlarmDescription,
                ActionsEnabled = r.ActionsEnabled ?? true,
                OKActions = r.OKActions ?? [],
                AlarmActions = r.AlarmActions ?? [],
                InsufficientDataActions = r.InsufficientDataActions ?? [],
                MetricName = r.MetricName,
                Namespace = r.Namespace,
                Statistic = r.Statistic,
                ExtendedStatistic = r.ExtendedStatistic,
                Dimensions = (r.Dimensions ?? []).Select(d => new List<string> { d.Name!, d.Value! }).ToList(),
                Period = period,
                Unit = r.Unit,
                EvaluationPeriods = evaluationPeriods,
                DatapointsToAlarm = datapoints,
                Threshold = r.Threshold ?? 0,
                ComparisonOperator = r.ComparisonOperator!,
                TreatMissingData = r.TreatMissingData ?? "missing",
                EvaluateLowSampleCountPercentile = r.EvaluateLowSampleCountPercentile,
                MetricsJson = metricsJson,
                ThresholdMetricId = r.ThresholdMetricId,
                ConfigurationUpdated = now,
                // An updated alarm keeps its state until the next evaluation, as in CloudWatch.
                StateValue = existing?.StateValue ?? "INSUFFICIENT_DATA",
                StateReason = existing?.StateReason ?? "Unchecked: Initial alarm creation",
                StateReasonData = existing?.StateReasonData,
                StateUpdated = existing?.StateUpdated ?? now,
                StateTransitioned = existing?.StateTransitioned ?? now,
                Tags = existing?.Tags ?? (r.Tags ?? []).ToDictionary(t => t.Key!, t => t.Value!),
            };
            PutAlarm(w, row);
            AddHistory(w, account, new AlarmHistoryRow(row.Name, now, "ConfigurationUpdate", $"Alarm \"{row.Name}\" {(existing is null ? "created" : "updated")}",
                JsonSerializer.Serialize(new JsonObject { ["version"] = "1.0", ["type"] = existing is null ? "Create" : "Update" })));
            return 0;
        });
        return AlarmArn(account, r.AlarmName!);
    }

    /// <summary>Deletes alarms another service owns (a scaling policy's, with the policy), those
    /// that still exist, with their history.</summary>
    public void DeleteOwnedAlarms(string account, IReadOnlyCollection<string> names) => state.Write(w =>
    {
        foreach (var name in names)
        {
            if (!w.Delete(Alarms, AlarmKey(account, name))) continue;
            foreach (var h in w.Scan(AlarmHistory, $"{account}/{name}/", null, int.MaxValue)) w.Delete(AlarmHistory, h.Key);
        }
        return 0;
    });

    static void CheckActions(params List<string>?[] lists)
    {
        string[] members = ["OKActions", "AlarmActions", "InsufficientDataActions"];
        for (var i = 0; i < lists.Length; i++)
        {
            if (lists[i] is { Count: > 5 }) throw CloudWatchErrors.ValidationError($"The collection {members[i]} must not have a size greater than 5.");
            foreach (var arn in lists[i] ?? [])
                if (!arn.StartsWith("arn:aws:sns:", StringComparison.Ordinal) && !arn.StartsWith("arn:aws:autoscaling:", StringComparison.Ordinal)
                    && !arn.StartsWith("arn:aws:automate:", StringComparison.Ordinal) && !arn.StartsWith("arn:aws:swf:", StringComparison.Ordinal))
                    throw CloudWatchErrors.ValidationError($"Invalid arn syntax: {arn}");
        }
    }

    // ---- PutCompositeAlarm ----

    /// <summary>The name of an alarm a rule refers to by name or by its ARN (in this account and Region).</summary>
    string ReferencedName(string account, string alarm)
    {
        if (!alarm.StartsWith("arn:", StringComparison.Ordinal)) return alarm;
        var prefix = $"arn:aws:cloudwatch:{Region}:{account}:alarm:";
        return alarm.StartsWith(prefix, StringComparison.Ordinal) && alarm.Length > prefix.Length ? alarm[prefix.Length..]
            : throw CloudWatchErrors.ValidationError($"The alarm ARN {alarm} in the alarm rule is not an alarm of this account and Region.");
    }

    async Task<Empty> PutCompositeAlarm(PutCompositeAlarmInput r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = r.AlarmName!;
        AlarmRule rule;
        try { rule = AlarmRule.Parse(r.AlarmRule!); }
        catch (AlarmRuleException e) { throw CloudWatchErrors.ValidationError(e.Message); }
        var children = rule.Functions.Select(f => ReferencedName(account, f.Alarm)).Distinct(StringComparer.Ordinal).ToList();
        if (children.Count > 100) throw CloudWatchErrors.ValidationError($"An alarm rule can reference at most 100 alarms; this one references {children.Count}.");
        if (r.ActionsSuppressor is null && (r.ActionsSuppressorWaitPeriod is not null || r.ActionsSuppressorExtensionPeriod is not null))
            throw CloudWatchErrors.ValidationError("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod can only be given with ActionsSuppressor.");
        string? suppressor = null;
        if (r.ActionsSuppressor is { } given)
        {
            suppressor = ReferencedName(account, given);
            if (r.ActionsSuppressorWaitPeriod is not { } wait || r.ActionsSuppressorExtensionPeriod is not { } extension)
                throw CloudWatchErrors.ValidationError("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod are required when ActionsSuppressor is given.");
            if (wait < 0 || extension < 0) throw CloudWatchErrors.ValidationError("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod must not be negative.");
            if (suppressor == name) throw CloudWatchErrors.ValidationError("A composite alarm cannot be its own actions suppressor.");
        }
        CheckActions(r.OKActions, r.AlarmActions, r.InsufficientDataActions);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        state.Write(w =>
        {
            var existing = w.Get(Alarms, AlarmKey(account, name)) is { } json ? JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow) : null;
            if (existing is { IsComposite: false })
                throw CloudWatchErrors.ValidationError($"The alarm {name} is a metric alarm; PutCompositeAlarm cannot change it into a composite alarm.");
            // A rule may name the alarm itself or form a cycle with others (CloudWatch allows it);
            // it may not name an alarm that does not exist.
            var missing = children.Append(suppressor).OfType<string>().Where(c => c != name && w.Get(Alarms, AlarmKey(account, c)) is null).Distinct().ToList();
            if (missing.Count > 0)
                throw CloudWatchErrors.ValidationError($"Could not save the composite alarm as alarms [{string.Join(", ", missing)}] in the alarm rule do not exist");
            var row = new AlarmRow
            {
                Account = account,
                Name = name,
                Arn = AlarmArn(account, name),
                Description = r.AlarmDescription,
                ActionsEnabled = r.ActionsEnabled ?? true,
                OKActions = r.OKActions ?? [],
                AlarmActions = r.AlarmActions ?? [],
                InsufficientDataActions = r.InsufficientDataActions ?? [],
                AlarmRule = r.AlarmRule,
                ActionsSuppressor = suppressor is null ? null : AlarmArn(account, suppressor),
                ActionsSuppressorWaitPeriod = suppressor is null ? null : r.ActionsSuppressorWaitPeriod,
                ActionsSuppressorExtensionPeriod = suppressor is null ? null : r.ActionsSuppressorExtensionPeriod,
                ConfigurationUpdated = now,
                StateValue = existing?.StateValue ?? "INSUFFICIENT_DATA",
                StateReason = existing?.StateReason ?? "Unchecked: Initial alarm creation",
                StateReasonData = existing?.StateReasonData,
                StateUpdated = existing?.StateUpdated ?? now,
                StateTransitioned = existing?.StateTransitioned ?? now,
                Tags = existing?.Tags ?? (r.Tags ?? []).ToDictionary(t => t.Key!, t => t.Value!),
            };
            PutAlarm(w, row);
            AddHistory(w, account, new AlarmHistoryRow(name, now, "ConfigurationUpdate", $"Alarm \"{name}\" {(existing is null ? "created" : "updated")}",
                JsonSerializer.Serialize(new JsonObject { ["version"] = "1.0", ["type"] = existing is null ? "Create" : "Update" }), "CompositeAlarm"));
            return 0;
        });
        // A composite alarm is evaluated when it is saved and whenever an alarm it names changes state.
        await EvaluateCompositeAsync(account, name, 0, CancellationToken.None);
        return Empty.Instance;
    }

    // ---- reading ----

    MetricAlarm ToWire(AlarmRow a) => new()
    {
        AlarmName = a.Name,
        AlarmArn = a.Arn,
        AlarmDescription = a.Description,
        AlarmConfigurationUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.ConfigurationUpdated),
        ActionsEnabled = a.ActionsEnabled,
        OKActions = a.OKActions,
        AlarmActions = a.AlarmActions,
        InsufficientDataActions = a.InsufficientDataActions,
        StateValue = a.StateValue,
        StateReason = a.StateReason,
        StateReasonData = a.StateReasonData,
        StateUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateUpdated),
        StateTransitionedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateTransitioned),
        MetricName = a.MetricName,
        Namespace = a.Namespace,
        Statistic = a.Statistic,
        ExtendedStatistic = a.ExtendedStatistic,
        Dimensions = a.MetricsJson is null ? a.Dimensions.Select(d => new Dimension { Name = d[0], Value = d[1] }).ToList() : [],
        Period = a.MetricsJson is null ? a.Period : null,
        Unit = a.Unit,
        EvaluationPeriods = a.EvaluationPeriods,
        DatapointsToAlarm = a.DatapointsToAlarm,
        Threshold = a.ThresholdMetricId is null ? a.Threshold : null,
        ComparisonOperator = a.ComparisonOperator,
        TreatMissingData = a.TreatMissingData,
        EvaluateLowSampleCountPercentile = a.EvaluateLowSampleCountPercentile,
        Metrics = a.MetricsJson is { } m ? JsonSerializer.Deserialize(m, CloudWatchJson.Default.ListMetricDataQuery) : null,
        ThresholdMetricId = a.ThresholdMetricId,
    };

    static CompositeAlarm ToCompositeWire(AlarmRow a) => new()
    {
        AlarmName = a.Name,
        AlarmArn = a.Arn,
        AlarmDescription = a.Description,
        AlarmConfigurationUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.ConfigurationUpdated),
        ActionsEnabled = a.ActionsEnabled,
        OKActions = a.OKActions,
        AlarmActions = a.AlarmActions,
        InsufficientDataActions = a.InsufficientDataActions,
        AlarmRule = a.AlarmRule,
        StateValue = a.StateValue,
        StateReason = a.StateReason,
        StateReasonData = a.StateReasonData,
        StateUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateUpdated),
        StateTransitionedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateTransitioned),
        ActionsSuppressor = a.ActionsSuppressor,
        ActionsSuppressorWaitPeriod = a.ActionsSuppressorWaitPeriod,
        ActionsSuppressorExtensionPeriod = a.ActionsSuppressorExtensionPeriod,
        ActionsSuppressedBy = a.ActionsSuppressedBy,
        ActionsSuppressedReason = a.ActionsSuppressedReason,
    };

    /// <summary>The alarms a composite alarm's rule names (its children), by name.</summary>
    List<string> ChildrenOf(AlarmRow composite)
        => composite.AlarmRule is { } rule ? AlarmRule.Parse(rule).Functions.Select(f => ReferencedNameOrSelf(composite.Account, f.Alarm)).Distinct(StringComparer.Ordinal).ToList() : [];

    /// <summary>As <see cref="ReferencedName"/>, but for rules already saved: an ARN that no longer
    /// parses stays as written (it then names no alarm).</summary>
    string ReferencedNameOrSelf(string account, string alarm)
    {
        try { return ReferencedName(account, alarm); }
        catch (AwsException) { return alarm; }
    }

    DescribeAlarmsOutput DescribeAlarms(DescribeAlarmsInput r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var max = r.MaxRecords ?? 50;
        var offset = Offset(r.NextToken, invalidNextToken: true);
        if (r.ChildrenOfAlarmName is not null || r.ParentsOfAlarmName is not null)
        {
            if (r.ChildrenOfAlarmName is not null && r.ParentsOfAlarmName is not null || r.AlarmNames is { Count: > 0 } || r.AlarmNamePrefix is not null
                || r.AlarmTypes is { Count: > 0 } || r.StateValue is not null || r.ActionPrefix is not null)
                throw InvalidCombination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be given together or with any other parameter except MaxRecords and NextToken.");
            var all = AlarmsOf(account);
            List<AlarmRow> related;
            if (r.ChildrenOfAlarmName is { } parentName)
            {
                var parent = all.FirstOrDefault(a => a.Name == parentName && a.IsComposite);
                var names = parent is null ? [] : ChildrenOf(parent);
                related = all.Where(a => names.Contains(a.Name)).ToList();
            }
            else related = all.Where(a => a.IsComposite && ChildrenOf(a).Contains(r.ParentsOfAlarmName!)).ToList();
            // Only the name, ARN, state and when it changed, as CloudWatch answers these two questions.
            var slice = related.Skip(offset).Take(max).ToList();
            return new()
            {
                MetricAlarms = slice.Where(a => !a.IsComposite).Select(a => new MetricAlarm
                {
                    AlarmName = a.Name,
                    AlarmArn = a.Arn,
                    StateValue = a.StateValue,
                    StateUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateUpdated),
                }).ToList(),
                CompositeAlarms = slice.Where(a => a.IsComposite).Select(a => new CompositeAlarm
                {
                    AlarmName = a.Name,
                    AlarmArn = a.Arn,
                    StateValue = a.StateValue,
                    StateUpdatedTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(a.StateUpdated),
                }).ToList(),
                NextToken = offset + slice.Count < related.Count ? PageToken.Encode(offset + slice.Count) : null,
            };
        }
        if (r.AlarmNames is { Count: > 0 } && r.AlarmNamePrefix is not null)
            throw InvalidCombination("The parameters AlarmNames and AlarmNamePrefix cannot be given together.");
        if (r.AlarmNames is { Count: > 100 }) throw CloudWatchErrors.ValidationError("The collection AlarmNames must not have a size greater than 100.");
        // Without AlarmTypes only metric alarms are returned, even where composite alarms exist.
        var types = r.AlarmTypes is { Count: > 0 } t ? t : ["MetricAlarm"];
        var found = AlarmsOf(account).Where(a => types.Contains(a.AlarmType)
            && (r.AlarmNames is not { Count: > 0 } || r.AlarmNames.Contains(a.Name))
            && (r.AlarmNamePrefix is null || a.Name.StartsWith(r.AlarmNamePrefix, StringComparison.Ordinal))
            && (r.StateValue is null || a.StateValue == r.StateValue)
            && (r.ActionPrefix is null || a.OKActions.Concat(a.AlarmActions).Concat(a.InsufficientDataActions).Any(x => x.StartsWith(r.ActionPrefix, StringComparison.Ordinal))))
            .ToList();
        var page = found.Skip(offset).Take(max).ToList();
        return new()
        {
            MetricAlarms = page.Where(a => !a.IsComposite).Select(ToWire).ToList(),
            CompositeAlarms = page.Where(a => a.IsComposite).Select(ToCompositeWire).ToList(),
            NextToken = offset + page.Count < found.Count ? PageToken.Encode(offset + page.Count) : null,
        };
    }

    DescribeAlarmsForMetricOutput DescribeAlarmsForMetric(DescribeAlarmsForMetricInput r, RequestContext ctx)
    {
        var dims = (r.Dimensions ?? []).Select(d => new List<string> { d.Name!, d.Value! }).OrderBy(d => d[0], StringComparer.Ordinal).ToList();
        var found = AlarmsOf(ctx.Principal.AccountId).Where(a => a.MetricsJson is null && a.MetricName == r.MetricName && a.Namespace == r.Namespace
            && (r.Statistic is null || a.Statistic == r.Statistic) && (r.ExtendedStatistic is null || a.ExtendedStatistic == r.ExtendedStatistic)
            && (r.Period is null || a.Period == r.Period) && (r.Unit is null || a.Unit == r.Unit)
            && (r.Dimensions is null || a.Dimensions.OrderBy(d => d[0], StringComparer.Ordinal).Select(d => (d[0], d[1])).SequenceEqual(dims.Select(d => (d[0], d[1])))));
        return new() { MetricAlarms = found.Select(ToWire).ToList() };
    }

    DescribeAlarmHistoryOutput DescribeAlarmHistory(DescribeAlarmHistoryInput r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var prefix = r.AlarmName is null ? account + "/" : $"{account}/{r.AlarmName}/";
        var from = r.StartDate?.ToUnixTimeMilliseconds() ?? long.MinValue;
        var to = r.EndDate?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        var items = state.Read(s => s.Scan(AlarmHistory, prefix, null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, AlarmRowsJson.Default.AlarmHistoryRow)!)
            .Where(h => (r.HistoryItemType is null || h.HistoryItemType == r.HistoryItemType) && h.TimestampMs >= from && h.TimestampMs <= to
                && (r.AlarmTypes is { Count: > 0 } types ? types.Contains(h.AlarmType) : h.AlarmType == "MetricAlarm"));
        // Oldest first, changes in one millisecond in the order written (the keys' order; the sort
        // is stable); newest first is exactly that reversed.
        var ordered = items.OrderBy(h => h.TimestampMs).ToList();
        if (r.ScanBy != "TimestampAscending") ordered.Reverse();
        var offset = Offset(r.NextToken, invalidNextToken: true);
        var page = ordered.Skip(offset).Take(r.MaxRecords ?? 100).ToList();
        return new()
        {
            AlarmHistoryItems = page.Select(h => new AlarmHistoryItem
            {
                AlarmName = h.AlarmName,
                AlarmType = h.AlarmType,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(h.TimestampMs),
                HistoryItemType = h.HistoryItemType,
                HistorySummary = h.HistorySummary,
                HistoryData = h.HistoryData,
            }).ToList(),
            NextToken = offset + page.Count < ordered.Count ? PageToken.Encode(offset + page.Count) : null,
        };
    }

    // ---- changing ----

    void DeleteAlarms(DeleteAlarmsInput r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var names = r.AlarmNames!;
        if (names.Count > 100) throw CloudWatchErrors.ValidationError("The collection AlarmNames must not have a size greater than 100.");
        foreach (var name in names) ctx.Authorize("cloudwatch:DeleteAlarms", AlarmArn(account, name));
        state.Write(w =>
        {
            var missing = names.Where(n => w.Get(Alarms, AlarmKey(account, n)) is null).ToList();
            if (missing.Count > 0) throw CloudWatchErrors.ResourceNotFound($"The following alarms were not found: {string.Join(", ", missing)}");
            // An alarm that a composite alarm (not deleted with it) names in its rule or as its
            // actions suppressor stays: deleting it would leave the composite alarm's rule dangling.
            foreach (var kv in w.Scan(Alarms, account + "/", null, int.MaxValue))
            {
                var other = JsonSerializer.Deserialize(kv.Value, AlarmRowsJson.Default.AlarmRow)!;
                if (!other.IsComposite || names.Contains(other.Name)) continue;
                var referenced = ChildrenOf(other).Append(other.ActionsSuppressor is { } sup ? ReferencedNameOrSelf(account, sup) : null).Where(n => n is not null && names.Contains(n)).ToList();
                if (referenced.Count > 0)
                    throw CloudWatchErrors.ValidationError($"Alarm {referenced[0]} cannot be deleted: the composite alarm {other.Name} refers to it. Change that alarm's rule first, or delete it too.");
            }
            foreach (var name in names)
            {
                _scalingRepeats.TryRemove(AlarmKey(account, name), out _);
                w.Delete(Alarms, AlarmKey(account, name));
                foreach (var h in w.Scan(AlarmHistory, $"{account}/{name}/", null, int.MaxValue)) w.Delete(AlarmHistory, h.Key);
            }
            return 0;
        });
    }

    async Task<Empty> SetAlarmState(SetAlarmStateInput r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        if (r.StateReasonData is { } data)
        {
            try { JsonDocument.Parse(data).Dispose(); }
            catch (JsonException) { throw CloudWatchErrors.InvalidFormatFault("The value of StateReasonData is not valid JSON."); }
        }
        var alarm = FindAlarm(account, r.AlarmName!) ?? throw CloudWatchErrors.ResourceNotFound($"The alarm {r.AlarmName} does not exist.");
        await TransitionAsync(alarm, r.StateValue!, r.StateReason!, r.StateReasonData, CancellationToken.None, force: true);
        return Empty.Instance;
    }

    void EnableAlarmActions(EnableAlarmActionsInput r, RequestContext ctx) => SetActionsEnabled(ctx, r.AlarmNames!, true);

    void DisableAlarmActions(DisableAlarmActionsInput r, RequestContext ctx) => SetActionsEnabled(ctx, r.AlarmNames!, false);

    void SetActionsEnabled(RequestContext ctx, List<string> names, bool enabled)
    {
        var account = ctx.Principal.AccountId;
        // Names that do not exist are skipped, as CloudWatch does.
        state.Write(w =>
        {
            foreach (var name in names)
                if (w.Get(Alarms, AlarmKey(account, name)) is { } json)
                    PutAlarm(w, JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow)! with { ActionsEnabled = enabled });
            return 0;
        });
    }

    // ---- tags (alarms) ----

    string AlarmNameOf(RequestContext ctx, string arn)
    {
        var prefix = $"arn:aws:cloudwatch:{Region}:{ctx.Principal.AccountId}:alarm:";
        return arn.StartsWith(prefix, StringComparison.Ordinal) && FindAlarm(ctx.Principal.AccountId, arn[prefix.Length..]) is { } a ? a.Name
            : throw CloudWatchErrors.ResourceNotFoundException($"The resource {arn} does not exist.");
    }

    TagResourceOutput TagResource(TagResourceInput r, RequestContext ctx)
    {
        var name = AlarmNameOf(ctx, r.ResourceARN!);
        UpdateAlarm(ctx.Principal.AccountId, name, a =>
        {
            var tags = new Dictionary<string, string>(a.Tags);
            foreach (var t in r.Tags!) tags[t.Key!] = t.Value!;
            if (tags.Count > 50) throw InvalidValue("An alarm can have at most 50 tags.");
            return a with { Tags = tags };
        });
        return new();
    }

    UntagResourceOutput UntagResource(UntagResourceInput r, RequestContext ctx)
    {
        var name = AlarmNameOf(ctx, r.ResourceARN!);
        UpdateAlarm(ctx.Principal.AccountId, name, a => a with { Tags = a.Tags.Where(t => !r.TagKeys!.Contains(t.Key)).ToDictionary() });
        return new();
    }

    ListTagsForResourceOutput ListTagsForResource(ListTagsForResourceInput r, RequestContext ctx)
        => new() { Tags = FindAlarm(ctx.Principal.AccountId, AlarmNameOf(ctx, r.ResourceARN!))!.Tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() };

    void UpdateAlarm(string account, string name, Func<AlarmRow, AlarmRow> change) => state.Write(w =>
    {
        if (w.Get(Alarms, AlarmKey(account, name)) is { } json) PutAlarm(w, change(JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow)!));
        return 0;
    });

    // ---- evaluation ----

    /// <summary>When each alarm in ALARM last invoked its Auto Scaling actions again (in memory: after a
    /// restart the next repeat is a minute after the alarm's transition), and how often it does.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _scalingRepeats = new(StringComparer.Ordinal);
    const long ScalingRepeatMs = 60_000;

    /// <summary>Evaluates every alarm of every account once (the evaluator's tick).</summary>
    public async Task EvaluateAlarmsAsync(CancellationToken ct)
    {
        var all = state.Read(r => r.Scan(Alarms, "", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, AlarmRowsJson.Default.AlarmRow)!).ToList();
        foreach (var alarm in all.Where(a => !a.IsComposite))
        {
            ct.ThrowIfCancellationRequested();
            var (value, reason, data) = Evaluate(alarm);
            if (value is not null && (value != alarm.StateValue)) await TransitionAsync(alarm, value, reason, data, ct, force: false);
            // CloudWatch invokes an alarm's Auto Scaling actions once a minute while it stays in ALARM
            // (a step policy scales again if the metric still breaches), with what it sees now.
            else if (value == "ALARM" && alarm.StateValue == "ALARM" && alarm.ActionsEnabled && alarm.AlarmActions.Any(a => a.StartsWith("arn:aws:autoscaling:", StringComparison.Ordinal)))
            {
                var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
                var key = AlarmKey(alarm.Account, alarm.Name);
                var last = Math.Max(alarm.StateTransitioned, _scalingRepeats.GetValueOrDefault(key));
                if (now - last < ScalingRepeatMs) continue;
                _scalingRepeats[key] = now;
                await RunActionsAsync(alarm with { StateReasonData = data }, "ALARM", "ALARM", now, ct, repeat: true);
            }
        }
        // Composite alarms whose actions wait on their suppressor: act once the wait is over.
        foreach (var composite in all.Where(a => a.PendingActions is not null))
            await RunPendingActionsAsync(composite.Account, composite.Name, ct);
    }

    /// <summary>Evaluates a composite alarm's rule against its children's states now, and moves it
    /// to ALARM (the rule is true) or OK (it is false). <paramref name="depth"/> counts the chain of
    /// composite alarms that changed because a child changed, so a cycle of them cannot recurse forever.</summary>
    async Task EvaluateCompositeAsync(string account, string name, int depth, CancellationToken ct)
    {
        if (depth > 10 || FindAlarm(account, name) is not { IsComposite: true } composite) return;
        var alarms = AlarmsOf(account).ToDictionary(a => a.Name, StringComparer.Ordinal);
        var rule = AlarmRule.Parse(composite.AlarmRule!);
        string? StateOf(string alarm) => alarms.TryGetValue(ReferencedNameOrSelf(account, alarm), out var a) ? a.StateValue : null;
        var value = rule.Evaluate(StateOf) ? "ALARM" : "OK";
        if (value == composite.StateValue) return;
        // The children whose state the rule asks about and holds now; the newest of them triggered the change.
        var triggering = rule.Functions
            .Select(f => (f.State, Row: alarms.GetValueOrDefault(ReferencedNameOrSelf(account, f.Alarm))))
            .Where(f => f.Row is not null && f.Row.StateValue == f.State).Select(f => f.Row!)
            .DistinctBy(a => a.Name).OrderByDescending(a => a.StateTransitioned).ToList();
        var reason = triggering.FirstOrDefault() is { } newest
            ? $"{newest.Arn} transitioned to {newest.StateValue} at {DateTimeOffset.FromUnixTimeMilliseconds(newest.StateTransitioned).UtcDateTime.ToString("dddd dd MMMM, yyyy HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)}"
            : $"The alarm rule evaluated to {(value == "ALARM" ? "TRUE" : "FALSE")}";
        var data = new JsonObject
        {
            ["triggeringAlarms"] = new JsonArray(triggering.Select(a => (JsonNode)new JsonObject
            {
                ["arn"] = a.Arn,
                ["state"] = new JsonObject { ["value"] = a.StateValue, ["timestamp"] = TimeText(a.StateTransitioned) },
            }).ToArray()),
        };
        await TransitionAsync(composite, value, reason, data.ToJsonString(), ct, force: false, depth);
    }

    static string TimeText(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    /// <summary>CloudWatch's evaluation: the last EvaluationPeriods periods (the newest one is the
    /// period now in progress); ALARM when at least DatapointsToAlarm of them breach, OK when fewer
    /// do, INSUFFICIENT_DATA when none has data — with missing periods treated as TreatMissingData
    /// says (missing: left out; breaching/notBreaching: counted so; ignore: the state stays).
    /// Returns the new state (null: keep the current one), its reason and reason data.</summary>
    (string? State, string Reason, string Data) Evaluate(AlarmRow a)
    {
        var now = clock.GetUtcNow();
        var period = a.Period;
        var last = now.ToUnixTimeSeconds() / period * period;
        var first = last - (long)(a.EvaluationPeriods - 1) * period;
        var start = DateTimeOffset.FromUnixTimeSeconds(first);
        Dictionary<long, double> values;
        var statisticName = a.Statistic ?? a.ExtendedStatistic ?? "";
        try
        {
            if (a.MetricsJson is { } json)
            {
                var queries = JsonSerializer.Deserialize(json, CloudWatchJson.Default.ListMetricDataQuery)!;
                var result = RunQueries(a.Account, queries, start, now.AddSeconds(1)).FirstOrDefault();
                values = result.Points?.ToDictionary(p => p.Key, p => p.Value) ?? [];
            }
            else
            {
                var key = MetricKey.Of(a.Account, a.Namespace!, a.MetricName!, a.Dimensions.Select(d => new KeyValuePair<string, string>(d[0], d[1])));
                var statistic = Statistic.Parse(statisticName)!;
                values = [];
                if (a.Unit is null || metrics.UnitOf(key) is not { } unit || unit == a.Unit)
                    foreach (var (t, v) in metrics.Read(key, start, now.AddSeconds(1), period, statistic.Of))
                        values[t.ToUnixTimeSeconds()] = v!.Value;
            }
        }
        catch (Exception e) when (e is QueryException or MetricMathException)
        {
            return ("INSUFFICIENT_DATA", $"Unchecked: the metric math expression could not be evaluated: {e.Message}", "{}");
        }

        var breaching = 0;
        var present = 0;
        var evaluated = new JsonArray();
        var recent = new JsonArray();
        for (var t = first; t <= last; t += period)
        {
            if (values.TryGetValue(t, out var v))
            {
                present++;
                if (Breaches(a.ComparisonOperator, v, a.Threshold)) breaching++;
                evaluated.Add(new JsonObject { ["timestamp"] = Stamp(t), ["value"] = v });
                recent.Add(v);
            }
            else if (a.TreatMissingData == "breaching") breaching++;
        }
        var missing = a.EvaluationPeriods - present;
        string? next;
        if (present == 0 && a.TreatMissingData is "missing") next = "INSUFFICIENT_DATA";
        else if (present == 0 && a.TreatMissingData is "ignore") next = null;
        else next = breaching >= a.DatapointsToAlarm ? "ALARM" : "OK";

        var data = new JsonObject
        {
            ["version"] = "1.0",
            ["queryDate"] = Stamp(now.ToUnixTimeSeconds()),
            ["startDate"] = Stamp(first),
            ["statistic"] = statisticName,
            ["period"] = period,
            ["recentDatapoints"] = recent,
            ["threshold"] = a.Threshold,
            ["evaluatedDatapoints"] = evaluated,
        };
        string reason;
        if (next == "INSUFFICIENT_DATA")
            reason = $"Insufficient Data: {a.EvaluationPeriods} datapoint{(a.EvaluationPeriods == 1 ? " was" : "s were")} unknown.";
        else if (present == 0)
            reason = $"Threshold Crossed: no datapoints were received for {a.EvaluationPeriods} period{(a.EvaluationPeriods == 1 ? "" : "s")} and {missing} missing datapoint{(missing == 1 ? " was" : "s were")} treated as [{(a.TreatMissingData == "breaching" ? "Breaching" : "NonBreaching")}].";
        else
        {
            // Newest first, each with its period's start as CloudWatch writes it (dd/MM/yy HH:mm:ss).
            var shown = string.Join(", ", Enumerable.Range(0, a.EvaluationPeriods).Select(i => last - (long)i * period)
                .Where(values.ContainsKey).Select(t => $"{Number(values[t])} ({DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime.ToString("dd/MM/yy HH:mm:ss", CultureInfo.InvariantCulture)})"));
            var treated = a.TreatMissingData is "breaching" or "notBreaching" && missing > 0 ? $" and {missing} missing datapoint{(missing == 1 ? "" : "s")} treated as {(a.TreatMissingData == "breaching" ? "Breaching" : "NonBreaching")}" : "";
            reason = next == "ALARM"
                ? $"Threshold Crossed: {breaching} out of the last {a.EvaluationPeriods} datapoints [{shown}]{treated} {(breaching == 1 ? "was" : "were")} {Words(a.ComparisonOperator)} the threshold ({Number(a.Threshold)}) (minimum {a.DatapointsToAlarm} datapoint{(a.DatapointsToAlarm == 1 ? "" : "s")} for OK -> ALARM transition)."
                : $"Threshold Crossed: {a.EvaluationPeriods - breaching} out of the last {a.EvaluationPeriods} datapoints [{shown}]{treated} {(a.EvaluationPeriods - breaching == 1 ? "was" : "were")} not {Words(a.ComparisonOperator)} the threshold ({Number(a.Threshold)}) (minimum {a.EvaluationPeriods - a.DatapointsToAlarm + 1} datapoint{(a.EvaluationPeriods - a.DatapointsToAlarm + 1 == 1 ? "" : "s")} for ALARM -> OK transition).";
        }
        return (next, reason, data.ToJsonString());

        static string Stamp(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
    }

    static string Number(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e15 ? v.ToString("0.0", CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture);

    static bool Breaches(string op, double value, double threshold) => op switch
    {
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "GreaterThanThreshold" => value > threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        _ => false, // anomaly-detection band operators need a band Strata does not model yet
    };

    static string Words(string op) => op switch
    {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        "LessThanOrEqualToThreshold" => "less than or equal to",
        _ => "outside",
    };

    /// <summary>Moves an alarm to a state: records the change; on a change of state (actions
    /// enabled) publishes the alarm notification to each action of the new state, or, for a
    /// composite alarm with an actions suppressor, leaves them pending on it; then re-evaluates the
    /// composite alarms whose rules name this one.</summary>
    async Task TransitionAsync(AlarmRow alarm, string newState, string reason, string? reasonData, CancellationToken ct, bool force, int depth = 0)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // A change of state starts the alarm's repeats afresh (a minute after it).
        _scalingRepeats.TryRemove(AlarmKey(alarm.Account, alarm.Name), out _);
        AlarmRow? changed = null;
        AlarmRow? previous = null;
        string? oldState = null;
        state.Write(w =>
        {
            // Re-read: a PutMetricAlarm or SetAlarmState since the evaluation wins.
            if (w.Get(Alarms, AlarmKey(alarm.Account, alarm.Name)) is not { } json) return 0;
            var current = JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow)!;
            if (!force && (current.ConfigurationUpdated != alarm.ConfigurationUpdated || current.StateValue != alarm.StateValue)) return 0;
            previous = current;
            oldState = current.StateValue;
            var moved = current.StateValue != newState;
            changed = current with
            {
                StateValue = newState,
                StateReason = reason,
                StateReasonData = reasonData,
                StateUpdated = now,
                StateTransitioned = moved ? now : current.StateTransitioned,
            };
            if (moved && changed.ActionsSuppressor is not null)
                changed = changed with { PendingActions = newState, PendingOldState = current.StateValue, PendingSince = now, SuppressorSeenInAlarm = false, ActionsSuppressedBy = null, ActionsSuppressedReason = null };
            PutAlarm(w, changed);
            var history = new JsonObject
            {
                ["version"] = "1.0",
                ["oldState"] = new JsonObject { ["stateValue"] = current.StateValue, ["stateReason"] = current.StateReason },
                ["newState"] = new JsonObject { ["stateValue"] = newState, ["stateReason"] = reason, ["stateReasonData"] = reasonData is null ? null : JsonNode.Parse(reasonData) },
            };
            AddHistory(w, alarm.Account, new AlarmHistoryRow(alarm.Name, now, "StateUpdate", $"Alarm updated from {current.StateValue} to {newState}", history.ToJsonString(), current.AlarmType));
            return 0;
        });
        if (changed is null || oldState == newState) return;
        if (changed.ActionsSuppressor is not null)
        {
            await RunPendingActionsAsync(changed.Account, changed.Name, ct);
            // The event says whether the suppressor holds the actions back, as just decided.
            if (FindAlarm(changed.Account, changed.Name) is { } decided)
                changed = changed with { ActionsSuppressedBy = decided.ActionsSuppressedBy, ActionsSuppressedReason = decided.ActionsSuppressedReason };
            Events.Put(AlarmEvents.StateChange(changed, previous!));
        }
        else
        {
            Events.Put(AlarmEvents.StateChange(changed, previous!));
            if (changed.ActionsEnabled) await RunActionsAsync(changed, newState, oldState!, now, ct);
        }
        foreach (var parent in AlarmsOf(changed.Account).Where(a => a.IsComposite && ChildrenOf(a).Contains(changed.Name)))
            await EvaluateCompositeAsync(changed.Account, parent.Name, depth + 1, ct);
    }

    /// <summary>Whether a composite alarm's pending actions are held back by its suppressor now,
    /// and by what: the suppressor in ALARM, the extension after it left ALARM, or the wait for it
    /// to go into ALARM after the composite alarm changed state. Null: they may run.</summary>
    static (string By, string Reason)? Suppression(AlarmRow composite, AlarmRow? suppressor, long now)
    {
        if (suppressor is null) return null;
        if (suppressor.StateValue == "ALARM") return ("Alarm", $"Alarm {suppressor.Name} is in ALARM state.");
        var extension = (composite.ActionsSuppressorExtensionPeriod ?? 0) * 1000L;
        if (composite.SuppressorSeenInAlarm && now < suppressor.StateTransitioned + extension)
            return ("ExtensionPeriod", $"Extension period of {composite.ActionsSuppressorExtensionPeriod} seconds after alarm {suppressor.Name} left the ALARM state has not elapsed.");
        var wait = (composite.ActionsSuppressorWaitPeriod ?? 0) * 1000L;
        if (!composite.SuppressorSeenInAlarm && now < composite.PendingSince + wait)
            return ("WaitPeriod", $"Wait period of {composite.ActionsSuppressorWaitPeriod} seconds for alarm {suppressor.Name} to go into ALARM state has not elapsed.");
        return null;
    }

    /// <summary>Runs a composite alarm's pending actions if its suppressor no longer holds them back
    /// (and records what holds them back if it does).</summary>
    async Task RunPendingActionsAsync(string account, string name, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        AlarmRow? due = null;
        state.Write(w =>
        {
            if (w.Get(Alarms, AlarmKey(account, name)) is not { } json) return 0;
            var row = JsonSerializer.Deserialize(json, AlarmRowsJson.Default.AlarmRow)!;
            if (row.PendingActions is null) return 0;
            var suppressor = row.ActionsSuppressor is { } arn && w.Get(Alarms, AlarmKey(account, ReferencedNameOrSelf(account, arn))) is { } s
                ? JsonSerializer.Deserialize(s, AlarmRowsJson.Default.AlarmRow) : null;
            if (Suppression(row, suppressor, now) is { } held)
            {
                PutAlarm(w, row with { ActionsSuppressedBy = held.By, ActionsSuppressedReason = held.Reason, SuppressorSeenInAlarm = row.SuppressorSeenInAlarm || held.By == "Alarm" });
                return 0;
            }
            PutAlarm(w, row with { PendingActions = null, PendingOldState = null, ActionsSuppressedBy = null, ActionsSuppressedReason = null });
            due = row;
            return 0;
        });
        if (due is { ActionsEnabled: true }) await RunActionsAsync(due, due.PendingActions!, due.PendingOldState!, due.StateTransitioned, ct);
    }

    /// <summary>Carries out the actions of an alarm's state and records each outcome in its history:
    /// SNS topics receive the alarm notification.</summary>
    /// <param name="repeat">Only the Auto Scaling actions again, for an alarm that stayed in ALARM.</param>
    async Task RunActionsAsync(AlarmRow alarm, string newState, string oldState, long atMs, CancellationToken ct, bool repeat = false)
    {
        var actions = newState switch { "OK" => alarm.OKActions, "ALARM" => alarm.AlarmActions, _ => alarm.InsufficientDataActions };
        foreach (var action in actions)
        {
            var scalingAction = action.StartsWith("arn:aws:autoscaling:", StringComparison.Ordinal);
            if (repeat && !scalingAction) continue;
            string summary;
            try
            {
                if (scalingAction && ScalingActions is { } scaling)
                    await scaling.ExecuteAsync(alarm.Account, action, Breach(alarm, repeat), ct);
                else if (action.StartsWith("arn:aws:sns:", StringComparison.Ordinal) && Notifier is { } notifier)
                    await notifier.PublishAsync(alarm.Account, action, $"{newState}: \"{alarm.Name}\" in {RegionName(Region)}", Notification(alarm, oldState, atMs), ct);
                else throw new InvalidOperationException("only SNS topic and scaling policy actions are carried out by Strata");
                summary = $"Successfully executed action {action}";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                summary = $"Failed to execute action {action}. Received error: \"{e.Message}\"";
            }
            // The history records the actions of a change of state, not each repeat while in ALARM.
            if (repeat) continue;
            state.Write(w =>
            {
                AddHistory(w, alarm.Account, new AlarmHistoryRow(alarm.Name, clock.GetUtcNow().ToUnixTimeMilliseconds(), "Action", summary,
                    new JsonObject { ["actionState"] = summary.StartsWith("Success", StringComparison.Ordinal) ? "Succeeded" : "Failed", ["notificationResource"] = action }.ToJsonString(),
                    alarm.AlarmType));
                return 0;
            });
        }
    }

    /// <summary>The alarm's threshold and the datapoints of its last evaluation (its state reason data), for a scaling policy.</summary>
    static AlarmBreach Breach(AlarmRow alarm, bool repeated)
    {
        List<double> points = [];
        try
        {
            if (alarm.StateReasonData is { } data && JsonNode.Parse(data)?["recentDatapoints"] is JsonArray recent)
                points = recent.Select(p => p?.GetValueKind() == JsonValueKind.Number ? p.GetValue<double>() : double.NaN).Where(double.IsFinite).ToList();
        }
        catch (JsonException) { /* SetAlarmState may have put any JSON object; without datapoints a step policy does nothing */ }
        return new AlarmBreach(alarm.Name, alarm.Threshold, points, repeated, alarm.ComparisonOperator);
    }

    /// <summary>AWS's alarm notification: the JSON message SNS delivers for a state change.</summary>
    string Notification(AlarmRow a, string oldState, long atMs)
    {
        var message = new JsonObject
        {
            ["AlarmName"] = a.Name,
            ["AlarmDescription"] = a.Description,
            ["AWSAccountId"] = a.Account,
            ["AlarmConfigurationUpdatedTimestamp"] = TimeText(a.ConfigurationUpdated),
            ["NewStateValue"] = a.StateValue,
            ["NewStateReason"] = a.StateReason,
            ["StateChangeTime"] = TimeText(atMs),
            ["Region"] = RegionName(Region),
            ["AlarmArn"] = a.Arn,
            ["OldStateValue"] = oldState,
            ["OKActions"] = new JsonArray(a.OKActions.Select(x => (JsonNode)x).ToArray()),
            ["AlarmActions"] = new JsonArray(a.AlarmActions.Select(x => (JsonNode)x).ToArray()),
            ["InsufficientDataActions"] = new JsonArray(a.InsufficientDataActions.Select(x => (JsonNode)x).ToArray()),
        };
        if (a.IsComposite)
        {
            // A composite alarm's notification names its rule and the children that triggered it.
            message["AlarmRule"] = a.AlarmRule;
            var triggering = a.StateReasonData is { } data && JsonNode.Parse(data)?["triggeringAlarms"] is JsonArray children ? children : [];
            message["TriggeringChildren"] = new JsonArray(triggering.Select(c => (JsonNode)new JsonObject
            {
                ["Arn"] = c?["arn"]?.GetValue<string>(),
                ["State"] = new JsonObject { ["Value"] = c?["state"]?["value"]?.GetValue<string>(), ["Timestamp"] = c?["state"]?["timestamp"]?.GetValue<string>() },
            }).ToArray());
            return message.ToJsonString();
        }
        var trigger = new JsonObject
        {
            ["MetricName"] = a.MetricName,
            ["Namespace"] = a.Namespace,
            ["StatisticType"] = a.ExtendedStatistic is null ? "Statistic" : "ExtendedStatistic",
            ["Statistic"] = a.Statistic?.ToUpperInvariant() ?? a.ExtendedStatistic,
            ["Unit"] = a.Unit,
            ["Dimensions"] = new JsonArray(a.Dimensions.Select(d => (JsonNode)new JsonObject { ["value"] = d[1], ["name"] = d[0] }).ToArray()),
            ["Period"] = a.Period,
            ["EvaluationPeriods"] = a.EvaluationPeriods,
            ["DatapointsToAlarm"] = a.DatapointsToAlarm,
            ["ComparisonOperator"] = a.ComparisonOperator,
            ["Threshold"] = a.Threshold,
            ["TreatMissingData"] = a.TreatMissingData,
            ["EvaluateLowSampleCountPercentile"] = a.EvaluateLowSampleCountPercentile ?? "",
        };
        if (a.MetricsJson is not null) trigger["Metrics"] = JsonNode.Parse(a.MetricsJson);
        message["Trigger"] = trigger;
        return message.ToJsonString();
    }

    static string RegionName(string region) => region switch
    {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "eu-west-1" => "EU (Ireland)",
        "eu-central-1" => "EU (Frankfurt)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        _ => region,
    };
}

/// <summary>Evaluates CloudWatch alarms every 10 seconds of the injected clock (the shortest alarm
/// period), so a fake clock drives them in tests.</summary>
public sealed class AlarmEvaluator(CloudWatchService cloudWatch, TimeProvider clock, ILogger<AlarmEvaluator> log) : PeriodicService(clock, TimeSpan.FromSeconds(10), log)
{
    protected override string What => "Alarm evaluation";

    protected override Task TickAsync(CancellationToken ct) => cloudWatch.EvaluateAlarmsAsync(ct);
}
