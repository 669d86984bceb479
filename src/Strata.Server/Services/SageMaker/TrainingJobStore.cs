using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Training;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Training jobs in the state store, as the runner's records (<see cref="TrainingJobRecord"/>).
/// A change of a job's status or secondary status becomes AWS's "SageMaker Training Job State
/// Change" event.</summary>
public sealed class TrainingJobStore(IStateStore state)
    : JobStore<TrainingJobRecord, TrainingJobState>(state, "sm-training-jobs", TrainingJson.Default.TrainingJobRecord), ITrainingJobs
{
    /// <summary>Told of each job that has just ended (Completed, Failed or Stopped), once, after the
    /// change is committed: how a tuning job learns that one of its trials is over.</summary>
    public Action<string, TrainingJobRecord>? Ended { get; set; }

    protected override string NameOf(TrainingJobRecord record) => record.Job.Name;

    protected override string ArnOf(TrainingJobRecord record) => record.Job.Arn;

    protected override TrainingJobState StateOf(TrainingJobRecord record) => record.State;

    protected override TrainingJobRecord WithState(TrainingJobRecord record, TrainingJobState state) => record with { State = state };

    protected override bool IsEvent(TrainingJobState before, TrainingJobState after) => before.Status != after.Status || before.SecondaryStatus != after.SecondaryStatus;

    protected override ServiceEvent StateChange(string account, TrainingJobRecord record, IReadOnlyList<TagRow> tags) => SageMakerEvents.TrainingJobStateChange(account, record, tags);

    protected override void Changed(string account, TrainingJobState before, TrainingJobRecord after)
    {
        if (!before.IsTerminal && after.State.IsTerminal) Ended?.Invoke(account, after);
    }
}
