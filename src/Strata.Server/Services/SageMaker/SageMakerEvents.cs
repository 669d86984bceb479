using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// SageMaker's events on the default event bus, shaped as the SageMaker developer guide shows
/// them ("Events that Amazon SageMaker AI sends to Amazon EventBridge"): source
/// <c>aws.sagemaker</c>, the resource's ARN as the only resource, and a detail that mirrors the
/// resource's Describe answer with its tags as a map. Timestamps in the detail are epoch
/// milliseconds (numbers), as in the guide's endpoint and processing job examples and in the
/// events SageMaker sends; an endpoint's status is spelled in upper snake case (IN_SERVICE), as
/// the guide's endpoint events are and unlike DescribeEndpoint's InService, while a job's status
/// keeps DescribeTransformJob's spelling (Completed), which rules match on.
/// </summary>
public static class SageMakerEvents
{
    public const string Source = "aws.sagemaker";
    public const string EndpointStateChangeType = "SageMaker Endpoint State Change";
    public const string TransformJobStateChangeType = "SageMaker Transform Job State Change";
    public const string TrainingJobStateChangeType = "SageMaker Training Job State Change";
    public const string ModelPackageStateChangeType = "SageMaker Model Package State Change";
    public const string ProcessingJobStateChangeType = "SageMaker Processing Job State Change";
    public const string TuningJobStateChangeType = "SageMaker HyperParameter Tuning Job State Change";

    /// <summary>An endpoint's status as its events spell it: InService → IN_SERVICE,
    /// UpdateRollbackFailed → UPDATE_ROLLBACK_FAILED.</summary>
    public static string EventStatus(string status)
    {
        var spelled = new StringBuilder(status.Length + 4);
        for (var i = 0; i < status.Length; i++)
        {
            if (i > 0 && char.IsUpper(status[i])) spelled.Append('_');
            spelled.Append(char.ToUpperInvariant(status[i]));
        }
        return spelled.ToString();
    }

    /// <summary>"SageMaker Endpoint State Change": the endpoint as it is now. Its variants are the
    /// ones hosting reported; before the first report (CREATING) they are what the configuration
    /// asks for, which is all AWS's creation event carries of them (desired weight and count).</summary>
    public static ServiceEvent EndpointStateChange(string account, EndpointRow endpoint, EndpointConfigRow? config, IReadOnlyList<TagRow> tags, DateTimeOffset time)
    {
        JsonArray variants;
        if (endpoint.ProductionVariants is { } reported)
        {
            variants = Array(reported.Select(v => Compact(new JsonObject
            {
                ["VariantName"] = v.VariantName,
                ["CurrentWeight"] = v.CurrentWeight,
                ["DesiredWeight"] = v.DesiredWeight,
                ["CurrentInstanceCount"] = v.CurrentInstanceCount,
                ["DesiredInstanceCount"] = v.DesiredInstanceCount,
                ["CurrentServerlessConfig"] = Serverless(v.CurrentServerlessConfig),
                ["DesiredServerlessConfig"] = Serverless(v.DesiredServerlessConfig),
            })));
        }
        else
        {
            variants = Array((config?.ProductionVariants ?? []).Select(v => Compact(new JsonObject
            {
                ["VariantName"] = v.VariantName,
                ["DesiredWeight"] = v.InitialVariantWeight ?? 1f,
                ["DesiredInstanceCount"] = v.InitialInstanceCount,
                ["DesiredServerlessConfig"] = Serverless(v.ServerlessConfig),
            })));
        }
        var detail = Compact(new JsonObject
        {
            ["EndpointName"] = endpoint.EndpointName,
            ["EndpointArn"] = endpoint.EndpointArn,
            ["EndpointConfigName"] = endpoint.EndpointConfigName,
            ["ProductionVariants"] = variants,
            ["EndpointStatus"] = EventStatus(endpoint.EndpointStatus),
            ["FailureReason"] = endpoint.FailureReason,
            ["CreationTime"] = Milliseconds(endpoint.CreationTime),
            ["LastModifiedTime"] = Milliseconds(endpoint.LastModifiedTime),
            ["Tags"] = Tags(tags),
        });
        return new ServiceEvent(account, Source, EndpointStateChangeType, [endpoint.EndpointArn], detail, time);
    }

