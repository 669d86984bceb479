using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Strata.Server.Protocol;

/// <summary>The flexible checksum algorithms S3 clients send (<c>x-amz-checksum-*</c>).</summary>
public enum ChecksumAlgorithm { CRC32, CRC32C, CRC64NVME, SHA1, SHA256 }

public static class Checksums
{
    public static readonly ChecksumAlgorithm[] All = Enum.GetValues<ChecksumAlgorithm>();

    /// <summary>The header that carries a checksum: <c>x-amz-checksum-crc32</c>, …</summary>
    public static string HeaderName(ChecksumAlgorithm algorithm) => "x-amz-checksum-" + algorithm.ToString().ToLowerInvariant();

    /// <summary>The XML element that carries it: <c>ChecksumCRC32</c>, …</summary>
    public static string ElementName(ChecksumAlgorithm algorithm) => "Checksum" + algorithm;

    public static bool TryParse(string? name, out ChecksumAlgorithm algorithm)
    {
        algorithm = default;
        // Names only: Enum.TryParse would also take "1" for CRC32C.
        return name is not null && name.Trim() is { Length: > 0 } n && char.IsLetter(n[0])
            && Enum.TryParse(n, ignoreCase: true, out algorithm) && Enum.IsDefined(algorithm);
    }

    /// <summary>The byte length of the algorithm's digest, to validate base64 values.</summary>
    public static int DigestLength(ChecksumAlgorithm algorithm) => algorithm switch
    {
        ChecksumAlgorithm.CRC32 or ChecksumAlgorithm.CRC32C => 4,
        ChecksumAlgorithm.CRC64NVME => 8,
        ChecksumAlgorithm.SHA1 => 20,
        _ => 32,
    };

    public static ChecksumHasher Create(ChecksumAlgorithm algorithm) => new(algorithm);
}

/// <summary>An incremental checksum whose result is the big-endian digest, base64-encoded,
/// exactly as S3 transmits it.</summary>
public sealed class ChecksumHasher : IDisposable
{
    readonly Crc32? _crc32;
    readonly Crc64? _crc64;
    readonly IncrementalHash? _sha;

    public ChecksumHasher(ChecksumAlgorithm algorithm)
    {
        Algorithm = algorithm;
        switch (algorithm)
        {
            case ChecksumAlgorithm.CRC32: _crc32 = new Crc32(); break;
            case ChecksumAlgorithm.CRC32C: _crc32 = new Crc32(Crc32ParameterSet.Crc32C); break;
            case ChecksumAlgorithm.CRC64NVME: _crc64 = new Crc64(Crc64ParameterSet.Nvme); break;
            case ChecksumAlgorithm.SHA1: _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1); break;
            default: _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256); break;
        }
    }

    public ChecksumAlgorithm Algorithm { get; }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_crc32 is not null) _crc32.Append(data);
        else if (_crc64 is not null) _crc64.Append(data);
        else _sha!.AppendData(data);
    }

    public byte[] Digest()
    {
        if (_crc32 is not null)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, _crc32.GetCurrentHashAsUInt32());
            return bytes;
        }
        if (_crc64 is not null)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, _crc64.GetCurrentHashAsUInt64());
            return bytes;
        }
        return _sha!.GetCurrentHash();
    }

    public string Base64() => Convert.ToBase64String(Digest());

    public void Dispose() => _sha?.Dispose();
}
