using System.Text;
using System.Text.Json.Nodes;
using Strata.Server.Auth;
using Strata.Server.Protocol;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>
/// Step Functions' service integrations: a Task state's Resource names an operation of a service
/// (<c>arn:aws:states:::sagemaker:createTrainingJob.sync</c>, <c>…:aws-sdk:sagemaker:listModels</c>),
/// its Parameters are that operation's request. Every call goes through <see cref="IInternalCalls"/>
/// (the request pipeline's stages: validation, IAM authorization, the handler, CloudTrail) as the
/// session of the execution's role assumed by <c>states.amazonaws.com</c>. A <c>.sync</c> task
/// records what it created in the journal before it polls, so after a restart it polls the same
/// job instead of creating another.
/// </summary>
public sealed class TaskIntegrations(IInternalCalls calls, ExecutionRoles roles, TimeProvider clock, CallbackTasks callbacks, ActivityStore activities)
    : ITaskIntegrations
{
    public const string StatesService = "states.amazonaws.com";

    /// <summary>How often a <c>.sync</c> task asks how its job is doing (on the injected clock).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Cancelled when the server begins to stop. A task cancelled then is left as it is (its
    /// execution resumes at the next start); a task cancelled otherwise (its execution stopped, its
    /// state timed out, a sibling branch failed) ends what it started, as AWS does.</summary>
    public CancellationToken ServerStopping { get; init; }

    /// <summary>The HTTP Task (<c>arn:aws:states:::http:invoke</c>); null where the server has no connections.</summary>
    public HttpTasks? Http { get; init; }

    /// <summary>The SDK integration names of the JSON services Strata serves: the service id in the
    /// catalog, the PascalCase name errors carry (<c>SageMaker.ResourceNotFoundException</c>), and
    /// whether its wire members are camelCase (States' Parameters are PascalCase for every service).</summary>
    static readonly Dictionary<string, (string Id, string ErrorPrefix, bool CamelCase)> SdkServices = new(StringComparer.Ordinal)
    {
        ["sagemaker"] = ("sagemaker", "SageMaker", false),
        ["sfn"] = ("states", "Sfn", true),
        ["eventbridge"] = ("events", "EventBridge", false),
        ["cloudwatchlogs"] = ("logs", "CloudWatchLogs", true),
        ["kms"] = ("kms", "Kms", false),
        ["cloudwatch"] = ("cloudwatch", "CloudWatch", false),
        ["cloudtrail"] = ("cloudtrail", "CloudTrail", false),
        ["applicationautoscaling"] = ("application-autoscaling", "ApplicationAutoScaling", false),
    };

    /// <summary>SageMaker's jobs that <c>.sync</c> waits for: the Describe operation, the member that names
    /// the job in the request, the status member of the answer, and the operation that stops the job.</summary>
    static readonly Dictionary<string, (string Describe, string NameMember, string StatusMember, string Stop)> SageMakerJobs = new(StringComparer.Ordinal)
    {
        ["CreateTrainingJob"] = ("DescribeTrainingJob", "TrainingJobName", "TrainingJobStatus", "StopTrainingJob"),
        ["CreateTransformJob"] = ("DescribeTransformJob", "TransformJobName", "TransformJobStatus", "StopTransformJob"),
        ["CreateProcessingJob"] = ("DescribeProcessingJob", "ProcessingJobName", "ProcessingJobStatus", "StopProcessingJob"),
        ["CreateHyperParameterTuningJob"] = ("DescribeHyperParameterTuningJob", "HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
            "StopHyperParameterTuningJob"),
    };

    /// <summary>The optimized SageMaker integrations AWS offers (request/response; the jobs also <c>.sync</c>).</summary>
    static readonly HashSet<string> SageMakerOptimized = new(StringComparer.Ordinal)
    {
        "createTrainingJob", "createTransformJob", "createProcessingJob", "createHyperParameterTuningJob", "createModel",
        "createEndpointConfig", "createEndpoint", "updateEndpoint",
    };

    public async Task<JsonNode?> RunAsync(ExecutionRow execution, IExecutionJournal journal, TaskRequest request, Func<HistoryEventDraft, ValueTask> emit,
        CancellationToken ct)
    {
        var resource = request.Resource;
        const string prefix = "arn:aws:states:::";
        if (resource.Split(':') is ["arn", _, "states", _, _, "activity", ..]) return await RunActivityAsync(execution, request, emit, ct);
        if (!resource.StartsWith(prefix, StringComparison.Ordinal))
            throw new StatesError("States.Runtime", $"Strata does not run the task resource '{resource}': only service integrations (arn:aws:states:::…) are served.");
        var path = resource[prefix.Length..];
        var pattern = "";
        foreach (var suffix in new[] { ".sync:2", ".sync", ".waitForTaskToken" })
        {
            if (!path.EndsWith(suffix, StringComparison.Ordinal)) continue;
            pattern = suffix;
            path = path[..^suffix.Length];
            break;
        }
        var parts = path.Split(':');
        // The integrations that may hand a task token on: the request/response ones AWS offers with .waitForTaskToken.
        Func<Principal, Task<JsonNode?>>? callback = (pattern, parts) switch
        {
            (".waitForTaskToken", ["events", "putEvents"]) => p => PutEventsAsync(p, request, ct),
            (".waitForTaskToken", ["sns", "publish"]) => p => PublishAsync(p, request, ct),
            (".waitForTaskToken", ["states", "startExecution"]) => p => CallAsync(p, "states", "StartExecution", StartExecutionRequest(request.Parameters), camelCase: true, ct,
                (code, message, id) => SdkError("StepFunctions", code, message, id)),
            (".waitForTaskToken", ["aws-sdk", var service, var action]) => p => SdkCallAsync(p, resource, service, action, request, ct),
            (".waitForTaskToken", _) => throw new StatesError("States.Runtime", $"Strata does not serve the task resource '{resource}'."),
            _ => null,
        };
        var principal = Assume(execution, request);
        // The task has begun (AWS's TaskStarted, before a .sync task's TaskSubmitted).
        var separator = path.LastIndexOf(':');
        await emit(new HistoryEventDraft("TaskStarted", 0, "taskStartedEventDetails", new JsonObject
        {
            ["resourceType"] = separator < 0 ? path : path[..separator],
            ["resource"] = (separator < 0 ? "" : path[(separator + 1)..]) + pattern,
        }));
        if (callback is not null) return await WaitForTaskTokenAsync(execution, journal, request, emit, () => callback(principal), path, ct);
        switch (parts)
        {
            case ["sagemaker", var action] when SageMakerOptimized.Contains(action):
                {
                    var operation = Pascal(action);
                    if (pattern == "") return await CallSageMakerAsync(principal, operation, request.Parameters, ct);
                    if (pattern == ".sync" && SageMakerJobs.TryGetValue(operation, out var job))
                        return await RunSageMakerJobAsync(principal, operation, job, journal, request, emit, ct);
                    break;
                }
            case ["events", "putEvents"] when pattern == "":
                return await PutEventsAsync(principal, request, ct);
            case ["sns", "publish"] when pattern == "":
                return await PublishAsync(principal, request, ct);
            case ["states", "startExecution"]:
                return await StartExecutionAsync(principal, pattern, journal, request, emit, ct);
            case ["aws-sdk", var service, var action] when pattern == "":
                return await SdkCallAsync(principal, resource, service, action, request, ct);
            case ["http", "invoke"] when pattern == "" && Http is not null:
                return await HttpInvokeAsync(execution, principal, request, ct);
            case ["s3", "getObject" or "listObjectsV2" or "putObject"] when pattern == "" && request.ItemReaderOrWriter:
                return await MapS3Async(principal, Pascal(parts[1]), request, ct);
        }
        throw new StatesError("States.Runtime", $"Strata does not serve the task resource '{resource}'.");
    }

    async Task<JsonNode?> PutEventsAsync(Principal principal, TaskRequest request, CancellationToken ct)
    {
        var output = await CallAsync(principal, "events", "PutEvents", request.Parameters, camelCase: false, ct,
            (code, message, id) => SdkError("EventBridge", code, message, id));
        if (output?["FailedEntryCount"]?.GetValue<int>() is > 0)
            throw new StatesError("EventBridge.FailedEntry", output.ToJsonString());
        return output;
    }

    async Task<JsonNode?> SdkCallAsync(Principal principal, string resource, string service, string action, TaskRequest request, CancellationToken ct)
    {
        var operation = Pascal(action);
        switch (service)
        {
            // S3 (REST-XML) and SNS (Query) are called in their own protocol, as the SDK calls them.
            case "s3":
                if (!SdkWire.ServesS3(operation))
                    throw new StatesError("States.Runtime", $"Strata does not serve the AWS SDK integration '{resource}': of S3 it serves getObject, putObject, headObject, deleteObject and listObjectsV2.");
                var s3 = await calls.SendAsync(principal, "s3", SdkWire.S3Request(operation, request.Parameters, resource), ct);
                if (s3.Error is { } s3Error) throw SdkError("S3", s3Error.Code, s3Error.Message, s3.RequestId, s3Error.Status);
                return SdkWire.S3Answer(operation, s3);
            case "sns":
                var sns = await calls.SendAsync(principal, "sns", SdkWire.SnsRequest(operation, request.Parameters), ct);
                if (sns.Error is { } snsError) throw SdkError("Sns", snsError.Code, snsError.Message, sns.RequestId, snsError.Status);
                return SdkWire.SnsAnswer(operation, sns.Body);
        }
        if (!SdkServices.TryGetValue(service, out var sdk))
            throw new StatesError("States.Runtime", $"Strata does not serve the AWS SDK integration '{resource}': service {service} is not one Strata runs.");
        return await CallAsync(principal, sdk.Id, operation, request.Parameters, sdk.CamelCase, ct,
            (code, message, id) => SdkError(sdk.ErrorPrefix, code, message, id));
    }

    /// <summary>An HTTP Task, as AWS authorizes it: the role may <c>states:InvokeHTTPEndpoint</c> on the state
    /// machine (with <c>states:HTTPEndpoint</c> and <c>states:HTTPMethod</c> for policies that scope it down) and
    /// <c>events:RetrieveConnectionCredentials</c> on the connection.</summary>
    async Task<JsonNode?> HttpInvokeAsync(ExecutionRow execution, Principal principal, TaskRequest request, CancellationToken ct)
    {
        var call = HttpTasks.Parse(request.Parameters);
        try
        {
            roles.Require(principal, "states:InvokeHTTPEndpoint", execution.StateMachineArn, StatesService, "The HTTP Task",
                new Dictionary<string, string> { ["states:HTTPEndpoint"] = call.Endpoint.ToString(), ["states:HTTPMethod"] = call.Method });
            roles.Require(principal, "events:RetrieveConnectionCredentials", call.ConnectionArn, StatesService, "The HTTP Task");
        }
        catch (ExecutionRoleException e)
        {
            throw new StatesError("States.TaskFailed", e.Message);
        }
        return await Http!.InvokeAsync(execution.Account, call, ct);
    }

    /// <summary>The most of an object a distributed Map's ItemReader reads: its items are held in memory
    /// and recorded in the journal (several times their size as JSON), so the bound is well below what AWS reads.</summary>
    const long MaxItemReaderBytes = 32L << 20;

    /// <summary>The most objects an ItemReader lists (MaxItems stops it sooner).</summary>
    const int MaxListedItems = 100_000;

    /// <summary>A distributed Map's ItemReader and ResultWriter calls (<c>arn:aws:states:::s3:getObject</c>,
    /// <c>…:s3:listObjectsV2</c>, <c>…:s3:putObject</c>): the object's whole body (not bounded by a task's
    /// 256 KiB result: the items are split among the iterations), every page of a listing, a result file written.</summary>
    async Task<JsonNode?> MapS3Async(Principal principal, string operation, TaskRequest request, CancellationToken ct)
    {
        if (operation == "ListObjectsV2")
        {
            var contents = new JsonArray();
            var parameters = request.Parameters?.DeepClone() as JsonObject ?? [];
            while (true)
            {
                var page = await calls.SendAsync(principal, "s3", SdkWire.S3Request(operation, parameters, request.Resource) with { MaxResponseBody = MaxItemReaderBytes }, ct);
                if (page.Error is { } e) throw SdkError("S3", e.Code, e.Message, page.RequestId, e.Status);
                var answer = SdkWire.S3Answer(operation, page);
                foreach (var o in answer["Contents"] as JsonArray ?? []) contents.Add(o?.DeepClone());
                if (request.MaxItems is { } max && contents.Count >= max) break;
                if (answer["IsTruncated"]?.GetValue<bool>() != true || answer["NextContinuationToken"] is not JsonValue next) break;
                if (contents.Count >= MaxListedItems)
                    throw new StatesError("States.ItemReaderFailed", $"The listing has more than {MaxListedItems} objects, the most Strata's ItemReader lists: set MaxItems or a narrower Prefix.");
                parameters["ContinuationToken"] = next.GetValue<string>();
            }
            return new JsonObject { ["Contents"] = contents };
        }
        var s3Request = SdkWire.S3Request(operation, request.Parameters, request.Resource);
        if (operation == "GetObject") s3Request = s3Request with { MaxResponseBody = MaxItemReaderBytes + 1 };
        var result = await calls.SendAsync(principal, "s3", s3Request, ct);
        if (result.Error is { } error) throw SdkError("S3", error.Code, error.Message, result.RequestId, error.Status);
        if (operation == "GetObject" && result.Body.Length > MaxItemReaderBytes)
            throw new StatesError("States.ItemReaderFailed", $"The object is larger than the {MaxItemReaderBytes >> 20} MiB an ItemReader reads.");
        if (operation == "GetObject" && request.Gunzip) result = result with { Body = Gunzip(result.Body, request.Parameters?["Key"]?.ToString()) };
        return SdkWire.S3Answer(operation, result);
    }

    /// <summary>A gzip object's content, at most <see cref="MaxItemReaderBytes"/> of it (a small object may hold much more).</summary>
    static byte[] Gunzip(byte[] body, string? key)
    {
        try
        {
            using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
            using var text = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer)) > 0)
            {
                if (text.Length + read > MaxItemReaderBytes)
                    throw new StatesError("States.ItemReaderFailed", $"The object {key} holds more than the {MaxItemReaderBytes >> 20} MiB an ItemReader reads.");
                text.Write(buffer, 0, read);
            }
            return text.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new StatesError("States.ItemReaderFailed", $"The object {key} is not gzip: {e.Message}");
        }
    }

    /// <summary>
    /// The optimized <c>sns:publish</c>: SNS's Publish, whose <c>Message</c> may be JSON (an object or
    /// array is sent as its text, the usual way to hand <c>$$.Task.Token</c> on). Its result is what
    /// AWS's integration gives (it calls SNS with the AWS SDK for Java 1.x): the answer's members with
    /// the SDK's <c>SdkHttpMetadata</c> and <c>SdkResponseMetadata</c>; its errors are that SDK's
    /// exceptions, <c>SNS.NotFoundException</c>, <c>SNS.AuthorizationErrorException</c>, ….
    /// </summary>
    async Task<JsonNode?> PublishAsync(Principal principal, TaskRequest request, CancellationToken ct)
    {
        var parameters = request.Parameters?.DeepClone() as JsonObject ?? [];
        if (parameters["Message"] is { } message && message.GetValueKind() is System.Text.Json.JsonValueKind.Object or System.Text.Json.JsonValueKind.Array)
            parameters["Message"] = message.ToJsonString();
        var result = await calls.SendAsync(principal, "sns", SdkWire.SnsRequest("Publish", parameters), ct);
        if (result.Error is { } e)
        {
            // The Java 1.x SDK's exception class of the code (ParameterValueInvalid is its InvalidParameterValueException).
            var exception = e.Code == "ParameterValueInvalid" ? "InvalidParameterValueException" : e.Code.EndsWith("Exception", StringComparison.Ordinal) ? e.Code : e.Code + "Exception";
            throw new StatesError("SNS." + exception,
                $"{e.Message} (Service: AmazonSNS; Status Code: {e.Status}; Error Code: {e.Code}; Request ID: {result.RequestId}; Proxy: null)");
        }
        var answer = SdkWire.SnsAnswer("Publish", result.Body);
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Length"] = result.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Content-Type"] = result.Headers.GetValueOrDefault("Content-Type") ?? "text/xml",
            ["Date"] = clock.GetUtcNow().UtcDateTime.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["x-amzn-RequestId"] = result.RequestId,
        };
        answer["SdkHttpMetadata"] = new JsonObject
        {
            ["AllHttpHeaders"] = new JsonObject(headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)new JsonArray(h.Value)))),
            ["HttpHeaders"] = new JsonObject(headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))),
            ["HttpStatusCode"] = result.StatusCode,
        };
        answer["SdkResponseMetadata"] = new JsonObject { ["RequestId"] = result.RequestId };
        return answer;
    }

    static TaskTokenRow Waiting(ExecutionRow execution, TaskRequest request, string? activityName, string? input, DateTimeOffset now) => new()
    {
        Token = request.TaskToken ?? throw new StatesError("States.Runtime", $"The task of state '{request.StateName}' has no task token."),
        Account = execution.Account,
        ExecutionArn = execution.ExecutionArn,
        StateMachineName = execution.StateMachineName,
        ExecutionName = execution.Name,
        ActivityName = activityName,
        Input = input,
        Status = activityName is null ? "STARTED" : "SCHEDULED",
        Created = now,
        Started = activityName is null ? now : null,
    };

    public void Ended(string executionArn) => callbacks.Forget(executionArn);

    DateTimeOffset? Deadline(TaskRequest request) => request.Timeout is { } t ? (request.ScheduledAt ?? clock.GetUtcNow()) + t : null;

    /// <summary>
    /// <c>.waitForTaskToken</c>: the token is recorded (before the call, which may answer it at once), the
    /// call is made once (its answer recorded under the attempt's key, as AWS's TaskSubmitted shows it), then
    /// the task waits for SendTaskSuccess/Failure, its heartbeats, or its timeout.
    /// </summary>
    async Task<JsonNode?> WaitForTaskTokenAsync(ExecutionRow execution, IExecutionJournal journal, TaskRequest request,
        Func<HistoryEventDraft, ValueTask> emit, Func<Task<JsonNode?>> call, string path, CancellationToken ct)
    {
        var row = callbacks.Register(Waiting(execution, request, null, null, clock.GetUtcNow()));
        JsonNode? submitted;
        try { submitted = await journal.OnceAsync(request.Key + "/submitted", async () => await call(), ct); }
        catch (StatesError)
        {
            // The call failed: the task fails with its error, and its token answers nothing any more.
            callbacks.Close(row.Token);
            throw;
        }
        var separator = path.LastIndexOf(':');
        await emit(new HistoryEventDraft("TaskSubmitted", 0, "taskSubmittedEventDetails", new JsonObject
        {
            ["resourceType"] = path[..separator],
            ["resource"] = path[(separator + 1)..] + ".waitForTaskToken",
            ["output"] = submitted?.ToJsonString() ?? "{}",
            ["outputDetails"] = new JsonObject { ["truncated"] = false },
        }));
        return await CloseWhenCancelledAsync(row.Token, callbacks.WaitAsync(row.Token, request.Heartbeat, Deadline(request), null, ct), ct);
    }

    /// <summary>A task cancelled other than by a shutdown (its execution stopped, a sibling branch
    /// failed) answers nothing any more: a late SendTaskSuccess gets TaskDoesNotExist rather than 200.</summary>
    async Task<JsonNode?> CloseWhenCancelledAsync(string token, Task<JsonNode?> wait, CancellationToken ct)
    {
        try { return await wait; }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && !ServerStopping.IsCancellationRequested)
        {
            callbacks.Close(token);
            throw;
        }
    }

    /// <summary>
    /// An activity's task: queued for the activity's workers (GetActivityTask), announced with
    /// <c>ActivityStarted</c> when one takes it, then waited for like a task token. An activity that
    /// does not exist (of this account and region) fails to be scheduled, as AWS records it.
    /// </summary>
    async Task<JsonNode?> RunActivityAsync(ExecutionRow execution, TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken ct)
    {
        var arn = request.Resource;
        var token = request.TaskToken ?? throw new StatesError("States.Runtime", $"The task of state '{request.StateName}' has no task token.");
        // A task recorded before a restart is resumed even if its activity was deleted since.
        if (callbacks.Get(token) is null)
        {
            var parts = arn.Split(':');
            var region = execution.ExecutionArn.Split(':')[3];
            if (parts.Length != 7 || parts[3] != region || parts[4] != execution.Account || activities.Get(parts[4], parts[6]) is null)
                throw new StatesError("States.Runtime", $"Activity Does Not Exist: '{arn}'") { ScheduleFailed = true };
            callbacks.Register(Waiting(execution, request, parts[6], request.Parameters?.ToJsonString() ?? "{}", clock.GetUtcNow()));
        }
        return await CloseWhenCancelledAsync(token, callbacks.WaitAsync(token, request.Heartbeat, Deadline(request),
            row => emit(new HistoryEventDraft("ActivityStarted", 0, "activityStartedEventDetails", new JsonObject { ["workerName"] = row.WorkerName })), ct), ct);
    }

    Principal Assume(ExecutionRow execution, TaskRequest request)
    {
        // A task's Credentials would act as another role, which AWS allows only when the execution
        // role may assume it (sts:AssumeRole) and it trusts the execution role; Strata does not
        // check that chain yet, so it refuses any role other than the execution's own rather than
        // letting a machine (or its input) choose a stronger role or another account's.
        var roleArn = request.Credentials?["RoleArn"]?.GetValue<string>() ?? execution.RoleArn;
        if (roleArn != execution.RoleArn)
            throw new StatesError("States.Runtime", $"The task's Credentials name the role {roleArn}: Strata runs tasks only as the execution's role ({execution.RoleArn}).");
        try { return roles.Assume(roleArn, StatesService); }
        catch (ExecutionRoleException e) { throw new StatesError("States.TaskFailed", e.Message); }
    }

    Task<JsonNode?> CallSageMakerAsync(Principal principal, string operation, JsonNode? parameters, CancellationToken ct)
        => CallAsync(principal, "sagemaker", operation, parameters, camelCase: false, ct, SageMakerError);

    /// <summary>A <c>.sync</c> job: created once (its Create answer recorded under the attempt's key),
    /// announced with <c>TaskSubmitted</c>, then polled until it ends. Its Describe answer is the result.</summary>
    async Task<JsonNode?> RunSageMakerJobAsync(Principal principal, string operation, (string Describe, string NameMember, string StatusMember, string Stop) job,
        IExecutionJournal journal, TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken ct)
    {
        var name = request.Parameters?[job.NameMember]?.GetValue<string>();
        var created = await journal.OnceAsync(request.Key + "/created", async () => await CallSageMakerAsync(principal, operation, request.Parameters, ct), ct);
        await emit(new HistoryEventDraft("TaskSubmitted", 0, "taskSubmittedEventDetails", new JsonObject
        {
            ["resourceType"] = "sagemaker",
            ["resource"] = request.Resource["arn:aws:states:::sagemaker:".Length..],
            ["output"] = created?.ToJsonString() ?? "{}",
            ["outputDetails"] = new JsonObject { ["truncated"] = false },
        }));
        var describe = new JsonObject { [job.NameMember] = name };
        try
        {
            while (true)
            {
                var answer = await CallSageMakerAsync(principal, job.Describe, describe, ct);
                switch (answer?[job.StatusMember]?.GetValue<string>())
                {
                    case "Completed":
                        return answer;
                    case "Failed" or "Stopped":
                        // As AWS reports a job that did not complete: the task fails, its cause the job's description.
                        throw new StatesError("States.TaskFailed", answer!.ToJsonString());
                }
                await Task.Delay(PollInterval, clock, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && !ServerStopping.IsCancellationRequested)
        {
            // The task ended without its job (the execution stopped, the state timed out, a sibling
            // failed): AWS stops the job, best effort, as the execution's role.
            await StopQuietlyAsync(() => CallSageMakerAsync(principal, job.Stop, describe, ServerStopping));
            throw;
        }
    }

    /// <summary>A best-effort stop of what a cancelled task started: a job that has ended since, or a
    /// role that may not stop it, leaves it as it is, as AWS's own attempt would.</summary>
    static async Task StopQuietlyAsync(Func<Task<JsonNode?>> stop)
    {
        try { await stop(); }
        catch (StatesError) { }
        catch (OperationCanceledException) { }
    }

    /// <summary><c>states:startExecution</c>: a child execution, waited for with <c>.sync</c> (its
    /// DescribeExecution answer; with <c>.sync:2</c> the output as JSON rather than a string).</summary>
    async Task<JsonNode?> StartExecutionAsync(Principal principal, string pattern, IExecutionJournal journal, TaskRequest request,
        Func<HistoryEventDraft, ValueTask> emit, CancellationToken ct)
    {
        StatesError Error(string code, string message, string id) => SdkError("StepFunctions", code, message, id);
        if (pattern == "") return await CallAsync(principal, "states", "StartExecution", StartExecutionRequest(request.Parameters), camelCase: true, ct, Error);
        var started = await journal.OnceAsync(request.Key + "/created",
            async () => await CallAsync(principal, "states", "StartExecution", StartExecutionRequest(request.Parameters), camelCase: true, ct, Error), ct);
        await emit(new HistoryEventDraft("TaskSubmitted", 0, "taskSubmittedEventDetails", new JsonObject
        {
            ["resourceType"] = "states",
            ["resource"] = "startExecution" + pattern,
            ["output"] = started?.ToJsonString() ?? "{}",
            ["outputDetails"] = new JsonObject { ["truncated"] = false },
        }));
        var describe = new JsonObject { ["ExecutionArn"] = started?["ExecutionArn"]?.GetValue<string>() };
        try
        {
            while (true)
            {
                var answer = await CallAsync(principal, "states", "DescribeExecution", describe, camelCase: true, ct, Error);
                var status = answer?["Status"]?.GetValue<string>();
                if (status is not null and not "RUNNING")
                {
                    if (pattern == ".sync:2" && answer is JsonObject o)
                    {
                        if (o["Output"]?.GetValue<string>() is { } output) o["Output"] = JsonNode.Parse(output);
                        if (o["Input"]?.GetValue<string>() is { } input) o["Input"] = JsonNode.Parse(input);
                    }
                    if (status == "SUCCEEDED") return answer;
                    throw new StatesError("States.TaskFailed", answer!.ToJsonString());
                }
                await Task.Delay(PollInterval, clock, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && !ServerStopping.IsCancellationRequested)
        {
            // As for a job: the child execution is stopped with its parent's task.
            await StopQuietlyAsync(() => CallAsync(principal, "states", "StopExecution", describe, camelCase: true, ServerStopping, Error));
            throw;
        }
    }

    /// <summary>StartExecution's request as the optimized integration takes it: its Input may be JSON
    /// itself (the usual way to hand the child <c>$$.Task.Token</c>), which the API takes as a string.</summary>
    static JsonNode? StartExecutionRequest(JsonNode? parameters)
    {
        if (parameters is not JsonObject o || o["Input"] is not { } input || input.GetValueKind() == System.Text.Json.JsonValueKind.String) return parameters;
        var copy = o.DeepClone().AsObject();
        copy["Input"] = input.ToJsonString();
        return copy;
    }

    /// <summary>One call through the pipeline; the answer as JSON, PascalCase as States shows every service's.</summary>
    async Task<JsonNode?> CallAsync(Principal principal, string serviceId, string operation, JsonNode? parameters, bool camelCase, CancellationToken ct,
        Func<string, string, string, StatesError> error)
    {
        var request = parameters?.DeepClone() ?? new JsonObject();
        if (camelCase) request = Rename(request, Camel);
        var result = await calls.CallAsync(principal, serviceId, operation, Encoding.UTF8.GetBytes(request.ToJsonString()), ct);
        if (result.Error is { } e) throw error(e.Code, e.Message, result.RequestId);
        var answer = result.Body is { Length: > 0 } body ? JsonNode.Parse(body) : new JsonObject();
        return camelCase && answer is not null ? Rename(answer, Pascal) : answer;
    }

    /// <summary>An optimized SageMaker integration's failure, as AWS names it: the SDK's exception class
    /// and the SDK's message of the service's error.</summary>
    static StatesError SageMakerError(string code, string message, string requestId)
        => new("SageMaker.AmazonSageMakerException", $"{message} (Service: AmazonSageMaker; Status Code: 400; Error Code: {code}; Request ID: {requestId}; Proxy: null)");

    /// <summary>An AWS SDK integration's failure: <c>Service.ErrorCode</c>, with AWS's "Exception" suffix always there.</summary>
    static StatesError SdkError(string service, string code, string message, string requestId, int status = 400)
        => new($"{service}.{(code.EndsWith("Exception", StringComparison.Ordinal) ? code : code + "Exception")}",
            $"{message} (Service: {service}, Status Code: {status}, Request ID: {requestId})");

    static string Pascal(string name) => name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name[1..];

    static string Camel(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    /// <summary>The same JSON with every member renamed (a service whose wire members are camelCase).</summary>
    static JsonNode Rename(JsonNode node, Func<string, string> rename) => node switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(rename(kv.Key), kv.Value is null ? null : Rename(kv.Value, rename)))),
        JsonArray a => new JsonArray(a.Select(i => i is null ? null : Rename(i, rename)).ToArray()),
        _ => node.DeepClone(),
    };
}
