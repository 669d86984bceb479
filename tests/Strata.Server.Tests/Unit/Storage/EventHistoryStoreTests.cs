using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>CloudTrail's event history store and `strata audit`'s table over it.</summary>
public sealed class EventHistoryStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-history-").FullName;
    readonly DateTimeOffset _t0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    AuditRecord Record(int i, string user, string name, string? error = null, string account = "111111111111") => new()
    {
        Account = account,
        EventId = $"e{i}",
        EventTime = _t0.AddSeconds(i),
        EventSource = "sagemaker.amazonaws.com",
        EventName = name,
        ReadOnly = name.StartsWith("Describe", StringComparison.Ordinal),
        ManagementEvent = true,
        Username = user,
        AccessKeyId = $"AKIA{user.ToUpperInvariant()}",
        Resources = [new AuditResource("AWS::SageMaker::Endpoint", $"ep{i % 2}")],
        Json = error is null ? $$"""{"eventID":"e{{i}}"}""" : $$"""{"eventID":"e{{i}}","errorCode":"{{error}}"}""",
    };

    EventHistoryStore Filled()
    {
        var store = new EventHistoryStore(Path.Combine(_dir, "cloudtrail.db"));
        store.Append([Record(1, "alice", "CreateEndpoint"), Record(2, "bob", "DescribeEndpoint", "AccessDeniedException"), Record(3, "alice", "DescribeEndpoint"),
            Record(4, "alice", "DeleteEndpoint"), Record(5, "carol", "CreateEndpoint", account: "222222222222")]);
        return store;
    }

    [Fact]
    public void LookupFiltersByEachAttributeNewestFirst()
    {
        using var store = Filled();
        List<string> Ids((string, string)? filter) => store.Lookup("111111111111", filter, _t0, _t0.AddHours(1), null, 50).Select(e => e.EventId).ToList();
        Assert.Equal(["e4", "e3", "e2", "e1"], Ids(null));
        Assert.Equal(["e4", "e3", "e1"], Ids(("Username", "alice")));
        Assert.Equal(["e3", "e2"], Ids(("EventName", "DescribeEndpoint")));
        Assert.Equal(["e3", "e2"], Ids(("ReadOnly", "true")));
        Assert.Equal(["e2"], Ids(("AccessKeyId", "AKIABOB")));
        Assert.Equal(["e3", "e1"], Ids(("ResourceName", "ep1")));
        Assert.Equal(["e4", "e3", "e2", "e1"], Ids(("ResourceType", "AWS::SageMaker::Endpoint")));
        Assert.Equal(["e2"], Ids(("EventId", "e2")));
        Assert.Empty(Ids(("Username", "carol")));
    }

    [Fact]
    public void PagesGoOnFromTheLastEventAndRecordsComeBackWhole()
    {
        using var store = Filled();
        var first = store.Lookup("111111111111", null, _t0, _t0.AddHours(1), null, 3);
        var rest = store.Lookup("111111111111", null, _t0, _t0.AddHours(1), (first[^1].EventTime.ToUnixTimeMilliseconds(), first[^1].Seq), 3);
        Assert.Equal(["e1"], rest.Select(e => e.EventId));
        Assert.Equal("""{"eventID":"e2","errorCode":"AccessDeniedException"}""", first[2].Json);
        Assert.Equal([new AuditResource("AWS::SageMaker::Endpoint", "ep0")], first[2].Resources);
    }

    [Fact]
    public void TrimDropsOldEventsAndTheOldestBeyondTheBound()
    {
        using var store = Filled();
        store.Trim(_t0.AddSeconds(2), maxEvents: 2);
        Assert.Equal(["e4"], store.Lookup("111111111111", null, _t0, _t0.AddHours(1), null, 50).Select(e => e.EventId));
    }

    [Fact]
    public void AuditTableShowsTheLatestCallsFiltered()
    {
        using var store = Filled();
        var now = _t0.AddMinutes(5);
        Assert.Equal(["DeleteEndpoint", "DescribeEndpoint"], Audit.Rows(store, "111111111111", 2, null, null, false, now).Select(r => r.Event));
        var refused = Audit.Rows(store, "111111111111", 20, null, null, true, now);
        Assert.Equal([("bob", "DescribeEndpoint", "AccessDeniedException")], refused.Select(r => (r.User, r.Event, r.Result)));
        Assert.Equal(["e3"], Audit.Rows(store, "111111111111", 20, "alice", "DescribeEndpoint", false, now).Select(r => r.Time == _t0.AddSeconds(3) ? "e3" : "?"));
        var output = new StringWriter();
        Audit.Print(Audit.Rows(store, "111111111111", 20, "alice", null, false, now), output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("TIME (UTC)", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.Contains("2026-12-01 08:00:04  alice  DeleteEndpoint", lines[1]);
        Assert.Contains("sagemaker  OK", lines[1]);
    }
}
