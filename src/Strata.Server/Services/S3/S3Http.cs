using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// Request and response plumbing shared by the S3 operation handlers, and S3's documented
/// exception to the generated wire layer.
/// <para>On the generated layer (<c>Model/S3.g.cs</c>): every XML response body is built as the
/// generated output (or payload) record and its members are written by the generated
/// <see cref="S3Xml"/> writers; every XML request body is read by the generated
/// <see cref="S3XmlReader"/> readers (a value not of its member's type is MalformedXML).</para>
/// <para>Hand-written, because the model cannot express it or because it must stream:</para>
/// <list type="bullet">
/// <item>The root element of each response document (<see cref="Document"/>, the one place that
/// writes it): the model names no root for non-payload outputs (<c>ListBucketResult</c>,
/// <c>ListAllMyBucketsResult</c>, …), and GetBucketLocation's answer is the root's own text
/// (botocore special-cases it too).</item>
/// <item>Object bodies (PUT/GET, parts, copies) stream through <see cref="ObjectBody"/>; they are
/// never buffered or parsed as shapes.</item>
/// <item>Headers (object metadata, checksums, SSE, conditions, ranges), the bucket policy's JSON
/// body, and S3's quirks (legacy <c>EU</c> location, empty constraint for us-east-1, "null"
/// version ids).</item>
/// <item>Routing: <see cref="S3Service"/> picks the operation from the method, the address and
/// the sub-resources, which the model's URI templates cannot tell apart.</item>
/// </list>
/// </summary>
internal static class S3Http
{
    const int MaxXmlBody = 4 * 1024 * 1024;

    /// <summary>Standard headers stored with an object and returned on GET/HEAD.</summary>
    public static readonly string[] StoredHeaders =
        ["Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"];

    /// <summary>Writes <paramref name="output"/> (a generated output or payload record) as S3's
    /// XML document: its root element in S3's namespace, the members by the generated writer.</summary>
    public static async Task WriteXmlAsync(RequestContext ctx, object output, int status = 200)
    {
        var body = XmlDocument(output);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/xml";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }

    /// <summary>The bytes of S3's XML document for a generated output or payload record.</summary>
    internal static byte[] XmlDocument(object output)
    {
        var (root, members) = Document(output);
        return Xml.Document(xml =>
        {
            xml.WriteStartElement(root, S3Service.XmlNamespace);
            members(xml);
            xml.WriteEndElement();
        });
    }

    /// <summary>The root element S3 wraps each response body in (the model names none for
    /// non-payload outputs; a payload's root is its member's name), and the generated writer of
    /// what goes inside.</summary>
    static (string Root, Action<XmlWriter> Members) Document(object output) => output switch
    {
        ListBucketsOutput o => ("ListAllMyBucketsResult", w => S3Xml.Write(w, o)),
        ListObjectsOutput o => ("ListBucketResult", w => S3Xml.Write(w, o)),
        ListObjectsV2Output o => ("ListBucketResult", w => S3Xml.Write(w, o)),
        ListObjectVersionsOutput o => ("ListVersionsResult", w => S3Xml.Write(w, o)),
        GetBucketVersioningOutput o => ("VersioningConfiguration", w => S3Xml.Write(w, o)),
        // The constraint is the root's text, not a child element; us-east-1's is empty.
        GetBucketLocationOutput o => ("LocationConstraint", w => { if (o.LocationConstraint is { } region) w.WriteString(region); }),
        DeleteObjectsOutput o => ("DeleteResult", w => S3Xml.Write(w, o)),
        GetObjectTaggingOutput o => ("Tagging", w => S3Xml.Write(w, o)),
        GetBucketTaggingOutput o => ("Tagging", w => S3Xml.Write(w, o)),
        GetObjectAttributesOutput o => ("GetObjectAttributesResponse", w => S3Xml.Write(w, o)),
        CreateMultipartUploadOutput o => ("InitiateMultipartUploadResult", w => S3Xml.Write(w, o)),
        CompleteMultipartUploadOutput o => ("CompleteMultipartUploadResult", w => S3Xml.Write(w, o)),
        ListPartsOutput o => ("ListPartsResult", w => S3Xml.Write(w, o)),
        ListMultipartUploadsOutput o => ("ListMultipartUploadsResult", w => S3Xml.Write(w, o)),
        // Payloads (CopyObjectOutput.CopyObjectResult, …): the document is the payload member.
        CopyObjectResult o => ("CopyObjectResult", w => S3Xml.Write(w, o)),
        CopyPartResult o => ("CopyPartResult", w => S3Xml.Write(w, o)),
        PolicyStatus o => ("PolicyStatus", w => S3Xml.Write(w, o)),
        PublicAccessBlockConfiguration o => ("PublicAccessBlockConfiguration", w => S3Xml.Write(w, o)),
        ServerSideEncryptionConfiguration o => ("ServerSideEncryptionConfiguration", w => S3Xml.Write(w, o)),
        NotificationConfiguration o => ("NotificationConfiguration", w => S3Xml.Write(w, o)),
        GetBucketCorsOutput o => ("CORSConfiguration", w => S3Xml.Write(w, o)),
        GetBucketAclOutput o => ("AccessControlPolicy", w => S3Xml.Write(w, o)),
        GetObjectAclOutput o => ("AccessControlPolicy", w => S3Xml.Write(w, o)),
        GetBucketOwnershipControlsOutput o => ("OwnershipControls", w => S3Xml.Write(w, o.OwnershipControls!)),
        GetBucketLifecycleConfigurationOutput o => ("LifecycleConfiguration", w => S3Xml.Write(w, o)),
        ObjectLockConfiguration o => ("ObjectLockConfiguration", w => S3Xml.Write(w, o)),
        ObjectLockRetention o => ("Retention", w => S3Xml.Write(w, o)),
        ObjectLockLegalHold o => ("LegalHold", w => S3Xml.Write(w, o)),
        _ => throw new ArgumentException($"S3 has no XML document for {output.GetType().Name}", nameof(output)),
    };

    /// <summary>Reads a small XML request body with its generated reader. <paramref name="root"/>,
    /// when given, is the element the model names for the payload; another root is MalformedXML.</summary>
    public static async Task<T> ReadXmlAsync<T>(RequestContext ctx, string? root, Func<XElement, T> read)
    {
        var element = await ReadXmlAsync(ctx);
        if (root is not null && element.Name.LocalName != root) throw S3Errors.MalformedXml();
        return read(element);
    }

    public static void Empty(RequestContext ctx, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentLength = 0;
    }

    /// <summary>Reads a small XML request body (configuration documents, part lists).</summary>
    static async Task<XElement> ReadXmlAsync(RequestContext ctx) => ParseXml(await ReadSmallBodyAsync(ctx)) ?? throw S3Errors.MalformedXml();

    static async Task<byte[]> ReadSmallBodyAsync(RequestContext ctx)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await ctx.Body.ReadAsync(chunk)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MaxXmlBody) throw S3Errors.MalformedXml();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a small body whole before the handler runs (authorization needs what it
    /// says) and puts it back as the body the handler reads.</summary>
    public static async Task<byte[]> BufferSmallBodyAsync(RequestContext ctx)
    {
        var body = await ReadSmallBodyAsync(ctx);
        ctx.Body = new MemoryStream(body, writable: false);
        return body;
    }

    /// <summary>The root element of an XML document; null when it is empty or not XML.</summary>
    public static XElement? ParseXml(byte[] body)
    {
        if (body.Length == 0) return null;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(new MemoryStream(body), settings);
            return XDocument.Load(reader).Root;
        }
        catch (XmlException)
        {
            return null;
        }
    }

