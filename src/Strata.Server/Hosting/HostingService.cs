using Strata.Server.Auth;
using System.Collections.Concurrent;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Hosting;

/// <summary>
/// The data plane's owner: deploys endpoints (artifacts, worker processes, health checks),
/// keeps the running ones, changes them (blue/green updates, weights and capacities), and
/// records every outcome in the endpoint's state, so that DescribeEndpoint always tells the
/// truth (Creating → InService, Updating → InService, or Failed with the reason).
/// </summary>
public sealed class HostingService(SageMakerStore store, ModelArtifacts artifacts, ImageCatalogue images, MetricsStore metrics, ExecutionRoles roles,
    string runDir, string logDir, string region, TimeProvider clock, ILogger<HostingService> log, Zones? zones = null) : IAsyncDisposable
{
    static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long serverless variants stay warm without requests.</summary>
    public TimeSpan ServerlessIdle { get; init; } = TimeSpan.FromMinutes(2);
    readonly ConcurrentDictionary<(string Account, string Name), EndpointRuntime> _running = new();
    readonly CancellationTokenSource _stopping = new();

    public EndpointRuntime? Find(string account, string name) => _running.TryGetValue((account, name), out var r) ? r : null;

    /// <summary>Deploys the endpoint's configuration; the task completes when it is InService or
    /// Failed (never throws: failures are the endpoint's status).</summary>
    public Task DeployAsync(string account, string endpointName) => Task.Run(async () =>
    {
        try
        {
            var endpoint = store.GetEndpoint(account, endpointName) ?? throw new HostingException("the endpoint was deleted");
            var config = store.GetEndpointConfig(account, endpoint.EndpointConfigName)
                ?? throw new HostingException($"the endpoint configuration {endpoint.EndpointConfigName} does not exist");
            var runtime = await BuildAsync(account, endpointName, config, _stopping.Token);
            await GoLiveAsync(account, runtime, configName: null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(account, endpointName, e);
        }
        catch (OperationCanceledException) { }
    });

    /// <summary>Blue/green: the new configuration's instances start and pass their health checks
    /// while the old ones keep serving; traffic then moves at once and the old instances drain.
    /// If the new configuration cannot be deployed the endpoint keeps serving the old one.</summary>
    public Task UpdateAsync(string account, string endpointName, EndpointConfigRecord config) => Task.Run(async () =>
    {
        try
        {
            var runtime = await BuildAsync(account, endpointName, config, _stopping.Token);
            await GoLiveAsync(account, runtime, config.EndpointConfigName);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var reason = e is HostingException or ExecutionRoleException ? e.Message : "An internal error stopped the update: " + e.Message;
            log.LogWarning("Update of endpoint {Endpoint} failed, it keeps its configuration: {Reason}", endpointName, reason);
            store.UpdateEndpoint(account, endpointName, rec => rec with
            {
                EndpointStatus = _running.ContainsKey((account, endpointName)) ? "InService" : "Failed",
                FailureReason = reason,
                LastModifiedTime = clock.GetUtcNow(),
            });
        }
        catch (OperationCanceledException) { }
    });

    /// <summary>New weights take effect at once; capacity changes start instances (health
    /// checked before they take traffic) or drain and stop the extra ones.</summary>
    public async Task UpdateWeightsAndCapacitiesAsync(string account, string endpointName, IReadOnlyList<(string Variant, float? Weight, int? Count)> changes)
    {
        var runtime = Find(account, endpointName) ?? throw new HostingException($"endpoint {endpointName} is not running");
        foreach (var (name, weight, count) in changes)
        {
            var variant = runtime.Variants.First(v => v.Name == name);
            if (weight is { } w) variant.Weight = w;
            if (count is { } desired) await variant.ScaleToAsync(desired, _stopping.Token);
        }
        store.UpdateEndpoint(account, endpointName, rec => rec with
        {
            EndpointStatus = "InService",
            LastModifiedTime = clock.GetUtcNow(),
            ProductionVariants = Summaries(runtime, rec.ProductionVariants),
        });
    }

    /// <summary>The running endpoints.</summary>
    public IEnumerable<(string Account, EndpointRuntime Runtime)> Running() => _running.Select(e => (e.Key.Account, e.Value));

    /// <summary>Every running instance: endpoint, variant, and the instance (with its zone).</summary>
    public IEnumerable<(string Account, string Endpoint, string Variant, WorkerProcess Instance)> AllInstances()
        => _running.SelectMany(e => e.Value.Variants.SelectMany(v => v.Instances.Select(i => (e.Key.Account, e.Key.Name, v.Name, i))));

    /// <summary>A chaos drill: kills instances (SIGKILL) as a failing machine would; supervision
    /// replaces them. Returns the ids killed.</summary>
    public List<string> Crash(Func<(string Account, string Endpoint, string Variant, WorkerProcess Instance), bool> which)
    {
        var killed = AllInstances().Where(which).ToList();
        foreach (var k in killed) k.Instance.Crash();
        return killed.Select(k => k.Instance.Id).ToList();
    }

    /// <summary>Model artifacts are read as the model's execution role, assumed by SageMaker.</summary>
    Action<string, string> Authorizer(ModelRecord model, string url)
    {
        var role = model.ExecutionRoleArn ?? throw new HostingException($"the model {model.ModelName} has no ExecutionRoleArn");
        var session = roles.Assume(role, ExecutionRoles.SageMaker);
        return (action, resource) => roles.Require(session, action, resource, $"s3.{region}.amazonaws.com", $"Could not access model data at {url}");
    }

    async Task<EndpointRuntime> BuildAsync(string account, string endpointName, EndpointConfigRecord config, CancellationToken ct)
    {
        var variants = new List<VariantRuntime>();
        try
        {
            foreach (var pv in config.ProductionVariants)
            {
                var model = store.GetModel(account, pv.ModelName!) ?? throw new HostingException($"the model {pv.ModelName} of variant {pv.VariantName} does not exist");
                var container = model.PrimaryContainer ?? model.Containers?.FirstOrDefault() ?? throw new HostingException($"the model {model.ModelName} has no container");
                var image = container.Image ?? "";
                var command = Images.IsBuiltIn(image) ? null : images.CommandFor(image)
                    ?? throw new HostingException($"the image {image} of model {model.ModelName} is neither {Images.BuiltInRepository} nor in the image catalogue (strata images add)");
                // A multi-model container loads its models on demand, each read from under the prefix as the role.
                var multi = container.Mode == "MultiModel" && container.ModelDataUrl is { } modelPrefix
                    ? new MultiModel(modelPrefix, (url, token) => artifacts.PrepareAsync(url, Authorizer(model, url), token), metrics, endpointName, pv.VariantName!)
                    : null;
                var modelDir = multi is not null ? Directory.CreateTempSubdirectory("strata-multimodel-").FullName
                    : container.ModelDataUrl is { } url ? await artifacts.PrepareAsync(url, Authorizer(model, url), ct, requireOnnx: command is null)
                    : command is not null ? Directory.CreateTempSubdirectory("strata-nomodel-").FullName
                    : throw new HostingException($"the model {model.ModelName} has no ModelDataUrl");
                // A serverless variant's "instance type" is its memory size, one ONNX Runtime thread.
                var serverless = pv.ServerlessConfig is { } sc ? new Serverless(sc) : null;
                var type = serverless is not null ? new InstanceType($"serverless-{pv.ServerlessConfig!.MemorySizeInMB}", 1, pv.ServerlessConfig.MemorySizeInMB ?? 1024)
                    : InstanceType.Find(pv.InstanceType) ?? throw new HostingException($"unknown instance type {pv.InstanceType}");
                var environment = new Dictionary<string, string>(container.Environment ?? []);
                if (multi is not null)
                {
                    environment["SAGEMAKER_MULTI_MODEL"] = "true";
                    // Loaded models may take the instance type's memory (the model's Environment may say less).
                    environment.TryAdd("STRATA_MODEL_MEMORY_MB", type.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                var variantName = pv.VariantName!;
                Task<WorkerProcess> Start(string? zone, CancellationToken token)
                {
                    // SageMaker's naming: log group /aws/sagemaker/Endpoints/{endpoint}, stream {variant}/{instance}.
                    var instanceId = "i-" + Guid.NewGuid().ToString("N")[..17];
                    return WorkerProcess.StartAsync($"{endpointName}/{variantName}/{instanceId}", modelDir, runDir, type, environment, HealthTimeout, token,
                        Path.Combine(logDir, "aws", "sagemaker", "Endpoints", endpointName, variantName, instanceId + ".log"), command, model.EnableNetworkIsolation, zone);
                }
                var initial = serverless?.ProvisionedInstances ?? pv.InitialInstanceCount ?? 1;
                List<string?> placement = zones is null ? [.. Enumerable.Repeat<string?>(null, initial)] : [.. zones.Spread(initial)];
                var starting = placement.Select(zone => Start(zone, ct)).ToList();
                try
                {
                    await Task.WhenAll(starting);
                }
                catch
                {
                    foreach (var t in starting.Where(t => t.IsCompletedSuccessfully)) await t.Result.DisposeAsync();
                    throw;
                }
                variants.Add(new VariantRuntime(variantName, pv.InitialVariantWeight ?? 1f, image, starting.Select(t => t.Result).ToList(), Start,
                    zones, randomRouting: pv.RoutingConfig?.RoutingStrategy == "RANDOM", serverless: serverless) { MultiModel = multi });
            }
            return new EndpointRuntime(endpointName, config.EndpointConfigName, variants, metrics, clock, log) { ServerlessIdle = ServerlessIdle };
        }
        catch
        {
            foreach (var v in variants)
                foreach (var i in v.Instances) await i.DisposeAsync();
            throw;
        }
    }

    /// <summary>Makes <paramref name="runtime"/> the one that serves, records it, and drains the
    /// one it replaces.</summary>
    async Task GoLiveAsync(string account, EndpointRuntime runtime, string? configName)
    {
        var now = clock.GetUtcNow();
        var live = store.UpdateEndpoint(account, runtime.Name, e => e with
        {
            EndpointStatus = "InService",
            EndpointConfigName = configName ?? e.EndpointConfigName,
            FailureReason = null,
            LastModifiedTime = now,
            ProductionVariants = Summaries(runtime, null),
        });
        if (!live)
        {
            await runtime.DisposeAsync(); // deleted while it was being deployed
            return;
        }
        _running.TryGetValue((account, runtime.Name), out var previous);
        _running[(account, runtime.Name)] = runtime;
        if (previous is not null) await previous.DisposeAsync();
        log.LogInformation("Endpoint {Endpoint} is InService with {Instances} instances", runtime.Name, runtime.Variants.Sum(v => v.Instances.Count));
    }

    List<ProductionVariantSummary> Summaries(EndpointRuntime runtime, List<ProductionVariantSummary>? previous) => runtime.Variants.Select(v => new ProductionVariantSummary
    {
        VariantName = v.Name,
        DeployedImages = previous?.FirstOrDefault(p => p.VariantName == v.Name)?.DeployedImages ?? [new DeployedImage(v.Image, v.Image, clock.GetUtcNow())],
        CurrentWeight = v.Weight,
        DesiredWeight = v.Weight,
        CurrentInstanceCount = v.Instances.Count,
        DesiredInstanceCount = v.DesiredInstanceCount,
        CurrentServerlessConfig = v.Serverless?.Config,
        DesiredServerlessConfig = v.Serverless?.Config,
    }).ToList();

    void Fail(string account, string endpointName, Exception e)
    {
        var reason = e is HostingException or ExecutionRoleException ? e.Message : "An internal error stopped the deployment: " + e.Message;
        if (e is HostingException) log.LogWarning("Endpoint {Endpoint} failed: {Reason}", endpointName, reason);
        else log.LogError(e, "Deploying endpoint {Endpoint} failed", endpointName);
        store.UpdateEndpoint(account, endpointName, rec => rec with { EndpointStatus = "Failed", FailureReason = reason, LastModifiedTime = clock.GetUtcNow() });
    }

    public async Task StopAsync(string account, string endpointName)
    {
        if (_running.TryRemove((account, endpointName), out var runtime)) await runtime.DisposeAsync();
    }

    /// <summary>After a restart: endpoints that were serving (or on their way) are deployed again.</summary>
    public void RestoreAll()
    {
        foreach (var (account, endpoint) in store.AllEndpoints())
        {
            if (endpoint.EndpointStatus is "InService" or "Creating" or "Updating")
                _ = DeployAsync(account, endpoint.EndpointName);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var runtime in _running.Values) await runtime.DisposeAsync();
        _running.Clear();
        try { if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true); }
        catch (IOException) { } // a socket still held by a dying worker: the OS cleans /tmp
    }
}
