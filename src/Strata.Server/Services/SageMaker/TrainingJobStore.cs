using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Training;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Training jobs in the state store, as the runner's records (<see cref="TrainingJobRecord"/>).
/// Every change of a job's status or secondary status, the API's or the runner's, is written
/// here, so this is where it becomes AWS's "SageMaker Training Job State Change" event.</summary>
public sealed class TrainingJobStore(IStateStore state) : ITrainingJobs
{
    const string Jobs = "sm-training-jobs";

    /// <summary>Where job state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    /// <summary>Told of each job that has just ended (Completed, Failed or Stopped), once, after the
    /// change is committed: how a tuning job learns that one of its trials is over.</summary>
    public Action<string, TrainingJobRecord>? Ended { get; set; }

    static string Key(string account, string name) => account + "/" + name;

    static TrainingJobRecord Parse(string json) => JsonSerializer.Deserialize(json, TrainingJson.Default.TrainingJobRecord)!;

    static string Json(TrainingJobRecord record) => JsonSerializer.Serialize(record, TrainingJson.Default.TrainingJobRecord);

    public TrainingJobRecord? Get(string account, string name) => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? Parse(json) : null;

    public List<TrainingJobRecord> List(string account) => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    public IEnumerable<(string Account, TrainingJobRecord Record)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value))).ToList();

    /// <summary>Inserts a job with its tags; false if one of that name exists.</summary>
    public bool Create(string account, TrainingJobRecord record, List<TagRow> tags)
    {
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(Jobs, Key(account, record.Job.Name)) is not null) return null;
            w.Put(Jobs, Key(account, record.Job.Name), Json(record));
            if (tags.Count > 0) SageMakerStore.WriteTags(w, record.Job.Arn, tags);
            return SageMakerStore.ReadTags(w, record.Job.Arn);
        });
        if (created is null) return false;
        Events.Put(SageMakerEvents.TrainingJobStateChange(account, record, created));
        return true;
    }

    public TrainingJobRecord? Update(string account, string name, Func<TrainingJobState, TrainingJobState> change)
    {
        var (record, tags, ended) = state.Write<(TrainingJobRecord? Record, List<TagRow>? Tags, bool Ended)>(w =>
        {
            if (w.Get(Jobs, Key(account, name)) is not { } json) return default;
            var before = Parse(json);
            var after = before with { State = change(before.State) };
            w.Put(Jobs, Key(account, name), Json(after));
            var changed = before.State.Status != after.State.Status || before.State.SecondaryStatus != after.State.SecondaryStatus;
            return (after, changed ? SageMakerStore.ReadTags(w, after.Job.Arn) : null, !before.State.IsTerminal && after.State.IsTerminal);
        });
        if (record is not null && tags is not null) Events.Put(SageMakerEvents.TrainingJobStateChange(account, record, tags));
        if (record is not null && ended) Ended?.Invoke(account, record);
        return record;
    }
}
