using System.Text.RegularExpressions;
using Strata.Server.Jobs.Trail;
using Strata.Server.Protocol;

namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// CloudTrail's trails (JSON 1.1, <c>CloudTrail_20131101</c>): create, update, describe and delete
/// them, start and stop logging, their event selectors and tags, their status, and the public keys
/// that verify their digests. What a logging trail records is delivered by <see cref="TrailDelivery"/>.
/// Strata serves one region, so every trail is in it (a multi-region trail is that region's).
/// </summary>
public sealed partial class TrailsService(TrailsStore store, ITrailBuckets buckets, ITrailLogGroups logGroups, TrailKeys keys, TrailDelivery delivery, TimeProvider clock, string region)
{
    /// <summary>AWS's quota of trails per region.</summary>
    public const int MaxTrails = 5;

    public IEnumerable<Operation> Operations =>
    [
        CloudTrailOperations.CreateTrail.Bind("cloudtrail:CreateTrail", (r, ctx) => TrailArn(ctx.Principal.AccountId, r.Name!), CreateTrail),
        CloudTrailOperations.UpdateTrail.Bind("cloudtrail:UpdateTrail", (r, ctx) => ArnOf(ctx, r.Name!), UpdateTrail),
        CloudTrailOperations.GetTrail.Bind("cloudtrail:GetTrail", (r, ctx) => ArnOf(ctx, r.Name!), GetTrail),
        CloudTrailOperations.DescribeTrails.Bind("cloudtrail:DescribeTrails", (_, ctx) => TrailArn(ctx.Principal.AccountId, "*"), DescribeTrails),
        CloudTrailOperations.ListTrails.Bind("cloudtrail:ListTrails", (_, ctx) => TrailArn(ctx.Principal.AccountId, "*"), ListTrails),
        CloudTrailOperations.DeleteTrail.Bind("cloudtrail:DeleteTrail", (r, ctx) => ArnOf(ctx, r.Name!), DeleteTrail),
        CloudTrailOperations.StartLogging.Bind("cloudtrail:StartLogging", (r, ctx) => ArnOf(ctx, r.Name!), StartLogging),
        CloudTrailOperations.StopLogging.Bind("cloudtrail:StopLogging", (r, ctx) => ArnOf(ctx, r.Name!), StopLogging),
        CloudTrailOperations.GetTrailStatus.Bind("cloudtrail:GetTrailStatus", (r, ctx) => ArnOf(ctx, r.Name!), GetTrailStatus),
        CloudTrailOperations.PutEventSelectors.Bind("cloudtrail:PutEventSelectors", (r, ctx) => ArnOf(ctx, r.TrailName!), PutEventSelectors),
        CloudTrailOperations.GetEventSelectors.Bind("cloudtrail:GetEventSelectors", (r, ctx) => ArnOf(ctx, r.TrailName!), GetEventSelectors),
        CloudTrailOperations.PutInsightSelectors.Bind("cloudtrail:PutInsightSelectors", (r, ctx) => ArnOf(ctx, r.TrailName ?? "*"), PutInsightSelectors),
        CloudTrailOperations.GetInsightSelectors.Bind("cloudtrail:GetInsightSelectors", (r, ctx) => ArnOf(ctx, r.TrailName ?? "*"), GetInsightSelectors),
        CloudTrailOperations.ListPublicKeys.Bind("cloudtrail:ListPublicKeys", (_, _) => "*", ListPublicKeys),
        CloudTrailOperations.AddTags.Bind("cloudtrail:AddTags", (r, _) => r.ResourceId!, AddTags),
        CloudTrailOperations.RemoveTags.Bind("cloudtrail:RemoveTags", (r, _) => r.ResourceId!, RemoveTags),
        CloudTrailOperations.ListTags.Bind("cloudtrail:ListTags", (r, ctx) => r.ResourceIdList is [var one] ? one : TrailArn(ctx.Principal.AccountId, "*"), ListTags),
    ];

    // ---- names and ARNs ----

    public string TrailArn(string account, string name) => $"arn:aws:cloudtrail:{region}:{account}:trail/{name}";

