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
        var (headers, metadata) = S3Http.ObjectHeaders(ctx);
        var tags = S3Http.ParseTaggingHeader(ctx.Header("x-amz-tagging"));
        var algorithm = ObjectBody.RequestedAlgorithm(ctx);
        var sse = env.Sse.ForNewObject(ctx, bucket, key);
        var body = await ObjectBody.ReceiveAsync(ctx, Store.Blobs, algorithm, sse?.DataKey);
        var record = Commit(ctx, key, body, headers, metadata, tags, "STANDARD", sse?.Meta);
        env.Put(ObjectEvents.ObjectCreated(bucket, record, ctx, reason));
        ctx.Response.Headers.ETag = record.ETag;
        WriteVersionHeader(ctx, bucket, record);
        WriteChecksumHeaders(ctx, record);
        ServerSideEncryption.WriteHeaders(ctx.Response, record.Encryption);
        return record;
    }

    /// <summary>Makes a received (or copied) body the object at <paramref name="key"/>, under the
    /// request's write conditions. A body that does not commit is deleted: no row names it.</summary>
    ObjectRecord Commit(RequestContext ctx, string key, ReceivedBody body, Dictionary<string, string> headers, Dictionary<string, string> metadata,
        List<ObjectTag> tags, string storageClass, ObjectEncryption? encryption)
    {
        var record = new ObjectRecord
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
        };
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
    ObjectRecord ReadVersion(RequestContext ctx, BucketRecord bucket, string? versionId, string method)
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
        var response = ctx.Response;
        long offset = 0, length = record.Size;
        var partial = false;

        if (S3Http.Query(ctx, "partNumber") is { } partText)
        {
            if (!int.TryParse(partText, NumberStyles.None, CultureInfo.InvariantCulture, out var partNumber) || partNumber < 1 || partNumber > 10000)
                throw S3Errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", partText);
            var parts = record.PartsCount is null ? [new Segment(record.Segments[0].BlobId, record.Size)] : record.Segments;
            if (partNumber > parts.Count) throw new AwsException("InvalidPartNumber", 416, "The requested partnumber is not satisfiable").With("PartNumberRequested", partText).With("ActualPartCount", parts.Count.ToString(CultureInfo.InvariantCulture));
            offset = parts.Take(partNumber - 1).Sum(p => p.Size);
            length = parts[partNumber - 1].Size;
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
        if (record.Tags.Count > 0) response.Headers["x-amz-tagging-count"] = record.Tags.Count.ToString(CultureInfo.InvariantCulture);
        if (record.PartsCount is { } count && S3Http.Query(ctx, "partNumber") is null && head)
            response.Headers["x-amz-mp-parts-count"] = count.ToString(CultureInfo.InvariantCulture);
        if (string.Equals(ctx.Header("x-amz-checksum-mode"), "ENABLED", StringComparison.OrdinalIgnoreCase) && (!partial || record.ChecksumType == "COMPOSITE" && length == record.Size))
            WriteChecksumHeaders(ctx, record);
        ServerSideEncryption.WriteHeaders(response, record.Encryption);
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

    public Task DeleteObject(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var versionId = RequestedVersion(ctx);
        var now = env.Clock.GetUtcNow();
        var outcome = Store.DeleteObject(ctx.Bucket!, ctx.Key!, versionId, now, env.WriterAccount(ctx, bucket));
        // Deleting a key that names nothing changes nothing, and sends no event.
        if (outcome.Changed) env.Put(ObjectEvents.ObjectDeleted(bucket, ctx.Key!, ctx, now));
        if (outcome.VersionId is { } id) ctx.Response.Headers["x-amz-version-id"] = id;
        if (outcome.DeleteMarker) ctx.Response.Headers["x-amz-delete-marker"] = "true";
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public async Task DeleteObjects(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        if (ctx.Header("Content-MD5") is null && !Checksums.All.Any(a => ctx.Header(Checksums.HeaderName(a)) is not null) && ctx.Header("x-amz-trailer") is null)
            throw S3Errors.InvalidRequest("Missing required header for this request: Content-MD5");
        // The XML is verified against Content-MD5/checksums like any body, in memory (it is small).
        var xmlBody = new MemoryStream();
        await ObjectBody.CopyVerifiedAsync(ctx, xmlBody, ObjectBody.RequestedAlgorithm(ctx), 4 * 1024 * 1024);
        xmlBody.Position = 0;
        ctx.Body = xmlBody;
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
            deletable.Add((key, versionId));
        }
        var now = env.Clock.GetUtcNow();
        var outcomes = Store.DeleteObjects(ctx.Bucket!, deletable, now, env.WriterAccount(ctx, bucket));
        var deleted = new List<DeletedObject>();
        for (var i = 0; i < deletable.Count; i++)
        {
            var ((key, versionId), outcome) = (deletable[i], outcomes[i]);
            if (outcome.Changed) env.Put(ObjectEvents.ObjectDeleted(bucket, key, ctx, now));
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
        ctx.Authorize(versionId is null ? "s3:GetObject" : "s3:GetObjectVersion", $"arn:aws:s3:::{bucketName}/{key}");
        var bucket = Store.GetBucket(bucketName) ?? throw S3Errors.NoSuchBucket(bucketName);
        var source = versionId is null ? Store.GetObject(bucketName, key) ?? throw S3Errors.NoSuchKey(key)
            : Store.GetVersion(bucketName, key, versionId) ?? throw S3Errors.NoSuchVersion(key, versionId);
        if (source.IsDeleteMarker)
            throw S3Errors.InvalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.");
        CheckCopyConditions(ctx, source);
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
        var body = await ObjectBody.CopyAsync(Store.Blobs, source, sourceKey, 0, source.Size, algorithm, sse?.DataKey);
        var record = Commit(ctx, key, body, headers, metadata, tags, ctx.Header("x-amz-storage-class") ?? source.StorageClass, sse?.Meta);
        env.Put(ObjectEvents.ObjectCreated(bucket, record, ctx, "CopyObject"));
        if (record.VersionId is not null || bucket.Versioning is not null) ctx.Response.Headers["x-amz-version-id"] = record.WireVersionId;
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