    /// <summary>"SageMaker Transform Job State Change": the job as DescribeTransformJob answers it
    /// (without Strata's own progress member), at its last modification.</summary>
    public static ServiceEvent TransformJobStateChange(string account, TransformJobRow job, IReadOnlyList<TagRow> tags)
    {
        var source = job.TransformInput.DataSource?.S3DataSource;
        var detail = Compact(new JsonObject
        {
            ["TransformJobName"] = job.TransformJobName,
            ["TransformJobArn"] = job.TransformJobArn,
            ["TransformJobStatus"] = job.TransformJobStatus,
            ["FailureReason"] = job.FailureReason,
            ["ModelName"] = job.ModelName,
            ["MaxConcurrentTransforms"] = job.MaxConcurrentTransforms,
            ["ModelClientConfig"] = job.ModelClientConfig is { } client
                ? Compact(new JsonObject { ["InvocationsTimeoutInSeconds"] = client.InvocationsTimeoutInSeconds, ["InvocationsMaxRetries"] = client.InvocationsMaxRetries })
                : null,
            ["MaxPayloadInMB"] = job.MaxPayloadInMB,
            ["BatchStrategy"] = job.BatchStrategy,
            ["Environment"] = Map(job.Environment ?? []),
            ["TransformInput"] = Compact(new JsonObject
            {
                ["DataSource"] = new JsonObject { ["S3DataSource"] = Compact(new JsonObject { ["S3DataType"] = source?.S3DataType, ["S3Uri"] = source?.S3Uri }) },
                ["ContentType"] = job.TransformInput.ContentType,
                ["CompressionType"] = job.TransformInput.CompressionType,
                ["SplitType"] = job.TransformInput.SplitType,
            }),
            ["TransformOutput"] = Compact(new JsonObject
            {
                ["S3OutputPath"] = job.TransformOutput.S3OutputPath,
                ["Accept"] = job.TransformOutput.Accept,
                ["AssembleWith"] = job.TransformOutput.AssembleWith,
                ["KmsKeyId"] = job.TransformOutput.KmsKeyId,
            }),
            ["TransformResources"] = Compact(new JsonObject
            {
                ["InstanceType"] = job.TransformResources.InstanceType,
                ["InstanceCount"] = job.TransformResources.InstanceCount,
                ["VolumeKmsKeyId"] = job.TransformResources.VolumeKmsKeyId,
            }),
            ["DataProcessing"] = job.DataProcessing is { } p
                ? Compact(new JsonObject { ["InputFilter"] = p.InputFilter, ["OutputFilter"] = p.OutputFilter, ["JoinSource"] = p.JoinSource })
                : null,
            ["CreationTime"] = Milliseconds(job.CreationTime),
            ["TransformStartTime"] = job.TransformStartTime is { } start ? Milliseconds(start) : null,
            ["TransformEndTime"] = job.TransformEndTime is { } end ? Milliseconds(end) : null,
            ["LastModifiedTime"] = Milliseconds(job.LastModifiedTime),
            ["Tags"] = Tags(tags),
        });
        return new ServiceEvent(account, Source, TransformJobStateChangeType, [job.TransformJobArn], detail, job.LastModifiedTime);
    }

