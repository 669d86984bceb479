using System.Text.Json.Nodes;
using Strata.States.Definition;
using Strata.States.Intrinsics;
using Strata.States.JsonPath;

namespace Strata.States.Engine;

/// <summary>The variables a frame sees: its own, then those of the frames around it (a Parallel branch or
/// a Map iteration reads the outer ones; what it assigns stays in its own scope).</summary>
internal sealed class Variables(Variables? parent)
{
    private readonly Dictionary<string, JsonNode?> _own = new(StringComparer.Ordinal);

    public bool TryGet(string name, out JsonNode? value)
    {
        // Each read is its own copy: concurrent Map iterations and Parallel branches read the same
        // outer values, and a node can be placed in only one output.
        for (var s = this; s is not null; s = s.Parent)
            if (s._own.TryGetValue(name, out value))
            {
                value = value?.DeepClone();
                return true;
            }
        value = null;
        return false;
    }

    public Variables? Parent => parent;

    public void Set(string name, JsonNode? value) => _own[name] = value;

    public void CopyTo(Dictionary<string, JsonNode?> into)
    {
        Parent?.CopyTo(into);
        foreach (var kv in _own) into[kv.Key] = kv.Value;
    }
}

/// <summary>One run of states in order: the top level, a Parallel branch or a Map iteration. Its path
/// makes the journal keys of what runs in it; <see cref="Last"/> is the id of its latest event.</summary>
internal sealed class Frame(string path, long last, Variables variables)
{
    public string Path { get; } = path;
    public long Last { get; set; } = last;
    public Variables Variables { get; } = variables;
    public int Step { get; set; }
}

/// <summary>Everything one state's evaluation reads: what <c>$</c> is now, the context object, variables,
/// and the recorded values (MathRandom, UUID).</summary>
internal sealed class StateContext(Execution execution, StateModel state, Frame frame, string key, HistoryEvent entered,
    CancellationToken cancellationToken) : IPathResolver
{
    private int _once;
    private JsonObject? _context;

    public Execution Execution { get; } = execution;
    public StateModel State { get; } = state;
    public Frame Frame { get; } = frame;
    public string Key { get; } = key;
    public HistoryEvent Entered { get; } = entered;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>What <c>$</c> selects from: the raw input, the effective input or the result, as the step goes.</summary>
    public JsonNode? Dollar { get; set; }

    public int RetryCount { get => field; set { field = value; _context = null; } }
    public string? TaskToken { get => field; set { field = value; _context = null; } }
    public JsonObject? MapItem { get => field; set { field = value; _context = null; } }

    public bool TryResolve(JsonPathExpression path, out JsonNode? value)
    {
        JsonNode? root;
        switch (path.Root)
        {
            case PathRoot.Context:
                root = Context();
                break;
            case PathRoot.Variable:
                if (!Frame.Variables.TryGet(path.Variable!, out root))
                {
                    value = null;
                    return false;
                }
                break;
            default:
                root = Dollar;
                break;
        }
        return path.TrySelect(root, out value);
    }

    public JsonNode? Resolve(JsonPathExpression path, string field)
    {
        if (TryResolve(path, out var value)) return value;
        throw Runtime($"The JSONPath '{path.Text}' specified for the field '{field}' could not be found in the input '{Json.Serialize(Dollar)}'");
    }

    public StatesError InvalidPath(JsonPathExpression path) =>
        Runtime($"Invalid path '{path.Text}' : No results for path: {path.Normalized}");

    public StatesError Runtime(string message) => Error("States.Runtime", message);

    public StatesError Error(string error, string message) =>
        new(error, $"An error occurred while executing the state '{State.Name}' (entered at the event id #{Entered.Id}). {message}");

    public JsonNode? Once(Func<JsonNode?> compute)
    {
        var k = $"{Key}.v{RetryCount}.{_once++}";
        var pending = Execution.Journal.OnceAsync(k, () => ValueTask.FromResult(compute()), CancellationToken);
        // Journals answer at once (memory, or a local store); a slow one is waited for here, as the
        // template it is part of is evaluated synchronously.
        var recorded = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return recorded?.DeepClone();
    }

    /// <summary>The context object (<c>$$</c>), built when first read.</summary>
    public JsonObject Context()
    {
        if (_context is not null) return _context;
        var start = Execution.Start;
        var ctx = new JsonObject
        {
            ["Execution"] = new JsonObject
            {
                ["Id"] = start.ExecutionArn,
                ["Input"] = start.Input?.DeepClone(),
                ["Name"] = start.ExecutionName,
                ["RoleArn"] = start.RoleArn,
                ["StartTime"] = Timestamps.Format(start.StartTime),
                ["RedriveCount"] = start.RedriveCount,
            },
            ["State"] = new JsonObject
            {
                ["EnteredTime"] = Timestamps.Format(Entered.Timestamp),
                ["Name"] = State.Name,
                ["RetryCount"] = RetryCount,
            },
            ["StateMachine"] = new JsonObject { ["Id"] = start.StateMachineArn, ["Name"] = start.StateMachineName },
        };
        if (TaskToken is not null) ctx["Task"] = new JsonObject { ["Token"] = TaskToken };
        if (MapItem is not null) ctx["Map"] = new JsonObject { ["Item"] = MapItem.DeepClone() };
        if (Execution.Test?.Context is { } over) Overlay(ctx, over);
        return _context = ctx;
    }

    /// <summary>TestState's <c>context</c>: its members replace the context object's, objects member by member.</summary>
    private static void Overlay(JsonObject into, JsonObject over)
    {
        foreach (var (name, value) in over)
        {
            if (value is JsonObject o && into[name] is JsonObject existing) Overlay(existing, o);
            else into[name] = value?.DeepClone();
        }
    }
}
