using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Strata.Server.Protocol;

/// <summary>
/// The one XML writer of the Query and REST-XML protocols' generated serialisers: absent members
/// are omitted, timestamps ISO 8601, booleans <c>true</c>/<c>false</c>, blobs base64, lists as
/// <c>&lt;Name&gt;&lt;member&gt;…</c> (or repeated <c>&lt;Name&gt;</c> when flattened), maps as
/// <c>&lt;entry&gt;&lt;key&gt;…&lt;value&gt;…</c>.
/// </summary>
public static class XmlWire
{
    public static void Element(XmlWriter w, string name, string? value)
    {
        if (value is not null) w.WriteElementString(name, value);
    }

    public static void Element(XmlWriter w, string name, bool? value)
    {
        if (value is { } v) w.WriteElementString(name, v ? "true" : "false");
    }

    public static void Element(XmlWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteElementString(name, v.ToString(CultureInfo.InvariantCulture));
    }

    public static void Element(XmlWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteElementString(name, v.ToString("R", CultureInfo.InvariantCulture));
    }

    public static void Element(XmlWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } v) w.WriteElementString(name, Xml.Timestamp(v));
    }

    public static void Element(XmlWriter w, string name, byte[]? value)
    {
        if (value is not null) w.WriteElementString(name, Convert.ToBase64String(value));
    }

    /// <summary>An attribute of the element being written; a <c>prefix:name</c> is in <paramref name="ns"/>.</summary>
    public static void Attribute(XmlWriter w, string name, string? ns, string? value)
    {
        if (value is null) return;
        var colon = name.IndexOf(':');
        if (colon < 0) w.WriteAttributeString(name, value);
        else w.WriteAttributeString(name[..colon], name[(colon + 1)..], ns, value);
    }

    /// <summary>An attribute of a request's element, matched by its namespace when it has a prefix,
    /// else by its local name.</summary>
    public static string? Attribute(XElement e, string name, string? ns)
    {
        var local = name[(name.IndexOf(':') + 1)..];
        return (ns is null ? null : e.Attribute(XName.Get(local, ns)))?.Value
            ?? e.Attributes().FirstOrDefault(a => a.Name.LocalName == local)?.Value;
    }

    public static void Structure<T>(XmlWriter w, string name, T? value, Action<XmlWriter, T> members) where T : class
    {
        if (value is null) return;
        w.WriteStartElement(name);
        members(w, value);
        w.WriteEndElement();
    }

    public static void List<T>(XmlWriter w, string name, List<T>? items, string memberName, bool flattened, Action<XmlWriter, string, T> item)
    {
        if (items is null) return;
        if (flattened)
        {
            foreach (var x in items) item(w, name, x);
            return;
        }
        w.WriteStartElement(name);
        foreach (var x in items) item(w, memberName, x);
        w.WriteEndElement();
    }

    public static void Map<T>(XmlWriter w, string name, Dictionary<string, T>? map, string keyName, string valueName, Action<XmlWriter, string, T> value)
    {
        if (map is null) return;
        w.WriteStartElement(name);
        foreach (var (k, v) in map)
        {
            w.WriteStartElement("entry");
            w.WriteElementString(keyName, k);
            value(w, valueName, v);
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    // ---- reading (S3's request bodies): elements matched by local name, so a body with or
    // without S3's namespace reads the same; a value not of its member's type is MalformedXML ----

    public static XElement? Child(XElement parent, string name)
    {
        foreach (var e in parent.Elements())
            if (e.Name.LocalName == name) return e;
        return null;
    }

    public static string? String(XElement? e) => e?.Value;

    public static bool? Bool(XElement? e) => e is null ? null : e.Value.Trim() switch
    {
        "true" => true,
        "false" => false,
        _ => throw Malformed(),
    };

    public static int? Int(XElement? e) => e is null ? null : int.TryParse(e.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Malformed();

    public static long? Long(XElement? e) => e is null ? null : long.TryParse(e.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Malformed();

    public static double? Double(XElement? e) => e is null ? null : double.TryParse(e.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Malformed();

    public static DateTimeOffset? Timestamp(XElement? e)
        => e is null ? null : DateTimeOffset.TryParse(e.Value.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v) ? v : throw Malformed();

    public static byte[]? Blob(XElement? e)
    {
        if (e is null) return null;
        try { return Convert.FromBase64String(e.Value.Trim()); }
        catch (FormatException) { throw Malformed(); }
    }

    public static List<T>? ReadList<T>(XElement parent, string name, string memberName, bool flattened, Func<XElement, T> item)
    {
        if (flattened)
        {
            var items = parent.Elements().Where(e => e.Name.LocalName == name).Select(item).ToList();
            return items.Count == 0 ? null : items;
        }
        return Child(parent, name) is { } list ? list.Elements().Where(e => e.Name.LocalName == memberName).Select(item).ToList() : null;
    }

    public static AwsException Malformed()
        => new("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema");
}
