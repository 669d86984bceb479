using System.Globalization;
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
    /// <summary>The number of the last version published: numbers are never reused, even after a version is deleted.</summary>
    public int LastVersion { get; init; }
}

/// <summary>A published version: an immutable snapshot of what the machine ran when it was published.</summary>
public sealed record StateMachineVersionRow
{
    public required int Version { get; init; }
    public required string Arn { get; init; }
    public required string Definition { get; init; }
    public required string RoleArn { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    /// <summary>The machine's revision this version was published from (what publishing again compares).</summary>
    public required string RevisionId { get; init; }
    public string? Description { get; init; }
    public string? LoggingConfiguration { get; init; }
    public string? TracingConfiguration { get; init; }
}

/// <summary>One version an alias routes to and its share of the executions (percent).</summary>
public sealed record AliasRoute(int Version, int Weight);

/// <summary>An alias of a machine: a name that routes executions to one or two of its versions.</summary>
public sealed record StateMachineAliasRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public string? Description { get; init; }
    public required List<AliasRoute> Routing { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    public DateTimeOffset? UpdateDate { get; init; }
}

[JsonSerializable(typeof(StateMachineRow))]
[JsonSerializable(typeof(StateMachineVersionRow))]
[JsonSerializable(typeof(StateMachineAliasRow))]
internal sealed partial class StepFunctionsRowsJson : JsonSerializerContext;

/// <summary>Step Functions' state machines in the state store, keyed <c>{account}/{name}</c>, their
/// versions (<c>{account}/{name}/{number, zero-padded}</c>) and aliases (<c>{account}/{name}/{alias}</c>).
/// Executions are the runner's (<see cref="Jobs.StepFunctions.ExecutionStore"/>).</summary>
public sealed class StepFunctionsStore(IStateStore state)
{
    const string Machines = "sfn-state-machines", Versions = "sfn-state-machine-versions", Aliases = "sfn-state-machine-aliases";

    /// <summary>AWS's quotas per state machine.</summary>
    public const int MaxVersions = 1000, MaxAliases = 100;

    static string Key(string account, string name) => $"{account}/{name}";

    static string VersionKey(string account, string name, int version) => $"{account}/{name}/{version.ToString("D10", CultureInfo.InvariantCulture)}";

    /// <summary>Whether the machine exists, read in the caller's transaction.</summary>
    public static bool Exists(IStateReader r, string account, string name) => r.Get(Machines, Key(account, name)) is not null;

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
    public StateMachineRow? Update(string account, string name, Func<StateMachineRow, StateMachineRow> change)
        => UpdateAndPublish(account, name, change, publish: false, null, default)?.Machine;

    /// <summary>Changes a machine and, with <paramref name="publish"/>, publishes what it became as a version,
    /// in one transaction: a refused publish (the quota) leaves the machine unchanged, and no other update
    /// comes between the two. Null when there is no machine.</summary>
    public (StateMachineRow Machine, StateMachineVersionRow? Version)? UpdateAndPublish(string account, string name,
        Func<StateMachineRow, StateMachineRow> change, bool publish, string? description, DateTimeOffset now)
        => state.Write<(StateMachineRow, StateMachineVersionRow?)?>(w =>
    {
        if (w.Get(Machines, Key(account, name)) is not { } json) return null;
        var changed = change(Parse(json));
        w.Put(Machines, Key(account, name), JsonSerializer.Serialize(changed, StepFunctionsRowsJson.Default.StateMachineRow));
        if (!publish) return (changed, null);
        var (version, _) = PublishIn(w, account, name, changed, description, now);
        return (w.Get(Machines, Key(account, name)) is { } after ? Parse(after) : changed, version);
    });

    /// <summary>Deletes a machine with its versions and aliases.</summary>
    public bool Delete(string account, string name) => state.Write(w =>
    {
        foreach (var kv in w.Scan(Versions, Key(account, name) + "/", null, int.MaxValue)) w.Delete(Versions, kv.Key);
        foreach (var kv in w.Scan(Aliases, Key(account, name) + "/", null, int.MaxValue)) w.Delete(Aliases, kv.Key);
        return w.Delete(Machines, Key(account, name));
    });

    // ---- versions ----

    /// <summary>Publishes the machine's current revision as a version in one transaction, unless a
    /// version of that revision exists (then that one, the latest, is answered: publishing is idempotent).
    /// <paramref name="check"/> sees the machine first and throws to refuse. Null when there is no machine.</summary>
    public (StateMachineVersionRow Version, bool Created)? Publish(string account, string name, string? description, DateTimeOffset now,
        Action<StateMachineRow> check) => state.Write<(StateMachineVersionRow, bool)?>(w =>
    {
        if (w.Get(Machines, Key(account, name)) is not { } json) return null;
        var machine = Parse(json);
        check(machine);
        return PublishIn(w, account, name, machine, description, now);
    });

