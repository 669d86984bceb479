using Microsoft.Extensions.Time.Testing;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// How ACL grants enter S3 authorization: the bucket policy lookup turns a bucket's or object
/// version's grants into resource-policy statements (only when ACLs are on), and the evaluator
/// decides with them as with any resource policy.
/// </summary>
public sealed class S3AclEvaluationTests : IDisposable
{
    const string Owner = "111122223333";
    const string Other = "444455556666";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-s3-acl-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly S3Store _store;
    readonly ResourcePolicyLookup _lookup;

    static readonly Principal OtherRoot = new(PrincipalType.Root, Other, $"arn:aws:iam::{Other}:root", Other, "AKIAOTHER");
    static readonly Principal OtherUser = new(PrincipalType.User, Other, $"arn:aws:iam::{Other}:user/bob", "AIDABOB", "AKIABOB");
    static readonly Principal OwnerRoot = new(PrincipalType.Root, Owner, $"arn:aws:iam::{Owner}:root", Owner, "AKIAOWNER");

    public S3AclEvaluationTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new S3Store(_state, new BlobStore(Path.Combine(_dir, "objects")));
        _lookup = BucketPolicyOperations.Lookup(_store, json => PolicyDocument.Parse(json, PolicyKind.Resource));
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    void Bucket(string? ownership, List<AclGrant>? acl = null, PublicAccessBlock? block = null, string? policy = null)
        => _store.CreateBucket(new BucketRecord("b", Owner, "us-east-1", _clock.GetUtcNow(), Policy: policy, PublicAccessBlock: block, ObjectOwnership: ownership, Acl: acl));

    ObjectRecord Put(string key, List<AclGrant>? acl, string owner = Owner, string? versionId = null)
        => _store.PutObject("b", new ObjectRecord
        {
            Key = key,
            Size = 0,
            ETag = "\"d41d8cd98f00b204e9800998ecf8427e\"",
            LastModified = _clock.GetUtcNow(),
            Segments = [],
            OwnerAccountId = owner,
            VersionId = versionId,
            Acl = acl,
        });

    Decision Decide(Principal p, string action, string resource, string? versionId = null, bool identityAllows = false)
    {
        var found = _lookup(p, action, resource, null);
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        if (!p.IsAnonymous) context["aws:PrincipalAccount"] = [p.AccountId];
        if (versionId is not null) context["s3:versionid"] = [versionId];
        var identity = identityAllows ? [PolicyDocument.Parse("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}""")] : new List<PolicyDocument>();
        var who = new RequestPrincipal(p.Arn, p.AccountId, IsRoot: p.Type == PrincipalType.Root, IsAnonymous: p.IsAnonymous);
        return Evaluator.Authorize(new AuthorizationRequest(new PolicyRequest(action, resource, context), who, found?.OwnerAccount, identity, found?.Document)).Decision;
    }

    static AclGrant Group(string uri, string permission) => new(permission, Uri: uri);

    [Fact]
    public void AnEnforcedBucketIgnoresTheAclsItKeeps()
    {
        Bucket(null, [Group(S3Acl.AllUsers, "READ")]);
        Put("k", [Group(S3Acl.AllUsers, "READ")]);
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:ListBucket", "arn:aws:s3:::b"));
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/k"));
    }

    [Fact]
    public void BucketPermissionsMapToTheirActions()
    {
        Bucket(ObjectOwnership.ObjectWriter, [Group(S3Acl.AllUsers, "READ"), new AclGrant("WRITE", "c", Other)]);
        Assert.Equal(Decision.Allow, Decide(Principal.Anonymous, "s3:ListBucket", "arn:aws:s3:::b"));
        Assert.Equal(Decision.Allow, Decide(Principal.Anonymous, "s3:ListBucketVersions", "arn:aws:s3:::b"));
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:PutObject", "arn:aws:s3:::b/x"));
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetBucketAcl", "arn:aws:s3:::b"));
        Assert.Equal(Decision.Allow, Decide(OtherRoot, "s3:PutObject", "arn:aws:s3:::b/x"));
        Assert.Equal(Decision.Allow, Decide(OtherRoot, "s3:DeleteObject", "arn:aws:s3:::b/x"));
        Assert.Equal(Decision.ImplicitDeny, Decide(OtherRoot, "s3:PutBucketAcl", "arn:aws:s3:::b"));
        // A grant to an account: its users need their own account's permission too.
        Assert.Equal(Decision.ImplicitDeny, Decide(OtherUser, "s3:PutObject", "arn:aws:s3:::b/x"));
        Assert.Equal(Decision.Allow, Decide(OtherUser, "s3:PutObject", "arn:aws:s3:::b/x", identityAllows: true));
    }

