using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.Definition;
using Strata.States.Intrinsics;
using Strata.States.Jsonata;
using Strata.States.JsonPath;

namespace Strata.States.Engine;

/// <summary>One execution of a machine. Runs every state in order from the start; on a restart, what the
/// journal already holds (events, task results, due times, random values) is read back instead of done again.</summary>
internal sealed partial class Execution(MachineModel machine, ExecutionStart start, IExecutionHost host)
{
    /// <summary>The payload quota of Step Functions (256 KiB), on every input and output.</summary>
    public const int MaxPayloadBytes = 262144;

    public ExecutionStart Start { get; } = start;

    /// <summary>TestState: what each step of the pipeline made (inspectionData), or null in an execution.</summary>
    public JsonObject? Inspection { get; init; }

    /// <summary>TestState runs one attempt: an error a retrier would retry ends it as RETRIABLE.</summary>
    public bool SingleAttempt { get; init; }

    /// <summary>TestState: a Wait state computes its due time and goes on at once (a test runs five minutes at most).</summary>
    public bool SkipWaits { get; init; }

    /// <summary>TestState: the mock and state configuration; null in an execution.</summary>
    public TestStateOptions? Test { get; init; }

    /// <summary>TestState: the mocked result or error of a Task, Map or Parallel, instead of doing its work.</summary>
    internal JsonNode? MockedResult()
    {
        var test = Test!;
        if (test.MockError is { } error) throw new StatesError(error, test.MockCause);
        return test.MockResult?.DeepClone();
    }

    internal bool Mocked => Test is { HasMock: true };

    /// <summary>Set when a Catch handled the state's error (TestState's CAUGHT_ERROR).</summary>
    public bool Caught { get; private set; }

    public void Inspect(string field, JsonNode? value)
    {
        if (Inspection is not null) Inspection[field] = Json.Serialize(value);
    }
    public IExecutionJournal Journal => host.Journal;
    public TimeProvider Clock => host.Clock;
    public string Region { get; } = RegionOf(start.ExecutionArn);

    private static string RegionOf(string arn)
    {
        var parts = arn.Split(':');
        return parts.Length > 3 ? parts[3] : "";
    }

    private static readonly JsonObject NotTruncated = new() { ["truncated"] = false };

    public async Task<ExecutionOutcome> RunAsync(CancellationToken ct)
    {
        var details = new JsonObject
        {
            ["input"] = Json.Serialize(Start.Input),
            ["inputDetails"] = NotTruncated.DeepClone(),
            ["roleArn"] = Start.RoleArn,
        };
        if (Start.StateMachineAliasArn is not null) details["stateMachineAliasArn"] = Start.StateMachineAliasArn;
        if (Start.StateMachineVersionArn is not null) details["stateMachineVersionArn"] = Start.StateMachineVersionArn;
        var started = await Journal.AppendAsync("execution.started", new HistoryEventDraft("ExecutionStarted", 0, "executionStartedEventDetails", details), ct);
        var frame = new Frame("", started.Id, new Variables(null));
        try
        {
            var output = await RunTopLevelAsync(frame, ct);
            var json = Json.Serialize(output);
            if (Json.ByteCount(json) > MaxPayloadBytes)
                throw new StatesError("States.DataLimitExceeded", "The execution output exceeded the maximum number of bytes service limit.");
            await Journal.AppendAsync("execution.end", new HistoryEventDraft("ExecutionSucceeded", frame.Last, "executionSucceededEventDetails",
                new JsonObject { ["output"] = json, ["outputDetails"] = NotTruncated.DeepClone() }), ct);
            return new ExecutionOutcome("SUCCEEDED", output, null, null);
        }
        catch (StatesError e)
        {
            await Journal.AppendAsync("execution.end", new HistoryEventDraft("ExecutionFailed", frame.Last, "executionFailedEventDetails", ErrorDetails(e)), ct);
            return new ExecutionOutcome("FAILED", null, NullIfEmpty(e.Error), e.Cause);
        }
        catch (ExecutionTimedOutException)
        {
            await Journal.AppendAsync("execution.end", new HistoryEventDraft("ExecutionTimedOut", frame.Last, "executionTimedOutEventDetails",
                new JsonObject { ["error"] = "States.Timeout" }), ct);
            return new ExecutionOutcome("TIMED_OUT", null, "States.Timeout", null);
        }
    }

