using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Schedules;

namespace Strata.Server.Jobs.Monitoring;

/// <summary>A monitoring schedule as the scheduler sees it: its expression (a cron expression, or
/// NOW: once, when it is made), when it was made, and the latest tick it started.</summary>
public sealed record ScheduledMonitor(string Account, string Name, string ScheduleExpression, DateTimeOffset CreationTime, DateTimeOffset? LastScheduledTime);

/// <summary>The schedules a scheduler runs and how it starts one's execution (SageMaker's side).</summary>
public interface IMonitoringSchedules
{
    /// <summary>The schedules that are Scheduled (not Stopped or Failed).</summary>
    IEnumerable<ScheduledMonitor> Scheduled();

    /// <summary>Starts the execution of a schedule's tick; a tick already started is not started again.</summary>
    void StartExecution(string account, string name, DateTimeOffset scheduledTime);
}

/// <summary>
/// Starts Model Monitor's executions on the injected clock, as <see cref="ScheduleExpression"/>
/// says: one per due tick of each schedule (the latest tick when several were missed, as while the
/// server was down), and the one of a NOW schedule at once. Woken when a schedule changes.
/// </summary>
public sealed class MonitoringScheduler(IMonitoringSchedules schedules, TimeProvider clock, ILogger<MonitoringScheduler> log) : BackgroundService
{
    readonly WakeSignal _wake = new();

    /// <summary>A schedule changed: recompute the next times now.</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var woken = _wake.Arm();
            TimeSpan wait;
            try { wait = StartDue(); }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                log.LogError(e, "Starting monitoring executions failed");
                wait = TimeSpan.FromSeconds(1);
            }
            await WakeSignal.SleepAsync(woken, wait, clock, stopping);
        }
    }

    /// <summary>The tick a schedule is due at next, after its latest one (null: none).</summary>
    public static DateTimeOffset? NextTick(ScheduledMonitor schedule, DateTimeOffset now)
    {
        if (schedule.ScheduleExpression == "NOW") return schedule.LastScheduledTime is null ? schedule.CreationTime : null;
        ScheduleExpression expression;
        try { expression = ScheduleExpression.Parse(schedule.ScheduleExpression); }
        catch (ScheduleExpressionException) { return null; }
        var last = schedule.LastScheduledTime is { } l && l > schedule.CreationTime ? l : schedule.CreationTime;
        var due = expression.NextAfter(last, schedule.CreationTime);
        // The latest tick due, not each one missed.
        while (due is { } d && d <= now && expression.NextAfter(d, schedule.CreationTime) is { } later && later <= now) due = later;
        return due;
    }

    /// <summary>How long after its tick an execution starts: the data captured just before the tick
    /// is still in the capture writer's buffer at the tick (it flushes every minute), so the job waits
    /// two flush periods, as SageMaker's start some minutes after the hour. ScheduledTime stays the tick.</summary>
    public TimeSpan StartDelay { get; init; } = TimeSpan.FromMinutes(2);

    TimeSpan StartDue()
    {
        var now = clock.GetUtcNow();
        DateTimeOffset? earliest = null;
        foreach (var schedule in schedules.Scheduled())
        {
            // A NOW schedule's window ends before it was made: it starts at once.
            var delay = schedule.ScheduleExpression == "NOW" ? TimeSpan.Zero : StartDelay;
            DateTimeOffset? next;
            try
            {
                var due = NextTick(schedule, now - delay);
                if (due is null) continue;
                if (due + delay <= now)
                {
                    schedules.StartExecution(schedule.Account, schedule.Name, due.Value);
                    log.LogDebug("Monitoring schedule {Schedule} started its execution for {At:O}", schedule.Name, due);
                    due = NextTick(schedule with { LastScheduledTime = due }, now - delay);
                    if (due is null || due + delay <= now) continue;
                }
                next = due + delay;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One schedule that cannot start is tried again later; it never holds up the others.
                log.LogError(e, "Monitoring schedule {Schedule} could not start its execution", schedule.Name);
                next = now + TimeSpan.FromMinutes(1);
            }
            if (earliest is null || next < earliest) earliest = next;
        }
        return earliest is { } at ? at - now : Timeout.InfiniteTimeSpan;
    }
}
