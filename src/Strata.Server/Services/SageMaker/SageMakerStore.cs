using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Models, endpoint configurations and endpoints of each account, and their tags, in the
/// state store (rows: <see cref="ModelRow"/>, <see cref="EndpointConfigRow"/>, <see cref="EndpointRow"/>).
/// Every write of an endpoint row passes through here, whoever makes it (the API, hosting's
/// reports, the scaler), so this is where a change of its status becomes AWS's "SageMaker Endpoint
/// State Change" event, once per change.</summary>
public sealed class SageMakerStore(IStateStore state)
{
    const string Models = "sm-models";
    const string EndpointConfigs = "sm-endpoint-configs";
    const string Endpoints = "sm-endpoints";
    const string Tags = "sm-tags";

    /// <summary>Where endpoint state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    public List<TagRow> GetTags(string arn) => state.Read(r => ReadTags(r, arn));

    /// <summary>Changes a resource's tags in one transaction; an empty set removes the row.</summary>
    public List<TagRow> UpdateTags(string arn, Func<List<TagRow>, List<TagRow>> change) => state.Write(w =>
    {
        var updated = change(ReadTags(w, arn));
        WriteTags(w, arn, updated);
        return updated;
    });

    // The tags of every SageMaker resource live in one table; the transform jobs' store reads and
    // writes them too, in its own transactions.
    internal static List<TagRow> ReadTags(IStateReader r, string arn)
        => r.Get(Tags, arn) is { } json ? JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.ListTagRow)! : [];

    internal static void WriteTags(IStateWriter w, string arn, List<TagRow> tags)
    {
        if (tags.Count == 0) w.Delete(Tags, arn);
        else w.Put(Tags, arn, JsonSerializer.Serialize(tags, SageMakerRowsJson.Default.ListTagRow));
    }

    static string Key(string account, string name) => account + "/" + name;

    public ModelRow? GetModel(string account, string name) => Get(Models, account, name, SageMakerRowsJson.Default.ModelRow);
    public EndpointConfigRow? GetEndpointConfig(string account, string name) => Get(EndpointConfigs, account, name, SageMakerRowsJson.Default.EndpointConfigRow);
    public EndpointRow? GetEndpoint(string account, string name) => Get(Endpoints, account, name, SageMakerRowsJson.Default.EndpointRow);

    public List<ModelRow> ListModels(string account) => List(Models, account, SageMakerRowsJson.Default.ModelRow);
    public List<EndpointConfigRow> ListEndpointConfigs(string account) => List(EndpointConfigs, account, SageMakerRowsJson.Default.EndpointConfigRow);
    public List<EndpointRow> ListEndpoints(string account) => List(Endpoints, account, SageMakerRowsJson.Default.EndpointRow);

    /// <summary>Every endpoint of every account (to bring them back after a restart).</summary>
    public List<(string Account, EndpointRow Endpoint)> AllEndpoints()
        => state.Read(r => r.Scan(Endpoints, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, SageMakerRowsJson.Default.EndpointRow)!)).ToList();

    /// <summary>Inserts a record; false if one of that name exists.</summary>
    public bool CreateModel(string account, ModelRow model) => Create(Models, account, model.ModelName, JsonSerializer.Serialize(model, SageMakerRowsJson.Default.ModelRow));
    public bool CreateEndpointConfig(string account, EndpointConfigRow config) => Create(EndpointConfigs, account, config.EndpointConfigName, JsonSerializer.Serialize(config, SageMakerRowsJson.Default.EndpointConfigRow));

    public bool DeleteModel(string account, string name) => state.Write(w => w.Delete(Models, Key(account, name)));
    public bool DeleteEndpointConfig(string account, string name) => state.Write(w => w.Delete(EndpointConfigs, Key(account, name)));

    /// <summary>Inserts an endpoint with its tags (so that the event of its creation carries
    /// them); false if one of that name exists.</summary>
    public bool CreateEndpoint(string account, EndpointRow endpoint, List<TagRow>? tags = null)
    {
        var created = state.Write<List<TagRow>?>(w =>
        {
            if (w.Get(Endpoints, Key(account, endpoint.EndpointName)) is not null) return null;
            w.Put(Endpoints, Key(account, endpoint.EndpointName), JsonSerializer.Serialize(endpoint, SageMakerRowsJson.Default.EndpointRow));
            if (tags is { Count: > 0 }) WriteTags(w, endpoint.EndpointArn, tags);
            return ReadTags(w, endpoint.EndpointArn);
        });
        if (created is null) return false;
        PutStateChange(account, endpoint, created, endpoint.LastModifiedTime);
        return true;
    }

    /// <summary>Deletes an endpoint and its tags at <paramref name="at"/>; false if there was none.
    /// Its last event says DELETING, as AWS's last one for an endpoint does.</summary>
    public bool DeleteEndpoint(string account, string name, DateTimeOffset at)
    {
        var deleted = state.Write<(EndpointRow? Endpoint, List<TagRow> Tags)>(w =>
        {
            if (w.Get(Endpoints, Key(account, name)) is not { } json) return default;
            var endpoint = JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.EndpointRow)!;
            var tags = ReadTags(w, endpoint.EndpointArn);
            w.Delete(Endpoints, Key(account, name));
            WriteTags(w, endpoint.EndpointArn, []);
            return (Endpoint: endpoint, Tags: tags);
        });
        if (deleted.Endpoint is null) return false;
        PutStateChange(account, deleted.Endpoint with { EndpointStatus = "Deleting", LastModifiedTime = at }, deleted.Tags, at);
        return true;
    }

    /// <summary>Changes an endpoint's record in one transaction (status, variants); false if it is
    /// gone. A change of status is put as an event once the change is committed.</summary>
    public bool UpdateEndpoint(string account, string name, Func<EndpointRow, EndpointRow> change)
    {
        var changed = state.Write<(bool Found, EndpointRow? Endpoint, List<TagRow>? Tags)>(w =>
        {
            if (w.Get(Endpoints, Key(account, name)) is not { } json) return default;
            var before = JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.EndpointRow)!;
            var after = change(before);
            w.Put(Endpoints, Key(account, name), JsonSerializer.Serialize(after, SageMakerRowsJson.Default.EndpointRow));
            var moved = before.EndpointStatus != after.EndpointStatus;
            return (Found: true, Endpoint: moved ? after : null, Tags: moved ? ReadTags(w, after.EndpointArn) : null);
        });
        if (changed.Endpoint is { } endpoint) PutStateChange(account, endpoint, changed.Tags!, endpoint.LastModifiedTime);
        return changed.Found;
    }

    void PutStateChange(string account, EndpointRow endpoint, List<TagRow> tags, DateTimeOffset time)
        => Events.Put(SageMakerEvents.EndpointStateChange(account, endpoint, GetEndpointConfig(account, endpoint.EndpointConfigName), tags, time));

    T? Get<T>(string table, string account, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        => state.Read(r => r.Get(table, Key(account, name))) is { } json ? JsonSerializer.Deserialize(json, type) : default;

    List<T> List<T>(string table, string account, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        => state.Read(r => r.Scan(table, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, type)!).ToList();

    bool Create(string table, string account, string name, string json) => state.Write(w =>
    {
        if (w.Get(table, Key(account, name)) is not null) return false;
        w.Put(table, Key(account, name), json);
        return true;
    });
}
