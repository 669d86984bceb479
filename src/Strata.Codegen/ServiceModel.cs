using System.IO.Compression;
using System.Text.Json;

namespace Strata.Codegen;

/// <summary>
/// One botocore service model (<c>data/&lt;service&gt;/&lt;version&gt;/service-2.json[.gz]</c>), read
/// as it is: the metadata, the operations and the shapes. Only what the generator needs is
/// interpreted; the rest stays in the JSON.
/// </summary>
sealed class ServiceModel
{
    public required string Service { get; init; }
    public required string ApiVersion { get; init; }
    public required string Protocol { get; init; }
    /// <summary>Every protocol the service speaks (<c>metadata.protocols</c>; CloudWatch: RPC v2 CBOR,
    /// JSON 1.0 and Query), its first one when the model lists none.</summary>
    public required IReadOnlyList<string> Protocols { get; init; }
    public string? TargetPrefix { get; init; }
    public string? XmlNamespace { get; init; }
    public required Dictionary<string, JsonElement> Operations { get; init; }
    public required Dictionary<string, JsonElement> Shapes { get; init; }

    /// <summary>The newest model of <paramref name="service"/> under botocore's data folder.</summary>
    public static ServiceModel Load(string dataRoot, string service)
    {
        var serviceDir = Path.Combine(dataRoot, service);
        if (!Directory.Exists(serviceDir)) throw new FileNotFoundException($"no botocore model for {service} under {dataRoot}");
        var version = Directory.GetDirectories(serviceDir).Select(Path.GetFileName).OfType<string>()
            .Where(v => File.Exists(Path.Combine(serviceDir, v, "service-2.json")) || File.Exists(Path.Combine(serviceDir, v, "service-2.json.gz")))
            .Max(StringComparer.Ordinal) ?? throw new FileNotFoundException($"no service-2.json for {service}");
        var plain = Path.Combine(serviceDir, version, "service-2.json");
        using var stream = File.Exists(plain) ? File.OpenRead(plain) : (Stream)new GZipStream(File.OpenRead(plain + ".gz"), CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement.Clone();
        var metadata = root.GetProperty("metadata");
        return new ServiceModel
        {
            Service = service,
            ApiVersion = metadata.GetProperty("apiVersion").GetString()!,
            Protocol = metadata.GetProperty("protocol").GetString()!,
            Protocols = metadata.TryGetProperty("protocols", out var ps) ? ps.EnumerateArray().Select(p => p.GetString()!).ToList() : [metadata.GetProperty("protocol").GetString()!],
            TargetPrefix = metadata.TryGetProperty("targetPrefix", out var t) ? t.GetString() : null,
            XmlNamespace = metadata.TryGetProperty("xmlNamespace", out var x) ? x.GetString() : null,
            Operations = root.GetProperty("operations").EnumerateObject().ToDictionary(p => p.Name, p => p.Value),
            Shapes = root.GetProperty("shapes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value),
        };
    }

    public JsonElement Shape(string name) => Shapes.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"{Service}: no shape {name}");

    public static string Type(JsonElement shape) => shape.GetProperty("type").GetString()!;

    public static string? Str(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Flag(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}

/// <summary>The generator's input: which operations of which service to generate, and where.
/// <paramref name="CommonErrors"/>: errors common to AWS services (ValidationException…) that the
/// service answers without its model declaring them, given factories beside the declared ones.
/// <paramref name="OwnValueChecks"/>: members (<c>Structure.Member</c>) whose values the service
/// checks itself because Strata accepts another set than the model (its instance types); the
/// generated validation keeps their required check and skips their value checks.</summary>
sealed record ServiceList(string Model, string Namespace, string Prefix, string Output, List<string> Operations,
    List<string>? CommonErrors = null, List<string>? OwnValueChecks = null)
{
    public static List<ServiceList> Load(string path)
        => JsonSerializer.Deserialize<List<ServiceList>>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip })
           ?? throw new InvalidDataException($"{path} is empty");
}
