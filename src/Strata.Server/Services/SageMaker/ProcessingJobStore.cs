using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Processing;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Processing jobs in the state store, as the runner's records (<see cref="ProcessingJobRecord"/>).
/// A change of a job's status becomes AWS's "SageMaker Processing Job State Change" event.</summary>
public sealed class ProcessingJobStore(IStateStore state)
    : JobStore<ProcessingJobRecord, ProcessingJobState>(state, "sm-processing-jobs", ProcessingJson.Default.ProcessingJobRecord), IProcessingJobs
{
    protected override string NameOf(ProcessingJobRecord record) => record.Job.Name;

    protected override string ArnOf(ProcessingJobRecord record) => record.Job.Arn;

    protected override ProcessingJobState StateOf(ProcessingJobRecord record) => record.State;

    protected override ProcessingJobRecord WithState(ProcessingJobRecord record, ProcessingJobState state) => record with { State = state };

    protected override bool IsEvent(ProcessingJobState before, ProcessingJobState after) => before.Status != after.Status;

    protected override ServiceEvent StateChange(string account, ProcessingJobRecord record, IReadOnlyList<TagRow> tags) => SageMakerEvents.ProcessingJobStateChange(account, record, tags);
}
