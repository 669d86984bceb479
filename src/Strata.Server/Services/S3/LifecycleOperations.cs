using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// A bucket's lifecycle configuration (Put/Get/DeleteBucketLifecycleConfiguration), validated as
/// S3 validates it. <see cref="LifecycleWorker"/> applies it; <see cref="Lifecycle"/> decides what
/// a rule does to an object.
/// </summary>
internal sealed class LifecycleOperations(S3Environment env)
{
    const int MaxRules = 1000;
    const int MaxIdLength = 255;
    const string DefaultMinimumObjectSize = "all_storage_classes_128K";

    public async Task PutBucketLifecycleConfiguration(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var minimumSize = ctx.Header("x-amz-transition-default-minimum-object-size") ?? DefaultMinimumObjectSize;
        if (!S3Enums.TransitionDefaultMinimumObjectSize.Contains(minimumSize))
            throw S3Errors.InvalidRequest("Invalid TransitionDefaultMinimumObjectSize found: " + minimumSize);
        var configuration = await S3Http.ReadXmlAsync(ctx, "LifecycleConfiguration", S3XmlReader.ReadBucketLifecycleConfiguration);
        var rules = Validate(configuration);
        env.Store.UpdateBucket(bucket.Name, b => b with { Lifecycle = new BucketLifecycle(rules, minimumSize) });
        ctx.Response.Headers["x-amz-transition-default-minimum-object-size"] = minimumSize;
        S3Http.Empty(ctx);
    }

    public Task GetBucketLifecycleConfiguration(RequestContext ctx)
    {
        var lifecycle = env.RequireBucket(ctx).Lifecycle ?? throw NoSuchLifecycleConfiguration(ctx.Bucket!);
        ctx.Response.Headers["x-amz-transition-default-minimum-object-size"] = lifecycle.TransitionDefaultMinimumObjectSize;
        return S3Http.WriteXmlAsync(ctx, new GetBucketLifecycleConfigurationOutput { Rules = lifecycle.Rules.Select(ToWire).ToList() });
    }

