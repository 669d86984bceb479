using Strata.Server.Storage;

namespace Strata.Server.Hosting;

/// <summary>A running endpoint: its variants, each with weight and instances. Picks where a
/// request goes: a variant by weight (or the one asked for), then the instance of that
/// variant with the fewest requests in flight. Supervision passes (driven by
/// <see cref="HostingService"/>'s loop) replace any instance that dies, with backoff.</summary>
public sealed class EndpointRuntime : IAsyncDisposable
{
    readonly CancellationTokenSource _stop = new();
    readonly Lock _passLock = new();
    Task _pass = Task.CompletedTask;
    readonly Dictionary<VariantRuntime, int> _failures = [];
    readonly ILogger _log;

    readonly TimeProvider _clock;
    readonly InstanceUtilization _utilization;

    /// <summary>How long a serverless variant stays warm with no request.</summary>
    readonly TimeSpan _serverlessIdle;

    /// <summary>An asynchronous inference endpoint: InvokeEndpoint is refused, only its queue sends it requests.</summary>
    public bool Asynchronous { get; init; }

    public EndpointRuntime(string account, string name, string configName, IReadOnlyList<VariantRuntime> variants, MetricsStore metrics, TimeProvider clock, TimeSpan serverlessIdle, ILogger log)
    {
        _clock = clock;
        _serverlessIdle = serverlessIdle;
        Account = account;
        Name = name;
        ConfigName = configName;
        Variants = variants;
        _log = log;
        // SageMaker's instance metrics, in its namespace for endpoint instances and with the
        // endpoint's and variant's names (not the instance's) as dimensions.
        _utilization = new InstanceUtilization(metrics, clock, account, "/aws/sagemaker/Endpoints",
            now => Variants.SelectMany(v => v.Instances.Select(i => (i.Sample(now), new[] { ("EndpointName", name), ("VariantName", v.Name) }))), log);
    }

    /// <summary>The account the endpoint belongs to (its metrics are that account's).</summary>
    public string Account { get; }
    public string Name { get; }
    public string ConfigName { get; }
    public IReadOnlyList<VariantRuntime> Variants { get; }

    public VariantRuntime? PickVariant(string? target)
    {
        if (target is not null) return Variants.FirstOrDefault(v => v.Name == target);
        var total = Variants.Sum(v => Math.Max(0, v.Weight));
        if (total <= 0) return null;
        var roll = Random.Shared.NextDouble() * total;
        foreach (var v in Variants)
        {
            if (v.Weight <= 0) continue;
            roll -= v.Weight;
            if (roll < 0) return v;
        }
        return Variants.Last(v => v.Weight > 0);
    }

    /// <summary>Starts a supervision pass unless one is still running (a slow replacement or a
    /// backoff holds up this endpoint only) or the endpoint is stopping.</summary>
    public void Supervise()
    {
        lock (_passLock)
        {
            if (!_pass.IsCompleted || _stop.IsCancellationRequested) return;
            _pass = Task.Run(() => SuperviseOnceAsync(_stop.Token));
        }
    }

    async Task SuperviseOnceAsync(CancellationToken ct)
    {
        try
        {
            foreach (var variant in Variants)
            {
                // A serverless variant idle long enough goes back to its provisioned instances (often none).
                if (variant.Serverless is { } sl && variant.Instances.Count > sl.ProvisionedInstances && sl.Idle >= _serverlessIdle)
                {
                    await variant.ScaleToAsync(sl.ProvisionedInstances, ct);
                    _log.LogInformation("Serverless {Endpoint}/{Variant} was idle for {Idle}: down to {Count} instances", Name, variant.Name, _serverlessIdle, variant.Instances.Count);
                }
                foreach (var dead in variant.Instances.Where(i => i.HasExited).ToList())
                {
                    _log.LogWarning("Instance {Instance} of {Endpoint}/{Variant} exited ({Log}); replacing it", dead.Id, Name, variant.Name, dead.LogTail());
                    variant.Remove(dead);
                    await dead.DisposeAsync();
                }
                if (variant.Instances.Count < variant.DesiredInstanceCount && !ct.IsCancellationRequested)
                {
                    try
                    {
                        await variant.ReplenishAsync(ct);
                        _failures[variant] = 0;
                    }
                    catch (HostingException e)
                    {
                        // Backoff: 1 s, 2 s, 4 s … up to 30 s between failed starts.
                        var n = _failures[variant] = _failures.GetValueOrDefault(variant) + 1;
                        _log.LogWarning("A replacement instance of {Endpoint}/{Variant} failed to start: {Reason}", Name, variant.Name, e.Message);
                        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, n - 1))), _clock, ct);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "Supervision of endpoint {Endpoint} failed; the next pass tries again", Name);
        }
    }

    /// <summary>Stops the endpoint: in-flight requests finish first (up to 30 s), then every
    /// instance gets SIGTERM.</summary>
    public async ValueTask DisposeAsync()
    {
        Task pass;
        lock (_passLock)
        {
            _stop.Cancel();
            pass = _pass;
        }
        await pass;
        _utilization.Dispose();
        foreach (var v in Variants)
            foreach (var i in v.Instances.ToList()) await VariantRuntime.RetireAsync(i);
    }
}

