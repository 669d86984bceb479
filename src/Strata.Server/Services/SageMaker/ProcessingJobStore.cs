using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Processing;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Processing jobs in the state store, as the runner's records (<see cref="ProcessingJobRecord"/>).
/// Every change of a job's status, the API's or the runner's, is written here, so this is where it
/// becomes AWS's "SageMaker Processing Job State Change" event.</summary>
public sealed class ProcessingJobStore(IStateStore state) : IProcessingJobs
{
    const string Jobs = "sm-processing-jobs";

    /// <summary>Where job state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    static string Key(string account, string name) => account + "/" + name;

    static ProcessingJobRecord Parse(string json) => JsonSerializer.Deserialize(json, ProcessingJson.Default.ProcessingJobRecord)!;

    static string Json(ProcessingJobRecord record) => JsonSerializer.Serialize(record, ProcessingJson.Default.ProcessingJobRecord);

    public ProcessingJobRecord? Get(string account, string name) => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? Parse(json) : null;

    public List<ProcessingJobRecord> List(string account) => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    public IEnumerable<(string Account, ProcessingJobRecord Record)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value))).ToList();

    /// <summary>Inserts a job with its tags (so that the event of its start carries them); false if
    /// one of that name exists.</summary>
    public bool Create(string account, ProcessingJobRecord record, List<TagRow> tags)
    {
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(Jobs, Key(account, record.Job.Name)) is not null) return null;
            w.Put(Jobs, Key(account, record.Job.Name), Json(record));
            if (tags.Count > 0) SageMakerStore.WriteTags(w, record.Job.Arn, tags);
            return SageMakerStore.ReadTags(w, record.Job.Arn);
        });
        if (created is null) return false;
        Events.Put(SageMakerEvents.ProcessingJobStateChange(account, record, created));
        return true;
    }

    public ProcessingJobRecord? Update(string account, string name, Func<ProcessingJobState, ProcessingJobState> change)
    {
        var (record, tags) = state.Write<(ProcessingJobRecord? Record, List<TagRow>? Tags)>(w =>
        {
            if (w.Get(Jobs, Key(account, name)) is not { } json) return default;
            var before = Parse(json);
            var after = before with { State = change(before.State) };
            w.Put(Jobs, Key(account, name), Json(after));
            return (after, before.State.Status != after.State.Status ? SageMakerStore.ReadTags(w, after.Job.Arn) : null);
        });
        if (record is not null && tags is not null) Events.Put(SageMakerEvents.ProcessingJobStateChange(account, record, tags));
        return record;
    }
}
