using System.Buffers;
using System.Globalization;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

internal sealed class ObjectOperations(S3Environment env)
{
    S3Store Store => env.Store;

    public async Task PutObject(RequestContext ctx)
    {
        await StoreAsync(ctx, "PutObject");
        S3Http.Empty(ctx);
    }

    /// <summary>Stores the request's body as the object at its key, as its headers describe it
    /// (metadata, tags, checksums, encryption, write conditions), and writes the headers that
    /// answer for it. PutObject's path, and a browser upload's (POST Object) too, whose form
    /// fields stand in for those headers; <paramref name="reason"/> names the request in the
    /// object's event.</summary>
    internal async Task<ObjectRecord> StoreAsync(RequestContext ctx, string reason)
    {
        var bucket = env.RequireBucket(ctx);
        var key = ctx.Key!;
        S3Http.ValidateKey(key);
        AclOperations.CheckObjectWrite(env, ctx, bucket);
        var (headers, metadata) = S3Http.ObjectHeaders(ctx);
        var tags = S3Http.ParseTaggingHeader(ctx.Header("x-amz-tagging"));
        var storageClass = StorageClasses.Requested(ctx);
        var now = env.Clock.GetUtcNow();
        var locking = ObjectLockOperations.ForNewVersion(bucket, ObjectLockOperations.Requested(ctx, bucket, now), now);
        if (reason == "PutObject") ObjectLockOperations.RequireDigest(ctx, locking, "Put Object");
        var algorithm = ObjectBody.RequestedAlgorithm(ctx);
        var sse = env.Sse.ForNewObject(ctx, bucket, key);
        var body = await ObjectBody.ReceiveAsync(ctx, Store.Blobs, algorithm, sse?.DataKey);
        var record = Commit(ctx, key, body, headers, metadata, tags, storageClass, sse?.Meta, locking);
        env.Put(ObjectEvents.ObjectCreated(bucket, record, ctx, reason));
        ctx.Response.Headers.ETag = record.ETag;
        WriteVersionHeader(ctx, bucket, record);
        WriteExpirationHeader(ctx, bucket, record);
        WriteChecksumHeaders(ctx, record);
        ServerSideEncryption.WriteHeaders(ctx.Response, record.Encryption);
        return record;
    }

    /// <summary>Makes a received (or copied) body the object at <paramref name="key"/>, under the
    /// request's write conditions, with the Object Lock settings it gets. A body that does not
    /// commit is deleted: no row names it.</summary>
    ObjectRecord Commit(RequestContext ctx, string key, ReceivedBody body, Dictionary<string, string> headers, Dictionary<string, string> metadata,
        List<ObjectTag> tags, string storageClass, ObjectEncryption? encryption, ObjectLock.Settings locking)
    {
        var record = locking.ApplyTo(new ObjectRecord
        {
            Key = key,
            Size = body.Size,
            ETag = $"\"{body.Md5Hex}\"",
            LastModified = env.Clock.GetUtcNow(),
            Segments = [new Segment(body.BlobId, body.Size)],
            Headers = headers,
            Metadata = metadata,
            Tags = tags,
            ChecksumAlgorithm = body.ChecksumAlgorithm?.ToString(),
            Checksum = body.Checksum,
            ChecksumType = body.Checksum is null ? null : "FULL_OBJECT",
            StorageClass = storageClass,
            OwnerAccountId = env.WriterAccount(ctx, env.RequireBucket(ctx)),
            Encryption = encryption,
            Acl = AclOperations.NewObjectAcl(env, ctx, env.RequireBucket(ctx)),
        });
        try
        {
            record = Store.PutObject(ctx.Bucket!, record, existing => CheckWriteConditions(ctx, existing));
        }
        catch
        {
            Store.Blobs.Delete(body.BlobId);
            throw;
        }
        return record;
    }

    /// <summary>Conditional writes (PutObject, CompleteMultipartUpload): <c>If-None-Match: *</c>
    /// (create only) and <c>If-Match</c>. S3 implements If-None-Match on writes only with
    /// <c>*</c>; an ETag there is refused, not ignored.</summary>
    internal static void CheckWriteConditions(RequestContext ctx, ObjectRecord? existing)
    {
        if (ctx.Header("If-None-Match") is { } none)
        {
            if (none.Trim() != "*") throw S3Errors.NotImplemented().With("Header", "If-None-Match");
            if (existing is not null) throw S3Errors.PreconditionFailed("If-None-Match");
        }
        if (ctx.Header("If-Match") is { } match)
        {
            if (existing is null) throw S3Errors.NoSuchKey(ctx.Key!);
            if (!EtagMatches(match, existing.ETag)) throw S3Errors.PreconditionFailed("If-Match");
        }
    }

