namespace Strata.Server.Auth;

public enum PrincipalType { Anonymous, Root, User, AssumedRole }

/// <summary>Who sent a request, as IAM sees it.</summary>
public sealed record Principal(PrincipalType Type, string AccountId, string Arn, string UserId, string? AccessKeyId)
{
    public static readonly Principal Anonymous = new(PrincipalType.Anonymous, "", "*", "anonymous", null);

    public bool IsAnonymous => Type == PrincipalType.Anonymous;

    public static Principal Root(string accountId, string accessKeyId)
        => new(PrincipalType.Root, accountId, $"arn:aws:iam::{accountId}:root", accountId, accessKeyId);
}
