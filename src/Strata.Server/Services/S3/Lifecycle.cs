namespace Strata.Server.Services.S3;

/// <summary>
/// What a bucket's lifecycle rules do to a key's versions and to uploads, decided from the
/// records and the time alone (no I/O), so the worker, the store's re-check inside its
/// transaction and the <c>x-amz-expiration</c> header all decide the same way.
/// <para>As in S3, an action falls due at midnight UTC: a period of days counts from the object's
/// creation (or from when a version became noncurrent: when the next one was written, or an
/// upload's initiation), and the end is rounded up to the next midnight. Only enabled rules act.</para>
/// </summary>
public static class Lifecycle
{
    /// <summary>The midnight UTC at or after <paramref name="start"/> plus <paramref name="days"/>.</summary>
    public static DateTimeOffset DueAfter(DateTimeOffset start, int days)
    {
        var end = start.ToUniversalTime().AddDays(days);
        var remainder = end.UtcTicks % TimeSpan.TicksPerDay;
        return remainder == 0 ? end : end.AddTicks(TimeSpan.TicksPerDay - remainder);
    }

    /// <summary>Whether <paramref name="rule"/> applies to a version at <paramref name="key"/>
    /// with these tags and size: the key starts with the prefix, every tag of the filter is on the
    /// object with the same value, and the size is strictly within the bounds given.</summary>
    public static bool Matches(LifecycleRuleRecord rule, string key, IReadOnlyList<ObjectTag> tags, long size)
    {
        if (!key.StartsWith(rule.KeyPrefix, StringComparison.Ordinal)) return false;
        if (rule.Filter is not { } filter) return true;
        if (filter.ObjectSizeGreaterThan is { } greater && size <= greater) return false;
        if (filter.ObjectSizeLessThan is { } less && size >= less) return false;
        return filter.Tags.All(t => tags.Any(o => o.Key == t.Key && o.Value == t.Value));
    }

    /// <summary>When the current object <paramref name="current"/> expires, and by which rule: the
    /// earliest of the enabled rules with Days or Date that apply to it; null when none does.</summary>
    public static (DateTimeOffset At, string RuleId)? CurrentExpiration(IEnumerable<LifecycleRuleRecord> rules, ObjectRecord current)
    {
        (DateTimeOffset At, string RuleId)? earliest = null;
        foreach (var rule in rules)
        {
            if (!rule.Enabled || !Matches(rule, current.Key, current.Tags, current.Size)) continue;
            var at = rule.ExpirationDays is { } days ? DueAfter(current.LastModified, days) : rule.ExpirationDate;
            if (at is { } due && (earliest is null || due < earliest.Value.At)) earliest = (due, rule.Id);
        }
        return earliest;
    }

    /// <summary>What falls due at <paramref name="now"/> for one key: whether its current object
    /// expires (in a versioned bucket: a delete marker takes its place), and which of its other
    /// versions go for good (noncurrent versions past their rules' NoncurrentDays beyond the
    /// NewerNoncurrentVersions kept, and an expired object delete marker: a latest version that
    /// is a delete marker with nothing below it); never a version Object Lock protects. <paramref name="stack"/> is the key's versions
    /// other than the current object, newest first (S3Store's order). Null: nothing to do.</summary>
    public static LifecycleAction? Decide(IReadOnlyList<LifecycleRuleRecord> rules, string key, ObjectRecord? current, IReadOnlyList<ObjectRecord> stack, DateTimeOffset now)
    {
        var expireCurrent = current is not null && CurrentExpiration(rules, current) is { } expiry && expiry.At <= now;
        var remove = new HashSet<string>(StringComparer.Ordinal);

        // A version became noncurrent when the one above it was written. Without a current object
        // the newest version is the latest (a delete marker), not a noncurrent one.
        var first = current is null ? 1 : 0;
        foreach (var rule in rules)
        {
            if (!rule.Enabled || rule.NoncurrentDays is not { } days) continue;
            var kept = 0;
            for (var i = first; i < stack.Count; i++)
            {
                var version = stack[i];
                if (!Matches(rule, key, version.Tags, version.Size)) continue;
                if (kept < (rule.NewerNoncurrentVersions ?? 0))
                {
                    kept++;
                    continue;
                }
                var since = i == 0 ? current!.LastModified : stack[i - 1].LastModified;
                // A locked version outlives its rule, as in S3.
                if (DueAfter(since, days) <= now && !ObjectLock.IsProtected(version, now)) remove.Add(version.WireVersionId);
            }
        }

        // An expired object delete marker: once nothing is left below it, it hides nothing.
        if (current is null && stack is [{ IsDeleteMarker: true } marker, ..] && stack.Skip(1).All(v => remove.Contains(v.WireVersionId))
            && rules.Any(r => r.Enabled && Matches(r, key, [], 0)
                && (r.ExpiredObjectDeleteMarker == true || r.ExpirationDays is { } d && DueAfter(marker.LastModified, d) <= now)))
            remove.Add(marker.WireVersionId);

        if (!expireCurrent && remove.Count == 0) return null;
        // Oldest first: the latest version (a marker hiding the key) goes last, so no version
        // below it is ever brought back on the way.
        return new LifecycleAction(expireCurrent, stack.Reverse().Select(v => v.WireVersionId).Where(remove.Contains).ToList());
    }

    /// <summary>Whether an upload initiated at <paramref name="initiated"/> for <paramref name="key"/>
    /// is aborted at <paramref name="now"/>.</summary>
    public static bool AbortsUpload(IEnumerable<LifecycleRuleRecord> rules, string key, DateTimeOffset initiated, DateTimeOffset now)
        => rules.Any(r => r.Enabled && r.AbortDaysAfterInitiation is { } days && key.StartsWith(r.KeyPrefix, StringComparison.Ordinal)
            && DueAfter(initiated, days) <= now);

    /// <summary>The key prefixes to scan for a bucket's enabled rules: none when no rule acts on
    /// objects; one prefix covers those it is a prefix of.</summary>
    public static List<string> ScanPrefixes(IEnumerable<LifecycleRuleRecord> rules)
    {
        var prefixes = rules.Where(r => r.Enabled && (r.ExpirationDays is not null || r.ExpirationDate is not null || r.ExpiredObjectDeleteMarker == true || r.NoncurrentDays is not null))
            .Select(r => r.KeyPrefix).Distinct(StringComparer.Ordinal).OrderBy(p => p, StringComparer.Ordinal).ToList();
        var result = new List<string>();
        foreach (var prefix in prefixes)
        {
            // Sorted ordinally, a prefix comes right after any shorter prefix of it.
            if (result.Count == 0 || !prefix.StartsWith(result[^1], StringComparison.Ordinal)) result.Add(prefix);
        }
        return result;
    }

    /// <summary><c>x-amz-expiration</c>'s value: the date and the rule (URL-encoded).</summary>
    public static string ExpirationHeader(DateTimeOffset at, string ruleId)
        => $"expiry-date=\"{Protocol.Xml.HttpDate(at)}\", rule-id=\"{Uri.EscapeDataString(ruleId)}\"";
}

/// <summary>What lifecycle does to one key: expire its current object, and remove these
/// versions (by their wire version id) for good.</summary>
public sealed record LifecycleAction(bool ExpireCurrent, IReadOnlyList<string> RemoveVersionIds);
