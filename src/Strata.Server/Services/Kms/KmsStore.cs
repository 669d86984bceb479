using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Services.Kms;

/// <summary>One generation of a key's material, wrapped under the master key; versions after the
/// first were made by a rotation (<c>AUTOMATIC</c> or <c>ON_DEMAND</c>).</summary>
public sealed record KeyVersion(int Version, string WrappedMaterial, DateTimeOffset CreatedAt, string? RotationType = null);

public sealed record KmsTag(string TagKey, string TagValue);

/// <summary>A KMS key: metadata, its key policy, and every version of its material (rotation
/// adds one; old ones stay so old ciphertexts still decrypt).</summary>
public sealed record KmsKey
{
    public required string KeyId { get; init; }
    public required string AccountId { get; init; }
    public required string Arn { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    public string Description { get; init; } = "";
    public string KeyState { get; init; } = "Enabled";
    public DateTimeOffset? DeletionDate { get; init; }
    public int? PendingWindowInDays { get; init; }
    public required string Policy { get; init; }
    public bool RotationEnabled { get; init; }
    public int RotationPeriodInDays { get; init; } = 365;
    public DateTimeOffset? NextRotationDate { get; init; }
    public List<KeyVersion> Versions { get; init; } = [];
    public List<KmsTag> Tags { get; init; } = [];
}

public sealed record KmsAlias(string AliasName, string AliasArn, string TargetKeyId, DateTimeOffset CreationDate, DateTimeOffset LastUpdatedDate);

[JsonSerializable(typeof(KmsKey))]
[JsonSerializable(typeof(KmsAlias))]
internal sealed partial class KmsStoreJson : JsonSerializerContext;

/// <summary>
/// KMS keys and aliases in the state store, and the cryptography: key material is 256 random
/// bits, stored only wrapped (AES-256-GCM) under a master key that lives outside the database
/// (<c>STRATA_MASTER_KEY</c>, base64, or a 0600 file in the data directory). Ciphertext blobs
/// name their key and key version, so rotation never strands an old ciphertext; the
/// encryption context is bound as additional authenticated data.
/// </summary>
public sealed class KmsStore(IStateStore state, byte[] masterKey)
{
    const string Keys = "kms-keys";
    const string Aliases = "kms-aliases";

    /// <summary>The master key: from the environment, else the data directory's file (created once).</summary>
    public static byte[] LoadMasterKey(string dataDir)
    {
        if (Environment.GetEnvironmentVariable("STRATA_MASTER_KEY") is { Length: > 0 } env)
        {
            var key = Convert.FromBase64String(env);
            return key.Length == 32 ? key : throw new InvalidOperationException("STRATA_MASTER_KEY must be 32 bytes, base64-encoded.");
        }
        var path = Path.Combine(dataDir, "master.key");
        if (!File.Exists(path))
        {
            // Written under a temporary name with owner-only mode, then renamed: never readable by others.
            var temp = path + ".tmp";
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                file.Write(RandomNumberGenerator.GetBytes(32));
                file.Flush(true);
            }
            File.Move(temp, path);
        }
        var bytes = File.ReadAllBytes(path);
        return bytes.Length == 32 ? bytes : throw new InvalidOperationException($"{path} must hold exactly 32 bytes.");
    }

    // ---- persistence ----

    public KmsKey? GetKey(string keyId)
        => state.Read(r => r.Get(Keys, keyId)) is { } json ? JsonSerializer.Deserialize(json, KmsStoreJson.Default.KmsKey) : null;

    public void PutKey(KmsKey key) => state.Write(w =>
    {
        w.Put(Keys, key.KeyId, JsonSerializer.Serialize(key, KmsStoreJson.Default.KmsKey));
        return 0;
    });

    public KmsKey UpdateKey(string keyId, Func<KmsKey, KmsKey> change) => state.Write(w =>
    {
        var key = JsonSerializer.Deserialize(w.Get(Keys, keyId)!, KmsStoreJson.Default.KmsKey)!;
        key = change(key);
        w.Put(Keys, keyId, JsonSerializer.Serialize(key, KmsStoreJson.Default.KmsKey));
        return key;
    });

    public List<KmsKey> ListKeys(string account)
        => state.Read(r => r.Scan(Keys, "", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, KmsStoreJson.Default.KmsKey)!)
            .Where(k => k.AccountId == account).OrderBy(k => k.KeyId, StringComparer.Ordinal).ToList();

    public KmsAlias? GetAlias(string account, string name)
        => state.Read(r => r.Get(Aliases, account + "/" + name)) is { } json ? JsonSerializer.Deserialize(json, KmsStoreJson.Default.KmsAlias) : null;

    public List<KmsAlias> ListAliases(string account)
        => state.Read(r => r.Scan(Aliases, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, KmsStoreJson.Default.KmsAlias)!).ToList();

