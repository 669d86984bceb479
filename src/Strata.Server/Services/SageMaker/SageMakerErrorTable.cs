using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

// SageMaker's domain errors: what can go wrong with its resources, in its own terms. The table
// below is the one place that says which AWS error each one is. SageMaker answers a name that
// does not exist with a ValidationException ("Could not find …"), which the CLI's waiters rely on.

/// <summary>No resource of that name (or ARN) in the caller's account.</summary>
public abstract class SageMakerNotFound(string message) : DomainError(message);

public sealed class ModelNotFound(string modelArn) : SageMakerNotFound($"Could not find model \"{modelArn}\".");

public sealed class EndpointConfigNotFound(string configArn) : SageMakerNotFound($"Could not find endpoint configuration \"{configArn}\".");

public sealed class EndpointNotFound(string endpointArn) : SageMakerNotFound($"Could not find endpoint \"{endpointArn}\".");

public sealed class TransformJobNotFound(string jobName) : SageMakerNotFound($"Could not find requested job with name {jobName}");

public sealed class TrainingJobNotFound() : SageMakerNotFound("Requested resource not found.");

public sealed class ModelPackageGroupNotFound(string groupArn) : SageMakerNotFound($"ModelPackageGroup {groupArn} does not exist.");

public sealed class ModelPackageNotFound(string packageArn) : SageMakerNotFound($"ModelPackage {packageArn} does not exist.");

public sealed class ProcessingJobNotFound(string jobName) : SageMakerNotFound($"Could not find requested job with name {jobName}");

/// <summary>DeleteHyperParameterTuningJob names a tuning job that does not exist (the operation
/// declares no ResourceNotFound).</summary>
public sealed class DeletedTuningJobNotFound(string name) : SageMakerNotFound($"Amazon SageMaker can't find a tuning job with name {name}");

/// <summary>A tagging request names a resource that does not exist.</summary>
public sealed class TaggedResourceNotFound(string arn) : SageMakerNotFound($"Resource {arn} does not exist.");

/// <summary>A variant that an endpoint does not have.</summary>
public sealed class VariantNotFound(string variantName, string endpointArn)
    : SageMakerNotFound($"The variant name(s) \"[{variantName}]\" is/are not present in the endpoint \"{endpointArn}\".");

/// <summary>A hyperparameter tuning job that does not exist, named by an operation that declares
/// ResourceNotFound (Describe, Stop, ListTrainingJobsForHyperParameterTuningJob).</summary>
public sealed class TuningJobNotFound(string name) : DomainError($"Amazon SageMaker can't find a tuning job with name {name}");

/// <summary>A create request names a resource that exists already.</summary>
public abstract class SageMakerAlreadyExists(string message) : DomainError(message);

public sealed class ModelAlreadyExists(string modelArn) : SageMakerAlreadyExists($"Cannot create already existing model \"{modelArn}\".");

public sealed class EndpointConfigAlreadyExists(string configArn) : SageMakerAlreadyExists($"Cannot create already existing endpoint configuration \"{configArn}\".");

public sealed class EndpointAlreadyExists(string endpointArn) : SageMakerAlreadyExists($"Cannot create already existing endpoint \"{endpointArn}\".");

public sealed class TransformJobAlreadyExists(string jobArn)
    : SageMakerAlreadyExists($"Job name must be unique within an AWS account and region, and a job with this name already exists ({jobArn})");

public sealed class TrainingJobAlreadyExists(string jobArn)
    : SageMakerAlreadyExists($"Training job names must be unique within an AWS account and region, and a training job with this name already exists ({jobArn})");

public sealed class ModelPackageGroupAlreadyExists(string groupArn) : SageMakerAlreadyExists($"Model Package Group already exists: {groupArn}");

public sealed class ModelPackageAlreadyExists(string packageArn) : SageMakerAlreadyExists($"Model Package already exists: {packageArn}");

public sealed class ProcessingJobAlreadyExists(string jobArn)
    : SageMakerAlreadyExists($"Job name must be unique within an AWS account and region, and a job with this name already exists ({jobArn})");

public sealed class TuningJobAlreadyExists(string jobArn)
    : SageMakerAlreadyExists($"Hyperparameter tuning job names must be unique within an AWS account and region, and a tuning job with this name already exists ({jobArn})");

/// <summary>A resource exists but its state forbids the operation.</summary>
public abstract class SageMakerInvalidState(string message) : DomainError(message);

public sealed class EndpointNotInService(string endpointArn) : SageMakerInvalidState($"Cannot update in-progress endpoint \"{endpointArn}\".");

public sealed class TransformJobNotStoppable(string jobName, string status) : SageMakerInvalidState($"Transform job {jobName} is {status} and cannot be stopped.");

public sealed class TrainingJobNotStoppable(string status) : SageMakerInvalidState($"The request was rejected because the training job is in status {status}.");

/// <summary>A model package a model is made from that may not be deployed (its approval or its status).</summary>
public sealed class ModelPackageNotDeployable(string message) : SageMakerInvalidState(message);

/// <summary>A change that conflicts with what the resource holds (SageMaker's ConflictException).</summary>
public abstract class SageMakerConflict(string message) : DomainError(message);

public sealed class ModelPackageGroupNotEmpty(string groupArn)
    : SageMakerConflict($"Model Package Group {groupArn} cannot be deleted because it contains model packages: delete them first.");

public sealed class ProcessingJobNotStoppable(string status) : SageMakerInvalidState($"The request was rejected because the processing job is in status {status}.");

public sealed class TuningJobNotStoppable(string status) : SageMakerInvalidState($"The request was rejected because the hyperparameter tuning job is in status {status}.");

public sealed class TuningJobNotDeletable(string name, string status)
    : SageMakerInvalidState($"The hyperparameter tuning job {name} is {status}: only a tuning job that has ended (Completed, Failed or Stopped) can be deleted.");

public static class SageMakerErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<SageMakerNotFound>(e => SageMakerErrors.ValidationException(e.Message))
        .Map<SageMakerAlreadyExists>(e => SageMakerErrors.ValidationException(e.Message))
        // Unlike models, endpoints and configurations, a transform job that exists is ResourceInUse.
        .Map<TransformJobAlreadyExists>(e => SageMakerErrors.ResourceInUse(e.Message))
        .Map<TrainingJobAlreadyExists>(e => SageMakerErrors.ResourceInUse(e.Message))
        .Map<ProcessingJobAlreadyExists>(e => SageMakerErrors.ResourceInUse(e.Message))
        .Map<TuningJobAlreadyExists>(e => SageMakerErrors.ResourceInUse(e.Message))
        .Map<TuningJobNotFound>(e => SageMakerErrors.ResourceNotFound(e.Message))
        .Map<JobDefinitionNotFound>(e => SageMakerErrors.ResourceNotFound(e.Message))
        .Map<MonitoringScheduleNotFound>(e => SageMakerErrors.ResourceNotFound(e.Message))
        .Map<SageMakerInvalidState>(e => SageMakerErrors.ValidationException(e.Message))
        .Map<SageMakerConflict>(e => SageMakerErrors.ConflictException(e.Message));
}