    /// <summary>The request's <c>versionId</c>: null when it names none; refused when it cannot
    /// name a version at all.</summary>
    internal static string? RequestedVersion(RequestContext ctx)
    {
        var versionId = S3Http.Query(ctx, "versionId");
        if (versionId is not null && !S3VersionIds.IsWellFormed(versionId)) throw S3Errors.InvalidVersionId(versionId);
        return versionId;
    }

    /// <summary><c>x-amz-version-id</c>, as S3 sends it: for every object of a bucket that has
    /// (or had) versioning, and whenever the request named a version; never for a bucket that
    /// was never versioned.</summary>
    internal static void WriteVersionHeader(RequestContext ctx, BucketRecord bucket, ObjectRecord record)
    {
        if (record.VersionId is not null || bucket.Versioning is not null || S3Http.Query(ctx, "versionId") is not null)
            ctx.Response.Headers["x-amz-version-id"] = record.WireVersionId;
    }

    /// <summary>The current object, or the version the request names. A key whose latest version
    /// is a delete marker is NoSuchKey, saying so in its headers; a version that is a delete
    /// marker cannot be read (405), as in S3.</summary>
    internal ObjectRecord ReadVersion(RequestContext ctx, BucketRecord bucket, string? versionId, string method)
    {
        var key = ctx.Key!;
        if (versionId is null)
        {
            if (Store.GetObject(bucket.Name, key) is { } current) return current;
            if (bucket.Versioning is not null && Store.LatestDeleteMarker(bucket.Name, key) is { } marker) WriteDeleteMarkerHeaders(ctx, marker);
            throw S3Errors.NoSuchKey(key);
        }
        var version = Store.GetVersion(bucket.Name, key, versionId) ?? throw S3Errors.NoSuchVersion(key, versionId);
        if (!version.IsDeleteMarker) return version;
        WriteDeleteMarkerHeaders(ctx, version);
        ctx.Response.Headers.LastModified = Xml.HttpDate(version.LastModified);
        throw S3Errors.MethodNotAllowed(method, "DeleteMarker");
    }

    /// <summary><c>x-amz-expiration</c>, as S3 sends it for a current object that a lifecycle rule
    /// expires: when, and by which rule.</summary>
    internal static void WriteExpirationHeader(RequestContext ctx, BucketRecord bucket, ObjectRecord record)
    {
        if (bucket.Lifecycle is { } lifecycle && Lifecycle.CurrentExpiration(lifecycle.Rules, record) is { } expiry)
            ctx.Response.Headers["x-amz-expiration"] = Lifecycle.ExpirationHeader(expiry.At, expiry.RuleId);
    }

    static void WriteDeleteMarkerHeaders(RequestContext ctx, ObjectRecord marker)
    {
        ctx.Response.Headers["x-amz-delete-marker"] = "true";
        ctx.Response.Headers["x-amz-version-id"] = marker.WireVersionId;
    }

    public Task GetObject(RequestContext ctx) => ServeAsync(ctx, head: false);

    public Task HeadObject(RequestContext ctx) => ServeAsync(ctx, head: true);

    async Task ServeAsync(RequestContext ctx, bool head)
    {
        var bucket = env.RequireBucket(ctx);
        ServerSideEncryption.CheckReadHeaders(ctx);
        var versionId = RequestedVersion(ctx);
        // The blobs are opened before anything is answered: an open file stays readable even if
        // a concurrent PUT replaces the object and deletes it. If the PUT wins the race between
        // reading the record and opening its blobs, reading the record again finds the new one.
        for (var attempt = 0; ; attempt++)
        {
            var record = ReadVersion(ctx, bucket, versionId, head ? "HEAD" : "GET");
            var files = new List<FileStream>();
            try
            {
                if (!head)
                {
                    foreach (var segment in record.Segments) files.Add(Store.Blobs.OpenRead(segment.BlobId));
                }
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < 3)
            {
                foreach (var f in files) await f.DisposeAsync();
                continue;
            }
            try
            {
                WriteVersionHeader(ctx, bucket, record);
                // A version named by id is not the current object the rule's date is about.
                if (versionId is null) WriteExpirationHeader(ctx, bucket, record);
                await ServeRecordAsync(ctx, record, files, head);
                return;
            }
            finally
            {
                foreach (var f in files) await f.DisposeAsync();
            }
        }
    }

