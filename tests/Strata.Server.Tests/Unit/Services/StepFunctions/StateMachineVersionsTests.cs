using Strata.Server.Services.StepFunctions;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>Alias routing (validation and the draw) and versions as immutable, durable snapshots.</summary>
public sealed class StateMachineVersionsTests : IDisposable
{
    const string Account = "123456789012", Region = "us-east-1";
    const string Machine = $"arn:aws:states:{Region}:{Account}:stateMachine:flow";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-sfn-versions-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static RoutingConfigurationListItem To(string arn, int weight) => new() { StateMachineVersionArn = arn, Weight = weight };

    [Fact]
    public void RoutingOfOneOrTwoVersionsSummingTo100()
    {
        var (machine, routes) = StepFunctionsService.Routing([To($"{Machine}:1", 90), To($"{Machine}:2", 10)], Account, Region);
        Assert.Equal("flow", machine);
        Assert.Equal([new AliasRoute(1, 90), new AliasRoute(2, 10)], routes);
        Assert.Equal([new AliasRoute(3, 100)], StepFunctionsService.Routing([To($"{Machine}:3", 100)], Account, Region).Routes);
    }

    [Theory]
    [InlineData(60, 30, "Sum of routing configuration weights must be equal to 100.")]
    [InlineData(60, 50, "Sum of routing configuration weights must be equal to 100.")]
    public void RoutingWeightsMustSumTo100(int first, int second, string message)
    {
        var e = Assert.Throws<StatesValidation>(() => StepFunctionsService.Routing([To($"{Machine}:1", first), To($"{Machine}:2", second)], Account, Region));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void RoutingRefusesTheSameVersionTwiceAndVersionsOfTwoMachines()
    {
        Assert.Contains("distinct", Assert.Throws<StatesValidation>(() =>
            StepFunctionsService.Routing([To($"{Machine}:1", 50), To($"{Machine}:1", 50)], Account, Region)).Message);
        Assert.Contains("same state machine", Assert.Throws<StatesValidation>(() =>
            StepFunctionsService.Routing([To($"{Machine}:1", 50), To($"{Machine}-other:1", 50)], Account, Region)).Message);
    }

    [Theory]
    [InlineData(Machine)]
    [InlineData($"{Machine}:live")]
    [InlineData($"{Machine}:0")]
    [InlineData($"{Machine}:01")]
    [InlineData($"arn:aws:states:{Region}:{Account}:activity:flow:1")]
    public void RoutingTakesOnlyVersionArns(string arn)
        => Assert.Throws<BadArn>(() => StepFunctionsService.Routing([To(arn, 100)], Account, Region));

    [Fact]
    public void RoutingToAnotherAccountNamesNothing()
        => Assert.Throws<StatesResourceNotFound>(() => StepFunctionsService.Routing([To($"arn:aws:states:{Region}:999999999999:stateMachine:flow:1", 100)], Account, Region));

    [Fact]
    public void EachVersionTakesAsManyRollsAsItsWeight()
    {
        AliasRoute[] routing = [new(1, 90), new(2, 10)];
        var counts = Enumerable.Range(0, 100).GroupBy(roll => StepFunctionsService.Route(routing, roll)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(90, counts[1]);
        Assert.Equal(10, counts[2]);
        AliasRoute[] onlySecond = [new(1, 0), new(2, 100)];
        Assert.All(Enumerable.Range(0, 100), roll => Assert.Equal(2, StepFunctionsService.Route(onlySecond, roll)));
    }

    static StateMachineRow Row(string definition) => new()
    {
        Name = "flow",
        Arn = Machine,
        Definition = definition,
        RoleArn = $"arn:aws:iam::{Account}:role/states",
        Type = "STANDARD",
        CreationDate = DateTimeOffset.UnixEpoch,
        RevisionId = Guid.NewGuid().ToString(),
    };

    [Fact]
    public void AVersionIsASnapshotThatOutlivesChangesAndRestarts()
    {
        var path = Path.Combine(_dir, "state.db");
        using (var state = new SqliteStateStore(path))
        {
            var store = new StepFunctionsStore(state);
            store.Add(Account, Row("""{"v":1}"""));
            var (v1, created) = store.Publish(Account, "flow", "first", DateTimeOffset.UnixEpoch, _ => { })!.Value;
            Assert.True(created);
            Assert.Equal($"{Machine}:1", v1.Arn);
            // The same revision again: the version there, not a new one.
            var (again, createdAgain) = store.Publish(Account, "flow", null, DateTimeOffset.UnixEpoch, _ => { })!.Value;
            Assert.False(createdAgain);
            Assert.Equal(v1, again);
            store.Update(Account, "flow", m => m with { Definition = """{"v":2}""", RoleArn = "other", RevisionId = Guid.NewGuid().ToString() });
            Assert.Equal(2, store.Publish(Account, "flow", null, DateTimeOffset.UnixEpoch, _ => { })!.Value.Version.Version);
        }
        using (var reopened = new SqliteStateStore(path))
        {
            var store = new StepFunctionsStore(reopened);
            var v1 = store.GetVersion(Account, "flow", 1)!;
            Assert.Equal(("""{"v":1}""", $"arn:aws:iam::{Account}:role/states", "first"), (v1.Definition, v1.RoleArn, v1.Description));
            Assert.Equal("""{"v":2}""", store.GetVersion(Account, "flow", 2)!.Definition);
            // Numbers are never reused: after deleting 2, the next is 3.
            Assert.Empty(store.DeleteVersion(Account, "flow", 2));
            store.Update(Account, "flow", m => m with { Definition = """{"v":3}""", RevisionId = Guid.NewGuid().ToString() });
            Assert.Equal(3, store.Publish(Account, "flow", null, DateTimeOffset.UnixEpoch, _ => { })!.Value.Version.Version);
        }
    }

    [Fact]
    public void AVersionAnAliasRoutesToIsNotDeleted()
    {
        using var state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        var store = new StepFunctionsStore(state);
        store.Add(Account, Row("{}"));
        store.Publish(Account, "flow", null, DateTimeOffset.UnixEpoch, _ => { });
        store.PutAlias(Account, "flow", "live", (_, _, _) => new StateMachineAliasRow
        {
            Name = "live",
            Arn = $"{Machine}:live",
            Routing = [new AliasRoute(1, 100)],
            CreationDate = DateTimeOffset.UnixEpoch,
        });
        Assert.Equal([$"{Machine}:live"], store.DeleteVersion(Account, "flow", 1));
        Assert.NotNull(store.GetVersion(Account, "flow", 1));
        // Deleting the machine takes its versions and aliases with it.
        store.Delete(Account, "flow");
        Assert.Null(store.GetVersion(Account, "flow", 1));
        Assert.Null(store.GetAlias(Account, "flow", "live"));
    }
}
