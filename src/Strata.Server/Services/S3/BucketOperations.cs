using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Strata.Server.Auth;
using Strata.Server.Identity;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>Shared by the S3 handlers: the store, the accounts (owners), the clock, the region,
/// server-side encryption, and where object events go.</summary>
public sealed record S3Environment(S3Store Store, CredentialStore Accounts, TimeProvider Clock, string Region, ServerSideEncryption Sse)
{
    /// <summary>Where the object events of buckets with EventBridge notifications are put (the
    /// owner's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    /// <summary>Puts an object event, if the bucket sends one (<see cref="ObjectEvents"/>).</summary>
    public void Put(ServiceEvent? e)
    {
        if (e is not null) Events.Put(e);
    }

    /// <summary>The bucket the request names, which must exist. Whether the caller may use it
    /// (its own account's, or granted by the bucket policy) the authorizer has already decided.</summary>
    public BucketRecord RequireBucket(RequestContext ctx)
        => Store.GetBucket(ctx.Bucket!) ?? throw S3Errors.NoSuchBucket(ctx.Bucket!);

    /// <summary>Who owns what a request writes, as the bucket's Object Ownership decides
    /// (<see cref="ObjectOwnership.ObjectOwner"/>); the bucket owner when the writer is anonymous
    /// (a policy or ACL granted it to everyone).</summary>
    public string WriterAccount(RequestContext ctx, BucketRecord bucket)
        => ctx.Principal.IsAnonymous ? bucket.OwnerAccountId : ObjectOwnership.ObjectOwner(bucket, ctx.Principal.AccountId, ctx.Header("x-amz-acl"));

    public AccountRecord? Owner(string accountId) => Accounts.FindAccount(accountId);
}

