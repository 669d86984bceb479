using System.Xml;

namespace Strata.Server.Protocol;

/// <summary>
/// The text every wire format can carry. XML 1.0 has no way to write most control characters
/// (U+0000–U+001F but tab, LF and CR; U+FFFE, U+FFFF) nor a lone surrogate, not even as a
/// character reference, and UTF-8 (JSON's encoding) has none for a lone surrogate: each is
/// replaced by U+FFFD, as a decoder replaces bytes it cannot read. A value that reaches a
/// response this way (an error message echoing the input, a stored name no pattern refused)
/// is written, never the reason a response fails.
/// </summary>
public static class WireText
{
    public const char Replacement = '\uFFFD';

    /// <summary><paramref name="text"/> with what XML 1.0 cannot carry replaced; the same
    /// instance when there is nothing to replace (the common case allocates nothing).</summary>
    public static string ForXml(string text)
    {
        var bad = FirstInvalid(text, xml: true);
        return bad < 0 ? text : Replace(text, bad, xml: true);
    }

    /// <summary><paramref name="text"/> with lone surrogates replaced (JSON escapes control
    /// characters itself).</summary>
    public static string ForJson(string text)
    {
        var bad = FirstInvalid(text, xml: false);
        return bad < 0 ? text : Replace(text, bad, xml: false);
    }

    static int FirstInvalid(string text, bool xml)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x20)
            {
                if (xml && c is not ('\t' or '\n' or '\r')) return i;
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
                else return i;
            }
            else if (char.IsLowSurrogate(c) || (xml && c is '\uFFFE' or '\uFFFF')) return i;
        }
        return -1;
    }

    static string Replace(string text, int from, bool xml)
    {
        var chars = text.ToCharArray();
        for (var i = from; i < chars.Length; i++)
        {
            var c = chars[i];
            if (c < 0x20)
            {
                if (xml && c is not ('\t' or '\n' or '\r')) chars[i] = Replacement;
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
                else chars[i] = Replacement;
            }
            else if (char.IsLowSurrogate(c) || (xml && c is '\uFFFE' or '\uFFFF')) chars[i] = Replacement;
        }
        return new string(chars);
    }
}

/// <summary>
/// The XmlWriter every response document is written with (<see cref="Xml.Document"/>): text
/// and attribute values pass through <see cref="WireText.ForXml"/>, so that no stored or echoed
/// value can make writing a response throw; everything else goes to the inner writer as is.
/// </summary>
sealed class SafeXmlWriter(XmlWriter inner) : XmlWriter
{
    public override WriteState WriteState => inner.WriteState;
    public override XmlWriterSettings? Settings => inner.Settings;
    public override void Flush() => inner.Flush();
    public override string? LookupPrefix(string ns) => inner.LookupPrefix(ns);
    public override void WriteBase64(byte[] buffer, int index, int count) => inner.WriteBase64(buffer, index, count);
    public override void WriteCData(string? text) => inner.WriteCData(text is null ? null : WireText.ForXml(text));
    public override void WriteCharEntity(char ch) => inner.WriteString(WireText.ForXml(ch.ToString()));
    public override void WriteChars(char[] buffer, int index, int count) => WriteString(new string(buffer, index, count));
    public override void WriteComment(string? text) => inner.WriteComment(text is null ? null : WireText.ForXml(text));
    public override void WriteDocType(string name, string? pubid, string? sysid, string? subset) => inner.WriteDocType(name, pubid, sysid, subset);
    public override void WriteEndAttribute() => inner.WriteEndAttribute();
    public override void WriteEndDocument() => inner.WriteEndDocument();
    public override void WriteEndElement() => inner.WriteEndElement();
    public override void WriteEntityRef(string name) => inner.WriteEntityRef(name);
    public override void WriteFullEndElement() => inner.WriteFullEndElement();
    public override void WriteProcessingInstruction(string name, string? text) => inner.WriteProcessingInstruction(name, text);
    public override void WriteRaw(char[] buffer, int index, int count) => inner.WriteRaw(buffer, index, count);
    public override void WriteRaw(string data) => inner.WriteRaw(data);
    public override void WriteStartAttribute(string? prefix, string localName, string? ns) => inner.WriteStartAttribute(prefix, localName, ns);
    public override void WriteStartDocument() => inner.WriteStartDocument();
    public override void WriteStartDocument(bool standalone) => inner.WriteStartDocument(standalone);
    public override void WriteStartElement(string? prefix, string localName, string? ns) => inner.WriteStartElement(prefix, localName, ns);
    public override void WriteString(string? text) => inner.WriteString(text is null ? null : WireText.ForXml(text));
    public override void WriteSurrogateCharEntity(char lowChar, char highChar) => inner.WriteSurrogateCharEntity(lowChar, highChar);
    public override void WriteWhitespace(string? ws) => inner.WriteWhitespace(ws);

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
