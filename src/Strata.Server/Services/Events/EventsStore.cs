using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Services.Events;

// The rows EventBridge keeps in the state store (not the wire shapes: their JSON is what data
// directories hold). Keys: buses {account}/{bus}, rules {account}/{bus}/{rule}, targets
// {account}/{bus}/{rule}/{id}; a bus's rules and a rule's targets are prefix scans.

public sealed record EventBusRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public string? Description { get; init; }
    public string? Policy { get; init; }
    public long CreationTime { get; init; }
    public long LastModifiedTime { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];
}

public sealed record RuleRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required string EventBusName { get; init; }
    public string? EventPattern { get; init; }
    public string? ScheduleExpression { get; init; }
    public string State { get; init; } = "ENABLED";
    public string? Description { get; init; }
    public string? RoleArn { get; init; }
    public required string CreatedBy { get; init; }
    /// <summary>When the rule was first made: a rate schedule counts its periods from then.</summary>
    public long CreationTime { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];
}

public sealed record TargetRow
{
    public required string Id { get; init; }
    public required string Arn { get; init; }
    public string? RoleArn { get; init; }
    public string? Input { get; init; }
    public string? InputPath { get; init; }
    public Dictionary<string, string>? InputPathsMap { get; init; }
    public string? InputTemplate { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public int? MaximumEventAgeInSeconds { get; init; }
    public string? DeadLetterArn { get; init; }
    /// <summary>For an API destination: the request's path values, headers and query string.</summary>
    public TargetHttpParameters? HttpParameters { get; init; }
}

/// <summary>One event on its way to one target of one rule: the payload (already rendered by the
/// target's input settings), where it goes and when the next attempt is due. Written in the
/// transaction that matched the event, deleted when delivered or given up, so deliveries outlive
/// a restart (at least once, as AWS promises).</summary>
public sealed record EventDeliveryRow
{
    public required string Id { get; init; }
    public required string Account { get; init; }
    public required string EventId { get; init; }
    public required string RuleArn { get; init; }
    public required string TargetId { get; init; }
    public required string TargetArn { get; init; }
    public required string Payload { get; init; }
    /// <summary>When EventBridge took the event in: MaximumEventAgeInSeconds counts from here.</summary>
    public required DateTimeOffset IngestedAt { get; init; }
    public required int MaximumRetryAttempts { get; init; }
    public required int MaximumEventAgeInSeconds { get; init; }
    /// <summary>How many buses the event has already passed through (bus targets forward it).</summary>
    public int Hops { get; init; }
    public int Attempts { get; init; }
    public required DateTimeOffset DueAt { get; init; }
}

[JsonSerializable(typeof(EventBusRow))]
[JsonSerializable(typeof(EventDeliveryRow))]
[JsonSerializable(typeof(RuleRow))]
[JsonSerializable(typeof(TargetRow))]
internal sealed partial class EventsRowsJson : JsonSerializerContext;

/// <summary>EventBridge's buses, rules and targets in the state store.</summary>
public sealed partial class EventsStore(IStateStore state)
{
    const string Buses = "events-buses", Rules = "events-rules", Targets = "events-targets";
    const string Deliveries = "events-deliveries", Fired = "events-schedule-fired";

    static string BusKey(string account, string bus) => $"{account}/{bus}";
    static string RuleKey(string account, string bus, string rule) => $"{account}/{bus}/{rule}";

    public EventBusRow? GetBus(string account, string name)
        => state.Read(r => r.Get(Buses, BusKey(account, name))) is { } json ? JsonSerializer.Deserialize(json, EventsRowsJson.Default.EventBusRow) : null;

    public List<EventBusRow> BusesOf(string account)
        => state.Read(r => r.Scan(Buses, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, EventsRowsJson.Default.EventBusRow)!).ToList();

    /// <summary>Adds a bus; false when one of that name exists.</summary>
    public bool AddBus(string account, EventBusRow bus) => state.Write(w =>
    {
        if (w.Get(Buses, BusKey(account, bus.Name)) is not null) return false;
        w.Put(Buses, BusKey(account, bus.Name), JsonSerializer.Serialize(bus, EventsRowsJson.Default.EventBusRow));
        return true;
    });

    public void PutBus(string account, EventBusRow bus)
        => state.Write(w => { w.Put(Buses, BusKey(account, bus.Name), JsonSerializer.Serialize(bus, EventsRowsJson.Default.EventBusRow)); return 0; });

    /// <summary>Changes a bus that exists, in one transaction (two PutPermission calls must not
    /// lose each other's statement); false when it does not exist.</summary>
    public bool UpdateBus(string account, string name, Func<EventBusRow, EventBusRow> change) => state.Write(w =>
    {
        if (w.Get(Buses, BusKey(account, name)) is not { } json) return false;
        var changed = change(JsonSerializer.Deserialize(json, EventsRowsJson.Default.EventBusRow)!);
        w.Put(Buses, BusKey(account, name), JsonSerializer.Serialize(changed, EventsRowsJson.Default.EventBusRow));
        return true;
    });

    /// <summary>Deletes a bus that has no rules: null when it did not exist, false when rules remain.</summary>
    public bool? DeleteBus(string account, string name) => state.Write<bool?>(w =>
    {
        if (w.Get(Buses, BusKey(account, name)) is null) return null;
        if (w.Scan(Rules, BusKey(account, name) + "/", null, 1).Count > 0) return false;
        w.Delete(Buses, BusKey(account, name));
        return true;
    });

