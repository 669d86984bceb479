using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Strata.Server.Auth;

/// <summary>
/// The arithmetic of AWS Signature Version 4: canonical request, string to sign, signing key and
/// signature. Pure functions (plus a signing-key cache); what to verify lives in
/// <see cref="SigV4Authenticator"/>.
/// </summary>
public static class SigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    public const string TimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    static readonly ConcurrentDictionary<(string Secret, string Date, string Region, string Service), byte[]> KeyCache = new();

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
    /// Cached: a key is valid for a day and every request of that day reuses it.</summary>
    public static byte[] SigningKey(string secret, string date, string region, string service)
    {
        if (KeyCache.TryGetValue((secret, date, region, service), out var cached)) return cached;
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        if (KeyCache.Count > 10_000) KeyCache.Clear();
        KeyCache[(secret, date, region, service)] = key;
        return key;
    }

    public static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static string Sha256Hex(ReadOnlySpan<byte> data) => Hex(SHA256.HashData(data));

    public static string Sha256Hex(string data) => Sha256Hex(Encoding.UTF8.GetBytes(data));

    public static string StringToSign(string amzDate, string scope, string canonicalRequest)
        => $"{Algorithm}\n{amzDate}\n{scope}\n{Sha256Hex(canonicalRequest)}";

    public static string Sign(byte[] signingKey, string stringToSign) => Hex(Hmac(signingKey, stringToSign));

    public static string CanonicalRequest(string method, string canonicalUri, string canonicalQuery,
        IReadOnlyList<(string Name, string Value)> headers, string signedHeaders, string payloadHash)
    {
        var sb = new StringBuilder(256);
        sb.Append(method).Append('\n').Append(canonicalUri).Append('\n').Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in headers) sb.Append(name).Append(':').Append(value).Append('\n');
        sb.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);
        return sb.ToString();
    }

    /// <summary>
    /// The canonical URI of a request path as sent. S3 signs the path encoded once (each segment
    /// URI-encoded, '/' kept); every other service signs the already-encoded path encoded again.
    /// </summary>
    public static string CanonicalUri(string rawPath, bool s3)
    {
        if (rawPath.Length == 0) return "/";
        return s3 ? UriEncode(PercentDecode(rawPath), encodeSlash: false) : UriEncode(rawPath, encodeSlash: false);
    }

    /// <summary>Query parameters decoded, re-encoded strictly, sorted by name then value;
    /// <paramref name="exclude"/> (the presigned signature) left out.</summary>
    public static string CanonicalQuery(string rawQuery, string? exclude = null)
    {
        if (rawQuery.Length == 0) return "";
        var pairs = new List<(string Name, string Value)>();
        foreach (var part in rawQuery.Split('&'))
        {
            if (part.Length == 0) continue;
            var eq = part.IndexOf('=');
            var name = PercentDecode(eq < 0 ? part : part[..eq]);
            if (name == exclude) continue;
            var value = eq < 0 ? "" : PercentDecode(part[(eq + 1)..]);
            pairs.Add((UriEncode(name, true), UriEncode(value, true)));
        }
        pairs.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name) is var c && c != 0 ? c : string.CompareOrdinal(a.Value, b.Value));
        return string.Join('&', pairs.Select(p => p.Name + "=" + p.Value));
    }

    /// <summary>Header value as SigV4 canonicalizes it: trimmed, runs of spaces made one.</summary>
    public static string CanonicalHeaderValue(string value)
    {
        value = value.Trim();
        if (!value.Contains("  ", StringComparison.Ordinal)) return value;
        var sb = new StringBuilder(value.Length);
        var space = false;
        foreach (var c in value)
        {
            if (c == ' ')
            {
                if (!space) sb.Append(c);
                space = true;
            }
            else
            {
                sb.Append(c);
                space = false;
            }
        }
        return sb.ToString();
    }

    /// <summary>RFC 3986 encoding as SigV4 defines it: unreserved characters kept, every other
    /// UTF-8 byte as %XX in upper-case hex.</summary>
    public static string UriEncode(string value, bool encodeSlash)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var sb = new StringBuilder(bytes.Length + 16);
        foreach (var b in bytes)
        {
            var c = (char)b;
            if (c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.' or '~' || (c == '/' && !encodeSlash))
                sb.Append(c);
            else
                sb.Append('%').Append(HexUpper[b >> 4]).Append(HexUpper[b & 15]);
        }
        return sb.ToString();
    }

    const string HexUpper = "0123456789ABCDEF";

    /// <summary>Percent-decoding that leaves '+' alone (SigV4 clients encode spaces as %20) and
    /// keeps malformed escapes literally rather than failing.</summary>
    public static string PercentDecode(string value)
    {
        if (!value.Contains('%')) return value;
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                bytes.Add(Convert.ToByte(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    /// <summary>SigV4 signature of one aws-chunked chunk.</summary>
    public static string ChunkSignature(byte[] signingKey, string amzDate, string scope, string previousSignature, string chunkSha256Hex)
        => Sign(signingKey, $"AWS4-HMAC-SHA256-PAYLOAD\n{amzDate}\n{scope}\n{previousSignature}\n{EmptySha256}\n{chunkSha256Hex}");

    /// <summary>SigV4 signature of the trailing headers of an aws-chunked body.</summary>
    public static string TrailerSignature(byte[] signingKey, string amzDate, string scope, string previousSignature, string trailerSha256Hex)
        => Sign(signingKey, $"AWS4-HMAC-SHA256-TRAILER\n{amzDate}\n{scope}\n{previousSignature}\n{trailerSha256Hex}");
}
