using System.Globalization;
using System.Security.Authentication;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// The condition keys S3 fills in for one decision, per action as AWS's service authorization
/// reference lists them. Every action: how the request was signed (<c>s3:authType</c>,
/// <c>s3:signatureversion</c>, <c>s3:x-amz-content-sha256</c>) and over what TLS
/// (<c>s3:TlsVersion</c>). <c>s3:ListBucket</c>: the listing's query. <c>s3:PutObject</c> (which
/// also authorizes CopyObject and each multipart step): the write's headers and the tags it
/// sets. <c>s3:PutObjectTagging</c>: the tags its body sets. Reads and tagging: the tags the
/// object already has. Object Lock's actions: the retention or legal hold the request sets (and
/// its remaining days, by the server's clock). A key a request does not carry stays absent, so <c>Null</c> and
/// <c>…IfExists</c> conditions see what AWS's see.
/// </summary>
internal static class S3ConditionKeys
{
    /// <summary>Headers that are keys of the same name (<c>s3:x-amz-acl</c>) on a write.</summary>
    static readonly string[] PutObjectHeaders =
    [
        "x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
        "x-amz-metadata-directive", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-customer-algorithm", "x-amz-storage-class", "x-amz-website-redirect-location",
    ];

    /// <summary>Object Lock's headers, whose keys drop the <c>x-amz-</c>.</summary>
    static readonly string[] ObjectLockHeaders = ["x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"];

    /// <summary>The canned ACL and grants of CreateBucket, PutBucketAcl and PutObjectAcl.</summary>
    static readonly string[] CreateBucketHeaders = ["x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control"];

    public static void Add(RequestContext ctx, string action, string resource, S3Store store, TimeProvider clock, IDictionary<string, IReadOnlyList<string>> keys)
    {
        if (!action.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)) return;
        if (ctx.SignatureVersion is { } version)
        {
            keys["s3:signatureversion"] = [version];
            keys["s3:authType"] = [ctx.SignedInQuery ? "REST-QUERY-STRING" : "REST-HEADER"];
        }
        // How old the SigV4 signature is, in milliseconds: how policies cap a presigned URL's life.
        if (ctx.SignedAt is { } signedAt)
            keys["s3:signatureAge"] = [Math.Max(0, (long)(clock.GetUtcNow() - signedAt).TotalMilliseconds).ToString(CultureInfo.InvariantCulture)];
        if (BucketOf(resource) is { } bucketName && store.GetBucket(bucketName) is { } bucket) keys["s3:ResourceAccount"] = [bucket.OwnerAccountId];
        if (ctx.Header("x-amz-content-sha256") is { } sha) keys["s3:x-amz-content-sha256"] = [sha];
        if (TlsVersion(ctx.TlsProtocol) is { } tls) keys["s3:TlsVersion"] = [tls];

