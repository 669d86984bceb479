using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Strata.Server.Services.Events;

/// <summary>One condition of a pattern's leaf array, tested against the leaf values the event has at
/// that field (none when the field is absent).</summary>
abstract class PatternCondition
{
    /// <summary>Most conditions hold when one of the values satisfies them; exists looks at all.</summary>
    public virtual bool Matches(List<JsonElement> values) => values.Exists(Test);

    protected abstract bool Test(JsonElement value);

    protected static string? StringOf(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

sealed class ExistsCondition(bool exists) : PatternCondition
{
    public override bool Matches(List<JsonElement> values) => values.Count > 0 == exists;

    protected override bool Test(JsonElement value) => exists;
}

sealed class ExactString(string expected) : PatternCondition
{
    protected override bool Test(JsonElement value) => StringOf(value) == expected;
}

/// <summary>An exact value that is an IP address matches the same address however it is written.</summary>
sealed class ExactAddress(byte[] address) : PatternCondition
{
    protected override bool Test(JsonElement value)
        => StringOf(value) is { } text && IpAddresses.TryParse(text) is { } actual && actual.AsSpan().SequenceEqual(address);
}

/// <summary>An exact number matches an equal number (300 matches 3.0e2) where both are within AWS's
/// numeric range and precision, and otherwise the same number text (an account number, say).</summary>
sealed class ExactNumber(string text) : PatternCondition
{
    readonly long? _value = ComparableNumber.TryParse(text, out var value) == null ? value : null;

    protected override bool Test(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number) return false;
        var raw = value.GetRawText();
        if (raw == text) return true;
        return _value is { } expected && ComparableNumber.TryParse(raw, out var actual) == null && actual == expected;
    }
}

sealed class ExactLiteral(JsonValueKind kind) : PatternCondition
{
    protected override bool Test(JsonElement value) => value.ValueKind == kind;
}

sealed class PrefixCondition(string prefix, bool ignoreCase) : PatternCondition
{
    protected override bool Test(JsonElement value)
        => StringOf(value) is { } text && text.StartsWith(prefix, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}

sealed class SuffixCondition(string suffix, bool ignoreCase) : PatternCondition
{
    protected override bool Test(JsonElement value)
        => StringOf(value) is { } text && text.EndsWith(suffix, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}

sealed class EqualsIgnoreCaseCondition(string expected) : PatternCondition
{
    protected override bool Test(JsonElement value) => StringOf(value) is { } text && string.Equals(text, expected, StringComparison.OrdinalIgnoreCase);
}

sealed class WildcardCondition(Wildcard wildcard) : PatternCondition
{
    protected override bool Test(JsonElement value) => StringOf(value) is { } text && wildcard.Matches(text);
}

/// <summary>A numeric range over AWS's comparable numbers (millionths); only JSON numbers within
/// AWS's range and precision can fall inside one.</summary>
sealed class NumericRange(long bottom, bool openBottom, long top, bool openTop) : PatternCondition
{
    protected override bool Test(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || ComparableNumber.TryParse(value.GetRawText(), out var x) != null) return false;
        return (openBottom ? x > bottom : x >= bottom) && (openTop ? x < top : x <= top);
    }
}

/// <summary>An inclusive range of addresses of one family, as AWS builds it from a CIDR: from the
/// address as written to that address with every host bit set.</summary>
sealed class CidrCondition(byte[] bottom, byte[] top) : PatternCondition
{
    protected override bool Test(JsonElement value)
    {
        if (StringOf(value) is not { } text || IpAddresses.TryParse(text) is not { } address || address.Length != bottom.Length) return false;
        return address.AsSpan().SequenceCompareTo(bottom) >= 0 && address.AsSpan().SequenceCompareTo(top) <= 0;
    }
}

/// <summary>anything-but: any leaf value (null, booleans and other types included) that none of the
/// exclusions covers. A missing field has no value, so it never matches.</summary>
sealed class AnythingBut(Func<JsonElement, bool> excluded) : PatternCondition
{
    protected override bool Test(JsonElement value) => !excluded(value);

    public static AnythingBut Values(HashSet<string> strings, HashSet<long> numbers) => new(value => value.ValueKind switch
    {
        JsonValueKind.String => strings.Contains(value.GetString()!),
        JsonValueKind.Number => ComparableNumber.TryParse(value.GetRawText(), out var n) == null && numbers.Contains(n),
        _ => false,
    });

    public static AnythingBut OfStrings(Func<string, bool> excludedText) => new(value => StringOf(value) is { } text && excludedText(text));
}

/// <summary>AWS's comparable numbers: exact decimals within ±5e9 with at most six decimal places,
/// held as millionths.</summary>
static class ComparableNumber
{
    const long Limit = 5_000_000_000L * 1_000_000L;

