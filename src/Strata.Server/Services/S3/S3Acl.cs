using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>One grant of an access control list: a permission (<c>READ</c>, <c>WRITE</c>,
/// <c>READ_ACP</c>, <c>WRITE_ACP</c>, <c>FULL_CONTROL</c>) to an account (its canonical user id,
/// and the account id it stands for, kept so authorization needs no lookup) or to a group (its
/// URI). Grants by e-mail address are stored as the account they resolved to, as S3 stores them.</summary>
public sealed record AclGrant(string Permission, string? CanonicalUserId = null, string? AccountId = null, string? Uri = null);

/// <summary>A bucket's Object Ownership setting, as S3 names it.</summary>
public static class ObjectOwnership
{
    /// <summary>ACLs disabled: the bucket owner owns every object; policies alone grant access.
    /// The default of new buckets (and of every bucket stored before the setting was kept).</summary>
    public const string BucketOwnerEnforced = "BucketOwnerEnforced";
    /// <summary>ACLs on; the bucket owner owns an object written with <c>bucket-owner-full-control</c>.</summary>
    public const string BucketOwnerPreferred = "BucketOwnerPreferred";
    /// <summary>ACLs on; the writing account owns what it writes.</summary>
    public const string ObjectWriter = "ObjectWriter";
    /// <summary>Stored when the controls are deleted: no rule, which S3 treats as ObjectWriter.</summary>
    public const string None = "";

    public static readonly string[] Values = [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter];

    /// <summary>The bucket's setting (null: never set, so enforced).</summary>
    public static string Of(BucketRecord bucket) => bucket.ObjectOwnership ?? BucketOwnerEnforced;

    public static bool AclsEnabled(BucketRecord bucket) => Of(bucket) != BucketOwnerEnforced;

    /// <summary>Who owns an object an account writes: the bucket owner when ACLs are disabled or
    /// when the bucket prefers it and the writer grants it full control; otherwise the writer.</summary>
    public static string ObjectOwner(BucketRecord bucket, string writerAccount, string? cannedAcl) => Of(bucket) switch
    {
        BucketOwnerEnforced => bucket.OwnerAccountId,
        BucketOwnerPreferred when cannedAcl == "bucket-owner-full-control" => bucket.OwnerAccountId,
        _ => writerAccount,
    };
}

/// <summary>
/// S3's access control lists: canned ACLs, grant headers and AccessControlPolicy bodies turned
/// into grants (checked as S3 checks them), whether grants are public (Block Public Access), and
/// how grants enter authorization: as resource-policy statements of the bucket or object, each
/// permission standing for the S3 actions AWS documents for it.
/// </summary>
internal static class S3Acl
{
    public const string AllUsers = "http://acs.amazonaws.com/groups/global/AllUsers";
    public const string AuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    public const string LogDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery";
    public const string FullControl = "FULL_CONTROL";

    static readonly string[] Groups = [AllUsers, AuthenticatedUsers, LogDelivery];
    static readonly string[] Permissions = ["READ", "WRITE", "READ_ACP", "WRITE_ACP", FullControl];

    public static readonly string[] CannedAcls =
        ["private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"];

    /// <summary>Header name → the permission it grants.</summary>
    public static readonly (string Header, string Permission)[] GrantHeaders =
    [
        ("x-amz-grant-read", "READ"), ("x-amz-grant-write", "WRITE"), ("x-amz-grant-read-acp", "READ_ACP"),
        ("x-amz-grant-write-acp", "WRITE_ACP"), ("x-amz-grant-full-control", FullControl),
    ];

    /// <summary>The canonical user S3 names for Amazon EC2 in <c>aws-exec-read</c>; it is no
    /// account here, so the grant shows but gives no one access.</summary>
    const string Ec2CanonicalUser = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c";

    public static bool HasAclHeaders(RequestContext ctx) => ctx.Header("x-amz-acl") is not null || GrantHeaders.Any(h => ctx.Header(h.Header) is not null);

    /// <summary>The grants a request's <c>x-amz-acl</c> or <c>x-amz-grant-*</c> headers give, or
    /// null when it has neither. <paramref name="owner"/> owns the resource; for a bucket the
    /// <c>bucket-owner-*</c> canned ACLs mean <c>private</c> (S3 ignores them there). Without
    /// <paramref name="resolve"/> (a bucket with ACLs disabled, which refuses any grant to
    /// another) grantees are not looked up, so an unknown one is just not the owner.</summary>
    public static List<AclGrant>? FromHeaders(S3Environment env, RequestContext ctx, AccountRecord owner, AccountRecord bucketOwner, bool forBucket, bool resolve = true)
    {
        var canned = ctx.Header("x-amz-acl");
        var granted = GrantHeaders.Where(h => ctx.Header(h.Header) is not null).ToList();
        if (canned is null && granted.Count == 0) return null;
        if (canned is not null && granted.Count > 0) throw S3Errors.InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed");
        if (canned is not null) return Canned(canned, owner, bucketOwner, forBucket);
        var grants = new List<AclGrant>();
        foreach (var (header, permission) in granted)
        {
            var value = ctx.Header(header)!;
            // type=value pairs (quotes optional), comma-separated: id, emailAddress, uri.
            foreach (var grantee in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = grantee.IndexOf('=');
                if (eq < 0) throw S3Errors.InvalidArgument("Argument format not recognized", header, value);
                var (type, id) = (grantee[..eq].Trim(), grantee[(eq + 1)..].Trim().Trim('"'));
                grants.Add(type.ToLowerInvariant() switch
                {
                    "id" => ByCanonicalId(env, permission, id, resolve),
                    "emailaddress" => ByEmail(permission, id, resolve),
                    "uri" => ByGroup(permission, id),
                    _ => throw S3Errors.InvalidArgument("Argument format not recognized", header, value),
                });
            }
        }
        return grants.Distinct().ToList();
    }

    /// <summary>An AccessControlPolicy body's grants, checked against S3's schema (a Grantee of a
    /// known type with its identifier, a known permission, an Owner that is the resource's).</summary>
    public static List<AclGrant> FromBody(S3Environment env, AccessControlPolicy policy, AccountRecord owner, bool resolve = true)
    {
        if (policy.Owner?.ID is not { } ownerId) throw MalformedAcl();
        // An ACL cannot hand the resource to someone else.
        if (ownerId != owner.CanonicalUserId) throw S3Errors.AccessDenied();
        var grants = new List<AclGrant>();
        foreach (var grant in policy.Grants ?? [])
        {
            if (grant is not { Grantee: { } grantee, Permission: { } permission } || !Permissions.Contains(permission)) throw MalformedAcl();
            grants.Add(grantee.Type switch
            {
                "CanonicalUser" when grantee.ID is { } id => ByCanonicalId(env, permission, id, resolve),
                "AmazonCustomerByEmail" when grantee.EmailAddress is { } email => ByEmail(permission, email, resolve),
                "Group" when grantee.URI is { } uri => ByGroup(permission, uri),
                _ => throw MalformedAcl(),
            });
        }
        return grants.Distinct().ToList();
    }

    /// <summary>A canned ACL expanded as S3 documents it.</summary>
    public static List<AclGrant> Canned(string canned, AccountRecord owner, AccountRecord bucketOwner, bool forBucket)
    {
        if (!CannedAcls.Contains(canned)) throw S3Errors.InvalidArgument("", "x-amz-acl", canned);
        var grants = new List<AclGrant> { Account(FullControl, owner) };
        switch (canned)
        {
            case "public-read":
                grants.Add(new AclGrant("READ", Uri: AllUsers));
                break;
            case "public-read-write":
                grants.Add(new AclGrant("READ", Uri: AllUsers));
                grants.Add(new AclGrant("WRITE", Uri: AllUsers));
                break;
            case "authenticated-read":
                grants.Add(new AclGrant("READ", Uri: AuthenticatedUsers));
                break;
            case "aws-exec-read":
                grants.Add(new AclGrant("READ", CanonicalUserId: Ec2CanonicalUser));
                break;
            case "log-delivery-write":
                grants.Add(new AclGrant("WRITE", Uri: LogDelivery));
                grants.Add(new AclGrant("READ_ACP", Uri: LogDelivery));
                break;
            // The bucket owner's grant, when it is not the owner already.
            case "bucket-owner-read" when !forBucket && bucketOwner.Id != owner.Id:
                grants.Add(Account("READ", bucketOwner));
                break;
            case "bucket-owner-full-control" when !forBucket:
                grants.Add(Account(FullControl, bucketOwner));
                break;
        }
        return grants.Distinct().ToList();
    }

    /// <summary>The ACL of a resource that was given none: its owner's full control.</summary>
    public static List<AclGrant> Private(AccountRecord owner) => [Account(FullControl, owner)];

    /// <summary>Public, as Block Public Access judges an ACL: some grant to everyone or to every
    /// signed-in AWS user.</summary>
    public static bool IsPublic(IEnumerable<AclGrant> grants) => grants.Any(g => g.Uri is AllUsers or AuthenticatedUsers);

    /// <summary>Whether an ACL grants anyone but <paramref name="ownerAccount"/> anything (a
    /// bucket with such an ACL cannot become BucketOwnerEnforced).</summary>
    public static bool GrantsOthers(IEnumerable<AclGrant> grants, string ownerAccount) => grants.Any(g => g.AccountId != ownerAccount);

    /// <summary>The wire form of grants, with each account's display name.</summary>
    public static List<Grant> ToWire(S3Environment env, IEnumerable<AclGrant> grants) => grants.Select(g => new Grant
    {
        Permission = g.Permission,
        Grantee = g.Uri is { } uri ? new Grantee { Type = "Group", URI = uri }
            : new Grantee { Type = "CanonicalUser", ID = g.CanonicalUserId, DisplayName = g.AccountId is { } a ? env.Owner(a)?.Name : null },
    }).ToList();

    // ---- authorization ----

    /// <summary>The S3 actions each permission of a bucket's ACL allows, on the bucket (READ,
    /// READ_ACP, WRITE_ACP) or on its objects (WRITE: creating and deleting objects).</summary>
    static (string[] OnBucket, string[] OnObjects) BucketActions(string permission) => permission switch
    {
        "READ" => (["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"], []),
        "WRITE" => ([], ["s3:PutObject", "s3:DeleteObject"]),
        "READ_ACP" => (["s3:GetBucketAcl"], []),
        "WRITE_ACP" => (["s3:PutBucketAcl"], []),
        _ => (["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetBucketAcl", "s3:PutBucketAcl"], ["s3:PutObject", "s3:DeleteObject"]),
    };

    /// <summary>The S3 actions each permission of an object's ACL allows on it: the plain ones
    /// act on the current version, the version ones on the version the ACL belongs to.</summary>
    static (string[] Current, string[] Version) ObjectActions(string permission) => permission switch
    {
        "READ" => (["s3:GetObject"], ["s3:GetObjectVersion"]),
        "READ_ACP" => (["s3:GetObjectAcl"], ["s3:GetObjectVersionAcl"]),
        "WRITE_ACP" => (["s3:PutObjectAcl"], ["s3:PutObjectVersionAcl"]),
        FullControl => (["s3:GetObject", "s3:GetObjectAcl", "s3:PutObjectAcl"], ["s3:GetObjectVersion", "s3:GetObjectVersionAcl", "s3:PutObjectVersionAcl"]),
        _ => ([], []),
    };

    /// <summary>The actions an object's ACL decides (the others on objects are the bucket's).</summary>
    public static bool IsObjectAclAction(string action)
        => Permissions.Any(p => ObjectActions(p) is var (current, version) && (current.Contains(action, StringComparer.OrdinalIgnoreCase) || version.Contains(action, StringComparer.OrdinalIgnoreCase)));

    /// <summary>A bucket ACL as policy statements, granting nothing its owner's account has anyway.</summary>
    public static IEnumerable<Statement> BucketStatements(BucketRecord bucket, List<AclGrant> grants, bool ignorePublic)
    {
        var arn = $"arn:aws:s3:::{bucket.Name}";
        foreach (var grant in Effective(grants, bucket.OwnerAccountId, ignorePublic))
        {
            var (onBucket, onObjects) = BucketActions(grant.Permission);
            if (onBucket.Length > 0) yield return Allow(grant, onBucket, arn, []);
            if (onObjects.Length > 0) yield return Allow(grant, onObjects, arn + "/*", []);
        }
    }

    /// <summary>One object version's ACL as policy statements: the plain actions when it is the
    /// current version, the version actions for requests that name its version id.</summary>
    public static IEnumerable<Statement> ObjectStatements(string bucket, ObjectRecord version, List<AclGrant> grants, bool current, bool ignorePublic)
    {
        var arn = $"arn:aws:s3:::{bucket}/{version.Key}";
        var named = new Condition("StringEquals", "s3:versionid", [version.WireVersionId]);
        foreach (var grant in Effective(grants, version.OwnerAccountId, ignorePublic))
        {
            var (plain, versioned) = ObjectActions(grant.Permission);
            if (current && plain.Length > 0) yield return Allow(grant, plain, arn, []);
            if (versioned.Length > 0) yield return Allow(grant, versioned, arn, [named]);
        }
    }

    static IEnumerable<AclGrant> Effective(List<AclGrant> grants, string ownerAccount, bool ignorePublic)
        => grants.Where(g => g.AccountId != ownerAccount && (g.AccountId is not null || g.Uri is not null) && !(ignorePublic && IsPublic([g])));

    static Statement Allow(AclGrant grant, string[] actions, string resource, List<Condition> conditions)
    {
        var (principal, extra) = grant.Uri switch
        {
            AllUsers => (new PrincipalSet(true, new Dictionary<string, IReadOnlyList<string>>()), (Condition?)null),
            // Every signed-in caller: anonymous requests carry no aws:PrincipalAccount.
            AuthenticatedUsers => (new PrincipalSet(true, new Dictionary<string, IReadOnlyList<string>>()), new Condition("Null", "aws:PrincipalAccount", ["false"])),
            LogDelivery => (Named("Service", "logging.s3.amazonaws.com"), null),
            _ => (Named("AWS", $"arn:aws:iam::{grant.AccountId}:root"), null),
        };
        if (extra is not null) conditions = [.. conditions, extra];
        return new Statement("ACL", Effect.Allow, actions, null, [resource], null, conditions, principal);
    }

    static PrincipalSet Named(string type, string value) => new(false, new Dictionary<string, IReadOnlyList<string>> { [type] = [value] });

    static AclGrant Account(string permission, AccountRecord account) => new(permission, account.CanonicalUserId, account.Id);

    static AclGrant ByCanonicalId(S3Environment env, string permission, string id, bool resolve)
        => env.Accounts.ListAccounts().Find(a => a.CanonicalUserId == id) is { } account ? Account(permission, account)
            : !resolve ? new AclGrant(permission, CanonicalUserId: id)
            : throw S3Errors.InvalidArgument("Invalid id", "CanonicalUser/ID", id);

    /// <summary>Strata's accounts have no e-mail address, so no grant by one resolves.</summary>
    static AclGrant ByEmail(string permission, string email, bool resolve)
        => !resolve ? new AclGrant(permission) : throw new AwsException("UnresolvableGrantByEmailAddress", 400, "The e-mail address you provided does not match any account on record.").With("EmailAddress", email);

    static AclGrant ByGroup(string permission, string uri)
        => Groups.Contains(uri) ? new AclGrant(permission, Uri: uri) : throw S3Errors.InvalidArgument("Invalid group uri", "Group/URI", uri);

    public static AwsException MalformedAcl()
        => new("MalformedACLError", 400, "The XML you provided was not well-formed or did not validate against our published schema");
}
