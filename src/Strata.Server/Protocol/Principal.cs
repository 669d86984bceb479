namespace Strata.Server.Protocol;

public enum PrincipalType { Anonymous, Root, User, AssumedRole }

/// <summary>Who sent a request, as IAM sees it: what authentication establishes and every later
/// stage and handler reads. <see cref="EntityName"/> is the IAM user's or the assumed role's name.
/// A caller signing with temporary credentials (STS) is <see cref="Temporary"/> and carries the
/// session policies passed to AssumeRole, which only ever narrow what it may do. A role session a
/// service acts in for a customer (SageMaker as a model's execution role) names that service in
/// <see cref="InvokedBy"/>, as CloudTrail records it.</summary>
public sealed record Principal(PrincipalType Type, string AccountId, string Arn, string UserId, string? AccessKeyId,
    string? EntityName = null, string? RoleArn = null, bool Temporary = false, IReadOnlyList<string>? SessionPolicies = null, string? InvokedBy = null)
{
    public static readonly Principal Anonymous = new(PrincipalType.Anonymous, "", "*", "anonymous", null);

    public bool IsAnonymous => Type == PrincipalType.Anonymous;

    public static Principal Root(string accountId, string accessKeyId)
        => new(PrincipalType.Root, accountId, $"arn:aws:iam::{accountId}:root", accountId, accessKeyId);
}
