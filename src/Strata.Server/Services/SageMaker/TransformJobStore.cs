using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Transform;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Transform jobs in the state store (their per-object checkpoints are the runner's:
/// <see cref="TransformCheckpoints"/>). Every change of a job's status, the API's or the runner's,
/// is written here, so this is where it becomes AWS's "SageMaker Transform Job State Change" event.</summary>
public sealed class TransformJobStore(IStateStore state)
{
    const string Jobs = "sm-transform-jobs";
    readonly TransformCheckpoints _checkpoints = new(state);

    /// <summary>Where job state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    static string Key(string account, string name) => account + "/" + name;

    public TransformJobRow? Get(string account, string name)
        => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.TransformJobRow) : null;

    public List<TransformJobRow> List(string account)
        => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, SageMakerRowsJson.Default.TransformJobRow)!).ToList();

    public List<(string Account, TransformJobRow Job)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, SageMakerRowsJson.Default.TransformJobRow)!)).ToList();

    /// <summary>Inserts a job with its tags (so that the event of its start carries them); false
    /// if one of that name exists.</summary>
    public bool Create(string account, TransformJobRow job, List<TagRow>? tags = null)
    {
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(Jobs, Key(account, job.TransformJobName)) is not null) return null;
            w.Put(Jobs, Key(account, job.TransformJobName), JsonSerializer.Serialize(job, SageMakerRowsJson.Default.TransformJobRow));
            if (tags is { Count: > 0 }) SageMakerStore.WriteTags(w, job.TransformJobArn, tags);
            return SageMakerStore.ReadTags(w, job.TransformJobArn);
        });
        if (created is null) return false;
        Events.Put(SageMakerEvents.TransformJobStateChange(account, job, created));
        return true;
    }

    /// <summary>Changes a job in one transaction; null if it is gone. A change of status is put as
    /// an event once the change is committed.</summary>
    public TransformJobRow? Update(string account, string name, Func<TransformJobRow, TransformJobRow> change)
    {
        var (job, tags) = state.Write<(TransformJobRow? Job, List<TagRow>? Tags)>(w =>
        {
            if (w.Get(Jobs, Key(account, name)) is not { } json) return default;
            var before = JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.TransformJobRow)!;
            var after = change(before);
            w.Put(Jobs, Key(account, name), JsonSerializer.Serialize(after, SageMakerRowsJson.Default.TransformJobRow));
            return (after, before.TransformJobStatus != after.TransformJobStatus ? SageMakerStore.ReadTags(w, after.TransformJobArn) : null);
        });
        if (job is not null && tags is not null) Events.Put(SageMakerEvents.TransformJobStateChange(account, job, tags));
        return job;
    }

    /// <summary>A job with its live progress (records from the checkpoints).</summary>
    public TransformJobRow WithProgress(string account, TransformJobRow job)
        => job.StrataProgress is { } p ? job with { StrataProgress = p with { RecordsProcessed = Math.Max(p.RecordsProcessed, _checkpoints.RecordsDone(account, job.TransformJobName)) } } : job;
}
