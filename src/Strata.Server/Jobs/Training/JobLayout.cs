using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// A training job's directory, laid out as SageMaker's <c>/opt/ml</c>: <c>input/config</c>
/// (hyperparameters.json, inputdataconfig.json, resourceconfig.json), <c>input/data/&lt;channel&gt;</c>,
/// <c>model</c>, <c>output</c> (<c>failure</c>), <c>output/data</c>, <c>checkpoints</c>, <c>code</c>;
/// and the environment the SageMaker training toolkit gives a container (<c>SM_*</c>), for the
/// directory as the container sees it (<c>/opt/ml</c> in its own mount namespace).
/// </summary>
public sealed class JobLayout
{
    public required string Root { get; init; }
    public string Config => Path.Combine(Root, "input", "config");
    public string Data => Path.Combine(Root, "input", "data");
    public string Model => Path.Combine(Root, "model");
    public string Output => Path.Combine(Root, "output");
    public string OutputData => Path.Combine(Root, "output", "data");
    public string Checkpoints => Path.Combine(Root, "checkpoints");
    public string Code => Path.Combine(Root, "code");

    public static JobLayout Create(string root)
    {
        var layout = new JobLayout { Root = Path.GetFullPath(root) };
        foreach (var dir in new[] { layout.Config, layout.Data, layout.Model, layout.OutputData, layout.Checkpoints, layout.Code })
            Directory.CreateDirectory(dir);
        return layout;
    }

    const string Host = Containers.JobContainer.Host;

    static JsonObject Hyperparameters(TrainingJob job)
    {
        var o = new JsonObject();
        foreach (var (k, v) in job.HyperParameters.OrderBy(kv => kv.Key, StringComparer.Ordinal)) o[k] = v;
        return o;
    }

    static JsonObject InputDataConfig(TrainingJob job)
    {
        var o = new JsonObject();
        foreach (var c in job.Channels)
        {
            var channel = new JsonObject
            {
                ["TrainingInputMode"] = c.InputMode ?? job.InputMode,
                ["S3DistributionType"] = c.S3DataDistributionType,
                ["RecordWrapperType"] = c.RecordWrapperType,
            };
            if (c.ContentType is not null) channel["ContentType"] = c.ContentType;
            if (c.CompressionType != "None") channel["CompressionType"] = c.CompressionType;
            o[c.Name] = channel;
        }
        return o;
    }

    static JsonObject ResourceConfig() => Containers.JobContainer.ResourceConfig(null);

    /// <summary>The files of <c>input/config</c>, as SageMaker writes them.</summary>
    public void WriteConfig(TrainingJob job)
    {
        File.WriteAllText(Path.Combine(Config, "hyperparameters.json"), Hyperparameters(job).ToJsonString());
        File.WriteAllText(Path.Combine(Config, "inputdataconfig.json"), InputDataConfig(job).ToJsonString());
        var resources = Containers.JobContainer.ResourceConfig(job.InstanceType);
        File.WriteAllText(Path.Combine(Config, "resourceconfig.json"), resources.ToJsonString());
    }

    /// <summary>The training toolkit's variables for a container that sees the job's directory
    /// at <paramref name="root"/>; hyperparameters also one by one (<c>SM_HP_&lt;NAME&gt;</c>).</summary>
    public static Dictionary<string, string> ContractEnvironment(TrainingJob job, string root, string region, int cpus)
    {
        string P(params string[] parts) => string.Join('/', [root, .. parts]);
        var channels = new JsonArray([.. job.Channels.Select(c => (JsonNode)c.Name)]);
        var env = new Dictionary<string, string>
        {
            ["TRAINING_JOB_NAME"] = job.Name,
            ["TRAINING_JOB_ARN"] = job.Arn,
            ["AWS_REGION"] = region,
            ["SM_MODEL_DIR"] = P("model"),
            ["SM_INPUT_DIR"] = P("input"),
            ["SM_INPUT_CONFIG_DIR"] = P("input", "config"),
            ["SM_OUTPUT_DIR"] = P("output"),
            ["SM_OUTPUT_DATA_DIR"] = P("output", "data"),
            ["SM_OUTPUT_INTERMEDIATE_DIR"] = P("output", "intermediate"),
            ["SM_CHANNELS"] = channels.ToJsonString(),
            ["SM_HPS"] = Hyperparameters(job).ToJsonString(),
            ["SM_INPUT_DATA_CONFIG"] = InputDataConfig(job).ToJsonString(),
            ["SM_RESOURCE_CONFIG"] = ResourceConfig().ToJsonString(),
            ["SM_CURRENT_HOST"] = Host,
            ["SM_HOSTS"] = new JsonArray(Host).ToJsonString(),
            ["SM_NETWORK_INTERFACE_NAME"] = "eth0",
            ["SM_NUM_CPUS"] = cpus.ToString(CultureInfo.InvariantCulture),
            ["SM_NUM_GPUS"] = "0",
            ["SM_LOG_LEVEL"] = "20",
            ["SM_CURRENT_INSTANCE_TYPE"] = job.InstanceType,
        };
        foreach (var c in job.Channels) env["SM_CHANNEL_" + c.Name.ToUpperInvariant()] = P("input", "data", c.Name);
        foreach (var (k, v) in job.HyperParameters) env["SM_HP_" + k.ToUpperInvariant().Replace('-', '_')] = v;
        var training = new JsonObject
        {
            ["job_name"] = job.Name,
            ["current_host"] = Host,
            ["hosts"] = new JsonArray(Host),
            ["channel_input_dirs"] = new JsonObject(job.Channels.Select(c => KeyValuePair.Create(c.Name, (JsonNode?)P("input", "data", c.Name)))),
            ["hyperparameters"] = Hyperparameters(job),
            ["input_data_config"] = InputDataConfig(job),
            ["model_dir"] = P("model"),
            ["output_data_dir"] = P("output", "data"),
            ["output_dir"] = P("output"),
            ["input_dir"] = P("input"),
            ["input_config_dir"] = P("input", "config"),
            ["num_cpus"] = cpus,
            ["num_gpus"] = 0,
            ["resource_config"] = ResourceConfig(),
        };
        env["SM_TRAINING_ENV"] = training.ToJsonString();
        return env;
    }
}
