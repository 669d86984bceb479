using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Services.CloudWatch;

/// <summary>
/// "CloudWatch Alarm State Change" (source <c>aws.cloudwatch</c>), shaped as the CloudWatch user
/// guide's "Alarm events and EventBridge" shows it: the alarm's ARN as the only resource; a detail
/// with <c>alarmName</c>, <c>state</c> and <c>previousState</c> (value, reason, reasonData as
/// the JSON text the alarm keeps, timestamp as <c>2019-10-02T17:04:40.989+0000</c>) and
/// <c>configuration</c>: a metric alarm's description and metrics (each a metric data query,
/// <c>metricStat.metric</c> with <c>name</c> and a <c>dimensions</c> map), or a composite alarm's
/// rule and actions suppressor; a composite alarm's state also says when its actions are held
/// back by the suppressor (<c>actionsSuppressedBy</c>, <c>actionsSuppressedReason</c>).
/// </summary>
public static class AlarmEvents
{
    public const string Source = "aws.cloudwatch";
    public const string StateChangeType = "CloudWatch Alarm State Change";

    public static ServiceEvent StateChange(AlarmRow alarm, AlarmRow previous)
    {
        var state = State(alarm.StateValue, alarm.StateReason, alarm.StateReasonData, alarm.StateUpdated);
        if (alarm.ActionsSuppressedBy is { } by)
        {
            state["actionsSuppressedBy"] = by;
            state["actionsSuppressedReason"] = alarm.ActionsSuppressedReason;
        }
        var detail = new JsonObject
        {
            ["alarmName"] = alarm.Name,
            ["state"] = state,
            ["previousState"] = State(previous.StateValue, previous.StateReason, previous.StateReasonData, previous.StateUpdated),
            ["configuration"] = alarm.IsComposite ? CompositeConfiguration(alarm) : MetricConfiguration(alarm),
        };
        return new ServiceEvent(alarm.Account, Source, StateChangeType, [alarm.Arn], detail, DateTimeOffset.FromUnixTimeMilliseconds(alarm.StateUpdated));
    }

    static JsonObject State(string value, string reason, string? reasonData, long atMs)
    {
        var state = new JsonObject { ["value"] = value, ["reason"] = reason };
        if (reasonData is not null) state["reasonData"] = reasonData;
        state["timestamp"] = DateTimeOffset.FromUnixTimeMilliseconds(atMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
        return state;
    }

    static JsonObject CompositeConfiguration(AlarmRow a)
    {
        var configuration = new JsonObject();
        if (a.Description is { } description) configuration["description"] = description;
        configuration["alarmRule"] = a.AlarmRule;
        if (a.ActionsSuppressor is { } suppressor)
        {
            configuration["actionsSuppressor"] = suppressor;
            configuration["actionsSuppressorWaitPeriod"] = a.ActionsSuppressorWaitPeriod;
            configuration["actionsSuppressorExtensionPeriod"] = a.ActionsSuppressorExtensionPeriod;
        }
        return configuration;
    }

    static JsonObject MetricConfiguration(AlarmRow a)
    {
        var configuration = new JsonObject();
        if (a.Description is { } description) configuration["description"] = description;
        JsonArray metrics;
        if (a.MetricsJson is { } json)
        {
            metrics = [.. JsonSerializer.Deserialize(json, CloudWatchJson.Default.ListMetricDataQuery)!.Select(q => (JsonNode)Query(q))];
        }
        else
        {
            // A single-metric alarm has no query id of its own; its event names the one query by
            // an id that stays the same for the alarm, as AWS's does.
            var stat = new JsonObject
            {
                ["metric"] = Metric(a.Namespace, a.MetricName, a.Dimensions.Select(d => (d[0], d[1]))),
                ["period"] = a.Period,
                ["stat"] = a.Statistic ?? a.ExtendedStatistic,
            };
            if (a.Unit is { } unit) stat["unit"] = unit;
            metrics = [new JsonObject { ["id"] = QueryId(a.Arn), ["metricStat"] = stat, ["returnData"] = true }];
        }
        configuration["metrics"] = metrics;
        return configuration;
    }

    static JsonObject Query(MetricDataQuery q)
    {
        var query = new JsonObject();
        if (q.Expression is { } expression) query["expression"] = expression;
        query["id"] = q.Id;
        if (q.Label is { } label) query["label"] = label;
        if (q.MetricStat is { } s)
        {
            var stat = new JsonObject
            {
                ["metric"] = Metric(s.Metric?.Namespace, s.Metric?.MetricName, (s.Metric?.Dimensions ?? []).Select(d => (d.Name ?? "", d.Value ?? ""))),
                ["period"] = s.Period,
                ["stat"] = s.Stat,
            };
            if (s.Unit is { } unit) stat["unit"] = unit;
            query["metricStat"] = stat;
        }
        if (q.Period is { } period) query["period"] = period;
        query["returnData"] = q.ReturnData ?? true;
        return query;
    }

    static JsonObject Metric(string? ns, string? name, IEnumerable<(string Name, string Value)> dimensions)
    {
        var map = new JsonObject();
        foreach (var (dimension, value) in dimensions) map[dimension] = value;
        return new JsonObject { ["dimensions"] = map, ["name"] = name, ["namespace"] = ns };
    }

    static string QueryId(string alarmArn)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(alarmArn));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }
}
