using System.Text;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;

namespace Strata.Server.Tests.Unit;

/// <summary>The AWS SDK integrations of S3 and SNS put a task's Parameters on the wire as the SDK
/// does, and read the answer back as the SDK's response object.</summary>
public sealed class SdkWireTests
{
    static Dictionary<string, string> Form(InternalHttpRequest request)
        => Encoding.UTF8.GetString(request.Body).Split('&').Select(p => p.Split('=')).ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p[1]));

    [Fact]
    public void SnsMembersAreFlattenedByTheQueryProtocolsRules()
    {
        var form = Form(SdkWire.SnsRequest("CreateTopic", JsonNode.Parse("""
            {"Name": "t", "Attributes": {"DisplayName": "x", "FifoTopic": "false"}, "Tags": [{"Key": "team", "Value": "ml"}]}
            """)));
        Assert.Equal(new Dictionary<string, string>
        {
            ["Action"] = "CreateTopic",
            ["Version"] = "2010-03-31",
            ["Name"] = "t",
            ["Attributes.entry.1.key"] = "DisplayName",
            ["Attributes.entry.1.value"] = "x",
            ["Attributes.entry.2.key"] = "FifoTopic",
            ["Attributes.entry.2.value"] = "false",
            ["Tags.member.1.Key"] = "team",
            ["Tags.member.1.Value"] = "ml",
        }, form);
        // Publish's MessageAttributes are a map whose entries are Name and Value.
        form = Form(SdkWire.SnsRequest("Publish", JsonNode.Parse("""{"Message": "m", "MessageAttributes": {"a.b": {"DataType": "Number", "StringValue": "1"}}}""")));
        Assert.Equal("a.b", form["MessageAttributes.entry.1.Name"]);
        Assert.Equal("Number", form["MessageAttributes.entry.1.Value.DataType"]);
        Assert.Equal("1", form["MessageAttributes.entry.1.Value.StringValue"]);
    }

    [Fact]
    public void SnsAnswersAreTheResultsMembersWithListsAsArrays()
    {
        const string empty = """<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics/></ListTopicsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListTopicsResponse>""";
        Assert.Equal("""{"Topics":[]}""", SdkWire.SnsAnswer("ListTopics", Encoding.UTF8.GetBytes(empty)).ToJsonString());
        const string attributes = """<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><key>Owner</key><value>1</value></entry></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>""";
        Assert.Equal("""{"Attributes":{"Owner":"1"}}""", SdkWire.SnsAnswer("GetTopicAttributes", Encoding.UTF8.GetBytes(attributes)).ToJsonString());
    }

    [Fact]
    public void S3RequestsAddressTheObjectAndCarryHeaderAndQueryMembers()
    {
        var get = SdkWire.S3Request("GetObject", JsonNode.Parse("""{"Bucket": "b", "Key": "a dir/é.json", "VersionId": "v1", "Range": "bytes=0-9"}"""), "r");
        Assert.Equal(("GET", "/b/a%20dir/%C3%A9.json", "versionId=v1", "bytes=0-9"), (get.Method, get.Path, get.Query, get.Headers["Range"]));
        var put = SdkWire.S3Request("PutObject", JsonNode.Parse("""{"Bucket": "b", "Key": "k", "Body": {"auc": 0.9}, "Metadata": {"Stage": "eval"}}"""), "r");
        Assert.Equal(("PUT", """{"auc":0.9}""", "eval"), (put.Method, Encoding.UTF8.GetString(put.Body), put.Headers["x-amz-meta-Stage"]));
        var list = SdkWire.S3Request("ListObjectsV2", JsonNode.Parse("""{"Bucket": "b", "Prefix": "p/", "MaxKeys": 5}"""), "r");
        Assert.Equal(("/b", "list-type=2&prefix=p%2F&max-keys=5"), (list.Path, list.Query));
        var refused = Assert.Throws<Strata.States.StatesError>(() => SdkWire.S3Request("GetObject", JsonNode.Parse("""{"Bucket": "b"}"""), "r"));
        Assert.Equal("States.Runtime", refused.Error);
    }

    [Fact]
    public void S3AnswersTypeTheirMembers()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Length"] = "3",
            ["ETag"] = "\"e\"",
            ["Last-Modified"] = "Thu, 03 Dec 2026 05:00:00 GMT",
            ["x-amz-meta-stage"] = "eval",
            ["Content-Type"] = "text/plain",
        };
        var answer = SdkWire.S3Answer("GetObject", new InternalHttpResult("r", null, 200, headers, "abc"u8.ToArray()));
        Assert.Equal("""{"Body":"abc","ContentLength":3,"ContentType":"text/plain","ETag":"\u0022e\u0022","LastModified":"2026-12-03T05:00:00Z","Metadata":{"stage":"eval"}}""",
            answer.ToJsonString());
        const string listing = """<ListBucketResult><Name>b</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>3</Size><LastModified>2026-12-03T05:00:00.000Z</LastModified></Contents></ListBucketResult>""";
        var listed = SdkWire.S3Answer("ListObjectsV2", new InternalHttpResult("r", null, 200, new Dictionary<string, string>(), Encoding.UTF8.GetBytes(listing)));
        Assert.Equal("""{"Name":"b","KeyCount":1,"IsTruncated":false,"Contents":[{"Key":"k","Size":3,"LastModified":"2026-12-03T05:00:00Z"}]}""", listed.ToJsonString());
    }
}
