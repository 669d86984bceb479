using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Strata.Server.Protocol;

namespace Strata.Server.Tests.Unit;

public sealed class ErrorWriterTests
{
    static async Task<(HttpResponse Response, string Body)> WriteAsync(ServiceDescriptor service, AwsException error, string method = "GET")
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        var body = new MemoryStream();
        http.Response.Body = body;
        var ctx = new RequestContext(http, "REQ123", "us-east-1", false) { Service = service };
        await ErrorWriter.WriteAsync(ctx, error);
        return (http.Response, Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task Json11()
    {
        var (response, body) = await WriteAsync(new("sagemaker", "sagemaker", AwsProtocol.Json11, NamedOperations.None, TargetPrefix: "SageMaker"),
            new AwsException("ValidationException", 400, "Could not find endpoint \"x\"."));
        Assert.Equal(400, response.StatusCode);
        Assert.Equal("application/x-amz-json-1.1", response.ContentType);
        Assert.Equal("ValidationException", response.Headers["x-amzn-ErrorType"]);
        Assert.False(response.Headers.ContainsKey("x-amzn-query-error"));
        using var json = JsonDocument.Parse(body);
        Assert.Equal("ValidationException", json.RootElement.GetProperty("__type").GetString());
        Assert.Equal("Could not find endpoint \"x\".", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task QueryCompatibleJsonCarriesTheQueryCode()
    {
        var (response, _) = await WriteAsync(new("cloudwatch", "monitoring", AwsProtocol.Json10, NamedOperations.None, QueryCompatible: true),
            new AwsException("InternalServiceError", 500, "x", senderFault: false));
        Assert.Equal("application/x-amz-json-1.0", response.ContentType);
        Assert.Equal("InternalServiceError;Receiver", response.Headers["x-amzn-query-error"]);
    }

    [Fact]
    public async Task Query()
    {
        var (response, body) = await WriteAsync(new("iam", "iam", AwsProtocol.Query, NamedOperations.None, XmlNamespace: "https://iam.amazonaws.com/doc/2010-05-08/"),
            new AwsException("NoSuchEntity", 404, "The user with name x cannot be found."));
        Assert.Equal(404, response.StatusCode);
        var root = XElement.Parse(body);
        XNamespace ns = "https://iam.amazonaws.com/doc/2010-05-08/";
        Assert.Equal("ErrorResponse", root.Name.LocalName);
        Assert.Equal("Sender", root.Element(ns + "Error")!.Element(ns + "Type")!.Value);
        Assert.Equal("NoSuchEntity", root.Element(ns + "Error")!.Element(ns + "Code")!.Value);
        Assert.Equal("REQ123", root.Element(ns + "RequestId")!.Value);
    }

    [Fact]
    public async Task RestXmlWithFieldsAndNoBodyForHead()
    {
        var s3 = new ServiceDescriptor("s3", "s3", AwsProtocol.RestXml, NamedOperations.None);
        var (response, body) = await WriteAsync(s3, new AwsException("NoSuchKey", 404, "The specified key does not exist.").With("Key", "a/b"));
        Assert.Equal("application/xml", response.ContentType);
        var root = XElement.Parse(body);
        Assert.Equal("Error", root.Name.LocalName);
        Assert.Equal("NoSuchKey", root.Element("Code")!.Value);
        Assert.Equal("a/b", root.Element("Key")!.Value);
        Assert.Equal("REQ123", root.Element("RequestId")!.Value);
        Assert.NotEmpty(root.Element("HostId")!.Value);

        var (head, headBody) = await WriteAsync(s3, new AwsException("NoSuchKey", 404, "x"), "HEAD");
        Assert.Equal(404, head.StatusCode);
        Assert.Equal("", headBody);
    }

    /// <summary>Issue 19: an error echoing input with characters XML 1.0 cannot carry is still
    /// written, in every protocol, with those characters replaced (JSON escapes control
    /// characters itself and loses only lone surrogates).</summary>
    [Fact]
    public async Task ErrorsEchoingControlCharactersAndLoneSurrogatesAreWritten()
    {
        const string echoed = "a\0b\u0001c\ud800d\uffffe\t\U0001F600";
        var iam = new ServiceDescriptor("iam", "iam", AwsProtocol.Query, NamedOperations.None, XmlNamespace: "https://iam.amazonaws.com/doc/2010-05-08/");
        var (_, query) = await WriteAsync(iam, new AwsException("ValidationError", 400, $"Value '{echoed}' is bad."));
        XNamespace ns = "https://iam.amazonaws.com/doc/2010-05-08/";
        Assert.Equal("Value 'a\ufffdb\ufffdc\ufffdd\ufffde\t\U0001F600' is bad.", XElement.Parse(query).Element(ns + "Error")!.Element(ns + "Message")!.Value);

        var (_, rest) = await WriteAsync(new ServiceDescriptor("s3", "s3", AwsProtocol.RestXml, NamedOperations.None),
            new AwsException("NoSuchKey", 404, "x").With("Key", echoed));
        Assert.Equal("a\ufffdb\ufffdc\ufffdd\ufffde\t\U0001F600", XElement.Parse(rest).Element("Key")!.Value);

        var (_, json) = await WriteAsync(new("kms", "kms", AwsProtocol.Json11, NamedOperations.None, TargetPrefix: "TrentService"),
            new AwsException("ValidationException", 400, echoed));
        Assert.Equal("a\0b\u0001c\ufffdd\uffffe\t\U0001F600", JsonDocument.Parse(json).RootElement.GetProperty("message").GetString());
    }

    /// <summary>Issue 19: a timestamp that is not one is the protocol's SerializationException
    /// (a JsonException), not a FormatException or overflow answered with a 500.</summary>
    [Theory]
    [InlineData("\"not-a-time\"")]
    [InlineData("\"99999-01-01T00:00:00Z\"")]
    [InlineData("1e20")]
    [InlineData("-1e18")]
    [InlineData("true")]
    [InlineData("[]")]
    public void BadJsonTimestampsAreJsonExceptions(string json)
    {
        var options = new JsonSerializerOptions { Converters = { new EpochSecondsConverter() } };
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<DateTimeOffset>(json, options));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), JsonSerializer.Deserialize<DateTimeOffset>("1700000000", options));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), JsonSerializer.Deserialize<DateTimeOffset>("\"2023-11-14T22:13:20Z\"", options));
    }

    [Fact]
    public void WireTextReturnsCleanTextAsIs()
    {
        const string clean = "plain, tabs\tand \U0001F600";
        Assert.Same(clean, WireText.ForXml(clean));
        Assert.Same(clean, WireText.ForJson(clean));
    }

    [Fact]
    public async Task RestJsonCarriesMembers()
    {
        var (response, body) = await WriteAsync(new("sagemaker-runtime", "sagemaker", AwsProtocol.RestJson, NamedOperations.None),
            new AwsException("ModelError", 424, "Received client error (400) from model").With("OriginalStatusCode", "400").With("OriginalMessage", "bad input"));
        Assert.Equal("ModelError", response.Headers["X-Amzn-ErrorType"]);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(400, json.RootElement.GetProperty("OriginalStatusCode").GetInt32());
        Assert.Equal("bad input", json.RootElement.GetProperty("OriginalMessage").GetString());
        Assert.False(json.RootElement.TryGetProperty("__type", out _));
    }
}
