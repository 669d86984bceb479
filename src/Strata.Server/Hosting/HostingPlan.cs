namespace Strata.Server.Hosting;

// What hosting is asked to run, and what it reports back. The control plane (SageMaker) maps its
// stored rows to a plan and the reported status to its own records; hosting knows neither.

/// <summary>An endpoint to run: its name, the configuration the plan came from, and its variants.</summary>
public sealed record EndpointPlan(string EndpointName, string ConfigName, IReadOnlyList<VariantPlan> Variants)
{
    /// <summary>The configuration's data capture (Model Monitor), null when it has none.</summary>
    public CaptureSettings? DataCapture { get; init; }
    /// <summary>The configuration has an AsyncInferenceConfig: requests come only through its queue.</summary>
    public bool Asynchronous { get; init; }
}

/// <summary>One variant: the model it serves, where and how many (instance type and count, or
/// serverless settings), its weight and how requests pick an instance.</summary>
public sealed record VariantPlan
{
    public required string VariantName { get; init; }
    public required ModelPlan Model { get; init; }
    public string? InstanceType { get; init; }
    public int? InitialInstanceCount { get; init; }
    public float InitialWeight { get; init; } = 1f;
    /// <summary>Any live instance at random instead of the least busy one.</summary>
    public bool RandomRouting { get; init; }
    /// <summary>Set for a serverless variant: no instance while idle, started by requests.</summary>
    public ServerlessSettings? Serverless { get; init; }
}

/// <summary>The container a variant runs and the artifact it serves.</summary>
public sealed record ModelPlan
{
    public required string ModelName { get; init; }
    public required string Image { get; init; }
    /// <summary>The artifact (s3://…/model.tar.gz), or for a multi-model container the prefix its models are under.</summary>
    public string? ModelDataUrl { get; init; }
    public bool MultiModel { get; init; }
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public bool EnableNetworkIsolation { get; init; }
    /// <summary>The role artifacts are read as (never as root); null when none was given.</summary>
    public string? ExecutionRoleArn { get; init; }
}

/// <summary>A serverless variant's settings, as given (null members were not given).</summary>
public sealed record ServerlessSettings(int? MemorySizeInMB, int? MaxConcurrency, int? ProvisionedConcurrency);

/// <summary>What a serverless variant has used: requests, and compute in GB-seconds (memory ×
/// time spent on requests), as serverless inference is billed.</summary>
public sealed record ServerlessUsage(long Requests, double GBSeconds, int ColdStarts);

/// <summary>A variant as it runs now.</summary>
public sealed record VariantStatus(string VariantName, string Image, float Weight, int CurrentInstanceCount, int DesiredInstanceCount, ServerlessSettings? Serverless);

/// <summary>
/// Where hosting reports what became of the plans it was given (the control plane records it:
/// SageMaker's endpoint status). Called from background deployments, never on a request's path.
/// </summary>
public interface IHostingStatus
{
    /// <summary>A deployment went live with these variants; <paramref name="configName"/> is the
    /// configuration it now serves when that changed (an update), else null. False when the
    /// endpoint no longer exists (deleted while it deployed): the new runtime is then stopped.</summary>
    bool InService(string account, string endpoint, string? configName, IReadOnlyList<VariantStatus> variants);

    /// <summary>Weights or instance counts changed; the endpoint served throughout.</summary>
    void VariantsChanged(string account, string endpoint, IReadOnlyList<VariantStatus> variants);

    /// <summary>A deployment failed; <paramref name="reason"/> says why.</summary>
    void DeploymentFailed(string account, string endpoint, string reason);

    /// <summary>An update failed: the endpoint keeps serving its configuration when
    /// <paramref name="stillServing"/>, else it has nothing running.</summary>
    void UpdateFailed(string account, string endpoint, string reason, bool stillServing);
}

/// <summary>
/// Reads model artifacts for hosting: fetches one (as the plan's role), unpacks it into a model
/// directory and returns the directory. Implemented by the control plane, which knows where
/// artifacts are stored and how a role is assumed.
/// </summary>
public interface IArtifactReader
{
    /// <param name="requireOnnx">The built-in container needs model.onnx; a container of one's own
    /// gets whatever the archive holds.</param>
    /// <exception cref="HostingException">The artifact cannot be used; the message names why
    /// (<see cref="ArtifactNotFoundException"/>, <see cref="ArtifactAccessException"/> for the two
    /// a caller may answer differently).</exception>
    Task<string> PrepareAsync(ModelPlan model, string modelDataUrl, bool requireOnnx, CancellationToken ct);
}

/// <summary>How many instances a variant wants: the one thing autoscaling reads and changes.</summary>
public interface IVariantScaling
{
    /// <summary>The variant's desired instance count; null when the endpoint is not running or has no such variant.</summary>
    int? DesiredInstanceCount(string account, string endpoint, string variant);

    /// <summary>Starts or retires instances to reach <paramref name="count"/> (the same path as
    /// UpdateEndpointWeightsAndCapacities); throws <see cref="HostingException"/> when it cannot.</summary>
    Task SetDesiredInstanceCountAsync(string account, string endpoint, string variant, int count);
}

/// <summary>Options of the data plane, bound once from the server's options.</summary>
public sealed record HostingOptions
{
    /// <summary>Where worker sockets live (short: socket paths are limited to 108 bytes).</summary>
    public required string RunDir { get; init; }
    /// <summary>The server's data directory, hidden from a container of one's own in the sandbox.</summary>
    public required string DataDir { get; init; }
    /// <summary>Where instances' log streams are written.</summary>
    public required string LogDir { get; init; }
    /// <summary>How long serverless variants stay warm without requests.</summary>
    public required TimeSpan ServerlessIdle { get; init; }
    /// <summary>Where instances' output also goes as CloudWatch Logs events (none: files only).</summary>
    public Storage.LogIngestion? LogEvents { get; init; }
    /// <summary>GPU instance types run on the CPU when the machine has no NVIDIA GPU (otherwise their endpoints fail).</summary>
    public bool GpuInstancesOnCpu { get; init; }
    /// <summary>The NVIDIA GPUs instances may take (null: those the machine has).</summary>
    public int? MachineGpus { get; init; }
}
