namespace Strata.Server.Protocol;

/// <summary>
/// One CloudTrail event record, as the request pipeline's audit stage made it: <see cref="Json"/>
/// is the whole record (eventVersion 1.09, the fields AWS documents) and the other members are
/// what event history and trails select on, so that neither has to parse it again.
/// </summary>
public sealed record AuditRecord
{
    /// <summary>The account whose resources the call was about (recipientAccountId).</summary>
    public required string Account { get; init; }
    public required string EventId { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    /// <summary>The service's endpoint name, e.g. <c>sagemaker.amazonaws.com</c>.</summary>
    public required string EventSource { get; init; }
    public required string EventName { get; init; }
    public required bool ReadOnly { get; init; }
    /// <summary>False for data events (S3 object operations, InvokeEndpoint), which only trails
    /// whose selectors ask for them record.</summary>
    public required bool ManagementEvent { get; init; }
    /// <summary>The identity's user name (or role session name), as LookupEvents' Username.</summary>
    public string? Username { get; init; }
    public string? AccessKeyId { get; init; }
    /// <summary>What the call addressed: (ResourceType, ResourceName), e.g. ("AWS::S3::Bucket", "models").</summary>
    public IReadOnlyList<AuditResource> Resources { get; init; } = [];
    public required string Json { get; init; }
}

public sealed record AuditResource(string Type, string Name);

/// <summary>
/// Where the audit stage hands its records (CloudTrail's event history and trails). Both calls
/// are made on the request path: they must be cheap, must not block on I/O and never throw.
/// </summary>
public interface IAuditSink
{
    /// <summary>Whether any trail of the account records data events of this source (S3's
    /// object operations, SageMaker's InvokeEndpoint): when none does, the pipeline does not even
    /// build the record.</summary>
    bool WantsDataEvents(string account, string eventSource);

    void Record(AuditRecord record);
}
