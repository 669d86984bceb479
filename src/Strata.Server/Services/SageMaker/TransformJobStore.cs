using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Transform;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Transform jobs in the state store, as the API's rows, whole (their per-object
/// checkpoints are the runner's: <see cref="TransformCheckpoints"/>; <see cref="TransformJobs"/>
/// maps them to the runner's view). A change of a job's status becomes AWS's "SageMaker Transform
/// Job State Change" event.</summary>
public sealed class TransformJobStore(IStateStore state)
    : JobStore<TransformJobRow, TransformJobRow>(state, "sm-transform-jobs", SageMakerRowsJson.Default.TransformJobRow)
{
    readonly TransformCheckpoints _checkpoints = new(state);

    protected override string NameOf(TransformJobRow job) => job.TransformJobName;

    protected override string ArnOf(TransformJobRow job) => job.TransformJobArn;

    protected override TransformJobRow StateOf(TransformJobRow job) => job;

    protected override TransformJobRow WithState(TransformJobRow job, TransformJobRow state) => state;

    protected override bool IsEvent(TransformJobRow before, TransformJobRow after) => before.TransformJobStatus != after.TransformJobStatus;

    protected override ServiceEvent StateChange(string account, TransformJobRow job, IReadOnlyList<TagRow> tags) => SageMakerEvents.TransformJobStateChange(account, job, tags);

    /// <summary>A job with its live progress (records from the checkpoints).</summary>
    public TransformJobRow WithProgress(string account, TransformJobRow job)
        => job.StrataProgress is { } p ? job with { StrataProgress = p with { RecordsProcessed = Math.Max(p.RecordsProcessed, _checkpoints.RecordsDone(account, job.TransformJobName)) } } : job;
}