    /// <summary>Parses JSON number text; answers null and the value in millionths, or AWS's reason
    /// why the number cannot be compared.</summary>
    public static string? TryParse(string text, out long millionths)
    {
        millionths = 0;
        if (!TryDecompose(text, out var digits, out var exponent)) return RangeMessage;
        (digits, exponent) = StripTrailingZeros(digits, exponent);
        if (exponent < -6) return DecimalsMessage(text, digits, exponent);
        if (digits.IsZero) return null;
        if (exponent > 18) return RangeMessage;
        var scaled = digits * BigInteger.Pow(10, exponent + 6);
        if (BigInteger.Abs(scaled) > Limit) return RangeMessage;
        millionths = (long)scaled;
        return null;
    }

    public const string RangeMessage = "Value must be between -5.0E9 and 5.0E9, inclusive";

    /// <summary>Splits JSON number text into an integer of its digits and a power of ten.</summary>
    static bool TryDecompose(string text, out BigInteger digits, out int exponent)
    {
        digits = BigInteger.Zero;
        exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        var mantissa = e < 0 ? text : text[..e];
        if (e >= 0 && !int.TryParse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)) return false;
        var dot = mantissa.IndexOf('.');
        if (dot >= 0)
        {
            exponent -= mantissa.Length - dot - 1;
            mantissa = mantissa.Remove(dot, 1);
        }
        // Bound the work: a pattern is at most a few KB, and beyond these sizes no number compares.
        if (mantissa.Length > 400 || exponent is > 10_000 or < -10_000) return false;
        return BigInteger.TryParse(mantissa, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out digits);
    }

    static (BigInteger Digits, int Exponent) StripTrailingZeros(BigInteger digits, int exponent)
    {
        if (digits.IsZero) return (digits, 0);
        while (digits % 10 == 0)
        {
            digits /= 10;
            exponent++;
        }
        return (digits, exponent);
    }

    /// <summary>AWS's message for a number with more than six decimal places, which quotes the number
    /// as Java's BigDecimal prints it and the double it rounds to in Java's hexadecimal form.</summary>
    static string DecimalsMessage(string text, BigInteger digits, int exponent)
    {
        var rounded = RoundToSixPlaces(digits, -exponent);
        var asDouble = double.Parse(rounded, NumberStyles.Float, CultureInfo.InvariantCulture);
        return $"Only values upto 6 decimals are supported{JavaDecimalString(digits, -exponent)} {text} {JavaHexString(asDouble)}";
    }

    static string RoundToSixPlaces(BigInteger digits, int scale)
    {
        var divisor = BigInteger.Pow(10, scale - 6);
        var quotient = BigInteger.DivRem(BigInteger.Abs(digits), divisor, out var remainder);
        if (remainder * 2 >= divisor) quotient++;
        var sign = digits.Sign < 0 ? "-" : "";
        return $"{sign}{quotient.ToString(CultureInfo.InvariantCulture)}E-6";
    }

    /// <summary>Java's BigDecimal.toString for an unscaled value and a positive scale.</summary>
    static string JavaDecimalString(BigInteger unscaled, int scale)
    {
        var sign = unscaled.Sign < 0 ? "-" : "";
        var coefficient = BigInteger.Abs(unscaled).ToString(CultureInfo.InvariantCulture);
        var adjusted = -(long)scale + (coefficient.Length - 1);
        if (adjusted >= -6)
        {
            var padded = coefficient.PadLeft(scale + 1, '0');
            return $"{sign}{padded[..^scale]}.{padded[^scale..]}";
        }
        var mantissa = coefficient.Length > 1 ? $"{coefficient[0]}.{coefficient[1..]}" : coefficient;
        return $"{sign}{mantissa}E{adjusted.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>Java's Double.toHexString.</summary>
    static string JavaHexString(double d)
    {
        var bits = BitConverter.DoubleToInt64Bits(d);
        var sign = bits < 0 ? "-" : "";
        var biased = (int)((bits >> 52) & 0x7FF);
        var fraction = bits & 0xFFFFFFFFFFFFFL;
        if (biased == 0 && fraction == 0) return $"{sign}0x0.0p0";
        var hex = fraction.ToString("x13", CultureInfo.InvariantCulture).TrimEnd('0');
        if (hex.Length == 0) hex = "0";
        return biased == 0 ? $"{sign}0x0.{hex}p-1022" : $"{sign}0x1.{hex}p{(biased - 1023).ToString(CultureInfo.InvariantCulture)}";
    }
}

/// <summary>IP address literals as AWS reads them: only text shaped like dotted IPv4 or like IPv6 is
/// an address; IPv4 octets are decimal (no octal), and each answer is 4 or 16 bytes.</summary>
static partial class IpAddresses
{
    [GeneratedRegex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$")]
    private static partial Regex Ipv4Shape();

    [GeneratedRegex("^[0-9a-fA-F:]*:[0-9a-fA-F:]*$")]
    private static partial Regex Ipv6Shape();

    public static bool LooksLikeAddress(string text) => Ipv4Shape().IsMatch(text) || Ipv6Shape().IsMatch(text);

    /// <summary>The address's bytes, or null when the text is not an address.</summary>
    public static byte[]? TryParse(string text)
    {
        if (Ipv4Shape().IsMatch(text))
        {
            var parts = text.Split('.');
            var bytes = new byte[4];
            for (var i = 0; i < 4; i++)
            {
                if (parts[i].Length > 10 || !long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var octet) || octet > 255) return null;
                bytes[i] = (byte)octet;
            }
            return bytes;
        }
        if (Ipv6Shape().IsMatch(text) && System.Net.IPAddress.TryParse(text, out var address)
            && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.GetAddressBytes();
        }
        return null;
    }

