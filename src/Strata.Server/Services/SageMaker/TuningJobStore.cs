using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Hyperparameter tuning jobs in the state store, as the tuner's records
/// (<see cref="TuningJobRecord"/>). A change of a job's status becomes AWS's "SageMaker
/// HyperParameter Tuning Job State Change" event, with the counters of its training jobs as they
/// are then.</summary>
public sealed class TuningJobStore(IStateStore state, TrainingJobStore trainingJobs)
    : JobStore<TuningJobRecord, TuningJobState>(state, "sm-tuning-jobs", TuningJson.Default.TuningJobRecord), ITuningJobs
{
    /// <summary>Where a job's trials stand, from its training jobs.</summary>
    public TuningProgress Progress(string account, TuningJobRecord record)
        => TuningProgress.Of(record.Job, record.State, name => trainingJobs.Get(account, name));

    protected override string NameOf(TuningJobRecord record) => record.Job.Name;

    protected override string ArnOf(TuningJobRecord record) => record.Job.Arn;

    protected override TuningJobState StateOf(TuningJobRecord record) => record.State;

    protected override TuningJobRecord WithState(TuningJobRecord record, TuningJobState state) => record with { State = state };

    protected override bool IsEvent(TuningJobState before, TuningJobState after) => before.Status != after.Status;

    protected override ServiceEvent StateChange(string account, TuningJobRecord record, IReadOnlyList<TagRow> tags)
        => SageMakerEvents.TuningJobStateChange(account, record, Progress(account, record), tags);
}
