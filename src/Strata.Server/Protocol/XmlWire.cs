using System.Globalization;
using System.Xml;

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
}
