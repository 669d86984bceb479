using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.StepFunctions;
using Strata.States;

/// <summary>
/// Step Functions state transitions per second (issue 17): EXPRESS machines run through a real
/// `strata serve` with StartSyncExecution (JSON 1.0, SigV4-signed by this generator) against the
/// same definitions run by the States interpreter in this process (parsed, input parsed and output
/// serialized per execution as the server's runner does, the server's in-memory journal, a host with
/// no tasks, no background GC as in the server), in alternating rounds; the best of the rounds is
/// reported, with server ÷ in-process. The machines: one Pass state (the cost of an execution's
/// request), a chain of 100 Pass states (each Parameters with an intrinsic and a ResultPath merge) at
/// 1 and 4 executions at once, and an inline Map (MaxConcurrency 0) whose ItemProcessor is two Pass
/// states, over 10 000 items (60 006 history events: EXPRESS has no history quota). DescribeStateMachine's rate is the floor of a request to the service.
/// Every execution's status and output are checked, and the states entered in the interpreter's
/// history are checked against the count the rates use.
///   dotnet run -c Release --project bench/Strata.Bench -- states [rounds] [seconds-per-row]
/// </summary>
public static class StatesLoad
{
    const string Account = "000000000000";
    const int Chain = 100, FullMap = 10_000;

    /// <summary>One machine: its definition, an input, what its output must be and how many states one execution enters.</summary>
    sealed record Machine(string Name, string Definition, string Input, Func<JsonNode?, string?> Check, long Transitions);