    /// <summary>Reads a CIDR as AWS does; throws with AWS's reason (which carries no position).</summary>
    public static CidrCondition ParseCidr(string cidr)
    {
        // Java's String.split drops trailing empty parts: "10.0.0.0/" has one part.
        var parts = cidr.Split('/').ToList();
        while (parts.Count > 0 && parts[^1].Length == 0) parts.RemoveAt(parts.Count - 1);
        if (parts.Count != 2) throw new InvalidEventPatternException("Malformed CIDR, one '/' required");
        if (!int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var maskBits))
            throw new InvalidEventPatternException("Malformed CIDR, mask bits must be an integer");
        if (maskBits < 0) throw new InvalidEventPatternException("Malformed CIDR, mask bits must not be negative");
        var ip = ParseAddress(parts[0]);
        if (ip.Length == 4 && maskBits > 31) throw new InvalidEventPatternException("IPv4 mask bits must be < 32");
        if (ip.Length == 16 && maskBits > 127) throw new InvalidEventPatternException("IPv6 mask bits must be < 128");
        var top = (byte[])ip.Clone();
        var hostBits = ip.Length * 8 - maskBits;
        for (var i = top.Length - 1; i >= 0 && hostBits > 0; i--, hostBits -= 8)
            top[i] |= (byte)(hostBits >= 8 ? 0xFF : (1 << hostBits) - 1);
        return new CidrCondition(ip, top);
    }

    static byte[] ParseAddress(string text)
    {
        if (!LooksLikeAddress(text)) throw new InvalidEventPatternException($"Nonstandard IP address: {text}");
        return TryParse(text) ?? throw new InvalidEventPatternException($"Invalid IP address: {text}");
    }
}

/// <summary>A wildcard value: '*' matches any run of characters (none included); "\*" is a literal
/// asterisk and "\\" a literal backslash.</summary>
sealed class Wildcard
{
    readonly string[] _pieces;

    Wildcard(string[] pieces) => _pieces = pieces;

    /// <summary>Parses a wildcard value; answers AWS's reason when it is refused. Positions count
    /// UTF-8 bytes of the value within quotes, as AWS's parser reports them.</summary>
    public static Wildcard Parse(string value, out string? error)
    {
        error = null;
        var quoted = Encoding.UTF8.GetBytes("\"" + value + "\"");
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '*' && i + 1 < quoted.Length && quoted[i + 1] == '*')
            {
                error = $"Consecutive wildcard characters at pos {i}";
                break;
            }
            if (quoted[i] == '\\')
            {
                if (i + 1 < quoted.Length && quoted[i + 1] is (byte)'*' or (byte)'\\')
                {
                    i++;
                    continue;
                }
                error = $"Invalid escape character at pos {i}";
                break;
            }
        }
        var pieces = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                current.Append(value[++i]);
            }
            else if (value[i] == '*')
            {
                pieces.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(value[i]);
            }
        }
        pieces.Add(current.ToString());
        return new Wildcard([.. pieces]);
    }

    /// <summary>Pieces are the literal runs between stars: the first anchors the start, the last the
    /// end, and each one between is found leftmost, which never loses a match.</summary>
    public bool Matches(string text)
    {
        if (_pieces.Length == 1) return text == _pieces[0];
        var first = _pieces[0];
        var last = _pieces[^1];
        if (text.Length < first.Length + last.Length || !text.StartsWith(first, StringComparison.Ordinal)
            || !text.EndsWith(last, StringComparison.Ordinal)) return false;
        var position = first.Length;
        var end = text.Length - last.Length;
        for (var i = 1; i < _pieces.Length - 1; i++)
        {
            var found = text.IndexOf(_pieces[i], position, end - position, StringComparison.Ordinal);
            if (found < 0) return false;
            position = found + _pieces[i].Length;
        }
        return true;
    }
}