    async Task ServeRecordAsync(RequestContext ctx, ObjectRecord record, List<FileStream> files, bool head)
    {
        // An SSE-C object answers only to its key (HEAD too); a KMS one needs kms:Decrypt to be read.
        var dataKey = head && record.Encryption?.Algorithm != ObjectEncryption.SseC ? null
            : env.Sse.DataKeyFor(ctx, record.Encryption, ctx.Bucket!, ctx.Key!);
        CheckReadConditions(ctx, record);
        RequireWritableOverrides(ctx);
        var now = env.Clock.GetUtcNow();
        if (!head && !StorageClasses.IsReadable(record, now)) throw StorageClasses.NotInActiveTier(record);
        var response = ctx.Response;
        long offset = 0, length = record.Size;
        var partial = false;

        if (S3Http.Query(ctx, "partNumber") is { } partText)
        {
            if (!int.TryParse(partText, NumberStyles.None, CultureInfo.InvariantCulture, out var partNumber) || partNumber < 1 || partNumber > 10000)
                throw S3Errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", partText);
            var parts = record.PartsCount is null ? [new Segment(record.Segments[0].BlobId, record.Size)] : record.Segments;
            // A part is named by the number it was uploaded as (an upload may skip numbers), as
            // GetObjectAttributes lists it; segments stored before numbers were kept count from 1.
            var index = -1;
            for (var i = 0; i < parts.Count && index < 0; i++)
                if ((parts[i].PartNumber ?? i + 1) == partNumber) index = i;
            if (index < 0) throw new AwsException("InvalidPartNumber", 416, "The requested partnumber is not satisfiable").With("PartNumberRequested", partText).With("ActualPartCount", parts.Count.ToString(CultureInfo.InvariantCulture));
            offset = parts.Take(index).Sum(p => p.Size);
            length = parts[index].Size;
            partial = record.PartsCount is not null;
            response.Headers["x-amz-mp-parts-count"] = (record.PartsCount ?? 1).ToString(CultureInfo.InvariantCulture);
        }
        else if (ctx.Header("Range") is { } range && ParseRange(range, record.Size) is { } r)
        {
            (offset, length) = r;
            partial = true;
        }

        response.StatusCode = partial ? 206 : 200;
        if (partial) response.Headers.ContentRange = $"bytes {offset}-{offset + length - 1}/{record.Size}";
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = record.ETag;
        response.Headers.LastModified = Xml.HttpDate(record.LastModified);
        response.ContentType = "binary/octet-stream";
        S3Http.WriteStoredHeaders(response, record.Headers, record.Metadata);
        // S3 names the class only when it is not STANDARD.
        if (record.StorageClass != StorageClasses.Standard) response.Headers["x-amz-storage-class"] = record.StorageClass;
        if (StorageClasses.RestoreHeader(record, now) is { } restore) response.Headers["x-amz-restore"] = restore;
        if (record.Tags.Count > 0) response.Headers["x-amz-tagging-count"] = record.Tags.Count.ToString(CultureInfo.InvariantCulture);
        if (record.PartsCount is { } count && S3Http.Query(ctx, "partNumber") is null && head)
            response.Headers["x-amz-mp-parts-count"] = count.ToString(CultureInfo.InvariantCulture);
        if (string.Equals(ctx.Header("x-amz-checksum-mode"), "ENABLED", StringComparison.OrdinalIgnoreCase) && (!partial || record.ChecksumType == "COMPOSITE" && length == record.Size))
            WriteChecksumHeaders(ctx, record);
        ServerSideEncryption.WriteHeaders(response, record.Encryption);
        ObjectLockOperations.WriteHeaders(ctx, record);
        ApplyResponseOverrides(ctx);
        response.ContentLength = length;
        if (head || length == 0) return;

        var byBlob = record.Segments.Select((segment, i) => (segment.BlobId, File: files[i])).ToDictionary(x => x.BlobId, x => x.File);
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            foreach (var (segment, segmentOffset, segmentCount) in ObjectBody.Ranges(record, offset, length))
                await ObjectBody.CopySegmentAsync(byBlob[segment.BlobId], segment, dataKey, segmentOffset, segmentCount,
                    chunk => response.Body.WriteAsync(chunk, ctx.Http.RequestAborted), buffer, ctx.Http.RequestAborted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    static void WriteChecksumHeaders(RequestContext ctx, ObjectRecord record)
    {
        if (record.ChecksumAlgorithm is null || record.Checksum is null || !Checksums.TryParse(record.ChecksumAlgorithm, out var algorithm)) return;
        ctx.Response.Headers[Checksums.HeaderName(algorithm)] = record.Checksum;
        if (record.ChecksumType is { } type) ctx.Response.Headers["x-amz-checksum-type"] = type;
    }

    /// <summary>GET/HEAD preconditions, evaluated in the order S3 (RFC 7232) evaluates them.</summary>
    static void CheckReadConditions(RequestContext ctx, ObjectRecord record)
    {
        var ifMatch = ctx.Header("If-Match");
        var ifNoneMatch = ctx.Header("If-None-Match");
        var modified = S3Http.Seconds(record.LastModified);
        if (ifMatch is not null && !EtagMatches(ifMatch, record.ETag)) throw S3Errors.PreconditionFailed("If-Match");
        if (ifMatch is null && S3Http.HttpDate(ctx.Header("If-Unmodified-Since")) is { } unmodifiedSince && modified > unmodifiedSince)
            throw S3Errors.PreconditionFailed("If-Unmodified-Since");
        if (ifNoneMatch is not null && EtagMatches(ifNoneMatch, record.ETag)) throw NotModified(ctx, record);
        if (ifNoneMatch is null && S3Http.HttpDate(ctx.Header("If-Modified-Since")) is { } modifiedSince && modified <= modifiedSince)
            throw NotModified(ctx, record);
    }

    static AwsException NotModified(RequestContext ctx, ObjectRecord record)
    {
        ctx.Response.Headers.ETag = record.ETag;
        ctx.Response.Headers.LastModified = Xml.HttpDate(record.LastModified);
        return S3Errors.NotModified();
    }

    internal static bool EtagMatches(string condition, string etag)
        => condition.Split(',', StringSplitOptions.TrimEntries).Any(c => c == "*" || c.Trim('"') == etag.Trim('"'));

    /// <summary>A single byte range (<c>bytes=a-b</c>, <c>a-</c>, <c>-n</c>). Unparseable or
    /// multiple ranges are ignored (the whole object is returned), as S3 does; a range that
    /// starts past the end is 416.</summary>
    internal static (long Offset, long Length)? ParseRange(string header, long size)
    {
        header = header.Trim();
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(',')) return null;
        var spec = header[6..].Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0) return null;
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix)) return null;
            if (suffix == 0) throw S3Errors.InvalidRange(size);
            suffix = Math.Min(suffix, size);
            return (size - suffix, suffix);
        }
        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start)) return null;
        var end = size - 1;
        if (last.Length > 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start) return null;
            end = Math.Min(end, size - 1);
        }
        if (start >= size) throw S3Errors.InvalidRange(size);
        return (start, end - start + 1);
    }

    static readonly (string Query, string Header)[] ResponseOverrides =
    [
        ("response-content-type", "Content-Type"), ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"), ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"), ("response-content-encoding", "Content-Encoding"),
    ];

    /// <summary>A header carries visible ASCII, spaces and tabs only: an override with anything
    /// else (a decoded %00, a non-ASCII character) cannot be written, so it is refused before any
    /// header of the answer is set, not answered with a 500.</summary>
    static void RequireWritableOverrides(RequestContext ctx)
    {
        foreach (var (query, _) in ResponseOverrides)
        {
            if (S3Http.Query(ctx, query) is { } value && !S3Http.IsWritableHeaderValue(value))
                throw S3Errors.InvalidArgument($"Header value cannot be represented using ISO-8859-1: {query}", query, value);
        }
    }

    static void ApplyResponseOverrides(RequestContext ctx)
    {
        foreach (var (query, header) in ResponseOverrides)
        {
            if (S3Http.Query(ctx, query) is { } value) ctx.Response.Headers[header] = value;
        }
    }

    /// <summary>What S3 knows of an object without its body: those of ETag, Checksum, ObjectParts,
    /// StorageClass and ObjectSize that <c>x-amz-object-attributes</c> names. Answers to an SSE-C
    /// object only with its key, and to a delete marker as GetObject does.</summary>
    public async Task GetObjectAttributes(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var attributes = ObjectAttributes(string.Join(',', ctx.Request.Headers["x-amz-object-attributes"].ToArray()));
        var maxParts = HeaderInt(ctx, "x-amz-max-parts", "Argument max-parts must be an integer between 0 and 2147483647.") ?? 1000;
        var marker = HeaderInt(ctx, "x-amz-part-number-marker", "Argument partNumberMarker must be an integer.") ?? 0;
        ServerSideEncryption.CheckReadHeaders(ctx);
        var record = ReadVersion(ctx, bucket, RequestedVersion(ctx), "GET");
        // Only an SSE-C object needs its key to be described; a KMS one needs no decryption here.
        if (record.Encryption?.Algorithm == ObjectEncryption.SseC) env.Sse.DataKeyFor(ctx, record.Encryption, bucket.Name, ctx.Key!);
        WriteVersionHeader(ctx, bucket, record);
        ctx.Response.Headers.LastModified = Xml.HttpDate(record.LastModified);
        await S3Http.WriteXmlAsync(ctx, Attributes(record, attributes, Math.Min(maxParts, 1000), marker));
    }

    static readonly string[] AttributeNames = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"];

    /// <summary>The attributes a request names (comma-separated, as clients join the list); none,
    /// or one S3 does not know, is refused.</summary>
    internal static HashSet<string> ObjectAttributes(string header)
    {
        var names = header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
            throw S3Errors.InvalidRequest("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty");
        if (names.FirstOrDefault(n => !AttributeNames.Contains(n, StringComparer.Ordinal)) is { } unknown)
            throw S3Errors.InvalidArgument("Invalid attribute name specified.", "x-amz-object-attributes", unknown);
        return names.ToHashSet(StringComparer.Ordinal);
    }

    static int? HeaderInt(RequestContext ctx, string name, string message)
    {
        if (ctx.Header(name) is not { } text) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) throw S3Errors.InvalidArgument(message, name, text);
        return value;
    }

    /// <summary>The answer for <paramref name="record"/>. The ETag goes without its quotes and a
    /// composite checksum without its "-N" part count, as S3 gives them here. The parts are only
    /// for an object made by a multipart upload: listed a page at a time after
    /// <paramref name="marker"/>, each with its own checksum; a full-object checksum has no part
    /// checksums to show, so then only their count.</summary>
    internal static GetObjectAttributesOutput Attributes(ObjectRecord record, IReadOnlySet<string> attributes, int maxParts, int marker)
    {
        var hasAlgorithm = Checksums.TryParse(record.ChecksumAlgorithm, out var algorithm);
        var output = new GetObjectAttributesOutput
        {
            ETag = attributes.Contains("ETag") ? record.ETag.Trim('"') : null,
            StorageClass = attributes.Contains("StorageClass") ? record.StorageClass : null,
            ObjectSize = attributes.Contains("ObjectSize") ? record.Size : null,
        };
        if (attributes.Contains("Checksum") && hasAlgorithm && record.Checksum is { } checksum)
        {
            var value = record.ChecksumType == "COMPOSITE" && checksum.LastIndexOf('-') is var dash and > 0 ? checksum[..dash] : checksum;
            output = output with { Checksum = new Checksum { ChecksumType = record.ChecksumType }.WithChecksum(algorithm, value) };
        }
        if (!attributes.Contains("ObjectParts") || record.PartsCount is not { } count) return output;
        if (record.ChecksumType == "FULL_OBJECT") return output with { ObjectParts = new GetObjectAttributesParts { TotalPartsCount = count } };
        var parts = record.Segments.Select((s, i) => (Number: s.PartNumber ?? i + 1, Segment: s)).Where(p => p.Number > marker).ToList();
        var page = parts.Take(maxParts).ToList();
        return output with
        {
            ObjectParts = new GetObjectAttributesParts
            {
                TotalPartsCount = count,
                PartNumberMarker = marker,
                NextPartNumberMarker = page.Count > 0 ? page[^1].Number : 0,
                MaxParts = maxParts,
                IsTruncated = parts.Count > page.Count,
                Parts = page.Select(p =>
                {
                    var part = new ObjectPart { PartNumber = p.Number, Size = p.Segment.Size };
                    return hasAlgorithm && p.Segment.Checksum is { } c ? part.WithChecksum(algorithm, c) : part;
                }).ToList(),
            },
        };
    }

    /// <summary>Restores an archived object (GLACIER, DEEP_ARCHIVE) for the days asked: 202 when
    /// a restore starts, 409 while one runs, 200 when the copy is already restored (its expiry
    /// moves to the new days, as S3 does). An object that is not archived needs no restore, and S3
    /// refuses it after finding the object.</summary>
    public async Task RestoreObject(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var versionId = RequestedVersion(ctx);
        var record = ReadVersion(ctx, bucket, versionId, "POST");
        if (!StorageClasses.IsArchive(record.StorageClass))
            throw Model.S3Errors.InvalidObjectState("Restore is not allowed for the object's current storage class");
        var request = await S3Http.ReadXmlAsync(ctx, "RestoreRequest", S3XmlReader.ReadRestoreRequest);
        // S3 Select restores are gone from S3; an archive restore names the days its copy lasts.
        if (request.Type is not null || request.SelectParameters is not null || request.OutputLocation is not null)
            throw S3Errors.InvalidArgument("This operation does not support restore requests of type SELECT", "Type", request.Type);
        if (request.Days is not { } days) throw S3Errors.MalformedXml();
        if (days < 1) throw S3Errors.InvalidArgument("Days must be a positive integer", "Days", days.ToString(CultureInfo.InvariantCulture));
        var tier = request.GlacierJobParameters?.Tier ?? "Standard";
        var now = env.Clock.GetUtcNow();
        var status = 0;
        Store.UpdateVersion(bucket.Name, ctx.Key!, versionId, current =>
        {
            // Decided again on the version as stored: a write since the read may have replaced it.
            if (!StorageClasses.IsArchive(current.StorageClass))
                throw Model.S3Errors.InvalidObjectState("Restore is not allowed for the object's current storage class");
            if (current.Restore is { } running && now < running.CompletesAt)
                throw new AwsException("RestoreAlreadyInProgress", 409, "Object restore is already in progress");
            if (current.Restore is { } done && now < done.ExpiresAt)
            {
                status = 200;
                return current with { Restore = done with { Days = days, ExpiresAt = StorageClasses.RestoreExpiry(now, days) } };
            }
            status = 202;
            var completes = now + StorageClasses.RetrievalTime(current.StorageClass, tier);
            return current with { Restore = new ObjectRestore(completes, StorageClasses.RestoreExpiry(completes, days), days, tier) };
        });
        WriteVersionHeader(ctx, bucket, record);
        S3Http.Empty(ctx, status);
    }

    public Task DeleteObject(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var versionId = RequestedVersion(ctx);
        var now = env.Clock.GetUtcNow();
        // Only removing a version for good can meet a lock; a delete marker hides it and is allowed.
        var bypass = versionId is not null && ObjectLockOperations.BypassesGovernance(ctx, ctx.Key!);
        var outcome = Store.DeleteObject(ctx.Bucket!, ctx.Key!, versionId, now, env.WriterAccount(ctx, bucket), ObjectLockOperations.Remover(now, _ => bypass));
        if (outcome.Locked) throw ObjectLock.Locked();
        // Deleting a key that names nothing changes nothing, and sends no event.
        if (outcome.Changed) env.Put(ObjectEvents.ObjectDeleted(bucket, ctx.Key!, versionId, outcome, ctx, now));
        if (outcome.VersionId is { } id) ctx.Response.Headers["x-amz-version-id"] = id;
        if (outcome.DeleteMarker) ctx.Response.Headers["x-amz-delete-marker"] = "true";
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public async Task DeleteObjects(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        await ObjectBody.BufferDigestedBodyAsync(ctx);
        var request = await S3Http.ReadXmlAsync(ctx, "Delete", S3XmlReader.ReadDelete);
        var quiet = request.Quiet == true;
        var objects = request.Objects ?? [];
        if (objects.Count is 0 or > 1000) throw S3Errors.MalformedXml();
        var errors = new List<Error>();
        var deletable = new List<(string Key, string? VersionId)>();
        foreach (var o in objects)
        {
            var key = o.Key ?? throw S3Errors.MalformedXml();
            var versionId = o.VersionId;
            if (versionId is not null && !S3VersionIds.IsWellFormed(versionId))
            {
                // S3 reports an id that cannot name a version as one that does not exist.
                errors.Add(new Error { Key = key, VersionId = versionId, Code = "NoSuchVersion", Message = "The specified version does not exist." });
                continue;
            }
            if (System.Text.Encoding.UTF8.GetByteCount(key) > 1024)
            {
                var tooLong = S3Errors.KeyTooLong(System.Text.Encoding.UTF8.GetByteCount(key));
                errors.Add(new Error { Key = key, VersionId = versionId, Code = tooLong.Code, Message = tooLong.Message });
                continue;
            }
            if (!MayDelete(ctx, key, versionId))
            {
                errors.Add(new Error { Key = key, VersionId = versionId, Code = "AccessDenied", Message = "Access Denied" });
                continue;
            }
            deletable.Add((key, versionId));
        }
        var now = env.Clock.GetUtcNow();
        // Whether the caller bypasses GOVERNANCE is decided for each key, as its permission is.
        var bypassing = deletable.Where(d => d.VersionId is not null).Select(d => d.Key).Distinct()
            .Where(key => ObjectLockOperations.BypassesGovernance(ctx, key)).ToHashSet(StringComparer.Ordinal);
        var outcomes = Store.DeleteObjects(ctx.Bucket!, deletable, now, env.WriterAccount(ctx, bucket), ObjectLockOperations.Remover(now, bypassing.Contains));
        var deleted = new List<DeletedObject>();
        for (var i = 0; i < deletable.Count; i++)
        {
            var ((key, versionId), outcome) = (deletable[i], outcomes[i]);
            if (outcome.Locked)
            {
                var locked = ObjectLock.Locked();
                errors.Add(new Error { Key = key, VersionId = versionId, Code = locked.Code, Message = locked.Message });
                continue;
            }
            if (outcome.Changed) env.Put(ObjectEvents.ObjectDeleted(bucket, key, versionId, outcome, ctx, now));
            deleted.Add(new DeletedObject
            {
                Key = key,
                VersionId = versionId,
                DeleteMarker = outcome.DeleteMarker ? true : null,
                // A marker made by this delete, or the marker a versioned delete removed.
                DeleteMarkerVersionId = outcome.DeleteMarker ? outcome.VersionId : null,
            });
        }
        await S3Http.WriteXmlAsync(ctx, new DeleteObjectsOutput
        {
            // Quiet mode reports only the errors.
            Deleted = quiet ? null : deleted,
            Errors = errors,
        });
    }

    /// <summary>Whether the caller may delete one key of a DeleteObjects: <c>s3:DeleteObject</c> on
    /// it, or <c>s3:DeleteObjectVersion</c> (with that version as <c>s3:versionid</c>) when the
    /// key names a version, each decided with the request's own principal and keys.</summary>
    static bool MayDelete(RequestContext ctx, string key, string? versionId)
    {
        var resource = $"arn:aws:s3:::{ctx.Bucket}/{key}";
        if (versionId is null) return ctx.Authorizer!.Decide(ctx, "s3:DeleteObject", resource).IsAllowed;
        // The request has no ?versionId= of its own: the key's version is its condition key.
        ctx.ConditionKeys["s3:versionid"] = [versionId];
        try { return ctx.Authorizer!.Decide(ctx, "s3:DeleteObjectVersion", resource).IsAllowed; }
        finally { ctx.ConditionKeys.Remove("s3:versionid"); }
    }

    /// <summary>Parses <c>x-amz-copy-source</c> (<c>[/]bucket/key[?versionId=…]</c>, URL-encoded)
    /// and returns the source object, checking the caller may read it.</summary>
    internal ObjectRecord CopySource(RequestContext ctx)
    {
        var header = ctx.Header("x-amz-copy-source")!;
        var path = Auth.SigV4.PercentDecode(CopySourcePath(header)).TrimStart('/');
        var versionId = CopySourceVersion(header);
        if (versionId is not null && !S3VersionIds.IsWellFormed(versionId)) throw S3Errors.InvalidVersionId(versionId);
        var slash = path.IndexOf('/');
        if (slash <= 0 || slash == path.Length - 1)
            throw S3Errors.InvalidArgument("Invalid copy source object key", "x-amz-copy-source", header);
        var bucketName = path[..slash];
        var key = path[(slash + 1)..];
        // Reading a named version of the source takes the version's own permission, as in S3.
        if (versionId is null) ctx.Authorize("s3:GetObject", $"arn:aws:s3:::{bucketName}/{key}");
        else
        {
            // The copy source's version, not the request's own (a copy has none), is s3:versionid.
            ctx.ConditionKeys["s3:versionid"] = [versionId];
            try { ctx.Authorize("s3:GetObjectVersion", $"arn:aws:s3:::{bucketName}/{key}"); }
            finally { ctx.ConditionKeys.Remove("s3:versionid"); }
        }
        var bucket = Store.GetBucket(bucketName) ?? throw S3Errors.NoSuchBucket(bucketName);
        var source = versionId is null ? Store.GetObject(bucketName, key) ?? throw S3Errors.NoSuchKey(key)
            : Store.GetVersion(bucketName, key, versionId) ?? throw S3Errors.NoSuchVersion(key, versionId);
        if (source.IsDeleteMarker)
            throw S3Errors.InvalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.");
        CheckCopyConditions(ctx, source);
        if (!StorageClasses.IsReadable(source, env.Clock.GetUtcNow())) throw StorageClasses.SourceNotInActiveTier();
        if (versionId is not null || source.VersionId is not null || bucket.Versioning is not null)
            ctx.Response.Headers["x-amz-copy-source-version-id"] = source.WireVersionId;
        return source with { Key = key };
    }

    static string CopySourcePath(string header) => header.IndexOf('?') is var q and >= 0 ? header[..q] : header;

    /// <summary>The <c>versionId</c> of <c>x-amz-copy-source</c>'s query, if it names one.</summary>
    static string? CopySourceVersion(string header)
    {
        var q = header.IndexOf('?');
        if (q < 0) return null;
        foreach (var pair in header[(q + 1)..].Split('&'))
        {
            if (pair.StartsWith("versionId=", StringComparison.Ordinal)) return Uri.UnescapeDataString(pair["versionId=".Length..]);
        }
        return null;
    }

    static void CheckCopyConditions(RequestContext ctx, ObjectRecord source)
    {
        var modified = S3Http.Seconds(source.LastModified);
        var ifMatch = ctx.Header("x-amz-copy-source-if-match");
        var ifNoneMatch = ctx.Header("x-amz-copy-source-if-none-match");
        if (ifMatch is not null && !EtagMatches(ifMatch, source.ETag)) throw S3Errors.PreconditionFailed("x-amz-copy-source-If-Match");
        if (ifMatch is null && S3Http.HttpDate(ctx.Header("x-amz-copy-source-if-unmodified-since")) is { } unmodified && modified > unmodified)
            throw S3Errors.PreconditionFailed("x-amz-copy-source-If-Unmodified-Since");
        if (ifNoneMatch is not null && EtagMatches(ifNoneMatch, source.ETag)) throw S3Errors.PreconditionFailed("x-amz-copy-source-If-None-Match");
        if (ifNoneMatch is null && S3Http.HttpDate(ctx.Header("x-amz-copy-source-if-modified-since")) is { } since && modified <= since)
            throw S3Errors.PreconditionFailed("x-amz-copy-source-If-Modified-Since");
    }

    public async Task CopyObject(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var key = ctx.Key!;
        S3Http.ValidateKey(key);
        AclOperations.CheckObjectWrite(env, ctx, bucket);
        var storageClass = StorageClasses.Requested(ctx);
        var source = CopySource(ctx);
        var metadataDirective = ctx.Header("x-amz-metadata-directive") ?? "COPY";
        var taggingDirective = ctx.Header("x-amz-tagging-directive") ?? "COPY";
        if (metadataDirective is not ("COPY" or "REPLACE"))
            throw S3Errors.InvalidArgument("Unknown metadata directive.", "x-amz-metadata-directive", metadataDirective);
        if (taggingDirective is not ("COPY" or "REPLACE"))
            throw S3Errors.InvalidArgument("Unknown tagging directive.", "x-amz-tagging-directive", taggingDirective);
        var sourceBucket = Auth.SigV4.PercentDecode(ctx.Header("x-amz-copy-source")!.Split('?')[0]).TrimStart('/').Split('/')[0];
        var algorithm = Checksums.TryParse(ctx.Header("x-amz-checksum-algorithm"), out var requested) ? requested
            : Checksums.TryParse(source.ChecksumAlgorithm, out var sourceAlgorithm) ? sourceAlgorithm : (ChecksumAlgorithm?)null;
        // Copying a named version onto its own key restores it: that is allowed.
        if (sourceBucket == ctx.Bucket && source.Key == key && CopySourceVersion(ctx.Header("x-amz-copy-source")!) is null
            && metadataDirective == "COPY" && taggingDirective == "COPY"
            && ctx.Header("x-amz-storage-class") is null && ctx.Header("x-amz-checksum-algorithm") is null
            && ctx.Header("x-amz-server-side-encryption") is null && ctx.Header("x-amz-server-side-encryption-customer-algorithm") is null)
            throw S3Errors.InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");

        var (headers, metadata) = metadataDirective == "REPLACE" ? S3Http.ObjectHeaders(ctx) : (source.Headers, source.Metadata);
        var tags = taggingDirective == "REPLACE" ? S3Http.ParseTaggingHeader(ctx.Header("x-amz-tagging")) : source.Tags;
        // The copy is decrypted with the source's key and sealed with a key of its own: the
        // destination's encryption comes from this request (or its bucket), not the source.
        var sourceKey = env.Sse.DataKeyFor(ctx, source.Encryption, sourceBucket, source.Key, copySource: true);
        var sse = env.Sse.ForNewObject(ctx, bucket, key);
        // The copy's lock comes from this request or the bucket's default, never from its source.
        var now = env.Clock.GetUtcNow();
        var locking = ObjectLockOperations.ForNewVersion(bucket, ObjectLockOperations.Requested(ctx, bucket, now), now);
        var body = await ObjectBody.CopyAsync(Store.Blobs, source, sourceKey, 0, source.Size, algorithm, sse?.DataKey);
        // S3 stores a copy in STANDARD unless the request names a class: the source's is not inherited.
        var record = Commit(ctx, key, body, headers, metadata, tags, storageClass, sse?.Meta, locking);
        env.Put(ObjectEvents.ObjectCreated(bucket, record, ctx, "CopyObject"));
        if (record.VersionId is not null || bucket.Versioning is not null) ctx.Response.Headers["x-amz-version-id"] = record.WireVersionId;
        WriteExpirationHeader(ctx, bucket, record);
        ServerSideEncryption.WriteHeaders(ctx.Response, record.Encryption);
        var result = new CopyObjectResult { ETag = record.ETag, LastModified = record.LastModified };
        if (record.Checksum is not null && Checksums.TryParse(record.ChecksumAlgorithm, out var a))
            result = result.WithChecksum(a, record.Checksum) with { ChecksumType = "FULL_OBJECT" };
        await S3Http.WriteXmlAsync(ctx, result);
    }

    public async Task PutObjectTagging(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var versionId = RequestedVersion(ctx);
        var tagging = await S3Http.ReadXmlAsync(ctx, "Tagging", S3XmlReader.ReadTagging);
        var tags = (tagging.TagSet ?? []).Select(tag => new ObjectTag(tag.Key ?? throw S3Errors.MalformedXml(), tag.Value ?? "")).ToList();
        S3Http.ValidateTags(tags);
        UpdateTags(ctx, bucket, versionId, tags, "PUT");
        S3Http.Empty(ctx);
    }

    public async Task GetObjectTagging(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var record = ReadVersion(ctx, bucket, RequestedVersion(ctx), "GET");
        WriteVersionHeader(ctx, bucket, record);
        await S3Http.WriteXmlAsync(ctx, new GetObjectTaggingOutput { TagSet = record.Tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() });
    }

    public Task DeleteObjectTagging(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        UpdateTags(ctx, bucket, RequestedVersion(ctx), [], "DELETE");
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    void UpdateTags(RequestContext ctx, BucketRecord bucket, string? versionId, List<ObjectTag> tags, string method)
    {
        // A delete marker has no tags to set (405, as reading it); a missing version is NoSuchVersion.
        if (versionId is not null) ReadVersion(ctx, bucket, versionId, method);
        var record = Store.UpdateTags(ctx.Bucket!, ctx.Key!, versionId, tags);
        WriteVersionHeader(ctx, bucket, record);
    }
}
