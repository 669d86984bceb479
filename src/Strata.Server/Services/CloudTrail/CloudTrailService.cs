using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// AWS CloudTrail (JSON 1.1, <c>CloudTrail_20131101</c>): the account's event history
/// (LookupEvents over the last 90 days of management events). Trails are the trails service's.
/// </summary>
public sealed class CloudTrailService(EventHistoryStore history, TimeProvider clock)
{
    public IEnumerable<Operation> Operations =>
    [
        CloudTrailOperations.LookupEvents.Bind("cloudtrail:LookupEvents", (_, _) => "*", LookupEvents),
    ];

    LookupEventsResponse LookupEvents(LookupEventsRequest r, RequestContext ctx)
    {
        (string, string)? filter = null;
        if (r.LookupAttributes is { Count: > 0 } attributes)
        {
            if (attributes.Count > 1)
                throw CloudTrailErrors.InvalidLookupAttributesException("You cannot specify more than one lookup attribute.");
            var a = attributes[0];
            if (a.AttributeKey is null || !EventHistoryStore.IsLookupAttribute(a.AttributeKey))
                throw CloudTrailErrors.InvalidLookupAttributesException($"Invalid lookup attribute key: {a.AttributeKey}.");
            if (string.IsNullOrEmpty(a.AttributeValue))
                throw CloudTrailErrors.InvalidLookupAttributesException("The lookup attribute value must not be empty.");
            filter = (a.AttributeKey, a.AttributeValue);
        }
        var now = clock.GetUtcNow();
        var end = r.EndTime ?? now;
        var start = r.StartTime ?? now - EventHistoryStore.Retention;
        if (start > end) throw CloudTrailErrors.InvalidTimeRangeException("Start time must be before end time.");
        // Insights events are not made by Strata: there are none to look up.
        if (r.EventCategory == "insight") return new() { Events = [] };
        var limit = r.MaxResults ?? 50;
        var after = r.NextToken is null ? ((long, long)?)null : Position(r.NextToken);
        var page = history.Lookup(ctx.Principal.AccountId, filter, start, end, after, limit + 1);
        var more = page.Count > limit;
        if (more) page.RemoveAt(page.Count - 1);
        return new()
        {
            Events = page.Select(e => new Event
            {
                EventId = e.EventId,
                EventName = e.EventName,
                ReadOnly = e.ReadOnly ? "true" : "false",
                AccessKeyId = e.AccessKeyId,
                EventTime = e.EventTime,
                EventSource = e.EventSource,
                Username = e.Username,
                Resources = e.Resources.Select(x => new Resource { ResourceType = x.Type, ResourceName = x.Name }).ToList(),
                CloudTrailEvent = e.Json,
            }).ToList(),
            NextToken = more ? $"{page[^1].EventTime.ToUnixTimeMilliseconds()}.{page[^1].Seq}" : null,
        };
    }

    static (long, long) Position(string token)
        => token.Split('.') is [var t, var s] && long.TryParse(t, CultureInfo.InvariantCulture, out var time) && long.TryParse(s, CultureInfo.InvariantCulture, out var seq)
            ? (time, seq) : throw CloudTrailErrors.InvalidNextTokenException("Invalid NextToken.");
}

/// <summary>
/// The audit stage's sink: every record goes to the event history (management events), to the
/// trails, and (writes of management events) onto the account's default event bus as AWS's
/// "AWS API Call via CloudTrail" event.
/// </summary>
public sealed class AuditLog(EventHistory history, IAuditSink? trails, IServiceEvents events) : IAuditSink
{
    public bool WantsDataEvents(string account, string eventSource) => trails?.WantsDataEvents(account, eventSource) ?? false;

    public void Record(AuditRecord record)
    {
        history.Add(record);
        trails?.Record(record);
        if (record.ManagementEvent && !record.ReadOnly && record.EventName != "PutEvents" && JsonNode.Parse(record.Json) is JsonObject detail)
        {
            var service = record.EventSource[..record.EventSource.IndexOf('.')];
            events.Put(new ServiceEvent(record.Account, "aws." + (service == "monitoring" ? "cloudwatch" : service), "AWS API Call via CloudTrail", [], detail, record.EventTime));
        }
    }
}
