using System.Text.Json;
using Strata.Server.Jobs.Transform;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Transform jobs in the state store (their per-object checkpoints are the runner's:
/// <see cref="TransformCheckpoints"/>).</summary>
public sealed class TransformJobStore(IStateStore state)
{
    const string Jobs = "sm-transform-jobs";
    readonly TransformCheckpoints _checkpoints = new(state);

    static string Key(string account, string name) => account + "/" + name;

    public TransformJobRow? Get(string account, string name)
        => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.TransformJobRow) : null;

    public List<TransformJobRow> List(string account)
        => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, SageMakerRowsJson.Default.TransformJobRow)!).ToList();

    public List<(string Account, TransformJobRow Job)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, SageMakerRowsJson.Default.TransformJobRow)!)).ToList();

    public bool Create(string account, TransformJobRow job) => state.Write(w =>
    {
        if (w.Get(Jobs, Key(account, job.TransformJobName)) is not null) return false;
        w.Put(Jobs, Key(account, job.TransformJobName), JsonSerializer.Serialize(job, SageMakerRowsJson.Default.TransformJobRow));
        return true;
    });

    public TransformJobRow? Update(string account, string name, Func<TransformJobRow, TransformJobRow> change) => state.Write(w =>
    {
        if (w.Get(Jobs, Key(account, name)) is not { } json) return null;
        var job = change(JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.TransformJobRow)!);
        w.Put(Jobs, Key(account, name), JsonSerializer.Serialize(job, SageMakerRowsJson.Default.TransformJobRow));
        return job;
    });

    /// <summary>A job with its live progress (records from the checkpoints).</summary>
    public TransformJobRow WithProgress(string account, TransformJobRow job)
        => job.StrataProgress is { } p ? job with { StrataProgress = p with { RecordsProcessed = Math.Max(p.RecordsProcessed, _checkpoints.RecordsDone(account, job.TransformJobName)) } } : job;
}
