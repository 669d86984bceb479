using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Strata.Server.Protocol;
using Strata.Server.Services.Kms;

/// <summary>
/// The per-request cost of reading a KMS Encrypt request and writing its response: the generated
/// path (System.Text.Json source generation into typed records, the model's validation, typed
/// serialisation) against the hand-written path it replaced (a JsonDocument read member by member
/// with TryGetProperty, and a Utf8JsonWriter), reproduced here as it was before the change.
/// </summary>
[MemoryDiagnoser]
public class WireLayerBenchmarks
{
    readonly byte[] _request = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["KeyId"] = "alias/my-key",
        ["Plaintext"] = Convert.ToBase64String(new byte[256]),
        ["EncryptionContext"] = new Dictionary<string, string> { ["tenant"] = "a", ["purpose"] = "test" },
    }));

    readonly byte[] _ciphertext = new byte[320];
    const string Arn = "arn:aws:kms:us-east-1:123456789012:key/8f2d3c4b-1a2b-4c5d-9e8f-0123456789ab";

    [Benchmark(Baseline = true, Description = "KMS Encrypt, hand-written (JsonDocument + Utf8JsonWriter)")]
    public int HandWritten()
    {
        // Read: parse once, clone (the old parser kept the document past the request), read members.
        JsonElement input;
        using (var doc = JsonDocument.Parse(_request)) input = doc.RootElement.Clone();
        var keyId = String(input, "KeyId") ?? throw new InvalidOperationException();
        var plaintext = Convert.FromBase64String(String(input, "Plaintext")!);
        if (plaintext.Length is 0 or > 4096) throw new InvalidOperationException();
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (input.TryGetProperty("EncryptionContext", out var e))
            foreach (var p in e.EnumerateObject()) context[p.Name] = p.Value.GetString()!;
        if (String(input, "EncryptionAlgorithm") is { } a && a != "SYMMETRIC_DEFAULT") throw new InvalidOperationException();
        // Write.
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBase64String("CiphertextBlob", _ciphertext);
            json.WriteString("KeyId", Arn);
            json.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            json.WriteEndObject();
        }
        return buffer.WrittenCount + keyId.Length + context.Count;
    }

    [Benchmark(Description = "KMS Encrypt, generated (source-generated records + model validation)")]
    public int Generated()
    {
        var request = JsonSerializer.Deserialize(_request, KmsJson.Default.EncryptRequest)!;
        var validator = new Validator();
        request.Validate(validator);
        validator.ThrowIfInvalid("ValidationException");
        var body = JsonSerializer.SerializeToUtf8Bytes(new EncryptResponse { CiphertextBlob = _ciphertext, KeyId = Arn, EncryptionAlgorithm = "SYMMETRIC_DEFAULT" },
            KmsJson.Default.EncryptResponse);
        return body.Length + request.KeyId!.Length + request.EncryptionContext!.Count;
    }

    static string? String(JsonElement e, string member)
        => e.TryGetProperty(member, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
