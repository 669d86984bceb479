using System.Text.Json;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3's persistent model on the state store (buckets, objects, uploads, parts) and the blob
/// store (bodies). Each change to what a key names is one state transaction; blob files it
/// replaces are deleted only after that commit, and every blob in use is listed in a reference
/// table, so that a crash at any moment leaves the old object or the new one, and the sweep at
/// start removes only blobs no one can see.
/// <para>Versioning keeps those guarantees: a key's current object stays the one row in the
/// objects table (so reads, listings and Strata's own readers of a versioned bucket do exactly
/// what they do for an unversioned one), and its other versions (noncurrent objects and delete
/// markers, newest first) are one row in the versions table. Every version's blobs stay in the
/// reference table until that version is deleted; a write moves the replaced current object
/// into the versions row in the same transaction. A bucket never versioned has no versions rows
/// and pays nothing but reading its status, which its writes read anyway.</para>
/// </summary>
public sealed class S3Store(IStateStore state, BlobStore blobs)
{
    const string Buckets = "s3-buckets";
    const string Objects = "s3-objects";
    const string Uploads = "s3-uploads";
    const string Parts = "s3-parts";
    const string BlobRefs = "s3-blob-refs";
    const string Versions = "s3-versions";

    public BlobStore Blobs => blobs;

    static string ObjectKey(string bucket, string key) => bucket + "/" + key;
    static string UploadKey(string bucket, string uploadId) => bucket + "/" + uploadId;
    static string PartKey(string uploadId, int partNumber) => uploadId + "/" + partNumber.ToString("D5");

    // ---- buckets ----

