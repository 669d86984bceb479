using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// Stored values that must never break a read (non-ASCII header values), and
/// CompleteMultipartUpload's conditions, retries and checksums, through S3's own handlers in
/// process on a fake clock.
/// </summary>
public sealed class S3WriteSafetyTests : IDisposable
{
    const string Account = InProcessS3.Account;

    readonly InProcessS3 _s3 = new(null, "b");
    readonly FakeTimeProvider _clock;

    public S3WriteSafetyTests() => _clock = _s3.Clock;

    public void Dispose() => _s3.Dispose();

    Task<RequestContext> SendAsync(string method, string target, string body = "", params (string Name, string Value)[] headers)
        => _s3.SendAsync(method, target, body, headers);

    static string ResponseText(RequestContext ctx) => InProcessS3.ResponseText(ctx);

    /// <summary>An upload of one part; returns its id and the Complete body naming that part.</summary>
    async Task<(string UploadId, string Complete)> OnePartUploadAsync(string key)
    {
        var created = XElement.Parse(ResponseText(await SendAsync("POST", $"/b/{key}?uploads")));
        var uploadId = created.Elements().Single(e => e.Name.LocalName == "UploadId").Value;
        var part = await SendAsync("PUT", $"/b/{key}?partNumber=1&uploadId={uploadId}", "part one");
        return (uploadId, $"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{part.Response.Headers.ETag}</ETag></Part></CompleteMultipartUpload>");
    }

    [Theory]
    [InlineData("plain ascii\tand tab", "plain ascii\tand tab")]
    [InlineData("café", "=?UTF-8?B?Y2Fmw6k=?=")]
    [InlineData("line\nbreak", "=?UTF-8?B?bGluZQpicmVhaw==?=")]
    [InlineData("", "")]
    public void HeaderValuesHttpCannotCarryAreRfc2047Encoded(string stored, string written)
        => Assert.Equal(written, S3Http.HeaderValue(stored));

    [Fact]
    public async Task NonAsciiStoredHeadersAreAnsweredEncodedOnGetAndHead()
    {
        await SendAsync("PUT", "/b/k", "x", ("x-amz-meta-name", "日本"), ("x-amz-meta-plain", "ascii"), ("Content-Disposition", "attachment; filename=\"é.pdf\""), ("Content-Type", "text/é"));
        foreach (var method in new[] { "GET", "HEAD" })
        {
            var h = (await SendAsync(method, "/b/k")).Response.Headers;
            Assert.Equal("=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("日本")) + "?=", h["x-amz-meta-name"].ToString());
            Assert.Equal("ascii", h["x-amz-meta-plain"].ToString());
            Assert.Equal("=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("attachment; filename=\"é.pdf\"")) + "?=", h.ContentDisposition.ToString());
            Assert.Equal("=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("text/é")) + "?=", h.ContentType.ToString());
            Assert.All(h, kv => Assert.True(S3Http.IsWritableHeaderValue(kv.Value.ToString()), kv.Key));
            Assert.False(h.ContainsKey("x-amz-missing-meta"));
        }
    }

    [Fact]
    public async Task IfNoneMatchStarOnAnExistingKeyLeavesTheObjectAndTheUpload()
    {
        await SendAsync("PUT", "/b/k", "first");
        var (uploadId, complete) = await OnePartUploadAsync("k");
        var e = await Assert.ThrowsAsync<AwsException>(() => SendAsync("POST", $"/b/k?uploadId={uploadId}", complete, ("If-None-Match", "*")));
        Assert.Equal(("PreconditionFailed", 412), (e.Code, e.Status));
        Assert.Equal("first", ResponseText(await SendAsync("GET", "/b/k")));
        // The upload is still there and completes without the condition.
        await SendAsync("POST", $"/b/k?uploadId={uploadId}", complete);
        Assert.Equal("part one", ResponseText(await SendAsync("GET", "/b/k")));
    }

    [Fact]
    public async Task IfNoneMatchWithAnETagIsNotImplemented()
    {
        var etag = (await SendAsync("PUT", "/b/k", "first")).Response.Headers.ETag.ToString();
        var e = await Assert.ThrowsAsync<AwsException>(() => SendAsync("PUT", "/b/k", "second", ("If-None-Match", etag)));
        Assert.Equal(("NotImplemented", 501), (e.Code, e.Status));
        Assert.Equal("first", ResponseText(await SendAsync("GET", "/b/k")));
    }

    [Fact]
    public async Task ARepeatedCompletionAnswersTheSameUntilItsResultExpires()
    {
        var (uploadId, complete) = await OnePartUploadAsync("k");
        var first = ResponseText(await SendAsync("POST", $"/b/k?uploadId={uploadId}", complete));
        _clock.Advance(MultipartOperations.CompletedResultKept - TimeSpan.FromSeconds(1));
        Assert.Equal(first, ResponseText(await SendAsync("POST", $"/b/k?uploadId={uploadId}", complete)));
        // Another key never gets this upload's answer.
        var other = await Assert.ThrowsAsync<AwsException>(() => SendAsync("POST", $"/b/other?uploadId={uploadId}", complete));
        Assert.Equal("NoSuchUpload", other.Code);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await Assert.ThrowsAsync<AwsException>(() => SendAsync("POST", $"/b/k?uploadId={uploadId}", complete));
        Assert.Equal(("NoSuchUpload", 404), (expired.Code, expired.Status));
    }

    [Theory]
    [InlineData("abc=-3", "abc=-3", true)]
    [InlineData("abc=", "abc=-3", true)]
    [InlineData("abd=", "abc=-3", false)]
    [InlineData("abc=-2", "abc=-3", false)]
    [InlineData("abc=", "abc=", true)]
    public void ACompositeChecksumMatchesWithOrWithoutItsPartCount(string expected, string actual, bool matches)
        => Assert.Equal(matches, MultipartOperations.ChecksumMatches(expected, actual));
}
