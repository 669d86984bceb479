using System.Text;
using Strata.Server.Services.Events;

namespace Strata.Server.Tests.Unit;

/// <summary>API destinations without I/O: the rate limit's token bucket on a given clock, the
/// request one event becomes (URL, headers, authorization, body) and which answers are retried.</summary>
public sealed class ApiDestinationRequestTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TokenBucketAllowsOneSecondsWorthThenMakesTheNextWait()
    {
        var bucket = new TokenBucket(2, T0);
        Assert.True(bucket.TryTake(T0, out _));
        Assert.True(bucket.TryTake(T0, out _));
        Assert.False(bucket.TryTake(T0, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(0.5), wait);
        // Half a second later one token is back, and only one.
        Assert.True(bucket.TryTake(T0.AddSeconds(0.5), out _));
        Assert.False(bucket.TryTake(T0.AddSeconds(0.5), out _));
        // A long pause refills no more than the rate.
        Assert.True(bucket.TryTake(T0.AddSeconds(60), out _));
        Assert.True(bucket.TryTake(T0.AddSeconds(60), out _));
        Assert.False(bucket.TryTake(T0.AddSeconds(60), out _));
    }

    static ApiDestinationRow Destination(string endpoint = "https://api.example.com/orders/*/items/*", string method = "POST") => new()
    {
        Name = "d",
        Arn = "arn:aws:events:us-east-1:000000000000:api-destination/d/1",
        ConnectionArn = "arn:aws:events:us-east-1:000000000000:connection/c/1",
        InvocationEndpoint = endpoint,
        HttpMethod = method,
        InvocationRateLimitPerSecond = 300,
    };

    static ConnectionRow ApiKey(ConnectionHttpParametersRow? parameters = null) => new()
    {
        Name = "c",
        Arn = "arn:aws:events:us-east-1:000000000000:connection/c/1",
        AuthorizationType = "API_KEY",
        State = "AUTHORIZED",
        ApiKeyName = "x-api-key",
        ApiKeyValue = "s3cret",
        SecretArn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/c/1",
        InvocationHttpParameters = parameters,
    };

    static string Header(HttpRequestMessage r, string name)
        => r.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : r.Content?.Headers.TryGetValues(name, out var c) == true ? string.Join(",", c) : "";

    [Fact]
    public async Task ApiKeyRequestCarriesTheEventTheKeyAndAwsHeaders()
    {
        var target = new TargetHttpParameters
        {
            PathParameterValues = ["42", "a b"],
            HeaderParameters = new() { ["X-Order"] = "target", ["X-Shared"] = "target", ["User-Agent"] = "spoofed" },
            QueryStringParameters = new() { ["q"] = "1", ["shared"] = "target" },
        };
        var connection = ApiKey(new ConnectionHttpParametersRow
        {
            HeaderParameters = [new() { Key = "X-Shared", Value = "connection" }],
            QueryStringParameters = [new() { Key = "shared", Value = "connection" }],
        });
        using var r = ApiDestinationRequest.Build(Destination(), connection, target, """{"id":"e1"}""");
        Assert.Equal(HttpMethod.Post, r.Method);
        Assert.Equal("https://api.example.com/orders/42/items/a%20b?q=1&shared=connection", r.RequestUri!.AbsoluteUri);
        Assert.Equal("s3cret", Header(r, "x-api-key"));
        Assert.Equal("target", Header(r, "X-Order"));
        Assert.Equal("connection", Header(r, "X-Shared"));
        Assert.Equal("Amazon/EventBridge/ApiDestinations", Header(r, "User-Agent"));
        Assert.Equal("application/json; charset=utf-8", Header(r, "Content-Type"));
        Assert.Equal("bytes=0-1048575", Header(r, "Range"));
        Assert.Equal("""{"id":"e1"}""", await r.Content!.ReadAsStringAsync());
    }

    [Fact]
    public void BasicAuthorizationIsTheEncodedUserAndPassword()
    {
        var basic = ApiKey() with { AuthorizationType = "BASIC", ApiKeyName = null, ApiKeyValue = null, Username = "ann", Password = "pw:1" };
        using var r = ApiDestinationRequest.Build(Destination("https://api.example.com/hook"), basic, null, "{}");
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ann:pw:1")), Header(r, "Authorization"));
        Assert.Equal("", Header(r, "x-api-key"));
        Assert.Equal("https://api.example.com/hook", r.RequestUri!.AbsoluteUri);
    }

    [Fact]
    public async Task BodyParametersJoinAnObjectPayloadAndGetHasNoBody()
    {
        var connection = ApiKey(new ConnectionHttpParametersRow { BodyParameters = [new() { Key = "team", Value = "ml" }] });
        using var post = ApiDestinationRequest.Build(Destination("https://api.example.com/"), connection, null, """{"a":1}""");
        Assert.Equal("""{"a":1,"team":"ml"}""", await post.Content!.ReadAsStringAsync());
        using var text = ApiDestinationRequest.Build(Destination("https://api.example.com/"), connection, null, "\"just text\"");
        Assert.Equal("\"just text\"", await text.Content!.ReadAsStringAsync());
        using var get = ApiDestinationRequest.Build(Destination("https://api.example.com/", "GET"), connection, null, "{}");
        Assert.Null(get.Content);
    }

    [Theory]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(409, true)]
    [InlineData(401, true)]
    [InlineData(400, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(302, false)]
    public void OnlyAwsRetryableStatusesAreRetried(int status, bool retried) => Assert.Equal(retried, ApiDestinationRequest.IsRetryable(status));
}
