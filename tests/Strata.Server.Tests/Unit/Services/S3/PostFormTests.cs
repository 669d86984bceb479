using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>A browser upload's multipart/form-data body, read up to its file.</summary>
public sealed class PostFormTests
{
    const string Boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    const string ContentType = "multipart/form-data; boundary=" + Boundary;

    static MemoryStream Body(string text) => new(Encoding.UTF8.GetBytes(text.Replace("\n", "\r\n")));

    static string Part(string disposition, string value, string? type = null)
        => $"--{Boundary}\nContent-Disposition: form-data; {disposition}\n" + (type is null ? "" : $"Content-Type: {type}\n") + $"\n{value}\n";

    static async Task<string> ReadAll(Stream s)
    {
        using var buffer = new MemoryStream();
        await s.CopyToAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public async Task FieldsBeforeTheFileAndTheFileItself()
    {
        var body = Body(Part("name=\"Key\"", "up/${filename}") + Part("name=\"x-amz-meta-a\"", "b")
            + Part("name=\"file\"; filename=\"C:\\\\fakepath\\\\report.txt\"", "line one\nline two", "text/plain")
            + Part("name=\"after\"", "ignored") + $"--{Boundary}--\n");
        var form = await PostForm.ReadAsync(ContentType, body);
        Assert.Equal("up/${filename}", form["key"]);
        Assert.Equal("b", form["X-Amz-Meta-A"]);
        Assert.Null(form["after"]);
        Assert.Equal("report.txt", form.FileName);
        Assert.Equal("line one\r\nline two", await ReadAll(form.File(null)));
    }

    [Fact]
    public async Task AFileOutsideItsSizeRangeIsRefusedAsItArrives()
    {
        string Form(string content) => Part("name=\"key\"", "k") + Part("name=\"file\"; filename=\"f\"", content) + $"--{Boundary}--\n";
        var large = await Assert.ThrowsAsync<AwsException>(async () => await ReadAll((await PostForm.ReadAsync(ContentType, Body(Form("0123456789")))).File((0, 9))));
        Assert.Equal(("EntityTooLarge", 400), (large.Code, large.Status));
        var small = await Assert.ThrowsAsync<AwsException>(async () => await ReadAll((await PostForm.ReadAsync(ContentType, Body(Form("01")))).File((3, 9))));
        Assert.Equal(("EntityTooSmall", "2"), (small.Code, small.Fields.Single(f => f.Key == "ProposedSize").Value));
        Assert.Equal("012", await ReadAll((await PostForm.ReadAsync(ContentType, Body(Form("012")))).File((3, 3))));
    }

    [Fact]
    public async Task AFileCutShortIsAMalformedForm()
    {
        var form = await PostForm.ReadAsync(ContentType, Body(Part("name=\"key\"", "k") + $"--{Boundary}\nContent-Disposition: form-data; name=\"file\"\n\nhalf of it"));
        var e = await Assert.ThrowsAsync<AwsException>(() => ReadAll(form.File(null)));
        Assert.Equal(("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data."), (e.Code, e.Status, e.Message));
    }

    [Theory]
    [InlineData("no boundary at all")]
    [InlineData("--" + Boundary + "\nContent-Disposition: attachment; name=\"key\"\n\nk\n")]
    [InlineData("--" + Boundary + "\nContent-Disposition: form-data; name=\"key\"\n\nk")]
    public async Task ABodyThatIsNotAFormIsMalformed(string text)
    {
        var e = await Assert.ThrowsAsync<AwsException>(() => PostForm.ReadAsync(ContentType, Body(text)));
        Assert.Equal("MalformedPOSTRequest", e.Code);
    }

    [Fact]
    public async Task WhatIsNotMultipartIsAFailedPrecondition()
    {
        var e = await Assert.ThrowsAsync<AwsException>(() => PostForm.ReadAsync("application/x-www-form-urlencoded", Body("key=k")));
        Assert.Equal(("PreconditionFailed", 412), (e.Code, e.Status));
        Assert.Contains(e.Fields, f => f is { Key: "Condition", Value: "Bucket POST must be of the enclosure-type multipart/form-data" });
    }

    [Fact]
    public async Task AFormWithoutAFileOrWithTooMuchBeforeItIsRefused()
    {
        var none = await Assert.ThrowsAsync<AwsException>(() => PostForm.ReadAsync(ContentType, Body(Part("name=\"key\"", "k") + $"--{Boundary}--\n")));
        Assert.Equal(("InvalidArgument", "POST requires exactly one file upload per request."), (none.Code, none.Message));
        var big = Part("name=\"x-amz-meta-a\"", new string('a', 15_000)) + Part("name=\"x-amz-meta-b\"", new string('b', 6_000)) + Part("name=\"file\"", "x") + $"--{Boundary}--\n";
        var large = await Assert.ThrowsAsync<AwsException>(() => PostForm.ReadAsync(ContentType, Body(big)));
        Assert.Equal(("MaxPostPreDataLengthExceeded", 400), (large.Code, large.Status));
        var twice = await Assert.ThrowsAsync<AwsException>(() => PostForm.ReadAsync(ContentType, Body(Part("name=\"key\"", "a") + Part("name=\"KEY\"", "b") + Part("name=\"file\"", "x") + $"--{Boundary}--\n")));
        Assert.Equal("InvalidArgument", twice.Code);
    }
}
