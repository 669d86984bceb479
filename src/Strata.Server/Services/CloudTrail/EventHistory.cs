using System.Text.Json.Nodes;
using System.Threading.Channels;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// Writes management events into the event history (<see cref="EventHistoryStore"/>) off the
/// request path: the audit stage queues, this loop writes in batches. A batch that cannot be
/// written is kept and tried again every second, and until it goes in the server says so in its
/// log (as an error, every time) and in <c>/_strata/health</c>; records are dropped only when the
/// queue is full, and those are counted and logged too. Events older than 90 days, and the
/// oldest beyond <see cref="MaxEvents"/>, are trimmed every hour of the injected clock.
/// </summary>
public sealed class EventHistory(EventHistoryStore store, TimeProvider clock, ILogger<EventHistory> log) : BackgroundService
{
    public const long MaxEvents = 5_000_000;
    const int Capacity = 100_000, MaxBatch = 1_000;

    readonly Channel<AuditRecord> _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    long _dropped;
    volatile string? _failing;
    DateTimeOffset _trimmed = DateTimeOffset.MinValue;

    /// <summary>Queues a management event (data events are not event history).</summary>
    public void Add(AuditRecord record)
    {
        if (!record.ManagementEvent) return;
        if (!_queue.Writer.TryWrite(record) && Interlocked.Increment(ref _dropped) % 1000 == 1)
            log.LogError("CloudTrail event history cannot keep up: {Dropped} events dropped so far", Interlocked.Read(ref _dropped));
    }

    /// <summary>The audit store's state for /_strata/health.</summary>
    public JsonObject Health => new()
    {
        ["status"] = _failing is null ? "ok" : "failing",
        ["error"] = _failing,
        ["queued"] = _queue.Reader.Count,
        ["dropped"] = Interlocked.Read(ref _dropped),
    };

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        var batch = new List<AuditRecord>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping))
                await DrainAsync(batch, stopping);
        }
        catch (OperationCanceledException) { }
        // Stopping: what is queued still goes in (one try).
        while (_queue.Reader.TryRead(out var r)) batch.Add(r);
        if (batch.Count > 0) TryWrite(batch);
    }

    async Task DrainAsync(List<AuditRecord> batch, CancellationToken stopping)
    {
        while (true)
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var r)) batch.Add(r);
            if (batch.Count == 0) return;
            while (!TryWrite(batch)) await Task.Delay(TimeSpan.FromSeconds(1), clock, stopping);
            batch.Clear();
            var now = clock.GetUtcNow();
            if (now - _trimmed >= TimeSpan.FromHours(1))
            {
                _trimmed = now;
                try { store.Trim(now - EventHistoryStore.Retention, MaxEvents); }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException) { log.LogWarning(e, "Trimming CloudTrail event history failed"); }
            }
        }
    }

    bool TryWrite(List<AuditRecord> batch)
    {
        try
        {
            store.Append(batch);
            if (_failing is not null) log.LogWarning("CloudTrail event history is written again");
            _failing = null;
            return true;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or ObjectDisposedException)
        {
            _failing = e.Message;
            log.LogError("CloudTrail event history cannot be written ({Count} events waiting, kept and retried): {Error}", batch.Count, e.Message);
            return false;
        }
    }
}
