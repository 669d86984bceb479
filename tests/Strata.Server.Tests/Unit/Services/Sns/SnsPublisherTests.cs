using Strata.Server.Services.Sns;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>The API other services publish with (CloudWatch alarm actions): the same checks and
/// queue as the Publish operation.</summary>
public sealed class SnsPublisherTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-sns-").FullName;
    readonly SqliteStateStore _state;
    readonly SnsStore _store;
    readonly SnsPublisher _publisher;
    int _wakes;

    public SnsPublisherTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new SnsStore(_state);
        var sns = new SnsService(new SnsEnvironment(_store, SnsSigning.Load(_dir), TimeProvider.System, "us-east-1", "http://127.0.0.1:9600",
            _ => throw new NotSupportedException(), () => _wakes++, EmailEnabled: false));
        _publisher = new SnsPublisher(sns);
    }

    [Fact]
    public async Task UnknownTopicIsATypedError()
    {
        var e = await Assert.ThrowsAsync<TopicNotFound>(() => _publisher.PublishAsync("arn:aws:sns:us-east-1:123456789012:none", null, "m", default));
        Assert.Equal("arn:aws:sns:us-east-1:123456789012:none", e.TopicArn);
        Assert.Equal("NotFound", SnsErrorTable.Errors.TryMap(e)!.Code);
    }

    [Fact]
    public async Task PublishingQueuesOneDeliveryPerConfirmedSubscription()
    {
        const string arn = "arn:aws:sns:us-east-1:123456789012:alarms";
        _state.Write(w =>
        {
            SnsStore.PutTopic(w, new SnsTopic { TopicArn = arn, Name = "alarms", Owner = "123456789012", CreatedAt = DateTimeOffset.UnixEpoch });
            SnsStore.PutSubscription(w, new SnsSubscription { SubscriptionArn = arn + ":1", TopicArn = arn, Owner = "123456789012", Protocol = "http", Endpoint = "http://127.0.0.1:1/" });
            SnsStore.PutSubscription(w, new SnsSubscription { SubscriptionArn = arn + ":2", TopicArn = arn, Owner = "123456789012", Protocol = "http", Endpoint = "http://127.0.0.1:2/", PendingConfirmation = true });
            return 0;
        });
        var id = await _publisher.PublishAsync(arn, "ALARM: \"cpu\" in US East", "{\"AlarmName\":\"cpu\"}", default);
        var queued = Assert.Single(_store.NextDeliveries(10));
        Assert.Equal(id, queued.MessageId);
        Assert.Equal("http://127.0.0.1:1/", queued.Endpoint);
        Assert.Contains("\"Subject\":\"ALARM: \\\"cpu\\\" in US East\"", queued.Body);
        Assert.Equal(1, _wakes);
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