    string ArnOf(RequestContext ctx, string nameOrArn) => nameOrArn.StartsWith("arn:", StringComparison.Ordinal) ? nameOrArn : TrailArn(ctx.Principal.AccountId, nameOrArn);

    [GeneratedRegex(@"\A[A-Za-z0-9._\-]+\z")]
    private static partial Regex TrailNameChars();

    /// <summary>AWS's trail name rules, checked in its order with its messages (3 to 128
    /// characters; a letter or digit first and last; letters, digits, '.', '-', '_').</summary>
    static void CheckName(string name)
    {
        if (name.Length < 3)
            throw CloudTrailErrors.InvalidTrailNameException($"Trail name too short. Minimum allowed length: 3 characters. Specified name length: {name.Length} characters.");
        if (name.Length > 128)
            throw CloudTrailErrors.InvalidTrailNameException($"Trail name too long. Maximum allowed length: 128 characters. Specified name length: {name.Length} characters.");
        if (!char.IsAsciiLetterOrDigit(name[0])) throw CloudTrailErrors.InvalidTrailNameException("Trail name must starts with a letter or number.");
        if (!char.IsAsciiLetterOrDigit(name[^1])) throw CloudTrailErrors.InvalidTrailNameException("Trail name must ends with a letter or number.");
        if (!TrailNameChars().IsMatch(name))
            throw CloudTrailErrors.InvalidTrailNameException("Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).");
    }

    /// <summary>The trail a request names (by name or ARN), or TrailNotFoundException as AWS words it.</summary>
    TrailRow Trail(RequestContext ctx, string nameOrArn)
    {
        var account = ctx.Principal.AccountId;
        string name;
        if (nameOrArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = nameOrArn.Split(':', 6);
            if (parts.Length != 6 || parts[2] != "cloudtrail" || !parts[5].StartsWith("trail/", StringComparison.Ordinal))
                throw CloudTrailErrors.CloudTrailARNInvalidException($"Invalid CloudTrail ARN: {nameOrArn}");
            name = parts[5]["trail/".Length..];
            if (parts[4] != account || parts[3] != region) throw NotFound(account, nameOrArn);
        }
        else
        {
            CheckName(nameOrArn);
            name = nameOrArn;
        }
        return store.Get(account, name) ?? throw NotFound(account, TrailArn(account, name));
    }

    static AwsException NotFound(string account, string arn) => CloudTrailErrors.TrailNotFoundException($"Unknown trail: {arn} for the user: {account}");

    // ---- trails ----

    CreateTrailResponse CreateTrail(CreateTrailRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = r.Name!;
        CheckName(name);
        CheckUnsupported(r.SnsTopicName, r.IsOrganizationTrail);
        var includeGlobal = r.IncludeGlobalServiceEvents ?? true;
        var multiRegion = r.IsMultiRegionTrail ?? false;
        if (multiRegion && !includeGlobal)
            throw CloudTrailErrors.InvalidParameterCombinationException("Multi-Region trail must include global service events.");
        var arn = TrailArn(account, name);
        var prefix = string.IsNullOrEmpty(r.S3KeyPrefix) ? null : r.S3KeyPrefix;
        CheckBucket(r.S3BucketName!, prefix, account, arn);
        var kmsKey = r.KmsKeyId is null ? null : KmsKey(account, r.KmsKeyId, r.S3BucketName!, arn);
        if (store.Get(account, name) is not null) throw CloudTrailErrors.TrailAlreadyExistsException($"Trail {name} already exists for customer: {account}");
        if (store.TrailsOf(account).Count >= MaxTrails)
            throw CloudTrailErrors.MaximumNumberOfTrailsExceededException($"User: {account} already has {MaxTrails} trails in {region}.");
        // Last of the checks: it creates the trail's log stream.
        var (logGroup, logRole) = LogGroup(account, Empty(r.CloudWatchLogsLogGroupArn), Empty(r.CloudWatchLogsRoleArn));
        var trail = new TrailRow
        {
            Name = name,
            TrailARN = arn,
            HomeRegion = region,
            S3BucketName = r.S3BucketName!,
            S3KeyPrefix = prefix,
            IncludeGlobalServiceEvents = includeGlobal,
            IsMultiRegionTrail = multiRegion,
            LogFileValidationEnabled = r.EnableLogFileValidation ?? false,
            KmsKeyId = kmsKey,
            CloudWatchLogsLogGroupArn = logGroup,
            CloudWatchLogsRoleArn = logRole,
            Tags = (r.TagsList ?? []).ToDictionary(t => t.Key!, t => t.Value ?? ""),
        };
        if (!store.Add(account, trail)) throw CloudTrailErrors.TrailAlreadyExistsException($"Trail {name} already exists for customer: {account}");
        return new()
        {
            Name = trail.Name,
            S3BucketName = trail.S3BucketName,
            S3KeyPrefix = trail.S3KeyPrefix,
            IncludeGlobalServiceEvents = trail.IncludeGlobalServiceEvents,
            IsMultiRegionTrail = trail.IsMultiRegionTrail,
            TrailARN = trail.TrailARN,
            LogFileValidationEnabled = trail.LogFileValidationEnabled,
            KmsKeyId = trail.KmsKeyId,
            CloudWatchLogsLogGroupArn = trail.CloudWatchLogsLogGroupArn,
            CloudWatchLogsRoleArn = trail.CloudWatchLogsRoleArn,
            IsOrganizationTrail = false,
        };
    }