        switch (action.ToLowerInvariant())
        {
            case "s3:listbucket" or "s3:listbucketversions":
                foreach (var name in new[] { "prefix", "delimiter", "max-keys" })
                    if (ctx.Request.Query.TryGetValue(name, out var v)) keys["s3:" + name] = [v.ToString()];
                break;
            case "s3:createbucket" or "s3:putbucketacl" or "s3:putobjectacl" or "s3:putobjectversionacl":
                AddHeaders(ctx, keys, CreateBucketHeaders, header => "s3:" + header);
                Version(ctx, action, keys);
                break;
            case "s3:putobject":
                AddHeaders(ctx, keys, PutObjectHeaders, header => "s3:" + header);
                // Conditional writes (PutObject, CompleteMultipartUpload): s3:if-match, s3:if-none-match.
                AddHeaders(ctx, keys, ["If-Match", "If-None-Match"], header => "s3:" + header.ToLowerInvariant());
                AddHeaders(ctx, keys, ObjectLockHeaders, header => "s3:" + header["x-amz-".Length..]);
                if (ctx.Header("x-amz-object-lock-retain-until-date") is { } until
                    && DateTimeOffset.TryParse(until, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                    keys["s3:object-lock-remaining-retention-days"] = [RemainingDays(date, clock)];
                if (CopySource(ctx.Header("x-amz-copy-source")) is { } source) keys["s3:x-amz-copy-source"] = [source];
                AddRequestTags(keys, S3Http.TaggingHeaderPairs(ctx.Header("x-amz-tagging")));
                break;
            case "s3:putobjecttagging" or "s3:putobjectversiontagging":
                // Its body, read before authorization (ReadRequestTagsAsync).
                if (ctx.Input is List<ObjectTag> requested) AddRequestTags(keys, requested);
                AddExistingTags(store, resource, Version(ctx, action, keys), keys);
                break;
            case "s3:getobject" or "s3:getobjecttagging" or "s3:deleteobjecttagging"
                or "s3:getobjectversion" or "s3:getobjectversiontagging" or "s3:deleteobjectversiontagging":
                AddExistingTags(store, resource, Version(ctx, action, keys), keys);
                break;
            case "s3:deleteobjectversion" or "s3:getobjectversionacl":
                Version(ctx, action, keys);
                break;
            case "s3:putobjectretention" or "s3:bypassgovernanceretention":
                // Its body, read before authorization (ObjectLockOperations.ReadRetentionAsync).
                if (ctx.Input is ObjectLockRetention { Mode: { } mode, RetainUntilDate: { } retainUntil })
                {
                    keys["s3:object-lock-mode"] = [mode];
                    keys["s3:object-lock-retain-until-date"] = [Xml.Timestamp(retainUntil)];
                    keys["s3:object-lock-remaining-retention-days"] = [RemainingDays(retainUntil, clock)];
                }
                VersionId(ctx, keys);
                break;
            case "s3:putobjectlegalhold":
                if (ctx.Input is ObjectLockLegalHold { Status: { } status }) keys["s3:object-lock-legal-hold"] = [status];
                VersionId(ctx, keys);
                break;
            case "s3:getobjectretention" or "s3:getobjectlegalhold":
                VersionId(ctx, keys);
                break;
        }
    }

    /// <summary>PutObjectTagging's input stage: its small body is read before authorization, as
    /// the tags it sets are condition keys; the handler reads (and judges) the same bytes. A body
    /// that does not parse sets no keys here; the handler refuses it.</summary>
    public static async Task<object?> ReadRequestTagsAsync(RequestContext ctx)
    {
        var root = S3Http.ParseXml(await S3Http.BufferSmallBodyAsync(ctx));
        if (root is not { Name.LocalName: "Tagging" }) return null;
        try
        {
            return (S3XmlReader.ReadTagging(root).TagSet ?? []).Where(t => t.Key is not null).Select(t => new ObjectTag(t.Key!, t.Value ?? "")).ToList();
        }
        catch (AwsException)
        {
            return null;
        }
    }

    /// <summary><c>s3:TlsVersion</c> is numeric ("1.2"); absent over plain HTTP.</summary>
    internal static string? TlsVersion(SslProtocols? protocol) => protocol switch
    {
        SslProtocols.Tls13 => "1.3",
        SslProtocols.Tls12 => "1.2",
#pragma warning disable SYSLIB0039 // old TLS versions are named only to report them
        SslProtocols.Tls11 => "1.1",
        SslProtocols.Tls => "1.0",
#pragma warning restore SYSLIB0039
        _ => null,
    };

    /// <summary>The copy source as policies name it: "bucket/key", decoded, without a leading
    /// slash or the <c>?versionId=</c> suffix.</summary>
    internal static string? CopySource(string? header)
    {
        if (string.IsNullOrEmpty(header)) return null;
        var path = header.Split('?', 2)[0];
        return Auth.SigV4.PercentDecode(path).TrimStart('/');
    }

    /// <summary>The bucket an S3 resource ARN names (a bucket's or an object's); null for others.</summary>
    static string? BucketOf(string resource)
    {
        const string prefix = "arn:aws:s3:::";
        if (!resource.StartsWith(prefix, StringComparison.Ordinal) || resource.Length == prefix.Length) return null;
        var path = resource[prefix.Length..];
        var slash = path.IndexOf('/');
        return slash < 0 ? path : slash == 0 ? null : path[..slash];
    }

    static void AddHeaders(RequestContext ctx, IDictionary<string, IReadOnlyList<string>> keys, string[] headers, Func<string, string> key)
    {
        foreach (var header in headers)
            if (ctx.Header(header) is { } value) keys[key(header)] = [value];
    }

    static void AddRequestTags(IDictionary<string, IReadOnlyList<string>> keys, List<ObjectTag> tags)
    {
        if (tags.Count == 0) return;
        foreach (var tag in tags) keys["s3:RequestObjectTag/" + tag.Key] = [tag.Value];
        keys["s3:RequestObjectTagKeys"] = tags.Select(t => t.Key).Distinct().ToList();
    }

    /// <summary>The version a version action names (<c>?versionId=</c>), which is also its
    /// <c>s3:versionid</c> key; null for the plain actions, which act on the current object.</summary>
    static string? Version(RequestContext ctx, string action, IDictionary<string, IReadOnlyList<string>> keys)
    {
        if (!action.Contains("Version", StringComparison.OrdinalIgnoreCase) || ctx.Request.Query["versionId"].ToString() is not { Length: > 0 } versionId) return null;
        keys["s3:versionid"] = [versionId];
        return versionId;
    }

    /// <summary>Object Lock's actions have no version variants: the version a request names is
    /// their <c>s3:versionid</c>.</summary>
    static void VersionId(RequestContext ctx, IDictionary<string, IReadOnlyList<string>> keys)
    {
        if (ctx.Request.Query["versionId"].ToString() is { Length: > 0 } versionId) keys["s3:versionid"] = [versionId];
    }

    /// <summary>Whole days from now until <paramref name="until"/>, a part of a day counting as one.</summary>
    static string RemainingDays(DateTimeOffset until, TimeProvider clock)
        => Math.Max(0, Math.Ceiling((until - clock.GetUtcNow()).TotalDays)).ToString(CultureInfo.InvariantCulture);

    static void AddExistingTags(S3Store store, string resource, string? versionId, IDictionary<string, IReadOnlyList<string>> keys)
    {
        const string prefix = "arn:aws:s3:::";
        if (!resource.StartsWith(prefix, StringComparison.Ordinal)) return;
        var path = resource[prefix.Length..];
        var slash = path.IndexOf('/');
        if (slash <= 0 || slash == path.Length - 1) return;
        var (bucket, key) = (path[..slash], path[(slash + 1)..]);
        var existing = versionId is null ? store.GetObject(bucket, key)
            : S3VersionIds.IsWellFormed(versionId) ? store.GetVersion(bucket, key, versionId) : null;
        if (existing is null) return;
        foreach (var tag in existing.Tags) keys["s3:ExistingObjectTag/" + tag.Key] = [tag.Value];
    }
}
