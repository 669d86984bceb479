using Strata.Server.Protocol;

namespace Strata.Server.Services.Runtime;

/// <summary>The model container answered with an error, timed out, or its model could not be
/// loaded or started: SageMaker's ModelError, with what the container said. Typed so that the
/// invocation metrics tell a container's 4xx from the rest without reading the wire error.</summary>
public sealed class ModelInvocationFailed(string message, string originalStatusCode, string originalMessage, string? logStreamArn = null)
    : DomainError(message)
{
    public string OriginalStatusCode { get; } = originalStatusCode;
    public string OriginalMessage { get; } = originalMessage;
    public string? LogStreamArn { get; } = logStreamArn;

    /// <summary>The container answered 4xx (counted as Invocation4XXErrors; anything else as 5XX).</summary>
    public bool FromClientError => OriginalStatusCode.StartsWith('4');
}

public static class RuntimeErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<ModelInvocationFailed>(e => SageMakerRuntimeErrors.ModelError(e.Message)
            .With("OriginalStatusCode", e.OriginalStatusCode)
            .With("OriginalMessage", e.OriginalMessage)
            .With("LogStreamArn", e.LogStreamArn));
}