    /// <summary>What Strata's trails cannot do, refused rather than accepted and silently ignored.</summary>
    static void CheckUnsupported(string? snsTopic, bool? organization)
    {
        if (!string.IsNullOrEmpty(snsTopic))
            throw CloudTrailErrors.UnsupportedOperationException("Strata's trails do not notify an SNS topic of log file deliveries: leave SnsTopicName out.");
        if (organization == true)
            throw CloudTrailErrors.OrganizationsNotInUseException("This account is not a member of an organization: Strata has no AWS Organizations.");
    }

    /// <summary>The checks AWS makes of a trail's bucket when it is set: it exists, and its policy
    /// lets CloudTrail read its ACL and put objects under <c>[prefix/]AWSLogs/&lt;account&gt;/</c>.</summary>
    void CheckBucket(string bucket, string? prefix, string account, string trailArn)
    {
        if (!buckets.Exists(bucket)) throw CloudTrailErrors.S3BucketDoesNotExistException($"S3 bucket {bucket} does not exist!");
        if (prefix is { Length: > 200 })
            throw CloudTrailErrors.InvalidS3PrefixException($"Prefix {prefix} is too long: a key prefix is at most 200 characters.");
        var logs = $"arn:aws:s3:::{bucket}/{new TrailDestination(bucket, prefix, account, region).Key($"AWSLogs/{account}/CloudTrail/{region}/")}";
        if (!buckets.Allows(bucket, "s3:GetBucketAcl", $"arn:aws:s3:::{bucket}", trailArn, account)
            || !buckets.Allows(bucket, "s3:PutObject", logs, trailArn, account))
            throw CloudTrailErrors.InsufficientS3BucketPolicyException($"Incorrect S3 bucket policy is detected for bucket: {bucket}");
    }

    /// <summary>The trail's key, checked as AWS checks it: it exists, and its key policy lets
    /// CloudTrail encrypt this trail's files.</summary>
    string KmsKey(string account, string keyId, string bucket, string trailArn)
    {
        var arn = buckets.KmsKeyArn(account, keyId) ?? throw CloudTrailErrors.KmsKeyNotFoundException($"KMS key {keyId} does not exist, or is not in {region}.");
        if (!buckets.KeyAllows(arn, trailArn, account))
            throw CloudTrailErrors.InsufficientEncryptionPolicyException($"Insufficient permissions to access S3 bucket {bucket} or KMS key {arn}.");
        return arn;
    }