internal sealed partial class BucketOperations(S3Environment env)
{
    /// <summary>The caller's buckets in name order, a page at a time (<c>max-buckets</c>, at most
    /// 10,000), narrowed by <c>prefix</c> and <c>bucket-region</c>.</summary>
    public async Task ListBuckets(RequestContext ctx)
    {
        var prefix = S3Http.Query(ctx, "prefix") ?? "";
        var region = S3Http.Query(ctx, "bucket-region");
        var max = MaxBuckets(S3Http.Query(ctx, "max-buckets"));
        var after = S3Http.Query(ctx, "continuation-token") is { } token ? BucketAfter(token) : null;
        var mine = env.Store.ListBuckets()
            .Where(b => b.OwnerAccountId == ctx.Principal.AccountId && b.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Where(b => region is null || b.Region == region)
            .Where(b => after is null || string.CompareOrdinal(b.Name, after) > 0)
            .OrderBy(b => b.Name, StringComparer.Ordinal)
            .ToList();
        var page = mine.Take(max).ToList();
        var owner = env.Owner(ctx.Principal.AccountId);
        await S3Http.WriteXmlAsync(ctx, new ListBucketsOutput
        {
            Owner = S3Http.OwnerOf(owner),
            Buckets = page.Select(b => new Bucket { Name = b.Name, CreationDate = b.CreationDate, BucketRegion = b.Region }).ToList(),
            ContinuationToken = mine.Count > page.Count ? EncodeToken(page[^1].Name, false) : null,
            Prefix = prefix.Length > 0 ? prefix : null,
        });
    }

    /// <summary><c>max-buckets</c>: 1 to 10,000 (the most, when not given); anything else S3 refuses.</summary>
    internal static int MaxBuckets(string? text)
    {
        if (text is null) return 10000;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var max) || max is < 1 or > 10000)
            throw S3Errors.InvalidArgument("Argument max-buckets must be an integer between 1 and 10000.", "max-buckets", text);
        return max;
    }

    /// <summary>The bucket a ListBuckets continuation token continues after: one this server
    /// made (a key token naming a valid bucket name), else refused as S3 refuses a token it did
    /// not issue.</summary>
    internal static string BucketAfter(string token)
    {
        var (name, isPrefix) = DecodeToken(token);
        if (isPrefix || name is null || !IsValidBucketName(name))
            throw S3Errors.InvalidArgument("The continuation token provided is incorrect", "continuation-token", token);
        return name;
    }

    public async Task PutBucketTagging(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        await ObjectBody.BufferDigestedBodyAsync(ctx);
        var tagging = await S3Http.ReadXmlAsync(ctx, "Tagging", S3XmlReader.ReadTagging);
        var tags = (tagging.TagSet ?? []).Select(tag => new ObjectTag(tag.Key ?? throw S3Errors.MalformedXml(), tag.Value ?? "")).ToList();
        S3Http.ValidateBucketTags(tags);
        // An empty set is accepted and leaves the bucket with no tag set at all, as in S3.
        env.Store.UpdateBucket(bucket.Name, b => b with { Tags = tags.Count == 0 ? null : tags });
        S3Http.Empty(ctx, 204);
    }

    public Task GetBucketTagging(RequestContext ctx)
    {
        var tags = env.RequireBucket(ctx).Tags
            ?? throw new AwsException("NoSuchTagSet", 404, "The TagSet does not exist").With("BucketName", ctx.Bucket);
        return S3Http.WriteXmlAsync(ctx, new GetBucketTaggingOutput { TagSet = tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() });
    }

    public Task DeleteBucketTagging(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { Tags = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public async Task CreateBucket(RequestContext ctx)
    {
        var name = ctx.Bucket!;
        ValidateBucketName(name);
        var (ownership, acl) = AclOperations.CheckCreateBucket(env, ctx);
        // Setting ownership or an ACL while creating takes the permissions that set them later.
        if (ctx.Header("x-amz-object-ownership") is not null) ctx.Authorize("s3:PutBucketOwnershipControls", $"arn:aws:s3:::{name}");
        if (S3Acl.HasAclHeaders(ctx)) ctx.Authorize("s3:PutBucketAcl", $"arn:aws:s3:::{name}");
        var body = await ReadOptionalBodyAsync(ctx);
        if (body is not null)
        {
            var location = body.LocationConstraint;
            if (location == "EU") location = "eu-west-1"; // S3's legacy name for Ireland
            if (location is not null)
            {
                if (location.Length == 0 || (location == "us-east-1" && env.Region == "us-east-1"))
                    throw new AwsException("InvalidLocationConstraint", 400, "The specified location-constraint is not valid").With("LocationConstraint", location);
                if (location != env.Region)
                    throw new AwsException("IllegalLocationConstraintException", 400, $"The {location} location constraint is incompatible for the region specific endpoint this request was sent to.");
            }
        }
        else if (env.Region != "us-east-1")
        {
            // Outside us-east-1 S3 requires the constraint to name the endpoint's region.
            throw new AwsException("IllegalLocationConstraintException", 400, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.");
        }
        var bucket = new BucketRecord(name, ctx.Principal.AccountId, env.Region, env.Clock.GetUtcNow(), ObjectOwnership: ownership, Acl: acl);
        if (string.Equals(ctx.Header("x-amz-bucket-object-lock-enabled"), "true", StringComparison.OrdinalIgnoreCase))
        {
            // A bucket made with Object Lock is versioned from the start; S3 asks for the
            // permissions to set both.
            ctx.Authorize("s3:PutBucketObjectLockConfiguration", $"arn:aws:s3:::{name}");
            ctx.Authorize("s3:PutBucketVersioning", $"arn:aws:s3:::{name}");
            bucket = bucket with { Versioning = VersioningStatus.Enabled, ObjectLock = new ObjectLockConfigurationRecord() };
        }
        env.Store.CreateBucket(bucket);
        ctx.Response.Headers.Location = "/" + name;
        S3Http.Empty(ctx);
    }

    static async Task<CreateBucketConfiguration?> ReadOptionalBodyAsync(RequestContext ctx)
    {
        var hasBody = ctx.Request.ContentLength > 0 || ctx.Request.Headers.ContainsKey("Transfer-Encoding") || ctx.ChunkedBody is not null;
        if (!hasBody) return null;
        var buffered = await SigV4Authenticator.ReadAllAsync(ctx.Body);
        if (buffered.Length == 0) return null;
        ctx.Body = new MemoryStream(buffered);
        return await S3Http.ReadXmlAsync(ctx, null, S3XmlReader.ReadCreateBucketConfiguration);
    }

    public Task HeadBucket(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        ctx.Response.Headers["x-amz-bucket-region"] = bucket.Region;
        S3Http.Empty(ctx);
        return Task.CompletedTask;
    }

    public Task DeleteBucket(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        env.Store.DeleteBucket(ctx.Bucket!);
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public async Task GetBucketLocation(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        // us-east-1 is the one region S3 reports as an empty constraint.
        await S3Http.WriteXmlAsync(ctx, new GetBucketLocationOutput { LocationConstraint = bucket.Region != "us-east-1" ? bucket.Region : null });
    }

    public async Task GetBucketVersioning(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        // A bucket that was never versioned answers no Status at all.
        await S3Http.WriteXmlAsync(ctx, new GetBucketVersioningOutput { Status = bucket.Versioning });
    }

    public async Task PutBucketVersioning(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        var config = await S3Http.ReadXmlAsync(ctx, "VersioningConfiguration", S3XmlReader.ReadVersioningConfiguration);
        if (config.Status is not (VersioningStatus.Enabled or VersioningStatus.Suspended) || config.MFADelete is not (null or "Enabled" or "Disabled"))
            throw S3Errors.MalformedXml();
        // MFA delete needs an MFA device to authenticate deletes with; Strata has none.
        if (config.MFADelete == "Enabled" || ctx.Header("x-amz-mfa") is not null)
            throw S3Errors.InvalidRequest("MFA delete is not supported: Strata has no MFA devices. Set versioning without MfaDelete (or with MfaDelete Disabled).");
        env.Store.UpdateBucket(ctx.Bucket!, b => b.ObjectLock is not null && config.Status != VersioningStatus.Enabled
            ? throw ObjectLockOperations.InvalidBucketState("An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
            : b with { Versioning = config.Status });
        S3Http.Empty(ctx);
    }

    public async Task ListObjects(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var encode = S3Http.Encoder(ctx);
        var prefix = S3Http.Query(ctx, "prefix") ?? "";
        var delimiter = NullIfEmpty(S3Http.Query(ctx, "delimiter"));
        var marker = NullIfEmpty(S3Http.Query(ctx, "marker"));
        var maxKeys = MaxKeys(ctx);
        var page = S3Listing.List(Scanner(bucket.Name), prefix, delimiter, marker, S3Listing.IsCommonPrefix(marker, prefix, delimiter), maxKeys);
        var owner = env.Owner(bucket.OwnerAccountId);
        await S3Http.WriteXmlAsync(ctx, new ListObjectsOutput
        {
            Name = bucket.Name,
            Prefix = encode(prefix),
            Marker = encode(marker ?? ""),
            MaxKeys = maxKeys,
            Delimiter = delimiter is null ? null : encode(delimiter),
            IsTruncated = page.IsTruncated,
            NextMarker = page.IsTruncated && delimiter is not null && page.LastEntry is not null ? encode(page.LastEntry) : null,
            EncodingType = EncodingType(ctx),
            Contents = Contents(page, encode, owner is null ? null : ObjectOwner(owner), RestoreStatusAt(ctx)),
            CommonPrefixes = CommonPrefixes(page, encode),
        });
    }

    public async Task ListObjectsV2(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var encode = S3Http.Encoder(ctx);
        var prefix = S3Http.Query(ctx, "prefix") ?? "";
        var delimiter = NullIfEmpty(S3Http.Query(ctx, "delimiter"));
        var startAfter = NullIfEmpty(S3Http.Query(ctx, "start-after"));
        var token = S3Http.Query(ctx, "continuation-token");
        if (token is not null && token.Length == 0) throw S3Errors.InvalidArgument("The continuation token provided is incorrect", "continuation-token", token);
        var maxKeys = MaxKeys(ctx);
        var fetchOwner = S3Http.Query(ctx, "fetch-owner") == "true";
        var (from, fromIsPrefix) = token is not null ? DecodeToken(token) : (startAfter, false);
        var page = S3Listing.List(Scanner(bucket.Name), prefix, delimiter, from, fromIsPrefix, maxKeys);
        var owner = fetchOwner ? env.Owner(bucket.OwnerAccountId) : null;
        await S3Http.WriteXmlAsync(ctx, new ListObjectsV2Output
        {
            Name = bucket.Name,
            Prefix = encode(prefix),
            MaxKeys = maxKeys,
            Delimiter = delimiter is null ? null : encode(delimiter),
            IsTruncated = page.IsTruncated,
            KeyCount = page.Contents.Count + page.CommonPrefixes.Count,
            ContinuationToken = token,
            NextContinuationToken = page.IsTruncated ? EncodeToken(page.LastEntry!, page.LastEntryIsPrefix) : null,
            StartAfter = startAfter is null ? null : encode(startAfter),
            EncodingType = EncodingType(ctx),
            // The owner only with fetch-owner=true.
            Contents = Contents(page, encode, owner is null ? null : ObjectOwner(owner), RestoreStatusAt(ctx)),
            CommonPrefixes = CommonPrefixes(page, encode),
        });
    }

    public async Task ListObjectVersions(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var encode = S3Http.Encoder(ctx);
        var prefix = S3Http.Query(ctx, "prefix") ?? "";
        var delimiter = NullIfEmpty(S3Http.Query(ctx, "delimiter"));
        var keyMarker = NullIfEmpty(S3Http.Query(ctx, "key-marker"));
        var versionIdMarker = S3Http.Query(ctx, "version-id-marker");
        if (versionIdMarker is { Length: > 0 } && keyMarker is null)
            throw S3Errors.InvalidArgument("A version-id marker cannot be specified without a key marker.", "version-id-marker", versionIdMarker);
        if (versionIdMarker is { Length: > 0 } && !S3VersionIds.IsWellFormed(versionIdMarker))
            throw S3Errors.InvalidArgument("Invalid version id specified", "version-id-marker", versionIdMarker);
        var maxKeys = MaxKeys(ctx);
        // A bucket never versioned has only current objects (each the "null" version): one scan.
        var scan = bucket.Versioning is null ? Scanner(bucket.Name)
            : (p, startAfter, limit, skip) => env.Store.ScanVersionedKeys(bucket.Name, p, startAfter, limit, skip);
        IReadOnlyList<ObjectRecord> VersionsOf(string key) => bucket.Versioning is null
            ? env.Store.GetObject(bucket.Name, key) is { } o ? [o] : []
            : env.Store.ListKeyVersions(bucket.Name, key);
        var page = S3VersionListing.List(scan, VersionsOf, v => v.WireVersionId, prefix, delimiter, keyMarker, versionIdMarker, maxKeys);
        var owner = ObjectOwner(env.Owner(bucket.OwnerAccountId));
        var versions = page.Entries.Where(e => e.Version is { IsDeleteMarker: false }).ToList();
        var markers = page.Entries.Where(e => e.Version is { IsDeleteMarker: true }).ToList();
        await S3Http.WriteXmlAsync(ctx, new ListObjectVersionsOutput
        {
            Name = bucket.Name,
            Prefix = encode(prefix),
            KeyMarker = encode(keyMarker ?? ""),
            VersionIdMarker = versionIdMarker ?? "",
            MaxKeys = maxKeys,
            Delimiter = delimiter is null ? null : encode(delimiter),
            IsTruncated = page.IsTruncated,
            NextKeyMarker = page.NextKeyMarker is { } next ? encode(next) : null,
            NextVersionIdMarker = page.NextVersionIdMarker,
            EncodingType = EncodingType(ctx),
            Versions = versions.Select(e => new ObjectVersion
            {
                Key = encode(e.Key),
                VersionId = e.Version!.WireVersionId,
                IsLatest = e.IsLatest,
                LastModified = e.Version.LastModified,
                ETag = e.Version.ETag,
                ChecksumAlgorithm = e.Version.ChecksumAlgorithm is null ? null : [e.Version.ChecksumAlgorithm],
                ChecksumType = e.Version.ChecksumAlgorithm is null ? null : e.Version.ChecksumType,
                Size = e.Version.Size,
                Owner = owner(e.Version.OwnerAccountId),
                StorageClass = e.Version.StorageClass,
            }).ToList(),
            DeleteMarkers = markers.Count == 0 ? null : markers.Select(e => new DeleteMarkerEntry
            {
                Key = encode(e.Key),
                VersionId = e.Version!.WireVersionId,
                IsLatest = e.IsLatest,
                LastModified = e.Version.LastModified,
                Owner = owner(e.Version.OwnerAccountId),
            }).ToList(),
            CommonPrefixes = page.Entries.Where(e => e.Version is null).Select(e => new CommonPrefix { Prefix = encode(e.Key) }).ToList(),
        });
    }

    S3Listing.Scan Scanner(string bucket) => (prefix, startAfter, limit, skip) => env.Store.ScanObjects(bucket, prefix, startAfter, limit, skip);

    /// <summary>When the request asks for <c>RestoreStatus</c> (<c>x-amz-optional-object-attributes</c>),
    /// the time the listing reports it at; null when it does not ask.</summary>
    DateTimeOffset? RestoreStatusAt(RequestContext ctx)
    {
        if (ctx.Header("x-amz-optional-object-attributes") is not { } asked) return null;
        var names = asked.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Any(n => !S3Enums.OptionalObjectAttributes.Contains(n)))
            throw S3Errors.InvalidArgument("Invalid attribute name specified.", "x-amz-optional-object-attributes", asked);
        return env.Clock.GetUtcNow();
    }

    /// <summary>The Owner a listing shows for an object: the account that owns it, which with ACLs
    /// on may be another than the bucket's (<paramref name="bucketOwner"/>, whose record is at hand).</summary>
    Func<string, Owner> ObjectOwner(AccountRecord? bucketOwner)
    {
        var bucketOwnerShape = S3Http.OwnerOf(bucketOwner);
        return account => bucketOwner is not null && account == bucketOwner.Id ? bucketOwnerShape : S3Http.OwnerOf(env.Owner(account));
    }

    static List<ObjectShape> Contents(ListingPage page, Func<string, string> encode, Func<string, Owner>? owner, DateTimeOffset? restoreStatusAt)
        => page.Contents.Select(entry =>
        {
            var o = S3Store.ParseObject(entry.Value);
            return new ObjectShape
            {
                Key = encode(entry.Key),
                LastModified = o.LastModified,
                ETag = o.ETag,
                ChecksumAlgorithm = o.ChecksumAlgorithm is null ? null : [o.ChecksumAlgorithm],
                ChecksumType = o.ChecksumAlgorithm is null ? null : o.ChecksumType,
                Size = o.Size,
                Owner = owner?.Invoke(o.OwnerAccountId),
                StorageClass = o.StorageClass,
                // S3 reports a restore's status for archived objects a restore was asked for.
                RestoreStatus = restoreStatusAt is { } now && o.Restore is { } r && now < r.ExpiresAt
                    ? new RestoreStatus { IsRestoreInProgress = now < r.CompletesAt, RestoreExpiryDate = now < r.CompletesAt ? null : r.ExpiresAt }
                    : null,
            };
        }).ToList();

    static List<CommonPrefix> CommonPrefixes(ListingPage page, Func<string, string> encode)
        => page.CommonPrefixes.Select(p => new CommonPrefix { Prefix = encode(p) }).ToList();

    /// <summary><c>encoding-type=url</c> is echoed (<see cref="S3Http.Encoder"/> has validated it).</summary>
    static string? EncodingType(RequestContext ctx) => S3Http.Query(ctx, "encoding-type") is not null ? "url" : null;

    static int MaxKeys(RequestContext ctx)
        => S3Http.IntQuery(ctx, "max-keys", "Provided max-keys not an integer or within integer range", 1000) ?? 1000;

    static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>Continuation tokens are opaque to clients: the last entry and whether it was a
    /// common prefix, base64-encoded.</summary>
    static string EncodeToken(string last, bool isPrefix)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes((isPrefix ? "p:" : "k:") + last));

    static (string? Value, bool IsPrefix) DecodeToken(string token)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.Length >= 2 && text[1] == ':' && text[0] is 'p' or 'k') return (text[2..], text[0] == 'p');
        }
        catch (FormatException) { }
        throw S3Errors.InvalidArgument("The continuation token provided is incorrect", "continuation-token", token);
    }

    /// <summary>S3's bucket naming rules (general purpose buckets).</summary>
    public static void ValidateBucketName(string name)
    {
        if (!IsValidBucketName(name)) throw S3Errors.InvalidBucketName(name);
    }

    static bool IsValidBucketName(string name)
        => name.Length is >= 3 and <= 63
            && BucketNameChars().IsMatch(name)
            && !name.Contains("..", StringComparison.Ordinal)
            && !IPAddress.TryParse(name, out _)
            && !name.StartsWith("xn--", StringComparison.Ordinal)
            && !name.StartsWith("sthree-", StringComparison.Ordinal)
            && !name.EndsWith("-s3alias", StringComparison.Ordinal)
            && !name.EndsWith("--ol-s3", StringComparison.Ordinal);

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]
    private static partial Regex BucketNameChars();
}
