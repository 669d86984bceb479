using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3 Object Lock's operations: a bucket's configuration (and default retention), and each
/// version's retention and legal hold; and what the writes, reads and deletes of objects ask of
/// it (the settings a new version gets, the headers a read answers, whether a caller bypasses
/// GOVERNANCE). What is allowed is <see cref="ObjectLock"/>'s to decide.
/// </summary>
internal sealed class ObjectLockOperations(S3Environment env, ObjectOperations objects)
{
    public async Task PutObjectLockConfiguration(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        await ObjectBody.BufferDigestedBodyAsync(ctx);
        var config = await S3Http.ReadXmlAsync(ctx, "ObjectLockConfiguration", S3XmlReader.ReadObjectLockConfiguration);
        if (config.ObjectLockEnabled != "Enabled") throw S3Errors.MalformedXml();
        var record = new ObjectLockConfigurationRecord();
        if (config.Rule is { } rule)
        {
            // A rule is its default retention: a mode, with a period of days or of years.
            if (rule.DefaultRetention is not { Mode: ObjectLock.Governance or ObjectLock.Compliance } retention
                || retention.Days is null == retention.Years is null)
                throw S3Errors.MalformedXml();
            if (retention.Days is <= 0 || retention.Years is <= 0)
                throw S3Errors.InvalidArgument("Default retention period must be a positive integer value.");
            if (retention.Days > 36500 || retention.Years > 100)
                throw S3Errors.InvalidArgument("Default retention period is too large.");
            record = new ObjectLockConfigurationRecord(retention.Mode, retention.Days, retention.Years);
        }
        env.Store.UpdateBucket(bucket.Name, b =>
        {
            // S3 lets Object Lock be enabled on an existing bucket, once its versioning is Enabled.
            if (b.ObjectLock is null && b.Versioning != VersioningStatus.Enabled)
                throw InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
            return b with { ObjectLock = record };
        });
        S3Http.Empty(ctx);
    }

    public Task GetObjectLockConfiguration(RequestContext ctx)
    {
        var config = env.RequireBucket(ctx).ObjectLock
            ?? throw new AwsException("ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket").With("BucketName", ctx.Bucket);
        return S3Http.WriteXmlAsync(ctx, new ObjectLockConfiguration
        {
            ObjectLockEnabled = "Enabled",
            Rule = config.DefaultMode is null ? null
                : new ObjectLockRule { DefaultRetention = new DefaultRetention { Mode = config.DefaultMode, Days = config.DefaultDays, Years = config.DefaultYears } },
        });
    }

    public async Task PutObjectRetention(RequestContext ctx)
    {
        var bucket = RequireObjectLock(ctx);
        var versionId = ObjectOperations.RequestedVersion(ctx);
        await ObjectBody.BufferDigestedBodyAsync(ctx);
        var retention = await S3Http.ReadXmlAsync(ctx, "Retention", S3XmlReader.ReadObjectLockRetention);
        // Both, or neither (which removes a retention, where that is allowed).
        if (retention.Mode is not (null or ObjectLock.Governance or ObjectLock.Compliance) || retention.Mode is null != retention.RetainUntilDate is null)
            throw S3Errors.MalformedXml();
        var now = env.Clock.GetUtcNow();
        if (retention.RetainUntilDate <= now) throw ObjectLock.RetainUntilInThePast();
        var bypass = BypassesGovernance(ctx, ctx.Key!);
        var record = env.Store.UpdateVersion(bucket.Name, ctx.Key!, versionId, v =>
        {
            if (!ObjectLock.MayChangeRetention(v, retention.Mode, retention.RetainUntilDate, now, bypass)) throw ObjectLock.Locked();
            return v with { ObjectLockMode = retention.Mode, ObjectLockRetainUntilDate = retention.RetainUntilDate };
        });
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        S3Http.Empty(ctx);
    }

    public Task GetObjectRetention(RequestContext ctx)
    {
        var record = ReadVersion(ctx);
        if (record.ObjectLockMode is null) throw NoObjectLockConfiguration();
        return S3Http.WriteXmlAsync(ctx, new ObjectLockRetention { Mode = record.ObjectLockMode, RetainUntilDate = record.ObjectLockRetainUntilDate });
    }

    public async Task PutObjectLegalHold(RequestContext ctx)
    {
        var bucket = RequireObjectLock(ctx);
        var versionId = ObjectOperations.RequestedVersion(ctx);
        await ObjectBody.BufferDigestedBodyAsync(ctx);
        var hold = await S3Http.ReadXmlAsync(ctx, "LegalHold", S3XmlReader.ReadObjectLockLegalHold);
        if (hold.Status is not (ObjectLock.On or ObjectLock.Off)) throw S3Errors.MalformedXml();
        var record = env.Store.UpdateVersion(bucket.Name, ctx.Key!, versionId, v => v with { ObjectLockLegalHold = hold.Status });
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        S3Http.Empty(ctx);
    }

    public Task GetObjectLegalHold(RequestContext ctx)
    {
        var record = ReadVersion(ctx);
        if (record.ObjectLockLegalHold is null) throw NoObjectLockConfiguration();
        return S3Http.WriteXmlAsync(ctx, new ObjectLockLegalHold { Status = record.ObjectLockLegalHold });
    }

