namespace Strata.Server.Protocol;

/// <summary>Whether a further permission is granted, and if not, the reason IAM gives (e.g.
/// "because no resource-based policy allows the kms:Decrypt action"; empty when it gives none).</summary>
public readonly record struct AccessDecision(bool IsAllowed, string Reason);

/// <summary>
/// The authorization stage, as handlers see it once it has run: an operation that needs a
/// permission besides its own (CopyObject reads its source, SSE-KMS uses a key) asks here, with
/// the same principal, context keys and policies as the request itself. Implemented by Auth.
/// </summary>
public interface IRequestAuthorizer
{
    /// <summary>Throws the protocol's access-denied error unless the caller may perform
    /// <paramref name="action"/> on <paramref name="resource"/>.</summary>
    void Require(RequestContext ctx, string action, string resource);

    /// <summary>The decision, for a handler that words the refusal itself.</summary>
    AccessDecision Decide(RequestContext ctx, string action, string resource);
}
