using Strata.Server.Protocol;

namespace Strata.Server.Services.AutoScaling;

// Application Auto Scaling's domain errors: what Strata refuses to scale and what is not there,
// in its own terms. The table below is the one place that says which AWS error each one is.

/// <summary>A request Strata cannot honour for a SageMaker variant (another namespace, dimension
/// or resource format; capacities or a policy it does not support).</summary>
public abstract class ScalingRequestRefused(string message) : DomainError(message);

/// <summary>A namespace, dimension or resource ID that is not a SageMaker variant's.</summary>
public sealed class UnsupportedScalableTarget(string message) : ScalingRequestRefused(message);

/// <summary>The endpoint, or its variant, that a resource ID names does not exist.</summary>
public sealed class ScalableVariantNotFound(string endpoint, string variant)
    : ScalingRequestRefused($"The endpoint {endpoint} with variant {variant} does not exist.");

/// <summary>Capacities a variant cannot have.</summary>
public sealed class InvalidCapacity(string message) : ScalingRequestRefused(message);

/// <summary>A scaling policy Strata does not apply.</summary>
public sealed class UnsupportedScalingPolicy(string message) : ScalingRequestRefused(message);

/// <summary>No scalable target is registered for the resource.</summary>
public sealed class ScalableTargetNotFound(string? serviceNamespace, string? resourceId, string? scalableDimension)
    : DomainError($"No scalable target registered for service namespace: {serviceNamespace}, resource ID: {resourceId}, scalable dimension: {scalableDimension}");

/// <summary>No scaling policy of that name on the resource.</summary>
public sealed class ScalingPolicyNotFound(string? serviceNamespace, string? resourceId, string? scalableDimension, string policyName)
    : DomainError($"No scaling policy found for service namespace: {serviceNamespace}, resource ID: {resourceId}, scalable dimension: {scalableDimension}, policy name: {policyName}");

public static class AutoScalingErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<ScalingRequestRefused>(e => ApplicationAutoScalingErrors.ValidationException(e.Message))
        .Map<ScalableTargetNotFound>(e => ApplicationAutoScalingErrors.ObjectNotFoundException(e.Message))
        .Map<ScalingPolicyNotFound>(e => ApplicationAutoScalingErrors.ObjectNotFoundException(e.Message));
}
