using Strata.Server.Protocol;

namespace Strata.Server.Services.Iam;

// IAM's domain errors: what can go wrong with users, groups, roles, policies and keys, in IAM's
// own terms, with the messages IAM gives. The table below is the one place that says which AWS
// error each one is.

/// <summary>No user, group, role, managed policy (or version), inline policy or access key by
/// that name.</summary>
public sealed class EntityNotFound : DomainError
{
    EntityNotFound(string message) : base(message) { }

    /// <summary>A user, group or role (<paramref name="noun"/>: "user", "group", "role").</summary>
    public static EntityNotFound Entity(string noun, string name) => new($"The {noun} with name {name} cannot be found.");

    public static EntityNotFound InlinePolicy(string noun, string policyName) => new($"The {noun} policy with name {policyName} cannot be found.");

    public static EntityNotFound AccessKey(string accessKeyId) => new($"The Access Key with id {accessKeyId} cannot be found.");

    public static EntityNotFound Policy(string arn) => new($"Policy {arn} was not found.");

    /// <summary>A managed policy named to be attached or used as a boundary.</summary>
    public static EntityNotFound AttachablePolicy(string arn) => new($"Policy {arn} does not exist or is not attachable.");

    public static EntityNotFound PolicyVersion(string arn, string versionId) => new($"Policy {arn} version {versionId} does not exist or is not attachable.");
}

/// <summary>A user, group, role or managed policy of that name exists in the account.</summary>
public sealed class EntityAlreadyExists : DomainError
{
    EntityAlreadyExists(string message) : base(message) { }

    /// <summary>A user, group or role (<paramref name="kind"/>: "User", "Group", "Role").</summary>
    public static EntityAlreadyExists Entity(string kind, string name) => new($"{kind} with name {name} already exists.");

    public static EntityAlreadyExists Policy(string name) => new($"A policy called {name} already exists. Duplicate names are not allowed.");
}

/// <summary>A quota: access keys per user, versions per managed policy.</summary>
public sealed class LimitExceeded(string message) : DomainError(message);

/// <summary>An entity that others still use or that still holds others (policies, keys,
/// members, versions).</summary>
public sealed class DeleteConflict(string message) : DomainError(message);

/// <summary>A policy document being stored does not parse (the parser's message).</summary>
public sealed class MalformedPolicy(string message) : DomainError(message);

/// <summary>An argument that is well-formed on the wire but means nothing to IAM: an ARN that is
/// not one, a policy given to the simulator that does not parse.</summary>
public sealed class InvalidInput(string message) : DomainError(message);

public static class IamErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<EntityNotFound>(e => IamErrors.NoSuchEntityException(e.Message))
        .Map<EntityAlreadyExists>(e => IamErrors.EntityAlreadyExistsException(e.Message))
        .Map<LimitExceeded>(e => IamErrors.LimitExceededException(e.Message))
        .Map<DeleteConflict>(e => IamErrors.DeleteConflictException(e.Message))
        .Map<MalformedPolicy>(e => IamErrors.MalformedPolicyDocumentException(e.Message))
        .Map<InvalidInput>(e => IamErrors.InvalidInputException(e.Message));
}
