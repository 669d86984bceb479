using System.Text;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// Bucket policies and the public access block, and the authorizer's view of them: a bucket's
/// policy is the resource policy of every request on the bucket and its objects, and the
/// bucket's owner decides which account a request crosses into. Buckets are private by default:
/// without a policy, only the owner's account (by its own IAM policies) gets in.
/// </summary>
public sealed class BucketPolicyOperations(S3Environment env)
{
    /// <summary>A bucket policy holds at most 20 KB (AWS's limit).</summary>
    const int MaxPolicySize = 20 * 1024;

    public async Task PutBucketPolicy(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        using var reader = new StreamReader(ctx.Body, Encoding.UTF8);
        var json = await reader.ReadToEndAsync();
        if (json.Length > MaxPolicySize) throw new AwsException("PolicyTooLarge", 400, "Policy exceeds the maximum allowed document size.");
        var document = Validate(json, bucket.Name);
        if (bucket.PublicAccessBlock?.BlockPublicPolicy == true && IsPublic(document))
            throw S3Errors.AccessDenied();
        env.Store.UpdateBucket(bucket.Name, b => b with { Policy = json });
        S3Http.Empty(ctx, 204);
    }

    public async Task GetBucketPolicy(RequestContext ctx)
    {
        var policy = env.RequireBucket(ctx).Policy ?? throw NoSuchBucketPolicy();
        var body = Encoding.UTF8.GetBytes(policy);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }

