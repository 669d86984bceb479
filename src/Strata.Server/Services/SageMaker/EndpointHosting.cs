using Strata.Server.Hosting;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// SageMaker's side of hosting: maps its stored rows (endpoint, configuration, models) to the
/// plan the data plane runs, and records what the data plane reports as the endpoint's status
/// and variant summaries (DescribeEndpoint's answer).
/// </summary>
public sealed class EndpointHosting(SageMakerStore store, TimeProvider clock) : IHostingStatus
{
    /// <summary>The plan of an endpoint as its record says now (its configuration).</summary>
    public EndpointPlan PlanOf(string account, string endpointName)
    {
        var endpoint = store.GetEndpoint(account, endpointName) ?? throw new HostingException("the endpoint was deleted");
        var config = store.GetEndpointConfig(account, endpoint.EndpointConfigName)
            ?? throw new HostingException($"the endpoint configuration {endpoint.EndpointConfigName} does not exist");
        return Plan(account, endpointName, config);
    }

    /// <summary>The plan of an endpoint with the configuration <paramref name="config"/>.</summary>
    public EndpointPlan Plan(string account, string endpointName, EndpointConfigRow config)
        => new(endpointName, config.EndpointConfigName, config.ProductionVariants.Select(pv =>
        {
            var model = store.GetModel(account, pv.ModelName!) ?? throw new HostingException($"the model {pv.ModelName} of variant {pv.VariantName} does not exist");
            var container = model.PrimaryContainer ?? model.Containers?.FirstOrDefault() ?? throw new HostingException($"the model {model.ModelName} has no container");
            return new VariantPlan
            {
                VariantName = pv.VariantName!,
                Model = new ModelPlan
                {
                    ModelName = model.ModelName,
                    Image = container.Image ?? "",
                    ModelDataUrl = container.ModelDataUrl,
                    MultiModel = container.Mode == "MultiModel",
                    Environment = container.Environment ?? [],
                    EnableNetworkIsolation = model.EnableNetworkIsolation,
                    ExecutionRoleArn = model.ExecutionRoleArn,
                },
                InstanceType = pv.InstanceType,
                InitialInstanceCount = pv.InitialInstanceCount,
                InitialWeight = pv.InitialVariantWeight ?? 1f,
                RandomRouting = pv.RoutingConfig?.RoutingStrategy == "RANDOM",
                Serverless = pv.ServerlessConfig is { } sc ? new ServerlessSettings(sc.MemorySizeInMB, sc.MaxConcurrency, sc.ProvisionedConcurrency) : null,
            };
        }).ToList())
        { DataCapture = DataCaptureConfigs.Settings(config.DataCaptureConfig), Asynchronous = config.AsyncInferenceConfig is not null };

    /// <summary>Deploys again, after a restart, the endpoints that were serving (or on their way).</summary>
    public void RestoreAll(HostingService hosting)
    {
        foreach (var (account, endpoint) in store.AllEndpoints())
        {
            if (endpoint.EndpointStatus is "InService" or "Creating" or "Updating")
                _ = hosting.DeployAsync(account, endpoint.EndpointName, () => PlanOf(account, endpoint.EndpointName));
        }
    }

    static ServerlessRow? ConfigOf(ServerlessSettings? s) => s is null ? null : new ServerlessRow(s.MemorySizeInMB, s.MaxConcurrency, s.ProvisionedConcurrency);

    List<VariantSummaryRow> Summaries(IReadOnlyList<VariantStatus> variants, List<VariantSummaryRow>? previous) => variants.Select(v => new VariantSummaryRow
    {
        VariantName = v.VariantName,
        DeployedImages = previous?.FirstOrDefault(p => p.VariantName == v.VariantName)?.DeployedImages ?? [new DeployedImageRow(v.Image, v.Image, clock.GetUtcNow())],
        CurrentWeight = v.Weight,
        DesiredWeight = v.Weight,
        CurrentInstanceCount = v.CurrentInstanceCount,
        DesiredInstanceCount = v.DesiredInstanceCount,
        CurrentServerlessConfig = ConfigOf(v.Serverless),
        DesiredServerlessConfig = ConfigOf(v.Serverless),
    }).ToList();

    public bool InService(string account, string endpoint, string? configName, IReadOnlyList<VariantStatus> variants)
    {
        var now = clock.GetUtcNow();
        return store.UpdateEndpoint(account, endpoint, e => e with
        {
            EndpointStatus = "InService",
            EndpointConfigName = configName ?? e.EndpointConfigName,
            FailureReason = null,
            LastModifiedTime = now,
            ProductionVariants = Summaries(variants, null),
        });
    }

    public void VariantsChanged(string account, string endpoint, IReadOnlyList<VariantStatus> variants)
        => store.UpdateEndpoint(account, endpoint, rec => rec with
        {
            EndpointStatus = "InService",
            LastModifiedTime = clock.GetUtcNow(),
            ProductionVariants = Summaries(variants, rec.ProductionVariants),
        });

    public void DeploymentFailed(string account, string endpoint, string reason)
        => store.UpdateEndpoint(account, endpoint, rec => rec with { EndpointStatus = "Failed", FailureReason = reason, LastModifiedTime = clock.GetUtcNow() });

    public void UpdateFailed(string account, string endpoint, string reason, bool stillServing)
        => store.UpdateEndpoint(account, endpoint, rec => rec with
        {
            EndpointStatus = stillServing ? "InService" : "Failed",
            FailureReason = reason,
            LastModifiedTime = clock.GetUtcNow(),
        });
}
