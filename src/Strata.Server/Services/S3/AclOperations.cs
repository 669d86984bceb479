using Strata.Server.Identity;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// Object Ownership and access control lists, as S3 has them. A new bucket is
/// <c>BucketOwnerEnforced</c> (ACLs disabled): the bucket owner owns every object, policies alone
/// grant access, reading an ACL answers the owner's full control, and a write that sets any
/// other ACL is refused (AccessControlListNotSupported). <c>BucketOwnerPreferred</c> and
/// <c>ObjectWriter</c> (or no controls at all) turn ACLs on: each bucket and object version keeps
/// the ACL it was given (<see cref="S3Acl"/>), the writer owns what it writes (unless the bucket
/// prefers to and is granted full control), and the bucket policy lookup adds the ACL's grants to
/// authorization. Switching back to enforced keeps the stored ACLs (S3 restores them if ACLs are
/// turned on again) but ignores them.
/// </summary>
internal sealed class AclOperations(S3Environment env, ObjectOperations objects)
{
    public async Task PutBucketOwnershipControls(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var controls = await S3Http.ReadXmlAsync(ctx, "OwnershipControls", S3XmlReader.ReadOwnershipControls);
        // S3 takes exactly one rule naming one of its settings.
        if (controls.Rules is not [{ ObjectOwnership: { } ownership }] || !ObjectOwnership.Values.Contains(ownership)) throw S3Errors.MalformedXml();
        if (ownership == ObjectOwnership.BucketOwnerEnforced && ObjectOwnership.AclsEnabled(bucket) && bucket.Acl is { } acl && S3Acl.GrantsOthers(acl, bucket.OwnerAccountId))
            throw InvalidBucketAclWithObjectOwnership();
        env.Store.UpdateBucket(bucket.Name, b => b with { ObjectOwnership = ownership });
        S3Http.Empty(ctx);
    }

    public Task GetBucketOwnershipControls(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        if (bucket.ObjectOwnership == ObjectOwnership.None)
            throw new AwsException("OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found").With("BucketName", bucket.Name);
        return S3Http.WriteXmlAsync(ctx, new GetBucketOwnershipControlsOutput
        {
            OwnershipControls = new OwnershipControls { Rules = [new OwnershipControlsRule { ObjectOwnership = ObjectOwnership.Of(bucket) }] },
        });
    }

