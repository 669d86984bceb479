using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Strata.Server.Jobs.Trail;

/// <summary>
/// One element of ListPublicKeys' <c>PublicKeyList</c>. <see cref="Value"/> is the DER of the
/// PKCS#1 <c>RSAPublicKey</c> (the model: "The DER encoded public key value in PKCS#1 format"); on
/// the JSON wire it is a blob, so base64, and <c>validate-logs</c> keeps it as that base64 text
/// (the CLI does not decode blobs) and decodes it itself before loading the key.
/// <see cref="ValidityEndTime"/> is null for a key still in use.
/// </summary>
public sealed record TrailPublicKey(byte[] Value, DateTimeOffset ValidityStartTime, DateTimeOffset? ValidityEndTime, string Fingerprint);

/// <summary>A region's digest-signing key: signs strings to sign with SHA256withRSA.</summary>
public sealed class TrailSigningKey
{
    /// <summary>The value of the digests' <c>digestSignatureAlgorithm</c> and of the
    /// <c>signature-algorithm</c> metadata.</summary>
    public const string SignatureAlgorithm = "SHA256withRSA";

    readonly RSA _rsa;

    public string Region { get; }

    /// <summary>The PKCS#1 DER of the public key (ListPublicKeys' <c>Value</c>).</summary>
    public byte[] PublicKey { get; }

    /// <summary>The digests' <c>digestPublicKeyFingerprint</c>, which <c>validate-logs</c> looks up
    /// among ListPublicKeys' <c>Fingerprint</c>s (an exact string match): the hex MD5 of
    /// <see cref="PublicKey"/>, 32 characters like AWS's.</summary>
    public string Fingerprint { get; }

    public DateTimeOffset ValidityStartTime { get; }

    internal TrailSigningKey(string region, RSA rsa, DateTimeOffset validityStartTime)
    {
        Region = region;
        _rsa = rsa;
        PublicKey = rsa.ExportRSAPublicKey();
        Fingerprint = Convert.ToHexStringLower(MD5.HashData(PublicKey));
        ValidityStartTime = validityStartTime;
    }

    /// <summary>The hex-encoded SHA256withRSA (PKCS#1 v1.5) signature of the UTF-8 string to sign:
    /// the CLI unhexlifies the <c>signature</c> metadata and verifies it so.</summary>
    public string Sign(string stringToSign)
        => Convert.ToHexStringLower(_rsa.SignData(Encoding.UTF8.GetBytes(stringToSign), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    public TrailPublicKey ToPublicKey() => new(PublicKey, ValidityStartTime, null, Fingerprint);
}

/// <summary>
/// CloudTrail's digest-signing keys: one RSA 2048 key pair per region ("each digest file is signed
/// with a private key unique to its Region"), made the first time the region needs one and kept in
/// <c>&lt;dataDir&gt;/cloudtrail-keys/&lt;region&gt;.json</c> (owner-only, like the other Strata keys),
/// with the time it was made (from the injected clock) as the start of its validity. Keys are
/// never rotated, so a region has one key, valid from then on.
/// </summary>
public sealed partial class TrailKeys(string dataDir, TimeProvider clock)
{
    readonly ConcurrentDictionary<string, Lazy<TrailSigningKey>> _keys = new(StringComparer.Ordinal);

    string Folder => Path.Combine(dataDir, "cloudtrail-keys");

    /// <summary>The key that signs <paramref name="region"/>'s digests now, made on first use.</summary>
    public TrailSigningKey Current(string region)
    {
        // A region name becomes a file name: only what region names are made of.
        if (!RegionName().IsMatch(region)) throw new ArgumentException($"'{region}' is not a region name.", nameof(region));
        return _keys.GetOrAdd(region, r => new Lazy<TrailSigningKey>(() => LoadOrCreate(r))).Value;
    }

    /// <summary>
    /// ListPublicKeys for <paramref name="region"/>: the keys whose validity overlaps
    /// [<paramref name="startTime"/>, <paramref name="endTime"/>], each defaulting to now, as the
    /// model documents ("if not specified, the current time is used").
    /// </summary>
    public IReadOnlyList<TrailPublicKey> ListPublicKeys(string region, DateTimeOffset? startTime, DateTimeOffset? endTime)
    {
        var now = clock.GetUtcNow();
        var (start, end) = (startTime ?? now, endTime ?? now);
        var key = Current(region).ToPublicKey();
        var overlaps = key.ValidityStartTime <= end && (key.ValidityEndTime is null || key.ValidityEndTime >= start);
        return overlaps ? [key] : [];
    }

    TrailSigningKey LoadOrCreate(string region)
    {
        var path = Path.Combine(Folder, region + ".json");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Folder);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var fresh = RSA.Create(2048);
            var stored = new StoredKey(region, clock.GetUtcNow(), fresh.ExportPkcs8PrivateKey());
            // Owner-only from the start, then renamed into place: the private key is never readable
            // by others, and a crash never leaves half a key under the real name.
            var temp = path + ".tmp";
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                JsonSerializer.Serialize(file, stored, TrailKeysJson.Default.StoredKey);
                file.Flush(true);
            }
            File.Move(temp, path);
        }
        var key = JsonSerializer.Deserialize(File.ReadAllBytes(path), TrailKeysJson.Default.StoredKey)
            ?? throw new InvalidOperationException($"{path} holds no key.");
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(key.PrivateKey, out _);
        return new TrailSigningKey(region, rsa, key.ValidityStartTime);
    }

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex RegionName();
}

internal sealed record StoredKey(string Region, DateTimeOffset ValidityStartTime, byte[] PrivateKey);

[JsonSerializable(typeof(StoredKey))]
internal sealed partial class TrailKeysJson : JsonSerializerContext;