    public BucketRecord? GetBucket(string name)
        => state.Read(r => r.Get(Buckets, name)) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.BucketRecord) : null;

    public List<BucketRecord> ListBuckets()
        => state.Read(r => r.Scan(Buckets, "", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, S3Json.Default.BucketRecord)!).ToList();

    public void CreateBucket(BucketRecord bucket) => state.Write(w =>
    {
        if (w.Get(Buckets, bucket.Name) is { } json)
        {
            var existing = JsonSerializer.Deserialize(json, S3Json.Default.BucketRecord)!;
            throw new BucketNameTaken(bucket.Name, byCaller: existing.OwnerAccountId == bucket.OwnerAccountId);
        }
        w.Put(Buckets, bucket.Name, JsonSerializer.Serialize(bucket, S3Json.Default.BucketRecord));
        return 0;
    });

    /// <summary>Changes a bucket's configuration (policy, public access block) in one transaction.</summary>
    public BucketRecord UpdateBucket(string name, Func<BucketRecord, BucketRecord> change) => state.Write(w =>
    {
        var bucket = w.Get(Buckets, name) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.BucketRecord)! : throw new BucketNotFound(name);
        bucket = change(bucket);
        w.Put(Buckets, name, JsonSerializer.Serialize(bucket, S3Json.Default.BucketRecord));
        return bucket;
    });

    public void DeleteBucket(string name)
    {
        var garbage = state.Write(w =>
        {
            if (w.Get(Buckets, name) is null) throw new BucketNotFound(name);
            // Noncurrent versions and delete markers count: S3 deletes only an empty bucket.
            if (w.Scan(Objects, name + "/", null, 1).Count > 0 || w.Scan(Versions, name + "/", null, 1).Count > 0) throw new BucketNotEmpty(name);
            // Unfinished multipart uploads go with the bucket.
            var garbage = new List<string>();
            foreach (var (uploadKey, _) in w.Scan(Uploads, name + "/", null, int.MaxValue))
            {
                garbage.AddRange(RemoveUpload(w, uploadKey[(name.Length + 1)..], uploadKey));
            }
            w.Delete(Buckets, name);
            return garbage;
        });
        DeleteBlobs(garbage);
    }

    // ---- objects ----

    public ObjectRecord? GetObject(string bucket, string key)
        => state.Read(r => r.Get(Objects, ObjectKey(bucket, key))) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.ObjectRecord) : null;

    /// <summary>Makes <paramref name="record"/> the object at its key, atomically, and returns it as
    /// stored (with its version id when the bucket is versioned). The check runs inside the
    /// transaction on the current object (conditional writes, bucket existence).</summary>
    public ObjectRecord PutObject(string bucket, ObjectRecord record, Action<ObjectRecord?>? check = null)
    {
        var (stored, garbage) = state.Write(w =>
        {
            var bucketJson = w.Get(Buckets, bucket) ?? throw new BucketNotFound(bucket);
            var versioning = VersioningOf(bucketJson);
            var old = ReadObject(w, bucket, record.Key);
            check?.Invoke(old);
            var garbage = new List<string>();
            return (Install(w, bucket, versioning, old, WithDefaultRetention(bucketJson, record), garbage), garbage);
        });
        DeleteBlobs(garbage);
        return stored;
    }

    /// <summary>A version that names no retention gets its bucket's default one, as read in the
    /// writing transaction: so do the objects Strata's own services write (trail logs, job
    /// outputs), and a write whose bucket got a default while its body was arriving.</summary>
    static ObjectRecord WithDefaultRetention(string bucketJson, ObjectRecord record)
        => record.ObjectLockMode is null && bucketJson.Contains("\"ObjectLock\"", StringComparison.Ordinal)
            && JsonSerializer.Deserialize(bucketJson, S3Json.Default.BucketRecord)!.ObjectLock is { DefaultMode: { } mode } config
            ? record with { ObjectLockMode = mode, ObjectLockRetainUntilDate = ObjectLock.DefaultRetainUntil(config, record.LastModified) }
            : record;

    /// <summary>A bucket's versioning status from its stored row, without parsing the row of a
    /// bucket that was never versioned (the common case, on every write).</summary>
    static string? VersioningOf(string bucketJson)
        => bucketJson.Contains("\"Versioning\"", StringComparison.Ordinal)
            ? JsonSerializer.Deserialize(bucketJson, S3Json.Default.BucketRecord)!.Versioning : null;

    /// <summary>Within a transaction: <paramref name="record"/> becomes the current object. In a
    /// bucket never versioned it replaces <paramref name="old"/>; in an Enabled one it gets a new
    /// version id and <paramref name="old"/> becomes noncurrent; in a Suspended one it is the
    /// null version, replacing the earlier null version wherever that is.</summary>
    static ObjectRecord Install(IStateWriter w, string bucket, string? versioning, ObjectRecord? old, ObjectRecord record, List<string> garbage)
    {
        if (versioning is null)
        {
            Replace(w, bucket, old, record, garbage);
            return record;
        }
        record = record with { VersionId = versioning == VersioningStatus.Enabled ? S3VersionIds.New(record.LastModified) : null };
        var stack = ReadStack(w, bucket, record.Key);
        if (old is not null) stack.Insert(0, old);
        if (record.VersionId is null) RemoveNullVersion(w, stack, garbage);
        WriteStack(w, bucket, record.Key, stack);
        foreach (var segment in record.Segments) w.Put(BlobRefs, segment.BlobId, ObjectKey(bucket, record.Key));
        w.Put(Objects, ObjectKey(bucket, record.Key), JsonSerializer.Serialize(record, S3Json.Default.ObjectRecord));
        return record;
    }

    static List<ObjectRecord> ReadStack(IStateReader r, string bucket, string key)
        => r.Get(Versions, ObjectKey(bucket, key)) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.VersionStack)!.Entries : [];

    static void WriteStack(IStateWriter w, string bucket, string key, List<ObjectRecord> stack)
    {
        if (stack.Count == 0) w.Delete(Versions, ObjectKey(bucket, key));
        else w.Put(Versions, ObjectKey(bucket, key), JsonSerializer.Serialize(new VersionStack(stack), S3Json.Default.VersionStack));
    }

    /// <summary>Removes the null version from <paramref name="stack"/> for good (its blobs lose
    /// their references): a Suspended bucket's write or delete replaces it.</summary>
    static void RemoveNullVersion(IStateWriter w, List<ObjectRecord> stack, List<string> garbage)
    {
        var i = stack.FindIndex(v => v.VersionId is null);
        if (i < 0) return;
        Unreference(w, stack[i], garbage);
        stack.RemoveAt(i);
    }

    static void Unreference(IStateWriter w, ObjectRecord version, List<string> garbage)
    {
        foreach (var segment in version.Segments)
        {
            w.Delete(BlobRefs, segment.BlobId);
            garbage.Add(segment.BlobId);
        }
    }

    /// <summary>Within a transaction: <paramref name="record"/> takes the key; the blobs of the
    /// object it replaces lose their references and are collected in <paramref name="garbage"/>
    /// (deleted once the transaction has committed).</summary>
    static void Replace(IStateWriter w, string bucket, ObjectRecord? old, ObjectRecord record, List<string> garbage)
    {
        foreach (var segment in old?.Segments ?? [])
        {
            w.Delete(BlobRefs, segment.BlobId);
            garbage.Add(segment.BlobId);
        }
        foreach (var segment in record.Segments) w.Put(BlobRefs, segment.BlobId, ObjectKey(bucket, record.Key));
        w.Put(Objects, ObjectKey(bucket, record.Key), JsonSerializer.Serialize(record, S3Json.Default.ObjectRecord));
    }

    /// <summary>Changes only the tags of the current object, or of the version
    /// <paramref name="versionId"/> names (its body and ETag stay); returns the version changed.</summary>
    public ObjectRecord UpdateTags(string bucket, string key, string? versionId, List<ObjectTag> tags)
        => UpdateVersion(bucket, key, versionId, old => old with { Tags = tags });

    /// <summary>Changes one version (the current object when <paramref name="versionId"/> is null)
    /// in one transaction: <paramref name="change"/> sees it as stored and may refuse by throwing.
    /// A delete marker cannot be changed. Returns the version as changed.</summary>
    public ObjectRecord UpdateVersion(string bucket, string key, string? versionId, Func<ObjectRecord, ObjectRecord> change) => state.Write(w =>
    {
        var current = ReadObject(w, bucket, key);
        if (versionId is null || current is not null && current.WireVersionId == versionId)
        {
            var changed = change(current ?? throw new ObjectNotFound(key));
            w.Put(Objects, ObjectKey(bucket, key), JsonSerializer.Serialize(changed, S3Json.Default.ObjectRecord));
            return changed;
        }
        var stack = ReadStack(w, bucket, key);
        var i = stack.FindIndex(v => v.WireVersionId == versionId);
        if (i < 0) throw new VersionNotFound(key, versionId);
        if (stack[i].IsDeleteMarker) throw new VersionIsDeleteMarker(key, versionId);
        stack[i] = change(stack[i]);
        WriteStack(w, bucket, key, stack);
        return stack[i];
    });

    /// <summary>One version: the current object or a noncurrent version or delete marker; null
    /// when none has that id.</summary>
    public ObjectRecord? GetVersion(string bucket, string key, string versionId) => state.Read(r =>
    {
        if (ReadObject(r, bucket, key) is { } current && current.WireVersionId == versionId) return current;
        return ReadStack(r, bucket, key).Find(v => v.WireVersionId == versionId);
    });

    /// <summary>The delete marker that is a key's latest version, if it is one (no current object).</summary>
    public ObjectRecord? LatestDeleteMarker(string bucket, string key) => state.Read(r =>
        ReadObject(r, bucket, key) is null && ReadStack(r, bucket, key) is [{ IsDeleteMarker: true } marker, ..] ? marker : null);

    /// <summary>All versions of a key, newest first (the first is the latest).</summary>
    public List<ObjectRecord> ListKeyVersions(string bucket, string key) => state.Read(r =>
    {
        var versions = ReadStack(r, bucket, key);
        if (ReadObject(r, bucket, key) is { } current) versions.Insert(0, current);
        return versions;
    });

    /// <summary>Deletes as S3 does. Without <paramref name="versionId"/>: in a bucket never
    /// versioned, the object; in an Enabled one, nothing is removed and a delete marker becomes the
    /// latest version; in a Suspended one, a null delete marker replaces the null version. With
    /// it: that version, for good (the next newest becomes current). Deleting what is not there
    /// changes nothing. A version <paramref name="mayRemove"/> refuses (Object Lock) is left as it is,
    /// decided inside the transaction on the version as stored.</summary>
    public DeleteOutcome DeleteObject(string bucket, string key, string? versionId, DateTimeOffset now, string ownerAccountId, Func<ObjectRecord, bool>? mayRemove = null)
    {
        var (outcome, garbage) = state.Write(w =>
        {
            var versioning = VersioningOf(w.Get(Buckets, bucket) ?? throw new BucketNotFound(bucket));
            var garbage = new List<string>();
            return (Delete(w, bucket, versioning, key, versionId, now, ownerAccountId, garbage, mayRemove), garbage);
        });
        DeleteBlobs(garbage);
        return outcome;
    }

    /// <summary>What a delete did: whether anything changed, the version id it removed or the
    /// delete marker's it made (null in a bucket never versioned), whether that is a marker, and
    /// whether the version was kept because it is locked.</summary>
    public sealed record DeleteOutcome(bool Changed, string? VersionId, bool DeleteMarker, bool Locked = false);

    static DeleteOutcome Delete(IStateWriter w, string bucket, string? versioning, string key, string? versionId, DateTimeOffset now, string owner, List<string> garbage,
        Func<ObjectRecord, bool>? mayRemove = null)
    {
        var current = ReadObject(w, bucket, key);
        if (versionId is null && versioning is null)
        {
            if (current is null) return new DeleteOutcome(false, null, false);
            w.Delete(Objects, ObjectKey(bucket, key));
            Unreference(w, current, garbage);
            return new DeleteOutcome(true, null, false);
        }
        if (versionId is null)
        {
            var stack = ReadStack(w, bucket, key);
            if (current is not null)
            {
                stack.Insert(0, current);
                w.Delete(Objects, ObjectKey(bucket, key));
            }
            var marker = new ObjectRecord
            {
                Key = key,
                Size = 0,
                ETag = "",
                LastModified = now,
                Segments = [],
                OwnerAccountId = owner,
                DeleteMarker = true,
                VersionId = versioning == VersioningStatus.Enabled ? S3VersionIds.New(now) : null,
            };
            if (marker.VersionId is null) RemoveNullVersion(w, stack, garbage);
            stack.Insert(0, marker);
            WriteStack(w, bucket, key, stack);
            return new DeleteOutcome(true, marker.WireVersionId, true);
        }
        var versions = ReadStack(w, bucket, key);
        if (current is not null && current.WireVersionId == versionId)
        {
            if (mayRemove?.Invoke(current) == false) return new DeleteOutcome(false, versionId, false, Locked: true);
            w.Delete(Objects, ObjectKey(bucket, key));
            Unreference(w, current, garbage);
            PromoteNewest(w, bucket, key, versions);
            return new DeleteOutcome(true, versionId, false);
        }
        var i = versions.FindIndex(v => v.WireVersionId == versionId);
        if (i < 0) return new DeleteOutcome(false, versionId, false);
        if (mayRemove?.Invoke(versions[i]) == false) return new DeleteOutcome(false, versionId, false, Locked: true);
        var removed = versions[i];
        versions.RemoveAt(i);
        Unreference(w, removed, garbage);
        // Deleting the marker that hid the key brings back the object below it.
        if (current is null && i == 0) PromoteNewest(w, bucket, key, versions);
        else WriteStack(w, bucket, key, versions);
        return new DeleteOutcome(true, versionId, removed.IsDeleteMarker);
    }

    /// <summary>The key has no current object: its newest version becomes current, unless that is
    /// a delete marker (then the marker is the latest version).</summary>
    static void PromoteNewest(IStateWriter w, string bucket, string key, List<ObjectRecord> versions)
    {
        if (versions is [{ IsDeleteMarker: false } newest, ..])
        {
            versions.RemoveAt(0);
            w.Put(Objects, ObjectKey(bucket, key), JsonSerializer.Serialize(newest, S3Json.Default.ObjectRecord));
        }
        WriteStack(w, bucket, key, versions);
    }

    /// <summary>The plaintext body of <paramref name="record"/> as one stream (its segments in
    /// order, decrypted with <paramref name="dataKey"/> when the object is encrypted), for
    /// Strata's own readers (model artifacts). The segment files are opened at once, so a
    /// concurrent overwrite cannot pull them away mid-read.</summary>
    public Stream OpenRead(ObjectRecord record, byte[]? dataKey)
        => new ConcatenatedStream(record.Segments.Select(s => dataKey is null ? (Stream)blobs.OpenRead(s.BlobId)
            : SegmentCipher.Decrypt(blobs.OpenRead(s.BlobId), dataKey, s.BlobId, s.Size, leaveOpen: false)).ToList());

    sealed class ConcatenatedStream(List<Stream> parts) : ForwardReadStream
    {
        int _index;
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_index < parts.Count)
            {
                var n = await parts[_index].ReadAsync(buffer, cancellationToken);
                if (n > 0) return n;
                _index++;
            }
            return 0;
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing) foreach (var p in parts) p.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Deletes several objects (or versions), each as <see cref="DeleteObject"/> does, in
    /// one transaction (one commit, not one per key); the outcomes are in the order given.</summary>
    public List<DeleteOutcome> DeleteObjects(string bucket, IReadOnlyList<(string Key, string? VersionId)> entries, DateTimeOffset now, string ownerAccountId,
        Func<ObjectRecord, bool>? mayRemove = null)
    {
        var (outcomes, garbage) = state.Write(w =>
        {
            var versioning = VersioningOf(w.Get(Buckets, bucket) ?? throw new BucketNotFound(bucket));
            var garbage = new List<string>();
            return (entries.Select(e => Delete(w, bucket, versioning, e.Key, e.VersionId, now, ownerAccountId, garbage, mayRemove)).ToList(), garbage);
        });
        DeleteBlobs(garbage);
        return outcomes;
    }

    /// <summary>Object keys (and their records, parsed lazily by the caller) in key order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ScanObjects(string bucket, string prefix, string? startAfter, int limit, bool skipStartAfterPrefix)
    {
        var rows = state.Read(r => r.Scan(Objects, bucket + "/" + prefix, startAfter is null ? null : bucket + "/" + startAfter, limit, skipStartAfterPrefix));
        return rows.Select(kv => new KeyValuePair<string, string>(kv.Key[(bucket.Length + 1)..], kv.Value)).ToList();
    }

    /// <summary>Keys that have versions (a current object, noncurrent versions or a delete marker)
    /// in key order, for ListObjectVersions (the values are empty: <see cref="ListKeyVersions"/>
    /// reads them). A bucket never versioned has only current objects.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ScanVersionedKeys(string bucket, string prefix, string? startAfter, int limit, bool skipStartAfterPrefix)
    {
        var (current, others) = state.Read(r =>
        {
            var from = startAfter is null ? null : bucket + "/" + startAfter;
            return (r.Scan(Objects, bucket + "/" + prefix, from, limit, skipStartAfterPrefix), r.Scan(Versions, bucket + "/" + prefix, from, limit, skipStartAfterPrefix));
        });
        // Each scan holds the first `limit` keys of its table after the start, so the first
        // `limit` of their union are among them.
        return S3Listing.MergeKeys(current.Select(kv => kv.Key), others.Select(kv => kv.Key), limit)
            .Select(key => new KeyValuePair<string, string>(key[(bucket.Length + 1)..], "")).ToList();
    }

    /// <summary>A key's current object (if any) and its other versions, newest first.</summary>
    public sealed record KeyVersions(string Key, ObjectRecord? Current, List<ObjectRecord> Stack);

    /// <summary>Up to <paramref name="limit"/> keys under <paramref name="prefix"/> after
    /// <paramref name="startAfter"/>, in key order, with all their versions: one read for a page
    /// of lifecycle's scan.</summary>
    public List<KeyVersions> ScanKeyVersions(string bucket, string prefix, string? startAfter, int limit)
    {
        var (current, others) = state.Read(r =>
        {
            var from = startAfter is null ? null : bucket + "/" + startAfter;
            return (r.Scan(Objects, bucket + "/" + prefix, from, limit), r.Scan(Versions, bucket + "/" + prefix, from, limit));
        });
        var currentByKey = current.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var othersByKey = others.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        // As in ScanVersionedKeys: the first `limit` keys of the union are all in the two scans.
        return S3Listing.MergeKeys(current.Select(kv => kv.Key), others.Select(kv => kv.Key), limit)
            .Select(key => new KeyVersions(key[(bucket.Length + 1)..],
                currentByKey.TryGetValue(key, out var c) ? ParseObject(c) : null,
                othersByKey.TryGetValue(key, out var v) ? JsonSerializer.Deserialize(v, S3Json.Default.VersionStack)!.Entries : []))
            .ToList();
    }

    /// <summary>What lifecycle changed at a key: a version removed, or (when the outcome is a
    /// delete marker made by expiring the current object) a marker added.</summary>
    public sealed record LifecycleOutcome(string Key, DeleteOutcome Outcome, bool CurrentExpired);

    /// <summary>Applies lifecycle to <paramref name="keys"/> in one transaction. What to do is
    /// decided again there, on the key's versions as they are now (a write since the scan may have
    /// replaced what was due), and done by the same deletions as DeleteObject with and without a
    /// version id, so blobs are freed as they are for a request. Delete markers it makes belong to
    /// the bucket owner. Nothing happens to a bucket deleted meanwhile.</summary>
    public List<LifecycleOutcome> ApplyLifecycle(string bucket, IReadOnlyList<string> keys, Func<string, ObjectRecord?, List<ObjectRecord>, LifecycleAction?> decide, DateTimeOffset now)
    {
        var (outcomes, garbage) = state.Write(w =>
        {
            var outcomes = new List<LifecycleOutcome>();
            var garbage = new List<string>();
            if (w.Get(Buckets, bucket) is not { } json) return (outcomes, garbage);
            var record = JsonSerializer.Deserialize(json, S3Json.Default.BucketRecord)!;
            foreach (var key in keys)
            {
                if (decide(key, ReadObject(w, bucket, key), ReadStack(w, bucket, key)) is not { } action) continue;
                foreach (var versionId in action.RemoveVersionIds)
                {
                    var removed = Delete(w, bucket, record.Versioning, key, versionId, now, record.OwnerAccountId, garbage);
                    if (removed.Changed) outcomes.Add(new LifecycleOutcome(key, removed, CurrentExpired: false));
                }
                if (!action.ExpireCurrent) continue;
                var expired = Delete(w, bucket, record.Versioning, key, null, now, record.OwnerAccountId, garbage);
                if (expired.Changed) outcomes.Add(new LifecycleOutcome(key, expired, CurrentExpired: true));
            }
            return (outcomes, garbage);
        });
        DeleteBlobs(garbage);
        return outcomes;
    }

    public static ObjectRecord ParseObject(string json) => JsonSerializer.Deserialize(json, S3Json.Default.ObjectRecord)!;

    static ObjectRecord? ReadObject(IStateReader r, string bucket, string key)
        => r.Get(Objects, ObjectKey(bucket, key)) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.ObjectRecord) : null;

    // ---- multipart uploads ----

    public void CreateUpload(UploadRecord upload) => state.Write(w =>
    {
        if (w.Get(Buckets, upload.Bucket) is null) throw new BucketNotFound(upload.Bucket);
        w.Put(Uploads, UploadKey(upload.Bucket, upload.UploadId), JsonSerializer.Serialize(upload, S3Json.Default.UploadRecord));
        return 0;
    });

    public UploadRecord? GetUpload(string bucket, string uploadId)
        => state.Read(r => r.Get(Uploads, UploadKey(bucket, uploadId))) is { } json ? JsonSerializer.Deserialize(json, S3Json.Default.UploadRecord) : null;

    public List<UploadRecord> ListUploads(string bucket)
        => state.Read(r => r.Scan(Uploads, bucket + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, S3Json.Default.UploadRecord)!).ToList();

    /// <summary>Records a part (replacing an earlier upload of the same number).</summary>
    public void PutPart(string bucket, string uploadId, PartRecord part)
    {
        var garbage = state.Write(w =>
        {
            if (w.Get(Uploads, UploadKey(bucket, uploadId)) is null) throw new UploadNotFound(uploadId);
            var garbage = new List<string>();
            if (w.Get(Parts, PartKey(uploadId, part.PartNumber)) is { } oldJson)
            {
                var old = JsonSerializer.Deserialize(oldJson, S3Json.Default.PartRecord)!;
                w.Delete(BlobRefs, old.BlobId);
                garbage.Add(old.BlobId);
            }
            w.Put(BlobRefs, part.BlobId, "upload:" + uploadId);
            w.Put(Parts, PartKey(uploadId, part.PartNumber), JsonSerializer.Serialize(part, S3Json.Default.PartRecord));
            return garbage;
        });
        DeleteBlobs(garbage);
    }

    public List<PartRecord> ListParts(string uploadId)
        => state.Read(r => r.Scan(Parts, uploadId + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, S3Json.Default.PartRecord)!).ToList();

    /// <summary>Completes an upload: the object takes the chosen parts' blobs as its segments,
    /// the upload and its other parts go, all in one transaction.</summary>
    /// <summary>Makes an upload the object at its key. <paramref name="check"/> sees the object
    /// the upload would replace, in the same transaction (conditional writes); throwing from it
    /// or from <paramref name="build"/> leaves the upload and its parts as they were.</summary>
    public ObjectRecord CompleteUpload(string bucket, string uploadId, Func<UploadRecord, List<PartRecord>, ObjectRecord> build, Action<ObjectRecord?>? check = null)
    {
        var (stored, garbage) = state.Write(w =>
        {
            var uploadJson = w.Get(Uploads, UploadKey(bucket, uploadId)) ?? throw new UploadNotFound(uploadId);
            var upload = JsonSerializer.Deserialize(uploadJson, S3Json.Default.UploadRecord)!;
            check?.Invoke(ReadObject(w, bucket, upload.Key));
            var parts = w.Scan(Parts, uploadId + "/", null, int.MaxValue).Select(kv => JsonSerializer.Deserialize(kv.Value, S3Json.Default.PartRecord)!).ToList();
            var record = build(upload, parts);
            var used = record.Segments.Select(s => s.BlobId).ToHashSet();
            var garbage = RemoveUpload(w, uploadId, UploadKey(bucket, uploadId)).Where(id => !used.Contains(id)).ToList();
            var versioning = VersioningOf(w.Get(Buckets, bucket) ?? throw new BucketNotFound(bucket));
            return (Install(w, bucket, versioning, ReadObject(w, bucket, record.Key), record, garbage), garbage);
        });
        DeleteBlobs(garbage);
        return stored;
    }

    public void AbortUpload(string bucket, string uploadId)
    {
        var garbage = state.Write(w =>
        {
            if (w.Get(Uploads, UploadKey(bucket, uploadId)) is null) throw new UploadNotFound(uploadId);
            return RemoveUpload(w, uploadId, UploadKey(bucket, uploadId));
        });
        DeleteBlobs(garbage);
    }

    static List<string> RemoveUpload(IStateWriter w, string uploadId, string uploadKey)
    {
        var garbage = new List<string>();
        foreach (var (partKey, json) in w.Scan(Parts, uploadId + "/", null, int.MaxValue))
        {
            var part = JsonSerializer.Deserialize(json, S3Json.Default.PartRecord)!;
            w.Delete(Parts, partKey);
            w.Delete(BlobRefs, part.BlobId);
            garbage.Add(part.BlobId);
        }
        w.Delete(Uploads, uploadKey);
        return garbage;
    }

    void DeleteBlobs(IEnumerable<string> ids)
    {
        foreach (var id in ids) blobs.Delete(id);
    }

    /// <summary>Removes blobs no row references: leftovers of a crash between a blob's rename
    /// and its commit, or between a commit and the deletion of what it replaced.</summary>
    public int SweepUnreferencedBlobs(DateTime olderThan)
        => blobs.Sweep(id => state.Read(r => r.Get(BlobRefs, id)) is not null, olderThan);
}