    /// <summary>"SageMaker Training Job State Change": the job as DescribeTrainingJob answers it, at
    /// each change of its status or secondary status.</summary>
    public static ServiceEvent TrainingJobStateChange(string account, Jobs.Training.TrainingJobRecord record, IReadOnlyList<TagRow> tags)
    {
        var (job, state) = (record.Job, record.State);
        var detail = Compact(new JsonObject
        {
            ["TrainingJobName"] = job.Name,
            ["TrainingJobArn"] = job.Arn,
            ["TuningJobArn"] = job.TuningJobArn,
            ["TrainingJobStatus"] = state.Status,
            ["SecondaryStatus"] = state.SecondaryStatus,
            ["FailureReason"] = state.FailureReason,
            ["HyperParameters"] = Map(job.HyperParameters),
            ["AlgorithmSpecification"] = new JsonObject { ["TrainingImage"] = job.Image, ["TrainingInputMode"] = job.InputMode },
            ["RoleArn"] = job.RoleArn,
            ["InputDataConfig"] = Array(job.Channels.Select(c => Compact(new JsonObject
            {
                ["ChannelName"] = c.Name,
                ["DataSource"] = new JsonObject { ["S3DataSource"] = new JsonObject { ["S3DataType"] = c.S3DataType, ["S3Uri"] = c.S3Uri, ["S3DataDistributionType"] = c.S3DataDistributionType } },
                ["ContentType"] = c.ContentType,
                ["CompressionType"] = c.CompressionType,
                ["RecordWrapperType"] = c.RecordWrapperType,
            }))),
            ["OutputDataConfig"] = Compact(new JsonObject { ["KmsKeyId"] = job.OutputKmsKeyId, ["S3OutputPath"] = job.OutputPath }),
            ["ResourceConfig"] = new JsonObject { ["InstanceType"] = job.InstanceType, ["InstanceCount"] = job.InstanceCount, ["VolumeSizeInGB"] = job.VolumeSizeInGB },
            ["StoppingCondition"] = new JsonObject { ["MaxRuntimeInSeconds"] = job.MaxRuntimeInSeconds },
            ["CreationTime"] = Milliseconds(job.CreationTime),
            ["TrainingStartTime"] = state.TrainingStartTime is { } start ? Milliseconds(start) : null,
            ["TrainingEndTime"] = state.TrainingEndTime is { } end ? Milliseconds(end) : null,
            ["LastModifiedTime"] = Milliseconds(state.LastModifiedTime),
            ["SecondaryStatusTransitions"] = Array(state.Transitions.Select(t => Compact(new JsonObject
            {
                ["Status"] = t.Status,
                ["StartTime"] = Milliseconds(t.StartTime),
                ["EndTime"] = t.EndTime is { } e ? Milliseconds(e) : null,
                ["StatusMessage"] = t.StatusMessage,
            }))),
            ["ModelArtifacts"] = state.S3ModelArtifacts is { } artifacts ? new JsonObject { ["S3ModelArtifacts"] = artifacts } : null,
            ["FinalMetricDataList"] = state.FinalMetrics.Count == 0 ? null
                : Array(state.FinalMetrics.Select(m => new JsonObject { ["MetricName"] = m.MetricName, ["Value"] = m.Value, ["Timestamp"] = Milliseconds(m.Timestamp) })),
            ["EnableNetworkIsolation"] = job.EnableNetworkIsolation,
            ["Environment"] = job.Environment.Count == 0 ? null : Map(job.Environment),
            ["Tags"] = Tags(tags),
        });
        return new ServiceEvent(account, Source, TrainingJobStateChangeType, [job.Arn], detail, state.LastModifiedTime);
    }

    /// <summary>"SageMaker Model Package State Change": the package as DescribeModelPackage
    /// answers it (without who made or changed it), at its creation and at each change. Unlike the
    /// other events, the guide's example of this one has its timestamps in ISO 8601
    /// ("2021-02-24T17:00:14Z"), so these are.</summary>
    public static ServiceEvent ModelPackageStateChange(string account, ModelPackageRow package)
    {
        var json = ModelRegistryJson.Default;
        var detail = Compact(new JsonObject
        {
            ["ModelPackageName"] = package.Versioned ? null : package.ModelPackageName,
            ["ModelPackageGroupName"] = package.ModelPackageGroupName,
            ["ModelPackageVersion"] = package.ModelPackageVersion,
            ["ModelPackageArn"] = package.ModelPackageArn,
            ["ModelPackageDescription"] = package.ModelPackageDescription,
            ["CreationTime"] = Iso(package.CreationTime),
            ["InferenceSpecification"] = JsonSerializer.SerializeToNode(package.InferenceSpecification, json.InferenceSpecificationRow),
            ["ModelPackageStatus"] = package.ModelPackageStatus,
            ["ModelPackageStatusDetails"] = new JsonObject { ["ValidationStatuses"] = new JsonArray(), ["ImageScanStatuses"] = new JsonArray() },
            ["CertifyForMarketplace"] = package.CertifyForMarketplace,
            ["ModelApprovalStatus"] = package.ModelApprovalStatus,
            ["ApprovalDescription"] = package.ApprovalDescription,
            ["MetadataProperties"] = package.MetadataProperties is { } metadata ? JsonSerializer.SerializeToNode(metadata, json.MetadataPropertiesRow) : null,
            ["ModelMetrics"] = package.ModelMetrics is { } metrics ? JsonSerializer.SerializeToNode(metrics, json.ModelMetricsRow) : null,
            ["DriftCheckBaselines"] = package.DriftCheckBaselines is { } drift ? JsonSerializer.SerializeToNode(drift, json.DriftCheckBaselinesRow) : null,
            ["CustomerMetadataProperties"] = package.CustomerMetadataProperties is { } properties ? Map(properties) : null,
            ["Domain"] = package.Domain,
            ["Task"] = package.Task,
            ["SamplePayloadUrl"] = package.SamplePayloadUrl,
            ["SourceUri"] = package.SourceUri,
            ["LastModifiedTime"] = Iso(package.LastModifiedTime),
        });
        return new ServiceEvent(account, Source, ModelPackageStateChangeType, [package.ModelPackageArn], detail, package.LastModifiedTime);
    }

