using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Kms;

/// <summary>
/// KMS (JSON 1.1, <c>TrentService</c>): symmetric keys (AES-256-GCM) with key policies, aliases,
/// enable/disable, scheduled deletion, rotation, and the cryptographic operations. Every key
/// operation's resource is the key's ARN, so the pipeline authorizes it against the key policy
/// (which must allow, as in AWS; the default one delegates to the account's IAM policies).
/// </summary>
public sealed partial class KmsService(KmsStore store, TimeProvider clock, string region)
{
    public const int MaxPlaintext = 4096;

    public IEnumerable<Operation> Operations =>
    [
        new("CreateKey", "kms:CreateKey", _ => "*", CreateKey),
        Key("DescribeKey", DescribeKey),
        new("ListKeys", "kms:ListKeys", _ => "*", ListKeys),
        Key("EnableKey", EnableKey),
        Key("DisableKey", DisableKey),
        Key("ScheduleKeyDeletion", ScheduleKeyDeletion),
        Key("CancelKeyDeletion", CancelKeyDeletion),
        Key("CreateAlias", CreateAlias, "TargetKeyId"),
        new("ListAliases", "kms:ListAliases", _ => "*", ListAliases),
        new("DeleteAlias", "kms:DeleteAlias", AliasResource, DeleteAlias),
        Key("UpdateAlias", UpdateAlias, "TargetKeyId"),
        Key("Encrypt", Encrypt),
        new("Decrypt", "kms:Decrypt", DecryptResource, Decrypt),
        new("ReEncrypt", "kms:ReEncryptFrom", DecryptResource, ReEncrypt),
        Key("GenerateDataKey", ctx => GenerateDataKey(ctx, plaintext: true)),
        Key("GenerateDataKeyWithoutPlaintext", ctx => GenerateDataKey(ctx, plaintext: false)),
        new("GenerateRandom", "kms:GenerateRandom", _ => "*", GenerateRandom),
        Key("EnableKeyRotation", EnableKeyRotation),
        Key("DisableKeyRotation", DisableKeyRotation),
        Key("GetKeyRotationStatus", GetKeyRotationStatus),
        Key("RotateKeyOnDemand", RotateKeyOnDemand),
        Key("PutKeyPolicy", PutKeyPolicy),
        Key("GetKeyPolicy", GetKeyPolicy),
        Key("TagResource", TagResource),
        Key("UntagResource", UntagResource),
        Key("ListResourceTags", ListResourceTags),
    ];

    /// <summary>Operations newer than the oldest supported clients' models.</summary>
    public static readonly string[] NewerOperations = ["RotateKeyOnDemand"];

    /// <summary>An operation on the key its <paramref name="member"/> names (id, ARN, alias).</summary>
    Operation Key(string name, Func<RequestContext, Task> handler, string member = "KeyId")
        => new(name, "kms:" + name, ctx =>
        {
            var key = Resolve(ctx, JsonProtocol.String(ctx, member), required: false);
            SetContextKeys(ctx, "EncryptionContext");
            return key?.Arn ?? "*";
        }, handler);

    string AliasResource(RequestContext ctx)
        => JsonProtocol.String(ctx, "AliasName") is { } alias ? $"arn:aws:kms:{region}:{ctx.Principal.AccountId}:{alias}" : "*";

    /// <summary>Decrypt names its key inside the ciphertext blob.</summary>
    string DecryptResource(RequestContext ctx)
    {
        SetContextKeys(ctx, ctx.OperationName == "ReEncrypt" ? "SourceEncryptionContext" : "EncryptionContext");
        return Blob(ctx, "CiphertextBlob", required: false) is { } blob && KmsStore.KeyIdOf(blob) is { } id && store.GetKey(id) is { } key ? key.Arn : "*";
    }

    /// <summary>kms:EncryptionContext:* condition keys from the request's context.</summary>
    static void SetContextKeys(RequestContext ctx, string member)
    {
        var context = EncryptionContext(ctx, member);
        foreach (var (k, v) in context) ctx.ConditionKeys["kms:EncryptionContext:" + k] = [v];
        if (context.Count > 0) ctx.ConditionKeys["kms:EncryptionContextKeys"] = context.Keys.ToList();
    }

