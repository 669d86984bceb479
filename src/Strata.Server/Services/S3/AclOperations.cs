using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// Object Ownership and access control lists, as S3 has them for buckets made since 2023: every
/// bucket is <c>BucketOwnerEnforced</c>, so ACLs are disabled. The bucket owner owns every object
/// and policies alone grant access. Reading an ACL answers the owner's full control. A write
/// that sets an ACL (PutBucketAcl, PutObjectAcl, or the <c>x-amz-acl</c>/<c>x-amz-grant-*</c>
/// headers of CreateBucket, PutObject, CopyObject, CreateMultipartUpload) is accepted only when
/// the ACL is the owner's full control and nothing else, as S3 accepts it. Any other ACL is
/// refused with S3's error. The other ownership settings (<c>ObjectWriter</c>,
/// <c>BucketOwnerPreferred</c>, or deleting the controls) turn ACLs on; Strata does not
/// evaluate ACLs, so it refuses them with NotImplemented rather than accept grants it would ignore.
/// </summary>
internal sealed class AclOperations(S3Environment env, ObjectOperations objects)
{
    public const string BucketOwnerEnforced = "BucketOwnerEnforced";

    static readonly string[] OwnershipValues = [BucketOwnerEnforced, "BucketOwnerPreferred", "ObjectWriter"];

    static readonly string[] CannedAcls =
        ["private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"];

    static readonly string[] GrantHeaders = ["x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control"];

    public async Task PutBucketOwnershipControls(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        var controls = await S3Http.ReadXmlAsync(ctx, "OwnershipControls", S3XmlReader.ReadOwnershipControls);
        // S3 takes exactly one rule naming one of its settings.
        if (controls.Rules is not [{ ObjectOwnership: { } ownership }] || !OwnershipValues.Contains(ownership)) throw S3Errors.MalformedXml();
        RequireEnforced(ownership);
        S3Http.Empty(ctx);
    }

    public Task GetBucketOwnershipControls(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        return S3Http.WriteXmlAsync(ctx, new GetBucketOwnershipControlsOutput
        {
            OwnershipControls = new OwnershipControls { Rules = [new OwnershipControlsRule { ObjectOwnership = BucketOwnerEnforced }] },
        });
    }

    public Task DeleteBucketOwnershipControls(RequestContext ctx)
    {
        env.RequireBucket(ctx);
        // Without controls a bucket is ObjectWriter: ACLs on.
        throw AclsNotImplemented("deleting the ownership controls");
    }

    public Task GetBucketAcl(RequestContext ctx)
    {
        var (owner, grants) = OwnerOnly(env.RequireBucket(ctx));
        return S3Http.WriteXmlAsync(ctx, new GetBucketAclOutput { Owner = owner, Grants = grants });
    }

