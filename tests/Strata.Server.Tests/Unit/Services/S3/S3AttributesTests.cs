using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>The pure parts of ListBuckets paging, bucket tag rules and GetObjectAttributes.</summary>
public sealed class S3AttributesTests
{
    [Theory]
    [InlineData(null, 10000)]
    [InlineData("1", 1)]
    [InlineData("10000", 10000)]
    public void MaxBucketsIsOneToTenThousand(string? text, int expected) => Assert.Equal(expected, BucketOperations.MaxBuckets(text));

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("")]
    public void MaxBucketsOutsideIsInvalidArgument(string text)
    {
        var e = Assert.Throws<AwsException>(() => BucketOperations.MaxBuckets(text));
        Assert.Equal(("InvalidArgument", 400), (e.Code, e.Status));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("cDpwcmVmaXg=")] // "p:prefix": an object listing's token, not a bucket's
    [InlineData("azpVUFBFUg==")] // "k:UPPER": not a bucket name
    public void ForeignContinuationTokensAreRefused(string token)
        => Assert.Equal("InvalidArgument", Assert.Throws<AwsException>(() => BucketOperations.BucketAfter(token)).Code);

    [Fact]
    public void ABucketTokenNamesTheBucketToContinueAfter()
        => Assert.Equal("models", BucketOperations.BucketAfter(Convert.ToBase64String("k:models"u8.ToArray())));

    static List<ObjectTag> Tags(int count) => Enumerable.Range(0, count).Select(i => new ObjectTag($"k{i}", "v")).ToList();

    static AwsException TagError(List<ObjectTag> tags) => Assert.Throws<AwsException>(() => S3Http.ValidateBucketTags(tags));

    [Fact]
    public void BucketTagsFollowS3sRules()
    {
        S3Http.ValidateBucketTags(Tags(50));
        S3Http.ValidateBucketTags([]);
        // Lengths count characters, not UTF-16 units: 128 letters outside the BMP are a valid key.
        S3Http.ValidateBucketTags([new ObjectTag(string.Concat(Enumerable.Repeat("𝒜", 128)), new string('v', 256))]);
        // Only letters, digits, spaces and + - = . _ : / @ make a tag: not an emoji, a comma or parentheses.
        Assert.Equal("The TagKey you have provided is invalid", TagError([new ObjectTag("😀", "v")]).Message);
        Assert.Equal("The TagValue you have provided is invalid", TagError([new ObjectTag("k", "a,b")]).Message);
        Assert.Equal("The TagValue you have provided is invalid", TagError([new ObjectTag("k", "(v)")]).Message);
        S3Http.ValidateBucketTags([new ObjectTag("path:a/b_c.d", "x+y=z -@ Ünïcode 7")]);
        Assert.Equal(("BadRequest", "Bucket tag count cannot be greater than 50"), (TagError(Tags(51)).Code, TagError(Tags(51)).Message));
        Assert.Equal("The TagKey you have provided is invalid", TagError([new ObjectTag("", "v")]).Message);
        Assert.Equal("The TagKey you have provided is invalid", TagError([new ObjectTag(new string('k', 129), "v")]).Message);
        Assert.Equal("The TagValue you have provided is invalid", TagError([new ObjectTag("k", new string('v', 257))]).Message);
        Assert.Equal("Cannot provide multiple Tags with the same key", TagError([new ObjectTag("a", "1"), new ObjectTag("a", "2")]).Message);
        Assert.Equal("InvalidTag", TagError([new ObjectTag("AWS:stack", "v")]).Code);
        // Each tag is checked before the count.
        Assert.Equal("InvalidTag", TagError([.. Tags(60), new ObjectTag("", "v")]).Code);
    }

    [Fact]
    public void ObjectAttributesMustNameKnownAttributes()
    {
        Assert.Equal(["ETag", "ObjectSize"], ObjectOperations.ObjectAttributes("ETag, ObjectSize").Order());
        Assert.Equal("InvalidRequest", Assert.Throws<AwsException>(() => ObjectOperations.ObjectAttributes("")).Code);
        Assert.Equal("InvalidRequest", Assert.Throws<AwsException>(() => ObjectOperations.ObjectAttributes(" , ")).Code);
        var e = Assert.Throws<AwsException>(() => ObjectOperations.ObjectAttributes("ETag,Size"));
        Assert.Equal(("InvalidArgument", "Invalid attribute name specified."), (e.Code, e.Message));
    }

    static readonly HashSet<string> All = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"];

    static ObjectRecord Multipart(string? checksumType, params int[] partNumbers) => new()
    {
        Key = "k",
        Size = partNumbers.Length * 10,
        ETag = "\"abc-3\"",
        LastModified = DateTimeOffset.UnixEpoch,
        Segments = partNumbers.Select(n => new Segment($"b{n}", 10, null, $"c{n}", n)).ToList(),
        PartsCount = partNumbers.Length,
        ChecksumAlgorithm = checksumType is null ? null : "SHA256",
        Checksum = checksumType is null ? null : "sum=-3",
        ChecksumType = checksumType,
        OwnerAccountId = "000000000000",
    };

    [Fact]
    public void CompositeObjectsListTheirPartsAPageAtATime()
    {
        var record = Multipart("COMPOSITE", 1, 4, 7);
        var whole = ObjectOperations.Attributes(record, All, 1000, 0);
        Assert.Equal("abc-3", whole.ETag);
        Assert.Equal(("sum=", "COMPOSITE"), (whole.Checksum!.ChecksumSHA256, whole.Checksum.ChecksumType));
        Assert.Equal([1, 4, 7], whole.ObjectParts!.Parts!.Select(p => p.PartNumber!.Value));
        Assert.Equal(["c1", "c4", "c7"], whole.ObjectParts.Parts!.Select(p => p.ChecksumSHA256!));
        Assert.Equal((3, 0, 7, false), (whole.ObjectParts.TotalPartsCount, whole.ObjectParts.PartNumberMarker, whole.ObjectParts.NextPartNumberMarker, whole.ObjectParts.IsTruncated));

        var first = ObjectOperations.Attributes(record, All, 2, 0).ObjectParts!;
        Assert.Equal([1, 4], first.Parts!.Select(p => p.PartNumber!.Value));
        Assert.Equal((true, 4, 2), (first.IsTruncated!.Value, first.NextPartNumberMarker!.Value, first.MaxParts!.Value));
        var rest = ObjectOperations.Attributes(record, All, 2, 4).ObjectParts!;
        Assert.Equal([7], rest.Parts!.Select(p => p.PartNumber!.Value));
        Assert.Equal((false, 4), (rest.IsTruncated!.Value, rest.PartNumberMarker!.Value));
        var none = ObjectOperations.Attributes(record, All, 2, 7).ObjectParts!;
        Assert.Equal((0, false, 0), (none.Parts!.Count, none.IsTruncated!.Value, none.NextPartNumberMarker!.Value));
    }

    [Fact]
    public void AFullObjectChecksumShowsOnlyThePartCount()
    {
        var parts = ObjectOperations.Attributes(Multipart("FULL_OBJECT", 1, 2), All, 1000, 0).ObjectParts!;
        Assert.Equal(2, parts.TotalPartsCount);
        Assert.Null(parts.Parts);
        Assert.Null(parts.IsTruncated);
    }

    [Fact]
    public void OnlyTheAttributesAskedForAreAnswered()
    {
        var record = Multipart(null, 1, 2);
        var output = ObjectOperations.Attributes(record, new HashSet<string> { "ObjectSize" }, 1000, 0);
        Assert.Equal(20, output.ObjectSize);
        Assert.Null(output.ETag);
        Assert.Null(output.ObjectParts);
        Assert.Null(output.StorageClass);
        Assert.Null(ObjectOperations.Attributes(record, All, 1000, 0).Checksum);
        var single = record with { PartsCount = null, Segments = [new Segment("b", 20)] };
        Assert.Null(ObjectOperations.Attributes(single, All, 1000, 0).ObjectParts);
    }
}
