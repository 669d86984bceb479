using System.Collections.Concurrent;
using System.Globalization;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Trail;
using Strata.Server.Protocol;

namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// The trails' side of the audit: <see cref="Record"/> takes each record the pipeline's audit
/// stage makes, keeps it for every logging trail of the account whose selectors match (in the
/// state store, so a restart loses nothing accepted), and every delivery period puts each trail's
/// records into its bucket as one log file; every digest period, a trail with log file
/// validation gets a signed digest of the files delivered since its last one, chained to it.
/// A delivery that fails (the bucket gone, its policy changed) is reported by GetTrailStatus and
/// tried again the next period with the same records. A trail with a log group also gets each
/// record there, once, as one log event, when its log file is made; a record the group refused
/// (the role changed, the group deleted) is reported and not tried again, as in AWS.
/// </summary>
public sealed class TrailDelivery(TrailsStore store, ITrailBuckets buckets, TrailKeys keys, TimeProvider clock, string region,
    TimeSpan deliveryPeriod, TimeSpan digestPeriod, ILogger<TrailDelivery> log) : BackgroundService, IAuditSink
{
    /// <summary>At most this many records in one log file; more wait for the next one.</summary>
    public const int MaxRecordsPerFile = 10_000;

    /// <summary>Each account's logging trails and their compiled selectors: what the request path
    /// reads, rebuilt from the store whenever a trail changes.</summary>
    volatile Dictionary<string, List<(string Trail, TrailSelectors Selectors)>> _view = [];
    readonly ConcurrentQueue<(string Account, string Trail, string Key, string Json)> _accepted = new();
    readonly WakeSignal _acceptedSignal = new();
    readonly Lock _persisting = new();
    bool _loaded;
    DateTimeOffset _started;

    /// <summary>Where trails with a log group deliver; set by the composition root once the
    /// execution roles it acts through exist (they audit into this very delivery).</summary>
    public ITrailLogGroups? LogGroups { get; set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The periods count from the start, taken here: ExecuteAsync runs later, on the thread
        // pool, and the clock may have moved by then.
        _started = clock.GetUtcNow();
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Rebuilds the view of logging trails; the trails service calls it after each change.</summary>
    public void Refresh()
    {
        var view = new Dictionary<string, List<(string, TrailSelectors)>>(StringComparer.Ordinal);
        foreach (var (account, trail) in store.All())
            if (trail.Status.IsLogging)
            {
                if (!view.TryGetValue(account, out var list)) view[account] = list = [];
                list.Add((trail.Name, TrailSelectors.Of(trail)));
            }
        _view = view;
        _loaded = true;
    }

    public bool WantsDataEvents(string account, string eventSource)
    {
        try
        {
            if (!_loaded) Refresh();
            return _view.TryGetValue(account, out var trails) && trails.Any(t => t.Selectors.WantsDataEvents(eventSource));
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not tell whether a trail wants data events");
            return false;
        }
    }

    long _sequence;

    public void Record(AuditRecord record)
    {
        try
        {
            if (!_loaded) Refresh();
            if (!_view.TryGetValue(record.Account, out var trails)) return;
            // Time, then the order the records came in (events of one millisecond keep their order
            // in the log file), then the id.
            var key = $"{record.EventTime.ToUnixTimeMilliseconds().ToString("D15", CultureInfo.InvariantCulture)}-{Interlocked.Increment(ref _sequence).ToString("D12", CultureInfo.InvariantCulture)}-{record.EventId}";
            var any = false;
            foreach (var (trail, selectors) in trails)
                if (selectors.Matches(record))
                {
                    _accepted.Enqueue((record.Account, trail, key, record.Json));
                    any = true;
                }
            if (any) _acceptedSignal.Set();
        }
        catch (Exception e)
        {
            log.LogWarning(e, "A record for the trails was dropped");
        }
    }

    /// <summary>Writes the records accepted so far into the store, in one transaction.</summary>
    public void Persist()
    {
        lock (_persisting)
        {
            var batch = new List<(string, string, string, string)>();
            while (_accepted.TryDequeue(out var item)) batch.Add(item);
            if (batch.Count > 0) store.AddPending(batch);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Refresh();
        return Task.WhenAll(PersistLoop(stoppingToken), DeliveryLoop(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // What was accepted but not yet written goes in before the store closes.
        try { Persist(); }
        catch (Exception e) { log.LogError(e, "Records accepted for trails could not be kept"); }
    }

    async Task PersistLoop(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var woken = _acceptedSignal.Arm();
                if (_accepted.IsEmpty) await woken.WaitAsync(ct);
                // A moment to gather what other requests are recording, so that a busy server
                // writes many records per transaction of the state store (whose commits are
                // fsynced under its one write lock, shared with every S3 PUT), not one each.
                // Real time on purpose: this batches work, it does not wait for time to pass.
                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, ct);
                Persist();
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e) { log.LogError(e, "Records accepted for trails could not be kept; trying again"); }
        }
    }

    async Task DeliveryLoop(CancellationToken ct)
    {
        var start = _started;
        var nextLog = start + deliveryPeriod;
        var nextDigest = start + digestPeriod;
        while (!ct.IsCancellationRequested)
        {
            var wait = (nextLog < nextDigest ? nextLog : nextDigest) - clock.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, ct);
            }
            catch (OperationCanceledException) { return; }
            var now = clock.GetUtcNow();
            // Log files first: a digest due at the same moment then covers the file just delivered.
            if (now >= nextLog)
            {
                RunSafely(() => DeliverLogFiles(now), "log files");
                nextLog = now + deliveryPeriod;
            }
            if (now >= nextDigest)
            {
                RunSafely(() => DeliverDigests(now), "digests");
                nextDigest = now + digestPeriod;
            }
        }
    }

    void RunSafely(Action deliver, string what)
    {
        try { deliver(); }
        catch (Exception e) { log.LogError(e, "Trail {What} could not be delivered; trying again next period", what); }
    }

    /// <summary>One log file per trail with records waiting, delivered at <paramref name="now"/>.</summary>
    public void DeliverLogFiles(DateTimeOffset now)
    {
        Persist();
        foreach (var (account, trail) in store.All())
        {
            var pending = store.PendingOf(account, trail.Name, MaxRecordsPerFile);
            if (pending.Count == 0) continue;
            var destination = new TrailDestination(trail.S3BucketName, trail.S3KeyPrefix, account, region);
            var file = TrailLogFile.Build(destination, now, pending.Select(p => p.Value).ToList());
            var logs = DeliverToLogGroup(trail, account, pending, now);
            var error = Put(trail, account, file.Key, file.GzipBytes, new Dictionary<string, string>());
            if (error is null)
            {
                var entry = file.DigestEntry;
                var delivered = pending.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
                store.Delivered(account, trail.Name, delivered, t => t with
                {
                    Status = logs(t.Status) with
                    {
                        CloudWatchLogsDelivered = [.. logs(t.Status).CloudWatchLogsDelivered.Where(k => !delivered.Contains(k))],
                        LatestDeliveryTime = now,
                        LatestDeliveryAttemptTime = now,
                        LatestDeliveryAttemptSucceeded = true,
                        LatestDeliveryError = null,
                        DigestLogFiles = t.LogFileValidationEnabled
                            ? [.. t.Status.DigestLogFiles, new DigestLogFileRow(entry.S3Bucket, entry.S3Object, entry.HashValue, entry.NewestEventTime, entry.OldestEventTime)]
                            : [],
                    },
                });
            }
            else
            {
                log.LogWarning("Trail {Trail} of {Account}: log file not delivered to {Bucket}: {Error}", trail.Name, account, trail.S3BucketName, error);
                store.Update(account, trail.Name, t => t with
                {
                    Status = logs(t.Status) with { LatestDeliveryAttemptTime = now, LatestDeliveryAttemptSucceeded = false, LatestDeliveryError = error },
                });
            }
        }
    }

    /// <summary>Puts the waiting records the trail's log group has not had yet into it, one log
    /// event each (timestamped with the event's time); returns the change to the trail's status.</summary>
    Func<TrailStatusRow, TrailStatusRow> DeliverToLogGroup(TrailRow trail, string account, IReadOnlyList<KeyValuePair<string, string>> pending, DateTimeOffset now)
    {
        if (trail.CloudWatchLogsLogGroupArn is not { } group || trail.CloudWatchLogsRoleArn is not { } role || LogGroups is not { } logGroups) return s => s;
        var done = trail.Status.CloudWatchLogsDelivered.ToHashSet(StringComparer.Ordinal);
        var fresh = pending.Where(p => !done.Contains(p.Key)).ToList();
        if (fresh.Count == 0) return s => s;
        var events = fresh.Select(p => (EventTime(p.Key), p.Value)).ToList();
        string? error;
        try { error = logGroups.Put(account, group, role, events); }
        catch (Exception e)
        {
            log.LogWarning(e, "Trail {Trail}: delivering to {LogGroup} failed", trail.Name, group);
            error = "InternalError";
        }
        if (error is not null) log.LogWarning("Trail {Trail} of {Account}: records not delivered to {LogGroup}: {Error}", trail.Name, account, group, error);
        // Refused records are tried again with the next file (while they wait for S3).
        return s => s with
        {
            CloudWatchLogsDelivered = error is null ? [.. s.CloudWatchLogsDelivered, .. fresh.Select(p => p.Key)] : s.CloudWatchLogsDelivered,
            LatestCloudWatchLogsDeliveryTime = error is null ? now : s.LatestCloudWatchLogsDeliveryTime,
            LatestCloudWatchLogsDeliveryError = error,
        };
    }

    /// <summary>The event time (ms) a waiting record's key begins with, after its trail's prefix.</summary>
    static long EventTime(string key)
    {
        var time = key[(key.LastIndexOf('/') + 1)..];
        return long.Parse(time.AsSpan(0, time.IndexOf('-')), CultureInfo.InvariantCulture);
    }

    /// <summary>A digest for each logging trail with log file validation, ending at <paramref name="now"/>
    /// (whole seconds), of the files delivered since its last digest; the first after logging
    /// starts has no previous digest.</summary>
    public void DeliverDigests(DateTimeOffset now)
    {
        var end = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        foreach (var (account, trail) in store.All())
        {
            var status = trail.Status;
            if (!trail.LogFileValidationEnabled || status.DigestStartTime is not { } start || (!status.IsLogging && status.DigestLogFiles.Count == 0)) continue;
            if (end <= start) continue;
            var destination = new TrailDestination(trail.S3BucketName, trail.S3KeyPrefix, account, region);
            var files = status.DigestLogFiles.Select(f => new TrailDigestLogFile(f.S3Bucket, f.S3Object, f.HashValue, f.NewestEventTime, f.OldestEventTime)).ToList();
            var previous = status.LastDigest is { } l ? new TrailDigestLink(l.S3Bucket, l.S3Object, l.HashValue, l.Signature) : null;
            var digest = TrailDigest.Build(destination, trail.Name, trail.HomeRegion, start, end, files, previous, keys.Current(region));
            var error = Put(trail, account, digest.Key, digest.GzipBytes, digest.Metadata);
            var delivered = files.Select(f => f.S3Object).ToHashSet(StringComparer.Ordinal);
            store.Update(account, trail.Name, t => t with
            {
                Status = error is null
                    ? t.Status with
                    {
                        LatestDigestDeliveryTime = now,
                        LatestDigestDeliveryError = null,
                        DigestStartTime = end,
                        DigestLogFiles = t.Status.DigestLogFiles.Where(f => !delivered.Contains(f.S3Object)).ToList(),
                        LastDigest = new DigestLinkRow(digest.Link.S3Bucket, digest.Link.S3Object, digest.Link.HashValue, digest.Link.Signature),
                    }
                    : t.Status with { LatestDigestDeliveryError = error },
            });
        }
    }

    string? Put(TrailRow trail, string account, string key, byte[] body, IReadOnlyDictionary<string, string> metadata)
    {
        try { return buckets.Put(trail.S3BucketName, key, body, "application/x-gzip", metadata, trail.KmsKeyId, trail.TrailARN, account); }
        catch (Exception e)
        {
            log.LogWarning(e, "Trail {Trail}: putting {Key} failed", trail.Name, key);
            return "InternalError";
        }
    }
}