    static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>A trail's CloudWatch Logs destination: both the group and the role, or neither,
    /// checked by <see cref="ITrailLogGroups.Check"/> (which creates the trail's stream).</summary>
    (string? Group, string? Role) LogGroup(string account, string? group, string? role)
    {
        if (group is null && role is null) return (null, null);
        if (group is null) throw CloudTrailErrors.InvalidCloudWatchLogsLogGroupArnException("You must specify a log group ARN together with the role ARN.");
        if (role is null) throw CloudTrailErrors.InvalidCloudWatchLogsRoleArnException("You must specify a role ARN together with the log group ARN.");
        // arn:aws:logs:region:account:log-group:NAME, or the same with ":*" as the console writes it.
        var parts = group.Split(':');
        if (parts.Length is not (7 or 8) || parts[2] != "logs" || parts[5] != "log-group" || parts[6].Length == 0 || (parts.Length == 8 && parts[7] != "*"))
            throw CloudTrailErrors.InvalidCloudWatchLogsLogGroupArnException($"CloudWatch Logs log group ARN {group} is not valid.");
        if (parts[3] != region || parts[4] != account)
            throw CloudTrailErrors.InvalidCloudWatchLogsLogGroupArnException($"The log group {group} must be in the trail's account and region ({account}, {region}).");
        if (role.Split(':') is not [_, _, "iam", _, var roleAccount, var roleName] || !roleName.StartsWith("role/", StringComparison.Ordinal))
            throw CloudTrailErrors.InvalidCloudWatchLogsRoleArnException($"CloudWatch Logs role ARN {role} is not valid.");
        if (roleAccount != account)
            throw CloudTrailErrors.InvalidCloudWatchLogsRoleArnException($"The role {role} must be in the trail's account ({account}).");
        logGroups.Check(account, group, role);
        return (group, role);
    }

    UpdateTrailResponse UpdateTrail(UpdateTrailRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var current = Trail(ctx, r.Name!);
        CheckUnsupported(r.SnsTopicName, r.IsOrganizationTrail);
        var bucket = r.S3BucketName ?? current.S3BucketName;
        var prefix = r.S3KeyPrefix is null ? current.S3KeyPrefix : r.S3KeyPrefix.Length == 0 ? null : r.S3KeyPrefix;
        var includeGlobal = r.IncludeGlobalServiceEvents ?? current.IncludeGlobalServiceEvents;
        var multiRegion = r.IsMultiRegionTrail ?? current.IsMultiRegionTrail;
        if (multiRegion && !includeGlobal)
            throw CloudTrailErrors.InvalidParameterCombinationException("Multi-Region trail must include global service events.");
        if (r.S3BucketName is not null || r.S3KeyPrefix is not null) CheckBucket(bucket, prefix, account, current.TrailARN);
        // An empty KmsKeyId turns encryption off, as in AWS.
        var kmsKey = r.KmsKeyId is null ? current.KmsKeyId : r.KmsKeyId.Length == 0 ? null : KmsKey(account, r.KmsKeyId, bucket, current.TrailARN);
        // Empty strings for both turn CloudWatch Logs delivery off; a change is checked again.
        var (logGroup, logRole) = (current.CloudWatchLogsLogGroupArn, current.CloudWatchLogsRoleArn);
        if (r.CloudWatchLogsLogGroupArn is not null || r.CloudWatchLogsRoleArn is not null)
            (logGroup, logRole) = LogGroup(account, r.CloudWatchLogsLogGroupArn is null ? logGroup : Empty(r.CloudWatchLogsLogGroupArn),
                r.CloudWatchLogsRoleArn is null ? logRole : Empty(r.CloudWatchLogsRoleArn));
        var trail = store.Update(account, current.Name, t => t with
        {
            CloudWatchLogsLogGroupArn = logGroup,
            CloudWatchLogsRoleArn = logRole,
            S3BucketName = bucket,
            S3KeyPrefix = prefix,
            IncludeGlobalServiceEvents = includeGlobal,
            IsMultiRegionTrail = multiRegion,
            LogFileValidationEnabled = r.EnableLogFileValidation ?? t.LogFileValidationEnabled,
            KmsKeyId = kmsKey,
            // Validation turned off breaks the digest chain: the next digest starts a new one.
            Status = r.EnableLogFileValidation == false ? t.Status with { LastDigest = null, DigestLogFiles = [] } : t.Status,
        }) ?? throw NotFound(account, current.TrailARN);
        delivery.Refresh();
        return new()
        {
            Name = trail.Name,
            S3BucketName = trail.S3BucketName,
            S3KeyPrefix = trail.S3KeyPrefix,
            IncludeGlobalServiceEvents = trail.IncludeGlobalServiceEvents,
            IsMultiRegionTrail = trail.IsMultiRegionTrail,
            TrailARN = trail.TrailARN,
            LogFileValidationEnabled = trail.LogFileValidationEnabled,
            KmsKeyId = trail.KmsKeyId,
            CloudWatchLogsLogGroupArn = trail.CloudWatchLogsLogGroupArn,
            CloudWatchLogsRoleArn = trail.CloudWatchLogsRoleArn,
            IsOrganizationTrail = false,
        };
    }