    public Task DeleteBucketLifecycle(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { Lifecycle = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    static AwsException NoSuchLifecycleConfiguration(string bucket)
        => new AwsException("NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist").With("BucketName", bucket);

    /// <summary>S3's checks on a configuration, in the order S3 makes them: the document's shape
    /// (MalformedXML), then each rule's values (InvalidArgument) and combinations (InvalidRequest).
    /// A rule without an ID gets one, as in S3.</summary>
    internal static List<LifecycleRuleRecord> Validate(BucketLifecycleConfiguration configuration)
    {
        var rules = configuration.Rules;
        if (rules is null || rules.Count == 0 || rules.Count > MaxRules) throw S3Errors.MalformedXml();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<LifecycleRuleRecord>(rules.Count);
        foreach (var rule in rules)
        {
            var record = ValidateRule(rule);
            if (!ids.Add(record.Id)) throw S3Errors.InvalidArgument("Rule ID must be unique. Found same ID for more than one rule", "ID", record.Id);
            result.Add(record);
        }
        return result;
    }

    static LifecycleRuleRecord ValidateRule(LifecycleRule rule)
    {
        if (rule.Status is not ("Enabled" or "Disabled")) throw S3Errors.MalformedXml();
        // Exactly one way of naming the objects: the first version's Prefix, or a Filter.
        if ((rule.Filter is null) == (rule.Prefix is null)) throw S3Errors.MalformedXml();
        var filter = rule.Filter is { } f ? ValidateFilter(f) : null;
        var id = string.IsNullOrEmpty(rule.ID) ? NewRuleId() : rule.ID;
        if (id.Length > MaxIdLength) throw S3Errors.InvalidArgument($"ID length should not exceed allowed limit of {MaxIdLength}", "ID", id);
        if (rule.Expiration is null && rule.NoncurrentVersionExpiration is null && rule.AbortIncompleteMultipartUpload is null
            && rule.Transitions is not { Count: > 0 } && rule.NoncurrentVersionTransitions is not { Count: > 0 })
            throw S3Errors.InvalidRequest("At least one action needs to be specified in a rule");

        var record = new LifecycleRuleRecord { Id = id, Enabled = rule.Status == "Enabled", LegacyPrefix = rule.Prefix, Filter = filter };
        var tags = filter is { Tags.Count: > 0 };
        var sizes = filter is { ObjectSizeGreaterThan: not null } or { ObjectSizeLessThan: not null };
        if (rule.Expiration is { } expiration)
        {
            if (expiration.Days is not null && expiration.Date is not null) throw S3Errors.MalformedXml();
            if (expiration.ExpiredObjectDeleteMarker is not null && (expiration.Days is not null || expiration.Date is not null)) throw S3Errors.MalformedXml();
            if (expiration.Days is null && expiration.Date is null && expiration.ExpiredObjectDeleteMarker is null) throw S3Errors.MalformedXml();
            if (expiration.Days is <= 0) throw S3Errors.InvalidArgument("'Days' for Expiration action must be a positive integer", "Days", Text(expiration.Days));
            if (expiration.Date is { } date) RequireMidnight(date);
            if (expiration.ExpiredObjectDeleteMarker is not null)
            {
                // A delete marker has neither tags nor a size to filter on.
                if (tags) throw S3Errors.InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.");
                if (sizes) throw S3Errors.InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Object Size.");
            }
            record = record with { ExpirationDays = expiration.Days, ExpirationDate = expiration.Date?.ToUniversalTime(), ExpiredObjectDeleteMarker = expiration.ExpiredObjectDeleteMarker };
        }
        if (rule.NoncurrentVersionExpiration is { } noncurrent)
        {
            if (noncurrent.NoncurrentDays is not > 0)
                throw S3Errors.InvalidArgument("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer", "NoncurrentDays", Text(noncurrent.NoncurrentDays));
            if (noncurrent.NewerNoncurrentVersions is { } newer)
            {
                if (rule.Prefix is not null) throw S3Errors.InvalidRequest("NewerNoncurrentVersions element can only be used in Lifecycle V2.");
                if (newer is < 1 or > 100)
                    throw S3Errors.InvalidArgument("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be an integer between 1 and 100", "NewerNoncurrentVersions", Text(newer));
            }
            record = record with { NoncurrentDays = noncurrent.NoncurrentDays, NewerNoncurrentVersions = noncurrent.NewerNoncurrentVersions };
        }
        if (rule.AbortIncompleteMultipartUpload is { } abort)
        {
            if (abort.DaysAfterInitiation is not > 0)
                throw S3Errors.InvalidArgument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer", "DaysAfterInitiation", Text(abort.DaysAfterInitiation));
            // An upload has no tags or size yet to filter on.
            if (tags) throw S3Errors.InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.");
            if (sizes) throw S3Errors.InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Object Size.");
            record = record with { AbortDaysAfterInitiation = abort.DaysAfterInitiation };
        }
        if (rule.Transitions is { Count: > 0 } transitions)
            record = record with { Transitions = transitions.Select(t => ValidateTransition(t.Days, t.Date, t.StorageClass, null, "Days", "Transition")).ToList() };
        if (rule.NoncurrentVersionTransitions is { Count: > 0 } noncurrentTransitions)
            record = record with
            {
                NoncurrentVersionTransitions = noncurrentTransitions
                    .Select(t => ValidateTransition(t.NoncurrentDays ?? throw S3Errors.MalformedXml(), null, t.StorageClass, t.NewerNoncurrentVersions, "NoncurrentDays", "NoncurrentVersionTransition")).ToList(),
            };
        return record;
    }

    /// <summary>A filter names at most one condition, or several inside <c>And</c>; an empty one
    /// applies to every object.</summary>
    static LifecycleFilterRecord ValidateFilter(LifecycleRuleFilter filter)
    {
        var given = (filter.Prefix is null ? 0 : 1) + (filter.Tag is null ? 0 : 1) + (filter.ObjectSizeGreaterThan is null ? 0 : 1)
            + (filter.ObjectSizeLessThan is null ? 0 : 1) + (filter.And is null ? 0 : 1);
        if (given > 1) throw S3Errors.MalformedXml();
        if (filter.And is { } and)
        {
            var tags = (and.Tags ?? []).Select(Tag).ToList();
            if (tags.Select(t => t.Key).Distinct(StringComparer.Ordinal).Count() != tags.Count) throw S3Errors.InvalidRequest("Duplicate Tag Keys are not allowed.");
            CheckSizes(and.ObjectSizeGreaterThan, and.ObjectSizeLessThan);
            return new LifecycleFilterRecord(and.Prefix, tags, and.ObjectSizeGreaterThan, and.ObjectSizeLessThan, And: true);
        }
        CheckSizes(filter.ObjectSizeGreaterThan, filter.ObjectSizeLessThan);
        return new LifecycleFilterRecord(filter.Prefix, filter.Tag is { } tag ? [Tag(tag)] : [], filter.ObjectSizeGreaterThan, filter.ObjectSizeLessThan, And: false);
    }

    static ObjectTag Tag(Tag tag)
    {
        var result = new ObjectTag(tag.Key ?? throw S3Errors.MalformedXml(), tag.Value ?? throw S3Errors.MalformedXml());
        S3Http.ValidateTags([result]);
        return result;
    }

    static void CheckSizes(long? greaterThan, long? lessThan)
    {
        if (greaterThan is < 0) throw S3Errors.InvalidArgument("ObjectSizeGreaterThan must be a non-negative integer", "ObjectSizeGreaterThan", Text(greaterThan));
        if (lessThan is <= 0) throw S3Errors.InvalidArgument("ObjectSizeLessThan must be a positive integer", "ObjectSizeLessThan", Text(lessThan));
        if (greaterThan is { } g && lessThan is { } l && g >= l)
            throw S3Errors.InvalidArgument("ObjectSizeGreaterThan must be less than ObjectSizeLessThan", "ObjectSizeGreaterThan", Text(g));
    }

    /// <summary>Transitions are accepted and read back: a storage class is only a label in Strata,
    /// so nothing moves. S3's checks on them still apply (one of Days or Date, a known class, the
    /// 30-day minimum of the infrequent-access classes).</summary>
    static LifecycleTransitionRecord ValidateTransition(int? days, DateTimeOffset? date, string? storageClass, int? newer, string daysName, string action)
    {
        if (storageClass is null || !S3Enums.TransitionStorageClass.Contains(storageClass)) throw S3Errors.MalformedXml();
        if ((days is null) == (date is null)) throw S3Errors.MalformedXml();
        if (days is < 0) throw S3Errors.InvalidArgument($"'{daysName}' for {action} action must be a nonnegative integer", daysName, Text(days));
        if (days is < 30 && storageClass is "STANDARD_IA" or "ONEZONE_IA")
            throw S3Errors.InvalidArgument($"'{daysName}' in {action} action must be greater than or equal to 30 for storageClass '{storageClass}'", daysName, Text(days));
        if (date is { } d) RequireMidnight(d);
        if (newer is < 1 or > 100)
            throw S3Errors.InvalidArgument($"'NewerNoncurrentVersions' for {action} action must be an integer between 1 and 100", "NewerNoncurrentVersions", Text(newer));
        return new LifecycleTransitionRecord(days, date?.ToUniversalTime(), storageClass, newer);
    }

    static void RequireMidnight(DateTimeOffset date)
    {
        if (date.UtcTicks % TimeSpan.TicksPerDay != 0)
            throw S3Errors.InvalidArgument("'Date' must be at midnight GMT", "Date", date.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }

    static string? Text(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The ID S3 gives a rule that has none: 48 characters, unique.</summary>
    static string NewRuleId() => Convert.ToBase64String(Encoding.ASCII.GetBytes(Guid.NewGuid().ToString()));

    /// <summary>A stored rule as S3 reads it back: in the form it was written.</summary>
    internal static LifecycleRule ToWire(LifecycleRuleRecord rule) => new()
    {
        ID = rule.Id,
        Status = rule.Enabled ? "Enabled" : "Disabled",
        Prefix = rule.LegacyPrefix,
        Filter = rule.Filter is not { } f ? null
            : f.And ? new LifecycleRuleFilter
            {
                And = new LifecycleRuleAndOperator
                {
                    Prefix = f.Prefix,
                    Tags = f.Tags.Count == 0 ? null : f.Tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList(),
                    ObjectSizeGreaterThan = f.ObjectSizeGreaterThan,
                    ObjectSizeLessThan = f.ObjectSizeLessThan,
                },
            }
            : new LifecycleRuleFilter
            {
                Prefix = f.Prefix,
                Tag = f.Tags is [var tag] ? new Tag { Key = tag.Key, Value = tag.Value } : null,
                ObjectSizeGreaterThan = f.ObjectSizeGreaterThan,
                ObjectSizeLessThan = f.ObjectSizeLessThan,
            },
        Expiration = rule.ExpirationDays is null && rule.ExpirationDate is null && rule.ExpiredObjectDeleteMarker is null ? null
            : new LifecycleExpiration { Days = rule.ExpirationDays, Date = rule.ExpirationDate, ExpiredObjectDeleteMarker = rule.ExpiredObjectDeleteMarker },
        NoncurrentVersionExpiration = rule.NoncurrentDays is null ? null
            : new NoncurrentVersionExpiration { NoncurrentDays = rule.NoncurrentDays, NewerNoncurrentVersions = rule.NewerNoncurrentVersions },
        AbortIncompleteMultipartUpload = rule.AbortDaysAfterInitiation is null ? null
            : new AbortIncompleteMultipartUpload { DaysAfterInitiation = rule.AbortDaysAfterInitiation },
        Transitions = rule.Transitions?.Select(t => new Transition { Days = t.Days, Date = t.Date, StorageClass = t.StorageClass }).ToList(),
        NoncurrentVersionTransitions = rule.NoncurrentVersionTransitions?
            .Select(t => new NoncurrentVersionTransition { NoncurrentDays = t.Days, StorageClass = t.StorageClass, NewerNoncurrentVersions = t.NewerNoncurrentVersions }).ToList(),
    };
}
