using System.Security.Cryptography;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>The one check of a request's SSE-C headers (<see cref="ServerSideEncryption.ParseCustomerKey"/>),
/// which every operation that takes them goes through.</summary>
public sealed class SseCustomerKeyTests
{
    const string Prefix = "x-amz-server-side-encryption-customer-";
    static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    static readonly string KeyText = Convert.ToBase64String(Key);
    static readonly string Md5 = Convert.ToBase64String(MD5.HashData(Key));

    static AwsException Refusal(string? algorithm, string? key, string? md5)
        => Assert.Throws<AwsException>(() => ServerSideEncryption.ParseCustomerKey(Prefix, algorithm, key, md5));

    [Fact]
    public void ACompleteSetGivesTheKeyAndItsMd5()
    {
        var (key, md5) = ServerSideEncryption.ParseCustomerKey(Prefix, "AES256", KeyText, Md5);
        Assert.Equal(Key, key);
        Assert.Equal(Md5, md5);
    }

    [Fact]
    public void TheKeysMd5IsRequiredEvenThoughItCouldBeComputed()
    {
        var e = Refusal("AES256", KeyText, null);
        Assert.Equal(("InvalidArgument", 400), (e.Code, e.Status));
        Assert.Equal("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.", e.Message);
    }

    [Fact]
    public void AWrongMd5IsRefused()
    {
        var other = Convert.ToBase64String(MD5.HashData(new byte[32]));
        var e = Refusal("AES256", KeyText, other);
        Assert.Equal(("InvalidArgument", 400), (e.Code, e.Status));
        Assert.Equal("The calculated MD5 hash of the key did not match the hash that was provided.", e.Message);
    }

    [Fact]
    public void AMissingKeyOrAlgorithmIsNamedAsMissing()
    {
        Assert.Equal("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.", Refusal("AES256", null, Md5).Message);
        Assert.Equal("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.", Refusal(null, KeyText, Md5).Message);
        // Only the MD5: the key is what is missing first.
        Assert.Contains("appropriate secret key", Refusal(null, null, Md5).Message);
    }

    [Fact]
    public void AnotherAlgorithmOrAKeyOfAnotherSizeIsRefused()
    {
        Assert.Equal("x-amz-server-side-encryption-customer-algorithm", Refusal("AES128", KeyText, Md5).Fields.Single(f => f.Key == "ArgumentName").Value);
        var shortKey = new byte[16];
        Assert.Equal("The secret key was invalid for the specified algorithm.",
            Refusal("AES256", Convert.ToBase64String(shortKey), Convert.ToBase64String(MD5.HashData(shortKey))).Message);
        Assert.Equal("The secret key was invalid for the specified algorithm.", Refusal("AES256", "not base64!", Md5).Message);
    }
}
