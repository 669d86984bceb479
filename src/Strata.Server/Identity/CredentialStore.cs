using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Identity;

/// <summary>An account (tenant): its id, and the canonical user id S3 shows as owner.</summary>
public sealed record AccountRecord(string Id, string Name, string CanonicalUserId, DateTimeOffset CreatedAt);

/// <summary>An access key and whose it is. <see cref="UserName"/> is the IAM user (or, for a
/// role session, the role); temporary keys (STS) have a session token, an expiry, and the
/// session policies passed to AssumeRole.</summary>
public sealed record AccessKeyRecord(string AccessKeyId, string SecretAccessKey, string AccountId, PrincipalType PrincipalType,
    string PrincipalArn, string Status, DateTimeOffset CreatedAt,
    string? UserName = null, string? UserId = null, string? RoleArn = null,
    string? SessionToken = null, DateTimeOffset? Expiration = null, List<string>? SessionPolicies = null)
{
    /// <summary>The principal a request signed with this key stands for.</summary>
    public Principal ToPrincipal() => PrincipalType switch
    {
        PrincipalType.Root => Principal.Root(AccountId, AccessKeyId) with { Temporary = SessionToken is not null, SessionPolicies = SessionPolicies },
        _ => new Principal(PrincipalType, AccountId, PrincipalArn, UserId ?? AccessKeyId, AccessKeyId, UserName, RoleArn,
            SessionToken is not null, SessionPolicies),
    };
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(AccountRecord))]
[JsonSerializable(typeof(AccessKeyRecord))]
internal sealed partial class IdentityJson : JsonSerializerContext;

