using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Services.Events;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>EventBridge's delivery loop on a fake clock, with targets the test controls: the retry
/// policy's two limits, errors that are not retried, and deliveries that outlive the process.</summary>
public sealed class EventsDeliveryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-events-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    string DbPath => Path.Combine(_dir, "state.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Targets that fail, hang or succeed as the test says, and count what they are asked.</summary>
    sealed class Targets : IEventTargets
    {
        public Func<int, Task> Publish { get; set; } = _ => Task.CompletedTask;
        public int Attempts;
        public ConcurrentQueue<string> Delivered { get; } = new();
        public ConcurrentQueue<string> Failed { get; } = new();

        public async Task PublishAsync(string account, string topicArn, string message, CancellationToken ct)
        {
            await Publish(Interlocked.Increment(ref Attempts)).WaitAsync(ct);
            Delivered.Enqueue(message);
        }

        public Task PutLogEventAsync(string account, string logGroupArn, string logStream, DateTimeOffset timestamp, string message, CancellationToken ct)
            => throw new EventTargetUnavailable("ResourceNotFoundException", "no such group");

        public void RecordFailedDelivery(string account, DateTimeOffset at, string record) => Failed.Enqueue(record);
    }

    EventDeliveryRow Row(string target = "arn:aws:sns:us-east-1:000000000000:t", int retries = 185, int age = 86_400) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Account = "000000000000",
        EventId = "e1",
        RuleArn = "arn:aws:events:us-east-1:000000000000:rule/r",
        TargetId = "t",
        TargetArn = target,
        Payload = """{"id": "e1"}""",
        IngestedAt = _clock.GetUtcNow(),
        MaximumRetryAttempts = retries,
        MaximumEventAgeInSeconds = age,
        DueAt = _clock.GetUtcNow(),
    };

    (EventsDeliveryService Service, EventsStore Store, SqliteStateStore State) Start(Targets targets)
    {
        var state = new SqliteStateStore(DbPath);
        var store = new EventsStore(state);
        var events = new EventsService(store, _clock, "us-east-1");
        var service = new EventsDeliveryService(events, store, targets, _clock, NullLogger<EventsDeliveryService>.Instance);
        events.DeliveriesQueued = service.Wake;
        return (service, store, state);
    }

    /// <summary>Moves the clock a minute at a time until the condition holds (the loop's timers
    /// fire as it passes them).</summary>
    async Task Until(Func<bool> condition, int minutes = 200)
    {
        for (var i = 0; i < minutes * 10 && !condition(); i++)
        {
            await Task.Delay(5);
            if (i % 10 == 9) _clock.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.True(condition(), "timed out waiting for the effect");
    }

    [Fact]
    public async Task RetriesUntilMaximumRetryAttemptsThenRecordsTheFailure()
    {
        var targets = new Targets { Publish = _ => throw new IOException("connection refused") };
        var (service, store, state) = Start(targets);
        await service.StartAsync(CancellationToken.None);
        store.QueueDeliveries([Row(retries: 2)]);
        service.Wake();
        await Until(() => !targets.Failed.IsEmpty);
        await service.StopAsync(CancellationToken.None);
        Assert.Equal(3, targets.Attempts);
        Assert.Contains("\"RETRY_ATTEMPTS\":2", targets.Failed.Single());
        Assert.Contains("\"ERROR_CODE\":\"InternalError\"", targets.Failed.Single());
        Assert.Empty(store.NextDeliveries(10));
        state.Dispose();
    }

    [Fact]
    public async Task StopsRetryingWhenTheEventIsTooOld()
    {
        var targets = new Targets { Publish = _ => throw new IOException("connection refused") };
        var (service, store, state) = Start(targets);
        await service.StartAsync(CancellationToken.None);
        store.QueueDeliveries([Row(age: 60)]);
        service.Wake();
        // Backoff doubles from one second: within a minute there is room for a handful of attempts.
        for (var i = 0; i < 2000 && targets.Failed.IsEmpty; i++)
        {
            await Task.Delay(2);
            _clock.Advance(TimeSpan.FromMilliseconds(250));
        }
        await service.StopAsync(CancellationToken.None);
        Assert.Single(targets.Failed);
        Assert.InRange(targets.Attempts, 5, 8);
        Assert.True(_clock.GetUtcNow() < new DateTimeOffset(2026, 12, 1, 8, 2, 0, TimeSpan.Zero), "gave up by the event's age, not by its retries");
        state.Dispose();
    }

    [Fact]
    public async Task AMissingTargetIsNotRetried()
    {
        var targets = new Targets();
        var (service, store, state) = Start(targets);
        await service.StartAsync(CancellationToken.None);
        store.QueueDeliveries([Row(target: "arn:aws:logs:us-east-1:000000000000:log-group:gone")]);
        service.Wake();
        await Until(() => !targets.Failed.IsEmpty);
        await service.StopAsync(CancellationToken.None);
        Assert.Contains("\"ERROR_CODE\":\"ResourceNotFoundException\"", targets.Failed.Single());
        Assert.Contains("\"RETRY_ATTEMPTS\":0", targets.Failed.Single());
        state.Dispose();
    }

    [Fact]
    public async Task APendingDeliveryOutlivesTheProcess()
    {
        // The first process's target never answers; it stops (or dies) with the delivery in flight.
        var hung = new Targets { Publish = _ => Task.Delay(Timeout.Infinite) };
        var (first, store, state) = Start(hung);
        await first.StartAsync(CancellationToken.None);
        store.QueueDeliveries([Row()]);
        first.Wake();
        for (var i = 0; i < 1000 && hung.Attempts == 0; i++) await Task.Delay(5);
        Assert.Equal(1, hung.Attempts);
        await first.StopAsync(CancellationToken.None);
        first.Dispose();
        state.Dispose();

        // A new process on the same database delivers it.
        var healthy = new Targets();
        var (second, store2, state2) = Start(healthy);
        await second.StartAsync(CancellationToken.None);
        await Until(() => !healthy.Delivered.IsEmpty);
        await second.StopAsync(CancellationToken.None);
        Assert.Equal("""{"id": "e1"}""", healthy.Delivered.Single());
        Assert.Empty(store2.NextDeliveries(10));
        state2.Dispose();
    }

    [Fact]
    public void BackoffDoublesUpToTenMinutes()
    {
        Assert.InRange(EventsDeliveryService.Backoff(1).TotalSeconds, 0.75, 1);
        Assert.InRange(EventsDeliveryService.Backoff(5).TotalSeconds, 12, 16);
        Assert.InRange(EventsDeliveryService.Backoff(100).TotalSeconds, 450, 600);
    }
}
