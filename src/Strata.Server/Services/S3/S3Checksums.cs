using Algorithm = Strata.Server.Protocol.ChecksumAlgorithm;

namespace Strata.Server.Services.S3.Model;

// Beside the generated shapes: S3 names a checksum's element after its algorithm
// (ChecksumCRC32, ChecksumSHA256, …), which the model spells as one member per algorithm.
// These pick the member for the algorithm Strata computed (or a client sent).

public sealed partial record CompleteMultipartUploadOutput
{
    public CompleteMultipartUploadOutput WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record CopyObjectResult
{
    public CopyObjectResult WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record CopyPartResult
{
    public CopyPartResult WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record Part
{
    public Part WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record CompletedPart
{
    public string? Checksum(Algorithm algorithm) => algorithm switch
    {
        Algorithm.CRC32 => ChecksumCRC32,
        Algorithm.CRC32C => ChecksumCRC32C,
        Algorithm.CRC64NVME => ChecksumCRC64NVME,
        Algorithm.SHA1 => ChecksumSHA1,
        Algorithm.SHA256 => ChecksumSHA256,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record Checksum
{
    public Checksum WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}

public sealed partial record ObjectPart
{
    public ObjectPart WithChecksum(Algorithm algorithm, string? value) => algorithm switch
    {
        Algorithm.CRC32 => this with { ChecksumCRC32 = value },
        Algorithm.CRC32C => this with { ChecksumCRC32C = value },
        Algorithm.CRC64NVME => this with { ChecksumCRC64NVME = value },
        Algorithm.SHA1 => this with { ChecksumSHA1 = value },
        Algorithm.SHA256 => this with { ChecksumSHA256 = value },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