    Trail Describe(TrailRow t) => new()
    {
        Name = t.Name,
        S3BucketName = t.S3BucketName,
        S3KeyPrefix = t.S3KeyPrefix,
        IncludeGlobalServiceEvents = t.IncludeGlobalServiceEvents,
        IsMultiRegionTrail = t.IsMultiRegionTrail,
        HomeRegion = t.HomeRegion,
        TrailARN = t.TrailARN,
        LogFileValidationEnabled = t.LogFileValidationEnabled,
        KmsKeyId = t.KmsKeyId,
        CloudWatchLogsLogGroupArn = t.CloudWatchLogsLogGroupArn,
        CloudWatchLogsRoleArn = t.CloudWatchLogsRoleArn,
        HasCustomEventSelectors = t.EventSelectors is not null || t.AdvancedEventSelectors is not null,
        HasInsightSelectors = false,
        IsOrganizationTrail = false,
    };

    GetTrailResponse GetTrail(GetTrailRequest r, RequestContext ctx) => new() { Trail = Describe(Trail(ctx, r.Name!)) };

    DescribeTrailsResponse DescribeTrails(DescribeTrailsRequest r, RequestContext ctx)
    {
        var all = store.TrailsOf(ctx.Principal.AccountId);
        if (r.TrailNameList is not { Count: > 0 } names) return new() { TrailList = all.Select(Describe).ToList() };
        // Names and ARNs that match no trail are left out, as AWS does.
        return new() { TrailList = all.Where(t => names.Contains(t.Name) || names.Contains(t.TrailARN)).Select(Describe).ToList() };
    }

    ListTrailsResponse ListTrails(ListTrailsRequest r, RequestContext ctx)
    {
        var trails = store.TrailsOf(ctx.Principal.AccountId);
        var (page, next) = PageToken.Page(trails, r.NextToken, null, defaultMax: 50, limit: 50);
        return new() { Trails = page.Select(t => new TrailInfo { TrailARN = t.TrailARN, Name = t.Name, HomeRegion = t.HomeRegion }).ToList(), NextToken = next };
    }

    DeleteTrailResponse DeleteTrail(DeleteTrailRequest r, RequestContext ctx)
    {
        var trail = Trail(ctx, r.Name!);
        store.Delete(ctx.Principal.AccountId, trail.Name);
        delivery.Refresh();
        return new();
    }

    // ---- logging and status ----

    StartLoggingResponse StartLogging(StartLoggingRequest r, RequestContext ctx)
    {
        var trail = Trail(ctx, r.Name!);
        var now = clock.GetUtcNow();
        store.Update(ctx.Principal.AccountId, trail.Name, t => t.Status.IsLogging ? t : t with
        {
            // A digest period starts with logging; the chain starts again after a stop.
            Status = t.Status with { IsLogging = true, StartLoggingTime = now, DigestStartTime = now, DigestLogFiles = [], LastDigest = null },
        });
        delivery.Refresh();
        return new();
    }

