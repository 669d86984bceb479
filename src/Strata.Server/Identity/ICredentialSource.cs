namespace Strata.Server.Identity;

/// <summary>What SigV4 verification needs of the identity store: the access key a request names,
/// with its secret, status, owner and (for a temporary key) session token and expiry.</summary>
public interface ICredentialSource
{
    /// <summary>The key, or null when none has that id.</summary>
    AccessKeyRecord? FindAccessKey(string accessKeyId);
}
