using System.Security.Cryptography;
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
        KmsOperations.CreateKey.Bind("kms:CreateKey", Anywhere, CreateKey),
        KmsOperations.DescribeKey.Bind("kms:DescribeKey", KeyOf<DescribeKeyRequest>(r => r.KeyId), DescribeKey),
        KmsOperations.ListKeys.Bind("kms:ListKeys", Anywhere, ListKeys),
        KmsOperations.EnableKey.Bind("kms:EnableKey", KeyOf<EnableKeyRequest>(r => r.KeyId), EnableKey),
        KmsOperations.DisableKey.Bind("kms:DisableKey", KeyOf<DisableKeyRequest>(r => r.KeyId), DisableKey),
        KmsOperations.ScheduleKeyDeletion.Bind("kms:ScheduleKeyDeletion", KeyOf<ScheduleKeyDeletionRequest>(r => r.KeyId), ScheduleKeyDeletion),
        KmsOperations.CancelKeyDeletion.Bind("kms:CancelKeyDeletion", KeyOf<CancelKeyDeletionRequest>(r => r.KeyId), CancelKeyDeletion),
        KmsOperations.CreateAlias.Bind("kms:CreateAlias", KeyOf<CreateAliasRequest>(r => r.TargetKeyId), CreateAlias),
        KmsOperations.ListAliases.Bind("kms:ListAliases", Anywhere, ListAliases),
        KmsOperations.DeleteAlias.Bind("kms:DeleteAlias", (r, ctx) => AliasResource(r.AliasName, ctx), DeleteAlias),
        KmsOperations.UpdateAlias.Bind("kms:UpdateAlias", KeyOf<UpdateAliasRequest>(r => r.TargetKeyId), UpdateAlias),
        KmsOperations.Encrypt.Bind("kms:Encrypt", KeyOf<EncryptRequest>(r => r.KeyId, r => r.EncryptionContext), Encrypt),
        KmsOperations.Decrypt.Bind("kms:Decrypt", (r, ctx) => CiphertextKey(r.CiphertextBlob, r.EncryptionContext, ctx), Decrypt),
        KmsOperations.ReEncrypt.Bind("kms:ReEncryptFrom", (r, ctx) => CiphertextKey(r.CiphertextBlob, r.SourceEncryptionContext, ctx), ReEncrypt),
        KmsOperations.GenerateDataKey.Bind("kms:GenerateDataKey", KeyOf<GenerateDataKeyRequest>(r => r.KeyId, r => r.EncryptionContext), GenerateDataKey),
        KmsOperations.GenerateDataKeyWithoutPlaintext.Bind("kms:GenerateDataKeyWithoutPlaintext",
            KeyOf<GenerateDataKeyWithoutPlaintextRequest>(r => r.KeyId, r => r.EncryptionContext), GenerateDataKeyWithoutPlaintext),
        KmsOperations.GenerateRandom.Bind("kms:GenerateRandom", Anywhere, GenerateRandom),
        KmsOperations.EnableKeyRotation.Bind("kms:EnableKeyRotation", KeyOf<EnableKeyRotationRequest>(r => r.KeyId), EnableKeyRotation),
        KmsOperations.DisableKeyRotation.Bind("kms:DisableKeyRotation", KeyOf<DisableKeyRotationRequest>(r => r.KeyId), DisableKeyRotation),
        KmsOperations.GetKeyRotationStatus.Bind("kms:GetKeyRotationStatus", KeyOf<GetKeyRotationStatusRequest>(r => r.KeyId), GetKeyRotationStatus),
        KmsOperations.RotateKeyOnDemand.Bind("kms:RotateKeyOnDemand", KeyOf<RotateKeyOnDemandRequest>(r => r.KeyId), RotateKeyOnDemand),
        KmsOperations.ListKeyRotations.Bind("kms:ListKeyRotations", KeyOf<ListKeyRotationsRequest>(r => r.KeyId), ListKeyRotations),
        KmsOperations.PutKeyPolicy.Bind("kms:PutKeyPolicy", KeyOf<PutKeyPolicyRequest>(r => r.KeyId), PutKeyPolicy),
        KmsOperations.GetKeyPolicy.Bind("kms:GetKeyPolicy", KeyOf<GetKeyPolicyRequest>(r => r.KeyId), GetKeyPolicy),
        KmsOperations.TagResource.Bind("kms:TagResource", KeyOf<TagResourceRequest>(r => r.KeyId), TagResource),
        KmsOperations.UntagResource.Bind("kms:UntagResource", KeyOf<UntagResourceRequest>(r => r.KeyId), UntagResource),
        KmsOperations.ListResourceTags.Bind("kms:ListResourceTags", KeyOf<ListResourceTagsRequest>(r => r.KeyId), ListResourceTags),
    ];

    /// <summary>Operations newer than the oldest supported clients' models.</summary>
    public static readonly string[] NewerOperations = ["RotateKeyOnDemand", "ListKeyRotations"];

    static string Anywhere<TIn>(TIn request, RequestContext ctx) => "*";

    /// <summary>The resource of an operation on a key: the ARN of the key the request names (id,
    /// ARN, alias), and the <c>kms:EncryptionContext:*</c> condition keys of its context. Only
    /// looks: a key whose rotation is due is rotated by the handler that uses it, after
    /// authorization, never here.</summary>
    Func<TIn, RequestContext, string> KeyOf<TIn>(Func<TIn, string?> keyId, Func<TIn, Dictionary<string, string>?>? context = null)
        => (request, ctx) =>
        {
            if (context is not null) SetContextKeys(ctx, context(request));
            return keyId(request) is { } id && !IsForeignArn(id) && Locate(ctx.Principal.AccountId, id).Key is { } key ? key.Arn : "*";
        };

    string AliasResource(string? alias, RequestContext ctx)
        => alias is not null ? $"arn:aws:kms:{region}:{ctx.Principal.AccountId}:{alias}" : "*";

    /// <summary>Decrypt names its key inside the ciphertext blob.</summary>
    string CiphertextKey(byte[]? blob, Dictionary<string, string>? context, RequestContext ctx)
    {
        SetContextKeys(ctx, context);
        return blob is not null && KmsStore.KeyIdOf(blob) is { } id && store.GetKey(id) is { } key ? key.Arn : "*";
    }

    /// <summary>kms:EncryptionContext:* condition keys from the request's context.</summary>
    static void SetContextKeys(RequestContext ctx, Dictionary<string, string>? context)
    {
        if (context is null) return;
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
    public static ResourcePolicyLookup Lookup(KmsStore store, Func<string, PolicyDocument> parse) => (_, action, resource, _) =>
    {
        if (!resource.StartsWith("arn:aws:kms:", StringComparison.Ordinal)) return null;
        var at = resource.IndexOf(":key/", StringComparison.Ordinal);
        if (at < 0 || store.GetKey(resource[(at + 5)..]) is not { } key) return null;
        return new ResourcePolicy(parse(key.Policy), key.AccountId, Required: true);
    };

    string KeyArn(string account, string id) => $"arn:aws:kms:{region}:{account}:key/{id}";

    /// <summary>The operations whose model declares InvalidArnException; the others (the
    /// cryptographic and alias operations) answer an ARN that names no key as a key not found.</summary>
    static readonly HashSet<string> DeclaresInvalidArn = new(StringComparer.Ordinal)
    {
        "CancelKeyDeletion", "CreateKey", "DescribeKey", "DisableKey", "DisableKeyRotation", "EnableKey", "EnableKeyRotation", "GetKeyPolicy",
        "GetKeyRotationStatus", "ListAliases", "ListKeyRotations", "ListResourceTags", "PutKeyPolicy", "RotateKeyOnDemand", "ScheduleKeyDeletion",
        "TagResource", "UntagResource",
    };

    /// <summary>An ARN that is not a KMS ARN names no key.</summary>
    static bool IsForeignArn(string keyId)
        => keyId.StartsWith("arn:", StringComparison.Ordinal) && (keyId.Split(':', 6) is not { Length: 6 } parts || parts[2] != "kms");

    /// <summary>The key a request names (id, key ARN, alias name or alias ARN) for the handler
    /// that uses it: rotated first if its rotation is due.</summary>
    KmsKey Resolve(RequestContext ctx, string keyId)
    {
        if (IsForeignArn(keyId))
            throw DeclaresInvalidArn.Contains(ctx.OperationName ?? "") ? KmsErrors.InvalidArnException($"ARN {keyId} is not valid.") : new KeyNotFound($"Invalid arn {keyId}");
        var (key, missing) = Find(ctx.Principal.AccountId, keyId);
        return key ?? throw new KeyNotFound(missing);
    }

    /// <summary>The key <paramref name="keyId"/> names for a caller in <paramref name="account"/>
    /// (rotated first if its rotation is due), or null and the NotFound message.</summary>
    public (KmsKey? Key, string Missing) Find(string account, string keyId)
    {
        var (key, missing) = Locate(account, keyId);
        return (key is null ? null : RotateIfDue(key), missing);
    }

    /// <summary>The key <paramref name="keyId"/> names for a caller in <paramref name="account"/>,
    /// as stored (no side effect), or null and the NotFound message. A bare id or alias name is
    /// looked up in the caller's account; ARNs may name another account's key.</summary>
    (KmsKey? Key, string Missing) Locate(string account, string keyId)
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
        return (key, missing);
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
            KeyId = id,
            AccountId = account,
            Arn = KeyArn(account, id),
            CreationDate = now,
            Policy = DefaultPolicy(account),
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
        return Rotate(key.KeyId, "AUTOMATIC");
    }

    KmsKey Rotate(string keyId, string rotationType) => store.UpdateKey(keyId, k =>
    {
        var now = clock.GetUtcNow();
        return k with
        {
            Versions = [.. k.Versions, store.NewVersion(k.KeyId, k.Versions[^1].Version + 1, now) with { RotationType = rotationType }],
            NextRotationDate = k.RotationEnabled ? now.AddDays(k.RotationPeriodInDays) : k.NextRotationDate,
        };
    });

    /// <summary>Keys a cryptographic operation may use: enabled ones.</summary>
    static void RequireUsable(KmsKey key)
    {
        switch (key.KeyState)
        {
            case "Disabled": throw new KeyDisabled(key.Arn);
            case "PendingDeletion": throw new KeyPendingDeletion(key.Arn);
        }
    }

    static void RequireNotPendingDeletion(KmsKey key)
    {
        if (key.KeyState == "PendingDeletion") throw new KeyPendingDeletion(key.Arn);
    }

    // ---- keys ----

    CreateKeyResponse CreateKey(CreateKeyRequest request, RequestContext ctx)
    {
        var spec = request.KeySpec ?? request.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
        var usage = request.KeyUsage ?? "ENCRYPT_DECRYPT";
        if (spec != "SYMMETRIC_DEFAULT" || usage != "ENCRYPT_DECRYPT")
            throw KmsErrors.UnsupportedOperationException($"Strata's KMS supports symmetric encryption keys only (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT), not {spec}/{usage}.");
        if (request.Origin is { } origin && origin != "AWS_KMS")
            throw KmsErrors.UnsupportedOperationException($"Origin {origin} is not supported.");
        var account = ctx.Principal.AccountId;
        var policy = request.Policy ?? DefaultPolicy(account);
        ValidatePolicy(policy);
        var id = Guid.NewGuid().ToString();
        var now = clock.GetUtcNow();
        var key = new KmsKey
        {
            KeyId = id,
            AccountId = account,
            Arn = KeyArn(account, id),
            CreationDate = now,
            Description = request.Description ?? "",
            Policy = policy,
            Versions = [store.NewVersion(id, 1, now)],
            Tags = Tags(request.Tags),
        };
        store.PutKey(key);
        return new CreateKeyResponse { KeyMetadata = Metadata(key) };
    }

    static List<KmsTag> Tags(List<Tag>? tags) => tags?.Select(t => new KmsTag(t.TagKey ?? "", t.TagValue ?? "")).ToList() ?? [];

    static void ValidatePolicy(string policy)
    {
        try { PolicyDocument.Parse(policy, PolicyKind.Resource); }
        catch (MalformedPolicyException e) { throw KmsErrors.MalformedPolicyDocumentException(e.Message); }
    }

    static KeyMetadata Metadata(KmsKey key) => new()
    {
        AWSAccountId = key.AccountId,
        KeyId = key.KeyId,
        Arn = key.Arn,
        CreationDate = key.CreationDate,
        Enabled = key.KeyState == "Enabled",
        Description = key.Description,
        KeyUsage = "ENCRYPT_DECRYPT",
        KeyState = key.KeyState,
        DeletionDate = key.DeletionDate,
        PendingDeletionWindowInDays = key.PendingWindowInDays,
        Origin = "AWS_KMS",
        KeyManager = "CUSTOMER",
        CustomerMasterKeySpec = "SYMMETRIC_DEFAULT",
        KeySpec = "SYMMETRIC_DEFAULT",
        EncryptionAlgorithms = ["SYMMETRIC_DEFAULT"],
        MultiRegion = false,
    };

    DescribeKeyResponse DescribeKey(DescribeKeyRequest request, RequestContext ctx)
        => new() { KeyMetadata = Metadata(Resolve(ctx, request.KeyId!)) };

    ListKeysResponse ListKeys(ListKeysRequest request, RequestContext ctx)
    {
        var (page, next) = Page(store.ListKeys(ctx.Principal.AccountId), k => k.KeyId, request.Limit, request.Marker);
        return new() { Keys = page.Select(k => new KeyListEntry { KeyId = k.KeyId, KeyArn = k.Arn }).ToList(), Truncated = next is not null, NextMarker = next };
    }

    /// <summary>Marker pagination in key order (<c>Limit</c> 1–1000, 100 by default, checked by the model).</summary>
    static (List<T> Page, string? Next) Page<T>(List<T> items, Func<T, string> key, int? limitInput, string? marker)
    {
        var limit = limitInput ?? 100;
        var rest = marker is null ? items : items.Where(i => string.CompareOrdinal(key(i), marker) >= 0).ToList();
        if (marker is not null && rest.Count == items.Count && items.Count > 0 && key(items[0]) != marker && string.CompareOrdinal(key(items[0]), marker) < 0)
            throw KmsErrors.InvalidMarkerException("Invalid marker");
        return (rest.Take(limit).ToList(), rest.Count > limit ? key(rest[limit]) : null);
    }

    void EnableKey(EnableKeyRequest request, RequestContext ctx) => SetState(Resolve(ctx, request.KeyId!), "Enabled");

    void DisableKey(DisableKeyRequest request, RequestContext ctx) => SetState(Resolve(ctx, request.KeyId!), "Disabled");

    void SetState(KmsKey key, string state)
    {
        RequireNotPendingDeletion(key);
        store.UpdateKey(key.KeyId, k => k with { KeyState = state });
    }

    ScheduleKeyDeletionResponse ScheduleKeyDeletion(ScheduleKeyDeletionRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        var days = request.PendingWindowInDays ?? 30;
        // The model allows 1-365; KMS itself takes a waiting period of 7 to 30 days.
        if (days is < 7 or > 30) throw Validation($"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {(days < 7 ? "greater than or equal to 7" : "less than or equal to 30")}");
        RequireNotPendingDeletion(key);
        // Midnight UTC after the window, as AWS dates it.
        var date = clock.GetUtcNow().UtcDateTime.Date.AddDays(days + 1);
        key = store.UpdateKey(key.KeyId, k => k with { KeyState = "PendingDeletion", DeletionDate = new DateTimeOffset(date, TimeSpan.Zero), PendingWindowInDays = days });
        return new() { KeyId = key.Arn, DeletionDate = key.DeletionDate, KeyState = key.KeyState, PendingWindowInDays = days };
    }

    CancelKeyDeletionResponse CancelKeyDeletion(CancelKeyDeletionRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        if (key.KeyState != "PendingDeletion") throw new KeyNotPendingDeletion(key.Arn);
        // A key whose deletion is cancelled comes back disabled, as in AWS.
        store.UpdateKey(key.KeyId, k => k with { KeyState = "Disabled", DeletionDate = null, PendingWindowInDays = null });
        return new() { KeyId = key.Arn };
    }

    // ---- aliases ----

    [GeneratedRegex("^alias/[a-zA-Z0-9/_-]+$")]
    private static partial Regex AliasPattern();

    [GeneratedRegex("^[a-zA-Z0-9:/_-]+$")]
    private static partial Regex AliasNameModelPattern();

    /// <summary>An alias name as CreateAlias and UpdateAlias take it: the model's pattern first
    /// (ValidationException, as AWS checks it before the operation runs); then the alias rules,
    /// which only CreateAlias may answer with InvalidAliasNameException (UpdateAlias does not
    /// declare it: a name that is no alias names no alias to update).</summary>
    string AliasName(string name, bool update)
    {
        if (!AliasNameModelPattern().IsMatch(name))
            throw Validation($"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
        if (update && (!AliasPattern().IsMatch(name) || name.StartsWith("alias/aws/", StringComparison.Ordinal)))
            throw KmsErrors.NotFoundException($"Alias arn:aws:kms:{region}:*:{name} is not found.");
        if (!AliasPattern().IsMatch(name))
            throw KmsErrors.InvalidAliasNameException($"Alias must start with the prefix \"alias/\" and contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-): {name}");
        if (name.StartsWith("alias/aws/", StringComparison.Ordinal))
            throw KmsErrors.InvalidAliasNameException("Cannot create or change an alias that begins with \"alias/aws/\"; those are reserved for AWS.");
        return name;
    }

    void CreateAlias(CreateAliasRequest request, RequestContext ctx) => PutAlias(ctx, request.AliasName!, request.TargetKeyId!, replace: false);

    void UpdateAlias(UpdateAliasRequest request, RequestContext ctx) => PutAlias(ctx, request.AliasName!, request.TargetKeyId!, replace: true);

    void PutAlias(RequestContext ctx, string aliasName, string target, bool replace)
    {
        var name = AliasName(aliasName, update: replace);
        var account = ctx.Principal.AccountId;
        if (target.StartsWith("alias/", StringComparison.Ordinal) || target.Contains(":alias/", StringComparison.Ordinal))
            throw Validation("Aliases must refer to keys. Not aliases");
        var key = Resolve(ctx, target);
        RequireNotPendingDeletion(key);
        if (key.AccountId != account) throw new KeyNotFound($"Key '{target}' does not exist");
        var now = clock.GetUtcNow();
        var created = replace ? store.GetAlias(account, name)?.CreationDate ?? now : now;
        var arn = $"arn:aws:kms:{region}:{account}:{name}";
        if (!store.PutAlias(account, new KmsAlias(name, arn, key.KeyId, created, now), replace))
            throw replace ? KmsErrors.NotFoundException($"Alias {arn} is not found.") : KmsErrors.AlreadyExistsException($"An alias with the name {arn} already exists");
    }

    static AwsException Validation(string message) => new("ValidationException", 400, message);

    void DeleteAlias(DeleteAliasRequest request, RequestContext ctx)
    {
        if (!store.DeleteAlias(ctx.Principal.AccountId, request.AliasName!))
            throw KmsErrors.NotFoundException($"Alias arn:aws:kms:{region}:{ctx.Principal.AccountId}:{request.AliasName} is not found.");
    }

    ListAliasesResponse ListAliases(ListAliasesRequest request, RequestContext ctx)
    {
        var aliases = store.ListAliases(ctx.Principal.AccountId);
        if (request.KeyId is { } keyId)
        {
            var key = Resolve(ctx, keyId);
            aliases = aliases.Where(a => a.TargetKeyId == key.KeyId).ToList();
        }
        var (page, next) = Page(aliases, a => a.AliasName, request.Limit, request.Marker);
        return new()
        {
            Aliases = page.Select(a => new AliasListEntry
            {
                AliasName = a.AliasName,
                AliasArn = a.AliasArn,
                TargetKeyId = a.TargetKeyId,
                CreationDate = a.CreationDate,
                LastUpdatedDate = a.LastUpdatedDate,
            }).ToList(),
            Truncated = next is not null,
            NextMarker = next,
        };
    }

    // ---- cryptography ----

    static void RequireSymmetric(string? algorithm)
    {
        if (algorithm is not null && algorithm != "SYMMETRIC_DEFAULT")
            throw KmsErrors.InvalidKeyUsageException($"The encryption algorithm {algorithm} is not supported by symmetric keys.");
    }

    static IReadOnlyDictionary<string, string> Context(Dictionary<string, string>? context) => context ?? [];

    EncryptResponse Encrypt(EncryptRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireSymmetric(request.EncryptionAlgorithm);
        RequireUsable(key);
        var blob = store.Encrypt(key, request.Plaintext!, Context(request.EncryptionContext));
        return new() { CiphertextBlob = blob, KeyId = key.Arn, EncryptionAlgorithm = "SYMMETRIC_DEFAULT" };
    }

    /// <summary>The key a blob names and its plaintext, checked as Decrypt checks them.</summary>
    (KmsKey Key, byte[] Plaintext) Open(RequestContext ctx, byte[] blob, Dictionary<string, string>? context, string? named)
    {
        var id = KmsStore.KeyIdOf(blob) ?? throw new InvalidCiphertext();
        var key = store.GetKey(id) ?? throw new InvalidCiphertext();
        if (named is not null && Resolve(ctx, named).KeyId != key.KeyId)
            throw KmsErrors.IncorrectKeyException("The key ID in the request does not identify a CMK that can perform this operation.");
        RequireUsable(key);
        var plaintext = store.Decrypt(key, blob, Context(context)) ?? throw new InvalidCiphertext();
        return (key, plaintext);
    }

    DecryptResponse Decrypt(DecryptRequest request, RequestContext ctx)
    {
        RequireSymmetric(request.EncryptionAlgorithm);
        var (key, plaintext) = Open(ctx, request.CiphertextBlob!, request.EncryptionContext, request.KeyId);
        return new() { KeyId = key.Arn, Plaintext = plaintext, EncryptionAlgorithm = "SYMMETRIC_DEFAULT" };
    }

    ReEncryptResponse ReEncrypt(ReEncryptRequest request, RequestContext ctx)
    {
        var (source, plaintext) = Open(ctx, request.CiphertextBlob!, request.SourceEncryptionContext, request.SourceKeyId);
        var destination = Resolve(ctx, request.DestinationKeyId!);
        // Re-encrypting needs kms:ReEncryptTo on the destination key as well.
        ctx.Authorize("kms:ReEncryptTo", destination.Arn);
        RequireUsable(destination);
        var blob = store.Encrypt(destination, plaintext, Context(request.DestinationEncryptionContext));
        return new()
        {
            CiphertextBlob = blob,
            SourceKeyId = source.Arn,
            KeyId = destination.Arn,
            SourceEncryptionAlgorithm = "SYMMETRIC_DEFAULT",
            DestinationEncryptionAlgorithm = "SYMMETRIC_DEFAULT",
        };
    }

    GenerateDataKeyResponse GenerateDataKey(GenerateDataKeyRequest request, RequestContext ctx)
    {
        var (key, dataKey, blob) = NewDataKey(ctx, request.KeyId!, request.KeySpec, request.NumberOfBytes, request.EncryptionContext);
        return new() { CiphertextBlob = blob, Plaintext = dataKey, KeyId = key.Arn };
    }

    GenerateDataKeyWithoutPlaintextResponse GenerateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest request, RequestContext ctx)
    {
        var (key, _, blob) = NewDataKey(ctx, request.KeyId!, request.KeySpec, request.NumberOfBytes, request.EncryptionContext);
        return new() { CiphertextBlob = blob, KeyId = key.Arn };
    }

    (KmsKey Key, byte[] DataKey, byte[] Blob) NewDataKey(RequestContext ctx, string keyId, string? spec, int? bytes, Dictionary<string, string>? context)
    {
        var key = Resolve(ctx, keyId);
        if ((spec is null) == (bytes is null)) throw Validation("Please specify either number of bytes or key spec.");
        var length = spec switch
        {
            "AES_256" => 32,
            "AES_128" => 16,
            _ => bytes!.Value,
        };
        RequireUsable(key);
        var dataKey = RandomNumberGenerator.GetBytes(length);
        return (key, dataKey, store.Encrypt(key, dataKey, Context(context)));
    }

    GenerateRandomResponse GenerateRandom(GenerateRandomRequest request, RequestContext ctx)
        => new() { Plaintext = RandomNumberGenerator.GetBytes(request.NumberOfBytes ?? throw Validation("Please specify number of bytes.")) };

    // ---- rotation ----

    void EnableKeyRotation(EnableKeyRotationRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        var period = request.RotationPeriodInDays ?? 365;
        RequireUsable(key);
        store.UpdateKey(key.KeyId, k => k with { RotationEnabled = true, RotationPeriodInDays = period, NextRotationDate = clock.GetUtcNow().AddDays(period) });
    }

    void DisableKeyRotation(DisableKeyRotationRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireUsable(key);
        store.UpdateKey(key.KeyId, k => k with { RotationEnabled = false, NextRotationDate = null });
    }

    GetKeyRotationStatusResponse GetKeyRotationStatus(GetKeyRotationStatusRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireNotPendingDeletion(key);
        return new()
        {
            KeyRotationEnabled = key.RotationEnabled,
            KeyId = key.Arn,
            RotationPeriodInDays = key.RotationEnabled ? key.RotationPeriodInDays : null,
            NextRotationDate = key.RotationEnabled ? key.NextRotationDate : null,
        };
    }

    RotateKeyOnDemandResponse RotateKeyOnDemand(RotateKeyOnDemandRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireUsable(key);
        Rotate(key.KeyId, "ON_DEMAND");
        return new() { KeyId = key.Arn };
    }

    /// <summary>The key's rotations, oldest first; with <c>ALL_KEY_MATERIAL</c> the original
    /// material too (it has no rotation date or type).</summary>
    ListKeyRotationsResponse ListKeyRotations(ListKeyRotationsRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        var versions = key.Versions.Where(v => v.Version > 1 || request.IncludeKeyMaterial == "ALL_KEY_MATERIAL").ToList();
        var (page, next) = Page(versions, v => v.Version.ToString("D10", System.Globalization.CultureInfo.InvariantCulture), request.Limit, request.Marker);
        return new()
        {
            Rotations = page.Select(v => new RotationsListEntry
            {
                KeyId = key.KeyId,
                RotationDate = v.Version > 1 ? v.CreatedAt : null,
                RotationType = v.Version > 1 ? v.RotationType ?? "AUTOMATIC" : null,
            }).ToList(),
            Truncated = next is not null,
            NextMarker = next,
        };
    }

    // ---- key policy and tags ----

    static void RequireDefaultPolicyName(string? name)
    {
        if (name is not null && name != "default") throw KmsErrors.NotFoundException($"No such policy exists: {name}");
    }

    void PutKeyPolicy(PutKeyPolicyRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireDefaultPolicyName(request.PolicyName);
        var policy = request.Policy!;
        ValidatePolicy(policy);
        // The lockout safety check: the caller must still be able to change the policy afterwards.
        if (request.BypassPolicyLockoutSafetyCheck != true && ctx.Authorizer is Authorizer authorizer)
        {
            var decision = authorizer.Decide(ctx, "kms:PutKeyPolicy", key.Arn, new ResourcePolicy(PolicyDocument.Parse(policy, PolicyKind.Resource), key.AccountId, Required: true));
            if (!decision.IsAllowed)
                throw KmsErrors.MalformedPolicyDocumentException("The new key policy will not allow you to update the key policy in the future.");
        }
        RequireNotPendingDeletion(key);
        store.UpdateKey(key.KeyId, k => k with { Policy = policy });
    }

    GetKeyPolicyResponse GetKeyPolicy(GetKeyPolicyRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireDefaultPolicyName(request.PolicyName);
        return new() { Policy = key.Policy, PolicyName = "default" };
    }

    void TagResource(TagResourceRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        RequireNotPendingDeletion(key);
        var tags = Tags(request.Tags);
        if (tags.Any(t => t.TagKey.Length is 0 or > 128 || t.TagValue.Length > 256))
            throw KmsErrors.TagException("Tag keys must be 1 to 128 characters and values at most 256.");
        store.UpdateKey(key.KeyId, k => k with { Tags = [.. k.Tags.Where(t => tags.All(n => n.TagKey != t.TagKey)), .. tags] });
    }

    void UntagResource(UntagResourceRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        var keys = request.TagKeys?.ToHashSet(StringComparer.Ordinal) ?? [];
        store.UpdateKey(key.KeyId, k => k with { Tags = k.Tags.Where(t => !keys.Contains(t.TagKey)).ToList() });
    }

    ListResourceTagsResponse ListResourceTags(ListResourceTagsRequest request, RequestContext ctx)
    {
        var key = Resolve(ctx, request.KeyId!);
        return new()
        {
            Tags = key.Tags.OrderBy(t => t.TagKey, StringComparer.Ordinal).Select(t => new Tag { TagKey = t.TagKey, TagValue = t.TagValue }).ToList(),
            Truncated = false,
        };
    }
}
