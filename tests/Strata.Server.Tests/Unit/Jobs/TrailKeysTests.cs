using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Trail;

namespace Strata.Server.Tests.Unit;

public sealed class TrailKeysTests : IDisposable
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    readonly string _dataDir = Directory.CreateTempSubdirectory("strata-trail-keys-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, true);

    [Fact]
    public void AKeyIsMadeOncePerRegionAndPersisted()
    {
        var first = new TrailKeys(_dataDir, _clock).Current("us-east-1");
        _clock.Advance(TimeSpan.FromDays(3));
        var again = new TrailKeys(_dataDir, _clock).Current("us-east-1");
        Assert.Equal(first.Fingerprint, again.Fingerprint);
        Assert.Equal(first.PublicKey, again.PublicKey);
        // Valid from when it was made, not from when it was loaded.
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero), again.ValidityStartTime);
        Assert.NotEqual(first.Fingerprint, new TrailKeys(_dataDir, _clock).Current("eu-west-1").Fingerprint);
    }

    [Fact]
    public void TheKeyFileIsOwnerOnly()
    {
        new TrailKeys(_dataDir, _clock).Current("us-east-1");
        var path = Path.Combine(_dataDir, "cloudtrail-keys", "us-east-1.json");
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void PublicKeyIsPkcs1DerAndTheFingerprintItsMd5()
    {
        var key = new TrailKeys(_dataDir, _clock).Current("us-east-1");
        using var rsa = RSA.Create();
        rsa.ImportRSAPublicKey(key.PublicKey, out var read);
        Assert.Equal(key.PublicKey.Length, read);
        Assert.Equal(2048, rsa.KeySize);
        // PKCS#1 RSAPublicKey, not SubjectPublicKeyInfo: base64 starts as AWS's do ("MIIBCgKCAQEA").
        Assert.StartsWith("MIIBCgKCAQEA", Convert.ToBase64String(key.PublicKey), StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(key.PublicKey)), key.Fingerprint);
        Assert.Matches("^[0-9a-f]{32}$", key.Fingerprint);
    }

    [Fact]
    public void SignatureIsHexSha256WithRsaOverTheUtf8String()
    {
        var key = new TrailKeys(_dataDir, _clock).Current("us-east-1");
        var signature = key.Sign("2026-03-01T09:00:00Z\nb/k\nabc\nnull");
        Assert.Matches("^[0-9a-f]{512}$", signature);
        using var rsa = RSA.Create();
        rsa.ImportRSAPublicKey(key.PublicKey, out _);
        Assert.True(rsa.VerifyData(Encoding.UTF8.GetBytes("2026-03-01T09:00:00Z\nb/k\nabc\nnull"), Convert.FromHexString(signature),
            HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        Assert.False(rsa.VerifyData(Encoding.UTF8.GetBytes("2026-03-01T09:00:01Z\nb/k\nabc\nnull"), Convert.FromHexString(signature),
            HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void ListPublicKeysReturnsTheKeysValidInTheRange()
    {
        var keys = new TrailKeys(_dataDir, _clock);
        var made = keys.Current("us-east-1");
        var listed = Assert.Single(keys.ListPublicKeys("us-east-1", made.ValidityStartTime.AddHours(-5), made.ValidityStartTime.AddHours(1)));
        Assert.Equal(made.Fingerprint, listed.Fingerprint);
        Assert.Equal(made.PublicKey, listed.Value);
        Assert.Equal(made.ValidityStartTime, listed.ValidityStartTime);
        Assert.Null(listed.ValidityEndTime);
        // Wholly before the key was made: none. No range: now, when the key is current.
        Assert.Empty(keys.ListPublicKeys("us-east-1", made.ValidityStartTime.AddHours(-5), made.ValidityStartTime.AddSeconds(-1)));
        _clock.Advance(TimeSpan.FromDays(40));
        Assert.Single(keys.ListPublicKeys("us-east-1", null, null));
        Assert.Single(keys.ListPublicKeys("us-east-1", made.ValidityStartTime.AddDays(30), null));
    }

    [Theory]
    [InlineData("../us-east-1")]
    [InlineData("US-EAST-1")]
    [InlineData("")]
    [InlineData("us-east-1/x")]
    public void RegionsThatAreNotRegionNamesAreRefused(string region)
        => Assert.Throws<ArgumentException>(() => new TrailKeys(_dataDir, _clock).Current(region));
}
