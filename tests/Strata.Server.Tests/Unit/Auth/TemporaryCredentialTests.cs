using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Strata.Server.Auth;
using Strata.Server.Identity;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>STS keys work with their token until they expire; the clock decides, so the test
/// moves it instead of waiting 15 minutes.</summary>
public sealed class TemporaryCredentialTests : IDisposable
{
    sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    readonly string _dir = Directory.CreateTempSubdirectory("strata-temp-keys-").FullName;
    readonly SqliteStateStore _state;
    readonly CredentialStore _credentials;
    readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    readonly AccessKeyRecord _key;

    public TemporaryCredentialTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _credentials = new CredentialStore(_state, _clock);
        _key = new AccessKeyRecord("ASIATESTTESTTEST0001", "secret/secret/secret/secret/secret/1234", "111111111111", PrincipalType.AssumedRole,
            "arn:aws:sts::111111111111:assumed-role/app/s", "Active", _clock.Now, UserName: "app", UserId: "AROAX:s",
            RoleArn: "arn:aws:iam::111111111111:role/app", SessionToken: "token-1", Expiration: _clock.Now.AddMinutes(15));
        _state.Write(w => { CredentialStore.PutKey(w, _key); return 0; });
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, true);
    }

    /// <summary>A Query request to STS signed at the clock's time, as a client would sign it.</summary>
    RequestContext Signed(string? token)
    {
        var http = new DefaultHttpContext();
        var body = Encoding.UTF8.GetBytes("Action=GetCallerIdentity&Version=2011-06-15");
        var amzDate = _clock.Now.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture);
        http.Request.Method = "POST";
        http.Request.Path = "/";
        http.Request.Headers.Host = "localhost";
        http.Request.Headers["x-amz-date"] = amzDate;
        var headers = new List<(string, string)> { ("host", "localhost"), ("x-amz-date", amzDate) };
        if (token is not null)
        {
            http.Request.Headers["x-amz-security-token"] = token;
            headers.Add(("x-amz-security-token", token));
        }
        var signed = string.Join(';', headers.Select(h => h.Item1));
        var hash = SigV4.Sha256Hex(body);
        var canonical = SigV4.CanonicalRequest("POST", "/", "", headers, signed, hash);
        var scope = $"{amzDate[..8]}/us-east-1/sts/aws4_request";
        var signature = SigV4.Sign(SigV4.SigningKey(_key.SecretAccessKey, amzDate[..8], "us-east-1", "sts"), SigV4.StringToSign(amzDate, scope, canonical));
        http.Request.Headers.Authorization = $"AWS4-HMAC-SHA256 Credential={_key.AccessKeyId}/{scope}, SignedHeaders={signed}, Signature={signature}";
        return new RequestContext(http, "req", "us-east-1", false)
        {
            Service = new ServiceDescriptor("sts", "sts", AwsProtocol.Query, NamedOperations.None),
            BufferedBody = body,
        };
    }

    async Task<string?> ErrorOf(RequestContext ctx)
    {
        try
        {
            await new SigV4Authenticator(_credentials, _clock).AuthenticateAsync(ctx);
            return null;
        }
        catch (AwsException e)
        {
            return e.Code;
        }
    }

    [Fact]
    public async Task ValidWithItsTokenUntilItExpires()
    {
        var ctx = Signed("token-1");
        Assert.Null(await ErrorOf(ctx));
        Assert.Equal("arn:aws:sts::111111111111:assumed-role/app/s", ctx.Principal.Arn);
        Assert.Equal("arn:aws:iam::111111111111:role/app", ctx.Principal.RoleArn);
        Assert.True(ctx.Principal.Temporary);

        _clock.Now = _clock.Now.AddMinutes(15);
        Assert.Equal("ExpiredToken", await ErrorOf(Signed("token-1")));
    }

    [Fact]
    public async Task RefusedWithoutOrWithAnotherToken()
    {
        Assert.Equal("InvalidClientTokenId", await ErrorOf(Signed(null)));
        Assert.Equal("InvalidClientTokenId", await ErrorOf(Signed("token-2")));
    }
}
