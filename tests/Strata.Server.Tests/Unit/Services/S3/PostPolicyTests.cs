using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>A browser upload's POST policy: parsing, and the form fields it allows or refuses.</summary>
public sealed class PostPolicyTests
{
    static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    static PostPolicy Policy(string json) => PostPolicy.Parse(Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));

    static Dictionary<string, string> Fields(params (string Name, string Value)[] fields)
        => fields.ToDictionary(f => f.Name, f => f.Value, StringComparer.OrdinalIgnoreCase);

    static AwsException Refusal(Action check) => Assert.Throws<AwsException>(check);

    const string Open = """{"expiration": "2026-03-01T13:00:00Z", "conditions": [{"bucket": "b"}, ["starts-with", "$key", "up/"], ["eq", "$Content-Type", "text/plain"], ["content-length-range", 1, 100]]}""";

    [Fact]
    public void AFormWithinThePolicyPasses()
    {
        var policy = Policy(Open);
        Assert.Equal((1L, 100L), policy.ContentLengthRange);
        policy.Check(Fields(("key", "up/a.txt"), ("content-type", "text/plain"), ("policy", "…"), ("x-amz-signature", "…"), ("x-ignore-me", "1")), "b", Now);
    }

    [Fact]
    public void AnExpiredPolicyIsRefusedFirst()
    {
        var e = Refusal(() => Policy(Open).Check(Fields(("key", "elsewhere")), "b", Now.AddHours(1)));
        Assert.Equal(("AccessDenied", 403, "Invalid according to Policy: Policy expired."), (e.Code, e.Status, e.Message));
    }

    [Fact]
    public void AFailingConditionIsQuotedInArrayForm()
    {
        var e = Refusal(() => Policy(Open).Check(Fields(("key", "other/a.txt"), ("Content-Type", "text/plain")), "b", Now));
        Assert.Equal("Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", \"up/\"]", e.Message);
        e = Refusal(() => Policy(Open).Check(Fields(("key", "up/a"), ("Content-Type", "text/html")), "b", Now));
        Assert.Equal("Invalid according to Policy: Policy Condition failed: [\"eq\", \"$Content-Type\", \"text/plain\"]", e.Message);
        // The object form is an exact match too, and "bucket" is the bucket the request addresses.
        e = Refusal(() => Policy(Open).Check(Fields(("key", "up/a"), ("Content-Type", "text/plain")), "other", Now));
        Assert.Equal("Invalid according to Policy: Policy Condition failed: [\"eq\", \"$bucket\", \"b\"]", e.Message);
    }

    [Fact]
    public void AMissingFieldIsEmpty()
    {
        var policy = Policy("""{"expiration": "2026-03-01T13:00:00.000Z", "conditions": [["starts-with", "$key", ""], ["eq", "$x-amz-meta-a", ""]]}""");
        policy.Check(Fields(("key", "anything")), "b", Now);
        Refusal(() => policy.Check(Fields(("key", "k"), ("x-amz-meta-a", "set")), "b", Now));
    }

    [Fact]
    public void EveryFieldMustBeCovered()
    {
        var e = Refusal(() => Policy(Open).Check(Fields(("key", "up/a"), ("Content-Type", "text/plain"), ("x-amz-meta-extra", "1")), "b", Now));
        Assert.Equal(("AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-extra"), (e.Code, e.Message));
    }

    [Fact]
    public void AContentTypeListMustStartWithThePrefixThroughout()
    {
        var policy = Policy("""{"expiration": "2026-03-01T13:00:00Z", "conditions": [["starts-with", "$key", ""], ["starts-with", "$Content-Type", "image/"]]}""");
        policy.Check(Fields(("key", "k"), ("Content-Type", "image/png, image/jpeg")), "b", Now);
        Refusal(() => policy.Check(Fields(("key", "k"), ("Content-Type", "image/png, text/plain")), "b", Now));
    }

    [Theory]
    [InlineData("not base64!", "Invalid Policy: Invalid JSON.")]
    [InlineData("""{"conditions": []}""", "Invalid Policy: Policy missing expiration.")]
    [InlineData("""{"expiration": "tomorrow", "conditions": []}""", "Invalid Policy: Invalid 'expiration' value: 'tomorrow'")]
    [InlineData("""{"expiration": "2026-03-01T13:00:00Z"}""", "Invalid Policy: Policy missing conditions.")]
    [InlineData("""{"expiration": "2026-03-01T13:00:00Z", "conditions": [{"success_action_status": 201}]}""", "Invalid Policy: Invalid Simple-Condition: value must be a string.")]
    [InlineData("""{"expiration": "2026-03-01T13:00:00Z", "conditions": [["ends-with", "$key", "x"]]}""", "Invalid Policy: Invalid Condition: unknown operation 'ends-with'.")]
    [InlineData("""{"expiration": "2026-03-01T13:00:00Z", "conditions": [["eq", "key", "x"]]}""", "Invalid Policy: Invalid 'eq' condition: the field name must start with '$'.")]
    [InlineData("""{"expiration": "2026-03-01T13:00:00Z", "conditions": [["content-length-range", -1, 5]]}""", "Invalid Policy: Invalid content-length-range condition: expecting two non-negative integers.")]
    public void AMalformedPolicyIsInvalidPolicyDocument(string policy, string message)
    {
        var base64 = policy == "not base64!" ? policy : Convert.ToBase64String(Encoding.UTF8.GetBytes(policy));
        var e = Assert.Throws<AwsException>(() => PostPolicy.Parse(base64));
        Assert.Equal(("InvalidPolicyDocument", 400, message), (e.Code, e.Status, e.Message));
    }
}
