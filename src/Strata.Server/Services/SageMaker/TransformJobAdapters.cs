using System.Security.Cryptography;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>SageMaker's transform jobs as the runner sees them: its stored records mapped to
/// <see cref="TransformJob"/>, and the runner's state changes written back into them.</summary>
public sealed class TransformJobs(TransformJobStore jobs, SageMakerStore models) : ITransformJobs
{
    public IEnumerable<(string Account, TransformJob Record)> All() => jobs.All().Select(e => (e.Account, Map(e.Record)));

    public TransformJob? Get(string account, string name) => jobs.Get(account, name) is { } job ? Map(job) : null;

    public TransformJob? Update(string account, string name, Func<TransformJobState, TransformJobState> change)
        => jobs.Update(account, name, j => Apply(j, change(StateOf(j)))) is { } job ? Map(job) : null;

    public ModelPlan Model(string account, string modelName)
    {
        var model = models.GetModel(account, modelName) ?? throw new TransformException($"the model {modelName} does not exist");
        var container = model.PrimaryContainer ?? model.Containers?.FirstOrDefault() ?? throw new TransformException($"the model {model.ModelName} has no container");
        return new ModelPlan
        {
            ModelName = model.ModelName,
            Image = container.Image ?? "",
            ModelDataUrl = container.ModelDataUrl,
            Environment = container.Environment ?? [],
            EnableNetworkIsolation = model.EnableNetworkIsolation,
            ExecutionRoleArn = model.ExecutionRoleArn,
        };
    }

    static TransformJobState StateOf(TransformJobRow j)
        => new(j.TransformJobStatus, j.FailureReason, j.TransformStartTime, j.TransformEndTime, j.LastModifiedTime, j.StrataProgress);

    static TransformJobRow Apply(TransformJobRow j, TransformJobState s) => j with
    {
        TransformJobStatus = s.Status,
        FailureReason = s.FailureReason,
        TransformStartTime = s.StartTime,
        TransformEndTime = s.EndTime,
        LastModifiedTime = s.LastModifiedTime,
        StrataProgress = s.Progress,
    };

    static TransformJob Map(TransformJobRow j) => new()
    {
        Name = j.TransformJobName,
        ModelName = j.ModelName,
        MaxConcurrentTransforms = j.MaxConcurrentTransforms,
        MaxPayloadInMB = j.MaxPayloadInMB,
        BatchStrategy = j.BatchStrategy,
        Environment = j.Environment,
        InputDataType = j.TransformInput.DataSource!.S3DataSource!.S3DataType!,
        InputUri = j.TransformInput.DataSource.S3DataSource.S3Uri!,
        ContentType = j.TransformInput.ContentType,
        CompressionType = j.TransformInput.CompressionType,
        SplitType = j.TransformInput.SplitType,
        OutputPath = j.TransformOutput.S3OutputPath!,
        Accept = j.TransformOutput.Accept,
        AssembleWith = j.TransformOutput.AssembleWith,
        OutputKmsKeyId = j.TransformOutput.KmsKeyId,
        InstanceType = j.TransformResources.InstanceType,
        InstanceCount = j.TransformResources.InstanceCount,
        InputFilter = j.DataProcessing?.InputFilter,
        OutputFilter = j.DataProcessing?.OutputFilter,
        JoinSource = j.DataProcessing?.JoinSource,
        DataCaptureUri = j.DataCaptureConfig?.DestinationS3Uri,
        DataCaptureKmsKeyId = j.DataCaptureConfig?.KmsKeyId,
        State = StateOf(j),
    };
}