    StopLoggingResponse StopLogging(StopLoggingRequest r, RequestContext ctx)
    {
        var trail = Trail(ctx, r.Name!);
        var now = clock.GetUtcNow();
        store.Update(ctx.Principal.AccountId, trail.Name, t => !t.Status.IsLogging ? t : t with { Status = t.Status with { IsLogging = false, StopLoggingTime = now } });
        delivery.Refresh();
        return new();
    }

    GetTrailStatusResponse GetTrailStatus(GetTrailStatusRequest r, RequestContext ctx)
    {
        var s = Trail(ctx, r.Name!).Status;
        return new()
        {
            IsLogging = s.IsLogging,
            LatestDeliveryError = s.LatestDeliveryError,
            LatestDeliveryTime = s.LatestDeliveryTime,
            StartLoggingTime = s.StartLoggingTime,
            StopLoggingTime = s.StopLoggingTime,
            LatestDigestDeliveryTime = s.LatestDigestDeliveryTime,
            LatestDigestDeliveryError = s.LatestDigestDeliveryError,
            LatestCloudWatchLogsDeliveryTime = s.LatestCloudWatchLogsDeliveryTime,
            LatestCloudWatchLogsDeliveryError = s.LatestCloudWatchLogsDeliveryError,
            // The members AWS answers as strings: the same times, as its console shows them.
            LatestDeliveryAttemptTime = StatusTime(s.LatestDeliveryAttemptTime),
            LatestDeliveryAttemptSucceeded = StatusTime(s.LatestDeliveryAttemptSucceeded == true ? s.LatestDeliveryAttemptTime : null),
            TimeLoggingStarted = StatusTime(s.StartLoggingTime),
            TimeLoggingStopped = StatusTime(s.StopLoggingTime),
            LatestNotificationAttemptTime = "",
            LatestNotificationAttemptSucceeded = "",
        };
    }