    public RuleRow? GetRule(string account, string bus, string name)
        => state.Read(r => r.Get(Rules, RuleKey(account, bus, name))) is { } json ? JsonSerializer.Deserialize(json, EventsRowsJson.Default.RuleRow) : null;

    public List<RuleRow> RulesOf(string account, string bus)
        => state.Read(r => r.Scan(Rules, BusKey(account, bus) + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, EventsRowsJson.Default.RuleRow)!).ToList();

    /// <summary>Every account's rules (the scheduler's view).</summary>
    public List<(string Account, RuleRow Rule)> AllRules()
        => state.Read(r => r.Scan(Rules, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, EventsRowsJson.Default.RuleRow)!)).ToList();

    public void PutRule(string account, RuleRow rule)
        => state.Write(w => { w.Put(Rules, RuleKey(account, rule.EventBusName, rule.Name), JsonSerializer.Serialize(rule, EventsRowsJson.Default.RuleRow)); return 0; });

    /// <summary>Changes a rule that exists; false when it does not.</summary>
    public bool UpdateRule(string account, string bus, string name, Func<RuleRow, RuleRow> change) => state.Write(w =>
    {
        if (w.Get(Rules, RuleKey(account, bus, name)) is not { } json) return false;
        var changed = change(JsonSerializer.Deserialize(json, EventsRowsJson.Default.RuleRow)!);
        w.Put(Rules, RuleKey(account, bus, name), JsonSerializer.Serialize(changed, EventsRowsJson.Default.RuleRow));
        return true;
    });

    /// <summary>Deletes a rule that has no targets: true when deleted or absent, false when targets remain.</summary>
    public bool DeleteRule(string account, string bus, string name) => state.Write(w =>
    {
        if (w.Scan(Targets, RuleKey(account, bus, name) + "/", null, 1).Count > 0) return false;
        w.Delete(Rules, RuleKey(account, bus, name));
        return true;
    });

    public List<TargetRow> TargetsOf(string account, string bus, string rule)
        => state.Read(r => r.Scan(Targets, RuleKey(account, bus, rule) + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, EventsRowsJson.Default.TargetRow)!).ToList();

    /// <summary>Puts targets on a rule, replacing those with the same ids, as long as the rule
    /// keeps at most <paramref name="limit"/>; false (nothing written) when it would not.</summary>
    public bool PutTargets(string account, string bus, string rule, IReadOnlyList<TargetRow> targets, int limit) => state.Write(w =>
    {
        var prefix = RuleKey(account, bus, rule) + "/";
        var ids = w.Scan(Targets, prefix, null, int.MaxValue).Select(kv => kv.Key[prefix.Length..]).ToHashSet();
        if (ids.Union(targets.Select(t => t.Id)).Count() > limit) return false;
        foreach (var t in targets) w.Put(Targets, prefix + t.Id, JsonSerializer.Serialize(t, EventsRowsJson.Default.TargetRow));
        return true;
    });

    /// <summary>Removes targets by id; returns the ids that were not there.</summary>
    public List<string> RemoveTargets(string account, string bus, string rule, IEnumerable<string> ids) => state.Write(w =>
    {
        var prefix = RuleKey(account, bus, rule) + "/";
        return ids.Where(id => !w.Delete(Targets, prefix + id)).ToList();
    });

    // ---- deliveries ----

    static string DeliveryKey(EventDeliveryRow d) => $"{d.DueAt.ToUnixTimeMilliseconds():D15}/{d.Id}";

    /// <summary>Queues deliveries in one transaction: all of an event's targets, or none.</summary>
    public void QueueDeliveries(IReadOnlyCollection<EventDeliveryRow> deliveries)
    {
        if (deliveries.Count == 0) return;
        state.Write(w =>
        {
            foreach (var d in deliveries) w.Put(Deliveries, DeliveryKey(d), JsonSerializer.Serialize(d, EventsRowsJson.Default.EventDeliveryRow));
            return 0;
        });
    }

    /// <summary>The next <paramref name="limit"/> deliveries by due time (due or not).</summary>
    public List<EventDeliveryRow> NextDeliveries(int limit)
        => state.Read(r => r.Scan(Deliveries, "", null, limit)).Select(kv => JsonSerializer.Deserialize(kv.Value, EventsRowsJson.Default.EventDeliveryRow)!).ToList();

    /// <summary>Replaces a delivery by its next attempt (or removes it when <paramref name="next"/> is null).</summary>
    public void Reschedule(EventDeliveryRow current, EventDeliveryRow? next) => state.Write(w =>
    {
        w.Delete(Deliveries, DeliveryKey(current));
        if (next is not null) w.Put(Deliveries, DeliveryKey(next), JsonSerializer.Serialize(next, EventsRowsJson.Default.EventDeliveryRow));
        return 0;
    });

    // ---- schedules ----

    /// <summary>When a scheduled rule last fired (the schedule time it fired for), if ever.</summary>
    public DateTimeOffset? LastFired(string ruleArn)
        => state.Read(r => r.Get(Fired, ruleArn)) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, System.Globalization.CultureInfo.InvariantCulture)) : null;

    public void SetLastFired(string ruleArn, DateTimeOffset at)
        => state.Write(w => { w.Put(Fired, ruleArn, at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)); return 0; });
}