    /// <summary>The key policy AWS gives a key created without one: the account's IAM policies decide.</summary>
    public static string DefaultPolicy(string account) => $$"""
        {
          "Version" : "2012-10-17",
          "Id" : "key-default-1",
          "Statement" : [ {
            "Sid" : "Enable IAM User Permissions",
            "Effect" : "Allow",
            "Principal" : { "AWS" : "arn:aws:iam::{{account}}:root" },
            "Action" : "kms:*",
            "Resource" : "*"
          } ]
        }
        """;

    /// <summary>The authorizer's lookup: a key's policy is required and is the resource policy.</summary>
    public static ResourcePolicyLookup Lookup(KmsStore store, Func<string, PolicyDocument> parse) => (_, action, resource) =>
    {
        if (!resource.StartsWith("arn:aws:kms:", StringComparison.Ordinal)) return null;
        var at = resource.IndexOf(":key/", StringComparison.Ordinal);
        if (at < 0 || store.GetKey(resource[(at + 5)..]) is not { } key) return null;
        return new ResourcePolicy(parse(key.Policy), key.AccountId, Required: true);
    };

    // ---- input helpers ----

    static AwsException Validation(string message) => new("ValidationException", 400, message);

    static byte[]? Blob(RequestContext ctx, string member, bool required)
    {
        var text = JsonProtocol.String(ctx, member);
        if (text is null) return required ? throw JsonProtocol.Invalid(member, null, "Member must not be null") : null;
        try { return Convert.FromBase64String(text); }
        catch (FormatException) { throw new AwsException("SerializationException", 400, $"Member {member} is not valid base64."); }
    }

