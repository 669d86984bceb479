namespace Strata.Server.Hosting;

/// <summary>What an <c>ml.*</c> instance type means on this machine: the worker's ONNX Runtime
/// thread count, memory limit and NVIDIA GPUs (as many as AWS's instance of that type has). One
/// table, used by validation and by the supervisor.</summary>
public sealed record InstanceType(string Name, int Threads, int MemoryMiB, int Gpus = 0)
{
    static readonly Dictionary<string, InstanceType> Catalogue = new InstanceType[]
    {
        new("ml.t2.medium", 1, 4096), new("ml.t2.large", 1, 8192), new("ml.t2.xlarge", 2, 16384),
        new("ml.m5.large", 1, 8192), new("ml.m5.xlarge", 2, 16384), new("ml.m5.2xlarge", 4, 32768), new("ml.m5.4xlarge", 8, 65536),
        new("ml.c5.large", 1, 4096), new("ml.c5.xlarge", 2, 8192), new("ml.c5.2xlarge", 4, 16384), new("ml.c5.4xlarge", 8, 32768),
        new("ml.r5.large", 1, 16384), new("ml.r5.xlarge", 2, 32768),
        // GPU instances: the model runs on the GPU, so a few CPU threads feed it (at most 8).
        Gpu("ml.g4dn.xlarge", 4, 16, 1), Gpu("ml.g4dn.2xlarge", 8, 32, 1), Gpu("ml.g4dn.4xlarge", 16, 64, 1), Gpu("ml.g4dn.8xlarge", 32, 128, 1),
        Gpu("ml.g4dn.12xlarge", 48, 192, 4), Gpu("ml.g4dn.16xlarge", 64, 256, 1),
        Gpu("ml.g5.xlarge", 4, 16, 1), Gpu("ml.g5.2xlarge", 8, 32, 1), Gpu("ml.g5.4xlarge", 16, 64, 1), Gpu("ml.g5.8xlarge", 32, 128, 1),
        Gpu("ml.g5.12xlarge", 48, 192, 4), Gpu("ml.g5.16xlarge", 64, 256, 1), Gpu("ml.g5.24xlarge", 96, 384, 4), Gpu("ml.g5.48xlarge", 192, 768, 8),
        Gpu("ml.p3.2xlarge", 8, 61, 1), Gpu("ml.p3.8xlarge", 32, 244, 4), Gpu("ml.p3.16xlarge", 64, 488, 8),
        Gpu("ml.p4d.24xlarge", 96, 1152, 8), Gpu("ml.p5.48xlarge", 192, 2048, 8),
    }.ToDictionary(t => t.Name);

    static InstanceType Gpu(string name, int vcpus, int memoryGiB, int gpus) => new(name, Math.Min(vcpus / 2, 8), memoryGiB * 1024, gpus);

    public static IReadOnlyCollection<string> Names => Catalogue.Keys;

    public static InstanceType? Find(string? name) => name is not null && Catalogue.TryGetValue(name, out var t) ? t : null;
}

/// <summary>Which container an image URI means. An image whose repository is <c>strata-onnx</c>
/// (any registry host, any tag) is the built-in ONNX Runtime worker; so are AWS's built-in
/// algorithm images (<c>…/sagemaker-xgboost:1.7-1</c>, <c>…/linear-learner:1</c>, <c>…/kmeans:1</c>,
/// <c>…/pca:1</c>), whose models Strata trains as ONNX.</summary>
public static class Images
{
    public const string BuiltInRepository = "strata-onnx";

    public static string Repository(string image)
    {
        var withoutDigest = image.Split('@')[0];
        var lastSegment = withoutDigest[(withoutDigest.LastIndexOf('/') + 1)..];
        return lastSegment.Split(':')[0];
    }

    /// <summary>The built-in algorithm an image means (<c>xgboost</c>, <c>linear-learner</c>,
    /// <c>kmeans</c>, <c>pca</c>): AWS's own repositories, any registry and tag, as the SageMaker
    /// SDK's image_uris.retrieve returns them, and <c>strata-*</c> names; or null.</summary>
    public static string? Algorithm(string image) => Repository(image) switch
    {
        "sagemaker-xgboost" or "xgboost" or "strata-xgboost" => "xgboost",
        "linear-learner" or "strata-linear-learner" => "linear-learner",
        "kmeans" or "strata-kmeans" => "kmeans",
        "pca" or "strata-pca" => "pca",
        _ => null,
    };

    public static bool IsBuiltIn(string image) => Repository(image) == BuiltInRepository || Algorithm(image) is not null;

    /// <summary>SageMaker's model monitor analyzer (<c>…/sagemaker-model-monitor-analyzer</c>, any
    /// registry and tag, as the SageMaker SDK's image_uris.retrieve("model-monitor", region) returns
    /// it, e.g. 156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer) or
    /// <c>strata-model-monitor-analyzer</c>: a processing image Strata runs itself (strata-algorithms
    /// analyze), the analysis chosen by the job's environment.</summary>
    public static bool IsModelMonitorAnalyzer(string image)
        => Repository(image) is "sagemaker-model-monitor-analyzer" or "strata-model-monitor-analyzer";

    /// <summary>SageMaker Clarify's processing image (<c>…/sagemaker-clarify-processing</c>, or
    /// <c>strata-clarify-processing</c>). Strata runs it (as the analyzer) only as a ModelBias
    /// monitoring schedule's execution: a plain processing job with it (the SDK's
    /// SageMakerClarifyProcessor) is Clarify's own program, which Strata does not have.</summary>
    public static bool IsClarifyImage(string image)
        => Repository(image) is "sagemaker-clarify-processing" or "strata-clarify-processing";

    /// <summary>What the built-in worker needs to answer as the image's own container does:
    /// AWS's XGBoost answers a request without Accept in text/csv (one score per line), AWS's
    /// Linear Learner answers JSON as {"predictions": [{"score", "predicted_label"}]}, k-means as
    /// {"predictions": [{"closest_cluster", "distance_to_cluster"}]}, PCA as
    /// {"projections": [{"projection"}]}.</summary>
    public static IReadOnlyDictionary<string, string> ContainerEnvironment(string image) => Algorithm(image) switch
    {
        "xgboost" => new Dictionary<string, string> { ["STRATA_DEFAULT_ACCEPT"] = "text/csv" },
        "linear-learner" or "kmeans" or "pca" => new Dictionary<string, string> { ["STRATA_RESPONSE_FORMAT"] = Algorithm(image)! },
        _ => new Dictionary<string, string>(),
    };
}