    static string StatusTime(DateTimeOffset? time)
        => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) : "";

    // ---- selectors ----

    PutEventSelectorsResponse PutEventSelectors(PutEventSelectorsRequest r, RequestContext ctx)
    {
        var trail = Trail(ctx, r.TrailName!);
        if ((r.EventSelectors is null) == (r.AdvancedEventSelectors is null))
            throw CloudTrailErrors.InvalidParameterCombinationException("Either EventSelectors or AdvancedEventSelectors must be specified, but not both.");
        var basic = r.EventSelectors is null ? null : TrailSelectors.Basic(r.EventSelectors);
        var advanced = r.AdvancedEventSelectors is null ? null : TrailSelectors.Advanced(r.AdvancedEventSelectors);
        store.Update(ctx.Principal.AccountId, trail.Name, t => t with { EventSelectors = basic, AdvancedEventSelectors = advanced });
        delivery.Refresh();
        return new() { TrailARN = trail.TrailARN, EventSelectors = r.EventSelectors, AdvancedEventSelectors = r.AdvancedEventSelectors };
    }

    GetEventSelectorsResponse GetEventSelectors(GetEventSelectorsRequest r, RequestContext ctx)
    {
        var trail = Trail(ctx, r.TrailName!);
        if (trail.AdvancedEventSelectors is { } advanced)
            return new()
            {
                TrailARN = trail.TrailARN,
                AdvancedEventSelectors = advanced.Select(s => new AdvancedEventSelector
                {
                    Name = s.Name,
                    FieldSelectors = s.FieldSelectors.Select(f => new AdvancedFieldSelector
                    {
                        Field = f.Field,
                        EqualsValue = f.EqualsValue,
                        StartsWith = f.StartsWith,
                        EndsWith = f.EndsWith,
                        NotEquals = f.NotEquals,
                        NotStartsWith = f.NotStartsWith,
                        NotEndsWith = f.NotEndsWith,
                    }).ToList(),
                }).ToList(),
            };
        return new()
        {
            TrailARN = trail.TrailARN,
            EventSelectors = (trail.EventSelectors ?? [new EventSelectorRow()]).Select(s => new EventSelector
            {
                ReadWriteType = s.ReadWriteType,
                IncludeManagementEvents = s.IncludeManagementEvents,
                DataResources = s.DataResources.Select(d => new DataResource { Type = d.Type, Values = d.Values }).ToList(),
                ExcludeManagementEventSources = s.ExcludeManagementEventSources,
            }).ToList(),
        };
    }

    /// <summary>Insights needs months of an account's call rates and a model of them: Strata does
    /// not offer it, and says so as AWS does where Insights is not available.</summary>
    PutInsightSelectorsResponse PutInsightSelectors(PutInsightSelectorsRequest r, RequestContext ctx)
    {
        if (r.TrailName is not null) Trail(ctx, r.TrailName);
        throw CloudTrailErrors.UnsupportedOperationException("CloudTrail Insights is not available in Strata.");
    }

    GetInsightSelectorsResponse GetInsightSelectors(GetInsightSelectorsRequest r, RequestContext ctx)
    {
        if (r.TrailName is null) throw CloudTrailErrors.InvalidParameterCombinationException("You must specify a trail name or an event data store.");
        var trail = Trail(ctx, r.TrailName);
        throw CloudTrailErrors.InsightNotEnabledException($"Trail {trail.TrailARN} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.");
    }

    // ---- keys ----

    ListPublicKeysResponse ListPublicKeys(ListPublicKeysRequest r, RequestContext ctx)
    {
        if (r.StartTime is { } start && r.EndTime is { } end && start > end)
            throw CloudTrailErrors.InvalidTimeRangeException("Start time must be before end time.");
        var list = keys.ListPublicKeys(region, r.StartTime, r.EndTime);
        return new()
        {
            PublicKeyList = list.Select(k => new PublicKey { Value = k.Value, ValidityStartTime = k.ValidityStartTime, ValidityEndTime = k.ValidityEndTime, Fingerprint = k.Fingerprint }).ToList(),
        };
    }

    // ---- tags ----

    TrailRow Tagged(RequestContext ctx, string resourceId)
    {
        if (!resourceId.StartsWith("arn:", StringComparison.Ordinal))
            throw CloudTrailErrors.CloudTrailARNInvalidException($"{resourceId} is not a valid ARN: tags are added to a trail by its ARN.");
        var parts = resourceId.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "cloudtrail" || !parts[5].StartsWith("trail/", StringComparison.Ordinal))
            throw CloudTrailErrors.ResourceTypeNotSupportedException($"Resource type not supported: {resourceId}. Strata tags trails.");
        try { return Trail(ctx, resourceId); }
        catch (AwsException) { throw CloudTrailErrors.ResourceNotFoundException($"Resource {resourceId} not found."); }
    }

    AddTagsResponse AddTags(AddTagsRequest r, RequestContext ctx)
    {
        var trail = Tagged(ctx, r.ResourceId!);
        var tags = new Dictionary<string, string>(trail.Tags);
        foreach (var t in r.TagsList!) tags[t.Key!] = t.Value ?? "";
        if (tags.Count > 50) throw CloudTrailErrors.TagsLimitExceededException("The number of tags on the resource exceeds the limit of 50.");
        store.Update(ctx.Principal.AccountId, trail.Name, t => t with { Tags = tags });
        return new();
    }

    RemoveTagsResponse RemoveTags(RemoveTagsRequest r, RequestContext ctx)
    {
        var trail = Tagged(ctx, r.ResourceId!);
        var tags = new Dictionary<string, string>(trail.Tags);
        // A tag given with a value is removed only when the value matches.
        foreach (var t in r.TagsList!)
            if (tags.TryGetValue(t.Key!, out var value) && (t.Value is null || t.Value == value)) tags.Remove(t.Key!);
        store.Update(ctx.Principal.AccountId, trail.Name, t => t with { Tags = tags });
        return new();
    }

    ListTagsResponse ListTags(ListTagsRequest r, RequestContext ctx)
        => new()
        {
            ResourceTagList = r.ResourceIdList!.Select(id => Tagged(ctx, id)).Select(t => new ResourceTag
            {
                ResourceId = t.TrailARN,
                TagsList = t.Tags.Select(kv => new Tag { Key = kv.Key, Value = kv.Value }).ToList(),
            }).ToList(),
        };
}
