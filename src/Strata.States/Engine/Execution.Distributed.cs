using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.JsonPath;

namespace Strata.States.Engine;

// A distributed Map's ItemReader (its items from S3: a JSON array, JSON Lines, CSV, or a listing of
// objects) and ResultWriter (its iterations' results formatted as WriterConfig says, and exported to
// S3 as a manifest and result files). The S3 calls go through the host as the tasks' do, so they are
// made as the execution's role; each is recorded in the journal, so a replay neither reads nor writes again.
internal sealed partial class Execution
{
    internal const string GetObject = "arn:aws:states:::s3:getObject";
    internal const string ListObjectsV2 = "arn:aws:states:::s3:listObjectsV2";
    internal const string PutObject = "arn:aws:states:::s3:putObject";

    /// <summary>What the ItemReader reads, as the Map's items (at most ReaderConfig's MaxItems).</summary>
    private async Task<JsonArray> ReadItemsAsync(StateContext sc, JsonObject reader, JsonNode? effective, JsonObject? states, int attempt)
    {
        var resource = Json.TryString(reader["Resource"], out var r) ? r : "";
        var parameters = ReaderParameters(sc, reader, effective, states);
        var config = reader["ReaderConfig"] as JsonObject ?? [];
        long? maxItems = null;
        if (config["MaxItems"] is JsonNode mi)
        {
            if (!Json.IsInteger(mi, out var v) || v < 0) throw sc.Runtime("The value for the field 'MaxItems' must be a non-negative integer");
            maxItems = v;
        }
        else if (config["MaxItemsPath"] is JsonNode mp)
        {
            if (!Json.TryString(mp, out var mps)) throw sc.Runtime("The value for the field 'MaxItemsPath' must be a JSONPath");
            var path = JsonPathExpression.Compile(mps);
            sc.Dollar = effective;
            if (!sc.TryResolve(path, out var v) || !Json.IsInteger(v, out var n) || n < 0)
                throw sc.Runtime("The value for the field 'MaxItemsPath' must be a non-negative integer");
            maxItems = n;
        }
        var read = await Journal.OnceAsync($"{sc.Key}.reader{attempt}", async () =>
        {
            try
            {
                // A mocked Map (TestState) reads nothing: its items are the test's data, if any.
                if (Mocked)
                    return new JsonObject { ["items"] = Test!.MapItemReaderData is { } data ? Items(resource == ListObjectsV2 ? GetObject : resource, config, new JsonObject { ["Body"] = data }) : new JsonArray() };
                var answer = await host.RunTaskAsync(new TaskRequest(resource, parameters, sc.State.Name, $"{sc.Key}#reader{attempt}", null, null, null, null)
                { ItemReaderOrWriter = true, MaxItems = maxItems is > 0 ? maxItems : null }, _ => ValueTask.CompletedTask, sc.CancellationToken);
                if (Json.TryString(config["InputType"], out var type) && type == "MANIFEST")
                    return new JsonObject { ["items"] = await InventoryItemsAsync(sc, answer, maxItems, attempt) };
                return new JsonObject { ["items"] = Items(resource, config, answer) };
            }
            catch (StatesError e)
            {
                return new JsonObject { ["error"] = "States.ItemReaderFailed", ["cause"] = string.IsNullOrEmpty(e.Error) ? e.Cause : $"{e.Error}: {e.Cause}" };
            }
        }, sc.CancellationToken);
        if (read?["error"] is JsonNode error) throw new StatesError(error.GetValue<string>(), read["cause"]?.GetValue<string>());
        var items = read!["items"]!.AsArray();
        if (maxItems is { } max && max > 0 && items.Count > max)
            return new JsonArray([.. items.Take((int)max).Select(i => i?.DeepClone())]);
        return new JsonArray([.. items.Select(i => i?.DeepClone())]);
    }

    /// <summary>The most text an inventory's data files give together (the server bounds each object so).</summary>
    private const long MaxManifestText = 32L << 20;

