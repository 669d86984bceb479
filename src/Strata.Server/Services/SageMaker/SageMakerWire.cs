using Strata.Server.Hosting;
using Strata.Server.Jobs.Transform;

namespace Strata.Server.Services.SageMaker;

// Strata's own members of SageMaker's responses, beside the generated shapes (SageMaker.g.cs).
// Clients drop members their model does not have; Strata's tests and tools read them raw.

public sealed partial record ProductionVariantSummary
{
    /// <summary>Strata's extension: a serverless variant's metered usage since the server started
    /// (hosting's meter, as it reads).</summary>
    public ServerlessUsage? StrataUsage { get; init; }

    /// <summary>Strata's extension: the running instances and their availability zones (live,
    /// not stored).</summary>
    public List<InstanceSummary>? StrataInstances { get; init; }
}

/// <summary>One running instance of a variant (DescribeEndpoint's <c>StrataInstances</c>).</summary>
public sealed record InstanceSummary(string InstanceId, string? AvailabilityZone);

public sealed partial record DescribeTransformJobResponse
{
    /// <summary>Strata's extension: how far the job has come (the runner's progress, as it reads).</summary>
    public TransformProgress? StrataProgress { get; init; }
}