    public static string? Query(RequestContext ctx, string name)
        => ctx.Request.Query.TryGetValue(name, out var v) ? v.ToString() : null;

    public static int? IntQuery(RequestContext ctx, string name, string argumentMessage, int max)
    {
        var text = Query(ctx, name);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw S3Errors.InvalidArgument(argumentMessage, name, text);
        return Math.Min(value, max);
    }

    /// <summary><c>encoding-type=url</c>: keys in the response are URL-encoded.</summary>
    public static Func<string, string> Encoder(RequestContext ctx)
    {
        var encoding = Query(ctx, "encoding-type");
        if (encoding is null) return s => s;
        if (encoding != "url") throw S3Errors.InvalidArgument("Invalid Encoding Method specified in Request", "encoding-type", encoding);
        return s => Auth.SigV4.UriEncode(s, encodeSlash: false);
    }

    public static DateTimeOffset? HttpDate(string? value)
        => value is not null && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var d) ? d : null;

    /// <summary>Whole seconds: HTTP dates carry no fractions, so comparisons must not either.</summary>
    public static DateTimeOffset Seconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);

    /// <summary>Tags from the <c>x-amz-tagging</c> header (URL query syntax).</summary>
    public static List<ObjectTag> ParseTaggingHeader(string? header)
    {
        var tags = TaggingHeaderPairs(header);
        ValidateTags(tags);
        return tags;
    }

    /// <summary>The header's pairs as sent, not yet validated.</summary>
    public static List<ObjectTag> TaggingHeaderPairs(string? header)
    {
        var tags = new List<ObjectTag>();
        if (string.IsNullOrEmpty(header)) return tags;
        foreach (var pair in header.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            tags.Add(new ObjectTag(key, value));
        }
        return tags;
    }

    public static void ValidateTags(List<ObjectTag> tags)
    {
        // S3 answers the count with a BadRequest of its own, not InvalidTag.
        if (tags.Count > 10) throw new AwsException("BadRequest", 400, "Object tags cannot be greater than 10");
        if (tags.Select(t => t.Key).Distinct().Count() != tags.Count) throw S3Errors.InvalidTag("Cannot provide multiple Tags with the same key");
        foreach (var tag in tags) ValidateTag(tag);
    }

    /// <summary>A bucket's tag set (PutBucketTagging), checked as S3 checks it: tag by tag in the
    /// order given (lengths, the reserved <c>aws:</c> prefix, repeated keys), and only then the
    /// count, which S3 answers with a BadRequest of its own.</summary>
    public static void ValidateBucketTags(List<ObjectTag> tags)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            ValidateTag(tag);
            if (tag.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                throw S3Errors.InvalidTag("System tags cannot be added/updated by requester");
            if (!keys.Add(tag.Key)) throw S3Errors.InvalidTag("Cannot provide multiple Tags with the same key");
        }
        if (tags.Count > 50) throw new AwsException("BadRequest", 400, "Bucket tag count cannot be greater than 50");
    }

    /// <summary>A key of 1 to 128 characters and a value of at most 256, counted as Unicode
    /// characters (not UTF-16 units), as S3 counts them, made only of the characters S3's tags
    /// take: letters, digits, spaces and <c>+ - = . _ : / @</c>.</summary>
    static void ValidateTag(ObjectTag tag)
    {
        if (tag.Key.EnumerateRunes().Count() is 0 or > 128 || !TagCharacters(tag.Key)) throw S3Errors.InvalidTag("The TagKey you have provided is invalid");
        if (tag.Value.EnumerateRunes().Count() > 256 || !TagCharacters(tag.Value)) throw S3Errors.InvalidTag("The TagValue you have provided is invalid");
    }

    static bool TagCharacters(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune) || rune.Value is ' ' or '+' or '-' or '=' or '.' or '_' or ':' or '/' or '@') continue;
            return false;
        }
        return true;
    }

    /// <summary>Standard headers and x-amz-meta-* of the request, as stored with an object.</summary>
    public static (Dictionary<string, string> Headers, Dictionary<string, string> Metadata) ObjectHeaders(RequestContext ctx)
    {
        var headers = new Dictionary<string, string>();
        foreach (var name in StoredHeaders)
        {
            if (ctx.Header(name) is { } value) headers[name] = value;
        }
        // aws-chunked is how this request's body travelled, not how the object is encoded.
        if (headers.TryGetValue("Content-Encoding", out var encoding))
        {
            var rest = string.Join(',', encoding.Split(',', StringSplitOptions.TrimEntries).Where(e => e is not ("aws-chunked" or "")));
            if (rest.Length == 0) headers.Remove("Content-Encoding");
            else headers["Content-Encoding"] = rest;
        }
        var metadata = new Dictionary<string, string>();
        foreach (var (name, value) in ctx.Request.Headers)
        {
            if (name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase))
                metadata[name["x-amz-meta-".Length..].ToLowerInvariant()] = value.ToString();
        }
        var size = metadata.Sum(kv => kv.Key.Length + kv.Value.Length);
        if (size > 2048)
            throw new AwsException("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size").With("Size", size.ToString(CultureInfo.InvariantCulture)).With("MaxSizeAllowed", "2048");
        return (headers, metadata);
    }

    /// <summary>Writes an object's stored headers and <c>x-amz-meta-*</c> on a GET/HEAD answer:
    /// the one place stored values reach the wire, so no stored value can break a read. A value
    /// HTTP cannot carry as it is (non-ASCII or control characters, which S3 accepts and stores
    /// as UTF-8) is sent RFC 2047-encoded, as S3 sends it; a metadata name that cannot be a
    /// header name is left out and counted in <c>x-amz-missing-meta</c>.</summary>
    public static void WriteStoredHeaders(HttpResponse response, Dictionary<string, string> headers, Dictionary<string, string> metadata)
    {
        foreach (var (name, value) in headers)
        {
            if (name == "Content-Type") response.ContentType = HeaderValue(value);
            else response.Headers[name] = HeaderValue(value);
        }
        var missing = 0;
        foreach (var (name, value) in metadata)
        {
            if (name.Length > 0 && name.All(IsTokenChar)) response.Headers["x-amz-meta-" + name] = HeaderValue(value);
            else missing++;
        }
        if (missing > 0) response.Headers["x-amz-missing-meta"] = missing.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A header value as it can be written: unchanged when it is visible ASCII, spaces
    /// and tabs; otherwise its UTF-8 bytes as one RFC 2047 encoded word (<c>=?UTF-8?B?…?=</c>).</summary>
    internal static string HeaderValue(string value)
        => IsWritableHeaderValue(value) ? value : "=?UTF-8?B?" + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value)) + "?=";

    /// <summary>Visible ASCII, spaces and tabs: what Kestrel (and HTTP) writes in a header value.</summary>
    internal static bool IsWritableHeaderValue(string value) => value.All(c => c is (>= ' ' and <= '~') or '\t');

    /// <summary>An RFC 9110 token character: what a header name is made of.</summary>
    static bool IsTokenChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
        or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    public static void ValidateKey(string key)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(key);
        if (bytes > 1024) throw S3Errors.KeyTooLong(bytes);
    }

    /// <summary>An account as S3 shows an owner (empty strings when the account is gone).</summary>
    public static Owner OwnerOf(Identity.AccountRecord? owner) => new() { ID = owner?.CanonicalUserId ?? "", DisplayName = owner?.Name ?? "" };
}
