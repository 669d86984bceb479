using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Strata.Server.Protocol;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>
/// The requests and answers of the AWS SDK integrations whose service does not speak JSON: S3
/// (REST-XML: members in the path, query, headers and an XML or raw body) and SNS (Query: a form
/// in, XML out). A task's Parameters are the SDK's request members (PascalCase); its result is the
/// SDK's response object as Step Functions shows it (PascalCase members, numbers and booleans typed,
/// timestamps in ISO 8601). The request is sent as the service's clients send it, so it takes the
/// service's own routing, validation and authorization (<see cref="IInternalCalls.SendAsync"/>).
/// </summary>
public static class SdkWire
{
    // ---- SNS (Query) ----

    /// <summary>SNS's members that are maps, with the names of an entry's key and value on the wire
    /// (CreateTopic's and Subscribe's Attributes; Publish's MessageAttributes).</summary>
    static readonly Dictionary<string, (string Key, string Value)> SnsMaps = new(StringComparer.Ordinal)
    {
        ["Attributes"] = ("key", "value"),
        ["MessageAttributes"] = ("Name", "Value"),
    };

    /// <summary>SNS's answers' lists (wrapped in <c>member</c> elements; an empty one is an empty element).</summary>
    static readonly XmlShapes SnsShapes = new(
        Lists: new HashSet<string>(StringComparer.Ordinal) { "Topics", "Subscriptions", "Tags", "Successful", "Failed" },
        Flattened: new HashSet<string>(StringComparer.Ordinal),
        Integers: new HashSet<string>(StringComparer.Ordinal),
        Booleans: new HashSet<string>(StringComparer.Ordinal) { "SenderFault" },
        Timestamps: new HashSet<string>(StringComparer.Ordinal));

