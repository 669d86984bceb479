using Strata.Policy;
using Strata.Server.Protocol;

namespace Strata.Server.Identity;

/// <summary>The policies that decide what one principal may do, parsed once: its identity policies
/// (inline and attached, a user's groups' too), its permissions boundary, and its tags
/// (<c>aws:PrincipalTag/*</c>).</summary>
public sealed record PrincipalPolicies(IReadOnlyList<PolicyDocument> Identity, PolicyDocument? Boundary, IReadOnlyList<IamTag> Tags);

/// <summary>
/// What authorization reads of the identity store: the policies of a principal, and the roles it
/// may become with their trust policies. IAM's writes invalidate what is cached behind it.
/// </summary>
public interface IPolicySource
{
    /// <summary>The identity policies, boundary and tags of a user or a role session; none for
    /// the root or a principal that no longer exists.</summary>
    PrincipalPolicies PoliciesOf(Principal principal);

    /// <summary>The role an ARN names (its trust policy is <see cref="IamRole.AssumeRolePolicyDocument"/>), or null.</summary>
    IamRole? FindRole(string roleArn);

    /// <summary>A stored policy document, parsed (documents were validated when written).</summary>
    PolicyDocument Parse(string json, PolicyKind kind);
}
