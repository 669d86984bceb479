using System.Text.Json.Nodes;

namespace Strata.States.Engine;

internal sealed partial class Execution
{
    /// <summary>A Task's resource as history names it: <c>arn:aws:states:::sagemaker:createTrainingJob.sync</c> is
    /// resourceType <c>sagemaker</c>, resource <c>createTrainingJob.sync</c>; <c>…:::aws-sdk:s3:getObject</c> is
    /// <c>aws-sdk:s3</c> and <c>getObject</c>; any other ARN is its service and the ARN itself.</summary>
    internal static (string Type, string Resource) ResourceOf(string arn)
    {
        const string Integration = "arn:aws:states:::";
        if (arn.StartsWith(Integration, StringComparison.Ordinal))
        {
            var rest = arn[Integration.Length..];
            var cut = rest.LastIndexOf(':');
            return cut < 0 ? (rest, rest) : (rest[..cut], rest[(cut + 1)..]);
        }
        var parts = arn.Split(':');
        if (parts.Length > 5 && parts[2] == "states" && parts[5] == "activity") return ("activity", arn);
        return (parts.Length > 2 ? parts[2] : "", arn);
    }

    private static bool NeedsToken(string resource) =>
        resource.EndsWith(".waitForTaskToken", StringComparison.Ordinal) || ResourceOf(resource).Type == "activity";

    private async Task<(JsonNode?, string?)> TaskAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        var ct = sc.CancellationToken;
        var resource = s["Resource"]!.GetValue<string>();
        var (resourceType, resourceName) = ResourceOf(resource);
        var activity = resourceType == "activity";
        var effective = s.IsJsonata ? input : InputPath(sc, input);
        if (!s.IsJsonata) Inspect("afterInputPath", effective);

