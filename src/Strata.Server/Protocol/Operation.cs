namespace Strata.Server.Protocol;

/// <summary>
/// One API operation, declared once: its AWS name, the IAM action that authorizes it, how to
/// compute the ARN of the resource it acts on, and its handler. The pipeline reads the
/// declaration; handlers never authenticate or authorize by themselves.
/// </summary>
public sealed record Operation(
    string Name,
    string IamAction,
    Func<RequestContext, string> Resource,
    Func<RequestContext, Task> Handler)
{
    /// <summary>Reads and validates the typed input of a generated operation (in the pipeline's
    /// read-input stage, before authorization, so the resource function can use it); null for
    /// operations that read their request themselves (S3's streaming bodies).</summary>
    public Func<RequestContext, object>? ReadInput { get; init; }

    /// <summary>The same stage for an operation that reads its own streamed request, where
    /// authorization needs what its small body says (S3's PutObjectTagging: the tags it sets are
    /// condition keys). It leaves the body readable again for the handler.</summary>
    public Func<RequestContext, Task<object?>>? ReadInputAsync { get; init; }

    /// <summary>An unsigned request may call it (anonymous): the operation carries its own
    /// credential, as SNS's ConfirmSubscription does its token (the SubscribeURL an endpoint is sent
    /// is fetched without a signature). Authentication lets it through and authorization leaves
    /// an anonymous call to the handler; a signed call is authorized as any other.</summary>
    public bool AllowUnsigned { get; init; }

    /// <summary>The handler decides, item by item, what its request may do (S3's DeleteObjects:
    /// each key by <c>s3:DeleteObject</c>, or <c>s3:DeleteObjectVersion</c> when it names a
    /// version, a refused key reported in the answer while the others are deleted). The
    /// authorization stage names the action and resource (for the audit) but decides nothing.</summary>
    public bool AuthorizedPerItem { get; init; }

    /// <summary>The IAM action of this request, where it depends on the request: S3 authorizes a
    /// request that names an object version (<c>?versionId=</c>) as <c>s3:GetObjectVersion</c>,
    /// <c>s3:DeleteObjectVersion</c>, …, not as the plain action. Null: always <see cref="IamAction"/>.</summary>
    public Func<RequestContext, string>? ActionOf { get; init; }
}

/// <summary>Finds the operation a request asks for, by the rules of the service's protocol.</summary>
public interface IOperationResolver
{
    /// <summary>The operation, or null when the service has none of that name/shape
    /// (the pipeline then answers with the protocol's unknown-operation error).</summary>
    Operation? Resolve(RequestContext context);

    /// <summary>How the service's typed domain errors become AWS errors.</summary>
    ErrorTable Errors => ErrorTable.None;

    /// <summary>Whether the operation of that name may be called unsigned (<see cref="Operation.AllowUnsigned"/>).</summary>
    bool AllowsUnsigned(string operationName) => false;

    /// <summary>Adds the service's own condition keys (<c>s3:prefix</c>, <c>s3:ExistingObjectTag/…</c>)
    /// for one decision on the request: the keys depend on the action and resource asked about,
    /// and a request may need several (CopyObject also reads its source).</summary>
    void AddConditionKeys(RequestContext ctx, string action, string resource, IDictionary<string, IReadOnlyList<string>> keys) { }

    /// <summary>The largest request body the service takes, and how it refuses a larger one
    /// (null: only the protocol stage's bound on every buffered body).</summary>
    RequestBodyLimit? BodyLimit => null;
}

/// <summary>A service's bound on request bodies: a body over <paramref name="MaxBytes"/> is refused
/// with <paramref name="Refuse"/>'s error (given the declared length, when there is one) as soon
/// as it is known to be over, before it is read (Content-Length) or as it is read (chunked).</summary>
public sealed record RequestBodyLimit(int MaxBytes, Func<RequestContext, long?, AwsException> Refuse);

/// <summary>A service reached by operation name (JSON <c>X-Amz-Target</c> or Query <c>Action</c>).</summary>
public sealed class NamedOperations(IEnumerable<Operation> operations, ErrorTable? errors = null) : IOperationResolver
{
    public ErrorTable Errors { get; } = errors ?? ErrorTable.None;

    readonly Dictionary<string, Operation> _byName = operations.ToDictionary(o => o.Name, StringComparer.Ordinal);

    public static readonly NamedOperations None = new([]);

    public bool AllowsUnsigned(string operationName) => _byName.TryGetValue(operationName, out var op) && op.AllowUnsigned;

    public Operation? Resolve(RequestContext context)
        => context.OperationName is { } name && _byName.TryGetValue(name, out var op) ? op : null;
}