    /// <summary>Creates (or with <paramref name="replace"/>, retargets) an alias; false when the
    /// alias exists and may not be replaced, or does not exist and must be.</summary>
    public bool PutAlias(string account, KmsAlias alias, bool replace) => state.Write(w =>
    {
        var exists = w.Get(Aliases, account + "/" + alias.AliasName) is not null;
        if (exists != replace) return false;
        w.Put(Aliases, account + "/" + alias.AliasName, JsonSerializer.Serialize(alias, KmsStoreJson.Default.KmsAlias));
        return true;
    });

    public bool DeleteAlias(string account, string name) => state.Write(w => w.Delete(Aliases, account + "/" + name));

    // ---- cryptography ----

    /// <summary>Wraps a data key under a key of Strata's own derived from the master key for
    /// <paramref name="purpose"/> (SSE-S3's "S3-managed keys").</summary>
    public byte[] WrapForService(string purpose, ReadOnlySpan<byte> dataKey)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey, 32, info: Encoding.UTF8.GetBytes("strata-service-key:" + purpose));
        try { return Seal(key, dataKey, Encoding.UTF8.GetBytes(purpose)); }
        finally { CryptographicOperations.ZeroMemory(key); }
    }

    public byte[]? UnwrapForService(string purpose, ReadOnlySpan<byte> wrapped)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey, 32, info: Encoding.UTF8.GetBytes("strata-service-key:" + purpose));
        try { return Open(key, wrapped, Encoding.UTF8.GetBytes(purpose)); }
        finally { CryptographicOperations.ZeroMemory(key); }
    }

    const byte Format = 1;
    const int HeaderSize = 1 + 16 + 4;
    const int NonceSize = 12;
    const int TagSize = 16;

    /// <summary>A new key version's material, wrapped for storage (AAD: key id and version, so a
    /// wrapped blob cannot be moved to another key).</summary>
    public KeyVersion NewVersion(string keyId, int version, DateTimeOffset now)
    {
        var material = RandomNumberGenerator.GetBytes(32);
        try
        {
            return new KeyVersion(version, Convert.ToBase64String(Seal(masterKey, material, WrapAad(keyId, version))), now);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    static byte[] WrapAad(string keyId, int version) => Encoding.UTF8.GetBytes($"strata-kms-key:{keyId}:{version}");

    byte[] Material(string keyId, KeyVersion version)
        => Open(masterKey, Convert.FromBase64String(version.WrappedMaterial), WrapAad(keyId, version.Version))
           ?? throw new CryptographicException($"The material of key {keyId} version {version.Version} does not open under this master key.");

    /// <summary>Encrypts under the key's newest version: header (format, key id, version) ‖
    /// nonce ‖ ciphertext ‖ tag; the header and the encryption context are authenticated.</summary>
    public byte[] Encrypt(KmsKey key, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string> context)
    {
        var version = key.Versions[^1];
        var header = new byte[HeaderSize];
        header[0] = Format;
        Guid.Parse(key.KeyId).TryWriteBytes(header.AsSpan(1, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(17), version.Version);
        var material = Material(key.KeyId, version);
        try
        {
            var sealedBody = Seal(material, plaintext, Aad(header, context));
            return [.. header, .. sealedBody];
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>The key id a ciphertext blob names, or null when it is not one of ours.</summary>
    public static string? KeyIdOf(ReadOnlySpan<byte> blob)
        => blob.Length >= HeaderSize + NonceSize + TagSize && blob[0] == Format ? new Guid(blob.Slice(1, 16), bigEndian: true).ToString() : null;

    /// <summary>Decrypts a blob with the version it names; null when it does not authenticate
    /// (wrong context, tampered, or not made by this key).</summary>
    public byte[]? Decrypt(KmsKey key, ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string> context)
    {
        if (KeyIdOf(blob) != key.KeyId) return null;
        var versionNumber = BinaryPrimitives.ReadInt32BigEndian(blob.Slice(17, 4));
        if (key.Versions.FirstOrDefault(v => v.Version == versionNumber) is not { } version) return null;
        var material = Material(key.KeyId, version);
        try
        {
            return Open(material, blob[HeaderSize..], Aad(blob[..HeaderSize], context));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>The header and the encryption context, pairs sorted by key (ordinal), so the same
    /// context in any order authenticates.</summary>
    static byte[] Aad(ReadOnlySpan<byte> header, IReadOnlyDictionary<string, string> context)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in context.OrderBy(p => p.Key, StringComparer.Ordinal))
            sb.Append(k.Length).Append(':').Append(k).Append(v.Length).Append(':').Append(v);
        return [.. header, .. Encoding.UTF8.GetBytes(sb.ToString())];
    }

    static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, byte[] aad)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), aad);
        return output;
    }

    static byte[]? Open(byte[] key, ReadOnlySpan<byte> sealedData, byte[] aad)
    {
        if (sealedData.Length < NonceSize + TagSize) return null;
        var plaintext = new byte[sealedData.Length - NonceSize - TagSize];
        using var gcm = new AesGcm(key, TagSize);
        try
        {
            gcm.Decrypt(sealedData[..NonceSize], sealedData[NonceSize..^TagSize], sealedData[^TagSize..], plaintext, aad);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}
