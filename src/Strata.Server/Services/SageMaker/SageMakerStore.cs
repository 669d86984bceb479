using System.Text.Json;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Models, endpoint configurations and endpoints of each account, in the state store.</summary>
public sealed class SageMakerStore(IStateStore state)
{
    const string Models = "sm-models";
    const string EndpointConfigs = "sm-endpoint-configs";
    const string Endpoints = "sm-endpoints";
    const string Tags = "sm-tags";

    public List<Tag> GetTags(string arn)
        => state.Read(r => r.Get(Tags, arn)) is { } json ? JsonSerializer.Deserialize(json, SageMakerJson.Default.ListTag)! : [];

    /// <summary>Changes a resource's tags in one transaction; an empty set removes the row.</summary>
    public List<Tag> UpdateTags(string arn, Func<List<Tag>, List<Tag>> change) => state.Write(w =>
    {
        var current = w.Get(Tags, arn) is { } json ? JsonSerializer.Deserialize(json, SageMakerJson.Default.ListTag)! : [];
        var updated = change(current);
        if (updated.Count == 0) w.Delete(Tags, arn);
        else w.Put(Tags, arn, JsonSerializer.Serialize(updated, SageMakerJson.Default.ListTag));
        return updated;
    });

    static string Key(string account, string name) => account + "/" + name;

    public ModelRecord? GetModel(string account, string name) => Get(Models, account, name, SageMakerJson.Default.ModelRecord);
    public EndpointConfigRecord? GetEndpointConfig(string account, string name) => Get(EndpointConfigs, account, name, SageMakerJson.Default.EndpointConfigRecord);
    public EndpointRecord? GetEndpoint(string account, string name) => Get(Endpoints, account, name, SageMakerJson.Default.EndpointRecord);

    public List<ModelRecord> ListModels(string account) => List(Models, account, SageMakerJson.Default.ModelRecord);
    public List<EndpointConfigRecord> ListEndpointConfigs(string account) => List(EndpointConfigs, account, SageMakerJson.Default.EndpointConfigRecord);
    public List<EndpointRecord> ListEndpoints(string account) => List(Endpoints, account, SageMakerJson.Default.EndpointRecord);

    /// <summary>Every endpoint of every account (to bring them back after a restart).</summary>
    public List<(string Account, EndpointRecord Endpoint)> AllEndpoints()
        => state.Read(r => r.Scan(Endpoints, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, SageMakerJson.Default.EndpointRecord)!)).ToList();

    /// <summary>Inserts a record; false if one of that name exists.</summary>
    public bool CreateModel(string account, ModelRecord model) => Create(Models, account, model.ModelName, JsonSerializer.Serialize(model, SageMakerJson.Default.ModelRecord));
    public bool CreateEndpointConfig(string account, EndpointConfigRecord config) => Create(EndpointConfigs, account, config.EndpointConfigName, JsonSerializer.Serialize(config, SageMakerJson.Default.EndpointConfigRecord));
    public bool CreateEndpoint(string account, EndpointRecord endpoint) => Create(Endpoints, account, endpoint.EndpointName, JsonSerializer.Serialize(endpoint, SageMakerJson.Default.EndpointRecord));

    public bool DeleteModel(string account, string name) => state.Write(w => w.Delete(Models, Key(account, name)));
    public bool DeleteEndpointConfig(string account, string name) => state.Write(w => w.Delete(EndpointConfigs, Key(account, name)));
    public bool DeleteEndpoint(string account, string name) => state.Write(w => w.Delete(Endpoints, Key(account, name)));

    /// <summary>Changes an endpoint's record in one transaction (status, variants); false if it is gone.</summary>
    public bool UpdateEndpoint(string account, string name, Func<EndpointRecord, EndpointRecord> change) => state.Write(w =>
    {
        if (w.Get(Endpoints, Key(account, name)) is not { } json) return false;
        var updated = change(JsonSerializer.Deserialize(json, SageMakerJson.Default.EndpointRecord)!);
        w.Put(Endpoints, Key(account, name), JsonSerializer.Serialize(updated, SageMakerJson.Default.EndpointRecord));
        return true;
    });

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
