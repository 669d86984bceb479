using System.Collections.Concurrent;

namespace Strata.Server.Jobs.Delivery;

/// <summary>
/// The loop behind a durable delivery queue (SNS's deliveries, and EventBridge's next): on the
/// injected clock it reads the earliest rows, starts an attempt for each one that is due on its
/// own task (so one slow or failing destination never holds up another, nor whoever queued it),
/// and sleeps until the next row is due or <see cref="Wake"/> says something new was queued. An
/// attempt removes or reschedules its row itself, durably, before it is counted as finished, so
/// a scan never starts a row twice, and what was pending at shutdown is attempted after a restart.
/// </summary>
public abstract class DeliveryLoop<T>(TimeProvider clock, ILogger log) : BackgroundService
{
    protected TimeProvider Clock { get; } = clock;
    protected ILogger Log { get; } = log;

    /// <summary>At most this many attempts run at once.</summary>
    protected virtual int MaxInFlight => 64;

    /// <summary>What the log calls these deliveries.</summary>
    protected abstract string What { get; }

    /// <summary>The earliest queued rows, earliest first, at most <paramref name="limit"/>.</summary>
    protected abstract IReadOnlyList<T> Next(int limit);

    protected abstract string IdOf(T row);

    protected abstract DateTimeOffset DueOf(T row);

    /// <summary>One attempt: delivers the row and then removes or reschedules it in the store.</summary>
    protected abstract Task AttemptAsync(T row, CancellationToken stopping);

    readonly WakeSignal _wake = new();
    readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<string> _done = new();

    /// <summary>Something new was queued: look now rather than at the next due time.</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var woken = _wake.Arm();
            var wait = Timeout.InfiniteTimeSpan;
            // Finished attempts leave the in-flight set here, before the scan, never by themselves:
            // their rows were removed or rescheduled before they said they were done (and woke
            // this loop), so a scan that still sees an old row sees it in flight and leaves it.
            while (_done.TryDequeue(out var finished)) _inFlight.TryRemove(finished, out _);
            try
            {
                var now = Clock.GetUtcNow();
                foreach (var row in Next(MaxInFlight * 4))
                {
                    if (DueOf(row) > now)
                    {
                        wait = DueOf(row) - now;
                        break;
                    }
                    var id = IdOf(row);
                    if (_inFlight.ContainsKey(id)) continue;
                    if (_inFlight.Count >= MaxInFlight) break;
                    _inFlight[id] = Task.Run(() => RunAsync(row, id, stopping), CancellationToken.None);
                }
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                Log.LogError(e, "Reading {What} failed", What);
                wait = TimeSpan.FromSeconds(1);
            }
            await WakeSignal.SleepAsync(woken, wait, Clock, stopping);
        }
        // What is in flight at shutdown stays queued: a row is removed only after success.
        await Task.WhenAll(_inFlight.Values).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    async Task RunAsync(T row, string id, CancellationToken stopping)
    {
        try { await AttemptAsync(row, stopping); }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            Log.LogError(e, "{What}: attempt {Id} failed unexpectedly", What, id);
        }
        finally
        {
            _done.Enqueue(id);
            Wake();
        }
    }
}
