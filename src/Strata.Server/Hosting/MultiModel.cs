using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Strata.Server.Storage;

namespace Strata.Server.Hosting;

/// <summary>A model held for one request; disposing it marks the model idle again.</summary>
public sealed class ModelLease(Action release) : IDisposable
{
    public required WorkerProcess Instance { get; init; }
    public required string WorkerModelName { get; init; }
    public void Dispose() => release();
}

/// <summary>
/// A multi-model variant: each request names a model (TargetModel) under the container's S3
/// prefix. A model goes to an instance that already holds it when there is one; otherwise it is
/// downloaded (cached on local disk) and loaded into the least busy instance, which unloads its
/// least recently used idle models when its memory budget says no (507). The SageMaker metrics
/// ModelCacheHit, ModelLoadingWaitTime, ModelDownloadingTime, ModelLoadingTime,
/// ModelUnloadingTime and LoadedModelCount are recorded as it goes. Which model is least recently
/// used is read from the injected clock; the metrics' durations are measured with Stopwatch.
/// </summary>
public sealed class MultiModel(string prefix, Func<string, CancellationToken, Task<string>> download, MetricsStore metrics, string account, string endpoint, string variant,
    TimeProvider clock)
{
    sealed class Held(string name, long now)
    {
        public string Name { get; } = name;
        public int InUse;
        public long LastUsed = now;
    }

    sealed class InstanceModels
    {
        public readonly SemaphoreSlim Loading = new(1, 1);
        public readonly ConcurrentDictionary<string, Held> Models = new();
    }

    readonly ConditionalWeakTable<WorkerProcess, InstanceModels> _instances = new();

    public string Prefix { get; } = prefix;

    void Metric(string name, string unit, double value)
        => metrics.Record(account, "AWS/SageMaker", name, unit, value, ("EndpointName", endpoint), ("VariantName", variant));

    /// <summary>The name a model has inside the worker (TargetModel paths may hold any character).</summary>
    static string WorkerName(string target) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(target)))[..24];

    public async Task<ModelLease> AcquireAsync(VariantRuntime runtime, string target, CancellationToken ct)
    {
        var name = WorkerName(target);
        var arrived = Stopwatch.GetTimestamp();
        var live = runtime.Instances.Where(i => !i.HasExited).ToList();
        var holder = live.Where(i => _instances.GetOrCreateValue(i).Models.ContainsKey(name)).OrderBy(i => i.Outstanding).FirstOrDefault();
        if (holder is not null && Take(holder, name) is { } hit)
        {
            Metric("ModelCacheHit", "None", 1);
            return hit;
        }
        Metric("ModelCacheHit", "None", 0);
        var instance = runtime.PickInstance() ?? throw new HostingException($"no instance of variant {runtime.Name} is running");
        var models = _instances.GetOrCreateValue(instance);
        await models.Loading.WaitAsync(ct);
        try
        {
            Metric("ModelLoadingWaitTime", "Microseconds", Stopwatch.GetElapsedTime(arrived).TotalMicroseconds);
            if (Take(instance, name) is { } loadedMeanwhile) return loadedMeanwhile;
            var downloading = Stopwatch.GetTimestamp();
            var dir = await download(Prefix + target, ct);
            Metric("ModelDownloadingTime", "Microseconds", Stopwatch.GetElapsedTime(downloading).TotalMicroseconds);
            var loading = Stopwatch.GetTimestamp();
            while (true)
            {
                using var response = await instance.Http.PostAsJsonAsync("models", new Dictionary<string, string> { ["model_name"] = name, ["url"] = dir }, ct);
                if (response.IsSuccessStatusCode || (int)response.StatusCode == 409) break;
                if ((int)response.StatusCode != 507)
                    throw new HostingException($"the model {target} failed to load: {await response.Content.ReadAsStringAsync(ct)}");
                // Out of memory: unload the least recently used model nobody is using, and retry.
                Held? victim = null;
                foreach (var candidate in models.Models.Values.Where(h => Volatile.Read(ref h.InUse) == 0).OrderBy(h => Volatile.Read(ref h.LastUsed)))
                {
                    // Out of the table first, then idle for sure: a request that took it meanwhile keeps it.
                    if (!models.Models.TryRemove(candidate.Name, out _)) continue;
                    if (Volatile.Read(ref candidate.InUse) == 0) { victim = candidate; break; }
                    models.Models[candidate.Name] = candidate;
                }
                if (victim is null) throw new HostingException($"the model {target} does not fit in the instance's memory next to the models in use");
                var unloading = Stopwatch.GetTimestamp();
                using (await instance.Http.DeleteAsync($"models/{victim.Name}", ct)) { }
                Metric("ModelUnloadingTime", "Microseconds", Stopwatch.GetElapsedTime(unloading).TotalMicroseconds);
            }
            Metric("ModelLoadingTime", "Microseconds", Stopwatch.GetElapsedTime(loading).TotalMicroseconds);
            models.Models[name] = new Held(name, clock.GetTimestamp());
            Metric("LoadedModelCount", "None", LoadedModelCount(runtime));
            return Take(instance, name)!;
        }
        finally
        {
            models.Loading.Release();
        }
    }

    ModelLease? Take(WorkerProcess instance, string name)
    {
        if (!_instances.GetOrCreateValue(instance).Models.TryGetValue(name, out var held)) return null;
        Interlocked.Increment(ref held.InUse);
        return new ModelLease(() =>
        {
            Volatile.Write(ref held.LastUsed, clock.GetTimestamp());
            Interlocked.Decrement(ref held.InUse);
        })
        { Instance = instance, WorkerModelName = name };
    }

    public int LoadedModelCount(VariantRuntime runtime) => runtime.Instances.Sum(i => _instances.GetOrCreateValue(i).Models.Count);
}
