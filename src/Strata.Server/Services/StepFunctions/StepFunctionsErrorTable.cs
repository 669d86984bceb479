using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;

namespace Strata.Server.Services.StepFunctions;

// Step Functions' domain errors, in its own terms, with AWS's messages (which quote the ARN or
// name they are about). The table below is the one place that says which AWS error each one is.

public sealed class StateMachineNotFound(string arn) : DomainError($"State Machine Does Not Exist: '{arn}'");

public sealed class StateMachineExists(string arn) : DomainError($"State Machine Already Exists: '{arn}'");

public sealed class ExecutionNotFound(string arn) : DomainError($"Execution Does Not Exist: '{arn}'");

public sealed class ExecutionExists(string arn) : DomainError($"Execution Already Exists: '{arn}'");

/// <summary>An ARN that is not one of the kind the operation takes.</summary>
public sealed class BadArn(string why) : DomainError($"Invalid Arn: '{why}'");

public sealed class BadName(string name) : DomainError($"Invalid Name: '{name}'");

/// <summary>A definition the States language refuses; the message is the interpreter's, AWS's.</summary>
public sealed class BadDefinition(string message) : DomainError(message);

public sealed class BadExecutionInput(string why) : DomainError($"Invalid State Machine Execution Input: '{why}'");

/// <summary>An operation the machine's type does not have (StartSyncExecution of a STANDARD machine, …).</summary>
public sealed class TypeNotSupported() : DomainError("This operation is not supported by this type of state machine");

public sealed class BadToken(string token) : DomainError($"Invalid Token: '{token}'");

public sealed class BadLoggingConfiguration(string why) : DomainError(why);

public sealed class TooManyStatesTags(string arn) : DomainError($"Too many tags on resource: '{arn}'. The maximum is 50.");

public sealed class StatesResourceNotFound(string arn) : DomainError($"Resource not found: '{arn}'");

public sealed class MissingStatesParameter(string message) : DomainError(message);

/// <summary>Input Step Functions refuses beyond the model's constraints.</summary>
public sealed class StatesValidation(string message) : DomainError(message);

public sealed class ActivityNotFound(string arn) : DomainError($"Activity Does Not Exist: '{arn}'");

public sealed class BadEncryptionConfiguration(string why) : DomainError(why);

/// <summary>SendTaskSuccess's output that is not JSON.</summary>
public sealed class BadTaskOutput(string why) : DomainError($"Invalid Output: '{why}'");

/// <summary>A change that conflicts with the resource as it is (a stale revision, a version an alias routes to, …).</summary>
public sealed class StatesConflict(string message) : DomainError(message);

public sealed class VersionQuotaExceeded(string arn)
    : DomainError($"Maximum number of versions ({StepFunctionsStore.MaxVersions}) reached for state machine: '{arn}'. Delete unused versions.");

public sealed class AliasQuotaExceeded(string arn)
    : DomainError($"Maximum number of aliases ({StepFunctionsStore.MaxAliases}) reached for state machine: '{arn}'.");

public sealed class NotRedrivable(string arn, string why) : DomainError($"Execution '{arn}' cannot be redriven: {why}");

public static class StepFunctionsErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<StateMachineNotFound>(e => StepFunctionsErrors.StateMachineDoesNotExist(e.Message))
        .Map<StateMachineExists>(e => StepFunctionsErrors.StateMachineAlreadyExists(e.Message))
        .Map<ExecutionNotFound>(e => StepFunctionsErrors.ExecutionDoesNotExist(e.Message))
        .Map<ExecutionExists>(e => StepFunctionsErrors.ExecutionAlreadyExists(e.Message))
        .Map<BadArn>(e => StepFunctionsErrors.InvalidArn(e.Message))
        .Map<BadName>(e => StepFunctionsErrors.InvalidName(e.Message))
        .Map<BadDefinition>(e => StepFunctionsErrors.InvalidDefinition(e.Message))
        .Map<BadExecutionInput>(e => StepFunctionsErrors.InvalidExecutionInput(e.Message))
        .Map<TypeNotSupported>(e => StepFunctionsErrors.StateMachineTypeNotSupported(e.Message))
        .Map<BadToken>(e => StepFunctionsErrors.InvalidToken(e.Message))
        .Map<BadLoggingConfiguration>(e => StepFunctionsErrors.InvalidLoggingConfiguration(e.Message))
        .Map<TooManyStatesTags>(e => StepFunctionsErrors.TooManyTags(e.Message))
        .Map<StatesResourceNotFound>(e => StepFunctionsErrors.ResourceNotFound(e.Message))
        .Map<MissingStatesParameter>(e => StepFunctionsErrors.MissingRequiredParameter(e.Message))
        .Map<StatesValidation>(e => StepFunctionsErrors.ValidationException(e.Message))
        .Map<ActivityNotFound>(e => StepFunctionsErrors.ActivityDoesNotExist(e.Message))
        .Map<BadEncryptionConfiguration>(e => StepFunctionsErrors.InvalidEncryptionConfiguration(e.Message))
        .Map<BadTaskOutput>(e => StepFunctionsErrors.InvalidOutput(e.Message))
        .Map<MalformedTaskToken>(e => StepFunctionsErrors.InvalidToken(e.Message))
        .Map<TaskTokenNotFound>(e => StepFunctionsErrors.TaskDoesNotExist(e.Message))
        .Map<StatesConflict>(e => StepFunctionsErrors.ConflictException(e.Message))
        .Map<VersionQuotaExceeded>(e => StepFunctionsErrors.ServiceQuotaExceededException(e.Message))
        .Map<AliasQuotaExceeded>(e => StepFunctionsErrors.ServiceQuotaExceededException(e.Message))
        .Map<NotRedrivable>(e => StepFunctionsErrors.ExecutionNotRedrivable(e.Message))
        .Map<TaskTokenTimedOut>(e => StepFunctionsErrors.TaskTimedOut(e.Message));
}
