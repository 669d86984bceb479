using System.Collections.Concurrent;
using Strata.Server.Services.SageMaker;

namespace Strata.Server.Hosting;

/// <summary>
/// The data plane's owner: deploys endpoints (artifacts, worker processes, health checks),
/// keeps the running ones, and records every outcome in the endpoint's state, so that
/// DescribeEndpoint always tells the truth (Creating → InService, or Failed with the reason).
/// </summary>
public sealed class HostingService(SageMakerStore store, ModelArtifacts artifacts, string runDir, TimeProvider clock, ILogger<HostingService> log) : IAsyncDisposable
{
    static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);
    readonly ConcurrentDictionary<(string Account, string Name), EndpointRuntime> _running = new();
    readonly CancellationTokenSource _stopping = new();

    public EndpointRuntime? Find(string account, string name) => _running.TryGetValue((account, name), out var r) ? r : null;

    /// <summary>Deploys the endpoint's configuration; the task completes when it is InService or
    /// Failed (never throws: failures are the endpoint's status).</summary>
    public Task DeployAsync(string account, string endpointName) => Task.Run(() => DeployCoreAsync(account, endpointName));

    async Task DeployCoreAsync(string account, string endpointName)
    {
        var ct = _stopping.Token;
        var started = new List<WorkerProcess>();
        try
        {
            var endpoint = store.GetEndpoint(account, endpointName) ?? throw new HostingException("the endpoint was deleted");
            var config = store.GetEndpointConfig(account, endpoint.EndpointConfigName)
                ?? throw new HostingException($"the endpoint configuration {endpoint.EndpointConfigName} does not exist");
            var variants = new List<VariantRuntime>();
            foreach (var pv in config.ProductionVariants)
            {
                var model = store.GetModel(account, pv.ModelName!) ?? throw new HostingException($"the model {pv.ModelName} of variant {pv.VariantName} does not exist");
                var container = model.PrimaryContainer ?? model.Containers?.FirstOrDefault() ?? throw new HostingException($"the model {model.ModelName} has no container");
                var image = container.Image ?? "";
                if (!Images.IsBuiltIn(image))
                    throw new HostingException($"the image {image} of model {model.ModelName} is not one Strata can run (repository {Images.BuiltInRepository})");
                var modelDir = container.ModelDataUrl is { } url ? await artifacts.PrepareAsync(account, url, ct)
                    : throw new HostingException($"the model {model.ModelName} has no ModelDataUrl");
                var type = InstanceType.Find(pv.InstanceType) ?? throw new HostingException($"unknown instance type {pv.InstanceType}");
                var count = pv.InitialInstanceCount ?? 1;
                var starting = Enumerable.Range(0, count).Select(i => WorkerProcess.StartAsync(
                    $"{endpointName}-{pv.VariantName}-{i}-{Guid.NewGuid().ToString("N")[..6]}", modelDir, runDir, type, container.Environment, HealthTimeout, ct)).ToList();
                try
                {
                    await Task.WhenAll(starting);
                }
                catch
                {
                    foreach (var t in starting.Where(t => t.IsCompletedSuccessfully)) started.Add(t.Result);
                    throw;
                }
                var instances = starting.Select(t => t.Result).ToList();
                started.AddRange(instances);
                variants.Add(new VariantRuntime(pv.VariantName!, pv.InitialVariantWeight ?? 1f, image, instances));
            }

            var runtime = new EndpointRuntime(endpointName, config.EndpointConfigName, variants);
            var now = clock.GetUtcNow();
            var live = store.UpdateEndpoint(account, endpointName, e => e with
            {
                EndpointStatus = "InService",
                FailureReason = null,
                LastModifiedTime = now,
                ProductionVariants = variants.Select(v => new ProductionVariantSummary
                {
                    VariantName = v.Name,
                    DeployedImages = [new DeployedImage(v.Image, v.Image, now)],
                    CurrentWeight = v.Weight,
                    DesiredWeight = v.Weight,
                    CurrentInstanceCount = v.Instances.Count,
                    DesiredInstanceCount = v.Instances.Count,
                }).ToList(),
            });
            if (!live)
            {
                await runtime.DisposeAsync(); // deleted while it was being deployed
                return;
            }
            if (_running.TryRemove((account, endpointName), out var previous)) await previous.DisposeAsync();
            _running[(account, endpointName)] = runtime;
            log.LogInformation("Endpoint {Endpoint} is InService with {Instances} instances", endpointName, started.Count);
        }
        catch (Exception e) when (e is HostingException or OperationCanceledException)
        {
            foreach (var w in started) await w.DisposeAsync();
            if (e is OperationCanceledException) return;
            log.LogWarning("Endpoint {Endpoint} failed: {Reason}", endpointName, e.Message);
            store.UpdateEndpoint(account, endpointName, rec => rec with { EndpointStatus = "Failed", FailureReason = e.Message, LastModifiedTime = clock.GetUtcNow() });
        }
        catch (Exception e)
        {
            foreach (var w in started) await w.DisposeAsync();
            log.LogError(e, "Deploying endpoint {Endpoint} failed", endpointName);
            store.UpdateEndpoint(account, endpointName, rec => rec with { EndpointStatus = "Failed", FailureReason = "An internal error stopped the deployment: " + e.Message, LastModifiedTime = clock.GetUtcNow() });
        }
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
    }
}