    static Dictionary<string, string> EncryptionContext(RequestContext ctx, string member)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ctx.JsonInput.ValueKind != JsonValueKind.Object || !ctx.JsonInput.TryGetProperty(member, out var e)) return result;
        if (e.ValueKind != JsonValueKind.Object) throw new AwsException("SerializationException", 400, $"Member {member} must be a map.");
        foreach (var p in e.EnumerateObject())
            result[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new AwsException("SerializationException", 400, $"Member {member} must map strings to strings.");
        return result;
    }

    static int? Int(RequestContext ctx, string member)
        => ctx.JsonInput.TryGetProperty(member, out var v) ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
            : throw new AwsException("SerializationException", 400, $"Member {member} must be an integer.") : null;

    static bool? Bool(RequestContext ctx, string member)
        => ctx.JsonInput.TryGetProperty(member, out var v) ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new AwsException("SerializationException", 400, $"Member {member} must be a boolean."),
        } : null;

    string KeyArn(string account, string id) => $"arn:aws:kms:{region}:{account}:key/{id}";

    /// <summary>A key by id, key ARN, alias name or alias ARN. A bare id or alias name is looked
    /// up in the caller's account; ARNs may name another account's key.</summary>
    KmsKey? Resolve(RequestContext ctx, string? keyId, bool required)
    {
        if (keyId is null) return required ? throw JsonProtocol.Invalid("KeyId", null, "Member must not be null") : null;
        if (keyId.StartsWith("arn:", StringComparison.Ordinal) && (keyId.Split(':', 6) is not { Length: 6 } parts || parts[2] != "kms"))
            return required ? throw new AwsException("InvalidArnException", 400, $"ARN {keyId} is not valid.") : null;
        var (key, missing) = Find(ctx.Principal.AccountId, keyId);
        if (key is null && required) throw new AwsException("NotFoundException", 400, missing);
        return key;
    }

    /// <summary>The key <paramref name="keyId"/> names for a caller in <paramref name="account"/>
    /// (rotated first if its rotation is due), or null and the NotFound message.</summary>
    public (KmsKey? Key, string Missing) Find(string account, string keyId)
    {
        KmsKey? key = null;
        string missing;
        if (keyId.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = keyId.Split(':', 6);
            missing = $"Invalid keyId '{keyId}'";
            if (parts.Length == 6 && parts[5].StartsWith("key/", StringComparison.Ordinal))
            {
                key = store.GetKey(parts[5][4..]);
                if (key?.Arn != keyId) key = null;
                missing = $"Key '{keyId}' does not exist";
            }
            else if (parts.Length == 6 && parts[5].StartsWith("alias/", StringComparison.Ordinal))
            {
                key = store.GetAlias(parts[4], parts[5]) is { } alias ? store.GetKey(alias.TargetKeyId) : null;
                missing = $"Alias '{keyId}' is not found.";
            }
        }
        else if (keyId.StartsWith("alias/", StringComparison.Ordinal))
        {
            key = store.GetAlias(account, keyId) is { } alias ? store.GetKey(alias.TargetKeyId) : null;
            missing = $"Alias '{$"arn:aws:kms:{region}:{account}:{keyId}"}' is not found.";
        }
        else
        {
            key = Guid.TryParse(keyId, out _) ? store.GetKey(keyId.ToLowerInvariant()) : null;
            if (key is not null && key.AccountId != account) key = null;
            missing = $"Key '{KeyArn(account, keyId)}' does not exist";
        }
        return (key is null ? null : RotateIfDue(key), missing);
    }

    /// <summary>The AWS managed key of a service in an account (<c>alias/aws/s3</c>), created on
    /// first use as AWS creates it.</summary>
    public KmsKey AwsManagedKey(string account, string service)
    {
        var alias = $"alias/aws/{service}";
        if (store.GetAlias(account, alias) is { } existing && store.GetKey(existing.TargetKeyId) is { } key) return key;
        var id = Guid.NewGuid().ToString();
        var now = clock.GetUtcNow();
        key = new KmsKey
        {
            KeyId = id, AccountId = account, Arn = KeyArn(account, id), CreationDate = now, Policy = DefaultPolicy(account),
            Description = $"Default key that protects my {service.ToUpperInvariant()} objects when no other key is defined",
            Versions = [store.NewVersion(id, 1, now)],
        };
        store.PutKey(key);
        // Two first uses at once: the alias decides which key is the managed one.
        if (!store.PutAlias(account, new KmsAlias(alias, $"arn:aws:kms:{region}:{account}:{alias}", id, now, now), replace: false))
            return store.GetKey(store.GetAlias(account, alias)!.TargetKeyId)!;
        return key;
    }

    /// <summary>Data-key operations for other services (S3's SSE-KMS): same keys, same states.</summary>
    public byte[] Encrypt(KmsKey key, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string> context)
    {
        RequireUsable(key);
        return store.Encrypt(key, plaintext, context);
    }

    public byte[]? Decrypt(KmsKey key, ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string> context)
    {
        RequireUsable(key);
        return store.Decrypt(key, blob, context);
    }

    public KmsKey? GetKey(string keyId) => store.GetKey(keyId);

    /// <summary>Automatic rotation happens when a rotated key is next used after its date.</summary>
    KmsKey RotateIfDue(KmsKey key)
    {
        if (!key.RotationEnabled || key.NextRotationDate is not { } due || due > clock.GetUtcNow()) return key;
        return Rotate(key.KeyId);
    }

    KmsKey Rotate(string keyId) => store.UpdateKey(keyId, k =>
    {
        var now = clock.GetUtcNow();
        return k with
        {
            Versions = [.. k.Versions, store.NewVersion(k.KeyId, k.Versions[^1].Version + 1, now)],
            NextRotationDate = k.RotationEnabled ? now.AddDays(k.RotationPeriodInDays) : k.NextRotationDate,
        };
    });

    /// <summary>Keys a cryptographic operation may use: enabled ones.</summary>
    static void RequireUsable(KmsKey key)
    {
        switch (key.KeyState)
        {
            case "Disabled": throw new AwsException("DisabledException", 400, $"{key.Arn} is disabled.");
            case "PendingDeletion": throw new AwsException("KMSInvalidStateException", 400, $"{key.Arn} is pending deletion.");
        }
    }

    static void RequireNotPendingDeletion(KmsKey key)
    {
        if (key.KeyState == "PendingDeletion") throw new AwsException("KMSInvalidStateException", 400, $"{key.Arn} is pending deletion.");
    }

    // ---- keys ----

    async Task CreateKey(RequestContext ctx)
    {
        var spec = JsonProtocol.String(ctx, "KeySpec") ?? JsonProtocol.String(ctx, "CustomerMasterKeySpec") ?? "SYMMETRIC_DEFAULT";
        var usage = JsonProtocol.String(ctx, "KeyUsage") ?? "ENCRYPT_DECRYPT";
        if (spec != "SYMMETRIC_DEFAULT" || usage != "ENCRYPT_DECRYPT")
            throw new AwsException("UnsupportedOperationException", 400, $"Strata's KMS supports symmetric encryption keys only (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT), not {spec}/{usage}.");
        if (JsonProtocol.String(ctx, "Origin") is { } origin && origin != "AWS_KMS")
            throw new AwsException("UnsupportedOperationException", 400, $"Origin {origin} is not supported.");
        var account = ctx.Principal.AccountId;
        var policy = JsonProtocol.String(ctx, "Policy") ?? DefaultPolicy(account);
        ValidatePolicy(policy);
        var description = JsonProtocol.String(ctx, "Description") ?? "";
        if (description.Length > 8192) throw JsonProtocol.Invalid("Description", description, "Member must have length less than or equal to 8192");
        var id = Guid.NewGuid().ToString();
        var now = clock.GetUtcNow();
        var key = new KmsKey
        {
            KeyId = id, AccountId = account, Arn = KeyArn(account, id), CreationDate = now, Description = description, Policy = policy,
            Versions = [store.NewVersion(id, 1, now)], Tags = Tags(ctx),
        };
        store.PutKey(key);
        await JsonProtocol.WriteAsync(ctx, json => WriteMetadata(json, key));
    }

    static List<KmsTag> Tags(RequestContext ctx)
    {
        var tags = new List<KmsTag>();
        if (!ctx.JsonInput.TryGetProperty("Tags", out var list) || list.ValueKind != JsonValueKind.Array) return tags;
        foreach (var t in list.EnumerateArray())
            tags.Add(new KmsTag(t.TryGetProperty("TagKey", out var k) ? k.GetString() ?? "" : "", t.TryGetProperty("TagValue", out var v) ? v.GetString() ?? "" : ""));
        return tags;
    }

    static void ValidatePolicy(string policy)
    {
        try { PolicyDocument.Parse(policy, PolicyKind.Resource); }
        catch (MalformedPolicyException e) { throw new AwsException("MalformedPolicyDocumentException", 400, e.Message); }
    }

    static void WriteMetadata(Utf8JsonWriter json, KmsKey key)
    {
        json.WriteStartObject("KeyMetadata");
        json.WriteString("AWSAccountId", key.AccountId);
        json.WriteString("KeyId", key.KeyId);
        json.WriteString("Arn", key.Arn);
        json.WriteNumber("CreationDate", key.CreationDate.ToUnixTimeMilliseconds() / 1000.0);
        json.WriteBoolean("Enabled", key.KeyState == "Enabled");
        json.WriteString("Description", key.Description);
        json.WriteString("KeyUsage", "ENCRYPT_DECRYPT");
        json.WriteString("KeyState", key.KeyState);
        if (key.DeletionDate is { } deletion) json.WriteNumber("DeletionDate", deletion.ToUnixTimeMilliseconds() / 1000.0);
        if (key.PendingWindowInDays is { } window) json.WriteNumber("PendingDeletionWindowInDays", window);
        json.WriteString("Origin", "AWS_KMS");
        json.WriteString("KeyManager", "CUSTOMER");
        json.WriteString("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT");
        json.WriteString("KeySpec", "SYMMETRIC_DEFAULT");
        json.WriteStartArray("EncryptionAlgorithms");
        json.WriteStringValue("SYMMETRIC_DEFAULT");
        json.WriteEndArray();
        json.WriteBoolean("MultiRegion", false);
        json.WriteEndObject();
    }

    Task DescribeKey(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        return JsonProtocol.WriteAsync(ctx, json => WriteMetadata(json, key));
    }

    Task ListKeys(RequestContext ctx)
    {
        var keys = store.ListKeys(ctx.Principal.AccountId);
        var (page, next) = Page(ctx, keys, k => k.KeyId);
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteStartArray("Keys");
            foreach (var k in page)
            {
                json.WriteStartObject();
                json.WriteString("KeyId", k.KeyId);
                json.WriteString("KeyArn", k.Arn);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            WritePaging(json, next);
        });
    }

    static (List<T> Page, string? Next) Page<T>(RequestContext ctx, List<T> items, Func<T, string> key)
    {
        var limit = Int(ctx, "Limit") ?? 100;
        if (limit is < 1 or > 1000) throw JsonProtocol.Invalid("Limit", limit, limit < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 1000");
        var marker = JsonProtocol.String(ctx, "Marker");
        var rest = marker is null ? items : items.Where(i => string.CompareOrdinal(key(i), marker) >= 0).ToList();
        if (marker is not null && rest.Count == items.Count && items.Count > 0 && key(items[0]) != marker && string.CompareOrdinal(key(items[0]), marker) < 0)
            throw new AwsException("InvalidMarkerException", 400, "Invalid marker");
        return (rest.Take(limit).ToList(), rest.Count > limit ? key(rest[limit]) : null);
    }

    static void WritePaging(Utf8JsonWriter json, string? next)
    {
        json.WriteBoolean("Truncated", next is not null);
        if (next is not null) json.WriteString("NextMarker", next);
    }

    Task EnableKey(RequestContext ctx) => SetState(ctx, "Enabled");
    Task DisableKey(RequestContext ctx) => SetState(ctx, "Disabled");

    Task SetState(RequestContext ctx, string state)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        RequireNotPendingDeletion(key);
        store.UpdateKey(key.KeyId, k => k with { KeyState = state });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task ScheduleKeyDeletion(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        var days = Int(ctx, "PendingWindowInDays") ?? 30;
        if (days is < 7 or > 30) throw Validation($"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {(days < 7 ? "greater than or equal to 7" : "less than or equal to 30")}");
        RequireNotPendingDeletion(key);
        // Midnight UTC after the window, as AWS dates it.
        var date = clock.GetUtcNow().UtcDateTime.Date.AddDays(days + 1);
        key = store.UpdateKey(key.KeyId, k => k with { KeyState = "PendingDeletion", DeletionDate = new DateTimeOffset(date, TimeSpan.Zero), PendingWindowInDays = days });
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteString("KeyId", key.Arn);
            json.WriteNumber("DeletionDate", key.DeletionDate!.Value.ToUnixTimeSeconds());
            json.WriteString("KeyState", key.KeyState);
            json.WriteNumber("PendingWindowInDays", days);
        });
    }

    Task CancelKeyDeletion(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        if (key.KeyState != "PendingDeletion") throw new AwsException("KMSInvalidStateException", 400, $"{key.Arn} is not pending deletion.");
        // A key whose deletion is cancelled comes back disabled, as in AWS.
        store.UpdateKey(key.KeyId, k => k with { KeyState = "Disabled", DeletionDate = null, PendingWindowInDays = null });
        return JsonProtocol.WriteAsync(ctx, json => json.WriteString("KeyId", key.Arn));
    }

    // ---- aliases ----

    [GeneratedRegex("^alias/[a-zA-Z0-9/_-]+$")]
    private static partial Regex AliasPattern();

    static string AliasName(RequestContext ctx)
    {
        var name = JsonProtocol.String(ctx, "AliasName") ?? throw JsonProtocol.Invalid("AliasName", null, "Member must not be null");
        if (!AliasPattern().IsMatch(name) || name.Length > 256)
            throw new AwsException("InvalidAliasNameException", 400, $"Alias must start with the prefix \"alias/\" and contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-): {name}");
        if (name.StartsWith("alias/aws/", StringComparison.Ordinal))
            throw new AwsException("NotAuthorizedException", 400, "Cannot create or change an alias that begins with \"alias/aws/\"; those are reserved for AWS.");
        return name;
    }

    Task CreateAlias(RequestContext ctx) => PutAlias(ctx, replace: false);
    Task UpdateAlias(RequestContext ctx) => PutAlias(ctx, replace: true);

    Task PutAlias(RequestContext ctx, bool replace)
    {
        var name = AliasName(ctx);
        var account = ctx.Principal.AccountId;
        var target = JsonProtocol.String(ctx, "TargetKeyId") ?? throw JsonProtocol.Invalid("TargetKeyId", null, "Member must not be null");
        if (target.StartsWith("alias/", StringComparison.Ordinal) || target.Contains(":alias/", StringComparison.Ordinal))
            throw Validation("Aliases must refer to keys. Not aliases");
        var key = Resolve(ctx, target, required: true)!;
        RequireNotPendingDeletion(key);
        if (key.AccountId != account) throw new AwsException("NotFoundException", 400, $"Key '{target}' does not exist");
        var now = clock.GetUtcNow();
        var created = replace ? store.GetAlias(account, name)?.CreationDate ?? now : now;
        var arn = $"arn:aws:kms:{region}:{account}:{name}";
        if (!store.PutAlias(account, new KmsAlias(name, arn, key.KeyId, created, now), replace))
            throw replace ? new AwsException("NotFoundException", 400, $"Alias {arn} is not found.") : new AwsException("AlreadyExistsException", 400, $"An alias with the name {arn} already exists");
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task DeleteAlias(RequestContext ctx)
    {
        var name = JsonProtocol.String(ctx, "AliasName") ?? throw JsonProtocol.Invalid("AliasName", null, "Member must not be null");
        if (!store.DeleteAlias(ctx.Principal.AccountId, name))
            throw new AwsException("NotFoundException", 400, $"Alias arn:aws:kms:{region}:{ctx.Principal.AccountId}:{name} is not found.");
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task ListAliases(RequestContext ctx)
    {
        var aliases = store.ListAliases(ctx.Principal.AccountId);
        if (JsonProtocol.String(ctx, "KeyId") is { } keyId)
        {
            var key = Resolve(ctx, keyId, required: true)!;
            aliases = aliases.Where(a => a.TargetKeyId == key.KeyId).ToList();
        }
        var (page, next) = Page(ctx, aliases, a => a.AliasName);
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteStartArray("Aliases");
            foreach (var a in page)
            {
                json.WriteStartObject();
                json.WriteString("AliasName", a.AliasName);
                json.WriteString("AliasArn", a.AliasArn);
                json.WriteString("TargetKeyId", a.TargetKeyId);
                json.WriteNumber("CreationDate", a.CreationDate.ToUnixTimeMilliseconds() / 1000.0);
                json.WriteNumber("LastUpdatedDate", a.LastUpdatedDate.ToUnixTimeMilliseconds() / 1000.0);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            WritePaging(json, next);
        });
    }

    // ---- cryptography ----

    static void RequireSymmetric(RequestContext ctx, string member)
    {
        if (JsonProtocol.String(ctx, member) is { } algorithm && algorithm != "SYMMETRIC_DEFAULT")
            throw new AwsException("InvalidKeyUsageException", 400, $"The encryption algorithm {algorithm} is not supported by symmetric keys.");
    }

    Task Encrypt(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        var plaintext = Blob(ctx, "Plaintext", required: true)!;
        if (plaintext.Length is 0 or > MaxPlaintext)
            throw JsonProtocol.Invalid("Plaintext", "[sensitive]", plaintext.Length == 0 ? "Member must have length greater than or equal to 1" : $"Member must have length less than or equal to {MaxPlaintext}");
        RequireSymmetric(ctx, "EncryptionAlgorithm");
        RequireUsable(key);
        var blob = store.Encrypt(key, plaintext, EncryptionContext(ctx, "EncryptionContext"));
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteBase64String("CiphertextBlob", blob);
            json.WriteString("KeyId", key.Arn);
            json.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        });
    }

    /// <summary>The key a blob names and its plaintext, checked as Decrypt checks them.</summary>
    (KmsKey Key, byte[] Plaintext) Open(RequestContext ctx, byte[] blob, string contextMember, string? keyIdMember)
    {
        var id = KmsStore.KeyIdOf(blob) ?? throw InvalidCiphertext();
        var key = store.GetKey(id) ?? throw InvalidCiphertext();
        if (keyIdMember is not null && JsonProtocol.String(ctx, keyIdMember) is { } named)
        {
            var expected = Resolve(ctx, named, required: true)!;
            if (expected.KeyId != key.KeyId)
                throw new AwsException("IncorrectKeyException", 400, "The key ID in the request does not identify a CMK that can perform this operation.");
        }
        RequireUsable(key);
        var plaintext = store.Decrypt(key, blob, EncryptionContext(ctx, contextMember)) ?? throw InvalidCiphertext();
        return (key, plaintext);
    }

    static AwsException InvalidCiphertext() => new("InvalidCiphertextException", 400, "");

    Task Decrypt(RequestContext ctx)
    {
        RequireSymmetric(ctx, "EncryptionAlgorithm");
        var (key, plaintext) = Open(ctx, Blob(ctx, "CiphertextBlob", required: true)!, "EncryptionContext", "KeyId");
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteString("KeyId", key.Arn);
            json.WriteBase64String("Plaintext", plaintext);
            json.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        });
    }

    Task ReEncrypt(RequestContext ctx)
    {
        var (source, plaintext) = Open(ctx, Blob(ctx, "CiphertextBlob", required: true)!, "SourceEncryptionContext", "SourceKeyId");
        var destination = Resolve(ctx, JsonProtocol.String(ctx, "DestinationKeyId") ?? throw JsonProtocol.Invalid("DestinationKeyId", null, "Member must not be null"), required: true)!;
        // Re-encrypting needs kms:ReEncryptTo on the destination key as well.
        ctx.Authorize("kms:ReEncryptTo", destination.Arn);
        RequireUsable(destination);
        var blob = store.Encrypt(destination, plaintext, EncryptionContext(ctx, "DestinationEncryptionContext"));
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteBase64String("CiphertextBlob", blob);
            json.WriteString("SourceKeyId", source.Arn);
            json.WriteString("KeyId", destination.Arn);
            json.WriteString("SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            json.WriteString("DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        });
    }

    Task GenerateDataKey(RequestContext ctx, bool plaintext)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        var spec = JsonProtocol.String(ctx, "KeySpec");
        var bytes = Int(ctx, "NumberOfBytes");
        if (spec is not null && bytes is not null) throw Validation("Please specify either number of bytes or key spec.");
        if (spec is null && bytes is null) throw Validation("Please specify either number of bytes or key spec.");
        var length = spec switch
        {
            "AES_256" => 32,
            "AES_128" => 16,
            null => bytes!.Value is >= 1 and <= 1024 ? bytes.Value : throw JsonProtocol.Invalid("NumberOfBytes", bytes, bytes < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 1024"),
            _ => throw JsonProtocol.Invalid("KeySpec", spec, "Member must satisfy enum value set: [AES_256, AES_128]"),
        };
        RequireUsable(key);
        var dataKey = RandomNumberGenerator.GetBytes(length);
        var blob = store.Encrypt(key, dataKey, EncryptionContext(ctx, "EncryptionContext"));
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteBase64String("CiphertextBlob", blob);
            if (plaintext) json.WriteBase64String("Plaintext", dataKey);
            json.WriteString("KeyId", key.Arn);
        });
    }

    Task GenerateRandom(RequestContext ctx)
    {
        var bytes = Int(ctx, "NumberOfBytes") ?? throw Validation("Please specify number of bytes.");
        if (bytes is < 1 or > 1024) throw JsonProtocol.Invalid("NumberOfBytes", bytes, bytes < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 1024");
        return JsonProtocol.WriteAsync(ctx, json => json.WriteBase64String("Plaintext", RandomNumberGenerator.GetBytes(bytes)));
    }

    // ---- rotation ----

    Task EnableKeyRotation(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        var period = Int(ctx, "RotationPeriodInDays") ?? 365;
        if (period is < 90 or > 2560) throw JsonProtocol.Invalid("RotationPeriodInDays", period, period < 90 ? "Member must have value greater than or equal to 90" : "Member must have value less than or equal to 2560");
        RequireUsable(key);
        store.UpdateKey(key.KeyId, k => k with { RotationEnabled = true, RotationPeriodInDays = period, NextRotationDate = clock.GetUtcNow().AddDays(period) });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task DisableKeyRotation(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        RequireUsable(key);
        store.UpdateKey(key.KeyId, k => k with { RotationEnabled = false, NextRotationDate = null });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task GetKeyRotationStatus(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        RequireNotPendingDeletion(key);
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteBoolean("KeyRotationEnabled", key.RotationEnabled);
            json.WriteString("KeyId", key.Arn);
            if (key.RotationEnabled)
            {
                json.WriteNumber("RotationPeriodInDays", key.RotationPeriodInDays);
                json.WriteNumber("NextRotationDate", key.NextRotationDate!.Value.ToUnixTimeSeconds());
            }
        });
    }

    Task RotateKeyOnDemand(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        RequireUsable(key);
        Rotate(key.KeyId);
        return JsonProtocol.WriteAsync(ctx, json => json.WriteString("KeyId", key.Arn));
    }

    // ---- key policy and tags ----

    Task PutKeyPolicy(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        if (JsonProtocol.String(ctx, "PolicyName") is { } name && name != "default")
            throw new AwsException("NotFoundException", 400, $"No such policy exists: {name}");
        var policy = JsonProtocol.String(ctx, "Policy") ?? throw JsonProtocol.Invalid("Policy", null, "Member must not be null");
        ValidatePolicy(policy);
        // The lockout safety check: the caller must still be able to change the policy afterwards.
        if (Bool(ctx, "BypassPolicyLockoutSafetyCheck") != true && ctx.Authorizer is Authorizer authorizer)
        {
            var decision = authorizer.Decide(ctx, "kms:PutKeyPolicy", key.Arn, new ResourcePolicy(PolicyDocument.Parse(policy, PolicyKind.Resource), key.AccountId, Required: true));
            if (!decision.IsAllowed)
                throw new AwsException("MalformedPolicyDocumentException", 400, "The new key policy will not allow you to update the key policy in the future.");
        }
        RequireNotPendingDeletion(key);
        store.UpdateKey(key.KeyId, k => k with { Policy = policy });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task GetKeyPolicy(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        if (JsonProtocol.String(ctx, "PolicyName") is { } name && name != "default")
            throw new AwsException("NotFoundException", 400, $"No such policy exists: {name}");
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteString("Policy", key.Policy);
            json.WriteString("PolicyName", "default");
        });
    }

    Task TagResource(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        RequireNotPendingDeletion(key);
        var tags = Tags(ctx);
        if (tags.Any(t => t.TagKey.Length is 0 or > 128 || t.TagValue.Length > 256))
            throw new AwsException("TagException", 400, "Tag keys must be 1 to 128 characters and values at most 256.");
        store.UpdateKey(key.KeyId, k => k with { Tags = [.. k.Tags.Where(t => tags.All(n => n.TagKey != t.TagKey)), .. tags] });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task UntagResource(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        var keys = ctx.JsonInput.TryGetProperty("TagKeys", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(k => k.GetString() ?? "").ToHashSet(StringComparer.Ordinal) : [];
        store.UpdateKey(key.KeyId, k => k with { Tags = k.Tags.Where(t => !keys.Contains(t.TagKey)).ToList() });
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task ListResourceTags(RequestContext ctx)
    {
        var key = Resolve(ctx, JsonProtocol.String(ctx, "KeyId"), required: true)!;
        return JsonProtocol.WriteAsync(ctx, json =>
        {
            json.WriteStartArray("Tags");
            foreach (var t in key.Tags.OrderBy(t => t.TagKey, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("TagKey", t.TagKey);
                json.WriteString("TagValue", t.TagValue);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteBoolean("Truncated", false);
        });
    }
}
