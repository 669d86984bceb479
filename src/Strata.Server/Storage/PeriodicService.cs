namespace Strata.Server.Storage;

/// <summary>
/// A background loop that does its work once every period of the injected clock (metrics flushes,
/// log retention, alarm evaluation), so a fake clock drives it in tests. The timer is made with the
/// service, not when ExecuteAsync gets to run on another thread: the first period counts from
/// construction, so a clock moved right after start is never missed. A failed tick is logged and
/// the loop goes on.
/// </summary>
public abstract class PeriodicService(TimeProvider clock, TimeSpan period, ILogger log) : BackgroundService
{
    readonly PeriodicTimer _timer = new(period, clock);

    protected TimeProvider Clock { get; } = clock;

    protected ILogger Log { get; } = log;

    /// <summary>What the loop does, for the log line of a failed tick.</summary>
    protected abstract string What { get; }

    protected abstract Task TickAsync(CancellationToken ct);

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(stoppingToken))
            {
                // Off the timer's thread: a tick runs on the pool, and ticks that fall due while
                // one runs count once (PeriodicTimer keeps one pending tick). Run inline, a clock
                // moved a month ahead at once would run a 10-second loop 259 200 times.
                await Task.Yield();
                try { await TickAsync(stoppingToken); }
                catch (Exception e) when (e is not OperationCanceledException) { Log.LogError(e, "{What} failed", What); }
            }
        }
        catch (OperationCanceledException) { }
    }
}