    public Task DeleteBucketPolicy(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { Policy = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    public Task GetBucketPolicyStatus(RequestContext ctx)
    {
        var policy = env.RequireBucket(ctx).Policy ?? throw NoSuchBucketPolicy();
        var isPublic = IsPublic(PolicyDocument.Parse(policy, PolicyKind.Resource));
        return S3Http.WriteXmlAsync(ctx, new PolicyStatus { IsPublic = isPublic });
    }

    public async Task PutPublicAccessBlock(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var c = await S3Http.ReadXmlAsync(ctx, "PublicAccessBlockConfiguration", S3XmlReader.ReadPublicAccessBlockConfiguration);
        var block = new PublicAccessBlock(c.BlockPublicAcls ?? false, c.IgnorePublicAcls ?? false, c.BlockPublicPolicy ?? false, c.RestrictPublicBuckets ?? false);
        env.Store.UpdateBucket(bucket.Name, b => b with { PublicAccessBlock = block });
        S3Http.Empty(ctx);
    }

    public Task GetPublicAccessBlock(RequestContext ctx)
    {
        var block = env.RequireBucket(ctx).PublicAccessBlock
            ?? throw new AwsException("NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found").With("BucketName", ctx.Bucket);
        return S3Http.WriteXmlAsync(ctx, new PublicAccessBlockConfiguration
        {
            BlockPublicAcls = block.BlockPublicAcls,
            IgnorePublicAcls = block.IgnorePublicAcls,
            BlockPublicPolicy = block.BlockPublicPolicy,
            RestrictPublicBuckets = block.RestrictPublicBuckets,
        });
    }

    public Task DeletePublicAccessBlock(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { PublicAccessBlock = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    // ---- default encryption (PutBucketEncryption) ----

    public async Task PutBucketEncryption(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var configuration = await S3Http.ReadXmlAsync(ctx, "ServerSideEncryptionConfiguration", S3XmlReader.ReadServerSideEncryptionConfiguration);
        var rule = configuration.Rules?.FirstOrDefault() ?? throw S3Errors.MalformedXml();
        var apply = rule.ApplyServerSideEncryptionByDefault ?? throw S3Errors.MalformedXml();
        var algorithm = apply.SSEAlgorithm ?? throw S3Errors.MalformedXml();
        var keyId = apply.KMSMasterKeyID;
        if (algorithm is not (ObjectEncryption.SseS3 or ObjectEncryption.SseKms)) throw S3Errors.MalformedXml();
        if (algorithm == ObjectEncryption.SseS3 && keyId is not null)
            throw S3Errors.InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse", "ApplyServerSideEncryptionByDefault", null);
        var encryption = new DefaultEncryption(algorithm, keyId, rule.BucketKeyEnabled == true);
        env.Store.UpdateBucket(bucket.Name, b => b with { Encryption = encryption });
        S3Http.Empty(ctx);
    }

    public Task GetBucketEncryption(RequestContext ctx)
    {
        var encryption = env.RequireBucket(ctx).Encryption
            ?? throw new AwsException("ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found").With("BucketName", ctx.Bucket);
        return S3Http.WriteXmlAsync(ctx, new ServerSideEncryptionConfiguration
        {
            Rules =
            [
                new ServerSideEncryptionRule
                {
                    ApplyServerSideEncryptionByDefault = new ServerSideEncryptionByDefault { SSEAlgorithm = encryption.SSEAlgorithm, KMSMasterKeyID = encryption.KmsMasterKeyId },
                    BucketKeyEnabled = encryption.BucketKeyEnabled,
                },
            ],
        });
    }

    public Task DeleteBucketEncryption(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { Encryption = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    static AwsException NoSuchBucketPolicy() => new("NoSuchBucketPolicy", 404, "The bucket policy does not exist");

    /// <summary>S3's checks on write: a resource policy whose statements name S3 actions on this
    /// bucket and its objects.</summary>
    static PolicyDocument Validate(string json, string bucket)
    {
        if (json.TrimStart().Length == 0 || json.TrimStart()[0] != '{')
            throw Malformed("Policies must be valid JSON and the first byte must be '{'");
        PolicyDocument document;
        try { document = PolicyDocument.Parse(json, PolicyKind.Resource); }
        catch (MalformedPolicyException e) { throw Malformed(e.IsSyntaxError ? "This policy contains invalid Json" : e.Message); }
        foreach (var s in document.Statements)
        {
            if ((s.Action ?? s.NotAction)!.Any(a => a != "*" && !a.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)))
                throw Malformed("Policy has invalid action");
            var resources = s.Resource ?? s.NotResource ?? throw Malformed("Policy has no resource");
            if (!resources.All(r => NamesBucketOrItsObjects(r, bucket)))
                throw Malformed("Policy has invalid resource");
        }
        return document;
    }

    static AwsException Malformed(string message) => new("MalformedPolicy", 400, message);

    /// <summary>S3's rule for a bucket policy's resources: an S3 ARN that, wildcards and all,
    /// can match the bucket itself or some object in it (<c>arn:aws:s3:::*</c>,
    /// <c>arn:aws:s3:::logs-*/2026/*</c>); one that can match neither (another bucket, a bare
    /// <c>*</c>, another service's ARN) is an invalid resource.</summary>
    internal static bool NamesBucketOrItsObjects(string resource, string bucket)
    {
        const string prefix = "arn:aws:s3:::";
        if (!resource.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var pattern = resource[prefix.Length..];
        return Wildcard.Matches(pattern, bucket, ignoreCase: false) || Wildcard.MatchesSomeValueStartingWith(pattern, bucket + "/");
    }

    /// <summary>Public, as S3 judges it: some Allow grants to everyone with no condition that
    /// pins the caller down (source IP, VPC endpoint, account).</summary>
    public static bool IsPublic(PolicyDocument document)
        => document.Statements.Any(s => s.Effect == Effect.Allow && s.Principal?.Everyone == true
            && !s.Conditions.Any(c => c.Key.ToLowerInvariant() is "aws:sourceip" or "aws:sourcevpce" or "aws:sourcevpc" or "aws:principalaccount" or "aws:principalorgid" or "aws:sourcearn" or "aws:sourceaccount"));

    /// <summary>The authorizer's lookup: the policy and owner of the bucket an S3 action names.</summary>
    public static ResourcePolicyLookup Lookup(S3Store store, Func<string, PolicyDocument> parse) => (principal, action, resource, request) =>
    {
        // Creating a bucket that exists is BucketAlreadyExists, not a cross-account denial.
        if (!resource.StartsWith("arn:aws:s3:::", StringComparison.Ordinal) || action.Equals("s3:CreateBucket", StringComparison.OrdinalIgnoreCase)) return null;
        var path = resource["arn:aws:s3:::".Length..];
        var slash = path.IndexOf('/');
        var name = slash < 0 ? path : path[..slash];
        if (name.Length == 0 || name == "*") return null;
        if (store.GetBucket(name) is not { } bucket)
        {
            // A missing bucket has no owner to grant anything, and S3 tells anyone so: an
            // anonymous request gets NoSuchBucket, not AccessDenied. Signed requests go on to the
            // caller's own policies and the handler's NoSuchBucket.
            if (principal.IsAnonymous) throw S3Errors.NoSuchBucket(name);
            return null;
        }
        // The owner's root can always manage the policy, so a bad policy never locks it out.
        if (principal.Type == PrincipalType.Root && principal.AccountId == bucket.OwnerAccountId
            && action.ToLowerInvariant() is "s3:putbucketpolicy" or "s3:getbucketpolicy" or "s3:deletebucketpolicy")
            return new ResourcePolicy(null, bucket.OwnerAccountId, Required: false);
        var document = bucket.Policy is null ? null : parse(bucket.Policy);
        // RestrictPublicBuckets: a public policy grants nothing to anyone outside the account.
        if (document is not null && bucket.PublicAccessBlock?.RestrictPublicBuckets == true && IsPublic(document)
            && (principal.IsAnonymous || principal.AccountId != bucket.OwnerAccountId))
            document = document with { Statements = document.Statements.Where(s => !(s.Effect == Effect.Allow && s.Principal?.Everyone == true)).ToList() };
        if (!ObjectOwnership.AclsEnabled(bucket)) return new ResourcePolicy(document, bucket.OwnerAccountId, Required: false);
        var (grants, owner) = AclGrants(store, bucket, action, slash < 0 ? null : path[(slash + 1)..], NamedVersion(action, request));
        // An object another account owns is that account's to grant: the bucket policy can still
        // deny, but its Allow statements give nothing on it (S3's object context).
        if (owner != bucket.OwnerAccountId && document is not null)
            document = document with { Statements = document.Statements.Where(s => s.Effect == Effect.Deny).ToList() };
        if (grants.Count > 0) document = document is null ? new PolicyDocument("2012-10-17", grants) : document with { Statements = [.. document.Statements, .. grants] };
        return new ResourcePolicy(document, owner, Required: false);
    };

    /// <summary>With ACLs on, the ACL grants that bear on an action, as statements of the
    /// resource policy (so an explicit Deny anywhere still wins and a grant to another account
    /// still needs that account's own permission), and the account that owns the resource. The
    /// object ACL actions (reading an object, reading or writing its ACL) are decided by the
    /// object's ACLs and owned by the object's owner, so a bucket owner reads an object another
    /// account wrote only when that account grants it; everything else by the bucket's ACL.
    /// IgnorePublicAcls drops grants to everyone and to every signed-in user.</summary>
    static (List<Statement> Grants, string Owner) AclGrants(S3Store store, BucketRecord bucket, string action, string? key, string? versionId)
    {
        var ignorePublic = bucket.PublicAccessBlock?.IgnorePublicAcls == true;
        if (key is null || !S3Acl.IsObjectAclAction(action))
            return (S3Acl.BucketStatements(bucket, bucket.Acl ?? [], ignorePublic).ToList(), bucket.OwnerAccountId);
        // Every version's own grants, each for requests that name it; the plain actions act on
        // the current one, whose owner owns the key.
        var versions = store.ListKeyVersions(bucket.Name, key).Where(v => !v.IsDeleteMarker).ToList();
        var current = store.GetObject(bucket.Name, key);
        var grants = versions.SelectMany(v => S3Acl.ObjectStatements(bucket.Name, v, v.Acl ?? [], current is not null && v.WireVersionId == current.WireVersionId, ignorePublic)).ToList();
        // The version the request names is owned by whoever wrote it, not by the current one's writer.
        var owned = versionId is null ? current ?? versions.FirstOrDefault() : versions.Find(v => v.WireVersionId == versionId);
        return (grants, owned?.OwnerAccountId ?? bucket.OwnerAccountId);
    }

    /// <summary>The version a version action's request names: its <c>s3:versionid</c> (set by
    /// handlers that authorize a version other than the request's own, such as a copy source),
    /// else its <c>?versionId=</c>; null for the plain actions.</summary>
    static string? NamedVersion(string action, RequestContext? request)
    {
        if (request is null || !action.Contains("Version", StringComparison.OrdinalIgnoreCase)) return null;
        if (request.ConditionKeys.TryGetValue("s3:versionid", out var named) && named.Count == 1) return named[0];
        return S3Http.Query(request, "versionId");
    }
}
