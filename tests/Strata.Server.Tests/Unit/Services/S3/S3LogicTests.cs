using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

public sealed class S3ListingTests
{
    static S3Listing.Scan Over(params string[] keys)
    {
        var sorted = keys.OrderBy(k => k, Comparer<string>.Create((a, b) => System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b)))).ToList();
        return (prefix, startAfter, limit, skip) => sorted
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Where(k => startAfter is null || (skip ? string.CompareOrdinal(k, startAfter) > 0 && !k.StartsWith(startAfter, StringComparison.Ordinal) : string.CompareOrdinal(k, startAfter) > 0))
            .Take(limit).Select(k => new KeyValuePair<string, string>(k, "")).ToList();
    }

    static readonly S3Listing.Scan Photos = Over("photos/2006/jan/a.jpg", "photos/2006/feb/b.jpg", "photos/2007/c.jpg", "photos/d.jpg", "readme", "zebra");

    [Fact]
    public void DelimiterRollsUpCommonPrefixes()
    {
        var page = S3Listing.List(Photos, "", "/", null, false, 1000);
        Assert.Equal(["readme", "zebra"], page.Contents.Select(c => c.Key));
        Assert.Equal(["photos/"], page.CommonPrefixes);
        Assert.False(page.IsTruncated);

        page = S3Listing.List(Photos, "photos/", "/", null, false, 1000);
        Assert.Equal(["photos/d.jpg"], page.Contents.Select(c => c.Key));
        Assert.Equal(["photos/2006/", "photos/2007/"], page.CommonPrefixes);
    }

    [Fact]
    public void MaxKeysCountsPrefixesAndResumesAfterThem()
    {
        var first = S3Listing.List(Photos, "photos/", "/", null, false, 1);
        Assert.Equal(["photos/2006/"], first.CommonPrefixes);
        Assert.True(first.IsTruncated);
        Assert.True(first.LastEntryIsPrefix);
        var second = S3Listing.List(Photos, "photos/", "/", first.LastEntry, first.LastEntryIsPrefix, 1);
        Assert.Equal(["photos/2007/"], second.CommonPrefixes);
        var third = S3Listing.List(Photos, "photos/", "/", second.LastEntry, true, 5);
        Assert.Equal(["photos/d.jpg"], third.Contents.Select(c => c.Key));
        Assert.False(third.IsTruncated);
    }

    [Fact]
    public void NoDelimiterListsEveryKeyInOrder()
    {
        var page = S3Listing.List(Photos, "", null, "photos/2007/c.jpg", false, 2);
        Assert.Equal(["photos/d.jpg", "readme"], page.Contents.Select(c => c.Key));
        Assert.True(page.IsTruncated);
        Assert.False(S3Listing.List(Photos, "", null, "readme", false, 1).IsTruncated);
        Assert.Empty(S3Listing.List(Photos, "", null, null, false, 0).Contents);
    }

    [Fact]
    public void MultiCharacterDelimiter()
    {
        var page = S3Listing.List(Over("a--b--c", "a--d", "e"), "", "--", null, false, 10);
        Assert.Equal(["a--"], page.CommonPrefixes);
        Assert.Equal(["e"], page.Contents.Select(c => c.Key));
    }

    [Fact]
    public void ManyKeysUnderOnePrefixCostOneEntry()
    {
        var keys = Enumerable.Range(0, 5000).Select(i => $"big/{i:D5}").Append("small").ToArray();
        var scans = 0;
        var inner = Over(keys);
        var page = S3Listing.List((p, s, l, k) => { scans++; return inner(p, s, l, k); }, "", "/", null, false, 1000);
        Assert.Equal(["big/"], page.CommonPrefixes);
        Assert.Equal(["small"], page.Contents.Select(c => c.Key));
        Assert.True(scans <= 3, $"{scans} scans");
    }
}

public sealed class S3RequestLogicTests
{
    [Theory]
    [InlineData("bytes=0-9", 100, 0, 10)]
    [InlineData("bytes=90-", 100, 90, 10)]
    [InlineData("bytes=-10", 100, 90, 10)]
    [InlineData("bytes=-500", 100, 0, 100)]
    [InlineData("bytes=50-5000", 100, 50, 50)]
    public void Ranges(string header, long size, long offset, long length)
        => Assert.Equal((offset, length), ObjectOperations.ParseRange(header, size));

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=0-1,3-4")]
    [InlineData("items=0-1")]
    [InlineData("bytes=x-y")]
    public void UnusableRangesMeanTheWholeObject(string header) => Assert.Null(ObjectOperations.ParseRange(header, 100));

    [Theory]
    [InlineData("bytes=100-")]
    [InlineData("bytes=-0")]
    public void UnsatisfiableRanges(string header)
        => Assert.Equal("InvalidRange", Assert.Throws<AwsException>(() => ObjectOperations.ParseRange(header, 100)).Code);

    [Theory]
    [InlineData("my-bucket", true)]
    [InlineData("a.b-c.123", true)]
    [InlineData("abc", true)]
    [InlineData("ab", false)]
    [InlineData("UPPER", false)]
    [InlineData("under_score", false)]
    [InlineData("-dash", false)]
    [InlineData("dash-", false)]
    [InlineData("two..dots", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("xn--bucket", false)]
    [InlineData("bucket-s3alias", false)]
    public void BucketNames(string name, bool valid)
    {
        var error = Record.Exception(() => BucketOperations.ValidateBucketName(name));
        if (valid) Assert.Null(error);
        else Assert.Equal("InvalidBucketName", Assert.IsType<AwsException>(error).Code);
    }

    [Fact]
    public void EtagConditions()
    {
        Assert.True(ObjectOperations.EtagMatches("\"abc\"", "\"abc\""));
        Assert.True(ObjectOperations.EtagMatches("abc", "\"abc\""));
        Assert.True(ObjectOperations.EtagMatches("\"x\", \"abc\"", "\"abc\""));
        Assert.True(ObjectOperations.EtagMatches("*", "\"abc\""));
        Assert.False(ObjectOperations.EtagMatches("\"abd\"", "\"abc\""));
    }

    [Fact]
    public void SegmentRangesSpanParts()
    {
        var record = new ObjectRecord
        {
            Key = "k",
            Size = 30,
            ETag = "\"e\"",
            LastModified = DateTimeOffset.UnixEpoch,
            OwnerAccountId = "1",
            Segments = [new Segment("a", 10), new Segment("b", 10), new Segment("c", 10)],
        };
        Assert.Equal([("a", 5L, 5L), ("b", 0L, 10L), ("c", 0L, 2L)], ObjectBody.Ranges(record, 5, 17).Select(r => (r.Segment.BlobId, r.Offset, r.Count)).ToList());
        Assert.Equal([("c", 9L, 1L)], ObjectBody.Ranges(record, 29, 1).Select(r => (r.Segment.BlobId, r.Offset, r.Count)).ToList());
    }
}

public sealed class CommonPrefixMarkerTests
{
    [Theory]
    [InlineData("photos/", "", "/", true)]
    [InlineData("photos/2006/", "photos/", "/", true)]
    [InlineData("photos/2006/", "", "/", false)]   // two delimiters after the prefix: a key
    [InlineData("photos/a.jpg", "", "/", false)]
    [InlineData("photos/", "", null, false)]
    [InlineData("other/", "photos/", "/", false)]
    [InlineData(null, "", "/", false)]
    public void IsCommonPrefix(string? marker, string prefix, string? delimiter, bool expected)
        => Assert.Equal(expected, S3Listing.IsCommonPrefix(marker, prefix, delimiter));
}
