using System.Net;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3 on REST-XML: finds the bucket and key a request addresses (path style, or virtual-host
/// style under a configured domain) and the operation its method and sub-resources name.
/// Every operation is declared once here with its IAM action and resource ARN.
/// </summary>
public sealed class S3Service : IOperationResolver
{
    public const string XmlNamespace = "http://s3.amazonaws.com/doc/2006-03-01/";

    /// <summary>What the store refuses, as S3 answers it.</summary>
    public ErrorTable Errors => S3ErrorTable.Errors;

    readonly string[] _virtualHostDomains;
    readonly Dictionary<string, Operation> _ops;
    readonly S3Store _store;
    readonly TimeProvider _clock;
    readonly CorsOperations _cors;

    /// <summary>A browser's CORS preflight (<c>OPTIONS</c>): not an API operation (no client calls
    /// it, the model has none), unsigned by nature, decided by the bucket's CORS rules alone.</summary>
    readonly Operation _preflight;

    /// <summary>A browser's form upload (<c>POST /{bucket}</c>, multipart/form-data): not an API
    /// operation either (the model has none; a browser's form submit calls it), authorized as
    /// PutObject. Its key is in its form, read (and its signature verified) before authorization.</summary>
    readonly Operation _postObject;

    public S3Service(S3Environment env, IEnumerable<string> virtualHostDomains)
    {
        _store = env.Store;
        _clock = env.Clock;
        // Longest first, so "s3.localhost" wins over "localhost" for bucket.s3.localhost.
        _virtualHostDomains = virtualHostDomains.Select(d => "." + d.Trim('.').ToLowerInvariant()).OrderByDescending(d => d.Length).ToArray();
        var buckets = new BucketOperations(env);
        var objects = new ObjectOperations(env);
        var multipart = new MultipartOperations(env, objects);
        var policies = new BucketPolicyOperations(env);
        var notifications = new NotificationOperations(env);
        _cors = new CorsOperations(env);
        var acls = new AclOperations(env, objects);
        var lifecycle = new LifecycleOperations(env);
        var locks = new ObjectLockOperations(env, objects);
        // A browser upload is signed in its form, not its headers: the form's signature is checked
        // by the one SigV4 verifier, from the upload's input stage.
        var post = new PostObjectOperations(env, objects, new Auth.SigV4Authenticator(env.Accounts, env.Clock));
        _postObject = Object("PostObject", "PutObject", post.PostObject) with { ReadInputAsync = post.ReadFormAsync };
        _preflight = new Operation("PreflightRequest", "s3:PreflightRequest", ctx => $"arn:aws:s3:::{ctx.Bucket}", _cors.Preflight) { AllowUnsigned = true };
        Operation[] all =
        [
            Service("ListBuckets", "ListAllMyBuckets", buckets.ListBuckets),
            Bucket("CreateBucket", "CreateBucket", buckets.CreateBucket),
            Bucket("HeadBucket", "ListBucket", buckets.HeadBucket),
            Bucket("DeleteBucket", "DeleteBucket", buckets.DeleteBucket),
            Bucket("GetBucketLocation", "GetBucketLocation", buckets.GetBucketLocation),
            Bucket("GetBucketVersioning", "GetBucketVersioning", buckets.GetBucketVersioning),
            Bucket("PutBucketVersioning", "PutBucketVersioning", buckets.PutBucketVersioning),
            Bucket("ListObjects", "ListBucket", buckets.ListObjects),
            Bucket("ListObjectsV2", "ListBucket", buckets.ListObjectsV2),
            Bucket("ListObjectVersions", "ListBucketVersions", buckets.ListObjectVersions),
            // Each key is authorized on its own (s3:DeleteObject, or s3:DeleteObjectVersion with a
            // VersionId), as S3 does: a key the caller may not delete is an AccessDenied in the answer.
            Bucket("DeleteObjects", "DeleteObject", objects.DeleteObjects) with { AuthorizedPerItem = true },
            Bucket("ListMultipartUploads", "ListBucketMultipartUploads", multipart.ListMultipartUploads),
            Bucket("PutBucketPolicy", "PutBucketPolicy", policies.PutBucketPolicy),
            Bucket("GetBucketPolicy", "GetBucketPolicy", policies.GetBucketPolicy),
            Bucket("DeleteBucketPolicy", "DeleteBucketPolicy", policies.DeleteBucketPolicy),
            Bucket("GetBucketPolicyStatus", "GetBucketPolicyStatus", policies.GetBucketPolicyStatus),
            Bucket("PutPublicAccessBlock", "PutBucketPublicAccessBlock", policies.PutPublicAccessBlock),
            Bucket("GetPublicAccessBlock", "GetBucketPublicAccessBlock", policies.GetPublicAccessBlock),
            // AWS authorizes removing the block with the permission to set it.
            Bucket("DeletePublicAccessBlock", "PutBucketPublicAccessBlock", policies.DeletePublicAccessBlock),
            Bucket("PutBucketEncryption", "PutEncryptionConfiguration", policies.PutBucketEncryption),
            Bucket("GetBucketEncryption", "GetEncryptionConfiguration", policies.GetBucketEncryption),
            // AWS authorizes removing default encryption with the permission to set it.
            Bucket("DeleteBucketEncryption", "PutEncryptionConfiguration", policies.DeleteBucketEncryption),
            // The IAM actions keep the names of the API's first version (PutBucketNotification).
            Bucket("PutBucketNotificationConfiguration", "PutBucketNotification", notifications.PutBucketNotificationConfiguration),
            Bucket("GetBucketNotificationConfiguration", "GetBucketNotification", notifications.GetBucketNotificationConfiguration),
            // The IAM actions spell CORS in capitals; removing it takes the permission to set it.
            Bucket("PutBucketCors", "PutBucketCORS", _cors.PutBucketCors),
            Bucket("GetBucketCors", "GetBucketCORS", _cors.GetBucketCors),
            Bucket("DeleteBucketCors", "PutBucketCORS", _cors.DeleteBucketCors),
            Bucket("PutBucketOwnershipControls", "PutBucketOwnershipControls", acls.PutBucketOwnershipControls),
            Bucket("GetBucketOwnershipControls", "GetBucketOwnershipControls", acls.GetBucketOwnershipControls),
            // Removing the controls takes the permission to set them.
            Bucket("DeleteBucketOwnershipControls", "PutBucketOwnershipControls", acls.DeleteBucketOwnershipControls),
            Bucket("GetBucketAcl", "GetBucketAcl", acls.GetBucketAcl),
            Bucket("PutBucketAcl", "PutBucketAcl", acls.PutBucketAcl),
            Object("GetObjectAcl", "GetObjectAcl", acls.GetObjectAcl, version: "GetObjectVersionAcl"),
            Object("PutObjectAcl", "PutObjectAcl", acls.PutObjectAcl, version: "PutObjectVersionAcl"),
            // The IAM actions keep the API's first names; removing the configuration takes the permission to set it.
            Bucket("PutBucketLifecycleConfiguration", "PutLifecycleConfiguration", lifecycle.PutBucketLifecycleConfiguration),
            Bucket("GetBucketLifecycleConfiguration", "GetLifecycleConfiguration", lifecycle.GetBucketLifecycleConfiguration),
            Bucket("DeleteBucketLifecycle", "PutLifecycleConfiguration", lifecycle.DeleteBucketLifecycle),
            // Removing a bucket's tags takes the permission to set them.
            Bucket("PutBucketTagging", "PutBucketTagging", buckets.PutBucketTagging),
            Bucket("GetBucketTagging", "GetBucketTagging", buckets.GetBucketTagging),
            Bucket("DeleteBucketTagging", "PutBucketTagging", buckets.DeleteBucketTagging),
            // Object Lock: the IAM actions of the bucket's configuration name the bucket; a version's
            // retention and legal hold have no version actions (the version is s3:versionid).
            Bucket("PutObjectLockConfiguration", "PutBucketObjectLockConfiguration", locks.PutObjectLockConfiguration),
            Bucket("GetObjectLockConfiguration", "GetBucketObjectLockConfiguration", locks.GetObjectLockConfiguration),
            Object("PutObjectRetention", "PutObjectRetention", locks.PutObjectRetention) with { ReadInputAsync = ObjectLockOperations.ReadRetentionAsync },
            Object("GetObjectRetention", "GetObjectRetention", locks.GetObjectRetention),
            Object("PutObjectLegalHold", "PutObjectLegalHold", locks.PutObjectLegalHold) with { ReadInputAsync = ObjectLockOperations.ReadLegalHoldAsync },
            Object("GetObjectLegalHold", "GetObjectLegalHold", locks.GetObjectLegalHold),
            Object("PutObject", "PutObject", objects.PutObject),
            // A request that names a version is authorized by the version's own action, as in S3.
            Object("GetObject", "GetObject", objects.GetObject, version: "GetObjectVersion"),
            Object("HeadObject", "GetObject", objects.HeadObject, version: "GetObjectVersion"),
            Object("DeleteObject", "DeleteObject", objects.DeleteObject, version: "DeleteObjectVersion"),
            Object("CopyObject", "PutObject", objects.CopyObject),
            Object("PutObjectTagging", "PutObjectTagging", objects.PutObjectTagging, version: "PutObjectVersionTagging") with { ReadInputAsync = S3ConditionKeys.ReadRequestTagsAsync },
            Object("GetObjectTagging", "GetObjectTagging", objects.GetObjectTagging, version: "GetObjectVersionTagging"),
            Object("DeleteObjectTagging", "DeleteObjectTagging", objects.DeleteObjectTagging, version: "DeleteObjectVersionTagging"),
            Object("GetObjectAttributes", "GetObjectAttributes", objects.GetObjectAttributes, version: "GetObjectVersionAttributes"),
            Object("RestoreObject", "RestoreObject", objects.RestoreObject),
            Object("CreateMultipartUpload", "PutObject", multipart.CreateMultipartUpload),
            Object("UploadPart", "PutObject", multipart.UploadPart),
            Object("UploadPartCopy", "PutObject", multipart.UploadPartCopy),
            Object("CompleteMultipartUpload", "PutObject", multipart.CompleteMultipartUpload),
            Object("AbortMultipartUpload", "AbortMultipartUpload", multipart.AbortMultipartUpload),
            Object("ListParts", "ListMultipartUploadParts", multipart.ListParts),
        ];
        _ops = all.ToDictionary(o => o.Name);
    }

    public IEnumerable<Operation> Operations => _ops.Values;

    public void AddConditionKeys(RequestContext ctx, string action, string resource, IDictionary<string, IReadOnlyList<string>> keys)
        => S3ConditionKeys.Add(ctx, action, resource, _store, _clock, keys);

    static Operation Service(string name, string action, Func<RequestContext, Task> handler)
        => new(name, "s3:" + action, _ => "*", handler);

    static Operation Bucket(string name, string action, Func<RequestContext, Task> handler)
        => new(name, "s3:" + action, ctx => $"arn:aws:s3:::{ctx.Bucket}", handler);

    static Operation Object(string name, string action, Func<RequestContext, Task> handler, string? version = null)
        => new(name, "s3:" + action, ctx => $"arn:aws:s3:::{ctx.Bucket}/{ctx.Key}", handler)
        {
            ActionOf = version is null ? null : ctx => ctx.Request.Query.ContainsKey("versionId") ? "s3:" + version : "s3:" + action,
        };

    public Operation? Resolve(RequestContext ctx)
    {
        Address(ctx);
        // Only S3 has CORS, and its headers belong on every answer to a browser's request, refusals
        // included: set here, where the bucket is first known.
        _cors.ApplyToResponse(ctx);
        if (HttpMethods.IsOptions(ctx.Request.Method))
        {
            ctx.OperationName = _preflight.Name;
            return _preflight;
        }
        var name = OperationName(ctx);
        ctx.OperationName = name;
        if (name == _postObject.Name) return _postObject;
        return name is not null && _ops.TryGetValue(name, out var op) ? op : null;
    }

    /// <summary>Sets <see cref="RequestContext.Bucket"/> and <see cref="RequestContext.Key"/>.</summary>
    void Address(RequestContext ctx)
    {
        var path = SigV4Path(ctx.RawPath);
        var host = ctx.Request.Host.Host.ToLowerInvariant();
        string? bucket = null;
        if (!IPAddress.TryParse(host, out _))
        {
            foreach (var domain in _virtualHostDomains)
            {
                if (host.EndsWith(domain, StringComparison.Ordinal) && host.Length > domain.Length)
                {
                    bucket = host[..^domain.Length];
                    break;
                }
            }
        }
        if (bucket is not null)
        {
            ctx.Bucket = bucket;
            ctx.VirtualHostedBucket = true;
            ctx.Key = path.Length > 1 ? path[1..] : null;
            return;
        }
        var trimmed = path.TrimStart('/');
        if (trimmed.Length == 0) return;
        var slash = trimmed.IndexOf('/');
        ctx.Bucket = slash < 0 ? trimmed : trimmed[..slash];
        ctx.Key = slash < 0 || slash == trimmed.Length - 1 ? null : trimmed[(slash + 1)..];
    }

    static string SigV4Path(string rawPath) => Auth.SigV4.PercentDecode(rawPath);

    static string? OperationName(RequestContext ctx)
    {
        var q = ctx.Request.Query;
        var method = ctx.Request.Method;
        if (ctx.Bucket is null)
            return HttpMethods.IsGet(method) ? "ListBuckets" : null;

        if (ctx.Key is null)
        {
            if (HttpMethods.IsGet(method))
            {
                if (q.ContainsKey("location")) return "GetBucketLocation";
                if (q.ContainsKey("versioning")) return "GetBucketVersioning";
                if (q.ContainsKey("versions")) return "ListObjectVersions";
                if (q.ContainsKey("uploads")) return "ListMultipartUploads";
                if (q.ContainsKey("policy")) return "GetBucketPolicy";
                if (q.ContainsKey("policyStatus")) return "GetBucketPolicyStatus";
                if (q.ContainsKey("publicAccessBlock")) return "GetPublicAccessBlock";
                if (q.ContainsKey("encryption")) return "GetBucketEncryption";
                if (q.ContainsKey("notification")) return "GetBucketNotificationConfiguration";
                if (q.ContainsKey("cors")) return "GetBucketCors";
                if (q.ContainsKey("acl")) return "GetBucketAcl";
                if (q.ContainsKey("ownershipControls")) return "GetBucketOwnershipControls";
                if (q.ContainsKey("lifecycle")) return "GetBucketLifecycleConfiguration";
                if (q.ContainsKey("tagging")) return "GetBucketTagging";
                if (q.ContainsKey("object-lock")) return "GetObjectLockConfiguration";
                if (HasOtherSubresource(q)) return null;
                return q["list-type"] == "2" ? "ListObjectsV2" : "ListObjects";
            }
            if (HttpMethods.IsPut(method) && q.ContainsKey("policy")) return "PutBucketPolicy";
            if (HttpMethods.IsPut(method) && q.ContainsKey("versioning")) return "PutBucketVersioning";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("policy")) return "DeleteBucketPolicy";
            if (HttpMethods.IsPut(method) && q.ContainsKey("publicAccessBlock")) return "PutPublicAccessBlock";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("publicAccessBlock")) return "DeletePublicAccessBlock";
            if (HttpMethods.IsPut(method) && q.ContainsKey("encryption")) return "PutBucketEncryption";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("encryption")) return "DeleteBucketEncryption";
            if (HttpMethods.IsPut(method) && q.ContainsKey("notification")) return "PutBucketNotificationConfiguration";
            if (HttpMethods.IsPut(method) && q.ContainsKey("cors")) return "PutBucketCors";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("cors")) return "DeleteBucketCors";
            if (HttpMethods.IsPut(method) && q.ContainsKey("acl")) return "PutBucketAcl";
            if (HttpMethods.IsPut(method) && q.ContainsKey("ownershipControls")) return "PutBucketOwnershipControls";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("ownershipControls")) return "DeleteBucketOwnershipControls";
            if (HttpMethods.IsPut(method) && q.ContainsKey("lifecycle")) return "PutBucketLifecycleConfiguration";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("lifecycle")) return "DeleteBucketLifecycle";
            if (HttpMethods.IsPut(method) && q.ContainsKey("tagging")) return "PutBucketTagging";
            if (HttpMethods.IsDelete(method) && q.ContainsKey("tagging")) return "DeleteBucketTagging";
            if (HttpMethods.IsPut(method) && q.ContainsKey("object-lock")) return "PutObjectLockConfiguration";
            if (HasOtherSubresource(q) && !(HttpMethods.IsPost(method) && q.ContainsKey("delete"))) return null;
            if (HttpMethods.IsPut(method)) return "CreateBucket";
            if (HttpMethods.IsHead(method)) return "HeadBucket";
            if (HttpMethods.IsDelete(method)) return "DeleteBucket";
            if (HttpMethods.IsPost(method) && q.ContainsKey("delete")) return "DeleteObjects";
            // A browser's form upload; one that is not multipart/form-data is refused as S3 does.
            if (HttpMethods.IsPost(method)) return "PostObject";
            return null;
        }

        var hasUpload = q.ContainsKey("uploadId");
        var copy = ctx.Request.Headers.ContainsKey("x-amz-copy-source");
        if (HttpMethods.IsPut(method))
        {
            if (q.ContainsKey("tagging")) return "PutObjectTagging";
            if (q.ContainsKey("acl")) return "PutObjectAcl";
            if (q.ContainsKey("retention")) return "PutObjectRetention";
            if (q.ContainsKey("legal-hold")) return "PutObjectLegalHold";
            if (hasUpload && q.ContainsKey("partNumber")) return copy ? "UploadPartCopy" : "UploadPart";
            if (HasOtherSubresource(q)) return null;
            return copy ? "CopyObject" : "PutObject";
        }
        if (HttpMethods.IsGet(method))
        {
            if (q.ContainsKey("tagging")) return "GetObjectTagging";
            if (q.ContainsKey("acl")) return "GetObjectAcl";
            if (q.ContainsKey("retention")) return "GetObjectRetention";
            if (q.ContainsKey("legal-hold")) return "GetObjectLegalHold";
            if (q.ContainsKey("attributes")) return "GetObjectAttributes";
            if (hasUpload) return "ListParts";
            return HasOtherSubresource(q) ? null : "GetObject";
        }
        if (HttpMethods.IsHead(method)) return HasOtherSubresource(q) ? null : "HeadObject";
        if (HttpMethods.IsDelete(method))
        {
            if (q.ContainsKey("tagging")) return "DeleteObjectTagging";
            if (hasUpload) return "AbortMultipartUpload";
            return HasOtherSubresource(q) ? null : "DeleteObject";
        }
        if (HttpMethods.IsPost(method))
        {
            if (q.ContainsKey("uploads")) return "CreateMultipartUpload";
            if (hasUpload) return "CompleteMultipartUpload";
            if (q.ContainsKey("restore")) return "RestoreObject";
        }
        return null;
    }

    /// <summary>Sub-resources S3 has that Strata does not implement (yet): such a request must get
    /// NotImplemented, not be mistaken for the plain operation on the bucket or object.</summary>
    static bool HasOtherSubresource(IQueryCollection q) => q.Keys.Any(OtherSubresources.Contains);

    static readonly HashSet<string> OtherSubresources =
    [
        "acl", "policy", "policyStatus", "cors", "lifecycle", "website", "logging", "notification", "replication",
        "encryption", "tagging", "requestPayment", "accelerate", "analytics", "inventory", "metrics", "intelligent-tiering",
        "ownershipControls", "publicAccessBlock", "object-lock", "legal-hold", "retention", "restore", "select",
        "attributes", "torrent", "versioning", "versions", "uploads", "location", "delete", "session", "renameObject",
    ];
}
