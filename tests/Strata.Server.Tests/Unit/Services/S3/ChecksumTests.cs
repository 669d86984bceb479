using System.Text;
using Strata.Server.Protocol;

namespace Strata.Server.Tests.Unit;

public sealed class ChecksumTests
{
    // The "check" values of each CRC's catalogue entry: the CRC of the ASCII string "123456789".
    [Theory]
    [InlineData(ChecksumAlgorithm.CRC32, "CBF43926")]
    [InlineData(ChecksumAlgorithm.CRC32C, "E3069283")]
    [InlineData(ChecksumAlgorithm.CRC64NVME, "AE8B14860A799888")]
    [InlineData(ChecksumAlgorithm.SHA1, "F7C3BC1D808E04732ADF679965CCC34CA7AE3441")]
    public void CheckValues(ChecksumAlgorithm algorithm, string hex)
    {
        using var hasher = Checksums.Create(algorithm);
        hasher.Append(Encoding.ASCII.GetBytes("1234"));
        hasher.Append(Encoding.ASCII.GetBytes("56789"));
        Assert.Equal(hex, Convert.ToHexString(hasher.Digest()));
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(hex)), hasher.Base64());
    }

    [Fact]
    public void NamesFollowTheWire()
    {
        Assert.Equal("x-amz-checksum-crc64nvme", Checksums.HeaderName(ChecksumAlgorithm.CRC64NVME));
        Assert.Equal("ChecksumSHA256", Checksums.ElementName(ChecksumAlgorithm.SHA256));
        Assert.True(Checksums.TryParse("crc32c", out var a) && a == ChecksumAlgorithm.CRC32C);
        Assert.False(Checksums.TryParse("md5", out _));
        Assert.False(Checksums.TryParse("7", out _));
    }
}
