namespace Strata.Server.Auth;

public enum PrincipalType { Anonymous, Root, User, AssumedRole }

/// <summary>Who sent a request, as IAM sees it. <see cref="EntityName"/> is the IAM user's or
/// the assumed role's name; <see cref="Key"/> the access key it signed with (temporary keys
/// carry their session policies and expiry).</summary>
public sealed record Principal(PrincipalType Type, string AccountId, string Arn, string UserId, string? AccessKeyId,
    string? EntityName = null, string? RoleArn = null, AccessKeyRecord? Key = null)
{
    public static readonly Principal Anonymous = new(PrincipalType.Anonymous, "", "*", "anonymous", null);

    public bool IsAnonymous => Type == PrincipalType.Anonymous;

    public static Principal Root(string accountId, string accessKeyId)
        => new(PrincipalType.Root, accountId, $"arn:aws:iam::{accountId}:root", accountId, accessKeyId);

    /// <summary>The principal an access key stands for.</summary>
    public static Principal Of(AccessKeyRecord key) => key.PrincipalType switch
    {
        PrincipalType.Root => Root(key.AccountId, key.AccessKeyId) with { Key = key },
        _ => new Principal(key.PrincipalType, key.AccountId, key.PrincipalArn, key.UserId ?? key.AccessKeyId, key.AccessKeyId,
            key.UserName, key.RoleArn, key),
    };
}