    static (StateMachineVersionRow Version, bool Created) PublishIn(IStateWriter w, string account, string name, StateMachineRow machine,
        string? description, DateTimeOffset now)
    {
        var versions = ListVersions(w, account, name);
        if (versions.LastOrDefault(v => v.RevisionId == machine.RevisionId) is { } existing) return (existing, false);
        if (versions.Count >= MaxVersions) throw new VersionQuotaExceeded(machine.Arn);
        var number = machine.LastVersion + 1;
        var version = new StateMachineVersionRow
        {
            Version = number,
            Arn = $"{machine.Arn}:{number.ToString(CultureInfo.InvariantCulture)}",
            Definition = machine.Definition,
            RoleArn = machine.RoleArn,
            Type = machine.Type,
            CreationDate = now,
            RevisionId = machine.RevisionId,
            Description = description,
            LoggingConfiguration = machine.LoggingConfiguration,
            TracingConfiguration = machine.TracingConfiguration,
        };
        w.Put(Versions, VersionKey(account, name, number), JsonSerializer.Serialize(version, StepFunctionsRowsJson.Default.StateMachineVersionRow));
        w.Put(Machines, Key(account, name), JsonSerializer.Serialize(machine with { LastVersion = number }, StepFunctionsRowsJson.Default.StateMachineRow));
        return (version, true);
    }

    public StateMachineVersionRow? GetVersion(string account, string name, int version)
        => state.Read(r => r.Get(Versions, VersionKey(account, name, version))) is { } json
            ? JsonSerializer.Deserialize(json, StepFunctionsRowsJson.Default.StateMachineVersionRow) : null;

    /// <summary>A machine's versions, oldest first.</summary>
    public List<StateMachineVersionRow> ListVersions(string account, string name) => state.Read(r => ListVersions(r, account, name));

    static List<StateMachineVersionRow> ListVersions(IStateReader r, string account, string name)
        => r.Scan(Versions, Key(account, name) + "/", null, int.MaxValue)
            .Select(kv => JsonSerializer.Deserialize(kv.Value, StepFunctionsRowsJson.Default.StateMachineVersionRow)!).ToList();

    /// <summary>Deletes a version unless an alias routes to it (then the ARNs of those aliases, and nothing is deleted).</summary>
    public List<string> DeleteVersion(string account, string name, int version) => state.Write(w =>
    {
        var routing = ListAliases(w, account, name).Where(a => a.Routing.Any(r => r.Version == version)).Select(a => a.Arn).ToList();
        if (routing.Count == 0) w.Delete(Versions, VersionKey(account, name, version));
        return routing;
    });

    // ---- aliases ----

    public StateMachineAliasRow? GetAlias(string account, string name, string alias)
        => state.Read(r => r.Get(Aliases, $"{Key(account, name)}/{alias}")) is { } json
            ? JsonSerializer.Deserialize(json, StepFunctionsRowsJson.Default.StateMachineAliasRow) : null;

    /// <summary>Adds or changes an alias in one transaction: <paramref name="change"/> sees the one there
    /// (null when none) and the machine's versions, and returns what to keep (or throws). Null when there is no machine.</summary>
    public StateMachineAliasRow? PutAlias(string account, string name, string alias,
        Func<StateMachineAliasRow?, IReadOnlyList<StateMachineVersionRow>, int, StateMachineAliasRow> change) => state.Write(w =>
    {
        if (w.Get(Machines, Key(account, name)) is null) return null;
        var key = $"{Key(account, name)}/{alias}";
        var existing = w.Get(Aliases, key) is { } json ? JsonSerializer.Deserialize(json, StepFunctionsRowsJson.Default.StateMachineAliasRow) : null;
        var changed = change(existing, ListVersions(w, account, name), ListAliases(w, account, name).Count);
        w.Put(Aliases, key, JsonSerializer.Serialize(changed, StepFunctionsRowsJson.Default.StateMachineAliasRow));
        return changed;
    });

    public bool DeleteAlias(string account, string name, string alias) => state.Write(w => w.Delete(Aliases, $"{Key(account, name)}/{alias}"));

    /// <summary>A machine's aliases in name order.</summary>
    public List<StateMachineAliasRow> ListAliases(string account, string name) => state.Read(r => ListAliases(r, account, name));

    static List<StateMachineAliasRow> ListAliases(IStateReader r, string account, string name)
        => r.Scan(Aliases, Key(account, name) + "/", null, int.MaxValue)
            .Select(kv => JsonSerializer.Deserialize(kv.Value, StepFunctionsRowsJson.Default.StateMachineAliasRow)!).ToList();

    /// <summary>An account's machines in name order.</summary>
    public List<StateMachineRow> List(string account)
        => state.Read(r => r.Scan(Machines, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    static StateMachineRow Parse(string json) => JsonSerializer.Deserialize(json, StepFunctionsRowsJson.Default.StateMachineRow)!;
}