    public async Task PutBucketAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        await RequireOwnerOnlyAsync(ctx, bucket);
        S3Http.Empty(ctx);
    }

    public Task GetObjectAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var record = objects.ReadVersion(ctx, bucket, ObjectOperations.RequestedVersion(ctx), "GET");
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        var (owner, grants) = OwnerOnly(bucket);
        return S3Http.WriteXmlAsync(ctx, new GetObjectAclOutput { Owner = owner, Grants = grants });
    }

    public async Task PutObjectAcl(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var record = objects.ReadVersion(ctx, bucket, ObjectOperations.RequestedVersion(ctx), "PUT");
        await RequireOwnerOnlyAsync(ctx, bucket);
        ObjectOperations.WriteVersionHeader(ctx, bucket, record);
        S3Http.Empty(ctx);
    }

    /// <summary>CreateBucket's <c>x-amz-object-ownership</c> and ACL headers: only the enforced
    /// setting, and an ACL that grants no one but the owner.</summary>
    public static void CheckCreateBucket(S3Environment env, RequestContext ctx)
    {
        if (ctx.Header("x-amz-object-ownership") is { } ownership)
        {
            if (!OwnershipValues.Contains(ownership))
                throw S3Errors.InvalidArgument("Invalid x-amz-object-ownership header", "x-amz-object-ownership", ownership);
            RequireEnforced(ownership);
        }
        if (HasAclHeaders(ctx) && !HeadersGrantOwnerOnly(ctx, env.Owner(ctx.Principal.AccountId)?.CanonicalUserId, bucket: true))
            throw new AwsException("InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    }

    /// <summary>An object write's ACL headers (PutObject, CopyObject, CreateMultipartUpload): none,
    /// or the bucket owner's full control.</summary>
    public static void CheckObjectWrite(S3Environment env, RequestContext ctx, BucketRecord bucket)
    {
        if (HasAclHeaders(ctx) && !HeadersGrantOwnerOnly(ctx, env.Owner(bucket.OwnerAccountId)?.CanonicalUserId, bucket: false)) throw AclNotSupported();
    }

    async Task RequireOwnerOnlyAsync(RequestContext ctx, BucketRecord bucket)
    {
        var owner = env.Owner(bucket.OwnerAccountId)?.CanonicalUserId;
        var body = await S3Http.BufferSmallBodyAsync(ctx);
        var hasHeaders = HasAclHeaders(ctx);
        if (body.Length > 0)
        {
            // S3 takes the ACL from the headers or the body, not both.
            if (hasHeaders) throw new AwsException("UnexpectedContent", 400, "This request does not support content");
            var root = S3Http.ParseXml(body);
            if (root is not { Name.LocalName: "AccessControlPolicy" }) throw S3Errors.MalformedXml();
            var policy = S3XmlReader.ReadAccessControlPolicy(root);
            var grants = policy.Grants ?? [];
            if (grants.Any(g => g.Grantee is null || g.Permission is null)) throw S3Errors.MalformedXml();
            var ownerOnly = grants.Count > 0 && grants.All(g => g.Permission == "FULL_CONTROL" && g.Grantee is { Type: "CanonicalUser" } grantee && grantee.ID == owner)
                && (policy.Owner?.ID is null || policy.Owner.ID == owner);
            if (!ownerOnly) throw AclNotSupported();
            return;
        }
        if (!hasHeaders) throw new AwsException("MissingSecurityHeader", 400, "Your request was missing a required header").With("MissingHeaderName", "x-amz-acl");
        if (!HeadersGrantOwnerOnly(ctx, owner, bucket: ctx.Key is null)) throw AclNotSupported();
    }

    static bool HasAclHeaders(RequestContext ctx) => ctx.Header("x-amz-acl") is not null || GrantHeaders.Any(h => ctx.Header(h) is not null);

    /// <summary>Whether a request's canned ACL and grant headers give the owner full control and
    /// no one anything else (no ACL at all does). For a bucket the canned form is <c>private</c>;
    /// for an object, <c>bucket-owner-full-control</c> too (its owner is the bucket owner).</summary>
    static bool HeadersGrantOwnerOnly(RequestContext ctx, string? ownerCanonicalId, bool bucket)
    {
        if (ctx.Header("x-amz-acl") is { } canned)
        {
            if (!CannedAcls.Contains(canned)) throw S3Errors.InvalidArgument("", "x-amz-acl", canned);
            if (canned != "private" && (bucket || canned != "bucket-owner-full-control")) return false;
        }
        foreach (var header in GrantHeaders)
        {
            if (ctx.Header(header) is not { } value) continue;
            if (header != "x-amz-grant-full-control") return false;
            // id="…" (quotes optional), possibly several, comma-separated: each must be the owner.
            foreach (var grantee in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = grantee.IndexOf('=');
                if (eq < 0) throw S3Errors.InvalidArgument("", header, value);
                var (type, id) = (grantee[..eq].Trim(), grantee[(eq + 1)..].Trim().Trim('"'));
                if (!type.Equals("id", StringComparison.OrdinalIgnoreCase) || id != ownerCanonicalId) return false;
            }
        }
        return true;
    }

    /// <summary>The one ACL a bucket or object has with ACLs disabled: the bucket owner's full control.</summary>
    (Owner Owner, List<Grant> Grants) OwnerOnly(BucketRecord bucket)
    {
        var owner = S3Http.OwnerOf(env.Owner(bucket.OwnerAccountId));
        return (owner, [new Grant { Grantee = new Grantee { Type = "CanonicalUser", ID = owner.ID, DisplayName = owner.DisplayName }, Permission = "FULL_CONTROL" }]);
    }

    static void RequireEnforced(string ownership)
    {
        if (ownership != BucketOwnerEnforced) throw AclsNotImplemented($"ObjectOwnership {ownership}");
    }

    static AwsException AclNotSupported() => new("AccessControlListNotSupported", 400, "The bucket does not allow ACLs");

    static AwsException AclsNotImplemented(string what)
        => new("NotImplemented", 501, $"Strata keeps ACLs disabled on every bucket (ObjectOwnership {BucketOwnerEnforced}); {what} would enable ACLs, which it does not evaluate. Grant access with bucket and IAM policies.", senderFault: false);
}
