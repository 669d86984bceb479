using Strata.Policy;

namespace Strata.Policy.Tests;

/// <summary>The whole evaluation: identity, resource (bucket/key/trust) policies, boundaries,
/// session policies, accounts, root and anonymous callers.</summary>
public sealed class AuthorizeTests
{
    const string A = "111111111111";
    const string B = "222222222222";
    static readonly RequestPrincipal Alice = new($"arn:aws:iam::{A}:user/alice", A);
    static readonly RequestPrincipal RootA = new($"arn:aws:iam::{A}:root", A, IsRoot: true);
    static readonly RequestPrincipal RootB = new($"arn:aws:iam::{B}:root", B, IsRoot: true);
    static readonly RequestPrincipal Bob = new($"arn:aws:iam::{B}:user/bob", B);
    static readonly RequestPrincipal Session = new($"arn:aws:sts::{A}:assumed-role/app/s1", A, RoleArn: $"arn:aws:iam::{A}:role/app");
    static readonly RequestPrincipal Anonymous = new("*", "", IsAnonymous: true);
    static readonly RequestPrincipal SageMaker = new("sagemaker.amazonaws.com", "", Service: "sagemaker.amazonaws.com");

    static PolicyDocument Identity(string statements) => PolicyDocument.Parse($"{{\"Version\":\"2012-10-17\",\"Statement\":[{statements}]}}");
    static PolicyDocument Resource(string statements) => PolicyDocument.Parse($"{{\"Version\":\"2012-10-17\",\"Statement\":[{statements}]}}", PolicyKind.Resource);

    const string GetAll = """{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}""";
    const string Object = "arn:aws:s3:::data/k";

    static AuthorizationResult Run(RequestPrincipal who, string? owner, PolicyDocument[] identity, PolicyDocument? resource = null,
        PolicyDocument? boundary = null, PolicyDocument[]? session = null, string action = "s3:GetObject")
        => Evaluator.Authorize(new AuthorizationRequest(new PolicyRequest(action, Object, new Dictionary<string, IReadOnlyList<string>>()),
            who, owner, identity, resource, boundary, session, ResourcePolicyRequired: action == "sts:AssumeRole"));

    [Fact]
    public void SameAccountIdentityPolicyAlone()
    {
        Assert.True(Run(Alice, A, [Identity(GetAll)]).IsAllowed);
        var denied = Run(Alice, A, []);
        Assert.Equal(Decision.ImplicitDeny, denied.Decision);
        Assert.Equal("because no identity-based policy allows the s3:GetObject action", denied.Reason);
    }

    [Fact]
    public void RootIsAllowedInItsOwnAccountButNotInAnother()
    {
        Assert.True(Run(RootA, A, []).IsAllowed);
        Assert.Equal("because no resource-based policy allows the s3:GetObject action", Run(RootB, A, []).Reason);
        Assert.True(Run(RootB, A, [], Resource($$"""{"Effect":"Allow","Principal":{"AWS":"{{B}}"},"Action":"s3:GetObject","Resource":"*"}""")).IsAllowed);
    }

    [Fact]
    public void ExplicitDenyInAResourcePolicyBindsEvenRoot()
        => Assert.Equal(Decision.ExplicitDeny, Run(RootA, A, [], Resource("""{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}""")).Decision);

