using System.Security.Cryptography;
using System.Text.Json;
using Strata.Server.Auth;
using Strata.Server.Protocol;
using Strata.Server.Services.Kms;

namespace Strata.Server.Services.S3;

/// <summary>How an object's body is encrypted at rest: a data key of its own, kept wrapped
/// (under Strata's S3 key for SSE-S3, under a KMS key with the object's encryption context for
/// SSE-KMS) or not kept at all (SSE-C: the customer brings it, only its MD5 is stored).</summary>
public sealed record ObjectEncryption(string Algorithm, string? WrappedKey, string? KmsKeyArn, string? Context, string? CustomerKeyMd5, bool BucketKeyEnabled)
{
    public const string SseS3 = "AES256";
    public const string SseKms = "aws:kms";
    public const string SseC = "SSE-C";
}

/// <summary>A bucket's default encryption (PutBucketEncryption).</summary>
public sealed record DefaultEncryption(string SSEAlgorithm, string? KmsMasterKeyId, bool BucketKeyEnabled);

/// <summary>
/// Server-side encryption as envelope encryption: every object (and every multipart upload) gets
/// a fresh data key, and its body is sealed in authenticated chunks (<see cref="Storage.SegmentCipher"/>).
/// SSE-KMS asks KMS for the data key under the caller's permissions (<c>kms:GenerateDataKey</c>
/// to write, <c>kms:Decrypt</c> to read, with <c>kms:ViaService</c> = S3), so a key policy or a
/// disabled key governs the objects it protects.
/// </summary>
public sealed class ServerSideEncryption(KmsService kms, KmsStore kmsStore, string region)
{
    const string S3Purpose = "s3-sse-s3";

    string ViaService => $"s3.{region}.amazonaws.com";

    /// <summary>The encryption a new object gets from the request's headers, else the bucket's
    /// default; null when it is stored unencrypted.</summary>
    public (ObjectEncryption Meta, byte[] DataKey)? ForNewObject(RequestContext ctx, BucketRecord bucket, string key)
    {
        if (CustomerKey(ctx, copySource: false) is { } customer)
        {
            if (ctx.Header("x-amz-server-side-encryption") is not null)
                throw S3Errors.InvalidArgument("Server Side Encryption with Customer provided key is incompatible with the encryption method specified", "x-amz-server-side-encryption", ctx.Header("x-amz-server-side-encryption"));
            return (new ObjectEncryption(ObjectEncryption.SseC, null, null, null, customer.Md5, false), customer.Key);
        }
        var algorithm = ctx.Header("x-amz-server-side-encryption") ?? bucket.Encryption?.SSEAlgorithm;
        var keyId = ctx.Header("x-amz-server-side-encryption-aws-kms-key-id");
        if (ctx.Header("x-amz-server-side-encryption") is null) keyId ??= bucket.Encryption?.KmsMasterKeyId;
        var bucketKey = ctx.Header("x-amz-server-side-encryption-bucket-key-enabled") is { } b ? b.Equals("true", StringComparison.OrdinalIgnoreCase) : bucket.Encryption?.BucketKeyEnabled ?? false;
        switch (algorithm)
        {
            case null:
                if (keyId is not null)
                    throw S3Errors.InvalidArgument("x-amz-server-side-encryption header is not supported for this operation.", "x-amz-server-side-encryption-aws-kms-key-id", keyId);
                return null;
            case ObjectEncryption.SseS3:
                if (ctx.Header("x-amz-server-side-encryption-aws-kms-key-id") is { } stray)
                    throw S3Errors.InvalidArgument("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms", "x-amz-server-side-encryption-aws-kms-key-id", stray);
                var dataKey = RandomNumberGenerator.GetBytes(32);
                return (new ObjectEncryption(ObjectEncryption.SseS3, Convert.ToBase64String(kmsStore.WrapForService(S3Purpose, dataKey)), null, null, null, false), dataKey);
            case ObjectEncryption.SseKms:
                return ForKms(ctx, bucket, key, keyId, bucketKey);
            default:
                throw S3Errors.InvalidArgument("The encryption method specified is not supported", "x-amz-server-side-encryption", algorithm);
        }
    }

