using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// Browser-based uploads: <c>POST /{bucket}</c> with a multipart/form-data body (S3's POST
/// Object; not in the service model: no SDK calls it, a browser's form submit does). The form
/// carries the key, the object's headers as fields, a policy and its signature, and then the file.
/// Its input stage reads the fields, verifies the signature (the principal is the signing key's
/// owner, so the upload is authorized as <c>s3:PutObject</c> like any PutObject) and checks the
/// policy; the handler stores the file through PutObject's own path.
/// </summary>
internal sealed class PostObjectOperations(S3Environment env, ObjectOperations objects, SigV4Authenticator signatures)
{
    /// <summary>Fields that authenticate the form; no object header is made of them.</summary>
    static readonly HashSet<string> AuthFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token", "AWSAccessKeyId", "signature",
    };

    /// <summary>The input stage (before authorization, which needs the key and the principal).</summary>
    public async Task<object?> ReadFormAsync(RequestContext ctx)
    {
        var form = await PostForm.ReadAsync(ctx.Request.ContentType, ctx.Body, ctx.Http.RequestAborted);
        if (form["key"] is not { } key)
            throw S3Errors.InvalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", "key", "");
        // "${filename}" stands for the name of the file the user chose, in any field; the policy
        // judges the fields as they will be used.
        var fields = form.Fields.ToDictionary(f => f.Key, f => AuthFields.Contains(f.Key) ? f.Value : f.Value.Replace("${filename}", form.FileName ?? "", StringComparison.Ordinal),
            StringComparer.OrdinalIgnoreCase);
        key = fields["key"];
        var policy = Authenticate(ctx, fields);
        policy?.Check(fields, ctx.Bucket!, env.Clock.GetUtcNow());
        if (key.Length == 0) throw S3Errors.InvalidArgument("User key must have a length greater than 0.", "key", "");
        ctx.Key = key;
        UseFieldsAsHeaders(ctx, fields);
        ctx.Body = form.File(policy?.ContentLengthRange);
        ctx.ChunkedBody = null;
        return fields;
    }

    /// <summary>Verifies the form's signature (SigV4, or S3's legacy SigV2) and returns its policy;
    /// a form with no policy and no credential is anonymous (a bucket policy may let anyone upload).</summary>
    PostPolicy? Authenticate(RequestContext ctx, Dictionary<string, string> fields)
    {
        string Required(string name) => fields.TryGetValue(name, out var value) ? value
            : throw S3Errors.InvalidArgument($"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields.", name, "");
        var token = fields.GetValueOrDefault("x-amz-security-token");
        var v2 = fields.ContainsKey("AWSAccessKeyId") || fields.ContainsKey("signature");
        if (fields.ContainsKey("x-amz-algorithm") || fields.ContainsKey("x-amz-credential") || fields.ContainsKey("x-amz-signature") || fields.ContainsKey("x-amz-date")
            || (fields.ContainsKey("policy") && !v2))
        {
            var algorithm = Required("x-amz-algorithm");
            if (algorithm != SigV4.Algorithm)
                throw S3Errors.InvalidArgument("Only AWS4-HMAC-SHA256 is supported for the x-amz-algorithm field.", "x-amz-algorithm", algorithm);
            var credential = Required("x-amz-credential");
            var date = Required("x-amz-date");
            var signature = Required("x-amz-signature");
            var policy = Required("policy");
            signatures.VerifyPostPolicy(ctx, credential, date, policy, signature, token);
            return PostPolicy.Parse(policy);
        }
        if (v2)
        {
            var accessKeyId = Required("AWSAccessKeyId");
            var signature = Required("signature");
            var policy = Required("policy");
            signatures.VerifyPostPolicyV2(ctx, accessKeyId, policy, signature, token);
            return PostPolicy.Parse(policy);
        }
        return null;
    }

    /// <summary>S3 documents the form's fields as the PutObject headers they stand for. They
    /// replace the request's own headers of that kind (its multipart Content-Type, anything a
    /// script added), so that PutObject's one path reads them: the stored headers, metadata,
    /// checksums, encryption, and the condition keys the authorizer reads.</summary>
    static void UseFieldsAsHeaders(RequestContext ctx, Dictionary<string, string> fields)
    {
        var headers = ctx.Request.Headers;
        foreach (var name in headers.Keys.Where(IsObjectHeader).ToList()) headers.Remove(name);
        foreach (var (name, value) in fields)
        {
            if (IsObjectHeader(name) && !AuthFields.Contains(name)) headers[name] = value;
        }
        if (fields.TryGetValue("acl", out var acl)) headers["x-amz-acl"] = acl;
        if (fields.TryGetValue("tagging", out var tagging)) headers["x-amz-tagging"] = TaggingHeader(tagging);
        // The form names the algorithm of the checksum S3 is to compute as PutObject's SDKs name
        // it in x-amz-sdk-checksum-algorithm (without sending a value of their own).
        if (headers.Remove("x-amz-checksum-algorithm", out var algorithm)) headers["x-amz-sdk-checksum-algorithm"] = algorithm;
    }

    static bool IsObjectHeader(string name)
        => name.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-MD5", StringComparison.OrdinalIgnoreCase)
            || S3Http.StoredHeaders.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The form's <c>tagging</c> field is a Tagging document; PutObject's header is the
    /// same tags URL-encoded.</summary>
    static string TaggingHeader(string xml)
    {
        var root = S3Http.ParseXml(System.Text.Encoding.UTF8.GetBytes(xml));
        if (root is not { Name.LocalName: "Tagging" }) throw S3Errors.MalformedXml();
        var tags = (Model.S3XmlReader.ReadTagging(root).TagSet ?? []).Select(t => new ObjectTag(t.Key ?? "", t.Value ?? "")).ToList();
        S3Http.ValidateTags(tags);
        return string.Join('&', tags.Select(t => Uri.EscapeDataString(t.Key) + "=" + Uri.EscapeDataString(t.Value)));
    }

    public async Task PostObject(RequestContext ctx)
    {
        var fields = (Dictionary<string, string>)ctx.Input!;
        var record = await objects.StoreAsync(ctx, "PostObject");
        var location = Location(ctx);
        ctx.Response.Headers.Location = location;
        if (Redirect(fields, ctx.Bucket!, record) is { } redirect)
        {
            ctx.Response.Headers.Location = redirect;
            S3Http.Empty(ctx, 303);
            return;
        }
        switch (fields.GetValueOrDefault("success_action_status"))
        {
            case "200":
                S3Http.Empty(ctx);
                break;
            case "201":
                var body = Xml.Document(xml =>
                {
                    xml.WriteStartElement("PostResponse");
                    xml.WriteElementString("Location", location);
                    xml.WriteElementString("Bucket", ctx.Bucket);
                    xml.WriteElementString("Key", record.Key);
                    xml.WriteElementString("ETag", record.ETag);
                    xml.WriteEndElement();
                });
                ctx.Response.StatusCode = 201;
                ctx.Response.ContentType = "application/xml";
                ctx.Response.ContentLength = body.Length;
                await ctx.Response.Body.WriteAsync(body);
                break;
            default:
                // Unset, or a status S3 does not offer: 204, as in S3.
                S3Http.Empty(ctx, 204);
                break;
        }
    }

    /// <summary>Where the object is now, addressed as the request addressed its bucket.</summary>
    static string Location(RequestContext ctx)
    {
        var key = string.Join('/', ctx.Key!.Split('/').Select(Uri.EscapeDataString));
        var request = ctx.Request;
        return ctx.VirtualHostedBucket ? $"{request.Scheme}://{request.Host}/{key}" : $"{request.Scheme}://{request.Host}/{Uri.EscapeDataString(ctx.Bucket!)}/{key}";
    }

    /// <summary><c>success_action_redirect</c> (or its old name <c>redirect</c>) with the bucket, key and
    /// ETag added to its query; null when there is none or it is not an absolute http(s) URL (S3
    /// then ignores it).</summary>
    static string? Redirect(Dictionary<string, string> fields, string bucket, ObjectRecord record)
    {
        var target = fields.GetValueOrDefault("success_action_redirect") ?? fields.GetValueOrDefault("redirect");
        if (target is null || !Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")) return null;
        var query = $"bucket={Uri.EscapeDataString(bucket)}&key={Uri.EscapeDataString(record.Key)}&etag={Uri.EscapeDataString(record.ETag)}";
        var hash = target.IndexOf('#');
        var fragment = hash >= 0 ? target[hash..] : "";
        var head = hash >= 0 ? target[..hash] : target;
        return head + (head.Contains('?') ? (head.EndsWith('?') || head.EndsWith('&') ? "" : "&") : "?") + query + fragment;
    }
}
