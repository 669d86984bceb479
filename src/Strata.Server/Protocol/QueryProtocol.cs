using System.Globalization;
using System.Xml;

namespace Strata.Server.Protocol;

/// <summary>
/// Reading requests and writing responses of the AWS Query protocol (IAM, STS): form
/// parameters in, <c>&lt;{Operation}Response&gt;&lt;{Operation}Result&gt;</c> XML out. Lists are
/// <c>Name.member.N</c> in and <c>&lt;Name&gt;&lt;member&gt;</c> out; timestamps ISO 8601.
/// </summary>
public static class QueryProtocol
{
    public static string? Get(RequestContext ctx, string name)
        => ctx.QueryInput!.TryGetValue(name, out var v) ? v : null;

    public static string Required(RequestContext ctx, string name)
        => Get(ctx, name) is { } v ? v : throw Invalid(name, null, "Member must not be null");

    public static int? Int(RequestContext ctx, string name, int min, int max)
    {
        if (Get(ctx, name) is not { } text) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new AwsException("ValidationError", 400, $"Invalid value '{text}' for parameter {name}: not an integer.");
        if (value < min) throw Invalid(name, value, $"Member must have value greater than or equal to {min}");
        if (value > max) throw Invalid(name, value, $"Member must have value less than or equal to {max}");
        return value;
    }

    public static bool Bool(RequestContext ctx, string name) => string.Equals(Get(ctx, name), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>A list parameter: <c>{name}.member.1{suffix}</c>, <c>.2</c>, … until one is missing.</summary>
    public static List<string> Members(RequestContext ctx, string name, string suffix = "")
    {
        var list = new List<string>();
        for (var i = 1; Get(ctx, $"{name}.member.{i}{suffix}") is { } v; i++) list.Add(v);
        return list;
    }

    /// <summary>A list of Key/Value structures (Tags).</summary>
    public static List<(string Key, string Value)> Tags(RequestContext ctx, string name = "Tags")
    {
        var list = new List<(string, string)>();
        for (var i = 1; Get(ctx, $"{name}.member.{i}.Key") is { } k; i++) list.Add((k, Get(ctx, $"{name}.member.{i}.Value") ?? ""));
        return list;
    }

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

    /// <summary>Writes an element only when there is a value.</summary>
    public static void Element(this XmlWriter xml, string name, string? value)
    {
        if (value is not null) xml.WriteElementString(name, value);
    }

    public static void Element(this XmlWriter xml, string name, DateTimeOffset? value)
    {
        if (value is { } v) xml.WriteElementString(name, Xml.Timestamp(v));
    }

    public static void Element(this XmlWriter xml, string name, long value)
        => xml.WriteElementString(name, value.ToString(CultureInfo.InvariantCulture));

    public static void Element(this XmlWriter xml, string name, bool value)
        => xml.WriteElementString(name, value ? "true" : "false");

    /// <summary>A list: <c>&lt;name&gt;&lt;member&gt;…&lt;/member&gt;&lt;/name&gt;</c>.</summary>
    public static void List<T>(this XmlWriter xml, string name, IEnumerable<T> items, Action<XmlWriter, T> write)
    {
        xml.WriteStartElement(name);
        foreach (var item in items)
        {
            xml.WriteStartElement("member");
            write(xml, item);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();
    }

    /// <summary>Marker pagination over an ordered list: the page, and the marker of the next.</summary>
    public static (List<T> Page, string? Marker) Page<T>(RequestContext ctx, IReadOnlyList<T> items, Func<T, string> key)
    {
        var max = Int(ctx, "MaxItems", 1, 1000) ?? 100;
        var marker = Get(ctx, "Marker");
        var start = 0;
        if (marker is not null)
        {
            start = items.Count;
            for (var i = 0; i < items.Count; i++)
                if (string.CompareOrdinal(key(items[i]), marker) >= 0) { start = i; break; }
        }
        var page = items.Skip(start).Take(max).ToList();
        var next = start + max < items.Count ? key(items[start + max]) : null;
        return (page, next);
    }

    /// <summary>The IsTruncated/Marker pair of a paginated list.</summary>
    public static void Truncation(this XmlWriter xml, string? marker)
    {
        xml.Element("IsTruncated", marker is not null);
        xml.Element("Marker", marker);
    }
}