    [Fact]
    public void AuthenticatedUsersAreSignedInCallersOnly()
    {
        Bucket(ObjectOwnership.BucketOwnerPreferred);
        Put("k", [Group(S3Acl.AuthenticatedUsers, "READ")]);
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/k"));
        Assert.Equal(Decision.Allow, Decide(OtherRoot, "s3:GetObject", "arn:aws:s3:::b/k"));
        Assert.Equal(Decision.ImplicitDeny, Decide(OtherRoot, "s3:GetObjectAcl", "arn:aws:s3:::b/k"));
    }

    [Fact]
    public void IgnorePublicAclsDropsPublicGrantsOnly()
    {
        Bucket(ObjectOwnership.ObjectWriter, block: new PublicAccessBlock(false, true, false, false));
        Put("k", [Group(S3Acl.AllUsers, "READ"), new AclGrant("READ", "c", Other)]);
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/k"));
        Assert.Equal(Decision.Allow, Decide(OtherRoot, "s3:GetObject", "arn:aws:s3:::b/k"));
    }

    [Fact]
    public void AnObjectAnotherAccountOwnsIsTheBucketOwnersOnlyByGrant()
    {
        Bucket(ObjectOwnership.ObjectWriter);
        Put("theirs", null, owner: Other);
        Assert.Equal(Decision.ImplicitDeny, Decide(OwnerRoot, "s3:GetObject", "arn:aws:s3:::b/theirs"));
        Assert.Equal(Decision.Allow, Decide(OtherRoot, "s3:GetObject", "arn:aws:s3:::b/theirs"));
        // Deleting is the bucket's business.
        Assert.Equal(Decision.Allow, Decide(OwnerRoot, "s3:DeleteObject", "arn:aws:s3:::b/theirs"));
        Put("theirs", [new AclGrant(S3Acl.FullControl, "c", Other), new AclGrant("READ", "o", Owner)], owner: Other);
        Assert.Equal(Decision.Allow, Decide(OwnerRoot, "s3:GetObject", "arn:aws:s3:::b/theirs"));
        Assert.Equal(Decision.ImplicitDeny, Decide(OwnerRoot, "s3:PutObjectAcl", "arn:aws:s3:::b/theirs"));
    }

    [Fact]
    public void AVersionsGrantsActForRequestsNamingIt()
    {
        Bucket(ObjectOwnership.ObjectWriter);
        _store.UpdateBucket("b", b => b with { Versioning = VersioningStatus.Enabled });
        var v1 = Put("k", [Group(S3Acl.AllUsers, "READ")], versionId: "v1").WireVersionId;
        var v2 = Put("k", null, versionId: "v2").WireVersionId;
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/k"));
        Assert.Equal(Decision.Allow, Decide(Principal.Anonymous, "s3:GetObjectVersion", "arn:aws:s3:::b/k", v1));
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObjectVersion", "arn:aws:s3:::b/k", v2));
    }

    [Fact]
    public void ABucketPolicyAllowsNothingOnAnObjectAnotherAccountOwns()
    {
        // A public-read bucket policy: it reaches the owner's objects, not another account's,
        // which only that account's ACL can grant; its Deny still reaches every object.
        Bucket(ObjectOwnership.ObjectWriter, policy: """
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
              {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}]}
            """);
        Put("mine", null);
        Put("theirs", null, owner: Other);
        Put("secret/theirs", [new AclGrant(S3Acl.FullControl, "c", Other), Group(S3Acl.AllUsers, "READ")], owner: Other);
        Assert.Equal(Decision.Allow, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/mine"));
        Assert.Equal(Decision.ImplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/theirs"));
        Assert.Equal(Decision.ImplicitDeny, Decide(OwnerRoot, "s3:GetObject", "arn:aws:s3:::b/theirs"));
        Assert.Equal(Decision.ExplicitDeny, Decide(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::b/secret/theirs"));
    }
}
