using System.Security.Authentication;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;
using Strata.Policy;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// S3's side of authorization, in process: the condition keys it fills in per action (as AWS's
/// service authorization reference lists them), which resources a bucket policy may name, and
/// the answer an anonymous caller gets for a bucket that does not exist.
/// </summary>
public sealed class S3AuthorizationTests : IDisposable
{
    const string Account = "111122223333";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-s3-auth-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly S3Store _store;
    readonly S3Service _s3;

    public S3AuthorizationTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new S3Store(_state, new BlobStore(Path.Combine(_dir, "objects")));
        _s3 = new S3Service(new S3Environment(_store, null!, _clock, "us-east-1", new ServerSideEncryption(null!, null!, "us-east-1")), ["localhost"]);
        _store.CreateBucket(new BucketRecord("data", Account, "us-east-1", _clock.GetUtcNow()));
        _store.PutObject("data", new ObjectRecord
        {
            Key = "reports/q1.csv",
            Size = 0,
            ETag = "\"d41d8cd98f00b204e9800998ecf8427e\"",
            LastModified = _clock.GetUtcNow(),
            Segments = [],
            OwnerAccountId = Account,
            Tags = [new ObjectTag("classification", "secret"), new ObjectTag("team", "ml")],
        });
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    sealed class Tls(SslProtocols protocol) : ITlsHandshakeFeature
    {
        public SslProtocols Protocol => protocol;
#pragma warning disable SYSLIB0058 // the interface still declares them
        public CipherAlgorithmType CipherAlgorithm => CipherAlgorithmType.Aes256;
        public int CipherStrength => 256;
        public HashAlgorithmType HashAlgorithm => HashAlgorithmType.Sha384;
        public int HashStrength => 384;
        public ExchangeAlgorithmType KeyExchangeAlgorithm => ExchangeAlgorithmType.None;
        public int KeyExchangeStrength => 0;
#pragma warning restore SYSLIB0058
    }

    static RequestContext Request(string method, string target, SslProtocols? tls = null, params (string Name, string Value)[] headers)
    {
        var http = new DefaultHttpContext();
        var q = target.IndexOf('?');
        http.Request.Method = method;
        http.Request.Path = q < 0 ? target : target[..q];
        http.Request.QueryString = q < 0 ? QueryString.Empty : new QueryString(target[q..]);
        http.Request.Host = new HostString("127.0.0.1");
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        foreach (var (name, value) in headers) http.Request.Headers[name] = value;
        if (tls is { } protocol) http.Features.Set<ITlsHandshakeFeature>(new Tls(protocol));
        return new RequestContext(http, "req", "us-east-1", secureTransport: tls is not null)
        {
            Principal = new Principal(PrincipalType.User, Account, $"arn:aws:iam::{Account}:user/alice", "AIDA", "AKIA", "alice"),
            SignatureVersion = "AWS4-HMAC-SHA256",
        };
    }

    Dictionary<string, IReadOnlyList<string>> Keys(RequestContext ctx, string action, string resource)
    {
        var keys = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        ((IOperationResolver)_s3).AddConditionKeys(ctx, action, resource, keys);
        return keys;
    }

