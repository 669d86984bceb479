using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml;
using Strata.Server.Jobs.Monitoring;
using Strata.Server.Jobs.Processing;
using Strata.Server.Jobs.Schedules;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

public sealed partial record ListDataQualityJobDefinitionsRequest : IListRequest;

public sealed partial record ListModelQualityJobDefinitionsRequest : IListRequest;

public sealed partial record ListModelBiasJobDefinitionsRequest : IListRequest;

public sealed partial record ListModelExplainabilityJobDefinitionsRequest : IListRequest;

public sealed partial record ListMonitoringSchedulesRequest : IListByStatusRequest;

/// <summary>A monitoring job definition (data quality, model quality, model bias or explainability) that does not exist.</summary>
public sealed class JobDefinitionNotFound(string arn) : DomainError($"Job definition {arn} does not exist.");

/// <summary>A monitoring schedule that does not exist.</summary>
public sealed class MonitoringScheduleNotFound(string arn) : DomainError($"Monitoring Schedule {arn} does not exist.");

/// <summary>
/// Model Monitor's data-quality monitoring: job definitions (CreateDataQualityJobDefinition and
/// its Describe/List/Delete), monitoring schedules (Create/Describe/List/Update/Delete/Start/Stop)
/// and their executions (ListMonitoringExecutions). <see cref="MonitoringScheduler"/> starts an
/// execution per due tick (<see cref="IMonitoringSchedules.StartExecution"/>): a processing job of
/// the definition's image over the endpoint's captured data of the tick's window, which the
/// model monitor analyzer compares with the baseline. An execution's status is its processing
/// job's, CompletedWithViolations when the job's ExitMessage says so, as SageMaker's container
/// reports it.
/// </summary>
public sealed partial class SageMakerService : IMonitoringSchedules
{
    public MonitoringStore Monitoring { get; init; } = null!;

    /// <summary>Told when a schedule is made, changed, started, stopped or deleted (wakes the scheduler).</summary>
    public Action SchedulesChanged { get; set; } = () => { };

    const string CaptureDatasetFormat = "{\"sagemakerCaptureJson\":{\"captureIndexNames\":[\"endpointInput\",\"endpointOutput\"]}}";
    const string ConstraintsPath = "/opt/ml/processing/baseline/constraints";
    const string StatisticsPath = "/opt/ml/processing/baseline/stats";
    /// <summary>Where a model-quality execution's ground truth is downloaded (SageMaker's merge job's path).</summary>
    const string GroundTruthPath = "/opt/ml/processing/groundtruth";
    /// <summary>A model-quality execution reads the predictions: the captured responses.</summary>
    const string ModelQualityDatasetFormat = "{\"sagemakerCaptureJson\":{\"captureIndexNames\":[\"endpointOutput\"]}}";
    /// <summary>Where a model-bias or explainability execution's analysis configuration is
    /// downloaded (Clarify's processing input analysis_config).</summary>
    const string AnalysisConfigPath = "/opt/ml/processing/input/config";

