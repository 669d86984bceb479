using Strata.Server.Storage;

namespace Strata.Server.Services.S3;

/// <summary>
/// Applies buckets' lifecycle rules once every period of the server's clock (S3 does it about
/// once a day; an action falls due at a midnight UTC, so an hourly pass acts within the hour).
/// Only buckets with a configuration are visited, and in them only the keys under the prefixes
/// their rules name, a page at a time; a page's keys with something due are handled in one
/// transaction that decides again on what it finds (<see cref="S3Store.ApplyLifecycle"/>).
/// </summary>
public sealed class LifecycleWorker(S3Environment env, TimeSpan period, ILogger<LifecycleWorker> log) : PeriodicService(env.Clock, period, log)
{
    const int PageSize = 500;

    protected override string What => "S3 lifecycle";

    protected override Task TickAsync(CancellationToken ct)
    {
        RunOnce(ct);
        return Task.CompletedTask;
    }

    /// <summary>One pass over every bucket with a lifecycle configuration, at the clock's now.</summary>
    public void RunOnce(CancellationToken ct = default)
    {
        foreach (var bucket in env.Store.ListBuckets())
        {
            if (bucket.Lifecycle is not { } lifecycle) continue;
            ct.ThrowIfCancellationRequested();
            try { Apply(bucket, lifecycle.Rules, ct); }
            catch (BucketNotFound) { } // deleted while it was being visited
        }
    }

    void Apply(BucketRecord bucket, List<LifecycleRuleRecord> rules, CancellationToken ct)
    {
        var now = env.Clock.GetUtcNow();
        LifecycleAction? Decide(string key, ObjectRecord? current, List<ObjectRecord> stack) => Lifecycle.Decide(rules, key, current, stack, now);
        foreach (var prefix in Lifecycle.ScanPrefixes(rules))
        {
            string? after = null;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var page = env.Store.ScanKeyVersions(bucket.Name, prefix, after, PageSize);
                var due = page.Where(k => Decide(k.Key, k.Current, k.Stack) is not null).Select(k => k.Key).ToList();
                if (due.Count > 0)
                {
                    foreach (var outcome in env.Store.ApplyLifecycle(bucket.Name, due, Decide, now))
                        env.Put(ObjectEvents.LifecycleExpired(bucket, outcome.Key, outcome.Outcome, outcome.CurrentExpired, now));
                }
                if (page.Count < PageSize) break;
                after = page[^1].Key;
            }
        }
        if (!rules.Any(r => r.Enabled && r.AbortDaysAfterInitiation is not null)) return;
        foreach (var upload in env.Store.ListUploads(bucket.Name))
        {
            if (!Lifecycle.AbortsUpload(rules, upload.Key, upload.Initiated, now)) continue;
            try { env.Store.AbortUpload(bucket.Name, upload.UploadId); }
            catch (UploadNotFound) { } // completed or aborted meanwhile
        }
    }
}
