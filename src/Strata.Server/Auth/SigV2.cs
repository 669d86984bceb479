using System.Security.Cryptography;
using System.Text;

namespace Strata.Server.Auth;

/// <summary>
/// S3's legacy signature (HMAC-SHA1, "AWS AKID:sig" header or AWSAccessKeyId/Signature/Expires
/// query). Still what `aws s3 presign` (CLI v1) generates for us-east-1, so S3 accepts it.
/// </summary>
public static class SigV2
{
    /// <summary>How policies name this signature (<c>s3:signatureversion</c>): the header's scheme.</summary>
    public const string Algorithm = "AWS";

    /// <summary>Sub-resources and response overrides that are part of the signed resource.</summary>
    static readonly HashSet<string> SignedSubresources =
    [
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle", "location",
        "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment",
        "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId",
        "versioning", "versions", "website", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "response-content-language", "response-content-type", "response-expires",
    ];

    public static string StringToSign(string method, string? contentMd5, string? contentType, string dateOrExpires,
        IEnumerable<KeyValuePair<string, string>> amzHeaders, string resourcePath, string rawQuery, string? alsoSigned = null)
    {
        var sb = new StringBuilder();
        sb.Append(method).Append('\n').Append(contentMd5).Append('\n').Append(contentType).Append('\n').Append(dateOrExpires).Append('\n');
        foreach (var (name, value) in amzHeaders.OrderBy(h => h.Key, StringComparer.Ordinal))
            sb.Append(name).Append(':').Append(value.Trim()).Append('\n');
        sb.Append(resourcePath);
        var subresources = new List<(string Name, string? Value)>();
        foreach (var part in rawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var name = eq < 0 ? part : part[..eq];
            if (!SignedSubresources.Contains(name) && name != alsoSigned) continue;
            subresources.Add((name, eq < 0 ? null : SigV4.PercentDecode(part[(eq + 1)..])));
        }
        if (subresources.Count > 0)
        {
            sb.Append('?').AppendJoin('&', subresources.OrderBy(s => s.Name, StringComparer.Ordinal)
                .Select(s => s.Value is null ? s.Name : s.Name + "=" + s.Value));
        }
        return sb.ToString();
    }

    public static string Sign(string secret, string stringToSign)
        => Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(stringToSign)));
}
