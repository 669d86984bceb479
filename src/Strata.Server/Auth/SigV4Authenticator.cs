using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Strata.Server.Identity;
using Strata.Server.Protocol;

namespace Strata.Server.Auth;

/// <summary>
/// Verifies a request's SigV4 signature (Authorization header or presigned query), sets the
/// principal, and wraps the body so that what the handler reads is the verified payload.
/// Unsigned requests are anonymous; whether anonymous may do anything is authorization's call.
/// </summary>
public sealed class SigV4Authenticator(ICredentialSource credentials, TimeProvider clock)
{
    static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);
    const long MaxPresignExpires = 604800;

    public Task AuthenticateAsync(RequestContext ctx)
    {
        Authenticate(ctx);
        return Task.CompletedTask;
    }

    void Authenticate(RequestContext ctx)
    {
        var authorization = ctx.Header("Authorization");
        var query = ctx.Request.Query;
        var s3 = ctx.Service?.Protocol == AwsProtocol.RestXml;
        if (s3 && authorization is not null && authorization.StartsWith("AWS ", StringComparison.Ordinal))
        {
            VerifySigV2(ctx, authorization[4..], ctx.Header("x-amz-date") ?? ctx.Header("Date") ?? "", expires: null);
        }
        else if (s3 && authorization is null && query.ContainsKey("AWSAccessKeyId") && query.ContainsKey("Signature"))
        {
            VerifySigV2(ctx, $"{query["AWSAccessKeyId"]}:{query["Signature"]}", query["Expires"].ToString(), query["Expires"].ToString());
        }
        else if (authorization is not null)
        {
            if (!authorization.StartsWith(SigV4.Algorithm + " ", StringComparison.Ordinal))
                throw Errors.UnsupportedMechanism(ctx);
            var parsed = ParseAuthorizationHeader(ctx, authorization[SigV4.Algorithm.Length..]);
            var amzDate = ctx.Header("x-amz-date") ?? throw Errors.Malformed(ctx, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
            Verify(ctx, parsed.Credential, parsed.SignedHeaders, parsed.Signature, amzDate, presigned: false);
        }
        else if (query.ContainsKey("X-Amz-Algorithm") || query.ContainsKey("X-Amz-Signature") || query.ContainsKey("X-Amz-Credential"))
        {
            if (query["X-Amz-Algorithm"].ToString() != SigV4.Algorithm)
                throw Errors.QueryMalformed(ctx, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
            var credential = query["X-Amz-Credential"].ToString();
            var signedHeaders = query["X-Amz-SignedHeaders"].ToString();
            var signature = query["X-Amz-Signature"].ToString();
            var amzDate = query["X-Amz-Date"].ToString();
            var expiresText = query["X-Amz-Expires"].ToString();
            if (credential.Length == 0 || signedHeaders.Length == 0 || signature.Length == 0 || amzDate.Length == 0 || expiresText.Length == 0)
                throw Errors.QueryMalformed(ctx, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
            if (!long.TryParse(expiresText, out var expires) || expires < 1)
                throw Errors.QueryMalformed(ctx, "X-Amz-Expires must be a positive integer");
            if (expires > MaxPresignExpires)
                throw Errors.QueryMalformed(ctx, "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds");
            Verify(ctx, credential, signedHeaders, signature, amzDate, presigned: true, expires);
        }
        else
        {
            // Only S3 has anonymous access (bucket policies may grant it), and the few operations
            // that carry their own credential (SNS's ConfirmSubscription token); every other
            // service refuses an unsigned request outright.
            if (!s3 && ctx.Operation?.AllowUnsigned != true) throw Errors.MissingAuthentication(ctx);
            ctx.Principal = Principal.Anonymous;
            if (!s3) return;
            WrapUnsignedS3Body(ctx);
        }
    }

    /// <summary>S3's legacy HMAC-SHA1 signature (header or presigned query).</summary>
    void VerifySigV2(RequestContext ctx, string credentialAndSignature, string date, string? expires)
    {
        var colon = credentialAndSignature.LastIndexOf(':');
        if (colon <= 0) throw Errors.Malformed(ctx, "The authorization header you provided is invalid.");
        var accessKeyId = credentialAndSignature[..colon];
        var signature = credentialAndSignature[(colon + 1)..];
        var key = credentials.FindAccessKey(accessKeyId);
        if (key is null || key.Status != "Active") throw Errors.UnknownKey(ctx, accessKeyId);
        CheckSessionToken(ctx, key, ctx.Header("x-amz-security-token") ?? (ctx.Request.Query.TryGetValue("x-amz-security-token", out var t) ? t.ToString() : null));
        var now = clock.GetUtcNow();
        if (expires is not null)
        {
            if (!long.TryParse(expires, out var epoch))
                throw new AwsException("AccessDenied", 403, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
            if (now.ToUnixTimeSeconds() > epoch)
                throw new AwsException("AccessDenied", 403, "Request has expired").With("Expires", Xml.Timestamp(DateTimeOffset.FromUnixTimeSeconds(epoch))).With("ServerTime", Xml.Timestamp(now));
        }
        else
        {
            if (!DateTimeOffset.TryParse(date, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var requestTime))
                throw new AwsException("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header");
            if ((now - requestTime).Duration() > MaxSkew) throw Errors.Skewed(ctx, requestTime, now);
            // With x-amz-date present the Date line of the string to sign is empty.
            if (ctx.Header("x-amz-date") is not null) date = "";
        }
        var amzHeaders = ctx.Request.Headers
            .Where(h => h.Key.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, string>(h.Key.ToLowerInvariant(), h.Value.ToString())).ToList();
        var resource = ctx.VirtualHostedBucket ? "/" + ctx.Bucket + ctx.RawPath : ctx.RawPath;
        // Clients disagree on the edges of the signed resource: "/bucket" or "/bucket/" for a
        // bucket, and whether a query the operation's URI fixes (?list-type=2) is part of it.
        var candidates = new List<string>();
        foreach (var path in ctx.Key is null && ctx.Bucket is not null && !resource.EndsWith('/') ? new[] { resource, resource + "/" } : [resource])
        {
            candidates.Add(SigV2.StringToSign(ctx.Request.Method, ctx.Header("Content-MD5"), ctx.Header("Content-Type"), date, amzHeaders, path, ctx.RawQuery));
            if (ctx.Request.Query.ContainsKey("list-type"))
                candidates.Add(SigV2.StringToSign(ctx.Request.Method, ctx.Header("Content-MD5"), ctx.Header("Content-Type"), date, amzHeaders, path, ctx.RawQuery, "list-type"));
        }
        var stringToSign = candidates[0];
        if (!candidates.Any(c => SigV2Matches(key.SecretAccessKey, c, signature)))
            throw Errors.BadSignature(ctx, null).With("AWSAccessKeyId", accessKeyId).With("StringToSign", stringToSign).With("SignatureProvided", signature);
        ctx.Principal = PrincipalOf(key);
        ctx.SignatureVersion = SigV2.Algorithm;
        ctx.SignedInQuery = expires is not null;
        WrapUnsignedS3Body(ctx);
    }

    /// <summary>A browser upload (S3's POST Object) carries its credential in its form fields, and
    /// signs its base64 policy itself with the SigV4 signing key of the credential's scope. No
    /// clock skew applies: the policy's expiration says how long the form may be used. Sets the
    /// principal as a signed request's.</summary>
    public void VerifyPostPolicy(RequestContext ctx, string credential, string amzDate, string policy, string signature, string? securityToken)
    {
        var parts = credential.Split('/');
        if (parts.Length != 5 || parts[4] != "aws4_request" || parts[3] != "s3")
            throw new AwsException("InvalidArgument", 400, "Invalid credential in the x-amz-credential field; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request\".")
                .With("ArgumentName", "x-amz-credential").With("ArgumentValue", credential);
        var (accessKeyId, date, region, service) = (parts[0], parts[1], parts[2], parts[3]);
        if (!DateTimeOffset.TryParseExact(amzDate, SigV4.TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _) || amzDate[..8] != date)
            throw new AwsException("InvalidArgument", 400, $"The x-amz-date field must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", on the date of the x-amz-credential field (\"{date}\").")
                .With("ArgumentName", "x-amz-date").With("ArgumentValue", amzDate);
        if (region != ctx.Region) throw Errors.WrongRegion(ctx, region);
        var key = credentials.FindAccessKey(accessKeyId);
        if (key is null || key.Status != "Active") throw Errors.UnknownKey(ctx, accessKeyId);
        CheckSessionToken(ctx, key, securityToken);
        var expected = SigV4.Sign(SigV4.SigningKey(key.SecretAccessKey, date, region, service), policy);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
            throw Errors.BadSignature(ctx, null).With("AWSAccessKeyId", accessKeyId).With("StringToSign", policy).With("SignatureProvided", signature);
        ctx.SigningName = service;
        ctx.Principal = PrincipalOf(key);
        ctx.SignatureVersion = SigV4.Algorithm;
    }

    /// <summary>The same with S3's legacy signature (HMAC-SHA1 of the policy with the secret), which
    /// botocore's <c>generate_presigned_post</c> still makes unless told to sign with SigV4.</summary>
    public void VerifyPostPolicyV2(RequestContext ctx, string accessKeyId, string policy, string signature, string? securityToken)
    {
        var key = credentials.FindAccessKey(accessKeyId);
        if (key is null || key.Status != "Active") throw Errors.UnknownKey(ctx, accessKeyId);
        CheckSessionToken(ctx, key, securityToken);
        if (!SigV2Matches(key.SecretAccessKey, policy, signature))
            throw Errors.BadSignature(ctx, null).With("AWSAccessKeyId", accessKeyId).With("StringToSign", policy).With("SignatureProvided", signature);
        ctx.Principal = PrincipalOf(key);
        ctx.SignatureVersion = SigV2.Algorithm;
    }

    static bool SigV2Matches(string secret, string stringToSign, string signature)
        => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(SigV2.Sign(secret, stringToSign)), Encoding.ASCII.GetBytes(signature));

    static Principal PrincipalOf(AccessKeyRecord key) => key.ToPrincipal();

    /// <summary>Temporary keys (STS) must come with their session token and only until they
    /// expire; long-term keys must come without one.</summary>
    void CheckSessionToken(RequestContext ctx, AccessKeyRecord key, string? token)
    {
        if (key.SessionToken is null)
        {
            if (token is not null) throw Errors.InvalidToken(ctx);
            return;
        }
        if (token is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(key.SessionToken)))
            throw Errors.InvalidToken(ctx);
        if (key.Expiration is { } expiry && clock.GetUtcNow() >= expiry) throw Errors.Expired(ctx);
    }

    static (string Credential, string SignedHeaders, string Signature) ParseAuthorizationHeader(RequestContext ctx, string rest)
    {
        string? credential = null, signedHeaders = null, signature = null;
        foreach (var part in rest.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq < 0) continue;
            var value = part[(eq + 1)..].Trim();
            switch (part[..eq].Trim())
            {
                case "Credential": credential = value; break;
                case "SignedHeaders": signedHeaders = value; break;
                case "Signature": signature = value; break;
            }
        }
        if (credential is null || signedHeaders is null || signature is null)
            throw Errors.Malformed(ctx, "The authorization header is malformed; the authorization component is missing a Credential, SignedHeaders or Signature.");
        return (credential, signedHeaders, signature);
    }

    void Verify(RequestContext ctx, string credential, string signedHeaders, string signature, string amzDate, bool presigned, long expires = 0)
    {
        // Credential = AKID/yyyymmdd/region/service/aws4_request
        var parts = credential.Split('/');
        if (parts.Length != 5 || parts[4] != "aws4_request")
            throw Errors.Malformed(ctx, $"The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
        var (accessKeyId, date, region, service) = (parts[0], parts[1], parts[2], parts[3]);
        if (!DateTimeOffset.TryParseExact(amzDate, SigV4.TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var requestTime))
            throw Errors.Malformed(ctx, $"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
        if (date != amzDate[..8])
            throw Errors.Malformed(ctx, $"The authorization header is malformed; Invalid credential date \"{date}\". This date is not the same as X-Amz-Date: \"{amzDate[..8]}\".");
        // IAM is global and always signed for us-east-1 (as is STS's global endpoint).
        if (region != ctx.Region && !(region == "us-east-1" && service is "iam" or "sts"))
            throw Errors.WrongRegion(ctx, region);

        var key = credentials.FindAccessKey(accessKeyId);
        if (key is null || key.Status != "Active") throw Errors.UnknownKey(ctx, accessKeyId);
        CheckSessionToken(ctx, key, ctx.Header("x-amz-security-token") ?? (ctx.Request.Query.TryGetValue("X-Amz-Security-Token", out var t) ? t.ToString() : null));

        var now = clock.GetUtcNow();
        if (presigned)
        {
            if (now > requestTime.AddSeconds(expires))
                throw new AwsException("AccessDenied", 403, "Request has expired")
                    .With("X-Amz-Expires", expires.ToString(CultureInfo.InvariantCulture))
                    .With("Expires", Xml.Timestamp(requestTime.AddSeconds(expires)))
                    .With("ServerTime", Xml.Timestamp(now));
            if (requestTime - now > MaxSkew)
                throw new AwsException("AccessDenied", 403, "Request is not valid yet");
        }
        else if ((now - requestTime).Duration() > MaxSkew)
        {
            throw Errors.Skewed(ctx, requestTime, now);
        }

        var s3 = ctx.Service?.Protocol == AwsProtocol.RestXml;
        var payloadHash = PayloadHash(ctx, s3, presigned);
        var headers = new List<(string, string)>();
        foreach (var name in signedHeaders.Split(';'))
        {
            if (!ctx.Request.Headers.TryGetValue(name, out var values))
                throw Errors.BadSignature(ctx, $"The request signature we calculated does not match the signature you provided. Signed header '{name}' is missing from the request.");
            headers.Add((name, SigV4.CanonicalHeaderValue(string.Join(',', values.Select(v => v ?? "")))));
        }
        var canonicalRequest = SigV4.CanonicalRequest(ctx.Request.Method, SigV4.CanonicalUri(ctx.RawPath, s3),
            SigV4.CanonicalQuery(ctx.RawQuery, presigned ? "X-Amz-Signature" : null), headers, signedHeaders, payloadHash);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = SigV4.StringToSign(amzDate, scope, canonicalRequest);
        var signingKey = SigV4.SigningKey(key.SecretAccessKey, date, region, service);
        var expected = SigV4.Sign(signingKey, stringToSign);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            var error = Errors.BadSignature(ctx, null);
            if (s3) error.With("AWSAccessKeyId", accessKeyId).With("StringToSign", stringToSign).With("SignatureProvided", signature).With("CanonicalRequest", canonicalRequest);
            throw error;
        }

        ctx.SigningName = service;
        ctx.Principal = PrincipalOf(key);
        ctx.SignatureVersion = SigV4.Algorithm;
        ctx.SignedInQuery = presigned;
        ctx.SignedAt = requestTime;
        if (s3) WrapS3Body(ctx, payloadHash, new ChunkSigner(signingKey, amzDate, scope, signature));
    }

    /// <summary>The payload hash the signature covers. S3 states it in x-amz-content-sha256 and
    /// the body is checked as it streams; other services sign the hash of their (small) body.</summary>
    static string PayloadHash(RequestContext ctx, bool s3, bool presigned)
    {
        var declared = ctx.Header("x-amz-content-sha256");
        if (s3)
        {
            if (presigned) return declared ?? "UNSIGNED-PAYLOAD";
            if (declared is null)
                throw new AwsException("InvalidRequest", 400, "Missing required header for this request: x-amz-content-sha256");
            if (!IsSha256Hex(declared) && declared is not ("UNSIGNED-PAYLOAD" or StreamingSigned or StreamingSignedTrailer or StreamingUnsignedTrailer))
                throw new AwsException("InvalidArgument", 400, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
                    .With("ArgumentName", "x-amz-content-sha256").With("ArgumentValue", declared);
            return declared;
        }
        // The protocol stage has read every non-S3 body into memory.
        var actual = SigV4.Sha256Hex(ctx.BufferedBody ?? default);
        if (declared is not null && declared != "UNSIGNED-PAYLOAD" && !string.Equals(declared, actual, StringComparison.OrdinalIgnoreCase))
            throw Errors.BadSignature(ctx, "The provided 'x-amz-content-sha256' header does not match what was computed.");
        return declared ?? actual;
    }

    const string StreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    const string StreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    const string StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

    static void WrapS3Body(RequestContext ctx, string payloadHash, ChunkSigner signer)
    {
        long? decodedLength = long.TryParse(ctx.Header("x-amz-decoded-content-length"), out var d) ? d : null;
        switch (payloadHash)
        {
            case StreamingSigned:
            case StreamingSignedTrailer:
                UseChunked(ctx, new AwsChunkedStream(ctx.Request.Body, signer, decodedLength));
                break;
            case StreamingUnsignedTrailer:
                UseChunked(ctx, new AwsChunkedStream(ctx.Request.Body, null, decodedLength));
                break;
            case "UNSIGNED-PAYLOAD":
                WrapUnsignedS3Body(ctx);
                break;
            default:
                ctx.Body = new Sha256VerifyingStream(ctx.Request.Body, payloadHash);
                break;
        }
    }

    /// <summary>The decoded payload is what the handler reads; its trailers are known once it has.</summary>
    static void UseChunked(RequestContext ctx, AwsChunkedStream body)
    {
        ctx.Body = body;
        ctx.ChunkedBody = body;
    }

    /// <summary>An unsigned body may still be aws-chunked (unsigned trailer mode).</summary>
    static void WrapUnsignedS3Body(RequestContext ctx)
    {
        if (ctx.Header("x-amz-content-sha256") == StreamingUnsignedTrailer)
        {
            long? decodedLength = long.TryParse(ctx.Header("x-amz-decoded-content-length"), out var d) ? d : null;
            UseChunked(ctx, new AwsChunkedStream(ctx.Request.Body, null, decodedLength));
        }
    }

    static bool IsSha256Hex(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigit);

    public static async Task<byte[]> ReadAllAsync(Stream body)
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    /// <summary>Authentication errors, spelled as each protocol family spells them.</summary>
    static class Errors
    {
        static AwsProtocol P(RequestContext ctx) => ctx.Service?.Protocol ?? AwsProtocol.RestXml;
        static bool Json(RequestContext ctx) => P(ctx) is AwsProtocol.Json10 or AwsProtocol.Json11 or AwsProtocol.RestJson;

        public static AwsException UnknownKey(RequestContext ctx, string accessKeyId) => P(ctx) switch
        {
            AwsProtocol.RestXml => new AwsException("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.").With("AWSAccessKeyId", accessKeyId),
            AwsProtocol.Query => new AwsException("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
            _ => new AwsException("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        };

        public static AwsException InvalidToken(RequestContext ctx) => P(ctx) switch
        {
            AwsProtocol.RestXml => new AwsException("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
            AwsProtocol.Query => new AwsException("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
            _ => new AwsException("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        };

        public static AwsException Expired(RequestContext ctx) => P(ctx) switch
        {
            AwsProtocol.RestXml => new AwsException("ExpiredToken", 400, "The provided token has expired."),
            AwsProtocol.Query => new AwsException("ExpiredToken", 403, "The security token included in the request is expired"),
            _ => new AwsException("ExpiredTokenException", 400, "The security token included in the request is expired"),
        };

        const string Mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

        public static AwsException BadSignature(RequestContext ctx, string? message) => P(ctx) switch
        {
            AwsProtocol.RestXml => new AwsException("SignatureDoesNotMatch", 403, message ?? "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
            AwsProtocol.Query => new AwsException("SignatureDoesNotMatch", 403, message ?? Mismatch),
            _ => new AwsException("InvalidSignatureException", 403, message ?? Mismatch),
        };

        public static AwsException Skewed(RequestContext ctx, DateTimeOffset requestTime, DateTimeOffset now)
        {
            if (P(ctx) == AwsProtocol.RestXml)
                return new AwsException("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
                    .With("RequestTime", requestTime.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture))
                    .With("ServerTime", Xml.Timestamp(now))
                    .With("MaxAllowedSkewMilliseconds", "900000");
            var message = $"Signature expired: {requestTime.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} is now earlier than {(now - MaxSkew).ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} ({now.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} - 15 min.)";
            if (requestTime > now) message = $"Signature not yet current: {requestTime.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} is still later than {(now + MaxSkew).ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} ({now.ToString(SigV4.TimeFormat, CultureInfo.InvariantCulture)} + 15 min.)";
            return Json(ctx) ? new AwsException("InvalidSignatureException", 403, message) : new AwsException("SignatureDoesNotMatch", 403, message);
        }

        public static AwsException WrongRegion(RequestContext ctx, string region) => P(ctx) == AwsProtocol.RestXml
            ? new AwsException("AuthorizationHeaderMalformed", 400, $"The authorization header is malformed; the region '{region}' is wrong; expecting '{ctx.Region}'").With("Region", ctx.Region)
            : BadSignature(ctx, $"Credential should be scoped to a valid region. ");

        public static AwsException Malformed(RequestContext ctx, string message) => P(ctx) switch
        {
            AwsProtocol.RestXml => new AwsException("AuthorizationHeaderMalformed", 400, message),
            AwsProtocol.Query => new AwsException("IncompleteSignature", 400, message),
            _ => new AwsException("IncompleteSignatureException", 400, message),
        };

        public static AwsException QueryMalformed(RequestContext ctx, string message) => P(ctx) == AwsProtocol.RestXml
            ? new AwsException("AuthorizationQueryParametersError", 400, message)
            : Malformed(ctx, message);

        public static AwsException MissingAuthentication(RequestContext ctx) => P(ctx) == AwsProtocol.Query
            ? new AwsException("MissingAuthenticationToken", 403, "Request is missing Authentication Token")
            : new AwsException("MissingAuthenticationTokenException", 403, "Missing Authentication Token");

        public static AwsException UnsupportedMechanism(RequestContext ctx) => P(ctx) == AwsProtocol.RestXml
            ? new AwsException("InvalidRequest", 400, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
            : Malformed(ctx, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.");
    }
}