public sealed class VariantRuntime(string name, float weight, string image, List<WorkerProcess> instances, Func<string?, CancellationToken, Task<WorkerProcess>> startInstance,
    Zones? zones = null, bool randomRouting = false, Serverless? serverless = null)
{
    readonly Lock _lock = new();
    // One change of the instance count at a time: supervision's replacements, scaling
    // (UpdateEndpointWeightsAndCapacities, autoscaling) and serverless cold starts.
    readonly SemaphoreSlim _scaling = new(1, 1);

    /// <summary>Set for a multi-model variant: which instance holds which model.</summary>
    public MultiModel? MultiModel { get; init; }

    /// <summary>Set when the endpoint's configuration captures data (Model Monitor).</summary>
    public VariantCapture? Capture { get; init; }

    /// <summary>Set for a serverless variant: instances come and go with its requests.</summary>
    public Serverless? Serverless { get; } = serverless;

    /// <summary>A serverless variant's instance for one more request: a running one with room,
    /// else a new one started now (a cold start; its setup time is returned, else zero).</summary>
    public async Task<(WorkerProcess? Instance, TimeSpan Setup)> ServerlessInstanceAsync(CancellationToken ct)
    {
        var sl = Serverless!;
        if (Instances.Count >= sl.NeededInstances && PickInstance() is { } warm) return (warm, TimeSpan.Zero);
        await _scaling.WaitAsync(ct);
        try
        {
            if (Instances.Count >= sl.NeededInstances && PickInstance() is { } started) return (started, TimeSpan.Zero);
            var begun = System.Diagnostics.Stopwatch.GetTimestamp();
            var instance = await StartInstanceAsync(ct);
            Add(instance);
            DesiredInstanceCount = Instances.Count;
            sl.ColdStarted();
            return (instance, System.Diagnostics.Stopwatch.GetElapsedTime(begun));
        }
        finally
        {
            _scaling.Release();
        }
    }

    /// <summary>Sets the desired count and starts or retires instances to reach it.</summary>
    public async Task ScaleToAsync(int desired, CancellationToken ct)
    {
        List<WorkerProcess> extra;
        await _scaling.WaitAsync(ct);
        try
        {
            DesiredInstanceCount = desired;
            while (Instances.Count < desired) Add(await StartInstanceAsync(ct));
            extra = Instances.Skip(desired).ToList();
            foreach (var e in extra) Remove(e);
        }
        finally
        {
            _scaling.Release();
        }
        foreach (var e in extra) await RetireAsync(e);
    }

    /// <summary>Replaces instances that died, up to the desired count (supervision): all at once,
    /// each in the healthy zone that needs it most.</summary>
    public async Task ReplenishAsync(CancellationToken ct)
    {
        await _scaling.WaitAsync(ct);
        try
        {
            var placed = Instances.Select(i => i.Zone).ToList();
            var starting = new List<Task<WorkerProcess>>();
            for (var i = Instances.Count; i < DesiredInstanceCount; i++)
            {
                var zone = zones?.Pick(placed);
                placed.Add(zone);
                starting.Add(startInstance(zone, ct));
            }
            try { await Task.WhenAll(starting); }
            finally
            {
                foreach (var t in starting.Where(t => t.IsCompletedSuccessfully)) Add(t.Result);
            }
        }
        finally
        {
            _scaling.Release();
        }
    }
    List<WorkerProcess> _instances = instances;

    public string Name { get; } = name;
    public float Weight { get; set; } = weight;
    public string Image { get; } = image;
    public int DesiredInstanceCount { get; set; } = instances.Count;

    /// <summary>A snapshot; the list is replaced, never changed in place, so readers need no lock.</summary>
    public IReadOnlyList<WorkerProcess> Instances => Volatile.Read(ref _instances);

    /// <summary>Starts one more instance, in the healthy zone where this variant has the fewest.</summary>
    public Task<WorkerProcess> StartInstanceAsync(CancellationToken ct) => startInstance(zones?.Pick(Instances.Select(i => i.Zone)), ct);

    public void Add(WorkerProcess instance)
    {
        lock (_lock) Volatile.Write(ref _instances, [.. _instances, instance]);
    }

    public void Remove(WorkerProcess instance)
    {
        lock (_lock) Volatile.Write(ref _instances, _instances.Where(i => i != instance).ToList());
    }

    /// <summary>Takes an instance out of rotation, lets its in-flight requests finish (up to
    /// 30 s), then stops it.</summary>
    public static async Task RetireAsync(WorkerProcess instance)
    {
        for (var i = 0; i < 300 && instance.Outstanding > 0 && !instance.HasExited; i++) await Task.Delay(100);
        await instance.DisposeAsync();
    }

    /// <summary>Least outstanding requests among live instances, ties broken at random (or any
    /// live instance at random, with RoutingStrategy RANDOM);
    /// <paramref name="except"/> is skipped (the instance a retry moves away from).</summary>
    public WorkerProcess? PickInstance(WorkerProcess? except = null)
    {
        if (randomRouting)
        {
            var live = Instances.Where(i => i != except && !i.HasExited).ToList();
            return live.Count == 0 ? null : live[Random.Shared.Next(live.Count)];
        }
        WorkerProcess? best = null;
        var ties = 0;
        foreach (var i in Instances)
        {
            if (i == except || i.HasExited) continue;
            if (best is null || i.Outstanding < best.Outstanding)
            {
                best = i;
                ties = 1;
            }
            else if (i.Outstanding == best.Outstanding && Random.Shared.Next(++ties) == 0)
            {
                best = i;
            }
        }
        return best;
    }
}