/// <summary>
/// Accounts and access keys in the state store: long-term keys (the accounts' roots, IAM users')
/// and temporary ones (STS). On first start it creates the default account and its root keys
/// (or takes them from <c>STRATA_ROOT_ACCESS_KEY_ID</c>/<c>…SECRET_ACCESS_KEY</c>).
/// </summary>
/// <param name="clock">Times the key cache; the command line's short-lived stores may leave it
/// to the system clock.</param>
public sealed class CredentialStore(IStateStore store, TimeProvider? clock = null) : ICredentialSource
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;

    const string Accounts = "accounts";
    const string AccessKeys = "access-keys";
    const string Settings = "settings";
    const string DefaultAccountSetting = "default-account";

    /// <summary>Ensures the default account and its root key exist. Returns the root key, and
    /// whether it was created just now (the only time its secret is printed).</summary>
    public (AccountRecord Account, AccessKeyRecord RootKey, bool Created) Bootstrap(string? fixedKeyId, string? fixedSecret, TimeProvider clock)
        => store.Write(w =>
        {
            _keys.Clear();
            var created = false;
            AccountRecord account;
            if (w.Get(Settings, DefaultAccountSetting) is { } accountId)
            {
                account = JsonSerializer.Deserialize(w.Get(Accounts, accountId)!, IdentityJson.Default.AccountRecord)!;
            }
            else
            {
                account = new AccountRecord(NewAccountId(), "default", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), clock.GetUtcNow());
                w.Put(Accounts, account.Id, JsonSerializer.Serialize(account, IdentityJson.Default.AccountRecord));
                w.Put(Settings, DefaultAccountSetting, account.Id);
            }

            AccessKeyRecord? root = null;
            if (fixedKeyId is { Length: > 0 } && fixedSecret is { Length: > 0 })
            {
                var existing = w.Get(AccessKeys, fixedKeyId) is { } json ? JsonSerializer.Deserialize(json, IdentityJson.Default.AccessKeyRecord) : null;
                if (existing is null || existing.SecretAccessKey != fixedSecret || existing.AccountId != account.Id)
                {
                    root = RootKey(account, fixedKeyId, fixedSecret, clock);
                    w.Put(AccessKeys, fixedKeyId, JsonSerializer.Serialize(root, IdentityJson.Default.AccessKeyRecord));
                    created = existing is null;
                }
                else root = existing;
            }
            else
            {
                foreach (var (_, json) in w.Scan(AccessKeys, "", null, int.MaxValue))
                {
                    var key = JsonSerializer.Deserialize(json, IdentityJson.Default.AccessKeyRecord)!;
                    if (key.AccountId == account.Id && key.PrincipalType == PrincipalType.Root && key.Status == "Active")
                    {
                        root = key;
                        break;
                    }
                }
                if (root is null)
                {
                    root = RootKey(account, "AKIA" + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), clock);
                    w.Put(AccessKeys, root.AccessKeyId, JsonSerializer.Serialize(root, IdentityJson.Default.AccessKeyRecord));
                    created = true;
                }
            }
            return (account, root, created);
        });

    // Every request looks its key up: a short-lived cache keeps that off the database. An entry
    // lives 5 seconds, so a key changed by another process (or, later, deleted through IAM)
    // stops working within that time; changes made here invalidate it at once.
    static readonly TimeSpan KeyCacheLifetime = TimeSpan.FromSeconds(5);
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (AccessKeyRecord? Key, DateTimeOffset Expires)> _keys = new();

    public AccessKeyRecord? FindAccessKey(string accessKeyId)
    {
        var now = _clock.GetUtcNow();
        if (_keys.TryGetValue(accessKeyId, out var cached) && cached.Expires > now) return cached.Key;
        var key = store.Read(r => r.Get(AccessKeys, accessKeyId)) is { } json ? JsonSerializer.Deserialize(json, IdentityJson.Default.AccessKeyRecord) : null;
        if (_keys.Count > 10_000) _keys.Clear();
        _keys[accessKeyId] = (key, now + KeyCacheLifetime);
        return key;
    }

    /// <summary>Forgets a cached key at once (IAM deleted or deactivated it).</summary>
    public void Forget(string accessKeyId) => _keys.TryRemove(accessKeyId, out _);

    public static AccessKeyRecord? GetKey(IStateReader r, string accessKeyId)
        => r.Get(AccessKeys, accessKeyId) is { } json ? JsonSerializer.Deserialize(json, IdentityJson.Default.AccessKeyRecord) : null;

    public static void PutKey(IStateWriter w, AccessKeyRecord key)
        => w.Put(AccessKeys, key.AccessKeyId, JsonSerializer.Serialize(key, IdentityJson.Default.AccessKeyRecord));

    public static bool DeleteKey(IStateWriter w, string accessKeyId) => w.Delete(AccessKeys, accessKeyId);

    /// <summary>Stores a new temporary key (STS) for <paramref name="template"/>'s principal, valid
    /// until <paramref name="expiration"/> with its session token.</summary>
    public AccessKeyRecord IssueTemporary(AccessKeyRecord template, DateTimeOffset expiration)
    {
        var key = template with
        {
            AccessKeyId = NewKeyId(temporary: true),
            SecretAccessKey = NewSecret(),
            SessionToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(96)),
            Expiration = expiration,
            Status = "Active",
        };
        store.Write(w =>
        {
            PutKey(w, key);
            return 0;
        });
        return key;
    }

    /// <summary>A new access key id: AKIA for long-term keys, ASIA for temporary ones.</summary>
    public static string NewKeyId(bool temporary) => (temporary ? "ASIA" : "AKIA") + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");

    public static string NewSecret() => RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

    /// <summary>Creates another account (tenant) with its root key.</summary>
    public (AccountRecord Account, AccessKeyRecord RootKey) CreateAccount(string name, TimeProvider clock) => store.Write(w =>
    {
        foreach (var (_, json) in w.Scan(Accounts, "", null, int.MaxValue))
            if (JsonSerializer.Deserialize(json, IdentityJson.Default.AccountRecord)!.Name == name)
                throw new InvalidOperationException($"An account named {name} already exists.");
        var account = new AccountRecord(NewAccountId(), name, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), clock.GetUtcNow());
        w.Put(Accounts, account.Id, JsonSerializer.Serialize(account, IdentityJson.Default.AccountRecord));
        var root = RootKey(account, NewKeyId(false), NewSecret(), clock);
        PutKey(w, root);
        return (account, root);
    });

    public List<AccountRecord> ListAccounts()
        => store.Read(r => r.Scan(Accounts, "", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, IdentityJson.Default.AccountRecord)!).ToList();

    public AccountRecord? FindAccount(string accountId)
        => store.Read(r => r.Get(Accounts, accountId)) is { } json ? JsonSerializer.Deserialize(json, IdentityJson.Default.AccountRecord) : null;

    static AccessKeyRecord RootKey(AccountRecord account, string id, string secret, TimeProvider clock)
        => new(id, secret, account.Id, PrincipalType.Root, $"arn:aws:iam::{account.Id}:root", "Active", clock.GetUtcNow());

    static string NewAccountId()
    {
        // 12 digits, not starting with 0 so that tools that parse it as a number keep all 12.
        return RandomNumberGenerator.GetInt32(1, 10).ToString() + RandomString(11, "0123456789");
    }

    static string RandomString(int length, string alphabet)
        => string.Create(length, alphabet, (span, a) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = a[RandomNumberGenerator.GetInt32(a.Length)];
        });
}