    /// <summary>
    /// InputType MANIFEST: the object read is an S3 Inventory's <c>manifest.json</c>; the items are the rows of
    /// the gzip CSV data files it names (in its <c>destinationBucket</c>), each an object of the manifest's
    /// <c>fileSchema</c> names (<c>Bucket</c>, <c>Key</c>, <c>Size</c>, …), read in the manifest's order up to MaxItems.
    /// </summary>
    private async Task<JsonArray> InventoryItemsAsync(StateContext sc, JsonNode? answer, long? maxItems, int attempt)
    {
        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(answer?["Body"]?.GetValue<string>() ?? "") as JsonObject
                ?? throw new StatesError("States.ItemReaderFailed", "The manifest is not a JSON object.");
        }
        catch (JsonException e) { throw new StatesError("States.ItemReaderFailed", $"The manifest is not valid JSON: {e.Message}"); }
        var format = Json.TryString(manifest["fileFormat"], out var f) ? f : "";
        if (format != "CSV")
            throw new StatesError("States.ItemReaderFailed", $"Strata reads S3 Inventory manifests of CSV files, not '{format}'.");
        if (!Json.TryString(manifest["fileSchema"], out var schemaText) || !Json.TryString(manifest["destinationBucket"], out var destination)
            || manifest["files"] is not JsonArray files)
            throw new StatesError("States.ItemReaderFailed", "The manifest needs fileSchema, destinationBucket and files, as an S3 Inventory manifest has them.");
        var schema = schemaText.Split(',', StringSplitOptions.TrimEntries);
        // destinationBucket is the bucket's ARN (arn:PARTITION:s3:::name).
        var arn = destination.Split(':');
        var bucket = arn.Length == 6 && arn[0] == "arn" && arn[2] == "s3" ? arn[5] : destination;
        var items = new JsonArray();
        long read = 0;
        for (var i = 0; i < files.Count && !(maxItems is > 0 && items.Count >= maxItems); i++)
        {
            if (!Json.TryString((files[i] as JsonObject)?["key"], out var key)) throw new StatesError("States.ItemReaderFailed", $"The manifest's file {i} has no key.");
            var data = await host.RunTaskAsync(new TaskRequest(GetObject, new JsonObject { ["Bucket"] = bucket, ["Key"] = key }, sc.State.Name,
                $"{sc.Key}#reader{attempt}/{i}", null, null, null, null)
            { ItemReaderOrWriter = true, Gunzip = true }, _ => ValueTask.CompletedTask, sc.CancellationToken);
            var text = data?["Body"]?.GetValue<string>() ?? "";
            // The items are held and journaled whole: all the files together are bounded as one object is.
            if ((read += text.Length) > MaxManifestText)
                throw new StatesError("States.ItemReaderFailed", $"The inventory's data files hold more than the {MaxManifestText >> 20} MiB an ItemReader reads: set MaxItems.");
            var rows = CsvRows(text, ',');
            for (var r = 0; r < rows.Count && !(maxItems is > 0 && items.Count >= maxItems); r++)
            {
                if (rows[r].Length != schema.Length)
                    throw new StatesError("States.ItemReaderFailed", $"Row {r + 1} of {key} has {rows[r].Length} fields, but the manifest's fileSchema has {schema.Length}.");
                var item = new JsonObject();
                for (var c = 0; c < schema.Length; c++) item[schema[c]] = rows[r][c];
                items.Add(item);
            }
        }
        return items;
    }

    private JsonNode? ReaderParameters(StateContext sc, JsonObject field, JsonNode? effective, JsonObject? states)
    {
        if (states is not null) return field["Arguments"] is JsonNode a ? Jsonata(a, sc, states, "Arguments") : null;
        sc.Dollar = effective;
        return field["Parameters"] is JsonNode p ? Template(p, sc) : null;
    }

    /// <summary>The items in what S3 answered: a listing's objects, or the object's body as ReaderConfig's InputType says.</summary>
    private static JsonArray Items(string resource, JsonObject config, JsonNode? answer)
    {
        if (resource == ListObjectsV2)
        {
            var items = new JsonArray();
            foreach (var o in answer?["Contents"] as JsonArray ?? [])
            {
                var modified = o?["LastModified"] is JsonValue lm && lm.TryGetValue<string>(out var text)
                    && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.ToUnixTimeSeconds() : 0;
                items.Add(new JsonObject
                {
                    ["Etag"] = o?["ETag"]?.DeepClone(),
                    ["Key"] = o?["Key"]?.DeepClone(),
                    ["LastModified"] = modified,
                    ["Size"] = o?["Size"]?.DeepClone(),
                    ["StorageClass"] = o?["StorageClass"]?.DeepClone() ?? "STANDARD",
                });
            }
            return items;
        }
        var body = answer?["Body"] is JsonValue b && b.TryGetValue<string>(out var s) ? s : "";
        // A byte order mark is not part of the first item (nor of the CSV's first header).
        if (body.StartsWith('\uFEFF')) body = body[1..];
        var type = Json.TryString(config["InputType"], out var inputType) ? inputType : "JSON";
        switch (type)
        {
            case "JSON":
                JsonNode? parsed;
                try { parsed = JsonNode.Parse(body); }
                catch (JsonException e) { throw new StatesError("States.ItemReaderFailed", $"The object is not valid JSON: {e.Message}"); }
                return parsed as JsonArray ?? throw new StatesError("States.ItemReaderFailed", "The JSON object read must be an array of items.");
            case "JSONL":
                var lines = new JsonArray();
                var number = 0;
                foreach (var line in body.Split('\n'))
                {
                    number++;
                    if (line.Trim().Length == 0) continue;
                    try { lines.Add(JsonNode.Parse(line)); }
                    catch (JsonException e) { throw new StatesError("States.ItemReaderFailed", $"Line {number} of the object is not valid JSON: {e.Message}"); }
                }
                return lines;
            case "CSV":
                return CsvItems(body, config);
            case "MANIFEST":
                // TestState's mapItemReaderData for a manifest: the items it would read, a JSON array.
                try { return JsonNode.Parse(body) as JsonArray ?? throw new StatesError("States.ItemReaderFailed", "The items of a MANIFEST reader's data must be a JSON array."); }
                catch (JsonException e) { throw new StatesError("States.ItemReaderFailed", $"The items are not valid JSON: {e.Message}"); }
            default:
                throw new StatesError("States.ItemReaderFailed", $"Strata does not read the ItemReader InputType '{type}' (it reads JSON, JSONL, CSV and MANIFEST, and object listings).");
        }
    }

    /// <summary>CSV rows as objects of their header's names and their text (RFC 4180 quoting). The header
    /// is the first row, or ReaderConfig's CSVHeaders when CSVHeaderLocation is GIVEN.</summary>
    private static JsonArray CsvItems(string body, JsonObject config)
    {
        var delimiter = (Json.TryString(config["CSVDelimiter"], out var d) ? d : "COMMA") switch
        {
            "COMMA" => ',',
            "PIPE" => '|',
            "SEMICOLON" => ';',
            "SPACE" => ' ',
            "TAB" => '\t',
            var other => throw new StatesError("States.ItemReaderFailed", $"Unknown CSVDelimiter '{other}'"),
        };
        var rows = CsvRows(body, delimiter);
        string[] headers;
        if (Json.TryString(config["CSVHeaderLocation"], out var location) && location == "GIVEN")
            headers = config["CSVHeaders"] is JsonArray given && given.All(h => Json.TryString(h, out _))
                ? [.. given.Select(h => h!.GetValue<string>())]
                : throw new StatesError("States.ItemReaderFailed", "CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings.");
        else
        {
            if (rows.Count == 0) return [];
            headers = rows[0];
            rows.RemoveAt(0);
        }
        var items = new JsonArray();
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length != headers.Length)
                throw new StatesError("States.ItemReaderFailed", $"Row {r + 1} of the CSV has {rows[r].Length} fields, but its header has {headers.Length}.");
            var item = new JsonObject();
            for (var i = 0; i < headers.Length; i++) item[headers[i]] = rows[r][i];
            items.Add(item);
        }
        return items;
    }

    private static List<string[]> CsvRows(string text, char delimiter)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
                continue;
            }
            any = true;
            if (c == '"') quoted = true;
            else if (c == delimiter) { fields.Add(field.ToString()); field.Clear(); }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                fields.Add(field.ToString());
                field.Clear();
                if (!(fields.Count == 1 && fields[0].Length == 0)) rows.Add([.. fields]);
                fields.Clear();
                any = false;
            }
            else field.Append(c);
        }
        if (quoted) throw new StatesError("States.ItemReaderFailed", "The CSV ends inside a quoted field.");
        if (any || field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            if (!(fields.Count == 1 && fields[0].Length == 0)) rows.Add([.. fields]);
        }
        return rows;
    }

    /// <summary>The most child executions of one Map Run that run at once in Strata (AWS allows 10 000): a
    /// MaxConcurrency of 0, or above this, runs this many. The children share one process and one store,
    /// whose writes are synchronous: many more at once would only hold threads the server answers requests on.</summary>
    internal const int DistributedMapConcurrency = 100;

    /// <summary>The attempt's Map Run: its id (recorded, so a replay finds the same run), its ARN
    /// (<c>…:mapRun:Machine/Label:id</c>), and the parts its children's ARNs are made of.</summary>
    private async Task<(string RunId, string MapRunArn, string Prefix, string MachineName, string Label)> MapRunOfAsync(StateContext sc, int attempt)
    {
        var runId = (await Journal.OnceAsync($"{sc.Key}.maprun{attempt}", () => ValueTask.FromResult<JsonNode?>(Guid.NewGuid().ToString()), sc.CancellationToken))!
            .GetValue<string>();
        var (prefix, machineName) = ArnParts(Start.StateMachineArn);
        var label = Json.TryString(sc.State["Label"], out var l) ? l : sc.State.Name;
        return (runId, $"{prefix}:mapRun:{machineName}/{label}:{runId}", prefix, machineName, label);
    }

    /// <summary>
    /// A distributed Map on a host that keeps Map Runs: each (batch of) item(s) runs as a child execution of
    /// the ItemProcessor, with a history of its own; the parent's history has MapRunStarted and how the run
    /// ended. Children start in order, at most the run's MaxConcurrency at once (read again whenever one ends
    /// or UpdateMapRun changes it). Once more items failed than the run tolerates, the rest are not started
    /// and those running are stopped (ABORTED). On a replay, children that ended are read as they ended and
    /// those still running resume from their own journals.
    /// </summary>
    private async Task<JsonNode?> MapRunAsync(StateContext sc, IMapRunHost runs, int attempt, int itemCount, JsonNode?[] inputs,
        MapRunSettings declared, JsonNode? effective, JsonObject? states)
    {
        var s = sc.State;
        var ct = sc.CancellationToken;
        var (runId, mapRunArn, prefix, machineName, label) = await MapRunOfAsync(sc, attempt);
        var processor = s.Processor!;
        var config = (s["ItemProcessor"] ?? s["Iterator"])!.AsObject();
        var type = Json.TryString(config["ProcessorConfig"]?["ExecutionType"], out var et) && et == "EXPRESS" ? "EXPRESS" : "STANDARD";
        var definition = new JsonObject();
        foreach (var kv in config) if (kv.Key != "ProcessorConfig") definition[kv.Key] = kv.Value?.DeepClone();
        if (!definition.ContainsKey("QueryLanguage") && processor.QueryLanguage != "JSONPath") definition["QueryLanguage"] = processor.QueryLanguage;
        var definitionJson = Json.Serialize(definition);
        var childMachineArn = $"{prefix}:stateMachine:{machineName}/{label}";
        // Each child's share of the items (a batch's, under an ItemBatcher).
        var shares = inputs.Select(i => s["ItemBatcher"] is not null && i?["Items"] is JsonArray batch ? (long)batch.Count : 1L).ToArray();

        var redrives = await runs.StartAsync(new MapRunStart(mapRunArn, childMachineArn, itemCount, inputs.Length, type, declared), ct);
        if (redrives == 0)
            await EmitAsync(sc.Frame, $"{sc.Key}.maprunstarted{attempt}", "MapRunStarted", "mapRunStartedEventDetails", new JsonObject { ["mapRunArn"] = mapRunArn }, ct);
        else
            await EmitAsync(sc.Frame, $"{sc.Key}.maprunredriven{attempt}.{redrives}", "MapRunRedriven", "mapRunRedrivenEventDetails",
                new JsonObject { ["mapRunArn"] = mapRunArn, ["redriveCount"] = redrives }, ct);

        var values = new JsonNode?[inputs.Length];
        var errors = new StatesError?[inputs.Length];
        var starts = new DateTimeOffset[inputs.Length];
        var stops = new DateTimeOffset[inputs.Length];
        var sync = new Lock();
        long failedItems = 0;
        StatesError? failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        async Task Child(int i)
        {
            // Run on the loop's thread until its first wait: children that only compute (and write the store,
            // synchronously) run one after the other instead of holding a thread each; those that wait overlap.
            stop.Token.ThrowIfCancellationRequested();
            var name = NameOf(runId, i);
            var child = await runs.ChildAsync(mapRunArn, new ChildExecutionStart($"{prefix}:execution:{machineName}/{label}:{name}", name,
                childMachineArn, $"{machineName}/{label}", definitionJson, inputs[i], shares[i], type), stop.Token);
            starts[i] = child.Start.StartTime;
            var outcome = child.Outcome;
            if (outcome is null)
            {
                var execution = new Execution(processor, child.Start, child.Host);
                using var stopped = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, child.Stopped);
                try
                {
                    outcome = await execution.RunAsync(stopped.Token);
                }
                catch (OperationCanceledException) when (stopped.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    // The run failed and the Map stops its children, or StopExecution stopped this one (the
                    // parent's own stop leaves them to the host). The host records the abort.
                    outcome = new ExecutionOutcome("ABORTED", null, null, null);
                }
                await runs.ChildEndedAsync(child, outcome, ct);
                stops[i] = Clock.GetUtcNow();
            }
            else stops[i] = child.StopDate ?? child.Start.StartTime;
            var exceeded = false;
            lock (sync)
            {
                if (outcome.Status == "SUCCEEDED") values[i] = outcome.Output;
                else
                {
                    var error = outcome.Status == "ABORTED" ? new StatesError("States.Aborted", "The Map Run stopped the execution.")
                        : new StatesError(outcome.Error ?? "", outcome.Cause);
                    errors[i] = error;
                    values[i] = new JsonObject { ["Error"] = error.Error, ["Cause"] = error.Cause ?? "" };
                    if (outcome.Status == "ABORTED") return;
                    failedItems += shares[i];
                    if (failure is null && failedItems > runs.Settings(mapRunArn).Tolerated(itemCount))
                    {
                        failure = error;
                        exceeded = true;
                    }
                }
            }
            // Outside the lock: the others' cancellations run their continuations here.
            if (exceeded) await stop.CancelAsync();
        }

        var running = new List<Task>();
        var next = 0;
        while (true)
        {
            // Taken before the settings are read: an UpdateMapRun between the two still wakes this loop.
            var changed = runs.Changed(mapRunArn);
            var limit = runs.Settings(mapRunArn).MaxConcurrency is > 0 and < DistributedMapConcurrency and var m ? m : DistributedMapConcurrency;
            // Not under the lock: a child runs here until it first waits ('failure' read late only starts one that stops at once).
            while (Volatile.Read(ref failure) is null && !stop.IsCancellationRequested && next < inputs.Length && running.Count < limit) running.Add(Child(next++));
            if (running.Count == 0) break;
            await Task.WhenAny([.. running, changed]);
            // A child that threw (the parent stopped, or a host's failure) ends the Map with it.
            var broken = running.FirstOrDefault(t => t.IsFaulted || t.IsCanceled);
            running.RemoveAll(t => t.IsCompleted);
            if (broken is not null)
            {
                await stop.CancelAsync();
                try { await Task.WhenAll(running); } catch (OperationCanceledException) { } catch (StatesError) { }
                await broken;
            }
        }
        ct.ThrowIfCancellationRequested();

        if (failure is not null)
        {
            // A Map Run fails so whatever its tolerance (0 by default), the children's errors are their own.
            var error = new StatesError("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded");
            await EmitAsync(sc.Frame, $"{sc.Key}.maprunended{attempt}", "MapRunFailed", "mapRunFailedEventDetails", ErrorDetails(error), ct);
            await runs.EndAsync(mapRunArn, "FAILED", 0, ct);
            await EmitAsync(sc.Frame, $"{sc.Key}.failed{attempt}", "MapStateFailed", null, null, ct);
            throw error;
        }
        JsonNode? result;
        long written = 0;
        if (s["ResultWriter"] is JsonObject writer)
        {
            var iterations = new Iteration[inputs.Length];
            for (var i = 0; i < iterations.Length; i++)
                iterations[i] = new Iteration(inputs[i], errors[i] is null ? values[i] : null, errors[i], starts[i], stops[i]);
            try
            {
                result = await WriteResultsAsync(sc, writer, effective, states, attempt, iterations);
            }
            catch (StatesError e)
            {
                await EmitAsync(sc.Frame, $"{sc.Key}.maprunended{attempt}", "MapRunFailed", "mapRunFailedEventDetails", ErrorDetails(e), ct);
                await runs.EndAsync(mapRunArn, "FAILED", 0, ct);
                await EmitAsync(sc.Frame, $"{sc.Key}.failed{attempt}", "MapStateFailed", null, null, ct);
                throw;
            }
            if (writer["Resource"] is not null) written = itemCount;
        }
        else result = new JsonArray([.. values.Select(Json.Detach)]);
        await EmitAsync(sc.Frame, $"{sc.Key}.maprunended{attempt}", "MapRunSucceeded", null, null, ct);
        await runs.EndAsync(mapRunArn, "SUCCEEDED", written, ct);
        await EmitAsync(sc.Frame, $"{sc.Key}.succeeded{attempt}", "MapStateSucceeded", null, null, ct);
        return result;
    }

    /// <summary>One iteration as a ResultWriter reports it.</summary>
    private sealed record Iteration(JsonNode? Input, JsonNode? Output, StatesError? Error, DateTimeOffset Start, DateTimeOffset Stop);

    /// <summary>The Map's result under a ResultWriter: the iterations formatted as WriterConfig says (NONE: each with
    /// its execution's metadata, COMPACT: the outputs, FLATTEN: the outputs with arrays spread), and, given a
    /// Resource, written to S3 (a manifest and a file per status) with the Map run and the manifest as the result.</summary>
    private async Task<JsonNode?> WriteResultsAsync(StateContext sc, JsonObject writer, JsonNode? effective, JsonObject? states, int attempt, Iteration[] iterations)
    {
        var config = writer["WriterConfig"] as JsonObject;
        var exported = writer["Resource"] is not null;
        var transformation = Json.TryString(config?["Transformation"], out var tr) ? tr : exported ? "NONE" : "COMPACT";
        var outputType = Json.TryString(config?["OutputType"], out var ot) ? ot : "JSON";
        var (runId, mapRunArn, prefix, machineName, label) = await MapRunOfAsync(sc, attempt);
        JsonNode? Record(Iteration it, int index)
        {
            // Named from the recorded run id and the index: a replay formats the same names.
            var name = NameOf(runId, index);
            var record = new JsonObject
            {
                ["ExecutionArn"] = $"{prefix}:execution:{machineName}/{label}:{name}",
                ["Input"] = Json.Serialize(it.Input),
                ["InputDetails"] = new JsonObject { ["Included"] = true },
                ["Name"] = name,
            };
            if (it.Error is null)
            {
                record["Output"] = Json.Serialize(it.Output);
                record["OutputDetails"] = new JsonObject { ["Included"] = true };
            }
            else
            {
                if (!string.IsNullOrEmpty(it.Error.Error)) record["Error"] = it.Error.Error;
                if (it.Error.Cause is not null) record["Cause"] = it.Error.Cause;
            }
            record["RedriveCount"] = 0;
            record["RedriveStatus"] = "NOT_REDRIVABLE";
            record["RedriveStatusReason"] = it.Error is null ? "Execution is SUCCEEDED and cannot be redriven" : "Execution is FAILED and cannot be redriven";
            record["StartDate"] = Timestamps.Format(it.Start);
            record["StateMachineArn"] = $"{prefix}:stateMachine:{machineName}/{label}";
            record["Status"] = it.Error is null ? "SUCCEEDED" : "FAILED";
            record["StopDate"] = Timestamps.Format(it.Stop);
            return record;
        }
        IEnumerable<JsonNode?> Formatted(IEnumerable<(Iteration It, int Index)> its)
        {
            foreach (var (it, index) in its)
            {
                // A failed iteration is reported whole whatever the transformation (AWS's note on COMPACT and FLATTEN).
                if (transformation == "NONE" || it.Error is not null) yield return Record(it, index);
                else if (transformation == "FLATTEN" && it.Output is JsonArray spread)
                    foreach (var element in spread) yield return element?.DeepClone();
                else yield return it.Output?.DeepClone();
            }
        }
        var indexed = iterations.Select((it, i) => (it, i)).ToArray();
        if (!exported) return new JsonArray([.. Formatted(indexed)]);

        var parameters = ReaderParameters(sc, writer, effective, states) as JsonObject
            ?? throw sc.Runtime("The ResultWriter needs Parameters with a Bucket and a Prefix");
        if (parameters["Bucket"] is not JsonValue bv || !bv.TryGetValue<string>(out var bucket))
            throw sc.Runtime("The ResultWriter's Parameters need a Bucket, a string");
        var keyPrefix = parameters["Prefix"] is JsonValue pv && pv.TryGetValue<string>(out var p) && p.Length > 0 ? p.TrimEnd('/') + "/" : "";
        var written = await Journal.OnceAsync($"{sc.Key}.writer{attempt}", async () =>
        {
            try
            {
                var files = new JsonObject { ["FAILED"] = new JsonArray(), ["PENDING"] = new JsonArray(), ["SUCCEEDED"] = new JsonArray() };
                var extension = outputType == "JSONL" ? "jsonl" : "json";
                foreach (var (status, group) in new[] { ("SUCCEEDED", indexed.Where(i => i.it.Error is null)), ("FAILED", indexed.Where(i => i.it.Error is not null)) })
                {
                    var results = Formatted(group).ToList();
                    if (results.Count == 0) continue;
                    var text = outputType == "JSONL"
                        ? string.Concat(results.Select(r => Json.Serialize(r) + "\n"))
                        : Json.Serialize(new JsonArray([.. results]));
                    var key = $"{keyPrefix}{runId}/{status}_0.{extension}";
                    await PutAsync(sc, bucket, key, text, attempt);
                    files[status]!.AsArray().Add(new JsonObject { ["Key"] = key, ["Size"] = Json.ByteCount(text) });
                }
                var manifestKey = $"{keyPrefix}{runId}/manifest.json";
                var manifest = new JsonObject { ["DestinationBucket"] = bucket, ["MapRunArn"] = mapRunArn, ["ResultFiles"] = files };
                await PutAsync(sc, bucket, manifestKey, Json.Serialize(manifest), attempt);
                return new JsonObject { ["result"] = new JsonObject { ["MapRunArn"] = mapRunArn, ["ResultWriterDetails"] = new JsonObject { ["Bucket"] = bucket, ["Key"] = manifestKey } } };
            }
            catch (StatesError e)
            {
                return new JsonObject { ["error"] = "States.ResultWriterFailed", ["cause"] = string.IsNullOrEmpty(e.Error) ? e.Cause : $"{e.Error}: {e.Cause}" };
            }
        }, sc.CancellationToken);
        if (written?["error"] is JsonNode error) throw new StatesError(error.GetValue<string>(), written["cause"]?.GetValue<string>());
        return written!["result"]!.DeepClone();
    }

    private Task<JsonNode?> PutAsync(StateContext sc, string bucket, string key, string body, int attempt) =>
        host.RunTaskAsync(new TaskRequest(PutObject, new JsonObject { ["Bucket"] = bucket, ["Key"] = key, ["Body"] = body }, sc.State.Name,
            $"{sc.Key}#writer{attempt}/{key}", null, null, null, null)
        { ItemReaderOrWriter = true }, _ => ValueTask.CompletedTask, sc.CancellationToken);

    /// <summary>An iteration's name: a UUID made from its Map run's id and its index (the same on every replay).</summary>
    private static string NameOf(string runId, int index)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{runId}/{index}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }

    /// <summary>"arn:aws:states:REGION:ACCOUNT" and the machine's name, from its ARN (a version's or alias's too).</summary>
    private static (string Prefix, string MachineName) ArnParts(string stateMachineArn)
    {
        var parts = stateMachineArn.Split(':');
        return parts.Length >= 7 ? (string.Join(':', parts.Take(5)), parts[6]) : (stateMachineArn, stateMachineArn);
    }
}
