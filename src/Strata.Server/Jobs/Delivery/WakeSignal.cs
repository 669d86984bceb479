namespace Strata.Server.Jobs.Delivery;

/// <summary>
/// How a loop that sleeps until its next due time is told that something new came in. The loop
/// arms the signal before it looks at what there is to do, then sleeps on the armed task: a
/// <see cref="Set"/> after the arming always wakes it, and one before the arming happened before
/// the look, which saw its effect. (A semaphore released for the same purpose can hand its count
/// to a waiter of an earlier round whose cancellation has not been processed yet, and the wake is
/// lost.)
/// </summary>
public sealed class WakeSignal
{
    TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Arms the signal: the returned task completes at the next <see cref="Set"/>.</summary>
    public Task Arm()
    {
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _next, next);
        return next.Task;
    }

    public void Set() => Volatile.Read(ref _next).TrySetResult();

    /// <summary>Sleeps until <paramref name="armed"/> completes, <paramref name="wait"/> passes on
    /// <paramref name="clock"/> (never, for <see cref="Timeout.InfiniteTimeSpan"/>) or the loop stops.</summary>
    public static async Task SleepAsync(Task armed, TimeSpan wait, TimeProvider clock, CancellationToken stopping)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        try
        {
            var delay = wait == Timeout.InfiniteTimeSpan ? Task.Delay(Timeout.Infinite, timer.Token) : Task.Delay(wait, clock, timer.Token);
            await Task.WhenAny(armed, delay);
        }
        finally
        {
            await timer.CancelAsync();
        }
    }
}
