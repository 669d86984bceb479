using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;

namespace Strata.Server.Services.StepFunctions;

/// <summary>Activities and the callback pattern: CreateActivity … DeleteActivity, GetActivityTask (a worker
/// takes a task, waiting up to a minute for one), and SendTaskSuccess/Failure/Heartbeat, which answer a
/// task by its token (an activity's task or a <c>.waitForTaskToken</c> task). The waiting itself is
/// <see cref="CallbackTasks"/>'s.</summary>
public sealed partial class StepFunctionsService
{
    /// <summary>How long GetActivityTask waits for a task before it answers without one (AWS's 60 seconds).</summary>
    public static readonly TimeSpan ActivityPollWait = TimeSpan.FromSeconds(60);

    public required ActivityStore Activities { get; init; }

    public required CallbackTasks Callbacks { get; init; }

    /// <summary>The server's shutdown: a worker's long poll answers at once, without a task, rather
    /// than hold the shutdown up for the rest of its minute.</summary>
    public CancellationToken ServerStopping { get; init; }

    IEnumerable<Operation> ActivityOperations =>
    [
        StepFunctionsOperations.CreateActivity.Bind("states:CreateActivity", (r, ctx) => ActivityArn(ctx.Principal.AccountId, r.Name ?? "*"), CreateActivity),
        StepFunctionsOperations.DescribeActivity.Bind("states:DescribeActivity", (r, _) => r.ActivityArn!, DescribeActivity),
        StepFunctionsOperations.ListActivities.Bind("states:ListActivities", (_, ctx) => ActivityArn(ctx.Principal.AccountId, "*"), ListActivities),
        StepFunctionsOperations.DeleteActivity.Bind("states:DeleteActivity", (r, _) => r.ActivityArn!, DeleteActivity),
        StepFunctionsOperations.GetActivityTask.Bind("states:GetActivityTask", (r, _) => r.ActivityArn!, GetActivityTask),
        // AWS scopes the answers to no resource: the token is the capability, and it is refused to other accounts.
        StepFunctionsOperations.SendTaskSuccess.Bind("states:SendTaskSuccess", (_, _) => "*", SendTaskSuccess),
        StepFunctionsOperations.SendTaskFailure.Bind("states:SendTaskFailure", (_, _) => "*", SendTaskFailure),
        StepFunctionsOperations.SendTaskHeartbeat.Bind("states:SendTaskHeartbeat", (_, _) => "*", SendTaskHeartbeat),
    ];

    string ActivityArn(string account, string name) => $"arn:aws:states:{region}:{account}:activity:{name}";

    /// <summary>The name of an activity ARN of the caller's account and this region; otherwise none exists.</summary>
    string ActivityName(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "activity");
        if (parts.Length != 7 || parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new ActivityNotFound(arn);
        return parts[6];
    }

    ActivityRow Activity(RequestContext ctx, string arn)
        => Activities.Get(ctx.Principal.AccountId, ActivityName(ctx, arn)) ?? throw new ActivityNotFound(arn);

    CreateActivityOutput CreateActivity(CreateActivityInput request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        CheckName(request.Name!);
        string? encryption = null;
        if (request.EncryptionConfiguration is { } e)
        {
            // Activity data is kept as the rest of the state store is; a key of the customer's own would
            // promise an encryption Strata does not do for it, so it is refused rather than ignored.
            if (e.Type != "AWS_OWNED_KEY")
                throw new BadEncryptionConfiguration("Strata encrypts activity data only with its own key: the encryption configuration's type must be AWS_OWNED_KEY.");
            encryption = JsonSerializer.Serialize(e, StepFunctionsJson.Default.EncryptionConfiguration);
        }
        var tags = Tags(request.Tags);
        if (tags.Count > MaxTags) throw new TooManyStatesTags(ActivityArn(account, request.Name!));
        var row = new ActivityRow
        {
            Name = request.Name!,
            Arn = ActivityArn(account, request.Name!),
            CreationDate = clock.GetUtcNow(),
            EncryptionConfiguration = encryption,
            Tags = tags,
        };
        // Idempotent by name, as AWS's: creating it again answers the one there (its tags as they are).
        var created = Activities.Add(account, row) ?? row;
        return new CreateActivityOutput { ActivityArn = created.Arn, CreationDate = created.CreationDate };
    }

    DescribeActivityOutput DescribeActivity(DescribeActivityInput request, RequestContext ctx)
    {
        var a = Activity(ctx, request.ActivityArn!);
        return new DescribeActivityOutput
        {
            ActivityArn = a.Arn,
            Name = a.Name,
            CreationDate = a.CreationDate,
            EncryptionConfiguration = a.EncryptionConfiguration is { } json
                ? JsonSerializer.Deserialize(json, StepFunctionsJson.Default.EncryptionConfiguration)
                : new EncryptionConfiguration { Type = "AWS_OWNED_KEY" },
        };
    }

    ListActivitiesOutput ListActivities(ListActivitiesInput request, RequestContext ctx)
    {
        var (page, next) = Page(Activities.List(ctx.Principal.AccountId), request.NextToken, request.MaxResults);
        return new ListActivitiesOutput
        {
            Activities = page.Select(a => new ActivityListItem { ActivityArn = a.Arn, Name = a.Name, CreationDate = a.CreationDate }).ToList(),
            NextToken = next,
        };
    }

    DeleteActivityOutput DeleteActivity(DeleteActivityInput request, RequestContext ctx)
    {
        // Deleting one that is not there succeeds, as AWS's does; tasks already scheduled stay answerable.
        var parts = ParseArn(request.ActivityArn!, "activity");
        if (parts.Length == 7 && parts[4] == ctx.Principal.AccountId && parts[3] == region) Activities.Delete(parts[4], parts[6]);
        return new DeleteActivityOutput();
    }

    async Task<GetActivityTaskOutput> GetActivityTask(GetActivityTaskInput request, RequestContext ctx)
    {
        var activity = Activity(ctx, request.ActivityArn!);
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ctx.Http.RequestAborted, ServerStopping);
        TaskTokenRow? task;
        try { task = await Callbacks.TakeAsync(ctx.Principal.AccountId, activity.Name, request.WorkerName, ActivityPollWait, poll.Token); }
        catch (OperationCanceledException) when (ServerStopping.IsCancellationRequested && !ctx.Http.RequestAborted.IsCancellationRequested) { task = null; }
        // No task within the wait: an answer without a token, as AWS's (a worker simply polls again).
        return task is null ? new GetActivityTaskOutput() : new GetActivityTaskOutput { TaskToken = task.Token, Input = task.Input };
    }

    SendTaskSuccessOutput SendTaskSuccess(SendTaskSuccessInput request, RequestContext ctx)
    {
        var output = request.Output!;
        try { CheckJson(output); }
        catch (JsonException e) { throw new BadTaskOutput(e.Message); }
        Callbacks.Succeed(ctx.Principal.AccountId, request.TaskToken!, output);
        return new SendTaskSuccessOutput();
    }

    SendTaskFailureOutput SendTaskFailure(SendTaskFailureInput request, RequestContext ctx)
    {
        Callbacks.Fail(ctx.Principal.AccountId, request.TaskToken!, request.Error, request.Cause);
        return new SendTaskFailureOutput();
    }

    SendTaskHeartbeatOutput SendTaskHeartbeat(SendTaskHeartbeatInput request, RequestContext ctx)
    {
        Callbacks.Heartbeat(ctx.Principal.AccountId, request.TaskToken!);
        return new SendTaskHeartbeatOutput();
    }
}
