using Strata.Server.Protocol;

namespace Strata.Server.Services.Sns;

/// <summary>No topic by that ARN (a domain error: <see cref="SnsErrorTable"/> answers it as
/// AWS's NotFound).</summary>
public sealed class TopicNotFound(string topicArn) : DomainError("Topic does not exist")
{
    public string TopicArn { get; } = topicArn;
}

/// <summary>
/// Publishing for other parts of Strata (CloudWatch alarm actions, later EventBridge targets):
/// the same path as the Publish API (checked, filtered, queued durably, delivered in the
/// background), without a request. Authorization is the caller's business, as it is for a
/// service acting on its own.
/// </summary>
public sealed class SnsPublisher(SnsService sns)
{
    /// <summary>Publishes <paramref name="message"/> to the topic and returns the MessageId.
    /// Throws <see cref="TopicNotFound"/> for a topic that does not exist, and an
    /// <see cref="AwsException"/> (InvalidParameter) for a message SNS would refuse.</summary>
    public Task<string> PublishAsync(string topicArn, string? subject, string message, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(sns.PublishInternal(topicArn, subject, message));
    }
}

/// <summary>SNS's domain errors and the AWS errors they are.</summary>
public static class SnsErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<TopicNotFound>(e => SnsErrors.NotFoundException(e.Message));
}
