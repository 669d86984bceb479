using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// Cross-origin resource sharing for buckets: the configuration (Put/Get/DeleteBucketCors), the
/// browser's preflight <c>OPTIONS</c> request, and the <c>Access-Control-*</c> headers on actual
/// requests. S3 answers a preflight without a signature (browsers never sign one) and without
/// authorization: the bucket's CORS rules are the whole decision. The first rule that allows the
/// origin, the method and every requested header wins.
/// </summary>
internal sealed class CorsOperations(S3Environment env)
{
    /// <summary>The methods a CORS rule may allow (S3 refuses any other in a configuration).</summary>
    static readonly string[] Methods = ["GET", "PUT", "HEAD", "POST", "DELETE"];

    const int MaxRules = 100;

    public async Task PutBucketCors(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var configuration = await S3Http.ReadXmlAsync(ctx, "CORSConfiguration", S3XmlReader.ReadCORSConfiguration);
        var rules = Validate(configuration);
        env.Store.UpdateBucket(bucket.Name, b => b with { Cors = rules });
        S3Http.Empty(ctx);
    }

    public Task GetBucketCors(RequestContext ctx)
    {
        var rules = env.RequireBucket(ctx).Cors ?? throw NoSuchCorsConfiguration(ctx.Bucket!);
        return S3Http.WriteXmlAsync(ctx, new GetBucketCorsOutput
        {
            CORSRules = rules.Select(r => new CORSRule
            {
                ID = r.Id,
                AllowedHeaders = NullIfEmpty(r.AllowedHeaders),
                AllowedMethods = r.AllowedMethods,
                AllowedOrigins = r.AllowedOrigins,
                ExposeHeaders = NullIfEmpty(r.ExposeHeaders),
                MaxAgeSeconds = r.MaxAgeSeconds,
            }).ToList(),
        });
    }

    public Task DeleteBucketCors(RequestContext ctx)
    {
        env.Store.UpdateBucket(env.RequireBucket(ctx).Name, b => b with { Cors = null });
        S3Http.Empty(ctx, 204);
        return Task.CompletedTask;
    }

    /// <summary>A browser's preflight: <c>OPTIONS</c> with <c>Origin</c> and
    /// <c>Access-Control-Request-Method</c> (and optionally <c>Access-Control-Request-Headers</c>).</summary>
    public Task Preflight(RequestContext ctx)
    {
        var origin = ctx.Header("Origin") ?? throw new AwsException("BadRequest", 400, "Insufficient information. Origin request header needed.");
        var method = ctx.Header("Access-Control-Request-Method") ?? throw new AwsException("BadRequest", 400, "Invalid Access-Control-Request-Method: null");
        var requested = SplitHeaderList(ctx.Header("Access-Control-Request-Headers"));
        var resourceType = ctx.Key is null ? "BUCKET" : "OBJECT";
        // The service itself (ListBuckets) has no CORS configuration to allow anything.
        if (ctx.Bucket is null) throw Forbidden(NotAllowed, method, "SERVICE");
        // A bucket that does not exist has no rules either; S3 says so in CORS's own terms.
        var bucket = env.Store.GetBucket(ctx.Bucket!) ?? throw Forbidden("CORSResponse: Bucket not found", method, resourceType);
        var rules = bucket.Cors ?? throw Forbidden("CORSResponse: CORS is not enabled for this bucket.", method, resourceType);
        var rule = Match(rules, origin, method, requested)
            ?? throw Forbidden(NotAllowed, method, resourceType);
        var headers = ctx.Response.Headers;
        SetAllowHeaders(headers, rule, origin);
        if (requested.Count > 0) headers["Access-Control-Allow-Headers"] = string.Join(", ", requested);
        S3Http.Empty(ctx);
        return Task.CompletedTask;
    }

    /// <summary>On an actual request from a browser (it carries <c>Origin</c>): the headers that let
    /// the page read the answer, when a rule allows the origin and the request's method. Set before
    /// the request is authenticated, so that a refusal is readable by the page too.</summary>
    public void ApplyToResponse(RequestContext ctx)
    {
        if (ctx.Bucket is null || ctx.Header("Origin") is not { } origin || HttpMethods.IsOptions(ctx.Request.Method)) return;
        if (env.Store.GetBucket(ctx.Bucket) is not { Cors: { } rules }) return;
        var headers = ctx.Response.Headers;
        headers.Vary = VaryValue;
        if (Match(rules, origin, ctx.Request.Method.ToUpperInvariant(), []) is { } rule) SetAllowHeaders(headers, rule, origin);
    }

    // S3's own words, misspelling included: clients and people search for them.
    const string NotAllowed = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / "
        + "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