    private sealed class ExecutionTimedOutException : Exception;

    /// <summary>TestState: the attempt failed with an error a retrier would retry.</summary>
    internal sealed class RetriableException(StatesError error) : Exception(error.Message)
    {
        public StatesError Error { get; } = error;
    }

    /// <summary>TestState: runs one state by itself, as its own frame, and says how it ended.</summary>
    public async Task<TestStateResult> TestStateAsync(StateModel state, JsonNode? input, JsonObject? variables, CancellationToken ct)
    {
        var vars = new Variables(null);
        if (variables is not null) foreach (var kv in variables) vars.Set(kv.Key, kv.Value?.DeepClone());
        var frame = new Frame("test", 0, vars);
        Inspect("input", input);
        try
        {
            var (output, next) = await RunStateAsync(state, input, frame, "test/0:" + state.Name, ct);
            if (Inspection is not null)
            {
                var all = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
                vars.CopyTo(all);
                if (all.Count > 0) Inspection["variables"] = new JsonObject(all.Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))).ToJsonString();
            }
            return new TestStateResult(Caught ? "CAUGHT_ERROR" : "SUCCEEDED", output, null, null, next, Inspection);
        }
        catch (RetriableException r)
        {
            return new TestStateResult("RETRIABLE", null, NullIfEmpty(r.Error.Error), r.Error.Cause, null, Inspection);
        }
        catch (StatesError e)
        {
            return new TestStateResult("FAILED", null, NullIfEmpty(e.Error), e.Cause, null, Inspection);
        }
    }

    private async Task<JsonNode?> RunTopLevelAsync(Frame frame, CancellationToken ct)
    {
        if (machine.TimeoutSeconds is not { } seconds) return await RunMachineAsync(machine, Start.Input, frame, ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = RunMachineAsync(machine, Start.Input, frame, cts.Token);
        var remaining = (Start.RedriveDate ?? Start.StartTime).AddSeconds(seconds) - Clock.GetUtcNow();
        var timer = remaining > TimeSpan.Zero ? Task.Delay(remaining, Clock, cts.Token) : Task.CompletedTask;
        var first = await Task.WhenAny(run, timer);
        if (first == timer && timer.IsCompletedSuccessfully && !run.IsCompleted)
        {
            await cts.CancelAsync();
            // Abandoned at the deadline: not awaited (a host may be slow to stop), its end only observed.
            _ = run.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            ct.ThrowIfCancellationRequested();
            throw new ExecutionTimedOutException();
        }
        await cts.CancelAsync(); // stops the timer
        return await run;
    }

    internal static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    internal static JsonObject ErrorDetails(StatesError e)
    {
        var o = new JsonObject();
        if (!string.IsNullOrEmpty(e.Error)) o["error"] = e.Error;
        if (e.Cause is not null) o["cause"] = e.Cause;
        return o;
    }

    public async Task<HistoryEvent> EmitAsync(Frame f, string key, string type, string? detailsName, JsonObject? details, CancellationToken ct)
    {
        var ev = await Journal.AppendAsync(key, new HistoryEventDraft(type, f.Last, detailsName, details), ct);
        f.Last = ev.Id;
        return ev;
    }

    public async Task<JsonNode?> RunMachineAsync(MachineModel m, JsonNode? input, Frame f, CancellationToken ct)
    {
        var name = m.StartAt;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var state = m.States[name];
            var key = $"{f.Path}/{f.Step++}:{name}";
            var (output, next) = await RunStateAsync(state, input, f, key, ct);
            if (next is null) return output;
            input = output;
            name = next;
        }
    }

    private async Task<(JsonNode? Output, string? Next)> RunStateAsync(StateModel s, JsonNode? input, Frame f, string key, CancellationToken ct)
    {
        var inputJson = Json.Serialize(input);
        var entered = await EmitAsync(f, key + ".entered", s.Type + "StateEntered", "stateEnteredEventDetails",
            new JsonObject { ["name"] = s.Name, ["input"] = inputJson, ["inputDetails"] = NotTruncated.DeepClone() }, ct);
        var sc = new StateContext(this, s, f, key, entered, ct) { Dollar = input };
        try
        {
            return s.Type switch
            {
                "Pass" => await PassAsync(sc, input),
                "Task" => await TaskAsync(sc, input),
                "Choice" => await ChoiceAsync(sc, input),
                "Wait" => await WaitAsync(sc, input),
                "Succeed" => await SucceedAsync(sc, input),
                "Fail" => Fail(sc, input),
                "Parallel" => await ParallelAsync(sc, input),
                "Map" => await MapAsync(sc, input),
                _ => throw sc.Runtime($"The state type '{s.Type}' is not supported"),
            };
        }
        catch (StatesError e) when (FindCatcher(s, e) is { } catcher)
        {
            Caught = true;
            if (Inspection is not null) Inspection["errorDetails"] = new JsonObject { ["catchIndex"] = s.Catch.IndexOf(catcher) };
            var errorOutput = new JsonObject { ["Error"] = e.Error, ["Cause"] = e.Cause ?? "" };
            JsonNode? output;
            Dictionary<string, JsonNode?>? assigned;
            sc.Dollar = errorOutput;
            if (s.IsJsonata)
            {
                var states = States(sc, input, errorOutput: errorOutput);
                output = catcher.Raw.ContainsKey("Output") ? Jsonata(catcher.Raw["Output"], sc, states, "Output") : errorOutput;
                assigned = catcher.Raw["Assign"] is JsonNode a ? JsonataAssign(a, sc, states) : null;
            }
            else
            {
                assigned = catcher.Raw["Assign"] is JsonNode a ? PathAssign(a, sc, errorOutput) : null;
                output = ResultPath(sc, input, errorOutput, catcher.Raw, "ResultPath");
            }
            await ExitAsync(sc, output, assigned);
            return (output, catcher.Next);
        }
    }

    private static Catcher? FindCatcher(StateModel s, StatesError e)
    {
        foreach (var c in s.Catch)
            if (ErrorMatches(c.ErrorEquals, e.Error)) return c;
        return null;
    }

    /// <summary>States.ALL matches every error but the terminal ones; States.TaskFailed matches every error but States.Timeout.</summary>
    internal static bool ErrorMatches(string[] errorEquals, string error)
    {
        foreach (var name in errorEquals)
        {
            if (name == error) return true;
            if (name == "States.ALL" && error is not ("States.Runtime" or "States.DataLimitExceeded")) return true;
            if (name == "States.TaskFailed" && !error.StartsWith("States.", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Emits <c>&lt;Type&gt;StateExited</c> after checking the payload quota, and applies the state's assignments.</summary>
    private async Task ExitAsync(StateContext sc, JsonNode? output, Dictionary<string, JsonNode?>? assigned)
    {
        var json = Json.Serialize(output);
        if (Json.ByteCount(json) > MaxPayloadBytes)
            throw new StatesError("States.DataLimitExceeded", $"The state/task '{sc.State.Name}' returned a result with a size exceeding the maximum number of bytes service limit.");
        var details = new JsonObject { ["name"] = sc.State.Name, ["output"] = json, ["outputDetails"] = NotTruncated.DeepClone() };
        if (assigned is { Count: > 0 })
        {
            var vars = new JsonObject();
            foreach (var kv in assigned)
            {
                sc.Frame.Variables.Set(kv.Key, kv.Value);
                vars[kv.Key] = Json.Serialize(kv.Value);
            }
            details["assignedVariables"] = vars;
            details["assignedVariablesDetails"] = NotTruncated.DeepClone();
        }
        await EmitAsync(sc.Frame, sc.Key + ".exited", sc.State.Type + "StateExited", "stateExitedEventDetails", details, sc.CancellationToken);
    }

    // ---- JSONPath processing -------------------------------------------------------------------

    private static JsonNode? InputPath(StateContext sc, JsonNode? input) => SelectPath(sc, input, "InputPath");

    private static JsonNode? OutputPath(StateContext sc, JsonNode? output) => SelectPath(sc, output, "OutputPath");

    private static JsonNode? SelectPath(StateContext sc, JsonNode? node, string field)
    {
        if (!sc.State.Raw.TryGetPropertyValue(field, out var p)) return node;
        if (p is null) return new JsonObject();
        var path = JsonPathExpression.Compile(p.GetValue<string>());
        sc.Dollar = node;
        if (!sc.TryResolve(path, out var value)) throw sc.InvalidPath(path);
        return value;
    }

    /// <summary>Places the result in (a copy of) the raw input at the ResultPath; absent is <c>$</c>, null keeps the input.</summary>
    private static JsonNode? ResultPath(StateContext sc, JsonNode? input, JsonNode? result, JsonObject owner, string field)
    {
        if (!owner.TryGetPropertyValue(field, out var p)) return result;
        if (p is null) return input;
        var path = JsonPathExpression.Compile(p.GetValue<string>());
        if (path.Text == "$") return result;
        var copy = input?.DeepClone();
        if (!path.TrySet(ref copy, result?.Parent is null ? result : result.DeepClone()))
            throw sc.Error("States.ResultPathMatchFailure", $"Unable to apply ResultPath \"{path.Text}\" to input \"{Json.Serialize(input)}\"");
        return copy;
    }

    /// <summary>Parameters, ResultSelector, ItemSelector: keys ending in <c>.$</c> take a path or an intrinsic function.</summary>
    internal static JsonNode? Template(JsonNode? template, StateContext sc)
    {
        switch (template)
        {
            case JsonObject o:
                {
                    var result = new JsonObject();
                    foreach (var kv in o)
                    {
                        if (kv.Key.EndsWith(".$", StringComparison.Ordinal) && Json.TryString(kv.Value, out var expr))
                            result[kv.Key[..^2]] = Json.Detach(Dynamic(expr, kv.Key, sc));
                        else result[kv.Key] = Template(kv.Value, sc);
                    }
                    return result;
                }
            case JsonArray a:
                {
                    var result = new JsonArray();
                    foreach (var e in a) result.Add(Template(e, sc));
                    return result;
                }
            default:
                return template?.DeepClone();
        }
    }

    private static JsonNode? Dynamic(string expr, string field, StateContext sc) =>
        IntrinsicFunction.LooksLikeCall(expr)
            ? IntrinsicFunction.Parse(expr).Evaluate(sc)
            : sc.Resolve(JsonPathExpression.Compile(expr), field);

    private static Dictionary<string, JsonNode?> PathAssign(JsonNode assign, StateContext sc, JsonNode? dollar)
    {
        sc.Dollar = dollar;
        var result = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (assign is not JsonObject o) return result;
        foreach (var kv in o)
        {
            if (kv.Key.EndsWith(".$", StringComparison.Ordinal) && Json.TryString(kv.Value, out var expr))
                result[kv.Key[..^2]] = Json.Detach(Dynamic(expr, kv.Key, sc));
            else result[kv.Key] = Template(kv.Value, sc);
        }
        return result;
    }

    // ---- JSONata processing --------------------------------------------------------------------

    internal static JsonObject States(StateContext sc, JsonNode? input, JsonNode? result = null, bool hasResult = false, JsonNode? errorOutput = null)
    {
        var states = new JsonObject { ["input"] = input?.DeepClone(), ["context"] = sc.Context().DeepClone() };
        if (hasResult) states["result"] = result?.DeepClone();
        if (errorOutput is not null) states["errorOutput"] = errorOutput.DeepClone();
        return states;
    }

    private static Dictionary<string, JsonNode?> JsonataVariables(StateContext sc, JsonObject states)
    {
        var vars = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        sc.Frame.Variables.CopyTo(vars);
        vars["states"] = states;
        return vars;
    }

    /// <summary>Evaluates a JSONata template: every string that is wholly <c>{% … %}</c> is an expression.</summary>
    internal static JsonNode? Jsonata(JsonNode? template, StateContext sc, JsonObject states, string field)
    {
        var vars = JsonataVariables(sc, states);
        var (defined, value) = JsonataValue(template, sc, states, vars, field);
        if (!defined)
            throw sc.Error("States.QueryEvaluationError", $"The JSONata expression '{template}' specified for the field '{field}' returned nothing (undefined).");
        return value;
    }

    private static (bool Defined, JsonNode? Value) JsonataValue(JsonNode? template, StateContext sc, JsonObject states,
        Dictionary<string, JsonNode?> vars, string field)
    {
        switch (template)
        {
            case JsonObject o:
                {
                    var result = new JsonObject();
                    foreach (var kv in o)
                    {
                        var (d, v) = JsonataValue(kv.Value, sc, states, vars, field + "." + kv.Key);
                        if (d) result[kv.Key] = Json.Detach(v);
                    }
                    return (true, result);
                }
            case JsonArray a:
                {
                    var result = new JsonArray();
                    foreach (var e in a)
                    {
                        var (d, v) = JsonataValue(e, sc, states, vars, field);
                        if (d) result.Add(Json.Detach(v));
                    }
                    return (true, result);
                }
            case JsonValue v when Json.TryString(v, out var s) && JsonataBridge.IsExpression(s):
                try
                {
                    var expression = JsonataBridge.Compile(s);
                    var defined = expression.TryEvaluate(states["input"], vars, out var result);
                    return (defined, result);
                }
                catch (JsonataException e)
                {
                    throw sc.Error("States.QueryEvaluationError", $"The JSONata expression '{JsonataBridge.Body(s)}' specified for the field '{field}' threw an error during evaluation. {e.Code}: {e.Message}");
                }
            default:
                return (true, template?.DeepClone());
        }
    }

    private static Dictionary<string, JsonNode?> JsonataAssign(JsonNode assign, StateContext sc, JsonObject states)
    {
        var result = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (assign is not JsonObject o) return result;
        foreach (var kv in o) result[kv.Key] = Json.Detach(Jsonata(kv.Value, sc, states, "Assign." + kv.Key));
        return result;
    }

    /// <summary>A field that is a number or (JSONata) an expression giving one, or (JSONPath) a *Path to one.</summary>
    private static long? IntegerField(StateContext sc, string field, JsonNode? input, JsonObject? states, long min)
    {
        var raw = sc.State.Raw;
        JsonNode? value;
        if (raw.TryGetPropertyValue(field, out var literal) && literal is not null)
        {
            value = states is not null && Json.TryString(literal, out var s) && JsonataBridge.IsExpression(s)
                ? Jsonata(literal, sc, states, field)
                : literal;
        }
        else if (raw[field + "Path"] is JsonNode p)
        {
            var path = JsonPathExpression.Compile(p.GetValue<string>());
            sc.Dollar = input;
            if (!sc.TryResolve(path, out value)) throw sc.InvalidPath(path);
        }
        else return null;
        if (!Json.IsInteger(value, out var n) || n < min)
            throw sc.Runtime($"The value for the field '{field}' must be an integer of at least {min}, but was {Json.Serialize(value)}");
        return n;
    }

    // ---- States --------------------------------------------------------------------------------

    private async Task<(JsonNode?, string?)> PassAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        JsonNode? output;
        Dictionary<string, JsonNode?>? assigned = null;
        if (s.IsJsonata)
        {
            var states = States(sc, input);
            output = s.Has("Output") ? Jsonata(s["Output"], sc, states, "Output") : input;
            if (s["Assign"] is JsonNode a) assigned = JsonataAssign(a, sc, states);
        }
        else
        {
            var effective = InputPath(sc, input);
            Inspect("afterInputPath", effective);
            sc.Dollar = effective;
            var result = s.Has("Result") ? s["Result"]?.DeepClone() : s.Has("Parameters") ? Template(s["Parameters"], sc) : effective;
            if (s.Has("Parameters")) Inspect("afterParameters", result);
            Inspect("result", result);
            if (s["Assign"] is JsonNode a) assigned = PathAssign(a, sc, result);
            var placed = ResultPath(sc, input, result, s.Raw, "ResultPath");
            Inspect("afterResultPath", placed);
            output = OutputPath(sc, placed);
        }
        await ExitAsync(sc, output, assigned);
        return (output, s.Next);
    }

    private async Task<(JsonNode?, string?)> SucceedAsync(StateContext sc, JsonNode? input)
    {
        var output = sc.State.IsJsonata
            ? sc.State.Has("Output") ? Jsonata(sc.State["Output"], sc, States(sc, input), "Output") : input
            : OutputPath(sc, InputPath(sc, input));
        await ExitAsync(sc, output, null);
        return (output, null);
    }

    private static (JsonNode?, string?) Fail(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        string? Field(string name)
        {
            if (s.IsJsonata)
            {
                if (s[name] is not JsonNode n) return null;
                var v = Json.TryString(n, out var text) && JsonataBridge.IsExpression(text) ? Jsonata(n, sc, States(sc, input), name) : n;
                return Json.TryString(v, out var str) ? str : throw sc.Error("States.QueryEvaluationError", $"The value for the field '{name}' must be a string");
            }
            if (s[name] is JsonNode literal) return Json.TryString(literal, out var str) ? str : null;
            if (s[name + "Path"] is not JsonNode p) return null;
            sc.Dollar = input;
            var value = Dynamic(p.GetValue<string>(), name + "Path", sc);
            return Json.TryString(value, out var sv) ? sv : throw sc.Runtime($"The value for the field '{name}Path' must resolve to a string");
        }
        throw new StatesError(Field("Error") ?? "", Field("Cause"));
    }

    private async Task<(JsonNode?, string?)> ChoiceAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        if (s.IsJsonata)
        {
            var states = States(sc, input);
            foreach (var rule in s.Choices)
            {
                var condition = rule.Raw["Condition"];
                var value = condition is JsonValue cv && cv.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                    ? condition
                    : Jsonata(condition, sc, states, "Condition");
                if (value?.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                    throw sc.Error("States.QueryEvaluationError", $"The Condition '{condition}' did not evaluate to a boolean: {Json.Serialize(value)}");
                if (!value.GetValue<bool>()) continue;
                return await ChoiceExitAsync(sc, input, states, rule.Raw, rule.Next!);
            }
            if (s.Default is null) throw new StatesError("States.NoChoiceMatched", "No Matches!");
            return await ChoiceExitAsync(sc, input, states, null, s.Default);
        }
        var effective = InputPath(sc, input);
        sc.Dollar = effective;
        foreach (var rule in s.Choices)
        {
            sc.Dollar = effective;
            if (!ChoiceEvaluator.Matches(rule, sc)) continue;
            var assigned = MergeAssign(s["Assign"] is JsonNode a ? PathAssign(a, sc, effective) : null,
                rule.Raw["Assign"] is JsonNode ra ? PathAssign(ra, sc, effective) : null);
            var output = OutputPath(sc, effective);
            await ExitAsync(sc, output, assigned);
            return (output, rule.Next);
        }
        if (s.Default is null) throw new StatesError("States.NoChoiceMatched", "No Matches!");
        var defaultAssigned = s["Assign"] is JsonNode da ? PathAssign(da, sc, effective) : null;
        var defaultOutput = OutputPath(sc, effective);
        await ExitAsync(sc, defaultOutput, defaultAssigned);
        return (defaultOutput, s.Default);
    }

    private async Task<(JsonNode?, string?)> ChoiceExitAsync(StateContext sc, JsonNode? input, JsonObject states, JsonObject? rule, string next)
    {
        var s = sc.State;
        var outputTemplate = rule is not null && rule.ContainsKey("Output") ? rule["Output"] : s["Output"];
        var hasOutput = (rule is not null && rule.ContainsKey("Output")) || s.Has("Output");
        var output = hasOutput ? Jsonata(outputTemplate, sc, states, "Output") : input;
        var assigned = MergeAssign(s["Assign"] is JsonNode a ? JsonataAssign(a, sc, states) : null,
            rule?["Assign"] is JsonNode ra ? JsonataAssign(ra, sc, states) : null);
        await ExitAsync(sc, output, assigned);
        return (output, next);
    }

    private static Dictionary<string, JsonNode?>? MergeAssign(Dictionary<string, JsonNode?>? first, Dictionary<string, JsonNode?>? second)
    {
        if (first is null) return second;
        if (second is null) return first;
        foreach (var kv in second) first[kv.Key] = kv.Value;
        return first;
    }

    private async Task<(JsonNode?, string?)> WaitAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        var states = s.IsJsonata ? States(sc, input) : null;
        var effective = s.IsJsonata ? input : InputPath(sc, input);
        var dueNode = await Journal.OnceAsync(sc.Key + ".due", () =>
        {
            DateTimeOffset due;
            if (s.Has("Seconds") || s.Has("SecondsPath"))
                due = Clock.GetUtcNow().AddSeconds(IntegerField(sc, "Seconds", effective, states, 0)!.Value);
            else
            {
                JsonNode? ts;
                if (s["Timestamp"] is JsonNode literal)
                    ts = states is not null && Json.TryString(literal, out var text) && JsonataBridge.IsExpression(text) ? Jsonata(literal, sc, states, "Timestamp") : literal;
                else
                {
                    var path = JsonPathExpression.Compile(s["TimestampPath"]!.GetValue<string>());
                    sc.Dollar = effective;
                    if (!sc.TryResolve(path, out ts)) throw sc.InvalidPath(path);
                }
                if (!Json.TryString(ts, out var tss) || !Timestamps.TryParse(tss, out due))
                    throw sc.Runtime($"The value for the field 'Timestamp' must be a valid RFC3339 timestamp, but was {Json.Serialize(ts)}");
            }
            return ValueTask.FromResult<JsonNode?>(JsonValue.Create(due.ToString("O", CultureInfo.InvariantCulture)));
        }, sc.CancellationToken);
        await DelayUntilAsync(DateTimeOffset.Parse(dueNode!.GetValue<string>(), CultureInfo.InvariantCulture), sc.CancellationToken);
        JsonNode? output;
        Dictionary<string, JsonNode?>? assigned = null;
        if (s.IsJsonata)
        {
            output = s.Has("Output") ? Jsonata(s["Output"], sc, states!, "Output") : input;
            if (s["Assign"] is JsonNode a) assigned = JsonataAssign(a, sc, states!);
        }
        else
        {
            if (s["Assign"] is JsonNode a) assigned = PathAssign(a, sc, effective);
            output = OutputPath(sc, effective);
        }
        await ExitAsync(sc, output, assigned);
        return (output, s.Next);
    }

    public async Task DelayUntilAsync(DateTimeOffset due, CancellationToken ct)
    {
        var wait = due - Clock.GetUtcNow();
        if (wait > TimeSpan.Zero && !SkipWaits) await Task.Delay(wait, Clock, ct);
    }

    /// <summary>Runs one attempt after another as the Retry field says (each retrier counts its own attempts);
    /// the due time of each retry is recorded so that a restart waits only what was left.</summary>
    private async Task<JsonNode?> WithRetryAsync(StateContext sc, Func<int, Task<JsonNode?>> attempt)
    {
        var s = sc.State;
        var counts = new int[s.Retry.Count];
        // TestState says how many retries the retrier has made (stateConfiguration.retrierRetryCount).
        if (Test is { RetrierRetryCount: > 0 } test) Array.Fill(counts, test.RetrierRetryCount);
        for (var n = 0; ; n++)
        {
            sc.RetryCount = n;
            try
            {
                return await attempt(n);
            }
            catch (StatesError e)
            {
                var i = s.Retry.FindIndex(r => ErrorMatches(r.ErrorEquals, e.Error));
                if (i < 0 || counts[i] >= s.Retry[i].MaxAttempts) throw;
                var r = s.Retry[i];
                var delay = r.IntervalSeconds * Math.Pow(r.BackoffRate, counts[i]);
                if (r.MaxDelaySeconds is { } max) delay = Math.Min(delay, max);
                if (SingleAttempt)
                {
                    if (Inspection is not null)
                        Inspection["errorDetails"] = new JsonObject { ["retryIndex"] = i, ["retryBackoffIntervalSeconds"] = (int)Math.Ceiling(delay) };
                    throw new RetriableException(e);
                }
                counts[i]++;
                var dueNode = await Journal.OnceAsync($"{sc.Key}.retry{n}", () =>
                {
                    var seconds = r.FullJitter ? Random.Shared.NextDouble() * delay : delay;
                    var due = Clock.GetUtcNow().AddSeconds(seconds);
                    return ValueTask.FromResult<JsonNode?>(JsonValue.Create(due.ToString("O", CultureInfo.InvariantCulture)));
                }, sc.CancellationToken);
                await DelayUntilAsync(DateTimeOffset.Parse(dueNode!.GetValue<string>(), CultureInfo.InvariantCulture), sc.CancellationToken);
            }
        }
    }
}
