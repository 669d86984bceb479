using Strata.Server.Services.Sns;

namespace Strata.Server.Tests.Unit;

public sealed class DeliveryPolicyTests
{
    [Fact]
    public void AwsDefaultIsThreeRetriesTwentySecondsApart()
    {
        var policy = DeliveryPolicies.RetryPolicyFor(null, null);
        Assert.Equal(TimeSpan.FromSeconds(20), DeliveryPolicies.RetryDelay(policy, 1));
        Assert.Equal(TimeSpan.FromSeconds(20), DeliveryPolicies.RetryDelay(policy, 3));
        Assert.Null(DeliveryPolicies.RetryDelay(policy, 4));
    }

    [Fact]
    public void PhasesOfACustomPolicy()
    {
        var policy = DeliveryPolicies.RetryPolicyFor("""{"healthyRetryPolicy": {"numRetries": 7, "numNoDelayRetries": 1, "numMinDelayRetries": 1, "numMaxDelayRetries": 1, "minDelayTarget": 10, "maxDelayTarget": 50}}""", null);
        // 1 immediate, 1 at the minimum, 4 backing off linearly from 10 s to 50 s, 1 at the maximum.
        TimeSpan?[] expected = [TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(23), TimeSpan.FromSeconds(37),
            TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(50), null];
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], DeliveryPolicies.RetryDelay(policy, i + 1));
    }

    [Fact]
    public void TopicCanForbidSubscriptionOverrides()
    {
        var topic = """{"http": {"defaultHealthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 5, "maxDelayTarget": 5}, "disableSubscriptionOverrides": true}}""";
        var policy = DeliveryPolicies.RetryPolicyFor("""{"healthyRetryPolicy": {"numRetries": 9}}""", topic);
        Assert.Equal(TimeSpan.FromSeconds(5), DeliveryPolicies.RetryDelay(policy, 1));
        Assert.Null(DeliveryPolicies.RetryDelay(policy, 2));
    }

    [Fact]
    public void SigningStringFollowsAwsOrder()
    {
        var fields = new Dictionary<string, string> { ["Type"] = "Notification", ["Message"] = "m", ["MessageId"] = "id", ["Timestamp"] = "t", ["TopicArn"] = "arn", ["UnsubscribeURL"] = "u" };
        Assert.Equal("Message\nm\nMessageId\nid\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n", SnsSigning.StringToSign(fields));
    }
}
