using System.Text.Json;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Models, endpoint configurations and endpoints of each account, and their tags, in the
/// state store (rows: <see cref="ModelRow"/>, <see cref="EndpointConfigRow"/>, <see cref="EndpointRow"/>).</summary>
public sealed class SageMakerStore(IStateStore state)
{
    const string Models = "sm-models";
    const string EndpointConfigs = "sm-endpoint-configs";
    const string Endpoints = "sm-endpoints";
    const string Tags = "sm-tags";

    public List<TagRow> GetTags(string arn)
        => state.Read(r => r.Get(Tags, arn)) is { } json ? JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.ListTagRow)! : [];

    /// <summary>Changes a resource's tags in one transaction; an empty set removes the row.</summary>
    public List<TagRow> UpdateTags(string arn, Func<List<TagRow>, List<TagRow>> change) => state.Write(w =>
    {
        var current = w.Get(Tags, arn) is { } json ? JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.ListTagRow)! : [];
        var updated = change(current);
        if (updated.Count == 0) w.Delete(Tags, arn);
        else w.Put(Tags, arn, JsonSerializer.Serialize(updated, SageMakerRowsJson.Default.ListTagRow));
        return updated;
    });

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
    public bool CreateEndpoint(string account, EndpointRow endpoint) => Create(Endpoints, account, endpoint.EndpointName, JsonSerializer.Serialize(endpoint, SageMakerRowsJson.Default.EndpointRow));

    public bool DeleteModel(string account, string name) => state.Write(w => w.Delete(Models, Key(account, name)));
    public bool DeleteEndpointConfig(string account, string name) => state.Write(w => w.Delete(EndpointConfigs, Key(account, name)));
    public bool DeleteEndpoint(string account, string name) => state.Write(w => w.Delete(Endpoints, Key(account, name)));

    /// <summary>Changes an endpoint's record in one transaction (status, variants); false if it is gone.</summary>
    public bool UpdateEndpoint(string account, string name, Func<EndpointRow, EndpointRow> change) => state.Write(w =>
    {
        if (w.Get(Endpoints, Key(account, name)) is not { } json) return false;
        var updated = change(JsonSerializer.Deserialize(json, SageMakerRowsJson.Default.EndpointRow)!);
        w.Put(Endpoints, Key(account, name), JsonSerializer.Serialize(updated, SageMakerRowsJson.Default.EndpointRow));
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