    const string VaryValue = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

    static void SetAllowHeaders(IHeaderDictionary headers, CorsRuleRecord rule, string origin)
    {
        // A rule open to every origin answers "*", which browsers refuse with credentials, so S3
        // only allows credentials when it names the caller's origin back.
        var anyOrigin = rule.AllowedOrigins.Contains("*");
        headers.AccessControlAllowOrigin = anyOrigin ? "*" : origin;
        if (!anyOrigin) headers.AccessControlAllowCredentials = "true";
        headers.AccessControlAllowMethods = string.Join(", ", rule.AllowedMethods);
        if (rule.ExposeHeaders.Count > 0) headers.AccessControlExposeHeaders = string.Join(", ", rule.ExposeHeaders);
        if (rule.MaxAgeSeconds is { } maxAge) headers.AccessControlMaxAge = maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers.Vary = VaryValue;
    }

    /// <summary>The first rule that allows <paramref name="origin"/> (case-sensitive, one <c>*</c>
    /// wildcard), <paramref name="method"/> (exactly) and every requested header (case-insensitive,
    /// one <c>*</c> wildcard).</summary>
    internal static CorsRuleRecord? Match(IEnumerable<CorsRuleRecord> rules, string origin, string method, IReadOnlyList<string> requestedHeaders)
        => rules.FirstOrDefault(r =>
            r.AllowedMethods.Contains(method, StringComparer.Ordinal)
            && r.AllowedOrigins.Any(o => WildcardMatch(o, origin, StringComparison.Ordinal))
            && requestedHeaders.All(h => r.AllowedHeaders.Any(a => WildcardMatch(a, h, StringComparison.OrdinalIgnoreCase))));

    /// <summary>A pattern with at most one <c>*</c>, which stands for any (possibly empty) run of characters.</summary>
    internal static bool WildcardMatch(string pattern, string value, StringComparison comparison)
    {
        var star = pattern.IndexOf('*');
        if (star < 0) return string.Equals(pattern, value, comparison);
        var prefix = pattern[..star];
        var suffix = pattern[(star + 1)..];
        return value.Length >= prefix.Length + suffix.Length
            && value.StartsWith(prefix, comparison) && value.EndsWith(suffix, comparison);
    }

    static List<string> SplitHeaderList(string? value)
        => value is null ? [] : value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>S3's checks on a configuration: 1 to 100 rules, each with origins and methods of
    /// S3's five, and at most one wildcard per origin or header.</summary>
    internal static List<CorsRuleRecord> Validate(CORSConfiguration configuration)
    {
        var rules = configuration.CORSRules;
        if (rules is null || rules.Count == 0 || rules.Count > MaxRules) throw S3Errors.MalformedXml();
        var result = new List<CorsRuleRecord>(rules.Count);
        foreach (var rule in rules)
        {
            if (rule.AllowedMethods is not { Count: > 0 } methods || rule.AllowedOrigins is not { Count: > 0 } origins) throw S3Errors.MalformedXml();
            if (rule.ID is { Length: > 255 }) throw S3Errors.InvalidArgument("The ID of a CORS rule can not be longer than 255 characters.", "ID", rule.ID);
            if (methods.FirstOrDefault(m => !Methods.Contains(m, StringComparer.Ordinal)) is { } unsupported)
                throw S3Errors.InvalidRequest($"Found unsupported HTTP method in CORS config. Unsupported method is {unsupported}");
            if (origins.FirstOrDefault(TwoWildcards) is { } origin)
                throw S3Errors.InvalidRequest($"AllowedOrigin \"{origin}\" can not have more than one wildcard.");
            var headers = rule.AllowedHeaders ?? [];
            if (headers.FirstOrDefault(TwoWildcards) is { } header)
                throw S3Errors.InvalidRequest($"AllowedHeader \"{header}\" can not have more than one wildcard.");
            if (rule.MaxAgeSeconds is < 0) throw S3Errors.MalformedXml();
            result.Add(new CorsRuleRecord(rule.ID, origins, methods, headers, rule.ExposeHeaders ?? [], rule.MaxAgeSeconds));
        }
        return result;
    }

    static bool TwoWildcards(string value) => value.IndexOf('*') is var first and >= 0 && value.IndexOf('*', first + 1) >= 0;

    static List<string>? NullIfEmpty(List<string> list) => list.Count == 0 ? null : list;

    static AwsException NoSuchCorsConfiguration(string bucket)
        => new AwsException("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist").With("BucketName", bucket);

    static AwsException Forbidden(string message, string method, string resourceType)
        => new AwsException("AccessForbidden", 403, message).With("Method", method).With("ResourceType", resourceType);
}
