using Strata.Server.Protocol;

namespace Strata.Server.Services.Kms;

// KMS's domain errors: what can go wrong with a key, in KMS's own terms. The table below is the
// one place that says which AWS error each one is (other services that use keys, S3's SSE-KMS,
// map them through the same table and add their own prefix).

/// <summary>No key (or alias) by that name for this caller.</summary>
public sealed class KeyNotFound(string message) : DomainError(message);

/// <summary>A key exists but its state forbids the operation.</summary>
public abstract class KeyStateError(string message) : DomainError(message);

public sealed class KeyDisabled(string keyArn) : KeyStateError($"{keyArn} is disabled.");

public sealed class KeyPendingDeletion(string keyArn) : KeyStateError($"{keyArn} is pending deletion.");

public sealed class KeyNotPendingDeletion(string keyArn) : KeyStateError($"{keyArn} is not pending deletion.");

/// <summary>A ciphertext that names no key, was altered, or was bound to another context.</summary>
public sealed class InvalidCiphertext() : DomainError("");

public static class KmsErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<KeyNotFound>(e => KmsErrors.NotFoundException(e.Message))
        .Map<KeyDisabled>(e => KmsErrors.DisabledException(e.Message))
        .Map<KeyPendingDeletion>(e => KmsErrors.KMSInvalidStateException(e.Message))
        .Map<KeyNotPendingDeletion>(e => KmsErrors.KMSInvalidStateException(e.Message))
        .Map<InvalidCiphertext>(e => KmsErrors.InvalidCiphertextException(e.Message));
}