    [Fact]
    public void CrossAccountNeedsBothSides()
    {
        var trustB = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{B}}:root"},"Action":"s3:GetObject","Resource":"*"}""");
        Assert.False(Run(Bob, A, [Identity(GetAll)]).IsAllowed);          // no bucket policy
        Assert.False(Run(Bob, A, [], trustB).IsAllowed);                     // bob's own policies allow nothing
        Assert.True(Run(Bob, A, [Identity(GetAll)], trustB).IsAllowed);
        // A grant to another account never reaches this one's users.
        Assert.False(Run(Alice, B, [Identity(GetAll)], trustB).IsAllowed);
    }

    [Fact]
    public void SameAccountGrantToTheUserItselfNeedsNoIdentityPolicy()
    {
        var toAlice = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{A}}:user/alice"},"Action":"s3:GetObject","Resource":"*"}""");
        Assert.True(Run(Alice, A, [], toAlice).IsAllowed);
        // ...but a grant to the account delegates to the account's own policies.
        var toAccount = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"{{A}}"},"Action":"s3:GetObject","Resource":"*"}""");
        Assert.False(Run(Alice, A, [], toAccount).IsAllowed);
        Assert.True(Run(Alice, A, [Identity(GetAll)], toAccount).IsAllowed);
    }

    [Fact]
    public void AnonymousOnlyThroughEveryone()
    {
        Assert.False(Run(Anonymous, A, []).IsAllowed);
        Assert.False(Run(Anonymous, A, [], Resource($$"""{"Effect":"Allow","Principal":{"AWS":"{{A}}"},"Action":"s3:GetObject","Resource":"*"}""")).IsAllowed);
        Assert.True(Run(Anonymous, A, [], Resource("""{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}""")).IsAllowed);
        Assert.True(Run(Anonymous, A, [], Resource("""{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}""")).IsAllowed);
    }

    [Fact]
    public void PermissionsBoundaryLimitsButNeverGrants()
    {
        var onlyS3Get = Identity("""{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}""");
        var admin = Identity("""{"Effect":"Allow","Action":"*","Resource":"*"}""");
        Assert.True(Run(Alice, A, [admin], boundary: onlyS3Get).IsAllowed);
        var put = Run(Alice, A, [admin], boundary: onlyS3Get, action: "s3:PutObject");
        Assert.Equal("because no permissions boundary allows the s3:PutObject action", put.Reason);
        Assert.False(Run(Alice, A, [], boundary: admin).IsAllowed);
        // A grant to the user itself in a resource policy is not limited by the boundary.
        var toAlice = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{A}}:user/alice"},"Action":"s3:PutObject","Resource":"*"}""");
        Assert.True(Run(Alice, A, [admin], toAlice, onlyS3Get, action: "s3:PutObject").IsAllowed);
    }

    [Fact]
    public void SessionPoliciesIntersect()
    {
        var admin = Identity("""{"Effect":"Allow","Action":"*","Resource":"*"}""");
        var readOnly = Identity("""{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}""");
        Assert.True(Run(Session, A, [admin], session: [readOnly]).IsAllowed);
        Assert.Equal("because no session policy allows the s3:PutObject action", Run(Session, A, [admin], session: [readOnly], action: "s3:PutObject").Reason);
        Assert.False(Run(Session, A, [], session: [admin]).IsAllowed);
        // Granted to the role ARN: no identity policy needed, but the session policy still limits.
        var toRole = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{A}}:role/app"},"Action":"s3:*","Resource":"*"}""");
        Assert.True(Run(Session, A, [], toRole).IsAllowed);
        Assert.False(Run(Session, A, [], toRole, session: [readOnly], action: "s3:PutObject").IsAllowed);
        // Granted to the session ARN itself: not limited.
        var toSession = Resource($$"""{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::{{A}}:assumed-role/app/s1"},"Action":"s3:*","Resource":"*"}""");
        Assert.True(Run(Session, A, [], toSession, session: [readOnly], action: "s3:PutObject").IsAllowed);
    }

    [Fact]
    public void NotPrincipalExcludes()
    {
        var denyAllButAlice = Resource($$"""{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::{{A}}:user/alice"},"Action":"s3:*","Resource":"*"}""");
        Assert.True(Run(Alice, A, [Identity(GetAll)], denyAllButAlice).IsAllowed);
        Assert.Equal(Decision.ExplicitDeny, Run(Session, A, [Identity(GetAll)], denyAllButAlice).Decision);
    }

    [Fact]
    public void TrustPolicies()
    {
        var trustSageMaker = PolicyDocument.Parse("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""", PolicyKind.Trust);
        Assert.True(Run(SageMaker, A, [], trustSageMaker, action: "sts:AssumeRole").IsAllowed);
        Assert.False(Run(Alice, A, [Identity("""{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}""")], trustSageMaker, action: "sts:AssumeRole").IsAllowed);
        var trustAccount = PolicyDocument.Parse($$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{A}}:root"},"Action":"sts:AssumeRole"}]}""", PolicyKind.Trust);
        Assert.False(Run(Alice, A, [], trustAccount, action: "sts:AssumeRole").IsAllowed);
        Assert.True(Run(Alice, A, [Identity("""{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}""")], trustAccount, action: "sts:AssumeRole").IsAllowed);
        Assert.True(Run(RootA, A, [], trustAccount, action: "sts:AssumeRole").IsAllowed);
        // A trust policy that names the user itself needs no identity policy in the same account.
        var trustAlice = PolicyDocument.Parse($$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{A}}:user/alice"},"Action":"sts:AssumeRole"}]}""", PolicyKind.Trust);
        Assert.True(Run(Alice, A, [], trustAlice, action: "sts:AssumeRole").IsAllowed);
        Assert.False(Run(Bob, A, [Identity("""{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}""")], trustAlice, action: "sts:AssumeRole").IsAllowed);
    }

    [Theory]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}""", PolicyKind.Identity, "Policy document should not specify a principal.")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}""", PolicyKind.Resource, "Missing required field Principal")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}""", PolicyKind.Identity, "Policy statement must contain resources.")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1111*"},"Action":"s3:*","Resource":"*"}]}""", PolicyKind.Resource, "Invalid principal in policy")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"s3:*","Resource":"*"}]}""", PolicyKind.Resource, "Invalid principal in policy")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}]}""", PolicyKind.Trust, "Invalid principal in policy: \"AWS\":\"alice\"")]
    public void PrincipalRulesPerKind(string json, PolicyKind kind, string message)
        => Assert.Equal(message, Assert.Throws<MalformedPolicyException>(() => PolicyDocument.Parse(json, kind)).Message);
}
