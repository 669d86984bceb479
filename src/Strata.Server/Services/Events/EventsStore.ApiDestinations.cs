using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Server.Services.Events;

// Connections and API destinations in the state store. Keys: connections {account}/{name},
// API destinations {account}/{name}. A connection keeps its credentials here (AWS keeps them in
// a Secrets Manager secret); they are read only to make a delivery's request, never answered.

/// <summary>A key and value a connection adds to every request (header, query string or body).</summary>
public sealed record ConnectionParameterRow
{
    public required string Key { get; init; }
    public required string Value { get; init; }
    public bool IsValueSecret { get; init; }
}

public sealed record ConnectionHttpParametersRow
{
    public List<ConnectionParameterRow> HeaderParameters { get; init; } = [];
    public List<ConnectionParameterRow> QueryStringParameters { get; init; } = [];
    public List<ConnectionParameterRow> BodyParameters { get; init; } = [];
}

public sealed record ConnectionRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public string? Description { get; init; }
    /// <summary>API_KEY or BASIC.</summary>
    public required string AuthorizationType { get; init; }
    public required string State { get; init; }
    public string? ApiKeyName { get; init; }
    public string? ApiKeyValue { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    public ConnectionHttpParametersRow? InvocationHttpParameters { get; init; }
    /// <summary>The identifier AWS gives the secret that holds the credentials; Strata has no
    /// Secrets Manager, so it names nothing that can be read.</summary>
    public required string SecretArn { get; init; }
    public long CreationTime { get; init; }
    public long LastModifiedTime { get; init; }
    public long? LastAuthorizedTime { get; init; }
}

public sealed record ApiDestinationRow
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public string? Description { get; init; }
    public required string ConnectionArn { get; init; }
    public required string InvocationEndpoint { get; init; }
    public required string HttpMethod { get; init; }
    public int InvocationRateLimitPerSecond { get; init; }
    public string State { get; init; } = "ACTIVE";
    public long CreationTime { get; init; }
    public long LastModifiedTime { get; init; }
}

/// <summary>A target's HttpParameters, kept with the target for its API destination's requests.</summary>
public sealed record TargetHttpParameters
{
    public List<string>? PathParameterValues { get; init; }
    public Dictionary<string, string>? HeaderParameters { get; init; }
    public Dictionary<string, string>? QueryStringParameters { get; init; }
}

[JsonSerializable(typeof(ConnectionRow))]
[JsonSerializable(typeof(ApiDestinationRow))]
internal sealed partial class ApiDestinationRowsJson : JsonSerializerContext;

public sealed partial class EventsStore
{
    const string Connections = "events-connections", ApiDestinations = "events-api-destinations";

    public ConnectionRow? GetConnection(string account, string name)
        => state.Read(r => r.Get(Connections, BusKey(account, name))) is { } json ? JsonSerializer.Deserialize(json, ApiDestinationRowsJson.Default.ConnectionRow) : null;

    public List<ConnectionRow> ConnectionsOf(string account)
        => state.Read(r => r.Scan(Connections, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, ApiDestinationRowsJson.Default.ConnectionRow)!).ToList();

    /// <summary>Adds a connection; false when one of that name exists.</summary>
    public bool AddConnection(string account, ConnectionRow connection) => state.Write(w =>
    {
        if (w.Get(Connections, BusKey(account, connection.Name)) is not null) return false;
        w.Put(Connections, BusKey(account, connection.Name), JsonSerializer.Serialize(connection, ApiDestinationRowsJson.Default.ConnectionRow));
        return true;
    });

    /// <summary>Changes a connection that exists; null when it does not.</summary>
    public ConnectionRow? UpdateConnection(string account, string name, Func<ConnectionRow, ConnectionRow> change) => state.Write(w =>
    {
        if (w.Get(Connections, BusKey(account, name)) is not { } json) return null;
        var changed = change(JsonSerializer.Deserialize(json, ApiDestinationRowsJson.Default.ConnectionRow)!);
        w.Put(Connections, BusKey(account, name), JsonSerializer.Serialize(changed, ApiDestinationRowsJson.Default.ConnectionRow));
        return changed;
    });

    /// <summary>Deletes a connection no API destination uses, in one transaction: the deleted row,
    /// or null when there was none; <paramref name="usedBy"/> names a destination that still uses it.</summary>
    public ConnectionRow? DeleteConnection(string account, string name, out string? usedBy)
    {
        string? user = null;
        var deleted = state.Write(w =>
        {
            if (w.Get(Connections, BusKey(account, name)) is not { } json) return null;
            var row = JsonSerializer.Deserialize(json, ApiDestinationRowsJson.Default.ConnectionRow)!;
            user = w.Scan(ApiDestinations, account + "/", null, int.MaxValue)
                .Select(kv => JsonSerializer.Deserialize(kv.Value, ApiDestinationRowsJson.Default.ApiDestinationRow)!)
                .FirstOrDefault(d => d.ConnectionArn == row.Arn)?.Name;
            if (user is not null) return row;
            w.Delete(Connections, BusKey(account, name));
            return row;
        });
        usedBy = user;
        return deleted;
    }

    public ApiDestinationRow? GetApiDestination(string account, string name)
        => state.Read(r => r.Get(ApiDestinations, BusKey(account, name))) is { } json ? JsonSerializer.Deserialize(json, ApiDestinationRowsJson.Default.ApiDestinationRow) : null;

    public List<ApiDestinationRow> ApiDestinationsOf(string account)
        => state.Read(r => r.Scan(ApiDestinations, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, ApiDestinationRowsJson.Default.ApiDestinationRow)!).ToList();

    /// <summary>Adds a destination whose connection exists, in one transaction: null when added,
    /// otherwise what was missing ("destination" exists, or "connection" is gone).</summary>
    public string? AddApiDestination(string account, ApiDestinationRow destination, string connectionName) => state.Write(w =>
    {
        if (w.Get(ApiDestinations, BusKey(account, destination.Name)) is not null) return "destination";
        if (w.Get(Connections, BusKey(account, connectionName)) is null) return "connection";
        w.Put(ApiDestinations, BusKey(account, destination.Name), JsonSerializer.Serialize(destination, ApiDestinationRowsJson.Default.ApiDestinationRow));
        return null;
    });

    /// <summary>Changes a destination that exists; null when it does not.</summary>
    public ApiDestinationRow? UpdateApiDestination(string account, string name, Func<ApiDestinationRow, ApiDestinationRow> change) => state.Write(w =>
    {
        if (w.Get(ApiDestinations, BusKey(account, name)) is not { } json) return null;
        var changed = change(JsonSerializer.Deserialize(json, ApiDestinationRowsJson.Default.ApiDestinationRow)!);
        w.Put(ApiDestinations, BusKey(account, name), JsonSerializer.Serialize(changed, ApiDestinationRowsJson.Default.ApiDestinationRow));
        return changed;
    });

    public bool DeleteApiDestination(string account, string name) => state.Write(w => w.Delete(ApiDestinations, BusKey(account, name)));
}