    public static async Task RunAsync(int rounds, double seconds)
    {
        var chain = PassChain(Chain);
        var full = Map(FullMap);
        var single = PassChain(1);
        // The server runs without background GC (Strata.Server.csproj); so does the interpreter here.
        GCSettings.LatencyMode = GCLatencyMode.Batch;
        var loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        Console.WriteLine($"{Environment.ProcessorCount} cores, load average {loadBefore}; this process: server GC {GCSettings.IsServerGC}, latency mode {GCSettings.LatencyMode}");

        // In-process first, once each: the history must enter exactly the states the rates count.
        var events = new Dictionary<Machine, int>();
        foreach (var m in new[] { single, chain, full })
        {
            var journal = new CountingJournal();
            var output = await RunInProcessAsync(m, journal);
            if (journal.Entered != m.Transitions) throw new InvalidOperationException($"{m.Name}: {journal.Entered} states entered, {m.Transitions} expected");
            events[m] = journal.Count;
            Console.WriteLine($"{m.Name}: {journal.Entered:N0} states entered, {journal.Count:N0} history events, input {m.Input.Length:N0} bytes, output {output.Length:N0} bytes");
        }
        // How the interpreter's cost per transition grows with the Map's size (one warm execution each).
        foreach (var n in new[] { 1_000, 4_000, 10_000, 20_000 })
        {
            var m = Map(n);
            await RunInProcessAsync(m, new MemoryJournal(TimeProvider.System));
            var gen2 = GC.CollectionCount(2);
            var watch = Stopwatch.StartNew();
            await RunInProcessAsync(m, new MemoryJournal(TimeProvider.System));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"in-process {m.Name}: {watch.Elapsed.TotalMilliseconds:N0} ms, {m.Transitions / watch.Elapsed.TotalSeconds:N0} transitions/s, {GC.CollectionCount(2) - gen2} gen2 GCs"));
        }

        var dataDir = Directory.CreateTempSubdirectory("strata-states-bench-").FullName;
        var port = InvokeLoad.FreePort();
        var dll = Path.Combine(Path.GetDirectoryName(typeof(StatesLoad).Assembly.Location)!, "strata.dll");
        using var server = InvokeLoad.Start("dotnet", [dll, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--tls-port", "0", "--data-dir", dataDir],
            new() { ["STRATA_ROOT_ACCESS_KEY_ID"] = InvokeLoad.KeyId, ["STRATA_ROOT_SECRET_ACCESS_KEY"] = InvokeLoad.Secret });
        var rows = new List<(string Row, string Unit, List<double> InProcess, List<double> Server)>();
        var describes = new List<double>();
        try
        {
            var endpoint = $"http://127.0.0.1:{port}";
            await InvokeLoad.WaitAsync($"{endpoint}/_strata/health");
            using var http = InvokeLoad.Client(4);
            // The role the machines run as: states.amazonaws.com may assume it (CreateStateMachine checks).
            var trust = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}""");
            var created = await InvokeLoad.Send(http, endpoint, "iam", "POST", "/", "application/x-www-form-urlencoded",
                Encoding.UTF8.GetBytes($"Action=CreateRole&Version=2010-05-08&RoleName=states-bench&AssumeRolePolicyDocument={trust}"));
            var roleArn = created[(created.IndexOf("<Arn>", StringComparison.Ordinal) + 5)..created.IndexOf("</Arn>", StringComparison.Ordinal)];
            var arns = new Dictionary<string, string>();
            foreach (var m in new[] { single, chain, full })
            {
                var answer = await Call(http, endpoint, "CreateStateMachine", new JsonObject
                {
                    ["name"] = m.Name.Replace(' ', '-').Replace(",", "", StringComparison.Ordinal),
                    ["definition"] = m.Definition,
                    ["roleArn"] = roleArn,
                    ["type"] = "EXPRESS",
                });
                arns[m.Name] = answer["stateMachineArn"]!.GetValue<string>();
            }

            (string Row, Machine M, int Concurrency)[] cases =
            [
                ("One Pass state (transitions = executions), 1 execution at a time", single, 1),
                ($"{chain.Name}, 1 execution at a time", chain, 1),
                ($"{chain.Name}, 4 executions at a time", chain, 4),
                (string.Create(CultureInfo.InvariantCulture, $"{full.Name} ({events[full]:N0} history events)"), full, 1),
            ];
            foreach (var c in cases) rows.Add((c.Row, "transitions/s", [], []));
            var describe = new JsonObject { ["stateMachineArn"] = arns[single.Name] };
            for (var round = 1; round <= rounds; round++)
            {
                // The floor of a request to the service: a read of the machine (SigV4, routing, audit, JSON).
                var floor = await RateAsync(() => Call(http, endpoint, "DescribeStateMachine", describe), 1, seconds);
                describes.Add(floor);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round}: DescribeStateMachine, 1 request at a time: {floor:N0} requests/s"));
                for (var i = 0; i < cases.Length; i++)
                {
                    var (row, m, concurrency) = cases[i];
                    // ABBA: odd rounds measure in-process first, even rounds the server first.
                    foreach (var target in round % 2 == 1 ? new[] { "in-process", "server" } : ["server", "in-process"])
                    {
                        Func<Task> one = target == "in-process"
                            ? async () => await RunInProcessAsync(m, new MemoryJournal(TimeProvider.System))
                            : async () => await RunOnServerAsync(http, endpoint, arns[m.Name], m);
                        var rate = await RateAsync(one, concurrency, seconds) * m.Transitions;
                        (target == "in-process" ? rows[i].InProcess : rows[i].Server).Add(rate);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round}: {row}, {target}: {rate:N0} transitions/s"));
                    }
                }
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            Directory.Delete(dataDir, true);
        }
        Console.WriteLine($"Load average before: {loadBefore}; after: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine($"| machine | in-process interpreter (best of {rounds}) | StartSyncExecution through `strata serve` (best of {rounds}) | server ÷ in-process |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (row, unit, inProcess, onServer) in rows)
        {
            var a = inProcess.Max();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row} | {a:N0} {unit} | {onServer.Max():N0} {unit} | {onServer.Max() / a:F2} |"));
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DescribeStateMachine through the same server, 1 request at a time (the request floor): {describes.Max():N0} requests/s (best of {rounds})"));
    }

    /// <summary>Executions per second: <paramref name="concurrency"/> loops running one after another for
    /// <paramref name="seconds"/> (each loop finishes the execution it started; at least one each).</summary>
    static async Task<double> RateAsync(Func<Task> one, int concurrency, double seconds)
    {
        await one(); // warm
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var count = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            do
            {
                await one();
                Interlocked.Increment(ref count);
            }
            while (Stopwatch.GetTimestamp() < until);
        })));
        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>What the server's runner does around the interpreter for one execution, and no more:
    /// the definition and the input parsed, the run, the output serialized. Returns the output.</summary>
    static async Task<string> RunInProcessAsync(Machine m, IExecutionJournal journal)
    {
        var name = Guid.NewGuid().ToString();
        var start = new ExecutionStart($"arn:aws:states:us-east-1:{Account}:express:{m.Name}:{name}:{Guid.NewGuid()}", name,
            $"arn:aws:states:us-east-1:{Account}:stateMachine:bench", "bench", $"arn:aws:iam::{Account}:role/states-bench", DateTimeOffset.UtcNow, JsonNode.Parse(m.Input));
        ExecutionOutcome outcome;
        // As the server's runner: an error out of the journal (a full history) fails the execution.
        try { outcome = await Interpreter.RunAsync(StateMachineDefinition.Parse(m.Definition), start, new NoTasksHost(journal), CancellationToken.None); }
        catch (StatesError e) { outcome = new ExecutionOutcome("FAILED", null, e.Error, e.Cause); }
        if (outcome.Status != "SUCCEEDED") throw new InvalidOperationException($"{m.Name}: {outcome.Status} {outcome.Error}: {outcome.Cause}");
        var output = outcome.Output?.ToJsonString() ?? "null";
        CheckOutput(m, output);
        return output;
    }

    static async Task RunOnServerAsync(HttpClient http, string endpoint, string arn, Machine m)
    {
        var answer = await Call(http, endpoint, "StartSyncExecution", new JsonObject { ["stateMachineArn"] = arn, ["input"] = m.Input });
        if (answer["status"]?.GetValue<string>() != "SUCCEEDED")
            throw new InvalidOperationException($"{m.Name}: {answer["status"]} {answer["error"]}: {answer["cause"]}");
        CheckOutput(m, answer["output"]?.GetValue<string>());
    }

    static void CheckOutput(Machine m, string? output)
    {
        if (m.Check(output is null ? null : JsonNode.Parse(output)) is { } wrong) throw new InvalidOperationException($"{m.Name}: {wrong}");
    }

    static async Task<JsonNode> Call(HttpClient http, string endpoint, string operation, JsonObject body)
        => JsonNode.Parse(await InvokeLoad.Send(http, endpoint, "states", "POST", "/", "application/x-amz-json-1.0",
            Encoding.UTF8.GetBytes(body.ToJsonString()), "AWSStepFunctions." + operation))!;

    /// <summary>n Pass states in a chain, each adding one to a counter with States.MathAdd (Parameters)
    /// and putting the result beside the rest of the input (ResultPath), which it carries along.</summary>
    static Machine PassChain(int n)
    {
        var states = new JsonObject();
        for (var i = 0; i < n; i++)
        {
            var state = new JsonObject
            {
                ["Type"] = "Pass",
                ["Parameters"] = new JsonObject { ["n.$"] = "States.MathAdd($.count.n, 1)", ["by"] = $"S{i}", ["id.$"] = "$.id" },
                ["ResultPath"] = "$.count",
            };
            if (i + 1 < n) state["Next"] = $"S{i + 1}";
            else state["End"] = true;
            states[$"S{i}"] = state;
        }
        var definition = new JsonObject { ["StartAt"] = "S0", ["States"] = states }.ToJsonString();
        const string input = """{"id":"bench","payload":{"user":"u-42","tags":["a","b","c"],"score":0.75},"count":{"n":0}}""";
        return new Machine($"Pass chain of {n}", definition, input, output =>
            output?["count"]?["n"]?.GetValue<int>() == n && output["count"]!["by"]?.GetValue<string>() == $"S{n - 1}"
            && output["payload"]?["user"]?.GetValue<string>() == "u-42" ? null : $"unexpected output {output?.ToJsonString()}", n);
    }

    /// <summary>An inline Map (MaxConcurrency 0) over n items <c>{"i":k}</c>; each iteration's two Pass
    /// states double the number (Parameters, MathAdd) and pick it out (InputPath), so the output is
    /// the n numbers 2k. Transitions: the Map state and two per item.</summary>
    static Machine Map(int n)
    {
        const string definition = """
            {"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":0,"ItemProcessor":{
              "ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Double","States":{
                "Double":{"Type":"Pass","Parameters":{"d.$":"States.MathAdd($.i, $.i)","i.$":"$.i"},"Next":"Pick"},
                "Pick":{"Type":"Pass","InputPath":"$.d","End":true}}},"End":true}}}
            """;
        var input = "{\"items\":[" + string.Join(',', Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"{{\"i\":{i}}}"))) + "]}";
        return new Machine(string.Create(CultureInfo.InvariantCulture, $"Map of {n:N0} items"), definition, input, output =>
        {
            if (output is not JsonArray a || a.Count != n) return $"output is not an array of {n}: {Shorten(output)}";
            for (var i = 0; i < n; i++)
                if (a[i]?.GetValue<int>() != 2 * i) return $"item {i} is {a[i]?.ToJsonString()}";
            return null;
        }, 1 + 2L * n);
    }

    static string Shorten(JsonNode? node)
    {
        var s = node?.ToJsonString() ?? "null";
        return s.Length > 200 ? s[..200] + "…" : s;
    }

    /// <summary>The world of an execution with no Task states: the system clock and the given journal.</summary>
    sealed class NoTasksHost(IExecutionJournal journal) : IExecutionHost
    {
        public TimeProvider Clock => TimeProvider.System;

        public IExecutionJournal Journal => journal;

        public Task<JsonNode?> RunTaskAsync(TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken cancellationToken)
            => throw new StatesError("States.TaskFailed", "This benchmark's machines have no Task states");
    }

    /// <summary>A journal in memory that counts the states entered (the check that the rates count what ran).</summary>
    sealed class CountingJournal : IExecutionJournal
    {
        readonly Lock _lock = new();
        readonly Dictionary<string, HistoryEvent> _events = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, Lazy<Task<JsonNode?>>> _values = new(StringComparer.Ordinal);

        public int Count { get { lock (_lock) return _events.Count; } }

        /// <summary>How many states the execution entered (<c>…StateEntered</c> events).</summary>
        public int Entered { get; private set; }

        public ValueTask<HistoryEvent> AppendAsync(string key, HistoryEventDraft draft, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (_events.TryGetValue(key, out var recorded)) return ValueTask.FromResult(recorded);
                var e = new HistoryEvent(_events.Count + 1, draft.PreviousEventId, DateTimeOffset.UtcNow, draft.Type, draft.DetailsName, draft.Details);
                _events[key] = e;
                if (draft.Type.EndsWith("StateEntered", StringComparison.Ordinal)) Entered++;
                return ValueTask.FromResult(e);
            }
        }

        public async ValueTask<JsonNode?> OnceAsync(string key, Func<ValueTask<JsonNode?>> compute, CancellationToken cancellationToken)
            => (await _values.GetOrAdd(key, _ => new Lazy<Task<JsonNode?>>(async () => await compute())).Value)?.DeepClone();
    }
}
