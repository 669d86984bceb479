namespace Strata.Server.Protocol;

/// <summary>
/// What the pipeline needs to know about an AWS service: how requests find it (SigV4 signing
/// name, <c>X-Amz-Target</c> prefix, path), the protocol it speaks, and its operations.
/// </summary>
public sealed record ServiceDescriptor(
    string Id,
    string SigningName,
    AwsProtocol Protocol,
    IOperationResolver Operations,
    string? TargetPrefix = null,
    string? PathPrefix = null,
    string? XmlNamespace = null,
    bool QueryCompatible = false,
    string? AccessDeniedCode = null)
{
    /// <summary>The code a refused request gets: AWS's Query services say AccessDenied, except
    /// SNS, which says AuthorizationError.</summary>
    public string QueryAccessDeniedCode => AccessDeniedCode ?? "AccessDenied";

    public bool IsJson => Protocol is AwsProtocol.Json10 or AwsProtocol.Json11;
}