        var result = await WithRetryAsync(sc, async attempt =>
        {
            string? token = null;
            if (NeedsToken(resource))
            {
                var recorded = await Journal.OnceAsync($"{sc.Key}.token{attempt}",
                    () => ValueTask.FromResult<JsonNode?>(JsonValue.Create(NewTaskToken())), ct);
                token = recorded!.GetValue<string>();
            }
            sc.TaskToken = token;
            var states = s.IsJsonata ? States(sc, input) : null;
            JsonNode? parameters;
            JsonNode? credentials = null;
            if (states is not null)
            {
                parameters = s.Has("Arguments") ? Jsonata(s["Arguments"], sc, states, "Arguments") : input;
                if (s["Credentials"] is JsonNode c) credentials = Jsonata(c, sc, states, "Credentials");
            }
            else
            {
                sc.Dollar = effective;
                parameters = s.Has("Parameters") ? Template(s["Parameters"], sc) : effective;
                if (s["Credentials"] is JsonNode c) credentials = Template(c, sc);
            }
            Inspect(states is null ? "afterParameters" : "afterArguments", parameters);
            var parametersJson = Json.Serialize(parameters);
            if (Json.ByteCount(parametersJson) > MaxPayloadBytes)
                throw new StatesError("States.DataLimitExceeded", $"The state/task '{s.Name}' has an input with a size exceeding the maximum number of bytes service limit.");
            var timeout = IntegerField(sc, "TimeoutSeconds", effective, states, 1);
            var heartbeat = IntegerField(sc, "HeartbeatSeconds", effective, states, 1);
            // An activity's task is recorded as AWS records it: Activity* events, whose details name the
            // activity and carry the input; every other resource gets the Task* events.
            var details = activity
                ? new JsonObject { ["resource"] = resource, ["input"] = parametersJson, ["inputDetails"] = NotTruncated.DeepClone() }
                : new JsonObject
                {
                    ["resourceType"] = resourceType,
                    ["resource"] = resourceName,
                    ["region"] = Region,
                    ["parameters"] = parametersJson,
                };
            if (timeout is not null) details["timeoutInSeconds"] = timeout;
            if (heartbeat is not null) details["heartbeatInSeconds"] = heartbeat;
            if (credentials is JsonObject co && co["RoleArn"] is JsonNode role) details["taskCredentials"] = new JsonObject { ["roleArn"] = role.DeepClone() };
            var scheduled = await EmitAsync(sc.Frame, $"{sc.Key}.scheduled{attempt}", activity ? "ActivityScheduled" : "TaskScheduled",
                activity ? "activityScheduledEventDetails" : "taskScheduledEventDetails", details, ct);

            var request = new TaskRequest(resource, parameters, s.Name, $"{sc.Key}#{attempt}", token,
                timeout is null ? null : TimeSpan.FromSeconds(timeout.Value), heartbeat is null ? null : TimeSpan.FromSeconds(heartbeat.Value), credentials)
            { ScheduledAt = scheduled.Timestamp };
            var hostEvents = 0;
            ValueTask Emit(HistoryEventDraft draft)
            {
                var n = Interlocked.Increment(ref hostEvents);
                return new ValueTask(EmitAsync(sc.Frame, $"{sc.Key}.host{attempt}.{n}", draft.Type, draft.DetailsName, draft.Details, ct));
            }
            var outcome = await Journal.OnceAsync($"{sc.Key}.outcome{attempt}", async () =>
            {
                try
                {
                    var r = Mocked ? MockedResult() : await RunTaskWithTimeoutAsync(request, Emit, scheduled.Timestamp, ct);
                    return new JsonObject { ["result"] = Json.Detach(r) };
                }
                catch (StatesError e)
                {
                    var failure = new JsonObject { ["error"] = e.Error, ["cause"] = e.Cause };
                    // A missed heartbeat is a timeout in the history (TaskTimedOut, ActivityTimedOut), as AWS records it.
                    if (e.Error == "States.HeartbeatTimeout") failure["timedOut"] = true;
                    if (e.ScheduleFailed) failure["scheduleFailed"] = true;
                    return failure;
                }
                catch (TaskTimedOutException)
                {
                    return new JsonObject { ["error"] = "States.Timeout", ["timedOut"] = true };
                }
            }, ct);
            if (outcome is JsonObject failed && failed.ContainsKey("error"))
            {
                var error = failed["error"]?.GetValue<string>() ?? "States.TaskFailed";
                var cause = failed["cause"]?.GetValue<string>();
                var timedOut = failed["timedOut"]?.GetValue<bool>() == true;
                var scheduleFailed = failed["scheduleFailed"]?.GetValue<bool>() == true;
                var fd = activity ? new JsonObject { ["error"] = error } : new JsonObject { ["resourceType"] = resourceType, ["resource"] = resourceName, ["error"] = error };
                if (cause is not null) fd["cause"] = cause;
                var (type, detailsName) = (activity, timedOut, scheduleFailed) switch
                {
                    (true, _, true) => ("ActivityScheduleFailed", "activityScheduleFailedEventDetails"),
                    (true, true, _) => ("ActivityTimedOut", "activityTimedOutEventDetails"),
                    (true, _, _) => ("ActivityFailed", "activityFailedEventDetails"),
                    (_, true, _) => ("TaskTimedOut", "taskTimedOutEventDetails"),
                    _ => ("TaskFailed", "taskFailedEventDetails"),
                };
                await EmitAsync(sc.Frame, $"{sc.Key}.failed{attempt}", type, detailsName, fd, ct);
                throw new StatesError(error, cause);
            }
            var taskResult = outcome?["result"]?.DeepClone();
            var output = Json.Serialize(taskResult);
            if (Json.ByteCount(output) > MaxPayloadBytes)
                throw new StatesError("States.DataLimitExceeded", $"The state/task '{s.Name}' returned a result with a size exceeding the maximum number of bytes service limit.");
            if (activity)
                await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "ActivitySucceeded", "activitySucceededEventDetails",
                    new JsonObject { ["output"] = output, ["outputDetails"] = NotTruncated.DeepClone() }, ct);
            else
                await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "TaskSucceeded", "taskSucceededEventDetails", new JsonObject
                {
                    ["resourceType"] = resourceType,
                    ["resource"] = resourceName,
                    ["output"] = output,
                    ["outputDetails"] = NotTruncated.DeepClone(),
                }, ct);
            return taskResult;
        });
        return await FinishAsync(sc, input, effective, result);
    }

    /// <summary>After a Task, Parallel or Map produced its result: ResultSelector, Assign, ResultPath, OutputPath
    /// (JSONPath) or Output and Assign over <c>$states.result</c> (JSONata); then the state is exited.</summary>
    private async Task<(JsonNode?, string?)> FinishAsync(StateContext sc, JsonNode? input, JsonNode? effective, JsonNode? result)
    {
        var s = sc.State;
        JsonNode? output;
        Dictionary<string, JsonNode?>? assigned = null;
        Inspect("result", result);
        if (s.IsJsonata)
        {
            var states = States(sc, input, result, hasResult: true);
            output = s.Has("Output") ? Jsonata(s["Output"], sc, states, "Output") : result;
            if (s["Assign"] is JsonNode a) assigned = JsonataAssign(a, sc, states);
        }
        else
        {
            if (s.Has("ResultSelector"))
            {
                sc.Dollar = result;
                result = Template(s["ResultSelector"], sc);
                Inspect("afterResultSelector", result);
            }
            if (s["Assign"] is JsonNode a) assigned = PathAssign(a, sc, result);
            var placed = ResultPath(sc, input, result, s.Raw, "ResultPath");
            Inspect("afterResultPath", placed);
            output = OutputPath(sc, placed);
        }
        _ = effective;
        await ExitAsync(sc, output, assigned);
        return (output, s.Next);
    }

    private static string NewTaskToken() =>
        Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(96)).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    private sealed class TaskTimedOutException : Exception;

    /// <summary>Runs the host's attempt; past TimeoutSeconds (counted from TaskScheduled, so a restart keeps
    /// the deadline) the attempt is cancelled and fails with States.Timeout.</summary>
    private async Task<JsonNode?> RunTaskWithTimeoutAsync(TaskRequest request, Func<HistoryEventDraft, ValueTask> emit,
        DateTimeOffset scheduledAt, CancellationToken ct)
    {
        // A stop is honoured at once even by a host slow to see its token.
        if (request.Timeout is not { } timeout) return await host.RunTaskAsync(request, emit, ct).WaitAsync(ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = host.RunTaskAsync(request, emit, cts.Token);
        var remaining = scheduledAt + timeout - Clock.GetUtcNow();
        var timer = remaining > TimeSpan.Zero ? Task.Delay(remaining, Clock, cts.Token) : Task.CompletedTask;
        var first = await Task.WhenAny(run, timer);
        if (first == timer && timer.IsCompletedSuccessfully && !run.IsCompleted)
        {
            await cts.CancelAsync();
            // Abandoned at the deadline: not awaited (a host may be slow to stop), its end only observed.
            _ = run.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            ct.ThrowIfCancellationRequested();
            throw new TaskTimedOutException();
        }
        await cts.CancelAsync();
        return await run;
    }
}
