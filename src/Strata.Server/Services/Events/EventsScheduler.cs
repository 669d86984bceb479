using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Schedules;

namespace Strata.Server.Services.Events;

/// <summary>
/// Fires the enabled scheduled rules on the injected clock: at each time of its schedule
/// expression a rule sends AWS's "Scheduled Event" (source <c>aws.events</c>, the rule's ARN as
/// its resource, an empty detail) to its own targets. The time each rule last fired is kept, so a
/// restart neither repeats a firing nor loses the next one; times missed while the server was
/// down are not made up one by one: the rule fires once for the latest of them, as a rule that
/// was disabled and enabled again does not replay its past either.
/// </summary>
public sealed class EventsScheduler(EventsService events, EventsStore store, TimeProvider clock, string region, ILogger<EventsScheduler> log) : BackgroundService
{
    readonly WakeSignal _wake = new();

    /// <summary>A rule changed: recompute the next times now.</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var woken = _wake.Arm();
            TimeSpan wait;
            try { wait = FireDue(); }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                log.LogError(e, "Firing scheduled rules failed");
                wait = TimeSpan.FromSeconds(1);
            }
            await WakeSignal.SleepAsync(woken, wait, clock, stopping);
        }
    }

    /// <summary>Fires every rule that is due and returns how long until the next one is.</summary>
    TimeSpan FireDue()
    {
        var now = clock.GetUtcNow();
        DateTimeOffset? earliest = null;
        foreach (var (account, rule) in store.AllRules())
        {
            if (rule.State != "ENABLED" || rule.ScheduleExpression is null) continue;
            ScheduleExpression schedule;
            try { schedule = ScheduleExpression.Parse(rule.ScheduleExpression); }
            catch (ScheduleExpressionException) { continue; }
            var created = DateTimeOffset.FromUnixTimeMilliseconds(rule.CreationTime);
            var last = store.LastFired(rule.Arn) is { } fired && fired > created ? fired : created;
            var due = schedule.NextAfter(last, created);
            if (due is null) continue;
            if (due <= now)
            {
                // The latest time due, not each one missed.
                while (schedule.NextAfter(due.Value, created) is { } later && later <= now) due = later;
                Fire(account, rule, due.Value, now);
                due = schedule.NextAfter(due.Value, created);
                if (due is null) continue;
            }
            if (earliest is null || due < earliest) earliest = due;
        }
        return earliest is { } next ? next - now : Timeout.InfiniteTimeSpan;
    }

    void Fire(string account, RuleRow rule, DateTimeOffset at, DateTimeOffset now)
    {
        var json = EventsService.EventJson(Guid.NewGuid().ToString(), "Scheduled Event", "aws.events", account, at, region, [rule.Arn], "{}");
        events.Queue(events.DeliveriesFor(account, rule, json, now, hops: 0));
        store.SetLastFired(rule.Arn, at);
        log.LogDebug("Scheduled rule {Rule} fired for {At:O}", rule.Arn, at);
    }
}
