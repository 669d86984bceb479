using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>An activity (a kind of work that workers outside take with GetActivityTask), as the
/// state store keeps it.</summary>
public sealed record ActivityRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    /// <summary>The encryption configuration as the API spells it (JSON), when one was given.</summary>
    public string? EncryptionConfiguration { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];
}

[JsonSerializable(typeof(ActivityRow))]
internal sealed partial class ActivityRowsJson : JsonSerializerContext;

/// <summary>Activities in the state store, keyed <c>{account}/{name}</c>. Here, below the service, because
/// the runner asks whether an activity a Task names exists when it schedules the task.</summary>
public sealed class ActivityStore(IStateStore state)
{
    const string Activities = "sfn-activities";

    static string Key(string account, string name) => $"{account}/{name}";

    public ActivityRow? Get(string account, string name)
        => state.Read(r => r.Get(Activities, Key(account, name))) is { } json ? Parse(json) : null;

    /// <summary>Adds the activity unless one of that name exists; returns the existing one then.</summary>
    public ActivityRow? Add(string account, ActivityRow row) => state.Write(w =>
    {
        if (w.Get(Activities, Key(account, row.Name)) is { } existing) return Parse(existing);
        w.Put(Activities, Key(account, row.Name), JsonSerializer.Serialize(row, ActivityRowsJson.Default.ActivityRow));
        return null;
    });

    /// <summary>Changes an activity in one transaction; null when there is none.</summary>
    public ActivityRow? Update(string account, string name, Func<ActivityRow, ActivityRow> change) => state.Write(w =>
    {
        if (w.Get(Activities, Key(account, name)) is not { } json) return null;
        var changed = change(Parse(json));
        w.Put(Activities, Key(account, name), JsonSerializer.Serialize(changed, ActivityRowsJson.Default.ActivityRow));
        return changed;
    });

    public bool Delete(string account, string name) => state.Write(w => w.Delete(Activities, Key(account, name)));

    /// <summary>An account's activities in name order.</summary>
    public List<ActivityRow> List(string account)
        => state.Read(r => r.Scan(Activities, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    static ActivityRow Parse(string json) => JsonSerializer.Deserialize(json, ActivityRowsJson.Default.ActivityRow)!;
}