    [Fact]
    public void EveryActionCarriesHowItWasSignedAndTheTlsVersion()
    {
        var header = Keys(Request("GET", "/data/reports/q1.csv", SslProtocols.Tls13, ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")), "s3:GetObject", "arn:aws:s3:::data/reports/q1.csv");
        Assert.Equal(["REST-HEADER"], header["s3:authType"]);
        Assert.Equal(["AWS4-HMAC-SHA256"], header["s3:signatureversion"]);
        Assert.Equal(["1.3"], header["s3:TlsVersion"]);
        Assert.Equal(["UNSIGNED-PAYLOAD"], header["s3:x-amz-content-sha256"]);

        var presigned = Request("GET", "/data?list-type=2");
        presigned.SignedInQuery = true;
        presigned.SignatureVersion = "AWS";
        var keys = Keys(presigned, "s3:ListBucket", "arn:aws:s3:::data");
        Assert.Equal(["REST-QUERY-STRING"], keys["s3:authType"]);
        Assert.Equal(["AWS"], keys["s3:signatureversion"]);
        // Plain HTTP has no TLS version: a policy can tell (Null).
        Assert.False(keys.ContainsKey("s3:TlsVersion"));

        var anonymous = Request("GET", "/data/reports/q1.csv", SslProtocols.Tls12);
        anonymous.SignatureVersion = null;
        keys = Keys(anonymous, "s3:GetObject", "arn:aws:s3:::data/reports/q1.csv");
        Assert.False(keys.ContainsKey("s3:authType"));
        Assert.False(keys.ContainsKey("s3:signatureversion"));
        Assert.Equal(["1.2"], keys["s3:TlsVersion"]);
        // Other services' actions get none of S3's keys.
        Assert.Empty(Keys(Request("GET", "/data/reports/q1.csv", SslProtocols.Tls13), "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k"));
    }

    [Fact]
    public void ListingKeysBelongToTheListActionsOnly()
    {
        var ctx = Request("GET", "/data?list-type=2&prefix=home%2Falice%2F&delimiter=%2F&max-keys=10");
        var keys = Keys(ctx, "s3:ListBucket", "arn:aws:s3:::data");
        Assert.Equal(["home/alice/"], keys["s3:prefix"]);
        Assert.Equal(["/"], keys["s3:delimiter"]);
        Assert.Equal(["10"], keys["s3:max-keys"]);
        Assert.Equal(["home/alice/"], Keys(ctx, "s3:ListBucketVersions", "arn:aws:s3:::data")["s3:prefix"]);
        Assert.False(Keys(ctx, "s3:ListBucketMultipartUploads", "arn:aws:s3:::data").ContainsKey("s3:prefix"));
    }

    [Fact]
    public void AWriteCarriesItsHeadersAsKeys()
    {
        var ctx = Request("PUT", "/data/copy.csv", SslProtocols.Tls13,
            ("x-amz-acl", "bucket-owner-full-control"),
            ("x-amz-grant-read", "id=abc"),
            ("x-amz-grant-write", "id=w"),
            ("x-amz-grant-read-acp", "id=ra"),
            ("x-amz-grant-write-acp", "id=wa"),
            ("x-amz-grant-full-control", "id=fc"),
            ("x-amz-copy-source", "/data/reports/q%201.csv?versionId=3"),
            ("x-amz-metadata-directive", "REPLACE"),
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "alias/data"),
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-storage-class", "STANDARD_IA"),
            ("x-amz-website-redirect-location", "/other"),
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
            ("x-amz-object-lock-legal-hold", "ON"),
            ("x-amz-tagging", "team=ml&cost+center=r%26d"));
        var keys = Keys(ctx, "s3:PutObject", "arn:aws:s3:::data/copy.csv");
        Assert.Equal(["bucket-owner-full-control"], keys["s3:x-amz-acl"]);
        Assert.Equal(["id=abc"], keys["s3:x-amz-grant-read"]);
        Assert.Equal(["id=w"], keys["s3:x-amz-grant-write"]);
        Assert.Equal(["id=ra"], keys["s3:x-amz-grant-read-acp"]);
        Assert.Equal(["id=wa"], keys["s3:x-amz-grant-write-acp"]);
        Assert.Equal(["id=fc"], keys["s3:x-amz-grant-full-control"]);
        // As policies name a copy source: bucket/key, decoded, without the version.
        Assert.Equal(["data/reports/q 1.csv"], keys["s3:x-amz-copy-source"]);
        Assert.Equal(["REPLACE"], keys["s3:x-amz-metadata-directive"]);
        Assert.Equal(["aws:kms"], keys["s3:x-amz-server-side-encryption"]);
        Assert.Equal(["alias/data"], keys["s3:x-amz-server-side-encryption-aws-kms-key-id"]);
        Assert.Equal(["AES256"], keys["s3:x-amz-server-side-encryption-customer-algorithm"]);
        Assert.Equal(["STANDARD_IA"], keys["s3:x-amz-storage-class"]);
        Assert.Equal(["/other"], keys["s3:x-amz-website-redirect-location"]);
        Assert.Equal(["GOVERNANCE"], keys["s3:object-lock-mode"]);
        Assert.Equal(["2030-01-01T00:00:00Z"], keys["s3:object-lock-retain-until-date"]);
        Assert.Equal(["ON"], keys["s3:object-lock-legal-hold"]);
        Assert.Equal(["ml"], keys["s3:RequestObjectTag/team"]);
        Assert.Equal(["r&d"], keys["s3:RequestObjectTag/cost center"]);
        Assert.Equal(["team", "cost center"], keys["s3:RequestObjectTagKeys"]);
        // A write does not see the tags of the object it replaces (AWS does not support that).
        Assert.DoesNotContain(keys.Keys, k => k.StartsWith("s3:ExistingObjectTag/", StringComparison.Ordinal));

        // The same request's read of its copy source carries none of the write's keys.
        var read = Keys(ctx, "s3:GetObject", "arn:aws:s3:::data/reports/q1.csv");
        Assert.False(read.ContainsKey("s3:x-amz-acl"));
        Assert.False(read.ContainsKey("s3:x-amz-copy-source"));
        Assert.False(read.ContainsKey("s3:RequestObjectTag/team"));
        Assert.Equal(["secret"], read["s3:ExistingObjectTag/classification"]);

        // Headers the request does not carry are absent, not empty.
        var plain = Keys(Request("PUT", "/data/new.csv"), "s3:PutObject", "arn:aws:s3:::data/new.csv");
        Assert.False(plain.ContainsKey("s3:x-amz-server-side-encryption-customer-algorithm"));
        Assert.False(plain.ContainsKey("s3:RequestObjectTagKeys"));
        Assert.False(plain.ContainsKey("s3:x-amz-copy-source"));
    }

    [Fact]
    public void TheStoredObjectsTagsAreKeysOfItsReadsAndTagging()
    {
        var ctx = Request("GET", "/data/reports/q1.csv");
        const string Object = "arn:aws:s3:::data/reports/q1.csv";
        foreach (var action in new[] { "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObjectTagging", "s3:PutObjectTagging" })
        {
            var keys = Keys(ctx, action, Object);
            Assert.Equal(["secret"], keys["s3:ExistingObjectTag/classification"]);
            Assert.Equal(["ml"], keys["s3:ExistingObjectTag/team"]);
        }
        foreach (var action in new[] { "s3:PutObject", "s3:DeleteObject" })
            Assert.DoesNotContain(Keys(ctx, action, Object).Keys, k => k.StartsWith("s3:ExistingObjectTag/", StringComparison.Ordinal));
        // An object that does not exist has no tags.
        Assert.DoesNotContain(Keys(ctx, "s3:GetObject", "arn:aws:s3:::data/missing").Keys, k => k.StartsWith("s3:ExistingObjectTag/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PutObjectTaggingsBodyIsReadBeforeAuthorizationAndLeftForTheHandler()
    {
        const string Body = "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>";
        var ctx = Request("PUT", "/data/reports/q1.csv?tagging");
        ctx.Body = new MemoryStream(Encoding.UTF8.GetBytes(Body));
        var op = _s3.Resolve(ctx)!;
        Assert.Equal("PutObjectTagging", op.Name);
        ctx.Operation = op;
        await ProtocolParser.ReadInput(ctx);

        var keys = Keys(ctx, "s3:PutObjectTagging", "arn:aws:s3:::data/reports/q1.csv");
        Assert.Equal(["web"], keys["s3:RequestObjectTag/team"]);
        Assert.Equal(["team"], keys["s3:RequestObjectTagKeys"]);
        Assert.Equal(["ml"], keys["s3:ExistingObjectTag/team"]);
        Assert.Equal(Body, await new StreamReader(ctx.Body).ReadToEndAsync());

        // A body that is not a tag set sets no keys; the handler refuses it as before.
        var bad = Request("PUT", "/data/reports/q1.csv?tagging");
        bad.Body = new MemoryStream(Encoding.UTF8.GetBytes("not xml"));
        bad.Operation = _s3.Resolve(bad);
        await ProtocolParser.ReadInput(bad);
        Assert.False(Keys(bad, "s3:PutObjectTagging", "arn:aws:s3:::data/reports/q1.csv").ContainsKey("s3:RequestObjectTagKeys"));
        Assert.Equal("not xml", await new StreamReader(bad.Body).ReadToEndAsync());
    }

    [Theory]
    [InlineData("arn:aws:s3:::data", true)]
    [InlineData("arn:aws:s3:::data/*", true)]
    [InlineData("arn:aws:s3:::data/reports/q1.csv", true)]
    [InlineData("arn:aws:s3:::*", true)]
    [InlineData("arn:aws:s3:::*/*", true)]
    [InlineData("arn:aws:s3:::d*", true)]
    [InlineData("arn:aws:s3:::d?t?/*", true)]
    [InlineData("arn:aws:s3:::*/public/*", true)]
    [InlineData("arn:aws:s3:::da*/reports/*", true)]
    [InlineData("arn:aws:s3:::data*", true)]
    [InlineData("arn:aws:s3:::other", false)]
    [InlineData("arn:aws:s3:::other/*", false)]
    [InlineData("arn:aws:s3:::other-*", false)]
    [InlineData("arn:aws:s3:::dat", false)]
    [InlineData("arn:aws:s3:::data-archive/*", false)]
    [InlineData("arn:aws:s3:::Data/*", false)]
    [InlineData("*", false)]
    [InlineData("arn:aws:sqs:us-east-1:111122223333:data", false)]
    public void ABucketPolicyMayNameAnyResourceThatCanMatchTheBucketOrItsObjects(string resource, bool valid)
        => Assert.Equal(valid, BucketPolicyOperations.NamesBucketOrItsObjects(resource, "data"));

    [Fact]
    public void AnAnonymousCallerLearnsThatABucketDoesNotExist()
    {
        var lookup = BucketPolicyOperations.Lookup(_store, json => PolicyDocument.Parse(json, PolicyKind.Resource));
        var missing = Assert.Throws<AwsException>(() => lookup(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::nothing-here/k", null));
        Assert.Equal("NoSuchBucket", missing.Code);
        Assert.Equal(404, missing.Status);
        Assert.Equal("The specified bucket does not exist", missing.Message);
        Assert.Contains(new KeyValuePair<string, string>("BucketName", "nothing-here"), missing.Fields);
        // A signed caller goes on to its own policies (and the handler's NoSuchBucket).
        Assert.Null(lookup(Principal.Root("444455556666", "AKIA"), "s3:GetObject", "arn:aws:s3:::nothing-here/k", null));
        // An existing bucket answers with its (absent) policy: the anonymous caller is denied.
        Assert.NotNull(lookup(Principal.Anonymous, "s3:GetObject", "arn:aws:s3:::data/k", null));
    }
}
