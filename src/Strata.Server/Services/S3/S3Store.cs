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
/// </summary>
public sealed class S3Store(IStateStore state, BlobStore blobs)
{
    const string Buckets = "s3-buckets";
    const string Objects = "s3-objects";
    const string Uploads = "s3-uploads";
    const string Parts = "s3-parts";
    const string BlobRefs = "s3-blob-refs";

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
            if (w.Scan(Objects, name + "/", null, 1).Count > 0) throw new BucketNotEmpty(name);
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

    /// <summary>Makes <paramref name="record"/> the object at its key, atomically. The check runs
    /// inside the transaction on the current object (conditional writes, bucket existence).</summary>
    public void PutObject(string bucket, ObjectRecord record, Action<ObjectRecord?>? check = null)
    {
        var garbage = state.Write(w =>
        {
            if (w.Get(Buckets, bucket) is null) throw new BucketNotFound(bucket);
            var old = ReadObject(w, bucket, record.Key);
            check?.Invoke(old);
            var garbage = new List<string>();
            Replace(w, bucket, old, record, garbage);
            return garbage;
        });
        DeleteBlobs(garbage);
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

    /// <summary>Changes only the object's tags (its body and ETag stay).</summary>
    public void UpdateTags(string bucket, string key, List<ObjectTag> tags) => state.Write(w =>
    {
        var old = ReadObject(w, bucket, key) ?? throw new ObjectNotFound(key);
        w.Put(Objects, ObjectKey(bucket, key), JsonSerializer.Serialize(old with { Tags = tags }, S3Json.Default.ObjectRecord));
        return 0;
    });

    /// <summary>Deletes the object if present; true if there was one.</summary>
    public bool DeleteObject(string bucket, string key)
    {
        var garbage = state.Write(w =>
        {
            var old = ReadObject(w, bucket, key);
            if (old is null) return [];
            w.Delete(Objects, ObjectKey(bucket, key));
            foreach (var segment in old.Segments) w.Delete(BlobRefs, segment.BlobId);
            return old.Segments.Select(s => s.BlobId).ToList();
        });
        DeleteBlobs(garbage);
        return garbage.Count > 0;
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

    /// <summary>Deletes several objects in one transaction (one commit, not one per key).</summary>
    /// <summary>Deletes the objects present among <paramref name="keys"/> in one transaction;
    /// returns the keys that named one.</summary>
    public List<string> DeleteObjects(string bucket, IEnumerable<string> keys)
    {
        var (deleted, garbage) = state.Write(w =>
        {
            var deleted = new List<string>();
            var garbage = new List<string>();
            foreach (var key in keys)
            {
                var old = ReadObject(w, bucket, key);
                if (old is null) continue;
                w.Delete(Objects, ObjectKey(bucket, key));
                deleted.Add(key);
                foreach (var segment in old.Segments)
                {
                    w.Delete(BlobRefs, segment.BlobId);
                    garbage.Add(segment.BlobId);
                }
            }
            return (deleted, garbage);
        });
        DeleteBlobs(garbage);
        return deleted;
    }

    /// <summary>Object keys (and their records, parsed lazily by the caller) in key order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ScanObjects(string bucket, string prefix, string? startAfter, int limit, bool skipStartAfterPrefix)
    {
        var rows = state.Read(r => r.Scan(Objects, bucket + "/" + prefix, startAfter is null ? null : bucket + "/" + startAfter, limit, skipStartAfterPrefix));
        return rows.Select(kv => new KeyValuePair<string, string>(kv.Key[(bucket.Length + 1)..], kv.Value)).ToList();
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
    public void CompleteUpload(string bucket, string uploadId, Func<UploadRecord, List<PartRecord>, ObjectRecord> build, Action<ObjectRecord?>? check = null)
    {
        var garbage = state.Write(w =>
        {
            var uploadJson = w.Get(Uploads, UploadKey(bucket, uploadId)) ?? throw new UploadNotFound(uploadId);
            var upload = JsonSerializer.Deserialize(uploadJson, S3Json.Default.UploadRecord)!;
            check?.Invoke(ReadObject(w, bucket, upload.Key));
            var parts = w.Scan(Parts, uploadId + "/", null, int.MaxValue).Select(kv => JsonSerializer.Deserialize(kv.Value, S3Json.Default.PartRecord)!).ToList();
            var record = build(upload, parts);
            var used = record.Segments.Select(s => s.BlobId).ToHashSet();
            var garbage = RemoveUpload(w, uploadId, UploadKey(bucket, uploadId)).Where(id => !used.Contains(id)).ToList();
            Replace(w, bucket, ReadObject(w, bucket, record.Key), record, garbage);
            return garbage;
        });
        DeleteBlobs(garbage);
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
