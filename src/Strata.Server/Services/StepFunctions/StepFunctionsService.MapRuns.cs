using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;

namespace Strata.Server.Services.StepFunctions;

/// <summary>Map Runs: a distributed Map's set of child executions (DescribeMapRun, ListMapRuns), the
/// settings UpdateMapRun changes while it runs, and the children themselves (ListExecutions by Map Run).
/// The runs and children are the runner's (<see cref="MapRunStore"/>).</summary>
public sealed partial class StepFunctionsService
{
    IEnumerable<Operation> MapRunOperations =>
    [
        StepFunctionsOperations.DescribeMapRun.Bind("states:DescribeMapRun", (r, _) => r.MapRunArn!, DescribeMapRun),
        StepFunctionsOperations.ListMapRuns.Bind("states:ListMapRuns", (r, _) => r.ExecutionArn!, ListMapRuns),
        StepFunctionsOperations.UpdateMapRun.Bind("states:UpdateMapRun", (r, _) => r.MapRunArn!, UpdateMapRun),
    ];

    MapRunStore MapRuns => runner.MapRuns!;

    /// <summary>The Map Run of an ARN (<c>…:mapRun:Machine/Label:id</c>) in the caller's account.</summary>
    MapRunRow MapRun(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "mapRun");
        if (parts.Length != 8) throw new BadArn($"Invalid ARN: {arn}");
        if (parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new StatesResourceNotFound(arn);
        return MapRuns.Get(parts[4], arn) ?? throw new StatesResourceNotFound(arn);
    }

    DescribeMapRunOutput DescribeMapRun(DescribeMapRunInput request, RequestContext ctx)
    {
        var run = MapRun(ctx, request.MapRunArn!);
        var (executionCounts, itemCounts) = MapRuns.Counts(run);
        return new DescribeMapRunOutput
        {
            MapRunArn = run.MapRunArn,
            ExecutionArn = run.ExecutionArn,
            Status = run.Status,
            StartDate = run.StartDate,
            StopDate = run.StopDate,
            MaxConcurrency = run.MaxConcurrency,
            ToleratedFailurePercentage = (float)run.ToleratedFailurePercentage,
            ToleratedFailureCount = run.ToleratedFailureCount,
            ExecutionCounts = new MapRunExecutionCounts
            {
                Pending = executionCounts.Pending,
                Running = executionCounts.Running,
                Succeeded = executionCounts.Succeeded,
                Failed = executionCounts.Failed,
                TimedOut = executionCounts.TimedOut,
                Aborted = executionCounts.Aborted,
                Total = executionCounts.Total,
                ResultsWritten = executionCounts.ResultsWritten,
                FailuresNotRedrivable = 0,
                PendingRedrive = 0,
            },
            ItemCounts = new MapRunItemCounts
            {
                Pending = itemCounts.Pending,
                Running = itemCounts.Running,
                Succeeded = itemCounts.Succeeded,
                Failed = itemCounts.Failed,
                TimedOut = itemCounts.TimedOut,
                Aborted = itemCounts.Aborted,
                Total = itemCounts.Total,
                ResultsWritten = itemCounts.ResultsWritten,
                FailuresNotRedrivable = 0,
                PendingRedrive = 0,
            },
            RedriveCount = run.RedriveCount,
            RedriveDate = run.RedriveDate,
        };
    }

    ListMapRunsOutput ListMapRuns(ListMapRunsInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        var (page, next) = Page(MapRuns.Of(e.ExecutionArn), request.NextToken, request.MaxResults);
        return new ListMapRunsOutput
        {
            MapRuns = page.Select(r => new MapRunListItem
            {
                ExecutionArn = r.ExecutionArn,
                MapRunArn = r.MapRunArn,
                StateMachineArn = r.StateMachineArn,
                StartDate = r.StartDate,
                StopDate = r.StopDate,
            }).ToList(),
            NextToken = next,
        };
    }

    UpdateMapRunOutput UpdateMapRun(UpdateMapRunInput request, RequestContext ctx)
    {
        var run = MapRun(ctx, request.MapRunArn!);
        if (request.MaxConcurrency is null && request.ToleratedFailureCount is null && request.ToleratedFailurePercentage is null)
            throw new StatesValidation("At least one of the parameters maxConcurrency, toleratedFailurePercentage and toleratedFailureCount must be specified");
        // A run that ended has nothing left to change (its children no longer start or fail).
        if (run.Status != "RUNNING") throw new StatesValidation($"Map Run {run.MapRunArn} is {run.Status} and cannot be updated");
        var updated = false;
        var now = MapRuns.Update(run.Account, run.MapRunArn, r =>
        {
            if (r.Status != "RUNNING") return null;
            updated = true;
            return r with
            {
                MaxConcurrency = request.MaxConcurrency ?? r.MaxConcurrency,
                ToleratedFailureCount = request.ToleratedFailureCount ?? r.ToleratedFailureCount,
                ToleratedFailurePercentage = request.ToleratedFailurePercentage ?? r.ToleratedFailurePercentage,
            };
        });
        if (!updated) throw new StatesValidation($"Map Run {run.MapRunArn} is {now?.Status} and cannot be updated");
        return new UpdateMapRunOutput();
    }

    /// <summary>ListExecutions by Map Run: the run's children, each with its share of the items.</summary>
    ListExecutionsOutput ListChildExecutions(ListExecutionsInput request, RequestContext ctx)
    {
        if (request.StateMachineArn is not null) throw new StatesValidation("Specify either stateMachineArn or mapRunArn, not both");
        var run = MapRun(ctx, request.MapRunArn!);
        var all = MapRuns.Children(run)
            .Where(e => request.StatusFilter is null || e.Status == request.StatusFilter)
            .Where(e => request.RedriveFilter switch { "REDRIVEN" => e.RedriveCount > 0, "NOT_REDRIVEN" => e.RedriveCount == 0, _ => true }).ToList();
        var (page, next) = Page(all, request.NextToken, request.MaxResults);
        return new ListExecutionsOutput
        {
            Executions = page.Select(ListItem).ToList(),
            NextToken = next,
        };
    }
}
