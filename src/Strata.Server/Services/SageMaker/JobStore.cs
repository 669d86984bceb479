using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>One kind of SageMaker job in the state store: its records by account and name, and
/// their tags. Every change of a job's state, the API's or its runner's, is written here in one
/// transaction, so this is where a change of its status becomes the kind's "State Change" event,
/// put once the change is committed. A kind says how its record is named and where its state is
/// (<typeparamref name="TState"/>: what its runner changes), which changes are events, and the event.</summary>
public abstract class JobStore<TRecord, TState>(IStateStore state, string table, JsonTypeInfo<TRecord> json) where TRecord : class
{
    /// <summary>Where job state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    protected abstract string NameOf(TRecord record);

    protected abstract string ArnOf(TRecord record);

    protected abstract TState StateOf(TRecord record);

    protected abstract TRecord WithState(TRecord record, TState state);

    /// <summary>Whether a change is one the kind's event reports (a change of status, for all).</summary>
    protected abstract bool IsEvent(TState before, TState after);

    protected abstract ServiceEvent StateChange(string account, TRecord record, IReadOnlyList<TagRow> tags);

    /// <summary>Told of each change of a job, once it is committed and its event put.</summary>
    protected virtual void Changed(string account, TState before, TRecord after) { }

    static string Key(string account, string name) => account + "/" + name;

    TRecord Parse(string text) => JsonSerializer.Deserialize(text, json)!;

    public TRecord? Get(string account, string name) => state.Read(r => r.Get(table, Key(account, name))) is { } text ? Parse(text) : null;

    public List<TRecord> List(string account) => state.Read(r => r.Scan(table, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    public IEnumerable<(string Account, TRecord Record)> All()
        => state.Read(r => r.Scan(table, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value))).ToList();

    /// <summary>Inserts a job with its tags (so that the event of its start carries them); false if
    /// one of that name exists.</summary>
    public bool Create(string account, TRecord record, List<TagRow>? tags = null)
    {
        var (name, arn) = (NameOf(record), ArnOf(record));
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(table, Key(account, name)) is not null) return null;
            w.Put(table, Key(account, name), JsonSerializer.Serialize(record, json));
            if (tags is { Count: > 0 }) SageMakerStore.WriteTags(w, arn, tags);
            return SageMakerStore.ReadTags(w, arn);
        });
        if (created is null) return false;
        Events.Put(StateChange(account, record, created));
        return true;
    }

    /// <summary>Changes a job's state in one transaction; the record as changed, or null when it is gone.</summary>
    public TRecord? Update(string account, string name, Func<TState, TState> change)
    {
        var (before, after, tags) = state.Write<(TState? Before, TRecord? After, List<TagRow>? Tags)>(w =>
        {
            if (w.Get(table, Key(account, name)) is not { } text) return default;
            var record = Parse(text);
            var before = StateOf(record);
            var after = WithState(record, change(before));
            w.Put(table, Key(account, name), JsonSerializer.Serialize(after, json));
            return (before, after, IsEvent(before, StateOf(after)) ? SageMakerStore.ReadTags(w, ArnOf(after)) : null);
        });
        if (after is null) return null;
        if (tags is not null) Events.Put(StateChange(account, after, tags));
        Changed(account, before!, after);
        return after;
    }

    /// <summary>Deletes a job and its tags; the record it was, or null if there was none.</summary>
    public TRecord? Delete(string account, string name) => state.Write(w =>
    {
        if (w.Get(table, Key(account, name)) is not { } text) return null;
        var record = Parse(text);
        w.Delete(table, Key(account, name));
        SageMakerStore.WriteTags(w, ArnOf(record), []);
        return record;
    });
}