    /// <summary>The encryption of an object a service writes as an execution role (transform
    /// outputs): SSE-KMS under <paramref name="kmsKeyId"/> when given (the role needs
    /// kms:GenerateDataKey), else the bucket's default.</summary>
    public (ObjectEncryption Meta, byte[] DataKey)? ForServiceObject(BucketRecord bucket, string key, string? kmsKeyId, string roleAccount, Action<string, string> authorize)
    {
        var algorithm = kmsKeyId is not null ? ObjectEncryption.SseKms : bucket.Encryption?.SSEAlgorithm;
        kmsKeyId ??= bucket.Encryption?.KmsMasterKeyId;
        if (algorithm is null) return null;
        var dataKey = RandomNumberGenerator.GetBytes(32);
        if (algorithm == ObjectEncryption.SseS3)
            return (new ObjectEncryption(ObjectEncryption.SseS3, Convert.ToBase64String(kmsStore.WrapForService(S3Purpose, dataKey)), null, null, null, false), dataKey);
        var kmsKey = kmsKeyId is null ? kms.AwsManagedKey(bucket.OwnerAccountId, "s3")
            : kms.Find(roleAccount, kmsKeyId).Key ?? throw new AwsException("KMS.NotFoundException", 400, $"Invalid keyId '{kmsKeyId}'");
        authorize("kms:GenerateDataKey", kmsKey.Arn);
        var context = new Dictionary<string, string> { ["aws:s3:arn"] = $"arn:aws:s3:::{bucket.Name}/{key}" };
        var wrapped = Kms(() => kms.Encrypt(kmsKey, dataKey, context));
        return (new ObjectEncryption(ObjectEncryption.SseKms, Convert.ToBase64String(wrapped), kmsKey.Arn,
            Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(context, S3Json.Default.DictionaryStringString)), null, false), dataKey);
    }

    (ObjectEncryption, byte[]) ForKms(RequestContext ctx, BucketRecord bucket, string objectKey, string? keyId, bool bucketKey)
    {
        var owner = bucket.OwnerAccountId;
        KmsKey key;
        if (keyId is null) key = kms.AwsManagedKey(owner, "s3");
        else
        {
            var (found, missing) = kms.Find(ctx.Principal.IsAnonymous ? owner : ctx.Principal.AccountId, keyId);
            key = found ?? throw new AwsException("KMS.NotFoundException", 400, missing);
        }
        var context = ObjectContext(ctx, bucket.Name, objectKey);
        Authorize(ctx, "kms:GenerateDataKey", key, context);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var wrapped = Kms(() => kms.Encrypt(key, dataKey, context));
        return (new ObjectEncryption(ObjectEncryption.SseKms, Convert.ToBase64String(wrapped), key.Arn,
            Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(context, S3Json.Default.DictionaryStringString)), null, bucketKey), dataKey);
    }

    /// <summary>The encryption context S3 gives KMS: the object's ARN, plus what the caller adds.</summary>
    static Dictionary<string, string> ObjectContext(RequestContext ctx, string bucket, string key)
    {
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ctx.Header("x-amz-server-side-encryption-context") is { } header)
        {
            try
            {
                foreach (var (k, v) in JsonSerializer.Deserialize(Convert.FromBase64String(header), S3Json.Default.DictionaryStringString) ?? [])
                    context[k] = v;
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                throw S3Errors.InvalidArgument("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map", "x-amz-server-side-encryption-context", header);
            }
        }
        context.TryAdd("aws:s3:arn", $"arn:aws:s3:::{bucket}/{key}");
        return context;
    }

    /// <summary>The caller's permission on the KMS key, as KMS sees a call made via S3.</summary>
    void Authorize(RequestContext ctx, string action, KmsKey key, IReadOnlyDictionary<string, string> context)
    {
        ctx.ConditionKeys["kms:ViaService"] = [ViaService];
        foreach (var (k, v) in context) ctx.ConditionKeys["kms:EncryptionContext:" + k] = [v];
        var result = ctx.Authorizer!.Decide(ctx, action, key.Arn);
        if (!result.IsAllowed)
            throw new AwsException("AccessDenied", 403, $"User: {ctx.Principal.Arn} is not authorized to perform: {action} on resource: {key.Arn} {result.Reason}".TrimEnd());
    }

    /// <summary>KMS's own errors, as S3 relays them (code prefixed "KMS.").</summary>
    static T Kms<T>(Func<T> call)
    {
        try { return call(); }
        catch (DomainError e) when (KmsErrorTable.Errors.TryMap(e) is { } kms)
        {
            throw new AwsException("KMS." + kms.Code, 400, kms.Message);
        }
    }

    /// <summary>The data key of a stored object, for a request that reads it (the copy source's
    /// when <paramref name="copySource"/>); null for an unencrypted object.</summary>
    public byte[]? DataKeyFor(RequestContext ctx, ObjectEncryption? e, string bucket, string key, bool copySource = false)
    {
        // SSE-C headers are checked even where the object needs none, so every operation that
        // takes them refuses an incomplete or inconsistent set alike.
        var customer = CustomerKey(ctx, copySource);
        if (e is null) return null;
        if (e.Algorithm == ObjectEncryption.SseC)
        {
            var (customerKey, customerMd5) = customer
                ?? throw S3Errors.InvalidRequest("The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.");
            if (customerMd5 != e.CustomerKeyMd5) throw S3Errors.AccessDenied();
            return customerKey;
        }
        return Unwrap(e, (action, kmsKey, context) => Authorize(ctx, action, kmsKey, context));
    }

    /// <summary>The headers that choose an object's encryption as it is written (SSE-S3, SSE-KMS).</summary>
    static readonly string[] WriteOnlyHeaders =
    [
        "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context", "x-amz-server-side-encryption-bucket-key-enabled",
    ];

    /// <summary>GetObject and HeadObject: an object's encryption was chosen when it was written and a
    /// read cannot change it, so a read naming one is refused (as S3 refuses it), whatever the
    /// object. The SSE-C headers a read may carry are checked here as well, so a HEAD that needs
    /// no key refuses a bad set as a GET does.</summary>
    public static void CheckReadHeaders(RequestContext ctx)
    {
        foreach (var name in WriteOnlyHeaders)
        {
            if (ctx.Header(name) is { } value)
                throw S3Errors.InvalidArgument("x-amz-server-side-encryption header is not supported for this operation.", name, value);
        }
        CustomerKey(ctx, copySource: false);
    }

    /// <summary>The data key of an object a service reads as an execution role (SageMaker's
    /// model artifacts): <paramref name="authorize"/> checks <c>kms:Decrypt</c> for the role.</summary>
    public byte[]? DataKeyForService(ObjectEncryption? e, Action<string, string> authorize)
    {
        if (e is null) return null;
        if (e.Algorithm == ObjectEncryption.SseC)
            throw new InvalidOperationException("The object is encrypted with a customer-provided key, which only its owner can supply.");
        return Unwrap(e, (action, key, _) => authorize(action, key.Arn));
    }

    byte[] Unwrap(ObjectEncryption e, Action<string, KmsKey, IReadOnlyDictionary<string, string>> authorize)
    {
        var wrapped = Convert.FromBase64String(e.WrappedKey!);
        if (e.Algorithm == ObjectEncryption.SseS3)
            return kmsStore.UnwrapForService(S3Purpose, wrapped) ?? throw AwsException.Internal("An object's data key does not open under this installation's master key.");
        var arn = e.KmsKeyArn!;
        var keyId = arn[(arn.IndexOf(":key/", StringComparison.Ordinal) + 5)..];
        var key = kms.GetKey(keyId) ?? throw new AwsException("KMS.NotFoundException", 400, $"Key '{e.KmsKeyArn}' does not exist");
        var context = JsonSerializer.Deserialize(Convert.FromBase64String(e.Context!), S3Json.Default.DictionaryStringString)!;
        authorize("kms:Decrypt", key, context);
        return Kms(() => kms.Decrypt(key, wrapped, context)) ?? throw AwsException.Internal("An object's data key does not decrypt under its KMS key.");
    }

    /// <summary>SSE-C headers (of the copy source with <paramref name="copySource"/>), only over HTTPS;
    /// null when the request carries none.</summary>
    static (byte[] Key, string Md5)? CustomerKey(RequestContext ctx, bool copySource)
    {
        var prefix = copySource ? "x-amz-copy-source-server-side-encryption-customer-" : "x-amz-server-side-encryption-customer-";
        var algorithm = ctx.Header(prefix + "algorithm");
        var keyText = ctx.Header(prefix + "key");
        var md5Text = ctx.Header(prefix + "key-MD5");
        if (algorithm is null && keyText is null && md5Text is null) return null;
        if (!ctx.SecureTransport)
            throw S3Errors.InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.");
        return ParseCustomerKey(prefix, algorithm, keyText, md5Text);
    }

    /// <summary>A set of SSE-C headers (named from <paramref name="prefix"/>), any of them present:
    /// all three are required (the key's MD5 too, though it can be computed from the key, since it
    /// is how the client shows the key arrived intact), the algorithm AES256, the key 256 bits
    /// whose MD5 is the one given. S3's recorded answers to a missing algorithm and to a wrong MD5
    /// name <c>x-amz-server-side-encryption</c> (value "null") as the argument, not the header at
    /// fault; a missing key or MD5 is answered alike.</summary>
    internal static (byte[] Key, string Md5) ParseCustomerKey(string prefix, string? algorithm, string? keyText, string? md5Text)
    {
        const string Requests = "Requests specifying Server Side Encryption with Customer provided keys must provide ";
        if (keyText is null)
            throw S3Errors.InvalidArgument(Requests + "an appropriate secret key.", "x-amz-server-side-encryption", "null");
        if (md5Text is null)
            throw S3Errors.InvalidArgument(Requests + "the client calculated MD5 of the secret key.", "x-amz-server-side-encryption", "null");
        if (algorithm is null)
            throw S3Errors.InvalidArgument(Requests + "a valid encryption algorithm.", "x-amz-server-side-encryption", "null");
        if (algorithm != "AES256")
            throw S3Errors.InvalidArgument("The requested encryption algorithm is not valid, must be AES256.", prefix + "algorithm", algorithm);
        byte[] key;
        try { key = Convert.FromBase64String(keyText); }
        catch (FormatException) { key = []; }
        if (key.Length != 32)
            throw S3Errors.InvalidArgument("The secret key was invalid for the specified algorithm.", prefix + "key", "");
        var md5 = Convert.ToBase64String(MD5.HashData(key));
        if (md5Text != md5)
            throw S3Errors.InvalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.", "x-amz-server-side-encryption", "null");
        return (key, md5);
    }

    /// <summary>The response headers that describe an object's encryption.</summary>
    public static void WriteHeaders(HttpResponse response, ObjectEncryption? e)
    {
        if (e is null) return;
        if (e.Algorithm == ObjectEncryption.SseC)
        {
            response.Headers["x-amz-server-side-encryption-customer-algorithm"] = "AES256";
            response.Headers["x-amz-server-side-encryption-customer-key-MD5"] = e.CustomerKeyMd5;
            return;
        }
        response.Headers["x-amz-server-side-encryption"] = e.Algorithm;
        if (e.KmsKeyArn is not null) response.Headers["x-amz-server-side-encryption-aws-kms-key-id"] = e.KmsKeyArn;
        if (e.BucketKeyEnabled) response.Headers["x-amz-server-side-encryption-bucket-key-enabled"] = "true";
    }
}
