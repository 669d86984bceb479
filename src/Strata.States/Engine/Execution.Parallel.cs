using System.Text.Json.Nodes;
using Strata.States.JsonPath;

namespace Strata.States.Engine;

internal sealed partial class Execution
{
    /// <summary>The most iterations of an inline Map that run at once.</summary>
    internal const int InlineMapConcurrency = 40;

    private async Task<(JsonNode?, string?)> ParallelAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        var effective = s.IsJsonata ? input : InputPath(sc, input);
        if (!s.IsJsonata) Inspect("afterInputPath", effective);
        var result = await WithRetryAsync(sc, async attempt =>
        {
            JsonNode? branchInput;
            if (s.IsJsonata) branchInput = s.Has("Arguments") ? Jsonata(s["Arguments"], sc, States(sc, input), "Arguments") : input;
            else
            {
                sc.Dollar = effective;
                branchInput = s.Has("Parameters") ? Template(s["Parameters"], sc) : effective;
            }
            if (Mocked)
            {
                Inspect(s.IsJsonata ? "afterArguments" : "afterParameters", branchInput);
                return MockedResult();
            }
            var started = await EmitAsync(sc.Frame, $"{sc.Key}.started{attempt}", "ParallelStateStarted", null, null, sc.CancellationToken);
            var frames = s.Branches.Select((_, i) => new Frame($"{sc.Key}#{attempt}/{i}", started.Id, new Variables(sc.Frame.Variables))).ToArray();
            var outputs = await RunAllAsync(s.Branches.Count, 0, (i, token) => RunMachineAsync(s.Branches[i], branchInput?.DeepClone(), frames[i], token),
                sc.CancellationToken, tolerated: 0);
            sc.Frame.Last = Math.Max(sc.Frame.Last, frames.Max(f => f.Last));
            if (outputs.Error is { } error)
            {
                sc.Frame.Last = Math.Max(sc.Frame.Last, outputs.ErrorFrameLast(frames));
                await EmitAsync(sc.Frame, $"{sc.Key}.failed{attempt}", "ParallelStateFailed", null, null, sc.CancellationToken);
                throw error;
            }
            await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "ParallelStateSucceeded", null, null, sc.CancellationToken);
            return new JsonArray([.. outputs.Values.Select(Json.Detach)]);
        });
        return await FinishAsync(sc, input, effective, result);
    }

    private sealed class AllResult
    {
        public required JsonNode?[] Values { get; init; }
        public StatesError? Error { get; set; }
        public int ErrorIndex { get; set; } = -1;
        public int Failures { get; set; }

        public long ErrorFrameLast(Frame[] frames) => ErrorIndex >= 0 ? frames[ErrorIndex].Last : 0;
    }

    /// <summary>Runs n children with at most <paramref name="maxConcurrency"/> at once (0: all). A failure beyond
    /// the tolerated count stops the others and is the result's error; a tolerated one leaves its error output in place.</summary>
    private static async Task<AllResult> RunAllAsync(int n, int maxConcurrency, Func<int, CancellationToken, Task<JsonNode?>> run, CancellationToken ct, int tolerated)
    {
        var result = new AllResult { Values = new JsonNode?[n] };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var gate = maxConcurrency > 0 ? new SemaphoreSlim(maxConcurrency) : null;
        var sync = new object();
        async Task One(int i)
        {
            if (gate is not null) await gate.WaitAsync(cts.Token);
            try
            {
                result.Values[i] = await run(i, cts.Token);
            }
            catch (StatesError e)
            {
                lock (sync)
                {
                    result.Failures++;
                    result.Values[i] = new JsonObject { ["Error"] = e.Error, ["Cause"] = e.Cause ?? "" };
                    if (result.Failures > tolerated && result.Error is null)
                    {
                        result.Error = e;
                        result.ErrorIndex = i;
                        cts.Cancel();
                    }
                }
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // Stopped because another child failed.
            }
            finally
            {
                gate?.Release();
            }
        }
        var tasks = new Task[n];
        for (var i = 0; i < n; i++) tasks[i] = One(i);
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && result.Error is not null)
        {
            // A child waiting for the gate was stopped by the failure.
        }
        ct.ThrowIfCancellationRequested();
        return result;
    }

    private async Task<(JsonNode?, string?)> MapAsync(StateContext sc, JsonNode? input)
    {
        var s = sc.State;
        var effective = s.IsJsonata ? input : InputPath(sc, input);
        if (!s.IsJsonata) Inspect("afterInputPath", effective);
        var result = await WithRetryAsync(sc, async attempt =>
        {
            var states = s.IsJsonata ? States(sc, input) : null;
            JsonNode? itemsNode;
            if (s.IsDistributed && s["ItemReader"] is JsonObject reader) itemsNode = await ReadItemsAsync(sc, reader, effective, states, attempt);
            else if (states is not null) itemsNode = s.Has("Items") ? Jsonata(s["Items"], sc, states, "Items") : input;
            else
            {
                var path = JsonPathExpression.Compile(s["ItemsPath"]?.GetValue<string>() ?? "$");
                sc.Dollar = effective;
                if (!sc.TryResolve(path, out itemsNode)) throw sc.InvalidPath(path);
            }
            if (!s.IsJsonata) Inspect("afterItemsPath", itemsNode);
            if (itemsNode is not JsonArray items)
                throw sc.Runtime($"Map state input must be an array but was: {Json.Kind(itemsNode).ToString().ToLowerInvariant()}");
            // 0 (or none) is "as many as possible"; AWS runs an inline Map's iterations 40 at a time
            // at most, and so does Strata, so one Map cannot start thousands of tasks at once.
            var declaredConcurrency = (int)(IntegerField(sc, "MaxConcurrency", effective, states, 0) ?? 0);
            var maxConcurrency = declaredConcurrency;
            if (maxConcurrency is 0 or > InlineMapConcurrency) maxConcurrency = InlineMapConcurrency;
            var settings = DeclaredSettings(sc, effective, states, declaredConcurrency);
            var tolerated = (int)Math.Min(int.MaxValue, settings.Tolerated(items.Count));

            var started = await EmitAsync(sc.Frame, $"{sc.Key}.started{attempt}", "MapStateStarted", "mapStateStartedEventDetails",
                new JsonObject { ["length"] = items.Count }, sc.CancellationToken);
            var selector = s.Has("ItemSelector") ? s["ItemSelector"] : s.Has("Parameters") ? s["Parameters"] : null;
            var processor = s.Processor!;
            var itemInputs = new JsonNode?[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                if (selector is null)
                {
                    itemInputs[i] = items[i]?.DeepClone();
                    continue;
                }
                sc.MapItem = new JsonObject { ["Index"] = i, ["Value"] = items[i]?.DeepClone() };
                if (states is not null) itemInputs[i] = Jsonata(selector, sc, States(sc, input), "ItemSelector");
                else
                {
                    sc.Dollar = effective;
                    itemInputs[i] = Template(selector, sc);
                }
            }
            sc.MapItem = null;
            if (selector is not null && Inspection is not null) Inspect("afterItemSelector", new JsonArray([.. itemInputs.Select(n => n?.DeepClone())]));
            if (s.IsDistributed && s["ItemBatcher"] is JsonObject batcher)
            {
                itemInputs = Batch(sc, batcher, itemInputs, effective, states);
                if (Inspection is not null) Inspect("afterItemBatcher", new JsonArray([.. itemInputs.Select(n => n?.DeepClone())]));
            }
            if (Inspection is not null)
            {
                Inspection["maxConcurrency"] = declaredConcurrency;
                if (s.Has("ToleratedFailureCount") || s.Has("ToleratedFailureCountPath") || s.Has("ToleratedFailurePercentage") || s.Has("ToleratedFailurePercentagePath"))
                    Inspection["toleratedFailureCount"] = tolerated;
                if (sc.State["ToleratedFailurePercentage"] is JsonNode tp && Json.TryNumber(tp, out var tpv)) Inspection["toleratedFailurePercentage"] = tpv;
            }
            if (Mocked)
            {
                if (Test!.MapIterationFailureCount is { } failures && failures > tolerated)
                    throw new StatesError("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded");
                return MockedResult();
            }
            if (s.IsDistributed && host.MapRuns is { } runs)
                return await MapRunAsync(sc, runs, attempt, items.Count, itemInputs, settings, effective, states);
            var frames = new Frame[itemInputs.Length];
            for (var i = 0; i < itemInputs.Length; i++) frames[i] = new Frame($"{sc.Key}#{attempt}/{i}", started.Id, new Variables(sc.Frame.Variables));
            // What a ResultWriter reports of each iteration: its start, its end and its error.
            var writer = s.IsDistributed ? s["ResultWriter"] as JsonObject : null;
            var starts = writer is null ? null : new DateTimeOffset[itemInputs.Length];
            var stops = writer is null ? null : new DateTimeOffset[itemInputs.Length];
            var errors = writer is null ? null : new StatesError?[itemInputs.Length];
            var outputs = await RunAllAsync(itemInputs.Length, maxConcurrency, async (i, token) =>
            {
                var f = frames[i];
                var details = new JsonObject { ["name"] = s.Name, ["index"] = i };
                var iterationStarted = await EmitAsync(f, f.Path + ".started", "MapIterationStarted", "mapIterationStartedEventDetails", details, token);
                starts?[i] = iterationStarted.Timestamp;
                try
                {
                    var output = await RunMachineAsync(processor, itemInputs[i], f, token);
                    var ended = await EmitAsync(f, f.Path + ".succeeded", "MapIterationSucceeded", "mapIterationSucceededEventDetails", details.DeepClone().AsObject(), token);
                    stops?[i] = ended.Timestamp;
                    return output;
                }
                catch (StatesError e)
                {
                    var ended = await EmitAsync(f, f.Path + ".failed", "MapIterationFailed", "mapIterationFailedEventDetails", details.DeepClone().AsObject(), token);
                    stops?[i] = ended.Timestamp;
                    errors?[i] = e;
                    throw;
                }
            }, sc.CancellationToken, tolerated);
            if (frames.Length > 0) sc.Frame.Last = Math.Max(sc.Frame.Last, frames.Max(f => f.Last));
            if (outputs.Error is { } error)
            {
                sc.Frame.Last = Math.Max(sc.Frame.Last, outputs.ErrorFrameLast(frames));
                await EmitAsync(sc.Frame, $"{sc.Key}.failed{attempt}", "MapStateFailed", null, null, sc.CancellationToken);
                if (outputs.Failures > 0 && tolerated > 0 || s.Has("ToleratedFailurePercentage") || s.Has("ToleratedFailureCount"))
                    throw new StatesError("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded");
                throw error;
            }
            if (writer is not null)
            {
                var iterations = new Iteration[itemInputs.Length];
                for (var i = 0; i < iterations.Length; i++)
                    iterations[i] = new Iteration(itemInputs[i], errors![i] is null ? outputs.Values[i] : null, errors[i], starts![i], stops![i]);
                var written = await WriteResultsAsync(sc, writer, effective, states, attempt, iterations);
                await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "MapStateSucceeded", null, null, sc.CancellationToken);
                return written;
            }
            await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "MapStateSucceeded", null, null, sc.CancellationToken);
            return new JsonArray([.. outputs.Values.Select(Json.Detach)]);
        });
        return await FinishAsync(sc, input, effective, result);
    }

    /// <summary>ItemBatcher: groups the (selected) items into batches of at most MaxItemsPerBatch items and
    /// MaxInputBytesPerBatch bytes; each child gets <c>{"Items": [...]}</c> plus the BatchInput's fields.</summary>
    private static JsonNode?[] Batch(StateContext sc, JsonObject batcher, JsonNode?[] items, JsonNode? effective, JsonObject? states)
    {
        var maxItems = long.MaxValue;
        if (batcher["MaxItemsPerBatch"] is JsonNode m && Json.IsInteger(m, out var mv)) maxItems = mv;
        else if (batcher["MaxItemsPerBatchPath"] is JsonNode mp)
        {
            sc.Dollar = effective;
            var path = JsonPathExpression.Compile(mp.GetValue<string>());
            if (!sc.TryResolve(path, out var v) || !Json.IsInteger(v, out mv) || mv < 1) throw sc.Runtime("The value for the field 'MaxItemsPerBatchPath' must be a positive integer");
            maxItems = mv;
        }
        var maxBytes = 262144L;
        if (batcher["MaxInputBytesPerBatch"] is JsonNode b && Json.IsInteger(b, out var bv)) maxBytes = bv;
        JsonNode? batchInput = null;
        if (batcher["BatchInput"] is JsonNode bi)
        {
            sc.Dollar = effective;
            batchInput = states is not null ? Jsonata(bi, sc, states, "BatchInput") : Template(bi, sc);
        }
        var batches = new List<JsonNode?>();
        var current = new JsonArray();
        var bytes = 0L;
        void Flush()
        {
            if (current.Count == 0) return;
            var batch = new JsonObject();
            if (batchInput is JsonObject extra) foreach (var kv in extra) batch[kv.Key] = kv.Value?.DeepClone();
            batch["Items"] = current;
            batches.Add(batch);
            current = [];
            bytes = 0;
        }
        foreach (var item in items)
        {
            var size = Json.ByteCount(Json.Serialize(item));
            if (current.Count > 0 && (current.Count >= maxItems || bytes + size > maxBytes)) Flush();
            current.Add(Json.Detach(item));
            bytes += size;
        }
        Flush();
        return [.. batches];
    }

    /// <summary>The Map's declared MaxConcurrency and tolerated failures (ToleratedFailureCount(Path),
    /// ToleratedFailurePercentage(Path)): what a Map Run starts with.</summary>
    private static MapRunSettings DeclaredSettings(StateContext sc, JsonNode? effective, JsonObject? states, int maxConcurrency)
    {
        var byCount = IntegerField(sc, "ToleratedFailureCount", effective, states, 0) ?? 0;
        var percentage = 0.0;
        if (sc.State["ToleratedFailurePercentage"] is JsonNode p && Json.TryNumber(p, out var pv)) percentage = pv;
        else if (sc.State["ToleratedFailurePercentagePath"] is JsonNode pp)
        {
            sc.Dollar = effective;
            var path = JsonPathExpression.Compile(pp.GetValue<string>());
            if (!sc.TryResolve(path, out var v) || !Json.TryNumber(v, out pv) || pv < 0 || pv > 100)
                throw sc.Runtime("The value for the field 'ToleratedFailurePercentagePath' must be a number from 0 to 100");
            percentage = pv;
        }
        return new MapRunSettings(maxConcurrency, percentage, byCount);
    }
}