    IEnumerable<Operation> MonitoringOperations =>
    [
        SageMakerOperations.CreateDataQualityJobDefinition.Bind("sagemaker:CreateDataQualityJobDefinition",
            Named<CreateDataQualityJobDefinitionRequest>("data-quality-job-definition", r => r.JobDefinitionName, r => new(r.Tags)), CreateDataQualityJobDefinition),
        SageMakerOperations.DescribeDataQualityJobDefinition.Bind("sagemaker:DescribeDataQualityJobDefinition",
            Named<DescribeDataQualityJobDefinitionRequest>("data-quality-job-definition", r => r.JobDefinitionName), DescribeDataQualityJobDefinition),
        SageMakerOperations.ListDataQualityJobDefinitions.Bind("sagemaker:ListDataQualityJobDefinitions", Anywhere, ListDataQualityJobDefinitions),
        SageMakerOperations.DeleteDataQualityJobDefinition.Bind("sagemaker:DeleteDataQualityJobDefinition",
            Named<DeleteDataQualityJobDefinitionRequest>("data-quality-job-definition", r => r.JobDefinitionName), DeleteDataQualityJobDefinition),
        SageMakerOperations.CreateModelQualityJobDefinition.Bind("sagemaker:CreateModelQualityJobDefinition",
            Named<CreateModelQualityJobDefinitionRequest>("model-quality-job-definition", r => r.JobDefinitionName, r => new(r.Tags)), CreateModelQualityJobDefinition),
        SageMakerOperations.DescribeModelQualityJobDefinition.Bind("sagemaker:DescribeModelQualityJobDefinition",
            Named<DescribeModelQualityJobDefinitionRequest>("model-quality-job-definition", r => r.JobDefinitionName), DescribeModelQualityJobDefinition),
        SageMakerOperations.ListModelQualityJobDefinitions.Bind("sagemaker:ListModelQualityJobDefinitions", Anywhere, ListModelQualityJobDefinitions),
        SageMakerOperations.DeleteModelQualityJobDefinition.Bind("sagemaker:DeleteModelQualityJobDefinition",
            Named<DeleteModelQualityJobDefinitionRequest>("model-quality-job-definition", r => r.JobDefinitionName), DeleteModelQualityJobDefinition),
        SageMakerOperations.CreateModelBiasJobDefinition.Bind("sagemaker:CreateModelBiasJobDefinition",
            Named<CreateModelBiasJobDefinitionRequest>("model-bias-job-definition", r => r.JobDefinitionName, r => new(r.Tags)), CreateModelBiasJobDefinition),
        SageMakerOperations.DescribeModelBiasJobDefinition.Bind("sagemaker:DescribeModelBiasJobDefinition",
            Named<DescribeModelBiasJobDefinitionRequest>("model-bias-job-definition", r => r.JobDefinitionName), DescribeModelBiasJobDefinition),
        SageMakerOperations.ListModelBiasJobDefinitions.Bind("sagemaker:ListModelBiasJobDefinitions", Anywhere, ListModelBiasJobDefinitions),
        SageMakerOperations.DeleteModelBiasJobDefinition.Bind("sagemaker:DeleteModelBiasJobDefinition",
            Named<DeleteModelBiasJobDefinitionRequest>("model-bias-job-definition", r => r.JobDefinitionName), DeleteModelBiasJobDefinition),
        SageMakerOperations.CreateModelExplainabilityJobDefinition.Bind("sagemaker:CreateModelExplainabilityJobDefinition",
            Named<CreateModelExplainabilityJobDefinitionRequest>("model-explainability-job-definition", r => r.JobDefinitionName, r => new(r.Tags)), CreateModelExplainabilityJobDefinition),
        SageMakerOperations.DescribeModelExplainabilityJobDefinition.Bind("sagemaker:DescribeModelExplainabilityJobDefinition",
            Named<DescribeModelExplainabilityJobDefinitionRequest>("model-explainability-job-definition", r => r.JobDefinitionName), DescribeModelExplainabilityJobDefinition),
        SageMakerOperations.ListModelExplainabilityJobDefinitions.Bind("sagemaker:ListModelExplainabilityJobDefinitions", Anywhere, ListModelExplainabilityJobDefinitions),
        SageMakerOperations.DeleteModelExplainabilityJobDefinition.Bind("sagemaker:DeleteModelExplainabilityJobDefinition",
            Named<DeleteModelExplainabilityJobDefinitionRequest>("model-explainability-job-definition", r => r.JobDefinitionName), DeleteModelExplainabilityJobDefinition),
        SageMakerOperations.CreateMonitoringSchedule.Bind("sagemaker:CreateMonitoringSchedule",
            Named<CreateMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName, r => new(r.Tags)), CreateMonitoringSchedule),
        SageMakerOperations.DescribeMonitoringSchedule.Bind("sagemaker:DescribeMonitoringSchedule",
            Named<DescribeMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName), DescribeMonitoringSchedule),
        SageMakerOperations.ListMonitoringSchedules.Bind("sagemaker:ListMonitoringSchedules", Anywhere, ListMonitoringSchedules),
        SageMakerOperations.UpdateMonitoringSchedule.Bind("sagemaker:UpdateMonitoringSchedule",
            Named<UpdateMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName), UpdateMonitoringSchedule),
        SageMakerOperations.DeleteMonitoringSchedule.Bind("sagemaker:DeleteMonitoringSchedule",
            Named<DeleteMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName), DeleteMonitoringSchedule),
        SageMakerOperations.StartMonitoringSchedule.Bind("sagemaker:StartMonitoringSchedule",
            Named<StartMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName), StartMonitoringSchedule),
        SageMakerOperations.StopMonitoringSchedule.Bind("sagemaker:StopMonitoringSchedule",
            Named<StopMonitoringScheduleRequest>("monitoring-schedule", r => r.MonitoringScheduleName), StopMonitoringSchedule),
        SageMakerOperations.ListMonitoringExecutions.Bind("sagemaker:ListMonitoringExecutions", Anywhere, ListMonitoringExecutions),
    ];

    // ---- job definitions ----

    /// <summary>A job definition of any type as an execution reads it: what the request shapes
    /// (CreateDataQualityJobDefinition, CreateModelQualityJobDefinition, CreateModelBiasJobDefinition)
    /// have in common, model quality's problem type, the ground truth of model quality and model
    /// bias, and model bias's analysis configuration (ConfigUri).</summary>
    sealed record MonitoringDefinition(
        string MonitoringType,
        string ImageUri,
        List<string>? ContainerEntrypoint,
        List<string>? ContainerArguments,
        Dictionary<string, string>? Environment,
        EndpointInput EndpointInput,
        MonitoringOutputConfig OutputConfig,
        MonitoringResources JobResources,
        string RoleArn,
        MonitoringStoppingCondition? StoppingCondition,
        MonitoringNetworkConfig? NetworkConfig,
        string? ConstraintsUri,
        string? StatisticsUri,
        string? ProblemType = null,
        string? GroundTruthUri = null,
        string? ConfigUri = null);

    static MonitoringDefinition Of(CreateDataQualityJobDefinitionRequest d) => new(MonitoringStore.DataQuality,
        d.DataQualityAppSpecification!.ImageUri!, d.DataQualityAppSpecification.ContainerEntrypoint, d.DataQualityAppSpecification.ContainerArguments,
        d.DataQualityAppSpecification.Environment, d.DataQualityJobInput!.EndpointInput!, d.DataQualityJobOutputConfig!, d.JobResources!, d.RoleArn!,
        d.StoppingCondition, d.NetworkConfig, d.DataQualityBaselineConfig?.ConstraintsResource?.S3Uri, d.DataQualityBaselineConfig?.StatisticsResource?.S3Uri);

    static MonitoringDefinition Of(CreateModelQualityJobDefinitionRequest d) => new(MonitoringStore.ModelQuality,
        d.ModelQualityAppSpecification!.ImageUri!, d.ModelQualityAppSpecification.ContainerEntrypoint, d.ModelQualityAppSpecification.ContainerArguments,
        d.ModelQualityAppSpecification.Environment, d.ModelQualityJobInput!.EndpointInput!, d.ModelQualityJobOutputConfig!, d.JobResources!, d.RoleArn!,
        d.StoppingCondition, d.NetworkConfig, d.ModelQualityBaselineConfig?.ConstraintsResource?.S3Uri, null,
        d.ModelQualityAppSpecification.ProblemType, d.ModelQualityJobInput.GroundTruthS3Input!.S3Uri);

    static MonitoringDefinition Of(CreateModelBiasJobDefinitionRequest d) => new(MonitoringStore.ModelBias,
        d.ModelBiasAppSpecification!.ImageUri!, null, null,
        d.ModelBiasAppSpecification.Environment, d.ModelBiasJobInput!.EndpointInput!, d.ModelBiasJobOutputConfig!, d.JobResources!, d.RoleArn!,
        d.StoppingCondition, d.NetworkConfig, d.ModelBiasBaselineConfig?.ConstraintsResource?.S3Uri, null,
        null, d.ModelBiasJobInput.GroundTruthS3Input!.S3Uri, d.ModelBiasAppSpecification.ConfigUri);

    static MonitoringDefinition Of(CreateModelExplainabilityJobDefinitionRequest d) => new(MonitoringStore.ModelExplainability,
        d.ModelExplainabilityAppSpecification!.ImageUri!, null, null,
        d.ModelExplainabilityAppSpecification.Environment, d.ModelExplainabilityJobInput!.EndpointInput!, d.ModelExplainabilityJobOutputConfig!, d.JobResources!, d.RoleArn!,
        d.StoppingCondition, d.NetworkConfig, d.ModelExplainabilityBaselineConfig?.ConstraintsResource?.S3Uri, null,
        null, null, d.ModelExplainabilityAppSpecification.ConfigUri);

    static string DefinitionResource(string monitoringType) => monitoringType switch
    {
        MonitoringStore.ModelQuality => "model-quality-job-definition",
        MonitoringStore.ModelBias => "model-bias-job-definition",
        MonitoringStore.ModelExplainability => "model-explainability-job-definition",
        _ => "data-quality-job-definition",
    };

    /// <summary>What CreateDataQualityJobDefinition and CreateModelQualityJobDefinition both check, as
    /// SageMaker does (members named with the type's prefix: DataQualityJobInput, ModelQualityJobInput).</summary>
    void CheckDefinition(string prefix, string? recordPreprocessorSourceUri, string? postAnalyticsProcessorSourceUri, BatchTransformInput? batchTransformInput,
        MonitoringDefinition d, RequestContext ctx)
    {
        var image = d.ImageUri;
        // Clarify's image is the analyzer only as a model-bias or explainability monitor (the analyses it runs there).
        if (Hosting.Images.IsModelMonitorAnalyzer(image)
            || (prefix is MonitoringStore.ModelBias or MonitoringStore.ModelExplainability && Hosting.Images.IsClarifyImage(image)))
        {
            if (d.ContainerEntrypoint is { Count: > 0 })
                throw SageMakerErrors.ValidationException($"The model monitor analyzer image {image} runs its own analysis: ContainerEntrypoint is not supported with it.");
            foreach (var (member, uri) in new[] { ("RecordPreprocessorSourceUri", recordPreprocessorSourceUri), ("PostAnalyticsProcessorSourceUri", postAnalyticsProcessorSourceUri) })
                if (uri is not null)
                    throw SageMakerErrors.ValidationException($"{prefix}AppSpecification.{member} is not supported by Strata's model monitor analyzer (it runs no Python scripts).");
        }
        else if (images.CommandFor(image) is null)
            throw SageMakerErrors.ValidationException($"The monitoring image {image} is not in the image catalogue (strata images add {image} -- COMMAND).");
        if (batchTransformInput is not null)
            throw SageMakerErrors.ValidationException($"{prefix}JobInput.BatchTransformInput is not supported by Strata: monitor an endpoint's captured data with EndpointInput.");
        var endpoint = d.EndpointInput;
        ValidName(endpoint.EndpointName, $"{prefix}JobInput.EndpointInput.EndpointName");
        var inputPath = ProcessingLayout.CheckLocalPath(endpoint.LocalPath)
            ?? throw SageMakerErrors.ValidationException($"LocalPath {endpoint.LocalPath} of EndpointInput is not valid: it must be an absolute path that begins with {ProcessingLayout.LocalPathPrefix}.");
        if (endpoint.S3InputMode == "Pipe") throw SageMakerErrors.ValidationException("EndpointInput.S3InputMode Pipe is not supported by Strata: use File.");
        foreach (var (member, offset) in new[] { ("StartTimeOffset", endpoint.StartTimeOffset), ("EndTimeOffset", endpoint.EndTimeOffset) })
            if (offset is not null) Offset(offset, $"{prefix}JobInput.EndpointInput." + member);
        var outputs = d.OutputConfig.MonitoringOutputs!;
        if (outputs.Count != 1) throw SageMakerErrors.ValidationException($"{prefix}JobOutputConfig.MonitoringOutputs must have exactly one output.");
        var output = outputs[0].S3Output!;
        S3Uri(output.S3Uri, $"{prefix}JobOutputConfig.MonitoringOutputs.1.S3Output.S3Uri");
        var outputPath = ProcessingLayout.CheckLocalPath(output.LocalPath)
            ?? throw SageMakerErrors.ValidationException($"LocalPath {output.LocalPath} of the monitoring output is not valid: it must be an absolute path that begins with {ProcessingLayout.LocalPathPrefix}.");
        // Not the same path, nor one under another: the inputs would be read as each other, or uploaded as output.
        static bool Overlap(string a, string b) => a == b || a.StartsWith(b + "/", StringComparison.Ordinal) || b.StartsWith(a + "/", StringComparison.Ordinal);
        if (Overlap(outputPath, inputPath)) throw SageMakerErrors.ValidationException($"LocalPath {outputPath} is both the EndpointInput's and the monitoring output's: each must be unique.");
        if (d.MonitoringType is MonitoringStore.ModelQuality or MonitoringStore.ModelBias && (Overlap(outputPath, GroundTruthPath) || Overlap(inputPath, GroundTruthPath)))
            throw SageMakerErrors.ValidationException($"LocalPath {GroundTruthPath} is where a {(d.MonitoringType == MonitoringStore.ModelBias ? "model-bias" : "model-quality")} job's ground truth goes: give the EndpointInput and the output another.");
        if (d.MonitoringType is MonitoringStore.ModelBias or MonitoringStore.ModelExplainability && (Overlap(outputPath, AnalysisConfigPath) || Overlap(inputPath, AnalysisConfigPath)))
            throw SageMakerErrors.ValidationException($"LocalPath {AnalysisConfigPath} is where a {(d.MonitoringType == MonitoringStore.ModelBias ? "model-bias" : "model-explainability")} job's analysis configuration goes: give the EndpointInput and the output another.");
        if (d.ConstraintsUri is { } c) S3Uri(c, $"{prefix}BaselineConfig.ConstraintsResource.S3Uri");
        if (d.StatisticsUri is { } s) S3Uri(s, $"{prefix}BaselineConfig.StatisticsResource.S3Uri");
        if (d.JobResources.ClusterConfig!.InstanceCount != 1)
            throw SageMakerErrors.ValidationException("Strata monitors on one instance: JobResources.ClusterConfig.InstanceCount must be 1.");
        PassedExecutionRole(d.RoleArn, ctx);
    }

    CreateDataQualityJobDefinitionResponse CreateDataQualityJobDefinition(CreateDataQualityJobDefinitionRequest input, RequestContext ctx)
    {
        var name = ValidName(input.JobDefinitionName, "JobDefinitionName");
        var jobInput = input.DataQualityJobInput!;
        if (jobInput.EndpointInput is null && jobInput.BatchTransformInput is null)
            throw SageMakerErrors.ValidationException("DataQualityJobInput must specify EndpointInput.");
        var app = input.DataQualityAppSpecification!;
        CheckDefinition("DataQuality", app.RecordPreprocessorSourceUri, app.PostAnalyticsProcessorSourceUri, jobInput.BatchTransformInput, Of(input), ctx);
        var arn = SaveDefinition(MonitoringStore.DataQuality, name, jobInput.EndpointInput!.EndpointName!,
            JsonSerializer.Serialize(input with { Tags = null }, SageMakerJson.Default.CreateDataQualityJobDefinitionRequest), input.Tags, ctx);
        return new CreateDataQualityJobDefinitionResponse { JobDefinitionArn = arn };
    }

    /// <summary>The attributes a model-quality problem type needs to find the prediction: a label
    /// (InferenceAttribute) for regression and multiclass; a label or a probability for binary
    /// classification, whose ProbabilityThresholdAttribute must be a probability.</summary>
    static void CheckModelQualityAttributes(string problemType, EndpointInput endpoint)
    {
        switch (problemType)
        {
            case "Regression" or "MulticlassClassification" when string.IsNullOrEmpty(endpoint.InferenceAttribute):
                throw SageMakerErrors.ValidationException($"ModelQualityJobInput.EndpointInput.InferenceAttribute is required for ProblemType {problemType}: it locates the prediction in the endpoint's output (a CSV column index such as 0, or a JSON path).");
            case "BinaryClassification" when string.IsNullOrEmpty(endpoint.InferenceAttribute) && string.IsNullOrEmpty(endpoint.ProbabilityAttribute):
                throw SageMakerErrors.ValidationException("ModelQualityJobInput.EndpointInput must specify InferenceAttribute (the predicted label) or ProbabilityAttribute (the predicted probability) for ProblemType BinaryClassification.");
        }
        if (endpoint.ProbabilityThresholdAttribute is { } threshold && !(threshold is >= 0 and <= 1))
            throw SageMakerErrors.ValidationException($"ModelQualityJobInput.EndpointInput.ProbabilityThresholdAttribute {threshold.ToString(CultureInfo.InvariantCulture)} must be a probability, between 0 and 1.");
    }

    CreateModelQualityJobDefinitionResponse CreateModelQualityJobDefinition(CreateModelQualityJobDefinitionRequest input, RequestContext ctx)
    {
        var name = ValidName(input.JobDefinitionName, "JobDefinitionName");
        var app = input.ModelQualityAppSpecification!;
        var jobInput = input.ModelQualityJobInput!;
        if (jobInput.EndpointInput is null && jobInput.BatchTransformInput is null)
            throw SageMakerErrors.ValidationException("ModelQualityJobInput must specify EndpointInput.");
        S3Uri(jobInput.GroundTruthS3Input!.S3Uri, "ModelQualityJobInput.GroundTruthS3Input.S3Uri");
        var problemType = app.ProblemType
            ?? throw SageMakerErrors.ValidationException("ModelQualityAppSpecification.ProblemType is required: Regression, BinaryClassification or MulticlassClassification.");
        CheckDefinition("ModelQuality", app.RecordPreprocessorSourceUri, app.PostAnalyticsProcessorSourceUri, jobInput.BatchTransformInput, Of(input), ctx);
        CheckModelQualityAttributes(problemType, jobInput.EndpointInput!);
        var arn = SaveDefinition(MonitoringStore.ModelQuality, name, jobInput.EndpointInput!.EndpointName!,
            JsonSerializer.Serialize(input with { Tags = null }, SageMakerJson.Default.CreateModelQualityJobDefinitionRequest), input.Tags, ctx);
        return new CreateModelQualityJobDefinitionResponse { JobDefinitionArn = arn };
    }

    /// <summary>CreateModelBiasJobDefinition: the analysis configuration (ConfigUri, Clarify's
    /// analysis_config.json) is read by each execution, which fails saying what to fix when it is
    /// missing or wrong, as SageMaker's does; the definition checks what the request itself says.</summary>
    CreateModelBiasJobDefinitionResponse CreateModelBiasJobDefinition(CreateModelBiasJobDefinitionRequest input, RequestContext ctx)
    {
        var name = ValidName(input.JobDefinitionName, "JobDefinitionName");
        var app = input.ModelBiasAppSpecification!;
        var jobInput = input.ModelBiasJobInput!;
        if (jobInput.EndpointInput is null && jobInput.BatchTransformInput is null)
            throw SageMakerErrors.ValidationException("ModelBiasJobInput must specify EndpointInput.");
        S3Uri(jobInput.GroundTruthS3Input!.S3Uri, "ModelBiasJobInput.GroundTruthS3Input.S3Uri");
        S3Uri(app.ConfigUri, "ModelBiasAppSpecification.ConfigUri");
        CheckDefinition("ModelBias", null, null, jobInput.BatchTransformInput, Of(input), ctx);
        if (jobInput.EndpointInput!.ProbabilityThresholdAttribute is { } threshold && !(threshold is >= 0 and <= 1))
            throw SageMakerErrors.ValidationException($"ModelBiasJobInput.EndpointInput.ProbabilityThresholdAttribute {threshold.ToString(CultureInfo.InvariantCulture)} must be a probability, between 0 and 1.");
        var arn = SaveDefinition(MonitoringStore.ModelBias, name, jobInput.EndpointInput.EndpointName!,
            JsonSerializer.Serialize(input with { Tags = null }, SageMakerJson.Default.CreateModelBiasJobDefinitionRequest), input.Tags, ctx);
        return new CreateModelBiasJobDefinitionResponse { JobDefinitionArn = arn };
    }

    /// <summary>CreateModelExplainabilityJobDefinition: Clarify's feature attribution monitor. The
    /// analysis configuration (ConfigUri: methods.shap, headers, predictor) is read by each
    /// execution, which fails saying what to fix when it is missing or wrong, as SageMaker's does.</summary>
    CreateModelExplainabilityJobDefinitionResponse CreateModelExplainabilityJobDefinition(CreateModelExplainabilityJobDefinitionRequest input, RequestContext ctx)
    {
        var name = ValidName(input.JobDefinitionName, "JobDefinitionName");
        var app = input.ModelExplainabilityAppSpecification!;
        var jobInput = input.ModelExplainabilityJobInput!;
        if (jobInput.EndpointInput is null && jobInput.BatchTransformInput is null)
            throw SageMakerErrors.ValidationException("ModelExplainabilityJobInput must specify EndpointInput.");
        S3Uri(app.ConfigUri, "ModelExplainabilityAppSpecification.ConfigUri");
        CheckDefinition("ModelExplainability", null, null, jobInput.BatchTransformInput, Of(input), ctx);
        var arn = SaveDefinition(MonitoringStore.ModelExplainability, name, jobInput.EndpointInput!.EndpointName!,
            JsonSerializer.Serialize(input with { Tags = null }, SageMakerJson.Default.CreateModelExplainabilityJobDefinitionRequest), input.Tags, ctx);
        return new CreateModelExplainabilityJobDefinitionResponse { JobDefinitionArn = arn };
    }

    string SaveDefinition(string monitoringType, string name, string endpointName, string json, List<Tag>? tags, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var row = new MonitoringJobDefinitionRow(name, Arn(account, DefinitionResource(monitoringType), name), clock.GetUtcNow(), endpointName, json);
        if (!Monitoring.CreateDefinition(monitoringType, account, row, TagRows(tags)))
            throw SageMakerErrors.ResourceInUse($"Job definition {row.JobDefinitionArn} already exists.");
        return row.JobDefinitionArn;
    }

    MonitoringJobDefinitionRow RequireDefinition(string monitoringType, string account, string name)
        => Monitoring.GetDefinition(monitoringType, account, name) ?? throw new JobDefinitionNotFound(Arn(account, DefinitionResource(monitoringType), name));

    /// <summary>A stored definition as an execution reads it.</summary>
    static MonitoringDefinition Definition(string monitoringType, MonitoringJobDefinitionRow row) => monitoringType switch
    {
        MonitoringStore.ModelQuality => Of(JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelQualityJobDefinitionRequest)!),
        MonitoringStore.ModelBias => Of(JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelBiasJobDefinitionRequest)!),
        MonitoringStore.ModelExplainability => Of(JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelExplainabilityJobDefinitionRequest)!),
        _ => Of(JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateDataQualityJobDefinitionRequest)!),
    };

    DescribeDataQualityJobDefinitionResponse DescribeDataQualityJobDefinition(DescribeDataQualityJobDefinitionRequest input, RequestContext ctx)
    {
        var row = RequireDefinition(MonitoringStore.DataQuality, ctx.Principal.AccountId, input.JobDefinitionName!);
        var d = JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateDataQualityJobDefinitionRequest)!;
        return new DescribeDataQualityJobDefinitionResponse
        {
            JobDefinitionArn = row.JobDefinitionArn,
            JobDefinitionName = row.JobDefinitionName,
            CreationTime = row.CreationTime,
            DataQualityBaselineConfig = d.DataQualityBaselineConfig,
            DataQualityAppSpecification = d.DataQualityAppSpecification,
            DataQualityJobInput = d.DataQualityJobInput,
            DataQualityJobOutputConfig = d.DataQualityJobOutputConfig,
            JobResources = d.JobResources,
            NetworkConfig = d.NetworkConfig,
            RoleArn = d.RoleArn,
            StoppingCondition = d.StoppingCondition,
        };
    }

    DescribeModelQualityJobDefinitionResponse DescribeModelQualityJobDefinition(DescribeModelQualityJobDefinitionRequest input, RequestContext ctx)
    {
        var row = RequireDefinition(MonitoringStore.ModelQuality, ctx.Principal.AccountId, input.JobDefinitionName!);
        var d = JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelQualityJobDefinitionRequest)!;
        return new DescribeModelQualityJobDefinitionResponse
        {
            JobDefinitionArn = row.JobDefinitionArn,
            JobDefinitionName = row.JobDefinitionName,
            CreationTime = row.CreationTime,
            ModelQualityBaselineConfig = d.ModelQualityBaselineConfig,
            ModelQualityAppSpecification = d.ModelQualityAppSpecification,
            ModelQualityJobInput = d.ModelQualityJobInput,
            ModelQualityJobOutputConfig = d.ModelQualityJobOutputConfig,
            JobResources = d.JobResources,
            NetworkConfig = d.NetworkConfig,
            RoleArn = d.RoleArn,
            StoppingCondition = d.StoppingCondition,
        };
    }

    DescribeModelBiasJobDefinitionResponse DescribeModelBiasJobDefinition(DescribeModelBiasJobDefinitionRequest input, RequestContext ctx)
    {
        var row = RequireDefinition(MonitoringStore.ModelBias, ctx.Principal.AccountId, input.JobDefinitionName!);
        var d = JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelBiasJobDefinitionRequest)!;
        return new DescribeModelBiasJobDefinitionResponse
        {
            JobDefinitionArn = row.JobDefinitionArn,
            JobDefinitionName = row.JobDefinitionName,
            CreationTime = row.CreationTime,
            ModelBiasBaselineConfig = d.ModelBiasBaselineConfig,
            ModelBiasAppSpecification = d.ModelBiasAppSpecification,
            ModelBiasJobInput = d.ModelBiasJobInput,
            ModelBiasJobOutputConfig = d.ModelBiasJobOutputConfig,
            JobResources = d.JobResources,
            NetworkConfig = d.NetworkConfig,
            RoleArn = d.RoleArn,
            StoppingCondition = d.StoppingCondition,
        };
    }

    DescribeModelExplainabilityJobDefinitionResponse DescribeModelExplainabilityJobDefinition(DescribeModelExplainabilityJobDefinitionRequest input, RequestContext ctx)
    {
        var row = RequireDefinition(MonitoringStore.ModelExplainability, ctx.Principal.AccountId, input.JobDefinitionName!);
        var d = JsonSerializer.Deserialize(row.DefinitionJson, SageMakerJson.Default.CreateModelExplainabilityJobDefinitionRequest)!;
        return new DescribeModelExplainabilityJobDefinitionResponse
        {
            JobDefinitionArn = row.JobDefinitionArn,
            JobDefinitionName = row.JobDefinitionName,
            CreationTime = row.CreationTime,
            ModelExplainabilityBaselineConfig = d.ModelExplainabilityBaselineConfig,
            ModelExplainabilityAppSpecification = d.ModelExplainabilityAppSpecification,
            ModelExplainabilityJobInput = d.ModelExplainabilityJobInput,
            ModelExplainabilityJobOutputConfig = d.ModelExplainabilityJobOutputConfig,
            JobResources = d.JobResources,
            NetworkConfig = d.NetworkConfig,
            RoleArn = d.RoleArn,
            StoppingCondition = d.StoppingCondition,
        };
    }

    /// <summary>ListDataQualityJobDefinitions, ListModelQualityJobDefinitions, ListModelBiasJobDefinitions and ListModelExplainabilityJobDefinitions: the type's
    /// definitions, of one endpoint when EndpointName is given, paged by <see cref="ListRequests"/>.</summary>
    (List<MonitoringJobDefinitionSummary> Summaries, string? Next) ListDefinitions(string monitoringType, IListRequest input, string? endpointName, RequestContext ctx)
    {
        IEnumerable<MonitoringJobDefinitionRow> rows = Monitoring.ListDefinitions(monitoringType, ctx.Principal.AccountId);
        if (endpointName is { } endpoint) rows = rows.Where(r => r.EndpointName == endpoint);
        var (page, next) = ListRequests.Page(input, rows, r => r.JobDefinitionName, r => r.CreationTime);
        return ([.. page.Select(r => new MonitoringJobDefinitionSummary
        {
            MonitoringJobDefinitionName = r.JobDefinitionName,
            MonitoringJobDefinitionArn = r.JobDefinitionArn,
            CreationTime = r.CreationTime,
            EndpointName = r.EndpointName,
        })], next);
    }

    ListDataQualityJobDefinitionsResponse ListDataQualityJobDefinitions(ListDataQualityJobDefinitionsRequest input, RequestContext ctx)
    {
        var (summaries, next) = ListDefinitions(MonitoringStore.DataQuality, input, input.EndpointName, ctx);
        return new ListDataQualityJobDefinitionsResponse { JobDefinitionSummaries = summaries, NextToken = next };
    }

    ListModelQualityJobDefinitionsResponse ListModelQualityJobDefinitions(ListModelQualityJobDefinitionsRequest input, RequestContext ctx)
    {
        var (summaries, next) = ListDefinitions(MonitoringStore.ModelQuality, input, input.EndpointName, ctx);
        return new ListModelQualityJobDefinitionsResponse { JobDefinitionSummaries = summaries, NextToken = next };
    }

    ListModelBiasJobDefinitionsResponse ListModelBiasJobDefinitions(ListModelBiasJobDefinitionsRequest input, RequestContext ctx)
    {
        var (summaries, next) = ListDefinitions(MonitoringStore.ModelBias, input, input.EndpointName, ctx);
        return new ListModelBiasJobDefinitionsResponse { JobDefinitionSummaries = summaries, NextToken = next };
    }

    ListModelExplainabilityJobDefinitionsResponse ListModelExplainabilityJobDefinitions(ListModelExplainabilityJobDefinitionsRequest input, RequestContext ctx)
    {
        var (summaries, next) = ListDefinitions(MonitoringStore.ModelExplainability, input, input.EndpointName, ctx);
        return new ListModelExplainabilityJobDefinitionsResponse { JobDefinitionSummaries = summaries, NextToken = next };
    }

    void DeleteDefinition(string monitoringType, string name, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (deleted, usedBy) = Monitoring.DeleteDefinition(monitoringType, account, name);
        if (deleted is null) throw new JobDefinitionNotFound(Arn(account, DefinitionResource(monitoringType), name));
        if (usedBy.Count > 0)
            throw SageMakerErrors.ValidationException($"Job definition {deleted.JobDefinitionArn} is used by the monitoring schedule(s) {string.Join(", ", usedBy)}: delete them first.");
    }

    void DeleteDataQualityJobDefinition(DeleteDataQualityJobDefinitionRequest input, RequestContext ctx)
        => DeleteDefinition(MonitoringStore.DataQuality, input.JobDefinitionName!, ctx);

    void DeleteModelQualityJobDefinition(DeleteModelQualityJobDefinitionRequest input, RequestContext ctx)
        => DeleteDefinition(MonitoringStore.ModelQuality, input.JobDefinitionName!, ctx);

    void DeleteModelBiasJobDefinition(DeleteModelBiasJobDefinitionRequest input, RequestContext ctx)
        => DeleteDefinition(MonitoringStore.ModelBias, input.JobDefinitionName!, ctx);

    void DeleteModelExplainabilityJobDefinition(DeleteModelExplainabilityJobDefinitionRequest input, RequestContext ctx)
        => DeleteDefinition(MonitoringStore.ModelExplainability, input.JobDefinitionName!, ctx);

    // ---- schedules ----

    /// <summary>The furthest back an offset reaches: a window is hours or days of captured data, and
    /// a bound keeps every tick's arithmetic (tick + offset) far from DateTimeOffset's range.</summary>
    static readonly TimeSpan MaxOffset = TimeSpan.FromDays(31);

    /// <summary>An ISO 8601 duration offset (-PT1H), as ScheduleConfig and EndpointInput give them: not
    /// after the tick, and not more than <see cref="MaxOffset"/> before it.</summary>
    static TimeSpan Offset(string text, string member)
    {
        TimeSpan offset;
        try { offset = XmlConvert.ToTimeSpan(text); }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw SageMakerErrors.ValidationException($"{member} {text} is not an ISO 8601 duration such as -PT1H.");
        }
        if (offset > TimeSpan.Zero) throw SageMakerErrors.ValidationException($"{member} {text} must be a negative offset (such as -PT1H): a monitoring job analyses data captured before it runs.");
        if (offset < -MaxOffset) throw SageMakerErrors.ValidationException($"{member} {text} reaches back more than {MaxOffset.TotalDays} days.");
        return offset;
    }

    /// <summary>Checks a MonitoringScheduleConfig as SageMaker does: a named job definition of its
    /// MonitoringType (DataQuality, ModelQuality, ModelBias or ModelExplainability), and an hourly, daily, every-N-hours or NOW schedule; the endpoint it monitors.</summary>
    string CheckScheduleConfig(string account, MonitoringScheduleConfig config)
    {
        if (config.MonitoringJobDefinition is not null)
            throw SageMakerErrors.ValidationException("MonitoringScheduleConfig.MonitoringJobDefinition (an inline job definition) is not supported by Strata: create a job definition (CreateDataQualityJobDefinition, CreateModelQualityJobDefinition, CreateModelBiasJobDefinition, CreateModelExplainabilityJobDefinition) and name it in MonitoringJobDefinitionName.");
        var definitionName = config.MonitoringJobDefinitionName
            ?? throw SageMakerErrors.ValidationException("MonitoringScheduleConfig must specify MonitoringJobDefinitionName.");
        var type = config.MonitoringType ?? throw SageMakerErrors.ValidationException("MonitoringType is required when MonitoringJobDefinitionName is specified.");
        if (type is not (MonitoringStore.DataQuality or MonitoringStore.ModelQuality or MonitoringStore.ModelBias or MonitoringStore.ModelExplainability))
            throw SageMakerErrors.ValidationException($"MonitoringType {type} is not supported by Strata: data-quality (DataQuality), model-quality (ModelQuality), model-bias (ModelBias) and feature attribution (ModelExplainability) monitoring are.");
        var definition = Monitoring.GetDefinition(type, account, definitionName)
            ?? throw SageMakerErrors.ValidationException($"Job definition {Arn(account, DefinitionResource(type), definitionName)} does not exist.");
        var schedule = config.ScheduleConfig ?? throw SageMakerErrors.ValidationException("MonitoringScheduleConfig must specify ScheduleConfig.");
        var expression = schedule.ScheduleExpression!;
        if (expression == "NOW")
        {
            if (schedule.DataAnalysisStartTime is null || schedule.DataAnalysisEndTime is null)
                throw SageMakerErrors.ValidationException("DataAnalysisStartTime and DataAnalysisEndTime are required when ScheduleExpression is NOW.");
        }
        else CheckCron(expression);
        if (schedule.DataAnalysisStartTime is { } start && schedule.DataAnalysisEndTime is { } end
            && Offset(start, "ScheduleConfig.DataAnalysisStartTime") >= Offset(end, "ScheduleConfig.DataAnalysisEndTime"))
            throw SageMakerErrors.ValidationException($"DataAnalysisStartTime {start} must be before DataAnalysisEndTime {end}.");
        if ((schedule.DataAnalysisStartTime is null) != (schedule.DataAnalysisEndTime is null))
            throw SageMakerErrors.ValidationException("DataAnalysisStartTime and DataAnalysisEndTime must be given together.");
        return definition.EndpointName;
    }

    /// <summary>The cron expressions a monitoring schedule takes: on the hour, every hour, once a day
    /// or every N hours (cron(0 * ? * * *), cron(0 H ? * * *), cron(0 H/N ? * * *)).</summary>
    static void CheckCron(string expression)
    {
        var message = $"Invalid ScheduleExpression {expression}: a monitoring schedule runs hourly (cron(0 * ? * * *)), daily (cron(0 H ? * * *)), every N hours (cron(0 H/N ? * * *)) or once (NOW).";
        try { ScheduleExpression.Parse(expression); }
        catch (ScheduleExpressionException e) { throw SageMakerErrors.ValidationException($"{message} {e.Message}"); }
        if (!expression.StartsWith("cron(", StringComparison.Ordinal)) throw SageMakerErrors.ValidationException(message);
        var fields = expression[5..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        static bool Hour(string h) => h == "*" || int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var x) && x <= 23
            || h.Split('/') is [var from, var step] && int.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out var f) && f <= 23
                && int.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 24;
        if (fields is not [var minutes, var hours, "?", "*", "*", "*"] || minutes is not ("0" or "00") || !Hour(hours))
            throw SageMakerErrors.ValidationException(message);
    }

    CreateMonitoringScheduleResponse CreateMonitoringSchedule(CreateMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = ValidName(input.MonitoringScheduleName, "MonitoringScheduleName");
        var config = input.MonitoringScheduleConfig!;
        var endpoint = CheckScheduleConfig(account, config);
        var now = clock.GetUtcNow();
        var row = new MonitoringScheduleRow
        {
            MonitoringScheduleName = name,
            MonitoringScheduleArn = Arn(account, "monitoring-schedule", name),
            MonitoringScheduleStatus = "Scheduled",
            MonitoringType = config.MonitoringType!,
            ConfigJson = JsonSerializer.Serialize(config, SageMakerJson.Default.MonitoringScheduleConfig),
            EndpointName = endpoint,
            CreationTime = now,
            LastModifiedTime = now,
        };
        if (!Monitoring.CreateSchedule(account, row, TagRows(input.Tags)))
            throw SageMakerErrors.ResourceInUse($"Monitoring Schedule {row.MonitoringScheduleArn} already exists.");
        SchedulesChanged();
        return new CreateMonitoringScheduleResponse { MonitoringScheduleArn = row.MonitoringScheduleArn };
    }

    MonitoringScheduleRow RequireSchedule(string account, string name)
        => Monitoring.GetSchedule(account, name) ?? throw new MonitoringScheduleNotFound(Arn(account, "monitoring-schedule", name));

    DescribeMonitoringScheduleResponse DescribeMonitoringSchedule(DescribeMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var row = RequireSchedule(account, input.MonitoringScheduleName!);
        var last = Monitoring.ListExecutions(account, row.MonitoringScheduleName).Where(e => e.CreationTime >= row.CreationTime).MaxBy(e => e.ScheduledTime);
        return new DescribeMonitoringScheduleResponse
        {
            MonitoringScheduleArn = row.MonitoringScheduleArn,
            MonitoringScheduleName = row.MonitoringScheduleName,
            MonitoringScheduleStatus = row.MonitoringScheduleStatus,
            MonitoringType = row.MonitoringType,
            FailureReason = row.FailureReason,
            CreationTime = row.CreationTime,
            LastModifiedTime = row.LastModifiedTime,
            MonitoringScheduleConfig = JsonSerializer.Deserialize(row.ConfigJson, SageMakerJson.Default.MonitoringScheduleConfig),
            EndpointName = row.EndpointName,
            LastMonitoringExecutionSummary = last is null ? null : Summary(account, last),
        };
    }

    ListMonitoringSchedulesResponse ListMonitoringSchedules(ListMonitoringSchedulesRequest input, RequestContext ctx)
    {
        IEnumerable<MonitoringScheduleRow> rows = Monitoring.ListSchedules(ctx.Principal.AccountId);
        if (input.EndpointName is { } endpoint) rows = rows.Where(r => r.EndpointName == endpoint);
        if (input.MonitoringJobDefinitionName is { } definition) rows = rows.Where(r => MonitoringStore.DefinitionNameOf(r) == definition);
        if (input.MonitoringTypeEquals is { } type) rows = rows.Where(r => r.MonitoringType == type);
        var (page, next) = ListRequests.Page(input, rows, r => r.MonitoringScheduleName, r => r.CreationTime, r => r.MonitoringScheduleStatus, r => r.LastModifiedTime);
        return new ListMonitoringSchedulesResponse
        {
            MonitoringScheduleSummaries = [.. page.Select(r => new MonitoringScheduleSummary
            {
                MonitoringScheduleName = r.MonitoringScheduleName,
                MonitoringScheduleArn = r.MonitoringScheduleArn,
                CreationTime = r.CreationTime,
                LastModifiedTime = r.LastModifiedTime,
                MonitoringScheduleStatus = r.MonitoringScheduleStatus,
                EndpointName = r.EndpointName,
                MonitoringJobDefinitionName = MonitoringStore.DefinitionNameOf(r),
                MonitoringType = r.MonitoringType,
            })],
            NextToken = next,
        };
    }

    UpdateMonitoringScheduleResponse UpdateMonitoringSchedule(UpdateMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        RequireSchedule(account, input.MonitoringScheduleName!);
        var config = input.MonitoringScheduleConfig!;
        var endpoint = CheckScheduleConfig(account, config);
        var row = Monitoring.UpdateSchedule(account, input.MonitoringScheduleName!, s => s with
        {
            ConfigJson = JsonSerializer.Serialize(config, SageMakerJson.Default.MonitoringScheduleConfig),
            MonitoringType = config.MonitoringType!,
            EndpointName = endpoint,
            LastModifiedTime = clock.GetUtcNow(),
        }) ?? throw new MonitoringScheduleNotFound(Arn(account, "monitoring-schedule", input.MonitoringScheduleName!));
        SchedulesChanged();
        return new UpdateMonitoringScheduleResponse { MonitoringScheduleArn = row.MonitoringScheduleArn };
    }

    void DeleteMonitoringSchedule(DeleteMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        _ = Monitoring.DeleteSchedule(account, input.MonitoringScheduleName!) ?? throw new MonitoringScheduleNotFound(Arn(account, "monitoring-schedule", input.MonitoringScheduleName!));
        SchedulesChanged();
    }

    void StartMonitoringSchedule(StartMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var now = clock.GetUtcNow();
        // Ticks missed while it was stopped are not run: the next is the first after now.
        _ = Monitoring.UpdateSchedule(account, input.MonitoringScheduleName!, s => s.MonitoringScheduleStatus == "Scheduled" ? s
                : s with { MonitoringScheduleStatus = "Scheduled", LastModifiedTime = now, LastScheduledTime = s.LastScheduledTime is { } l && l > now ? l : now })
            ?? throw new MonitoringScheduleNotFound(Arn(account, "monitoring-schedule", input.MonitoringScheduleName!));
        SchedulesChanged();
    }

    void StopMonitoringSchedule(StopMonitoringScheduleRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        _ = Monitoring.UpdateSchedule(account, input.MonitoringScheduleName!, s => s.MonitoringScheduleStatus == "Stopped" ? s
                : s with { MonitoringScheduleStatus = "Stopped", LastModifiedTime = clock.GetUtcNow() })
            ?? throw new MonitoringScheduleNotFound(Arn(account, "monitoring-schedule", input.MonitoringScheduleName!));
        SchedulesChanged();
    }

    // ---- executions ----

    /// <summary>An execution's status, failure and last change, from its processing job.</summary>
    (string Status, string? FailureReason, DateTimeOffset LastModified) ExecutionState(string account, MonitoringExecutionRow row)
    {
        if (row.FailureReason is { } failed) return ("Failed", failed, row.CreationTime);
        if (row.ProcessingJobName is not { } job || processingJobs.Get(account, job) is not { } record)
            return ("Failed", "InternalServerError: the execution's processing job was not started", row.CreationTime);
        var state = record.State;
        var status = state.Status switch
        {
            "Completed" when state.ExitMessage?.StartsWith("CompletedWithViolations", StringComparison.Ordinal) == true => "CompletedWithViolations",
            var s => s,
        };
        return (status, state.FailureReason, state.LastModifiedTime);
    }

    MonitoringExecutionSummary Summary(string account, MonitoringExecutionRow row)
    {
        var (status, reason, modified) = ExecutionState(account, row);
        return new MonitoringExecutionSummary
        {
            MonitoringScheduleName = row.MonitoringScheduleName,
            ScheduledTime = row.ScheduledTime,
            CreationTime = row.CreationTime,
            LastModifiedTime = modified,
            MonitoringExecutionStatus = status,
            ProcessingJobArn = row.ProcessingJobArn,
            EndpointName = row.EndpointName,
            FailureReason = reason,
            MonitoringJobDefinitionName = row.MonitoringJobDefinitionName,
            MonitoringType = row.MonitoringType,
        };
    }

    ListMonitoringExecutionsResponse ListMonitoringExecutions(ListMonitoringExecutionsRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        static double Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();
        var rows = Monitoring.ListExecutions(account, input.MonitoringScheduleName).Select(r => Summary(account, r));
        if (input.EndpointName is { } endpoint) rows = rows.Where(r => r.EndpointName == endpoint);
        if (input.MonitoringJobDefinitionName is { } definition) rows = rows.Where(r => r.MonitoringJobDefinitionName == definition);
        if (input.MonitoringTypeEquals is { } type) rows = rows.Where(r => r.MonitoringType == type);
        if (input.StatusEquals is { } status) rows = rows.Where(r => r.MonitoringExecutionStatus == status);
        if (input.ScheduledTimeBefore is { } sb) rows = rows.Where(r => Ms(r.ScheduledTime!.Value) < Ms(sb));
        if (input.ScheduledTimeAfter is { } sa) rows = rows.Where(r => Ms(r.ScheduledTime!.Value) > Ms(sa));
        if (input.CreationTimeBefore is { } cb) rows = rows.Where(r => Ms(r.CreationTime!.Value) < Ms(cb));
        if (input.CreationTimeAfter is { } ca) rows = rows.Where(r => Ms(r.CreationTime!.Value) > Ms(ca));
        if (input.LastModifiedTimeBefore is { } lb) rows = rows.Where(r => Ms(r.LastModifiedTime!.Value) < Ms(lb));
        if (input.LastModifiedTimeAfter is { } la) rows = rows.Where(r => Ms(r.LastModifiedTime!.Value) > Ms(la));
        Func<MonitoringExecutionSummary, IComparable> key = input.SortBy switch
        {
            "CreationTime" => r => r.CreationTime!.Value,
            "Status" => r => r.MonitoringExecutionStatus!,
            _ => r => r.ScheduledTime!.Value,
        };
        var sorted = input.SortOrder == "Ascending" ? rows.OrderBy(key) : rows.OrderByDescending(key);
        var (page, next) = PageToken.Page(sorted.ToList(), input.NextToken, input.MaxResults);
        return new ListMonitoringExecutionsResponse { MonitoringExecutionSummaries = page, NextToken = next };
    }

    // ---- the scheduler's side ----

    IEnumerable<ScheduledMonitor> IMonitoringSchedules.Scheduled()
        => Monitoring.AllSchedules().Where(s => s.Schedule.MonitoringScheduleStatus == "Scheduled").Select(s => new ScheduledMonitor(s.Account, s.Schedule.MonitoringScheduleName,
            JsonSerializer.Deserialize(s.Schedule.ConfigJson, SageMakerJson.Default.MonitoringScheduleConfig)!.ScheduleConfig!.ScheduleExpression!, s.Schedule.CreationTime, s.Schedule.LastScheduledTime));

    void IMonitoringSchedules.StartExecution(string account, string name, DateTimeOffset scheduledTime)
    {
        if (Monitoring.GetSchedule(account, name) is not { } schedule) return;
        var config = JsonSerializer.Deserialize(schedule.ConfigJson, SageMakerJson.Default.MonitoringScheduleConfig)!;
        var definitionName = config.MonitoringJobDefinitionName!;
        // SageMaker's names: model-monitoring-<tick, to the minute>-<24 hex digits>; derived from the
        // schedule and the tick, so that a tick started twice (after a crash) is one job.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schedule.MonitoringScheduleArn + "@" + scheduledTime.ToUnixTimeMilliseconds())));
        var jobName = $"model-monitoring-{scheduledTime.UtcDateTime:yyyyMMddHHmm}-{hash[..24]}";
        var now = clock.GetUtcNow();
        ProcessingJob? job = null;
        string? failure = null;
        try { job = ExecutionJob(account, schedule, config, scheduledTime, jobName, now); }
        catch (MonitoringStartFailure e) { failure = e.Message; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A schedule whose settings cannot make a job fails its execution; the next schedules still run.
            failure = "InternalServerError: the monitoring job could not be made: " + e.Message;
        }
        var row = new MonitoringExecutionRow
        {
            MonitoringScheduleName = name,
            ScheduledTime = scheduledTime,
            CreationTime = now,
            EndpointName = schedule.EndpointName,
            MonitoringJobDefinitionName = definitionName,
            MonitoringType = schedule.MonitoringType,
            ProcessingJobName = job?.Name,
            ProcessingJobArn = job?.Arn,
            FailureReason = failure,
        };
        // The job first, so that an execution is never listed without it; a tick started twice
        // finds its job (the name is the tick's) and its execution there already.
        var created = job is not null && processingJobs.Create(account, new ProcessingJobRecord(job, new ProcessingJobState { LastModifiedTime = now }));
        if (Monitoring.AddExecution(account, row) && created) processing.Start(account, job!.Name);
    }

    sealed class MonitoringStartFailure(string message) : Exception(message);

    /// <summary>The processing job of a tick, as SageMaker makes it: the definition's image, role
    /// and resources; the endpoint's captured data as its input (and, for model quality, the ground
    /// truth, which SageMaker merges in a job of its own first and Strata's analyzer merges itself),
    /// the baseline's files, the window and the analyzer's settings in its environment; its output
    /// under &lt;S3Uri&gt;/&lt;endpoint&gt;/&lt;schedule&gt;/yyyy/mm/dd/hh.</summary>
    ProcessingJob ExecutionJob(string account, MonitoringScheduleRow schedule, MonitoringScheduleConfig config, DateTimeOffset tick, string jobName, DateTimeOffset now)
    {
        var type = schedule.MonitoringType;
        var definitionRow = Monitoring.GetDefinition(type, account, config.MonitoringJobDefinitionName!)
            ?? throw new MonitoringStartFailure($"ClientError: the job definition {config.MonitoringJobDefinitionName} no longer exists");
        var d = Definition(type, definitionRow);
        var modelQuality = type == MonitoringStore.ModelQuality;
        var modelBias = type == MonitoringStore.ModelBias;
        var explainability = type == MonitoringStore.ModelExplainability;
        var endpointInput = d.EndpointInput;
        var endpointName = endpointInput.EndpointName!;
        var endpoint = store.GetEndpoint(account, endpointName)
            ?? throw new MonitoringStartFailure($"ClientError: the endpoint {endpointName} does not exist: a monitoring schedule monitors an endpoint's captured data");
        var capture = store.GetEndpointConfig(account, endpoint.EndpointConfigName)?.DataCaptureConfig;
        // Data quality analyses the requests, model quality the predictions (the responses), model
        // bias both (the facet is a feature of the request, the predicted label the response's).
        // Feature attribution explains the requests (the model is asked again, for the synthetic ones).
        var modes = modelBias ? new[] { ("Input", "requests (their features)"), ("Output", "responses (its predictions)") }
            : modelQuality ? [("Output", "responses (its predictions)")] : explainability ? [("Input", "requests (their features)")] : [("Input", "requests")];
        if (capture is not { EnableCapture: true })
            throw new MonitoringStartFailure($"ClientError: the endpoint {endpointName} does not capture its {modes[0].Item2}: enable DataCaptureConfig (EnableCapture, CaptureMode {modes[0].Item1}) on its endpoint configuration");
        foreach (var (mode, what) in modes)
            if (!capture.CaptureModes.Any(m => m == mode || m == "InputAndOutput"))
                throw new MonitoringStartFailure($"ClientError: the endpoint {endpointName} does not capture its {what}: enable DataCaptureConfig (EnableCapture, CaptureMode {mode}) on its endpoint configuration");

        // The window: the period before the tick (an hour for an hourly schedule), or the offsets given.
        var schedule0 = config.ScheduleConfig!;
        DateTimeOffset start, end;
        if (schedule0.DataAnalysisStartTime is { } s && schedule0.DataAnalysisEndTime is { } e)
            (start, end) = (tick + XmlConvert.ToTimeSpan(s), tick + XmlConvert.ToTimeSpan(e));
        else
        {
            var period = schedule0.ScheduleExpression != "NOW" && ScheduleExpression.Parse(schedule0.ScheduleExpression!).NextAfter(tick, schedule.CreationTime) is { } after
                ? after - tick : TimeSpan.FromHours(1);
            (start, end) = (tick - period, tick);
        }
        if (endpointInput.StartTimeOffset is { } so) start = tick + XmlConvert.ToTimeSpan(so);
        if (endpointInput.EndTimeOffset is { } eo) end = tick + XmlConvert.ToTimeSpan(eo);

        static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var inputPath = endpointInput.LocalPath!.TrimEnd('/');
        var output = d.OutputConfig.MonitoringOutputs![0].S3Output!;
        var environment = new Dictionary<string, string>
        {
            ["dataset_format"] = modelQuality ? ModelQualityDatasetFormat : CaptureDatasetFormat,
            ["dataset_source"] = inputPath,
            ["output_path"] = output.LocalPath!,
            ["publish_cloudwatch_metrics"] = "Enabled",
            ["sagemaker_endpoint_name"] = endpointName,
            ["sagemaker_monitoring_schedule_name"] = schedule.MonitoringScheduleName,
            ["start_time"] = Iso(start),
            ["end_time"] = Iso(end),
            ["metric_time"] = Iso(end),
        };
        // The endpoint's whole capture prefix: the analyzer keeps the window's hour folders and the
        // records of the window by their inferenceTime. (Hour prefixes only would need the empty ones
        // left out, as a processing job refuses an input with no objects.)
        var inputs = new List<ProcessingJobInput>
        {
            new()
            {
                InputName = "endpoint_input_1",
                S3Uri = capture.DestinationS3Uri.TrimEnd('/') + "/" + endpointName + "/",
                LocalPath = inputPath,
                S3DataType = "S3Prefix",
                S3InputMode = "File",
                S3DataDistributionType = endpointInput.S3DataDistributionType ?? "FullyReplicated",
                S3CompressionType = "None",
            },
        };
        if (modelQuality || modelBias)
        {
            // The ground truth's whole prefix: labels arrive after their predictions, in hour folders
            // of their upload; the analyzer reads those from the window's start on.
            inputs.Add(new ProcessingJobInput
            {
                InputName = "groundtruth_input_1",
                S3Uri = d.GroundTruthUri!.TrimEnd('/') + "/",
                LocalPath = GroundTruthPath,
                S3DataType = "S3Prefix",
                S3InputMode = "File",
                S3DataDistributionType = "FullyReplicated",
                S3CompressionType = "None",
            });
            environment["ground_truth_source"] = GroundTruthPath;
        }
        if (modelBias || explainability)
        {
            // Clarify's processing input analysis_config: the file ConfigUri names.
            var configUri = d.ConfigUri!;
            inputs.Add(new ProcessingJobInput
            {
                InputName = "analysis_config",
                S3Uri = configUri,
                LocalPath = AnalysisConfigPath,
                S3DataType = "S3Prefix",
                S3InputMode = "File",
                S3DataDistributionType = "FullyReplicated",
                S3CompressionType = "None",
            });
            environment["analysis_type"] = modelBias ? "MODEL_BIAS" : "MODEL_EXPLAINABILITY";
            environment["analysis_config"] = AnalysisConfigPath + "/" + configUri[(configUri.LastIndexOf('/') + 1)..];
            if (endpointInput.FeaturesAttribute is { } features) environment["features_attribute"] = features;
        }
        if (modelQuality)
        {
            environment["analysis_type"] = "MODEL_QUALITY";
            environment["problem_type"] = d.ProblemType!;
        }
        if (modelQuality || modelBias || explainability)
        {
            // Where the prediction is in the endpoint's response, and what makes a probability a label.
            if (endpointInput.InferenceAttribute is { } inference) environment["inference_attribute"] = inference;
            if (endpointInput.ProbabilityAttribute is { } probability) environment["probability_attribute"] = probability;
            if (endpointInput.ProbabilityThresholdAttribute is { } threshold) environment["probability_threshold_attribute"] = threshold.ToString("R", CultureInfo.InvariantCulture);
        }
        void Baseline(string inputName, string? uri, string localPath, string variable)
        {
            if (uri is null) return;
            inputs.Add(new ProcessingJobInput
            {
                InputName = inputName,
                S3Uri = uri,
                LocalPath = localPath,
                S3DataType = "S3Prefix",
                S3InputMode = "File",
                S3DataDistributionType = "FullyReplicated",
                S3CompressionType = "None",
            });
            environment[variable] = localPath + "/" + uri[(uri.LastIndexOf('/') + 1)..];
        }
        Baseline("baseline", d.StatisticsUri, StatisticsPath, "baseline_statistics");
        Baseline("constraints", d.ConstraintsUri, ConstraintsPath, "baseline_constraints");
        // The definition's own environment last: publish_cloudwatch_metrics Disabled, say.
        foreach (var (k, v) in d.Environment ?? []) environment[k] = v;

        var cluster = d.JobResources.ClusterConfig!;
        return new ProcessingJob
        {
            Name = jobName,
            Arn = Arn(account, "processing-job", jobName),
            RoleArn = d.RoleArn,
            ImageUri = d.ImageUri,
            ContainerEntrypoint = d.ContainerEntrypoint,
            ContainerArguments = d.ContainerArguments,
            Environment = environment,
            Monitor = new ProcessingJobMonitor
            {
                MonitoringScheduleArn = schedule.MonitoringScheduleArn,
                MonitoringScheduleName = schedule.MonitoringScheduleName,
                EndpointName = endpointName,
                MonitoringType = type,
            },
            Inputs = inputs,
            Outputs =
            [
                new ProcessingJobOutput
                {
                    OutputName = "result",
                    S3Uri = $"{output.S3Uri!.TrimEnd('/')}/{endpointName}/{schedule.MonitoringScheduleName}/{tick.UtcDateTime:yyyy'/'MM'/'dd'/'HH}",
                    LocalPath = output.LocalPath!,
                    S3UploadMode = output.S3UploadMode ?? "EndOfJob",
                },
            ],
            OutputKmsKeyId = d.OutputConfig.KmsKeyId,
            InstanceType = cluster.InstanceType!,
            InstanceCount = 1,
            VolumeSizeInGB = cluster.VolumeSizeInGB ?? 1,
            VolumeKmsKeyId = cluster.VolumeKmsKeyId,
            MaxRuntimeInSeconds = d.StoppingCondition?.MaxRuntimeInSeconds ?? 3600,
            EnableNetworkIsolation = d.NetworkConfig?.EnableNetworkIsolation ?? false,
            CreationTime = now,
        };
    }
}