    /// <summary>An SNS request as botocore sends it: a form with Action, Version and the members
    /// flattened by the Query protocol's rules (<c>Tags.member.1.Key</c>, <c>Attributes.entry.1.key</c>).</summary>
    public static InternalHttpRequest SnsRequest(string operation, JsonNode? parameters)
    {
        var form = new List<KeyValuePair<string, string>> { new("Action", operation), new("Version", "2010-03-31") };
        if (parameters is JsonObject o)
            foreach (var (name, value) in o) Flatten(value, name, form);
        var body = string.Join('&', form.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
        return new("POST", "/", "", new Dictionary<string, string> { ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8" },
            Encoding.UTF8.GetBytes(body));
    }

    static void Flatten(JsonNode? node, string key, List<KeyValuePair<string, string>> form)
    {
        switch (node)
        {
            case null:
                return;
            case JsonObject map when SnsMaps.TryGetValue(key[(key.LastIndexOf('.') + 1)..], out var names):
                var i = 0;
                foreach (var (k, v) in map)
                {
                    i++;
                    form.Add(new($"{key}.entry.{i}.{names.Key}", k));
                    Flatten(v, $"{key}.entry.{i}.{names.Value}", form);
                }
                return;
            case JsonObject structure:
                foreach (var (k, v) in structure) Flatten(v, key + "." + k, form);
                return;
            case JsonArray list:
                // An empty list is sent as the bare name, as botocore sends it.
                if (list.Count == 0) form.Add(new(key, ""));
                for (var n = 0; n < list.Count; n++) Flatten(list[n], $"{key}.member.{n + 1}", form);
                return;
            default:
                form.Add(new(key, Scalar(node)));
                return;
        }
    }

    /// <summary>The members of the Query answer's <c>{Operation}Result</c>.</summary>
    public static JsonObject SnsAnswer(string operation, byte[] body)
    {
        if (body.Length == 0) return new JsonObject();
        var root = XDocument.Parse(Encoding.UTF8.GetString(body)).Root;
        var result = root?.Elements().FirstOrDefault(e => e.Name.LocalName == operation + "Result");
        return result is null ? new JsonObject() : Structure(result, SnsShapes);
    }

    // ---- S3 (REST-XML) ----

    enum Kind { String, Long, Bool, Time }

    /// <summary>S3's members that travel as headers, in requests and answers alike.</summary>
    static readonly (string Member, string Header, Kind Kind)[] S3Headers =
    [
        ("AcceptRanges", "accept-ranges", Kind.String), ("CacheControl", "Cache-Control", Kind.String),
        ("ContentDisposition", "Content-Disposition", Kind.String), ("ContentEncoding", "Content-Encoding", Kind.String),
        ("ContentLanguage", "Content-Language", Kind.String), ("ContentLength", "Content-Length", Kind.Long),
        ("ContentRange", "Content-Range", Kind.String), ("ContentType", "Content-Type", Kind.String), ("ContentMD5", "Content-MD5", Kind.String),
        ("ETag", "ETag", Kind.String), ("Expires", "Expires", Kind.Time), ("LastModified", "Last-Modified", Kind.Time),
        ("VersionId", "x-amz-version-id", Kind.String), ("DeleteMarker", "x-amz-delete-marker", Kind.Bool),
        ("ServerSideEncryption", "x-amz-server-side-encryption", Kind.String),
        ("SSEKMSKeyId", "x-amz-server-side-encryption-aws-kms-key-id", Kind.String),
        ("BucketKeyEnabled", "x-amz-server-side-encryption-bucket-key-enabled", Kind.Bool),
        ("StorageClass", "x-amz-storage-class", Kind.String), ("TagCount", "x-amz-tagging-count", Kind.Long),
        ("Tagging", "x-amz-tagging", Kind.String), ("Expiration", "x-amz-expiration", Kind.String),
        ("ObjectLockMode", "x-amz-object-lock-mode", Kind.String), ("ObjectLockRetainUntilDate", "x-amz-object-lock-retain-until-date", Kind.Time),
        ("ObjectLockLegalHoldStatus", "x-amz-object-lock-legal-hold", Kind.String),
        ("ChecksumCRC32", "x-amz-checksum-crc32", Kind.String), ("ChecksumCRC32C", "x-amz-checksum-crc32c", Kind.String),
        ("ChecksumSHA1", "x-amz-checksum-sha1", Kind.String), ("ChecksumSHA256", "x-amz-checksum-sha256", Kind.String),
        ("ChecksumMode", "x-amz-checksum-mode", Kind.String), ("MissingMeta", "x-amz-missing-meta", Kind.Long),
        ("WebsiteRedirectLocation", "x-amz-website-redirect-location", Kind.String),
        ("Range", "Range", Kind.String), ("IfMatch", "If-Match", Kind.String), ("IfNoneMatch", "If-None-Match", Kind.String),
        ("IfModifiedSince", "If-Modified-Since", Kind.Time), ("IfUnmodifiedSince", "If-Unmodified-Since", Kind.Time),
        ("ExpectedBucketOwner", "x-amz-expected-bucket-owner", Kind.String), ("RequestPayer", "x-amz-request-payer", Kind.String),
    ];

    /// <summary>The S3 operations served as <c>aws-sdk:s3:…</c>: the HTTP method, the members that go in
    /// the query string (with their wire names) and in headers, and the members of the answer that
    /// come from its headers.</summary>
    static readonly Dictionary<string, (string Method, Dictionary<string, string> Query, string[] RequestHeaders, string[] AnswerHeaders)> S3Operations =
        new(StringComparer.Ordinal)
        {
            ["GetObject"] = ("GET", new() { ["VersionId"] = "versionId", ["PartNumber"] = "partNumber" },
                ["Range", "IfMatch", "IfNoneMatch", "IfModifiedSince", "IfUnmodifiedSince", "ChecksumMode", "ExpectedBucketOwner", "RequestPayer"],
                ["AcceptRanges", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentLength", "ContentRange", "ContentType",
                    "ETag", "Expires", "LastModified", "VersionId", "DeleteMarker", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "StorageClass",
                    "TagCount", "Expiration", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus", "ChecksumCRC32", "ChecksumCRC32C",
                    "ChecksumSHA1", "ChecksumSHA256", "MissingMeta", "WebsiteRedirectLocation"]),
            ["HeadObject"] = ("HEAD", new() { ["VersionId"] = "versionId", ["PartNumber"] = "partNumber" },
                ["Range", "IfMatch", "IfNoneMatch", "IfModifiedSince", "IfUnmodifiedSince", "ChecksumMode", "ExpectedBucketOwner", "RequestPayer"],
                ["AcceptRanges", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentLength", "ContentType",
                    "ETag", "Expires", "LastModified", "VersionId", "DeleteMarker", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "StorageClass",
                    "Expiration", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus", "ChecksumCRC32", "ChecksumCRC32C",
                    "ChecksumSHA1", "ChecksumSHA256", "MissingMeta", "WebsiteRedirectLocation"]),
            ["PutObject"] = ("PUT", [],
                ["CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType", "ContentMD5", "Expires", "ServerSideEncryption",
                    "SSEKMSKeyId", "BucketKeyEnabled", "StorageClass", "Tagging", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus",
                    "ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256", "IfMatch", "IfNoneMatch", "WebsiteRedirectLocation",
                    "ExpectedBucketOwner", "RequestPayer"],
                ["ETag", "VersionId", "Expiration", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "ChecksumCRC32", "ChecksumCRC32C",
                    "ChecksumSHA1", "ChecksumSHA256"]),
            ["DeleteObject"] = ("DELETE", new() { ["VersionId"] = "versionId" }, ["ExpectedBucketOwner", "RequestPayer"], ["DeleteMarker", "VersionId"]),
            ["ListObjectsV2"] = ("GET", new()
            {
                ["Prefix"] = "prefix",
                ["Delimiter"] = "delimiter",
                ["MaxKeys"] = "max-keys",
                ["ContinuationToken"] = "continuation-token",
                ["StartAfter"] = "start-after",
                ["FetchOwner"] = "fetch-owner",
                ["EncodingType"] = "encoding-type",
            }, ["ExpectedBucketOwner", "RequestPayer"], []),
        };

    static readonly XmlShapes S3Shapes = new(
        Lists: new HashSet<string>(StringComparer.Ordinal),
        Flattened: new HashSet<string>(StringComparer.Ordinal) { "Contents", "CommonPrefixes" },
        Integers: new HashSet<string>(StringComparer.Ordinal) { "MaxKeys", "KeyCount", "Size" },
        Booleans: new HashSet<string>(StringComparer.Ordinal) { "IsTruncated" },
        Timestamps: new HashSet<string>(StringComparer.Ordinal) { "LastModified" });

    public static bool ServesS3(string operation) => S3Operations.ContainsKey(operation);

    /// <summary>AWS's bound on a task's result (256 KiB of UTF-8 JSON).</summary>
    const int MaxResult = 262144;

    /// <summary>An S3 request as the SDK sends it (path style): <c>Bucket</c> and <c>Key</c> in the path,
    /// the operation's query and header members, <c>Metadata</c> as <c>x-amz-meta-*</c>, and PutObject's
    /// <c>Body</c> (a string; other JSON is stored as its text).</summary>
    public static InternalHttpRequest S3Request(string operation, JsonNode? parameters, string resource)
    {
        var op = S3Operations[operation];
        var members = parameters as JsonObject ?? [];
        string Required(string name) => members[name] is { } value && value.GetValueKind() == System.Text.Json.JsonValueKind.String
            ? value.GetValue<string>()
            : throw new StatesError("States.Runtime", $"The task '{resource}' needs the parameter {name}, a string.");
        var path = "/" + Uri.EscapeDataString(Required("Bucket"));
        if (operation != "ListObjectsV2") path += "/" + string.Join('/', Required("Key").Split('/').Select(Uri.EscapeDataString));
        var query = new List<string>();
        if (operation == "ListObjectsV2") query.Add("list-type=2");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        byte[] body = [];
        foreach (var (name, value) in members)
        {
            if (name is "Bucket" or "Key" || value is null) continue;
            if (op.Query.TryGetValue(name, out var wire)) query.Add(Uri.EscapeDataString(wire) + "=" + Uri.EscapeDataString(Scalar(value)));
            else if (op.RequestHeaders.Contains(name))
            {
                var (_, header, kind) = S3Headers.First(h => h.Member == name);
                headers[header] = kind == Kind.Time ? HttpDate(Scalar(value)) : Scalar(value);
            }
            else if (name == "Metadata" && operation == "PutObject" && value is JsonObject metadata)
                foreach (var (k, v) in metadata) headers["x-amz-meta-" + k] = v is null ? "" : Scalar(v);
            else if (name == "Body" && operation == "PutObject")
                body = Encoding.UTF8.GetBytes(value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
            else
                throw new StatesError("States.Runtime", $"The task '{resource}' has the parameter {name}, which Strata does not pass to S3's {operation}.");
        }
        // A body larger than a task's result may be fails the task (States.DataLimitExceeded) whatever
        // its size: reading more than one byte over the bound would only take memory.
        return new(op.Method, path, string.Join('&', query), headers, body, MaxResult + 1);
    }

    /// <summary>The SDK's response: the operation's header members, <c>Metadata</c> from
    /// <c>x-amz-meta-*</c>, GetObject's <c>Body</c> as a string (as Step Functions gives it), and
    /// ListObjectsV2's XML members.</summary>
    public static JsonObject S3Answer(string operation, InternalHttpResult result)
    {
        var op = S3Operations[operation];
        var answer = new JsonObject();
        if (operation == "GetObject") answer["Body"] = Encoding.UTF8.GetString(result.Body);
        foreach (var member in op.AnswerHeaders)
        {
            var (_, header, kind) = S3Headers.First(h => h.Member == member);
            if (!result.Headers.TryGetValue(header, out var text) || text.Length == 0) continue;
            answer[member] = kind switch
            {
                Kind.Long when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
                Kind.Bool => text.Equals("true", StringComparison.OrdinalIgnoreCase),
                Kind.Time when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) => Iso(t),
                _ => text,
            };
        }
        if (operation is "GetObject" or "HeadObject")
        {
            var metadata = new JsonObject();
            foreach (var (name, value) in result.Headers)
                if (name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase)) metadata[name["x-amz-meta-".Length..].ToLowerInvariant()] = value;
            answer["Metadata"] = metadata;
        }
        if (operation == "ListObjectsV2" && result.Body.Length > 0 && XDocument.Parse(Encoding.UTF8.GetString(result.Body)).Root is { } root)
            foreach (var (name, value) in Structure(root, S3Shapes).ToList()) answer[name] = value?.DeepClone();
        return answer;
    }

    // ---- XML answers as JSON ----

    /// <summary>What the XML of an answer does not say by itself: which elements are lists (wrapped in
    /// <c>member</c>s, or flattened: the element repeated) and which text is a number, a boolean or a time.</summary>
    sealed record XmlShapes(IReadOnlySet<string> Lists, IReadOnlySet<string> Flattened, IReadOnlySet<string> Integers, IReadOnlySet<string> Booleans,
        IReadOnlySet<string> Timestamps);

    static JsonObject Structure(XElement element, XmlShapes shapes)
    {
        var o = new JsonObject();
        foreach (var child in element.Elements())
        {
            var name = child.Name.LocalName;
            if (name == "ResponseMetadata") continue;
            if (shapes.Flattened.Contains(name))
            {
                if (o[name] is not JsonArray list) o[name] = list = [];
                list.Add(Value(child, shapes));
            }
            else o[name] = Value(child, shapes);
        }
        return o;
    }

    static JsonNode? Value(XElement e, XmlShapes shapes)
    {
        var name = e.Name.LocalName;
        if (shapes.Lists.Contains(name)) return new JsonArray(e.Elements().Select(m => Value(m, shapes)).ToArray());
        if (e.HasElements && e.Elements().All(x => x.Name.LocalName == "entry"))
        {
            var map = new JsonObject();
            foreach (var entry in e.Elements())
                if (entry.Elements().ToList() is [var key, var value]) map[key.Value] = Value(value, shapes);
            return map;
        }
        if (e.HasElements) return Structure(e, shapes);
        var text = e.Value;
        if (shapes.Integers.Contains(name) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) return n;
        if (shapes.Booleans.Contains(name)) return text.Equals("true", StringComparison.OrdinalIgnoreCase);
        if (shapes.Timestamps.Contains(name) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            return Iso(t);
        return text;
    }

    // ---- scalars ----

    /// <summary>A JSON scalar as the wire's text: strings as they are, numbers as written, booleans in lower case.</summary>
    static string Scalar(JsonNode node) => node.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => node.GetValue<string>(),
        System.Text.Json.JsonValueKind.True => "true",
        System.Text.Json.JsonValueKind.False => "false",
        _ => node.ToJsonString(),
    };

    /// <summary>A timestamp as the SDK's objects show one in Step Functions (ISO 8601, UTC).</summary>
    static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    static string HttpDate(string text) => DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
        ? t.UtcDateTime.ToString("R", CultureInfo.InvariantCulture)
        : text;
}
