using System.Globalization;
using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// A training job's directory, laid out as SageMaker's <c>/opt/ml</c>: <c>input/config</c>
/// (hyperparameters.json, inputdataconfig.json, resourceconfig.json), <c>input/data/&lt;channel&gt;</c>,
/// <c>model</c>, <c>output</c> (<c>failure</c>), <c>output/data</c>, <c>checkpoints</c>, <c>code</c>;
/// and the environment the SageMaker training toolkit gives a container (<c>SM_*</c>), for the
/// directory as the container sees it (<c>/opt/ml</c> in its own mount namespace). A job of several
/// instances has one such directory per host, each telling its container which host it is.
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

    /// <summary>The files of <c>input/config</c>, as SageMaker writes them for host <paramref name="host"/> (from 0).</summary>
    public void WriteConfig(TrainingJob job, int host = 0)
    {
        File.WriteAllText(Path.Combine(Config, "hyperparameters.json"), Hyperparameters(job).ToJsonString());
        File.WriteAllText(Path.Combine(Config, "inputdataconfig.json"), InputDataConfig(job).ToJsonString());
        var hosts = Containers.ContainerCluster.HostNames(job.InstanceCount);
        var resources = Containers.JobContainer.ResourceConfig(job.InstanceType, hosts, hosts[host]);
        File.WriteAllText(Path.Combine(Config, "resourceconfig.json"), resources.ToJsonString());
    }

    /// <summary>The training toolkit's variables for host <paramref name="host"/> (from 0) of the
    /// job, whose container sees its directory at <paramref name="root"/>; hyperparameters also one
    /// by one (<c>SM_HP_&lt;NAME&gt;</c>). The first host is the toolkit's master.</summary>
    public static Dictionary<string, string> ContractEnvironment(TrainingJob job, string root, string region, int cpus, int host = 0)
    {
        string P(params string[] parts) => string.Join('/', [root, .. parts]);
        var hosts = Containers.ContainerCluster.HostNames(job.InstanceCount);
        var current = hosts[host];
        JsonArray Hosts() => new([.. hosts.Select(h => (JsonNode)h)]);
        const string group = Containers.JobContainer.InstanceGroup;
        JsonObject ResourceConfig() => Containers.JobContainer.ResourceConfig(null, hosts, current);
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
            ["SM_CURRENT_HOST"] = current,
            ["SM_HOSTS"] = Hosts().ToJsonString(),
            ["SM_CURRENT_INSTANCE_GROUP"] = group,
            ["SM_CURRENT_INSTANCE_GROUP_HOSTS"] = Hosts().ToJsonString(),
            ["SM_INSTANCE_GROUPS"] = new JsonArray(group).ToJsonString(),
            ["SM_IS_HETERO"] = "false",
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
            ["current_host"] = current,
            ["hosts"] = Hosts(),
            ["master_hostname"] = hosts[0],
            ["is_master"] = host == 0,
            ["current_instance_group"] = group,
            ["current_instance_group_hosts"] = Hosts(),
            ["instance_groups"] = new JsonArray(group),
            ["is_hetero"] = false,
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
