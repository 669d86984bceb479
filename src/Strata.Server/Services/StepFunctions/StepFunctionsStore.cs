using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Services.StepFunctions;

/// <summary>A state machine as the state store keeps it (not the wire shape). Logging and tracing
/// configurations are kept as the JSON the API spells them in.</summary>
public sealed record StateMachineRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required string Definition { get; init; }
    public required string RoleArn { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    public DateTimeOffset? UpdateDate { get; init; }
    public required string RevisionId { get; init; }
    public string? LoggingConfiguration { get; init; }
    public string? TracingConfiguration { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];
}

[JsonSerializable(typeof(StateMachineRow))]
internal sealed partial class StepFunctionsRowsJson : JsonSerializerContext;

/// <summary>Step Functions' state machines in the state store, keyed <c>{account}/{name}</c>.
/// Executions are the runner's (<see cref="Jobs.StepFunctions.ExecutionStore"/>).</summary>
public sealed class StepFunctionsStore(IStateStore state)
{
    const string Machines = "sfn-state-machines";

    static string Key(string account, string name) => $"{account}/{name}";

    public StateMachineRow? Get(string account, string name)
        => state.Read(r => r.Get(Machines, Key(account, name))) is { } json ? Parse(json) : null;

    /// <summary>Adds a machine unless one of that name exists; returns the existing one then.</summary>
    public StateMachineRow? Add(string account, StateMachineRow row) => state.Write(w =>
    {
        if (w.Get(Machines, Key(account, row.Name)) is { } existing) return Parse(existing);
        w.Put(Machines, Key(account, row.Name), JsonSerializer.Serialize(row, StepFunctionsRowsJson.Default.StateMachineRow));
        return null;
    });

    /// <summary>Changes a machine in one transaction; null when there is none.</summary>
    public StateMachineRow? Update(string account, string name, Func<StateMachineRow, StateMachineRow> change) => state.Write(w =>
    {
        if (w.Get(Machines, Key(account, name)) is not { } json) return null;
        var changed = change(Parse(json));
        w.Put(Machines, Key(account, name), JsonSerializer.Serialize(changed, StepFunctionsRowsJson.Default.StateMachineRow));
        return changed;
    });

    public bool Delete(string account, string name) => state.Write(w => w.Delete(Machines, Key(account, name)));

    /// <summary>An account's machines in name order.</summary>
    public List<StateMachineRow> List(string account)
        => state.Read(r => r.Scan(Machines, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    static StateMachineRow Parse(string json) => JsonSerializer.Deserialize(json, StepFunctionsRowsJson.Default.StateMachineRow)!;
}
