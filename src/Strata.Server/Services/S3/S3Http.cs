using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>Request and response plumbing shared by the S3 operation handlers.</summary>
internal static class S3Http
{
    const int MaxXmlBody = 4 * 1024 * 1024;

    /// <summary>Standard headers stored with an object and returned on GET/HEAD.</summary>
    public static readonly string[] StoredHeaders =
        ["Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"];

    public static async Task WriteXmlAsync(RequestContext ctx, Action<XmlWriter> write, int status = 200)
    {
        var body = Xml.Document(write);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/xml";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }

    public static void Empty(RequestContext ctx, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentLength = 0;
    }

    /// <summary>Reads a small XML request body (configuration documents, part lists).</summary>
    public static async Task<XElement> ReadXmlAsync(RequestContext ctx)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await ctx.Body.ReadAsync(chunk)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MaxXmlBody) throw S3Errors.MalformedXml();
        }
        if (buffer.Length == 0) throw S3Errors.MalformedXml();
        buffer.Position = 0;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(buffer, settings);
            return XDocument.Load(reader).Root ?? throw S3Errors.MalformedXml();
        }
        catch (XmlException)
        {
            throw S3Errors.MalformedXml();
        }
    }

    public static IEnumerable<XElement> Children(this XElement e, string localName) => e.Elements().Where(c => c.Name.LocalName == localName);

    public static string? Child(this XElement e, string localName) => e.Children(localName).FirstOrDefault()?.Value;

    public static void Element(this XmlWriter xml, string name, string? value)
    {
        if (value is not null) xml.WriteElementString(name, value);
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
        var tags = new List<ObjectTag>();
        if (string.IsNullOrEmpty(header)) return tags;
        foreach (var pair in header.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            tags.Add(new ObjectTag(key, value));
        }
        ValidateTags(tags);
        return tags;
    }

    public static void ValidateTags(List<ObjectTag> tags)
    {
        if (tags.Count > 10) throw S3Errors.InvalidTag("Object tags cannot be greater than 10");
        if (tags.Select(t => t.Key).Distinct().Count() != tags.Count) throw S3Errors.InvalidTag("Cannot provide multiple Tags with the same key");
        foreach (var tag in tags)
        {
            if (tag.Key.Length is 0 or > 128) throw S3Errors.InvalidTag("The TagKey you have provided is invalid");
            if (tag.Value.Length > 256) throw S3Errors.InvalidTag("The TagValue you have provided is invalid");
        }
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

    public static void ValidateKey(string key)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(key);
        if (bytes > 1024) throw S3Errors.KeyTooLong(bytes);
    }

    public static void WriteOwner(XmlWriter xml, string elementName, Identity.AccountRecord? owner)
    {
        xml.WriteStartElement(elementName);
        xml.WriteElementString("ID", owner?.CanonicalUserId ?? "");
        xml.WriteElementString("DisplayName", owner?.Name ?? "");
        xml.WriteEndElement();
    }
}
