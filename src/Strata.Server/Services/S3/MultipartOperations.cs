using System.Globalization;
using System.Security.Cryptography;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

internal sealed class MultipartOperations(S3Environment env, ObjectOperations objects)
{
    const long MinPartSize = 5 * 1024 * 1024;

    /// <summary>How long a repeated CompleteMultipartUpload of a completed upload answers the same
    /// success (S3 does for a while, and SDKs retry a completion whose answer they lost).</summary>
    internal static readonly TimeSpan CompletedResultKept = TimeSpan.FromMinutes(15);

    /// <summary>Results of completed uploads by bucket and upload id, until they expire.</summary>
    readonly CompletedUploads _completedUploads = new();
    S3Store Store => env.Store;

    public async Task CreateMultipartUpload(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var key = ctx.Key!;
        S3Http.ValidateKey(key);
        AclOperations.CheckObjectWrite(env, ctx, bucket);
        var (headers, metadata) = S3Http.ObjectHeaders(ctx);
        string? algorithm = null;
        if (ctx.Header("x-amz-checksum-algorithm") is { } a)
        {
            if (!Checksums.TryParse(a, out var parsed))
                throw S3Errors.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
            algorithm = parsed.ToString();
        }
        var type = ctx.Header("x-amz-checksum-type")?.ToUpperInvariant();
        if (type is not (null or "COMPOSITE" or "FULL_OBJECT"))
            throw S3Errors.InvalidRequest("Value for x-amz-checksum-type header is invalid.");
        if (type is not null && algorithm is null)
            throw S3Errors.InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
        if (algorithm is not null)
        {
            // CRC64NVME only exists as a full-object checksum; the SHA family only as composite.
            type ??= algorithm == "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE";
            if (type == "FULL_OBJECT" && algorithm is "SHA1" or "SHA256")
                throw S3Errors.InvalidRequest($"The FULL_OBJECT checksum type cannot be used with the {algorithm.ToLowerInvariant()} checksum algorithm.");
            if (type == "COMPOSITE" && algorithm == "CRC64NVME")
                throw S3Errors.InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
        }
        // The settings asked for here; a default retention is the bucket's when the object is made.
        var locking = ObjectLockOperations.Requested(ctx, bucket, env.Clock.GetUtcNow());
        var upload = new UploadRecord
        {
            ObjectLockMode = locking.Mode,
            ObjectLockRetainUntilDate = locking.RetainUntilDate,
            ObjectLockLegalHold = locking.LegalHold,
            UploadId = NewUploadId(),
            Bucket = ctx.Bucket!,
            Key = key,
            Initiated = env.Clock.GetUtcNow(),
            OwnerAccountId = env.WriterAccount(ctx, bucket),
            Acl = AclOperations.NewObjectAcl(env, ctx, bucket),
            InitiatorArn = ctx.Principal.Arn,
            Headers = headers,
            Metadata = metadata,
            Tags = S3Http.ParseTaggingHeader(ctx.Header("x-amz-tagging")),
            ChecksumAlgorithm = algorithm,
            ChecksumType = type,
            StorageClass = StorageClasses.Requested(ctx),
            // The upload's data key, wrapped; every part is sealed with it.
            Encryption = env.Sse.ForNewObject(ctx, bucket, key)?.Meta,
        };
        Store.CreateUpload(upload);
        ServerSideEncryption.WriteHeaders(ctx.Response, upload.Encryption);
        if (algorithm is not null)
        {
            ctx.Response.Headers["x-amz-checksum-algorithm"] = algorithm;
            ctx.Response.Headers["x-amz-checksum-type"] = type;
        }
        await S3Http.WriteXmlAsync(ctx, new CreateMultipartUploadOutput { Bucket = upload.Bucket, Key = upload.Key, UploadId = upload.UploadId });
    }

