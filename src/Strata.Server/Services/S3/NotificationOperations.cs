using System.Globalization;
using Strata.Server.Protocol;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Services.S3;

/// <summary>
/// A bucket's notification configuration (<c>?notification</c>). Strata delivers object events
/// to EventBridge only (<c>&lt;EventBridgeConfiguration/&gt;</c>: every object event of the bucket
/// goes to the owner's default event bus, where rules filter them). It has no SQS and no Lambda,
/// and does not publish object events to SNS, so a topic, queue or function configuration is
/// refused as S3 refuses a destination it cannot validate, and nothing of the request is kept.
/// </summary>
internal sealed class NotificationOperations(S3Environment env)
{
    public async Task PutBucketNotificationConfiguration(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        var configuration = await S3Http.ReadXmlAsync(ctx, "NotificationConfiguration", S3XmlReader.ReadNotificationConfiguration);
        var destinations = new List<(string Element, string? Arn, string Service, string Reason)>();
        destinations.AddRange((configuration.TopicConfigurations ?? []).Select(c => ("Topic", c.TopicArn, "sns",
            "Permissions on the destination topic do not allow S3 to publish notifications from this bucket")));
        destinations.AddRange((configuration.QueueConfigurations ?? []).Select(c => ("Queue", c.QueueArn, "sqs",
            "Permissions on the destination queue do not allow S3 to publish notifications from this bucket")));
        destinations.AddRange((configuration.LambdaFunctionConfigurations ?? []).Select(c => ("CloudFunction", c.LambdaFunctionArn, "lambda",
            "Permissions on the destination function do not allow S3 to invoke it")));
        foreach (var (element, arn, service, _) in destinations)
        {
            if (arn is null || arn.Split(':') is not ["arn", "aws", var s, _, _, _, ..] || s != service)
                throw S3Errors.InvalidArgument("The ARN is not well formed", element, arn);
        }
        if (destinations.Count > 0)
        {
            // S3 names each destination it could not validate, numbered, with why.
            var error = new AwsException("InvalidArgument", 400, "Unable to validate the following destination configurations");
            for (var i = 0; i < destinations.Count; i++)
            {
                var n = (i + 1).ToString(CultureInfo.InvariantCulture);
                error.With("ArgumentName" + n, destinations[i].Arn).With("ArgumentValue" + n, destinations[i].Reason);
            }
            throw error;
        }
        var notification = configuration.EventBridgeConfiguration is null ? null : new BucketNotification(EventBridge: true);
        env.Store.UpdateBucket(bucket.Name, b => b with { Notification = notification });
        S3Http.Empty(ctx);
    }

    /// <summary>A bucket that never had a configuration answers an empty one, as S3 does.</summary>
    public Task GetBucketNotificationConfiguration(RequestContext ctx)
    {
        var bucket = env.RequireBucket(ctx);
        return S3Http.WriteXmlAsync(ctx, new NotificationConfiguration
        {
            EventBridgeConfiguration = bucket.Notification?.EventBridge == true ? new EventBridgeConfiguration() : null,
        });
    }
}
