using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Tests.Unit;

/// <summary>How a request is matched against a bucket's CORS rules, and which configurations S3 refuses.</summary>
public sealed class CorsRulesTests
{
    static CorsRuleRecord Rule(string[] origins, string[] methods, string[]? headers = null, string? id = null)
        => new(id, [.. origins], [.. methods], [.. headers ?? []], [], null);

    [Theory]
    [InlineData("*", "https://a.test", true)]
    [InlineData("https://*.example.com", "https://team.example.com", true)]
    [InlineData("https://*.example.com", "https://example.com", false)]
    [InlineData("https://*.example.com", "https://.example.com", true)]
    [InlineData("https://app.example.com", "https://app.example.com", true)]
    [InlineData("https://app.example.com", "https://APP.example.com", false)]
    [InlineData("http://localhost:*", "http://localhost:5173", true)]
    [InlineData("ab*ba", "aba", false)]
    public void Origins_match_case_sensitively_with_one_wildcard(string pattern, string origin, bool matches)
        => Assert.Equal(matches, CorsOperations.WildcardMatch(pattern, origin, StringComparison.Ordinal));

    [Fact]
    public void The_first_rule_allowing_origin_method_and_every_header_wins()
    {
        var uploads = Rule(["https://app.test"], ["PUT"], ["content-type", "x-amz-*"], "uploads");
        var reads = Rule(["*"], ["GET", "PUT"], id: "reads");
        CorsRuleRecord[] rules = [uploads, reads];
        Assert.Equal("uploads", CorsOperations.Match(rules, "https://app.test", "PUT", ["Content-Type", "X-Amz-Date"])?.Id);
        // A header the first rule does not allow sends the request to the next rule, which allows none.
        Assert.Null(CorsOperations.Match(rules, "https://app.test", "PUT", ["authorization"]));
        Assert.Equal("reads", CorsOperations.Match(rules, "https://app.test", "GET", [])?.Id);
        Assert.Equal("reads", CorsOperations.Match(rules, "https://other.test", "PUT", [])?.Id);
        Assert.Null(CorsOperations.Match(rules, "https://other.test", "DELETE", []));
        // Methods match exactly: browsers send them upper-case.
        Assert.Null(CorsOperations.Match(rules, "https://other.test", "get", []));
    }

    static CORSConfiguration Config(params CORSRule[] rules) => new() { CORSRules = [.. rules] };

    static CORSRule Valid => new() { AllowedOrigins = ["*"], AllowedMethods = ["GET"] };

    [Fact]
    public void A_valid_configuration_keeps_every_field()
    {
        var rules = CorsOperations.Validate(Config(new CORSRule
        {
            ID = "r",
            AllowedOrigins = ["https://a.test"],
            AllowedMethods = ["PUT", "POST"],
            AllowedHeaders = ["*"],
            ExposeHeaders = ["ETag"],
            MaxAgeSeconds = 30,
        }));
        var rule = Assert.Single(rules);
        Assert.Equal(("r", "https://a.test", "PUT,POST", "*", "ETag", 30),
            (rule.Id, rule.AllowedOrigins[0], string.Join(',', rule.AllowedMethods), rule.AllowedHeaders[0], rule.ExposeHeaders[0], rule.MaxAgeSeconds));
    }

    [Theory]
    [InlineData("PATCH", null, null, "InvalidRequest", "Unsupported method is PATCH")]
    [InlineData("get", null, null, "InvalidRequest", "Unsupported method is get")]
    [InlineData("GET", "https://*.*.test", null, "InvalidRequest", "AllowedOrigin \"https://*.*.test\" can not have more than one wildcard.")]
    [InlineData("GET", "*", "x-*-*", "InvalidRequest", "AllowedHeader \"x-*-*\" can not have more than one wildcard.")]
    public void Configurations_s3_refuses(string method, string? origin, string? header, string code, string message)
    {
        var rule = new CORSRule { AllowedOrigins = [origin ?? "*"], AllowedMethods = [method], AllowedHeaders = header is null ? null : [header] };
        var e = Assert.Throws<AwsException>(() => CorsOperations.Validate(Config(rule)));
        Assert.Equal((code, 400), (e.Code, e.Status));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Rules_without_origins_or_methods_or_too_many_rules_are_malformed()
    {
        Assert.Equal("MalformedXML", Assert.Throws<AwsException>(() => CorsOperations.Validate(Config())).Code);
        Assert.Equal("MalformedXML", Assert.Throws<AwsException>(() => CorsOperations.Validate(Config(new CORSRule { AllowedMethods = ["GET"] }))).Code);
        Assert.Equal("MalformedXML", Assert.Throws<AwsException>(() => CorsOperations.Validate(Config(new CORSRule { AllowedOrigins = ["*"] }))).Code);
        Assert.Equal("MalformedXML", Assert.Throws<AwsException>(() => CorsOperations.Validate(Config([.. Enumerable.Repeat(Valid, 101)]))).Code);
        Assert.Equal(100, CorsOperations.Validate(Config([.. Enumerable.Repeat(Valid, 100)])).Count);
    }
}