    /// <summary>PutObjectRetention's input stage: its small body is read before authorization, as
    /// the retention it sets gives condition keys; the handler reads (and judges) the same bytes.
    /// A body that does not parse sets no keys here; the handler refuses it.</summary>
    public static async Task<object?> ReadRetentionAsync(RequestContext ctx)
        => Parse(await S3Http.BufferSmallBodyAsync(ctx), "Retention", S3XmlReader.ReadObjectLockRetention);

    /// <summary>PutObjectLegalHold's input stage, as <see cref="ReadRetentionAsync"/>.</summary>
    public static async Task<object?> ReadLegalHoldAsync(RequestContext ctx)
        => Parse(await S3Http.BufferSmallBodyAsync(ctx), "LegalHold", S3XmlReader.ReadObjectLockLegalHold);

    static T? Parse<T>(byte[] body, string root, Func<System.Xml.Linq.XElement, T> read) where T : class
    {
        if (S3Http.ParseXml(body) is not { } element || element.Name.LocalName != root) return null;
        try { return read(element); }
        catch (AwsException) { return null; }
    }

    /// <summary>The settings a write asks for in its headers (PutObject, CopyObject,
    /// CreateMultipartUpload, a browser's form upload), which a bucket without Object Lock refuses.</summary>
    internal static ObjectLock.Settings Requested(RequestContext ctx, BucketRecord bucket, DateTimeOffset now)
    {
        var requested = ObjectLock.FromHeaders(ctx.Header, now);
        if (bucket.ObjectLock is null && !requested.IsEmpty) throw ObjectLock.NotEnabled();
        return requested;
    }

    /// <summary>The settings a version written now gets: those requested, else the bucket's default.</summary>
    internal static ObjectLock.Settings ForNewVersion(BucketRecord bucket, ObjectLock.Settings requested, DateTimeOffset now)
        => bucket.ObjectLock is { } config ? ObjectLock.ForNewVersion(config, requested, now) : requested;

    /// <summary>S3 takes a body that gets Object Lock settings only with an integrity check
    /// (<c>Content-MD5</c> or an <c>x-amz-checksum-*</c> header or trailer); <paramref name="what"/>
    /// names the request as S3's message does ("Put Object", "Put Part").</summary>
    internal static void RequireDigest(RequestContext ctx, ObjectLock.Settings settings, string what)
    {
        if (!settings.IsEmpty && !ObjectBody.HasDigest(ctx))
            throw S3Errors.InvalidRequest($"Content-MD5 OR x-amz-checksum- HTTP header is required for {what} requests with Object Lock parameters");
    }

    /// <summary>The settings an upload was created with.</summary>
    internal static ObjectLock.Settings OfUpload(UploadRecord upload) => new(upload.ObjectLockMode, upload.ObjectLockRetainUntilDate, upload.ObjectLockLegalHold);

    /// <summary>Whether the caller bypasses GOVERNANCE retention: it asks to
    /// (<c>x-amz-bypass-governance-retention: true</c>) and may (<c>s3:BypassGovernanceRetention</c>
    /// on the object).</summary>
    internal static bool BypassesGovernance(RequestContext ctx, string key)
        => string.Equals(ctx.Header("x-amz-bypass-governance-retention"), "true", StringComparison.OrdinalIgnoreCase)
            && ctx.Authorizer!.Decide(ctx, "s3:BypassGovernanceRetention", $"arn:aws:s3:::{ctx.Bucket}/{key}").IsAllowed;

    /// <summary>Whether a version may be removed for good by this request at <paramref name="now"/>,
    /// given the keys at which the caller bypasses GOVERNANCE.</summary>
    internal static Func<ObjectRecord, bool> Remover(DateTimeOffset now, Func<string, bool> bypasses) => v => ObjectLock.MayRemove(v, now, bypasses(v.Key));

    /// <summary>A read's <c>x-amz-object-lock-*</c> headers: S3 sends the retention only to a caller
    /// that may read it (<c>s3:GetObjectRetention</c>), and the legal hold likewise.</summary>
    internal static void WriteHeaders(RequestContext ctx, ObjectRecord record)
    {
        if (record.ObjectLockMode is null && record.ObjectLockLegalHold is null) return;
        var resource = $"arn:aws:s3:::{ctx.Bucket}/{ctx.Key}";
        bool May(string action) => ctx.Authorizer?.Decide(ctx, action, resource).IsAllowed == true;
        ObjectLock.WriteHeaders(ctx.Response.Headers, record, record.ObjectLockMode is not null && May("s3:GetObjectRetention"),
            record.ObjectLockLegalHold is not null && May("s3:GetObjectLegalHold"));
    }

    BucketRecord RequireObjectLock(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        return bucket.ObjectLock is null ? throw ObjectLock.NotEnabled() : bucket;
    }

    ObjectRecord ReadVersion(RequestContext ctx)
    {
        var bucket = RequireObjectLock(ctx);
        var record = objects.ReadVersion(ctx, bucket, ObjectOperations.RequestedVersion(ctx), "GET");
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        return record;
    }

    internal static AwsException InvalidBucketState(string message) => new("InvalidBucketState", 409, message);

    static AwsException NoObjectLockConfiguration()
        => new("NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration");
}
