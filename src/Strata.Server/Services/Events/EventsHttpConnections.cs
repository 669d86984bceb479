using Strata.Server.Jobs.StepFunctions;

namespace Strata.Server.Services.Events;

/// <summary>EventBridge's connections as Step Functions' HTTP Tasks use them: the credentials become
/// the same header an API destination sends, and the invocation parameters come along.</summary>
public sealed class EventsHttpConnections(EventsStore store, string region) : IHttpConnections
{
    public HttpConnection? Find(string account, string connectionArn)
    {
        var prefix = $"arn:aws:events:{region}:{account}:connection/";
        if (!connectionArn.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var name = connectionArn[prefix.Length..].Split('/')[0];
        if (store.GetConnection(account, name) is not { } c || c.Arn != connectionArn) return null;
        var parameters = c.InvocationHttpParameters;
        static List<KeyValuePair<string, string>> Pairs(IEnumerable<ConnectionParameterRow>? rows) => [.. (rows ?? []).Select(r => KeyValuePair.Create(r.Key, r.Value))];
        return new HttpConnection(c.State, [.. Pairs(parameters?.HeaderParameters), .. ApiDestinationRequest.AuthorizationHeaders(c)],
            Pairs(parameters?.QueryStringParameters), Pairs(parameters?.BodyParameters));
    }
}
