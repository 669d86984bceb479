using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Hyperparameter tuning jobs in the state store, as the tuner's records
/// (<see cref="TuningJobRecord"/>). Every change of a job's status, the API's or the tuner's, is
/// written here, so this is where it becomes AWS's "SageMaker HyperParameter Tuning Job State
/// Change" event, with the counters of its training jobs as they are then.</summary>
public sealed class TuningJobStore(IStateStore state, TrainingJobStore trainingJobs) : ITuningJobs
{
    const string Jobs = "sm-tuning-jobs";

    /// <summary>Where job state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    static string Key(string account, string name) => account + "/" + name;

    static TuningJobRecord Parse(string json) => JsonSerializer.Deserialize(json, TuningJson.Default.TuningJobRecord)!;

    static string Json(TuningJobRecord record) => JsonSerializer.Serialize(record, TuningJson.Default.TuningJobRecord);

    public TuningJobRecord? Get(string account, string name) => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? Parse(json) : null;

    public List<TuningJobRecord> List(string account) => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    public IEnumerable<(string Account, TuningJobRecord Record)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value))).ToList();

    /// <summary>Where a job's trials stand, from its training jobs.</summary>
    public TuningProgress Progress(string account, TuningJobRecord record)
        => TuningProgress.Of(record.Job, record.State, name => trainingJobs.Get(account, name));

    /// <summary>Inserts a job with its tags; false if one of that name exists.</summary>
    public bool Create(string account, TuningJobRecord record, List<TagRow> tags)
    {
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(Jobs, Key(account, record.Job.Name)) is not null) return null;
            w.Put(Jobs, Key(account, record.Job.Name), Json(record));
            if (tags.Count > 0) SageMakerStore.WriteTags(w, record.Job.Arn, tags);
            return SageMakerStore.ReadTags(w, record.Job.Arn);
        });
        if (created is null) return false;
        Events.Put(SageMakerEvents.TuningJobStateChange(account, record, Progress(account, record), created));
        return true;
    }

    public TuningJobRecord? Update(string account, string name, Func<TuningJobState, TuningJobState> change)
    {
        var (record, tags) = state.Write<(TuningJobRecord? Record, List<TagRow>? Tags)>(w =>
        {
            if (w.Get(Jobs, Key(account, name)) is not { } json) return default;
            var before = Parse(json);
            var after = before with { State = change(before.State) };
            w.Put(Jobs, Key(account, name), Json(after));
            return (after, before.State.Status != after.State.Status ? SageMakerStore.ReadTags(w, after.Job.Arn) : null);
        });
        if (record is not null && tags is not null) Events.Put(SageMakerEvents.TuningJobStateChange(account, record, Progress(account, record), tags));
        return record;
    }

    /// <summary>Deletes a job and its tags; the record it was, or null if there was none.</summary>
    public TuningJobRecord? Delete(string account, string name) => state.Write(w =>
    {
        if (w.Get(Jobs, Key(account, name)) is not { } json) return null;
        var record = Parse(json);
        w.Delete(Jobs, Key(account, name));
        SageMakerStore.WriteTags(w, record.Job.Arn, []);
        return record;
    });
}
