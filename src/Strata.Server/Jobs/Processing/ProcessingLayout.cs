using System.Text.Json.Nodes;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Jobs.Processing;

/// <summary>
/// A processing job's directory, laid out as SageMaker's <c>/opt/ml</c>: <c>config</c>
/// (processingjobconfig.json, resourceconfig.json), <c>output</c> (where the container leaves
/// <c>message</c> and <c>failure</c>), and below <c>processing/</c> each input's and output's
/// LocalPath. In the sandbox the directory is bound at <c>/opt/ml</c>, so the container finds
/// every LocalPath where the request named it; without the sandbox (a server that does not run as
/// root) the paths are rewritten to the same places below the job's directory, in
/// processingjobconfig.json, where AWS's processing containers read them.
/// </summary>
public sealed class ProcessingLayout
{
    /// <summary>Where every LocalPath must be, as AWS requires.</summary>
    public const string LocalPathPrefix = "/opt/ml/processing/";
    const string OptMl = "/opt/ml";

    public required string Root { get; init; }
    public string Config => Path.Combine(Root, "config");
    public string Output => Path.Combine(Root, "output");

    public static ProcessingLayout Create(string root)
    {
        var layout = new ProcessingLayout { Root = Path.GetFullPath(root) };
        foreach (var dir in new[] { layout.Config, layout.Output, Path.Combine(layout.Root, "processing") })
            Directory.CreateDirectory(dir);
        return layout;
    }

    /// <summary>A LocalPath as AWS takes it: an absolute path below /opt/ml/processing/ (with no
    /// empty, "." or ".." segment; a final "/" is dropped); null when it is not one.</summary>
    public static string? CheckLocalPath(string? localPath)
    {
        if (localPath is null || !localPath.StartsWith(LocalPathPrefix, StringComparison.Ordinal)) return null;
        var path = localPath.TrimEnd('/');
        var below = path.Length > LocalPathPrefix.Length ? path[LocalPathPrefix.Length..] : "";
        return below.Length > 0 && below.Split('/').All(s => s.Length > 0 && s is not "." and not "..") ? path : null;
    }

    /// <summary>Where a LocalPath is on this machine: below the job's directory.</summary>
    public string HostPath(string localPath) => Path.Combine(Root, localPath[(OptMl.Length + 1)..]);

    /// <summary>Where the container sees a LocalPath: as named in the sandbox, else below the job's directory.</summary>
    public string ContainerPath(string localPath) => JobContainer.Root(Root) + localPath[OptMl.Length..];

    /// <summary><c>config/processingjobconfig.json</c> and <c>config/resourceconfig.json</c>, as SageMaker writes them.</summary>
    public void WriteConfig(ProcessingJob job)
    {
        File.WriteAllText(Path.Combine(Config, "processingjobconfig.json"), JobConfig(job, ContainerPath).ToJsonString());
        File.WriteAllText(Path.Combine(Config, "resourceconfig.json"), JobContainer.ResourceConfig(job.InstanceType).ToJsonString());
    }

    /// <summary>The job as SageMaker's processingjobconfig.json shows it (members it has no value
    /// for are null), with each LocalPath as <paramref name="localPath"/> maps it.</summary>
    public static JsonObject JobConfig(ProcessingJob job, Func<string, string> localPath)
    {
        var config = new JsonObject
        {
            ["ProcessingJobArn"] = job.Arn,
            ["ProcessingJobName"] = job.Name,
            ["AppSpecification"] = new JsonObject
            {
                ["ImageUri"] = job.ImageUri,
                ["ContainerEntrypoint"] = Strings(job.ContainerEntrypoint),
                ["ContainerArguments"] = Strings(job.ContainerArguments),
            },
            ["Environment"] = new JsonObject(job.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["ProcessingInputs"] = new JsonArray([.. (job.Inputs ?? []).Select(i => (JsonNode)InputConfig(i, localPath))]),
            ["ProcessingOutputConfig"] = new JsonObject
            {
                ["Outputs"] = new JsonArray([.. (job.Outputs ?? []).Select(o => (JsonNode)OutputConfig(o, localPath))]),
                ["KmsKeyId"] = job.OutputKmsKeyId,
            },
            ["ProcessingResources"] = new JsonObject
            {
                ["ClusterConfig"] = new JsonObject
                {
                    ["InstanceCount"] = job.InstanceCount,
                    ["InstanceType"] = job.InstanceType,
                    ["VolumeSizeInGB"] = job.VolumeSizeInGB,
                    ["VolumeKmsKeyId"] = job.VolumeKmsKeyId,
                },
            },
            ["RoleArn"] = job.RoleArn,
            ["StoppingCondition"] = new JsonObject { ["MaxRuntimeInSeconds"] = job.EffectiveMaxRuntimeInSeconds },
        };
        return config;
    }

    static JsonObject InputConfig(ProcessingJobInput input, Func<string, string> localPath)
    {
        var o = new JsonObject { ["InputName"] = input.InputName };
        if (input.AppManaged) o["AppManaged"] = true;
        o["S3Input"] = new JsonObject
        {
            ["LocalPath"] = input.LocalPath is { } path ? localPath(path) : null,
            ["S3Uri"] = input.S3Uri,
            ["S3DataDistributionType"] = input.S3DataDistributionType,
            ["S3DataType"] = input.S3DataType,
            ["S3InputMode"] = input.S3InputMode,
            ["S3CompressionType"] = input.S3CompressionType,
            ["S3DownloadMode"] = "StartOfJob",
        };
        return o;
    }

    static JsonObject OutputConfig(ProcessingJobOutput output, Func<string, string> localPath)
    {
        var o = new JsonObject { ["OutputName"] = output.OutputName };
        if (output.AppManaged) o["AppManaged"] = true;
        o["S3Output"] = new JsonObject
        {
            ["LocalPath"] = output.LocalPath is { } path ? localPath(path) : null,
            ["S3Uri"] = output.S3Uri,
            ["S3UploadMode"] = output.S3UploadMode,
        };
        return o;
    }

    static JsonArray? Strings(List<string>? values) => values is null ? null : new JsonArray([.. values.Select(v => (JsonNode)v)]);
}
