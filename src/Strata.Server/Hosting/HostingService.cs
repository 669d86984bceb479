using System.Collections.Concurrent;
using Strata.Server.Jobs.Containers;
using Strata.Server.Storage;

namespace Strata.Server.Hosting;

/// <summary>
/// The data plane's owner: deploys endpoints from their plans (artifacts, worker processes,
/// health checks), keeps the running ones, changes them (blue/green updates, weights and
/// capacities), and reports every outcome to <see cref="IHostingStatus"/>, so that the control
/// plane always tells the truth (Creating → InService, Updating → InService, or Failed with the
/// reason). As a hosted service its loop drives the supervision of every running endpoint.
/// </summary>
public sealed class HostingService(IArtifactReader artifacts, ImageCatalogue images, MetricsStore metrics, IHostingStatus status, HostingOptions options,
    TimeProvider clock, ILogger<HostingService> log, Zones? zones = null) : BackgroundService, IVariantScaling
{
    /// <summary>Where variants of configurations with a DataCaptureConfig send what they capture
    /// (none: such configurations capture nothing).</summary>
    public DataCaptureWriter? Capture { get; init; }

    static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);
    static readonly TimeSpan SupervisionInterval = TimeSpan.FromMilliseconds(200);

    readonly ConcurrentDictionary<(string Account, string Name), EndpointRuntime> _running = new();
    readonly GpuPlacement _gpus = PlaceGpus(options, log);
    readonly CancellationTokenSource _stopping = new();

    /// <summary>The machine's GPUs, and NVML to read them when the driver is there (a count given
    /// in the options, as tests give it, stands for GPUs that cannot be read).</summary>
    static GpuPlacement PlaceGpus(HostingOptions options, ILogger log)
    {
        if (options.MachineGpus is { } given) return new GpuPlacement(given, options.GpuInstancesOnCpu);
        var detected = GpuPlacement.Detect();
        if (detected == 0) return new GpuPlacement(0, options.GpuInstancesOnCpu);
        var nvml = Nvml.Open();
        if (nvml is null || nvml.Devices < detected)
        {
            // The GPUs still run models; only their metrics are missing, which is said once here.
            log.LogWarning("The driver lists {Gpus} NVIDIA GPUs but NVML (libnvidia-ml.so.1) {Reads}: GPU instances publish no GPUUtilization or GPUMemoryUtilization",
                detected, nvml is null ? "cannot be opened" : $"sees {nvml.Devices}");
            nvml = null;
        }
        return new GpuPlacement(detected, options.GpuInstancesOnCpu, nvml);
    }

    /// <summary>The machine's GPUs, which batch transform's instances take from too.</summary>
    public GpuPlacement Gpus => _gpus;

    public EndpointRuntime? Find(string account, string name) => _running.TryGetValue((account, name), out var r) ? r : null;

    /// <summary>Every running endpoint gets a supervision pass each interval (dead instances
    /// replaced, idle serverless variants scaled in; utilization has its own timer, see
    /// <see cref="InstanceUtilization"/>).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await Task.Delay(SupervisionInterval, clock, stoppingToken); }
            catch (OperationCanceledException) { return; }
            foreach (var runtime in _running.Values) runtime.Supervise();
        }
    }

    /// <summary>Deploys an endpoint; the task completes when it is InService or Failed (never
    /// throws: failures are reported). The plan is made inside the deployment, so a plan that
    /// cannot be made (a model deleted since) fails the endpoint like any other failure.</summary>
    public Task DeployAsync(string account, string endpointName, Func<EndpointPlan> plan) => Task.Run(async () =>
    {
        try
        {
            var runtime = await BuildAsync(account, plan(), _stopping.Token);
            await GoLiveAsync(account, runtime, configName: null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(account, endpointName, e);
        }
        catch (OperationCanceledException) { }
    });

    /// <summary>Blue/green: the new plan's instances start and pass their health checks while
    /// the old ones keep serving; traffic then moves at once and the old instances drain. If the
    /// new plan cannot be deployed the endpoint keeps serving the old one.</summary>
    public Task UpdateAsync(string account, string endpointName, Func<EndpointPlan> plan) => Task.Run(async () =>
    {
        try
        {
            var planned = plan();
            var runtime = await BuildAsync(account, planned, _stopping.Token);
            await GoLiveAsync(account, runtime, planned.ConfigName);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var reason = e is HostingException ? e.Message : "An internal error stopped the update: " + e.Message;
            log.LogWarning("Update of endpoint {Endpoint} failed, it keeps its configuration: {Reason}", endpointName, reason);
            status.UpdateFailed(account, endpointName, reason, stillServing: _running.ContainsKey((account, endpointName)));
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
        status.VariantsChanged(account, endpointName, Statuses(runtime));
    }

    public int? DesiredInstanceCount(string account, string endpoint, string variant)
        => Find(account, endpoint)?.Variants.FirstOrDefault(v => v.Name == variant)?.DesiredInstanceCount;

    public Task SetDesiredInstanceCountAsync(string account, string endpoint, string variant, int count)
        => UpdateWeightsAndCapacitiesAsync(account, endpoint, [(variant, null, count)]);

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

    async Task<EndpointRuntime> BuildAsync(string account, EndpointPlan plan, CancellationToken ct)
    {
        var endpointName = plan.EndpointName;
        var variants = new List<VariantRuntime>();
        try
        {
            foreach (var pv in plan.Variants)
            {
                var model = pv.Model;
                var image = model.Image;
                var command = Images.IsBuiltIn(image) ? null : images.CommandFor(image)
                    ?? throw new HostingException($"the image {image} of model {model.ModelName} is neither {Images.BuiltInRepository}, a built-in algorithm's, nor in the image catalogue (strata images add)");
                // The built-in worker runs as the server (root, where containers of one's own are
                // sandboxed), and so does any container without the sandbox: a model's Environment may
                // not choose what code such a process loads (LD_PRELOAD, DOTNET_STARTUP_HOOKS naming a
                // file of its own artifact, whose path under the data directory it can work out).
                if ((command is null || !Sandbox.Available)
                    && model.Environment.Keys.FirstOrDefault(k => JobContainer.ChoosesCode(k) && !k.StartsWith("STRATA_", StringComparison.Ordinal)) is { } unsafeKey)
                    throw new HostingException($"the Environment variable {unsafeKey} of model {model.ModelName} changes which code a program loads, and its container runs as the server ({(command is null ? "the built-in worker" : "the server does not run as root, so there is no sandbox")})");
                // A multi-model container loads its models on demand, each read from under the prefix as the role.
                var multi = model.MultiModel && model.ModelDataUrl is { } modelPrefix
                    ? new MultiModel(modelPrefix, (url, token) => artifacts.PrepareAsync(model, url, requireOnnx: true, token), metrics, account, endpointName, pv.VariantName, clock)
                    : null;
                var modelDir = multi is not null ? Directory.CreateTempSubdirectory("strata-multimodel-").FullName
                    : model.ModelDataUrl is { } url ? await artifacts.PrepareAsync(model, url, requireOnnx: command is null, ct)
                    : command is not null ? Directory.CreateTempSubdirectory("strata-nomodel-").FullName
                    : throw new HostingException($"the model {model.ModelName} has no ModelDataUrl");
                // A serverless variant's "instance type" is its memory size, one ONNX Runtime thread.
                var serverless = pv.Serverless is { } sc ? new Serverless(sc, clock) : null;
                var type = serverless is not null ? new InstanceType($"serverless-{pv.Serverless!.MemorySizeInMB}", 1, pv.Serverless.MemorySizeInMB ?? 1024)
                    : InstanceType.Find(pv.InstanceType) ?? throw new HostingException($"unknown instance type {pv.InstanceType}");
                // A GPU instance type that cannot run here fails the endpoint before any instance starts.
                _gpus.Check(type);
                var environment = new Dictionary<string, string>(model.Environment);
                foreach (var (k, v) in Images.ContainerEnvironment(image)) environment.TryAdd(k, v);
                if (multi is not null)
                {
                    environment["SAGEMAKER_MULTI_MODEL"] = "true";
                    // Loaded models may take the instance type's memory (the model's Environment may say less).
                    environment.TryAdd("STRATA_MODEL_MEMORY_MB", type.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                var variantName = pv.VariantName;
                Task<WorkerProcess> Start(string? zone, CancellationToken token)
                {
                    // SageMaker's naming: log group /aws/sagemaker/Endpoints/{endpoint}, stream {variant}/{instance}.
                    var instanceId = "i-" + Guid.NewGuid().ToString("N")[..17];
                    var log = new WorkerLog(Path.Combine(options.LogDir, "aws", "sagemaker", "Endpoints", endpointName, variantName, instanceId + ".log"),
                        account, $"/aws/sagemaker/Endpoints/{endpointName}", $"{variantName}/{instanceId}", options.LogEvents);
                    // Each instance its own GPUs (the built-in worker then runs on CUDA); none on the CPU.
                    var instanceEnvironment = new Dictionary<string, string>(environment);
                    var gpus = _gpus.For(type);
                    foreach (var (k, v) in gpus.Environment) instanceEnvironment[k] = v;
                    return WorkerProcess.StartAsync($"{endpointName}/{variantName}/{instanceId}", modelDir, options.RunDir, type, instanceEnvironment, HealthTimeout, token,
                        log, command, model.EnableNetworkIsolation, zone, clock, dataDir: options.DataDir, gpus: gpus.Gpus);
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
                variants.Add(new VariantRuntime(variantName, pv.InitialWeight, image, starting.Select(t => t.Result).ToList(), Start,
                    zones, randomRouting: pv.RandomRouting, serverless: serverless)
                {
                    MultiModel = multi,
                    Capture = Capture?.For(account, endpointName, variantName, plan.DataCapture, model.ExecutionRoleArn),
                });
            }
            return new EndpointRuntime(account, endpointName, plan.ConfigName, variants, metrics, clock, options.ServerlessIdle, log)
            {
                Asynchronous = plan.Asynchronous,
            };
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
        if (!status.InService(account, runtime.Name, configName, Statuses(runtime)))
        {
            await runtime.DisposeAsync(); // deleted while it was being deployed
            return;
        }
        _running.TryGetValue((account, runtime.Name), out var previous);
        _running[(account, runtime.Name)] = runtime;
        if (previous is not null) await previous.DisposeAsync();
        log.LogInformation("Endpoint {Endpoint} is InService with {Instances} instances", runtime.Name, runtime.Variants.Sum(v => v.Instances.Count));
    }

    static List<VariantStatus> Statuses(EndpointRuntime runtime) => runtime.Variants
        .Select(v => new VariantStatus(v.Name, v.Image, v.Weight, v.Instances.Count, v.DesiredInstanceCount, v.Serverless?.Config)).ToList();

    void Fail(string account, string endpointName, Exception e)
    {
        var reason = e is HostingException ? e.Message : "An internal error stopped the deployment: " + e.Message;
        if (e is HostingException) log.LogWarning("Endpoint {Endpoint} failed: {Reason}", endpointName, reason);
        else log.LogError(e, "Deploying endpoint {Endpoint} failed", endpointName);
        status.DeploymentFailed(account, endpointName, reason);
    }

    public async Task StopEndpointAsync(string account, string endpointName)
    {
        if (_running.TryRemove((account, endpointName), out var runtime)) await runtime.DisposeAsync();
    }

    /// <summary>Stops the supervision loop, then every endpoint (in-flight requests finish first).</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _stopping.CancelAsync();
        foreach (var runtime in _running.Values) await runtime.DisposeAsync();
        _running.Clear();
        try { if (Directory.Exists(options.RunDir)) Directory.Delete(options.RunDir, recursive: true); }
        catch (IOException) { } // a socket still held by a dying worker: the OS cleans /tmp
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }
}
