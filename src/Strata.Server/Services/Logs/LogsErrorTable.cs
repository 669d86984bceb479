using Strata.Server.Protocol;

namespace Strata.Server.Services.Logs;

// CloudWatch Logs' domain errors: what is not there, what is there already and what Logs
// refuses, in its own terms, with AWS's messages. The table below is the one place that says
// which AWS error each one is.

/// <summary>No log group by that name (or ARN) in the caller's account.</summary>
public sealed class LogGroupNotFound() : DomainError("The specified log group does not exist.");

/// <summary>No log stream by that name in the group.</summary>
public sealed class LogStreamNotFound() : DomainError("The specified log stream does not exist.");

public sealed class LogGroupAlreadyExists() : DomainError("The specified log group already exists");

public sealed class LogStreamAlreadyExists() : DomainError("The specified log stream already exists");

/// <summary>A parameter (or combination of them) Logs refuses, beyond what the model's
/// constraints say.</summary>
public sealed class InvalidLogsParameter(string message) : DomainError(message);

/// <summary>No query by that id (or it was forgotten: Strata keeps the newest results until restart).</summary>
public sealed class QueryNotFound(string queryId) : DomainError($"Query {queryId} does not exist.");

/// <summary>A tag change that would leave a resource with more than 50 tags.</summary>
public sealed class TooManyLogTags() : DomainError("A resource can have no more than 50 tags.");

/// <summary>No metric filter by that name on the group.</summary>
public sealed class MetricFilterNotFound() : DomainError("The specified metric filter does not exist.");

/// <summary>No subscription filter by that name on the group (Strata makes none).</summary>
public sealed class SubscriptionFilterNotFound() : DomainError("The specified subscription filter does not exist.");

/// <summary>A 101st metric filter on a group.</summary>
public sealed class MetricFilterLimitExceeded() : DomainError("Resource limit exceeded.");

public static class LogsErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<LogGroupNotFound>(e => LogsErrors.ResourceNotFoundException(e.Message))
        .Map<LogStreamNotFound>(e => LogsErrors.ResourceNotFoundException(e.Message))
        .Map<LogGroupAlreadyExists>(e => LogsErrors.ResourceAlreadyExistsException(e.Message))
        .Map<LogStreamAlreadyExists>(e => LogsErrors.ResourceAlreadyExistsException(e.Message))
        .Map<InvalidLogsParameter>(e => LogsErrors.InvalidParameterException(e.Message))
        .Map<InvalidFilterPattern>(e => LogsErrors.InvalidParameterException(e.Message))
        .Map<TooManyLogTags>(e => LogsErrors.TooManyTagsException(e.Message))
        .Map<QueryNotFound>(e => LogsErrors.ResourceNotFoundException(e.Message))
        .Map<MetricFilterNotFound>(e => LogsErrors.ResourceNotFoundException(e.Message))
        .Map<SubscriptionFilterNotFound>(e => LogsErrors.ResourceNotFoundException(e.Message))
        .Map<MetricFilterLimitExceeded>(e => LogsErrors.LimitExceededException(e.Message))
        .Map<MalformedQuery>(e => LogsErrors.MalformedQueryException(e.Message));
}