    /// <summary>"SageMaker Processing Job State Change": the job as DescribeProcessingJob answers it,
    /// at each change of its status.</summary>
    public static ServiceEvent ProcessingJobStateChange(string account, Jobs.Processing.ProcessingJobRecord record, IReadOnlyList<TagRow> tags)
    {
        var (job, state) = (record.Job, record.State);
        var detail = Compact(new JsonObject
        {
            ["ProcessingInputs"] = job.Inputs is { } inputs ? Array(inputs.Select(i => Compact(new JsonObject
            {
                ["InputName"] = i.InputName,
                ["AppManaged"] = i.AppManaged,
                ["S3Input"] = Compact(new JsonObject
                {
                    ["S3Uri"] = i.S3Uri,
                    ["LocalPath"] = i.LocalPath,
                    ["S3DataType"] = i.S3DataType,
                    ["S3InputMode"] = i.S3InputMode,
                    ["S3DataDistributionType"] = i.S3DataDistributionType,
                    ["S3CompressionType"] = i.S3CompressionType,
                }),
            }))) : null,
            ["ProcessingOutputConfig"] = job.Outputs is { } outputs ? Compact(new JsonObject
            {
                ["Outputs"] = Array(outputs.Select(o => Compact(new JsonObject
                {
                    ["OutputName"] = o.OutputName,
                    ["S3Output"] = Compact(new JsonObject { ["S3Uri"] = o.S3Uri, ["LocalPath"] = o.LocalPath, ["S3UploadMode"] = o.S3UploadMode }),
                    ["AppManaged"] = o.AppManaged,
                }))),
                ["KmsKeyId"] = job.OutputKmsKeyId,
            }) : null,
            ["ProcessingJobName"] = job.Name,
            ["ProcessingResources"] = new JsonObject
            {
                ["ClusterConfig"] = Compact(new JsonObject
                {
                    ["InstanceCount"] = job.InstanceCount,
                    ["InstanceType"] = job.InstanceType,
                    ["VolumeSizeInGB"] = job.VolumeSizeInGB,
                    ["VolumeKmsKeyId"] = job.VolumeKmsKeyId,
                }),
            },
            ["StoppingCondition"] = job.MaxRuntimeInSeconds is { } runtime ? new JsonObject { ["MaxRuntimeInSeconds"] = runtime } : null,
            ["AppSpecification"] = Compact(new JsonObject
            {
                ["ImageUri"] = job.ImageUri,
                ["ContainerEntrypoint"] = job.ContainerEntrypoint is { } entrypoint ? Array(entrypoint.Select(e => (JsonNode)e)) : null,
                ["ContainerArguments"] = job.ContainerArguments is { } arguments ? Array(arguments.Select(a => (JsonNode)a)) : null,
            }),
            ["Environment"] = job.Environment.Count == 0 ? null : Map(job.Environment),
            ["NetworkConfig"] = job.NetworkConfigJson is { } network ? JsonNode.Parse(network) : null,
            ["RoleArn"] = job.RoleArn,
            ["ExperimentConfig"] = job.ExperimentConfigJson is { } experiment ? JsonNode.Parse(experiment) : null,
            ["ProcessingJobArn"] = job.Arn,
            ["ProcessingJobStatus"] = state.Status,
            ["ExitMessage"] = state.ExitMessage,
            ["FailureReason"] = state.FailureReason,
            ["ProcessingEndTime"] = state.ProcessingEndTime is { } end ? Milliseconds(end) : null,
            ["ProcessingStartTime"] = state.ProcessingStartTime is { } start ? Milliseconds(start) : null,
            ["LastModifiedTime"] = Milliseconds(state.LastModifiedTime),
            ["CreationTime"] = Milliseconds(job.CreationTime),
            ["Tags"] = Tags(tags),
        });
        return new ServiceEvent(account, Source, ProcessingJobStateChangeType, [job.Arn], detail, state.LastModifiedTime);
    }

