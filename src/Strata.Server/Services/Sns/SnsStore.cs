using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Services.Sns;

public sealed record SnsTag(string Key, string Value);

/// <summary>A topic: its settable attributes as AWS names them (DisplayName, Policy,
/// DeliveryPolicy, …) and its tags. Counts of subscriptions are computed, never stored.</summary>
public sealed record SnsTopic
{
    public required string TopicArn { get; init; }
    public required string Name { get; init; }
    public required string Owner { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public Dictionary<string, string> Attributes { get; init; } = [];
    public List<SnsTag> Tags { get; init; } = [];
    /// <summary>Subscriptions removed from this topic (GetTopicAttributes' SubscriptionsDeleted).</summary>
    public int SubscriptionsDeleted { get; init; }
}

/// <summary>A subscription. Until it is confirmed it has a confirmation token; AWS gives its
/// ARN out only as "pending confirmation" (unless ReturnSubscriptionArn), and so does Strata.</summary>
public sealed record SnsSubscription
{
    public required string SubscriptionArn { get; init; }
    public required string TopicArn { get; init; }
    public required string Owner { get; init; }
    public required string Protocol { get; init; }
    public required string Endpoint { get; init; }
    public bool PendingConfirmation { get; init; }
    public string? Token { get; init; }
    public DateTimeOffset? TokenExpires { get; init; }
    public bool ConfirmationWasAuthenticated { get; init; }
    public bool AuthenticateOnUnsubscribe { get; init; }
    public Dictionary<string, string> Attributes { get; init; } = [];
}

/// <summary>One message on its way to one endpoint: what is sent (already rendered and signed at
/// publish time, as AWS does), where, and when the next attempt is due. Written in the same
/// transaction as the Publish that made it, deleted when delivered or given up.</summary>
public sealed record SnsDelivery
{
    public required string Id { get; init; }
    public required string Protocol { get; init; }
    public required string Endpoint { get; init; }
    public required string MessageType { get; init; }
    public required string MessageId { get; init; }
    public required string TopicArn { get; init; }
    public string? SubscriptionArn { get; init; }
    public required string Body { get; init; }
    /// <summary>For email: the subject line; for raw http: whether the body is the bare message.</summary>
    public string? Subject { get; init; }
    public bool Raw { get; init; }
    /// <summary>The subscription's (or topic's) delivery policy in force when it was published.</summary>
    public string? DeliveryPolicy { get; init; }
    public int Attempts { get; init; }
    public required DateTimeOffset DueAt { get; init; }
}

[JsonSerializable(typeof(SnsTopic))]
[JsonSerializable(typeof(SnsSubscription))]
[JsonSerializable(typeof(SnsDelivery))]
internal sealed partial class SnsStoreJson : JsonSerializerContext;

/// <summary>
/// SNS's state: topics by ARN, subscriptions by ARN, and the durable queue of deliveries, keyed
/// by due time so the deliverer reads the next ones due with one ordered scan.
/// </summary>
public sealed class SnsStore(IStateStore state)
{
    const string Topics = "sns-topics";
    const string Subscriptions = "sns-subscriptions";
    const string Deliveries = "sns-deliveries";
    /// <summary>HTTP/S subscriptions just removed: their UnsubscribeConfirmation's SubscribeURL
    /// restores them while its token is valid.</summary>
    const string Unsubscribed = "sns-unsubscribed";

    public IStateStore State => state;

    public SnsTopic? GetTopic(string arn) => state.Read(r => GetTopic(r, arn));

    public static SnsTopic? GetTopic(IStateReader r, string arn)
        => r.Get(Topics, arn) is { } json ? JsonSerializer.Deserialize(json, SnsStoreJson.Default.SnsTopic) : null;

    public static void PutTopic(IStateWriter w, SnsTopic topic)
        => w.Put(Topics, topic.TopicArn, JsonSerializer.Serialize(topic, SnsStoreJson.Default.SnsTopic));

    public static void DeleteTopic(IStateWriter w, string arn) => w.Delete(Topics, arn);

    /// <summary>Topics whose ARN starts with <paramref name="prefix"/> (one account's and region's), after <paramref name="startAfter"/>.</summary>
    public List<SnsTopic> ListTopics(string prefix, string? startAfter, int limit)
        => state.Read(r => r.Scan(Topics, prefix, startAfter, limit)).Select(kv => JsonSerializer.Deserialize(kv.Value, SnsStoreJson.Default.SnsTopic)!).ToList();

    public SnsSubscription? GetSubscription(string arn) => state.Read(r => GetSubscription(r, arn));

    public static SnsSubscription? GetSubscription(IStateReader r, string arn)
        => r.Get(Subscriptions, arn) is { } json ? JsonSerializer.Deserialize(json, SnsStoreJson.Default.SnsSubscription) : null;

    public static void PutSubscription(IStateWriter w, SnsSubscription s)
        => w.Put(Subscriptions, s.SubscriptionArn, JsonSerializer.Serialize(s, SnsStoreJson.Default.SnsSubscription));

    public static bool DeleteSubscription(IStateWriter w, string arn) => w.Delete(Subscriptions, arn);

    /// <summary>A topic's subscriptions: their ARNs start with the topic's ARN and a colon.</summary>
    public static List<SnsSubscription> SubscriptionsOf(IStateReader r, string topicArn, string? startAfter = null, int limit = int.MaxValue)
        => r.Scan(Subscriptions, topicArn + ":", startAfter, limit).Select(kv => JsonSerializer.Deserialize(kv.Value, SnsStoreJson.Default.SnsSubscription)!).ToList();

    public List<SnsSubscription> ListSubscriptions(string prefix, string? startAfter, int limit)
        => state.Read(r => r.Scan(Subscriptions, prefix, startAfter, limit)).Select(kv => JsonSerializer.Deserialize(kv.Value, SnsStoreJson.Default.SnsSubscription)!).ToList();

    public static void PutUnsubscribed(IStateWriter w, SnsSubscription s)
        => w.Put(Unsubscribed, s.SubscriptionArn, JsonSerializer.Serialize(s, SnsStoreJson.Default.SnsSubscription));

    public static bool DeleteUnsubscribed(IStateWriter w, string arn) => w.Delete(Unsubscribed, arn);

    public static List<SnsSubscription> UnsubscribedOf(IStateReader r, string topicArn)
        => r.Scan(Unsubscribed, topicArn + ":", null, int.MaxValue).Select(kv => JsonSerializer.Deserialize(kv.Value, SnsStoreJson.Default.SnsSubscription)!).ToList();

    static string DeliveryKey(SnsDelivery d) => $"{d.DueAt.ToUnixTimeMilliseconds():D15}/{d.Id}";

    public static void PutDelivery(IStateWriter w, SnsDelivery d)
        => w.Put(Deliveries, DeliveryKey(d), JsonSerializer.Serialize(d, SnsStoreJson.Default.SnsDelivery));

    /// <summary>The next <paramref name="limit"/> deliveries by due time (due or not).</summary>
    public List<SnsDelivery> NextDeliveries(int limit)
        => state.Read(r => r.Scan(Deliveries, "", null, limit)).Select(kv => JsonSerializer.Deserialize(kv.Value, SnsStoreJson.Default.SnsDelivery)!).ToList();

    /// <summary>Replaces a delivery by its next attempt (or removes it when <paramref name="next"/> is null).</summary>
    public void Reschedule(SnsDelivery current, SnsDelivery? next) => state.Write(w =>
    {
        w.Delete(Deliveries, DeliveryKey(current));
        if (next is not null) PutDelivery(w, next);
        return 0;
    });
}
