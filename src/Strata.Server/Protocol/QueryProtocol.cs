using System.Globalization;
using System.Xml;

namespace Strata.Server.Protocol;

/// <summary>
/// The AWS Query protocol's response envelope (IAM, STS):
/// <c>&lt;{Operation}Response&gt;&lt;{Operation}Result&gt;</c> around the members the generated
/// writers write, and its validation message. Requests are read by the generated form readers
/// (<see cref="QueryReader"/>).
/// </summary>
public static class QueryProtocol
{
    /// <summary>AWS's validation message for Query services (code <c>ValidationError</c>).</summary>
    public static AwsException Invalid(string member, object? value, string constraint)
        => new("ValidationError", 400,
            $"1 validation error detected: Value {(value is null ? "null" : $"'{value}'")} at '{char.ToLowerInvariant(member[0]) + member[1..]}' failed to satisfy constraint: {constraint}");

    /// <summary>Writes the operation's response document; <paramref name="result"/> writes the
    /// members of <c>{Operation}Result</c> (or the model's <paramref name="resultWrapper"/>; null:
    /// the operation has no output).</summary>
    public static async Task WriteAsync(RequestContext ctx, Action<XmlWriter>? result, string? resultWrapper = null)
    {
        var op = ctx.OperationName!;
        var body = Xml.Document(xml =>
        {
            xml.WriteStartElement(op + "Response", ctx.Service!.XmlNamespace);
            if (result is not null)
            {
                xml.WriteStartElement(resultWrapper ?? op + "Result");
                result(xml);
                xml.WriteEndElement();
            }
            xml.WriteStartElement("ResponseMetadata");
            xml.WriteElementString("RequestId", ctx.RequestId);
            xml.WriteEndElement();
            xml.WriteEndElement();
        });
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/xml";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }
}