    /// <summary>"SageMaker HyperParameter Tuning Job State Change": the tuning job as
    /// DescribeHyperParameterTuningJob answers it (its configuration, status, counters and best
    /// training job), at each change of its status.</summary>
    public static ServiceEvent TuningJobStateChange(string account, Jobs.Tuning.TuningJobRecord record, Jobs.Tuning.TuningProgress progress, IReadOnlyList<TagRow> tags)
    {
        var (job, state) = (record.Job, record.State);
        var best = progress.Best;
        var detail = Compact(new JsonObject
        {
            ["HyperParameterTuningJobName"] = job.Name,
            ["HyperParameterTuningJobArn"] = job.Arn,
            ["HyperParameterTuningJobConfig"] = Compact(new JsonObject
            {
                ["Strategy"] = job.Strategy,
                ["HyperParameterTuningJobObjective"] = new JsonObject { ["Type"] = job.ObjectiveType, ["MetricName"] = job.ObjectiveMetric },
                ["ResourceLimits"] = Compact(new JsonObject
                {
                    ["MaxNumberOfTrainingJobs"] = job.Budget,
                    ["MaxParallelTrainingJobs"] = job.MaxParallelTrainingJobs,
                    ["MaxRuntimeInSeconds"] = job.MaxRuntimeInSeconds,
                }),
                ["TrainingJobEarlyStoppingType"] = job.EarlyStopping,
            }),
            ["TrainingJobDefinition"] = Compact(new JsonObject
            {
                ["StaticHyperParameters"] = Map(job.Template.HyperParameters),
                ["AlgorithmSpecification"] = new JsonObject { ["TrainingImage"] = job.Template.Image, ["TrainingInputMode"] = job.Template.InputMode },
                ["RoleArn"] = job.Template.RoleArn,
                ["OutputDataConfig"] = new JsonObject { ["S3OutputPath"] = job.Template.OutputPath },
                ["ResourceConfig"] = new JsonObject { ["InstanceType"] = job.Template.InstanceType, ["InstanceCount"] = job.Template.InstanceCount, ["VolumeSizeInGB"] = job.Template.VolumeSizeInGB },
                ["StoppingCondition"] = new JsonObject { ["MaxRuntimeInSeconds"] = job.Template.MaxRuntimeInSeconds },
            }),
            ["HyperParameterTuningJobStatus"] = state.Status,
            ["FailureReason"] = state.FailureReason,
            ["CreationTime"] = Milliseconds(job.CreationTime),
            ["HyperParameterTuningEndTime"] = state.EndTime is { } end ? Milliseconds(end) : null,
            ["LastModifiedTime"] = Milliseconds(state.LastModifiedTime),
            ["TrainingJobStatusCounters"] = new JsonObject
            {
                ["Completed"] = progress.Completed,
                ["InProgress"] = progress.InProgress,
                ["RetryableError"] = progress.RetryableError,
                ["NonRetryableError"] = progress.NonRetryableError,
                ["Stopped"] = progress.Stopped,
            },
            ["ObjectiveStatusCounters"] = new JsonObject { ["Succeeded"] = progress.Succeeded, ["Pending"] = progress.Pending, ["Failed"] = progress.Failed },
            ["BestTrainingJob"] = best is null ? null : Compact(new JsonObject
            {
                ["TrainingJobName"] = best.Trial.TrainingJobName,
                ["TrainingJobArn"] = best.Record?.Job.Arn,
                ["TuningJobName"] = job.Name,
                ["TrainingJobStatus"] = best.Record?.State.Status,
                ["TunedHyperParameters"] = Map(best.Trial.TunedHyperParameters),
                ["FinalHyperParameterTuningJobObjectiveMetric"] = new JsonObject { ["MetricName"] = job.ObjectiveMetric, ["Value"] = best.Objective },
                ["ObjectiveStatus"] = best.ObjectiveStatus,
            }),
            ["Tags"] = Tags(tags),
        });
        return new ServiceEvent(account, Source, TuningJobStateChangeType, [job.Arn], detail, state.LastModifiedTime);
    }

    static JsonNode Milliseconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    static JsonNode Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    static JsonObject? Serverless(ServerlessRow? s) => s is null ? null
        : Compact(new JsonObject { ["MemorySizeInMB"] = s.MemorySizeInMB, ["MaxConcurrency"] = s.MaxConcurrency, ["ProvisionedConcurrency"] = s.ProvisionedConcurrency });

    /// <summary>Tags as the events carry them: a map of key to value (DescribeX's list is not).</summary>
    static JsonObject Tags(IReadOnlyList<TagRow> tags)
    {
        var map = new JsonObject();
        foreach (var tag in tags) map[tag.Key] = tag.Value;
        return map;
    }

    static JsonObject Map(Dictionary<string, string> values)
    {
        var map = new JsonObject();
        foreach (var (key, value) in values) map[key] = value;
        return map;
    }

    static JsonArray Array(IEnumerable<JsonNode> items) => new([.. items]);

    /// <summary>Members the resource does not have are left out, as Describe leaves them out.</summary>
    static JsonObject Compact(JsonObject o)
    {
        foreach (var name in o.Where(p => p.Value is null).Select(p => p.Key).ToList()) o.Remove(name);
        return o;
    }
}
