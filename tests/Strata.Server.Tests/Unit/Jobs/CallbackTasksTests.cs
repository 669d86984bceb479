using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>The rows tasks waiting for their tokens keep: an execution's go when it ends, no other's.</summary>
public sealed class CallbackTasksTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-callbacks-").FullName;
    readonly SqliteStateStore _state;
    readonly CallbackTasks _callbacks;

    public CallbackTasksTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _callbacks = new CallbackTasks(_state, new ExecutionStore(_state), TimeProvider.System);
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    static TaskTokenRow Row(string execution, int i) => new()
    {
        Token = $"{execution}-{i}".PadRight(128, 'x'),
        Account = "111111111111",
        ExecutionArn = $"arn:aws:states:us-east-1:111111111111:execution:m:{execution}",
        StateMachineName = "m",
        ExecutionName = execution,
        Status = "STARTED",
        Created = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void AnEndedExecutionsTokensAreDeletedAndNoOtherExecutions()
    {
        // More than a page of them; "e1" is also the start of "e10"'s ARN, which must stay.
        var ended = Enumerable.Range(0, 1203).Select(i => _callbacks.Register(Row("e1", i))).ToList();
        var other = _callbacks.Register(Row("e10", 0));
        _callbacks.Forget(ended[0].ExecutionArn);
        Assert.All(ended, row => Assert.Null(_callbacks.Get(row.Token)));
        Assert.NotNull(_callbacks.Get(other.Token));
        _callbacks.Forget(ended[0].ExecutionArn); // nothing left: nothing to do
        _callbacks.Forget(other.ExecutionArn);
        Assert.Null(_callbacks.Get(other.Token));
    }
}