    /// <summary>A new upload id: 256 random bits, URL-safe, and without '-' (base64's '+' is '.'),
    /// so that it never starts with one: the aws CLI reads <c>--upload-id -…</c> as a missing value.</summary>
    internal static string NewUploadId() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '.').Replace('/', '_').TrimEnd('=');

    UploadRecord RequireUpload(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        var uploadId = S3Http.Query(ctx, "uploadId") ?? "";
        var upload = Store.GetUpload(ctx.Bucket!, uploadId);
        if (upload is null || upload.Key != ctx.Key) throw S3Errors.NoSuchUpload(uploadId);
        return upload;
    }

    static int PartNumber(RequestContext ctx)
    {
        var text = S3Http.Query(ctx, "partNumber");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 10000)
            throw S3Errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", text);
        return n;
    }

    /// <summary>The part's checksum algorithm: the upload's, which a part may not contradict.</summary>
    static ChecksumAlgorithm? PartAlgorithm(RequestContext ctx, UploadRecord upload)
    {
        var requested = ObjectBody.RequestedAlgorithm(ctx);
        if (upload.ChecksumAlgorithm is null) return requested;
        Checksums.TryParse(upload.ChecksumAlgorithm, out var expected);
        if (requested is { } r && r != expected)
            throw S3Errors.InvalidRequest($"Checksum Type mismatch occurred, expected checksum Type: {expected.ToString().ToLowerInvariant()}, actual checksum Type: {r.ToString().ToLowerInvariant()}");
        return expected;
    }

    public async Task UploadPart(RequestContext ctx)
    {
        var upload = RequireUpload(ctx);
        var partNumber = PartNumber(ctx);
        if (env.Store.GetBucket(upload.Bucket) is { } bucket)
        {
            var now = env.Clock.GetUtcNow();
            ObjectLockOperations.RequireDigest(ctx, ObjectLockOperations.ForNewVersion(bucket, ObjectLockOperations.OfUpload(upload), now), "Put Part");
        }
        var algorithm = PartAlgorithm(ctx, upload);
        var dataKey = env.Sse.DataKeyFor(ctx, upload.Encryption, upload.Bucket, upload.Key);
        var body = await ObjectBody.ReceiveAsync(ctx, Store.Blobs, algorithm, dataKey);
        var part = SavePart(upload, partNumber, body);
        ctx.Response.Headers.ETag = part.ETag;
        ServerSideEncryption.WriteHeaders(ctx.Response, upload.Encryption);
        if (algorithm is { } a && body.Checksum is not null) ctx.Response.Headers[Checksums.HeaderName(a)] = body.Checksum;
        S3Http.Empty(ctx);
    }

    /// <summary>Records a received part; a part that does not commit has its blob deleted.</summary>
    PartRecord SavePart(UploadRecord upload, int partNumber, ReceivedBody body)
    {
        var part = new PartRecord(partNumber, body.BlobId, body.Size, $"\"{body.Md5Hex}\"", env.Clock.GetUtcNow(), body.Checksum);
        try
        {
            Store.PutPart(upload.Bucket, upload.UploadId, part);
        }
        catch
        {
            Store.Blobs.Delete(body.BlobId);
            throw;
        }
        return part;
    }

    public async Task UploadPartCopy(RequestContext ctx)
    {
        var upload = RequireUpload(ctx);
        var partNumber = PartNumber(ctx);
        var source = objects.CopySource(ctx);
        long offset = 0, length = source.Size;
        if (ctx.Header("x-amz-copy-source-range") is { } range)
        {
            var spec = range.StartsWith("bytes=", StringComparison.Ordinal) ? range[6..].Split('-') : [];
            if (spec.Length != 2 || !long.TryParse(spec[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !long.TryParse(spec[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last < first)
                throw S3Errors.InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", "x-amz-copy-source-range", range);
            if (last >= source.Size)
                throw S3Errors.InvalidArgument($"Range specified is not valid for source object of size: {source.Size}", "x-amz-copy-source-range", range);
            (offset, length) = (first, last - first + 1);
        }
        Checksums.TryParse(upload.ChecksumAlgorithm, out var uploadAlgorithm);
        var sourceKey = env.Sse.DataKeyFor(ctx, source.Encryption, Auth.SigV4.PercentDecode(ctx.Header("x-amz-copy-source")!.Split('?')[0]).TrimStart('/').Split('/')[0], source.Key, copySource: true);
        var dataKey = env.Sse.DataKeyFor(ctx, upload.Encryption, upload.Bucket, upload.Key);
        var body = await ObjectBody.CopyAsync(Store.Blobs, source, sourceKey, offset, length, upload.ChecksumAlgorithm is null ? null : uploadAlgorithm, dataKey);
        var part = SavePart(upload, partNumber, body);
        // The part is sealed with the upload's key, and says so as UploadPart does.
        ServerSideEncryption.WriteHeaders(ctx.Response, upload.Encryption);
        var result = new CopyPartResult { ETag = part.ETag, LastModified = part.LastModified };
        await S3Http.WriteXmlAsync(ctx, part.Checksum is null ? result : result.WithChecksum(uploadAlgorithm, part.Checksum));
    }

    public async Task CompleteMultipartUpload(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        var uploadId = S3Http.Query(ctx, "uploadId") ?? "";
        if (Store.GetUpload(ctx.Bucket!, uploadId) is null
            && _completedUploads.Find(ctx.Bucket!, uploadId, env.Clock.GetUtcNow()) is { } done && done.Output.Key == ctx.Key)
        {
            ServerSideEncryption.WriteHeaders(ctx.Response, done.Encryption);
            if (done.VersionId is { } versionId) ctx.Response.Headers["x-amz-version-id"] = versionId;
            if (done.Expiration is { } expiration) ctx.Response.Headers["x-amz-expiration"] = expiration;
            await S3Http.WriteXmlAsync(ctx, done.Output);
            return;
        }
        var upload = RequireUpload(ctx);
        var locking = ObjectLockOperations.ForNewVersion(env.RequireBucket(ctx), ObjectLockOperations.OfUpload(upload), env.Clock.GetUtcNow());
        var completed = await S3Http.ReadXmlAsync(ctx, "CompleteMultipartUpload", S3XmlReader.ReadCompletedMultipartUpload);
        var requested = new List<(int Number, string ETag, CompletedPart Part)>();
        foreach (var p in completed.Parts ?? [])
        {
            if (p.PartNumber is not (>= 0 and var number) || p.ETag is not { } etag) throw S3Errors.MalformedXml();
            requested.Add((number, etag, p));
        }
        if (requested.Count == 0) throw S3Errors.MalformedXml();
        for (var i = 1; i < requested.Count; i++)
        {
            if (requested[i].Number <= requested[i - 1].Number)
                throw new AwsException("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number.").With("UploadId", upload.UploadId);
        }
        Checksums.TryParse(upload.ChecksumAlgorithm, out var algorithm);
        var fullObject = upload.ChecksumType == "FULL_OBJECT";
        // A full-object CRC must be computed over the whole body, which cannot happen inside the
        // state transaction; compute it first over the parts as they stand now, then check in the
        // transaction that those very parts are still the ones being completed.
        var expectedBlobs = new List<string>();
        string? fullChecksum = null;
        if (fullObject)
        {
            var current = Store.ListParts(upload.UploadId).ToDictionary(p => p.PartNumber);
            using var hasher = Checksums.Create(algorithm);
            var buffer = new byte[1024 * 1024];
            var dataKey = env.Sse.DataKeyFor(ctx, upload.Encryption, upload.Bucket, upload.Key);
            foreach (var (number, _, _) in requested)
            {
                if (!current.TryGetValue(number, out var part)) throw InvalidPart(upload.UploadId, number);
                expectedBlobs.Add(part.BlobId);
                await using var input = Store.Blobs.OpenRead(part.BlobId);
                await ObjectBody.CopySegmentAsync(input, new Segment(part.BlobId, part.Size), dataKey, 0, part.Size, chunk =>
                {
                    hasher.Append(chunk.Span);
                    return ValueTask.CompletedTask;
                }, buffer);
            }
            fullChecksum = hasher.Base64();
        }

        ObjectRecord? result = null;
        var stored = Store.CompleteUpload(upload.Bucket, upload.UploadId, (u, parts) =>
        {
            var byNumber = parts.ToDictionary(p => p.PartNumber);
            var chosen = new List<PartRecord>();
            // Every named part must exist with that ETag (and checksum) before sizes matter.
            foreach (var (number, etag, completedPart) in requested)
            {
                if (!byNumber.TryGetValue(number, out var part) || part.ETag.Trim('"') != etag.Trim('"'))
                    throw InvalidPart(u.UploadId, number);
                if (u.ChecksumAlgorithm is null) continue;
                var given = completedPart.Checksum(algorithm);
                // A composite checksum is built from the parts' checksums, so each must be named.
                if (given is null && !fullObject)
                    throw S3Errors.InvalidRequest($"The upload was created using a {u.ChecksumAlgorithm.ToLowerInvariant()} checksum. The complete request must include the checksum for each part. It was missing for part {number} in the request.");
                if (given is not null && given != part.Checksum) throw InvalidPart(u.UploadId, number);
            }
            for (var i = 0; i < requested.Count; i++)
            {
                var (number, _, _) = requested[i];
                var part = byNumber[number];
                if (i < requested.Count - 1 && part.Size < MinPartSize)
                    throw new AwsException("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
                        .With("ProposedSize", part.Size.ToString(CultureInfo.InvariantCulture)).With("MinSizeAllowed", MinPartSize.ToString(CultureInfo.InvariantCulture))
                        .With("PartNumber", number.ToString(CultureInfo.InvariantCulture)).With("ETag", part.ETag);
                if (fullObject && expectedBlobs[i] != part.BlobId)
                    throw new AwsException("ConcurrentModification", 409, "The parts of this upload changed while it was being completed. Please retry.");
                chosen.Add(part);
            }
            var md5s = chosen.SelectMany(p => Convert.FromHexString(p.ETag.Trim('"'))).ToArray();
            string? checksum = null;
            if (u.ChecksumAlgorithm is not null)
            {
                if (fullObject) checksum = fullChecksum;
                else
                {
                    // COMPOSITE: the checksum of the concatenated part checksums, then "-N".
                    using var hasher = Checksums.Create(algorithm);
                    foreach (var p in chosen) hasher.Append(Convert.FromBase64String(p.Checksum!));
                    checksum = $"{hasher.Base64()}-{chosen.Count}";
                }
                if (ctx.Header(Checksums.HeaderName(algorithm)) is { } expected && !ChecksumMatches(expected, checksum!))
                    throw S3Errors.ChecksumMismatch(algorithm);
            }
            result = locking.ApplyTo(new ObjectRecord
            {
                Key = u.Key,
                Size = chosen.Sum(p => p.Size),
                ETag = $"\"{Convert.ToHexStringLower(MD5.HashData(md5s))}-{chosen.Count}\"",
                LastModified = env.Clock.GetUtcNow(),
                Segments = chosen.Select(p => new Segment(p.BlobId, p.Size, p.ETag, p.Checksum, p.PartNumber)).ToList(),
                PartsCount = chosen.Count,
                Headers = u.Headers,
                Metadata = u.Metadata,
                Tags = u.Tags,
                ChecksumAlgorithm = u.ChecksumAlgorithm,
                Checksum = checksum,
                ChecksumType = u.ChecksumType,
                StorageClass = u.StorageClass,
                OwnerAccountId = u.OwnerAccountId,
                Encryption = u.Encryption,
                Acl = u.Acl,
            });
            return result;
        }, existing => ObjectOperations.CheckWriteConditions(ctx, existing));
        // As stored: with its version id when the bucket is versioned.
        var record = stored;
        if (env.Store.GetBucket(upload.Bucket) is { } bucket)
        {
            env.Put(ObjectEvents.ObjectCreated(bucket, record, ctx, "CompleteMultipartUpload"));
            ObjectOperations.WriteVersionHeader(ctx, bucket, record);
            ObjectOperations.WriteExpirationHeader(ctx, bucket, record);
        }
        ServerSideEncryption.WriteHeaders(ctx.Response, record.Encryption);
        var output = new CompleteMultipartUploadOutput
        {
            Location = $"{ctx.Request.Scheme}://{ctx.Request.Host}/{upload.Bucket}/{Auth.SigV4.UriEncode(upload.Key, false)}",
            Bucket = upload.Bucket,
            Key = upload.Key,
            ETag = record.ETag,
        };
        if (record.Checksum is not null) output = output.WithChecksum(algorithm, record.Checksum) with { ChecksumType = record.ChecksumType };
        var headers = ctx.Response.Headers;
        _completedUploads.Add(upload.Bucket, upload.UploadId, new CompletedUploads.Completed(output, record.Encryption,
            headers.TryGetValue("x-amz-version-id", out var v) ? v.ToString() : null,
            headers.TryGetValue("x-amz-expiration", out var x) ? x.ToString() : null,
            env.Clock.GetUtcNow() + CompletedResultKept));
        await S3Http.WriteXmlAsync(ctx, output);
    }

    /// <summary>Whether the checksum a completion names is the object's: a composite one may be
    /// named with or without its <c>-N</c> part count.</summary>
    internal static bool ChecksumMatches(string expected, string actual)
        => expected == actual || (actual.LastIndexOf('-') is var dash and > 0 && expected == actual[..dash]);

    static AwsException InvalidPart(string uploadId, int number)
        => new AwsException("InvalidPart", 400, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
            .With("UploadId", uploadId).With("PartNumber", number.ToString(CultureInfo.InvariantCulture));

    public Task AbortMultipartUpload(RequestContext ctx)
    {
        var upload = RequireUpload(ctx);
        Store.AbortUpload(upload.Bucket, upload.UploadId);
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public async Task ListParts(RequestContext ctx)
    {
        var upload = RequireUpload(ctx);
        var maxParts = S3Http.IntQuery(ctx, "max-parts", "Provided max-parts not an integer or within integer range", 1000) ?? 1000;
        var marker = S3Http.IntQuery(ctx, "part-number-marker", "Provided part-number-marker not an integer or within integer range", 10000) ?? 0;
        var all = Store.ListParts(upload.UploadId).Where(p => p.PartNumber > marker).ToList();
        var page = all.Take(maxParts).ToList();
        var truncated = all.Count > page.Count;
        var owner = env.Owner(upload.OwnerAccountId);
        var hasChecksums = Checksums.TryParse(upload.ChecksumAlgorithm, out var algorithm);
        await S3Http.WriteXmlAsync(ctx, new ListPartsOutput
        {
            Bucket = upload.Bucket,
            Key = upload.Key,
            UploadId = upload.UploadId,
            PartNumberMarker = marker,
            NextPartNumberMarker = page.Count > 0 ? page[^1].PartNumber : null,
            MaxParts = maxParts,
            IsTruncated = truncated,
            Parts = page.Select(part =>
            {
                var p = new Part { PartNumber = part.PartNumber, LastModified = part.LastModified, ETag = part.ETag, Size = part.Size };
                return part.Checksum is not null && hasChecksums ? p.WithChecksum(algorithm, part.Checksum) : p;
            }).ToList(),
            Initiator = InitiatorOf(upload, owner),
            Owner = S3Http.OwnerOf(owner),
            StorageClass = upload.StorageClass,
            ChecksumAlgorithm = upload.ChecksumAlgorithm,
            ChecksumType = upload.ChecksumType,
        });
    }

    /// <summary>Who started an upload, as ListParts and ListMultipartUploads show it.</summary>
    static Initiator InitiatorOf(UploadRecord upload, Identity.AccountRecord? owner) => new() { ID = upload.InitiatorArn, DisplayName = owner?.Name ?? "" };

    public async Task ListMultipartUploads(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        var prefix = S3Http.Query(ctx, "prefix") ?? "";
        var delimiter = S3Http.Query(ctx, "delimiter") is { Length: > 0 } d ? d : null;
        var keyMarker = S3Http.Query(ctx, "key-marker") ?? "";
        var uploadIdMarker = S3Http.Query(ctx, "upload-id-marker") ?? "";
        var maxUploads = S3Http.IntQuery(ctx, "max-uploads", "Provided max-uploads not an integer or within integer range", 1000) ?? 1000;
        var encode = S3Http.Encoder(ctx);
        // Uploads sort by key, then by initiation time (as S3 lists them).
        var uploads = Store.ListUploads(ctx.Bucket!)
            .Where(u => u.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(u => u.Key, StringComparer.Ordinal).ThenBy(u => u.Initiated).ThenBy(u => u.UploadId, StringComparer.Ordinal)
            .ToList();
        var entries = new List<(UploadRecord? Upload, string? CommonPrefix)>();
        var seenPrefixes = new HashSet<string>();
        var pastMarker = keyMarker.Length == 0;
        var markerUploadSeen = uploadIdMarker.Length == 0;
        var truncated = false;
        foreach (var u in uploads)
        {
            if (!pastMarker)
            {
                var c = string.CompareOrdinal(u.Key, keyMarker);
                if (c < 0) continue;
                if (c == 0)
                {
                    if (uploadIdMarker.Length == 0) continue;
                    if (!markerUploadSeen)
                    {
                        if (u.UploadId == uploadIdMarker) markerUploadSeen = true;
                        continue;
                    }
                }
            }
            string? cp = null;
            if (delimiter is not null && u.Key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) is var at and >= 0)
                cp = u.Key[..(at + delimiter.Length)];
            if (cp is not null && seenPrefixes.Contains(cp)) continue;
            if (entries.Count == maxUploads)
            {
                truncated = true;
                break;
            }
            if (cp is not null)
            {
                seenPrefixes.Add(cp);
                entries.Add((null, cp));
            }
            else entries.Add((u, null));
        }
        var owner = env.Owner(ctx.Principal.AccountId);
        var hasNext = truncated && entries.Count > 0;
        var next = hasNext ? entries[^1] : default;
        await S3Http.WriteXmlAsync(ctx, new ListMultipartUploadsOutput
        {
            Bucket = ctx.Bucket,
            KeyMarker = encode(keyMarker),
            UploadIdMarker = uploadIdMarker,
            NextKeyMarker = !hasNext ? null : encode(next.Upload?.Key ?? next.CommonPrefix!),
            NextUploadIdMarker = !hasNext ? null : next.Upload?.UploadId ?? "",
            MaxUploads = maxUploads,
            IsTruncated = truncated,
            Prefix = prefix.Length > 0 ? encode(prefix) : null,
            Delimiter = delimiter is null ? null : encode(delimiter),
            Uploads = entries.Where(e => e.Upload is not null).Select(e => e.Upload!).Select(u => new MultipartUpload
            {
                Key = encode(u.Key),
                UploadId = u.UploadId,
                Initiator = InitiatorOf(u, owner),
                Owner = S3Http.OwnerOf(owner),
                StorageClass = u.StorageClass,
                Initiated = u.Initiated,
                ChecksumAlgorithm = u.ChecksumAlgorithm,
                ChecksumType = u.ChecksumType,
            }).ToList(),
            CommonPrefixes = entries.Where(e => e.CommonPrefix is not null).Select(e => new CommonPrefix { Prefix = encode(e.CommonPrefix!) }).ToList(),
            EncodingType = S3Http.Query(ctx, "encoding-type") is not null ? "url" : null,
        });
    }
}

/// <summary>The answers of completed multipart uploads, kept in memory until they expire (a
/// restart forgets them: a retry after one answers NoSuchUpload, as a retry after expiry does).</summary>
internal sealed class CompletedUploads
{
    /// <summary>A completion's answer: its body, its encryption headers, and the version id and
    /// expiration headers it was sent with (null where it had none), so a retry reads the same.</summary>
    internal sealed record Completed(CompleteMultipartUploadOutput Output, ObjectEncryption? Encryption, string? VersionId, string? Expiration, DateTimeOffset Expires);

    readonly Dictionary<(string Bucket, string UploadId), Completed> _results = [];
    readonly Lock _gate = new();

    public void Add(string bucket, string uploadId, Completed completed)
    {
        lock (_gate)
        {
            // Expired results go whenever one is added, so the table holds at most a window's worth.
            foreach (var k in _results.Where(kv => kv.Value.Expires <= completed.Expires - MultipartOperations.CompletedResultKept).Select(kv => kv.Key).ToList())
                _results.Remove(k);
            _results[(bucket, uploadId)] = completed;
        }
    }

    public Completed? Find(string bucket, string uploadId, DateTimeOffset now)
    {
        lock (_gate)
        {
            return _results.TryGetValue((bucket, uploadId), out var c) && now < c.Expires ? c : null;
        }
    }
}
