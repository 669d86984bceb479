using Microsoft.AspNetCore.Http;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Identity;
using Strata.Server.Protocol;

namespace Strata.Server.Tests.Unit;

/// <summary>The authorizer reads identity through <see cref="IPolicySource"/> and time through the
/// injected clock, so a policy that expires (<c>aws:CurrentTime</c>) is tested by moving the
/// clock, and without a state store.</summary>
public sealed class AuthorizerTests
{
    sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>One user with one inline policy; no roles.</summary>
    sealed class OnePolicy(string json) : IPolicySource
    {
        public PrincipalPolicies PoliciesOf(Principal principal)
            => principal.EntityName == "alice" ? new([Parse(json, PolicyKind.Identity)], null, []) : new([], null, []);
        public IamRole? FindRole(string roleArn) => null;
        public PolicyDocument Parse(string json, PolicyKind kind) => PolicyDocument.Parse(json, kind);
    }

    const string Account = "111111111111";
    static readonly Principal Alice = new(PrincipalType.User, Account, $"arn:aws:iam::{Account}:user/alice", "AIDAALICE", "AKIAALICE", "alice");

    /// <summary>Reads the bucket until the end of 2026, no longer.</summary>
    const string UntilEndOf2026 = """
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
          "Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}]}
        """;

    readonly ManualClock _clock = new(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero));

    Authorizer NewAuthorizer() => new(new OnePolicy(UntilEndOf2026), [], _clock);

    static RequestContext Request(Principal principal) => new(new DefaultHttpContext(), "req", "us-east-1", secureTransport: true)
    {
        Service = new ServiceDescriptor("s3", "s3", AwsProtocol.RestXml, NamedOperations.None),
        Principal = principal,
    };

    [Fact]
    public void RequestTimeConditionsReadTheInjectedClock()
    {
        var authorizer = NewAuthorizer();
        Assert.True(authorizer.Decide(Request(Alice), "s3:GetObject", "arn:aws:s3:::models/a").IsAllowed);

        _clock.Now = _clock.Now.AddHours(2);
        Assert.False(authorizer.Decide(Request(Alice), "s3:GetObject", "arn:aws:s3:::models/a").IsAllowed);
        var denied = Assert.Throws<AwsException>(() => ((IRequestAuthorizer)authorizer).Require(Request(Alice), "s3:GetObject", "arn:aws:s3:::models/a"));
        Assert.Equal("AccessDenied", denied.Code);
    }

    [Fact]
    public void ServiceCallsReadTheInjectedClockToo()
    {
        var authorizer = NewAuthorizer();
        Assert.True(authorizer.DecideForService(Alice, "s3:GetObject", "arn:aws:s3:::models/a", "s3.us-east-1.amazonaws.com").IsAllowed);

        _clock.Now = _clock.Now.AddHours(2);
        Assert.False(authorizer.DecideForService(Alice, "s3:GetObject", "arn:aws:s3:::models/a", "s3.us-east-1.amazonaws.com").IsAllowed);
    }

    [Fact]
    public void HandlersSeeTheDecisionThroughProtocolsInterface()
    {
        IRequestAuthorizer authorizer = NewAuthorizer();
        var decision = authorizer.Decide(Request(Alice), "s3:PutObject", "arn:aws:s3:::models/a");
        Assert.False(decision.IsAllowed);
        Assert.True(authorizer.Decide(Request(Alice), "s3:GetObject", "arn:aws:s3:::models/a").IsAllowed);
    }

    [Fact]
    public void GetSessionTokenCredentialsMayNotCallIam()
    {
        // Temporary, and not a role session: what GetSessionToken hands out.
        var key = new AccessKeyRecord("ASIAALICE", "secret", Account, PrincipalType.User, Alice.Arn, "Active", _clock.Now,
            UserName: "alice", UserId: "AIDAALICE", SessionToken: "token", Expiration: _clock.Now.AddHours(1));
        var session = key.ToPrincipal();
        Assert.True(session.Temporary);
        var error = Assert.Throws<AwsException>(() => NewAuthorizer().Decide(Request(session), "iam:ListUsers", "*"));
        Assert.Equal("InvalidClientTokenId", error.Code);
    }
}