    public Task DeleteBucketOwnershipControls(RequestContext ctx)
    {
        // Without controls a bucket acts as ObjectWriter: ACLs on.
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { ObjectOwnership = ObjectOwnership.None });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public Task GetBucketAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var owner = RequireAccount(bucket.OwnerAccountId);
        var grants = ObjectOwnership.AclsEnabled(bucket) && bucket.Acl is { } acl ? acl : S3Acl.Private(owner);
        return S3Http.WriteXmlAsync(ctx, new GetBucketAclOutput { Owner = S3Http.OwnerOf(owner), Grants = S3Acl.ToWire(env, grants) });
    }

    public async Task PutBucketAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var owner = RequireAccount(bucket.OwnerAccountId);
        var enabled = ObjectOwnership.AclsEnabled(bucket);
        var grants = await ReadAclAsync(ctx, owner, owner, forBucket: true, resolve: enabled);
        if (!enabled)
        {
            if (!OwnerOnly(grants, owner)) throw AclNotSupported();
        }
        else
        {
            RequireNotBlocked(bucket, grants);
            env.Store.UpdateBucket(bucket.Name, b => b with { Acl = grants });
        }
        S3Http.Empty(ctx);
    }

    public Task GetObjectAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var record = objects.ReadVersion(ctx, bucket, ObjectOperations.RequestedVersion(ctx), "GET");
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        var enabled = ObjectOwnership.AclsEnabled(bucket);
        var owner = RequireAccount(enabled ? record.OwnerAccountId : bucket.OwnerAccountId);
        var grants = enabled && record.Acl is { } acl ? acl : S3Acl.Private(owner);
        return S3Http.WriteXmlAsync(ctx, new GetObjectAclOutput { Owner = S3Http.OwnerOf(owner), Grants = S3Acl.ToWire(env, grants) });
    }

    public async Task PutObjectAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var versionId = ObjectOperations.RequestedVersion(ctx);
        var record = objects.ReadVersion(ctx, bucket, versionId, "PUT");
        var enabled = ObjectOwnership.AclsEnabled(bucket);
        var bucketOwner = RequireAccount(bucket.OwnerAccountId);
        var owner = enabled ? RequireAccount(record.OwnerAccountId) : bucketOwner;
        var grants = await ReadAclAsync(ctx, owner, bucketOwner, forBucket: false, resolve: enabled);
        if (!enabled)
        {
            if (!OwnerOnly(grants, owner)) throw AclNotSupported();
        }
        else
        {
            RequireNotBlocked(bucket, grants);
            record = env.Store.UpdateVersion(bucket.Name, record.Key, record.WireVersionId, r => r with { Acl = grants });
        }
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        S3Http.Empty(ctx);
    }

    /// <summary>CreateBucket's <c>x-amz-object-ownership</c> and ACL headers: the setting the
    /// bucket starts with (null: the default, enforced) and its ACL (null: the owner's full
    /// control). An enforced bucket takes no ACL that grants anyone but its owner.</summary>
    public static (string? Ownership, List<AclGrant>? Acl) CheckCreateBucket(S3Environment env, RequestContext ctx)
    {
        var ownership = ctx.Header("x-amz-object-ownership");
        if (ownership is not null && !ObjectOwnership.Values.Contains(ownership))
            throw S3Errors.InvalidArgument("Invalid x-amz-object-ownership header", "x-amz-object-ownership", ownership);
        var owner = env.Owner(ctx.Principal.AccountId) ?? throw S3Errors.AccessDenied();
        var enforced = (ownership ?? ObjectOwnership.BucketOwnerEnforced) == ObjectOwnership.BucketOwnerEnforced;
        var grants = S3Acl.FromHeaders(env, ctx, owner, owner, forBucket: true, resolve: !enforced);
        if (enforced)
        {
            if (grants is not null && !OwnerOnly(grants, owner)) throw InvalidBucketAclWithObjectOwnership();
            return (ownership, null);
        }
        return (ownership, grants);
    }

    /// <summary>An object write's ACL headers (PutObject, CopyObject, CreateMultipartUpload),
    /// checked before the body is received: with ACLs disabled, none or the bucket owner's full
    /// control; with them on, well-formed grants Block Public Access lets through.</summary>
    public static void CheckObjectWrite(S3Environment env, RequestContext ctx, BucketRecord bucket) => NewObjectAcl(env, ctx, bucket);

    /// <summary>The ACL an object written by this request gets (null: its owner's full control).</summary>
    public static List<AclGrant>? NewObjectAcl(S3Environment env, RequestContext ctx, BucketRecord bucket)
    {
        if (!S3Acl.HasAclHeaders(ctx)) return null;
        var bucketOwner = env.Owner(bucket.OwnerAccountId) ?? throw S3Errors.NoSuchBucket(bucket.Name);
        var owner = env.Owner(env.WriterAccount(ctx, bucket)) ?? bucketOwner;
        var enabled = ObjectOwnership.AclsEnabled(bucket);
        var grants = S3Acl.FromHeaders(env, ctx, owner, bucketOwner, forBucket: false, resolve: enabled)!;
        if (!enabled)
        {
            if (!OwnerOnly(grants, bucketOwner)) throw AclNotSupported();
            return null;
        }
        RequireNotBlocked(bucket, grants);
        return grants;
    }

    /// <summary>PutBucketAcl's and PutObjectAcl's ACL: from the headers or the body, not both.</summary>
    async Task<List<AclGrant>> ReadAclAsync(RequestContext ctx, AccountRecord owner, AccountRecord bucketOwner, bool forBucket, bool resolve)
    {
        var body = await S3Http.BufferSmallBodyAsync(ctx);
        var hasHeaders = S3Acl.HasAclHeaders(ctx);
        if (body.Length > 0)
        {
            if (hasHeaders) throw new AwsException("UnexpectedContent", 400, "This request does not support content");
            var root = S3Http.ParseXml(body);
            if (root is not { Name.LocalName: "AccessControlPolicy" }) throw S3Errors.MalformedXml();
            return S3Acl.FromBody(env, S3XmlReader.ReadAccessControlPolicy(root), owner, resolve);
        }
        if (!hasHeaders) throw new AwsException("MissingSecurityHeader", 400, "Your request was missing a required header").With("MissingHeaderName", "x-amz-acl");
        return S3Acl.FromHeaders(env, ctx, owner, bucketOwner, forBucket, resolve)!;
    }

    /// <summary>BlockPublicAcls: a public ACL is refused as S3 refuses it.</summary>
    static void RequireNotBlocked(BucketRecord bucket, List<AclGrant> grants)
    {
        if (bucket.PublicAccessBlock?.BlockPublicAcls == true && S3Acl.IsPublic(grants)) throw S3Errors.AccessDenied();
    }

    /// <summary>The only ACL an enforced bucket accepts: its owner's full control and nothing else.</summary>
    static bool OwnerOnly(List<AclGrant> grants, AccountRecord owner)
        => grants.Count > 0 && grants.All(g => g.Permission == S3Acl.FullControl && g.AccountId == owner.Id);

    AccountRecord RequireAccount(string accountId) => env.Owner(accountId) ?? throw new InvalidOperationException($"S3 resource owned by unknown account {accountId}");

    static AwsException AclNotSupported() => new("AccessControlListNotSupported", 400, "The bucket does not allow ACLs");

    static AwsException InvalidBucketAclWithObjectOwnership()
        => new("InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
}
