using System.Text;
using System.Text.Json;
using System.Xml;

namespace Strata.Server.Protocol;

/// <summary>Serializes an <see cref="AwsException"/> exactly as the request's protocol expects.
/// The one place where errors meet the wire.</summary>
public static class ErrorWriter
{
    public static async Task WriteAsync(RequestContext ctx, AwsException error)
    {
        var response = ctx.Response;
        response.StatusCode = error.Status;
        var protocol = ctx.Service?.Protocol ?? AwsProtocol.RestXml;
        byte[] body;
        switch (protocol)
        {
            case AwsProtocol.Json10:
            case AwsProtocol.Json11:
                response.ContentType = protocol == AwsProtocol.Json10 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1";
                response.Headers["x-amzn-ErrorType"] = error.Code;
                // Query-compatible services (CloudWatch) tell new clients the Query error code too.
                if (ctx.Service?.QueryCompatible == true)
                    response.Headers["x-amzn-query-error"] = $"{error.Code};{(error.SenderFault ? "Sender" : "Receiver")}";
                body = JsonBody(error, typeField: true);
                break;
            case AwsProtocol.RpcV2Cbor:
                response.ContentType = CborWire.ContentType;
                response.Headers["smithy-protocol"] = "rpc-v2-cbor";
                if (ctx.Service?.QueryCompatible == true)
                    response.Headers["x-amzn-query-error"] = $"{error.Code};{(error.SenderFault ? "Sender" : "Receiver")}";
                body = CborWire.Error(error.Code, error.Message);
                break;
            case AwsProtocol.RestJson:
                response.ContentType = "application/json";
                response.Headers["X-Amzn-ErrorType"] = error.Code;
                body = JsonBody(error, typeField: false);
                break;
            case AwsProtocol.Query:
                response.ContentType = "text/xml";
                body = QueryBody(ctx, error);
                break;
            default:
                response.ContentType = "application/xml";
                body = RestXmlBody(ctx, error);
                break;
        }
        if (HttpMethods.IsHead(ctx.Request.Method) || error.Status == 304)
        {
            // HEAD responses and 304s carry no body; clients read the status alone.
            response.ContentType = null;
            return;
        }
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }

    static byte[] JsonBody(AwsException error, bool typeField)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (typeField) json.WriteString("__type", error.Code);
            json.WriteString("message", WireText.ForJson(error.Message));
            foreach (var (name, value) in error.Fields)
            {
                if (long.TryParse(value, out var number) && name.EndsWith("StatusCode", StringComparison.Ordinal)) json.WriteNumber(name, number);
                else json.WriteString(name, WireText.ForJson(value));
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static byte[] QueryBody(RequestContext ctx, AwsException error) => Xml.Document(xml =>
    {
        xml.WriteStartElement("ErrorResponse", ctx.Service?.XmlNamespace);
        xml.WriteStartElement("Error");
        xml.WriteElementString("Type", error.SenderFault ? "Sender" : "Receiver");
        xml.WriteElementString("Code", error.Code);
        xml.WriteElementString("Message", error.Message);
        xml.WriteEndElement();
        xml.WriteElementString("RequestId", ctx.RequestId);
        xml.WriteEndElement();
    });

    static byte[] RestXmlBody(RequestContext ctx, AwsException error) => Xml.Document(xml =>
    {
        xml.WriteStartElement("Error");
        xml.WriteElementString("Code", error.Code);
        xml.WriteElementString("Message", error.Message);
        foreach (var (name, value) in error.Fields) xml.WriteElementString(name, value);
        xml.WriteElementString("RequestId", ctx.RequestId);
        xml.WriteElementString("HostId", HostId(ctx.RequestId));
        xml.WriteEndElement();
    });

    /// <summary>S3's <c>x-amz-id-2</c>: an opaque token that support would correlate with the
    /// request id; here derived from it so both name the same request.</summary>
    public static string HostId(string requestId)
        => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(requestId)));
}

/// <summary>Small helpers for writing XML response documents.</summary>
public static class Xml
{
    static readonly XmlWriterSettings Settings = new() { Encoding = new UTF8Encoding(false), Indent = false };

    public static byte[] Document(Action<XmlWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var xml = new SafeXmlWriter(XmlWriter.Create(buffer, Settings)))
        {
            xml.WriteStartDocument();
            write(xml);
            xml.WriteEndDocument();
        }
        return buffer.ToArray();
    }

    /// <summary>ISO 8601 with milliseconds, as Query and REST-XML responses carry times.</summary>
    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>RFC 1123, as HTTP headers (S3 <c>Last-Modified</c>) carry times.</summary>
    public static string HttpDate(DateTimeOffset time) => time.UtcDateTime.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
