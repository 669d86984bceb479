using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// Model Monitor's alerts (ListMonitoringAlerts, UpdateMonitoringAlert, ListMonitoringAlertHistory),
/// as the Model Dashboard shows them: each schedule has one alert, named for its type
/// (<see cref="AlertName"/>), InAlert while at least DatapointsToAlert of its last EvaluationPeriod
/// ended executions failed (CompletedWithViolations or Failed; fewer executions than the period
/// count as they are), else OK; 1 of 1 until UpdateMonitoringAlert says otherwise. The status and
/// its history are derived from the executions when asked, with the alert's present criteria, so
/// they can never disagree with ListMonitoringExecutions.
/// </summary>
public sealed partial class SageMakerService
{
    const int DefaultAlertCriterion = 1;

    IEnumerable<Operation> MonitoringAlertOperations =>
    [
        SageMakerOperations.ListMonitoringAlerts.Bind("sagemaker:ListMonitoringAlerts",
            Named<ListMonitoringAlertsRequest>("monitoring-schedule", r => r.MonitoringScheduleName), ListMonitoringAlerts),
        SageMakerOperations.UpdateMonitoringAlert.Bind("sagemaker:UpdateMonitoringAlert",
            Named<UpdateMonitoringAlertRequest>("monitoring-schedule", r => r.MonitoringScheduleName), UpdateMonitoringAlert),
        SageMakerOperations.ListMonitoringAlertHistory.Bind("sagemaker:ListMonitoringAlertHistory", Anywhere, ListMonitoringAlertHistory),
    ];

    /// <summary>A schedule's alert: data-quality-violations, model-quality-violations,
    /// model-bias-violations or model-explainability-violations.</summary>
    public static string AlertName(string monitoringType) => monitoringType switch
    {
        MonitoringStore.ModelQuality => "model-quality-violations",
        MonitoringStore.ModelBias => "model-bias-violations",
        MonitoringStore.ModelExplainability => "model-explainability-violations",
        _ => "data-quality-violations",
    };

    /// <summary>The alert's status after each ended execution, oldest first: (when it ended, status).</summary>
    List<(DateTimeOffset At, string Status)> AlertStatuses(string account, MonitoringScheduleRow schedule)
    {
        var datapoints = schedule.AlertDatapointsToAlert ?? DefaultAlertCriterion;
        var period = schedule.AlertEvaluationPeriod ?? DefaultAlertCriterion;
        var ended = Monitoring.ListExecutions(account, schedule.MonitoringScheduleName)
            .OrderBy(e => e.ScheduledTime)
            .Select(e => ExecutionState(account, e))
            .Where(s => s.Status is "Completed" or "CompletedWithViolations" or "Failed" or "Stopped")
            .ToList();
        var statuses = new List<(DateTimeOffset, string)>();
        for (var i = 0; i < ended.Count; i++)
        {
            var failures = ended.Skip(Math.Max(0, i + 1 - period)).Take(Math.Min(period, i + 1)).Count(s => s.Status is "CompletedWithViolations" or "Failed");
            statuses.Add((ended[i].LastModified, failures >= datapoints ? "InAlert" : "OK"));
        }
        return statuses;
    }

    ListMonitoringAlertsResponse ListMonitoringAlerts(ListMonitoringAlertsRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var schedule = RequireSchedule(account, input.MonitoringScheduleName!);
        var statuses = AlertStatuses(account, schedule);
        var (page, next) = PageToken.Page(new List<MonitoringAlertSummary>
        {
            new()
            {
                MonitoringAlertName = AlertName(schedule.MonitoringType),
                CreationTime = schedule.CreationTime,
                LastModifiedTime = schedule.AlertLastModifiedTime ?? schedule.CreationTime,
                AlertStatus = statuses.Count > 0 ? statuses[^1].Status : "OK",
                DatapointsToAlert = schedule.AlertDatapointsToAlert ?? DefaultAlertCriterion,
                EvaluationPeriod = schedule.AlertEvaluationPeriod ?? DefaultAlertCriterion,
                Actions = new MonitoringAlertActions { ModelDashboardIndicator = new ModelDashboardIndicatorAction { Enabled = true } },
            },
        }, input.NextToken, input.MaxResults, defaultMax: 100);
        return new ListMonitoringAlertsResponse { MonitoringAlertSummaries = page, NextToken = next };
    }

    UpdateMonitoringAlertResponse UpdateMonitoringAlert(UpdateMonitoringAlertRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var schedule = RequireSchedule(account, input.MonitoringScheduleName!);
        if (input.MonitoringAlertName != AlertName(schedule.MonitoringType))
            throw SageMakerErrors.ResourceNotFound($"Monitoring alert {input.MonitoringAlertName} does not exist for the monitoring schedule {schedule.MonitoringScheduleArn}: its alert is {AlertName(schedule.MonitoringType)}.");
        if (input.DatapointsToAlert > input.EvaluationPeriod)
            throw SageMakerErrors.ValidationException($"DatapointsToAlert {input.DatapointsToAlert} must not be greater than EvaluationPeriod {input.EvaluationPeriod}: it counts failed executions among the last EvaluationPeriod.");
        _ = Monitoring.UpdateSchedule(account, schedule.MonitoringScheduleName, s => s with
        {
            AlertDatapointsToAlert = input.DatapointsToAlert,
            AlertEvaluationPeriod = input.EvaluationPeriod,
            AlertLastModifiedTime = clock.GetUtcNow(),
        }) ?? throw new MonitoringScheduleNotFound(schedule.MonitoringScheduleArn);
        return new UpdateMonitoringAlertResponse { MonitoringScheduleArn = schedule.MonitoringScheduleArn, MonitoringAlertName = input.MonitoringAlertName };
    }

    /// <summary>Each change of an alert's status (the first InAlert, each return to OK, …), of one
    /// schedule or all the account's.</summary>
    ListMonitoringAlertHistoryResponse ListMonitoringAlertHistory(ListMonitoringAlertHistoryRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var schedules = input.MonitoringScheduleName is { } one ? [RequireSchedule(account, one)] : Monitoring.ListSchedules(account);
        var entries = new List<MonitoringAlertHistorySummary>();
        foreach (var schedule in schedules)
        {
            var name = AlertName(schedule.MonitoringType);
            if (input.MonitoringAlertName is { } wanted && wanted != name) continue;
            var previous = "OK";
            foreach (var (at, status) in AlertStatuses(account, schedule))
            {
                if (status == previous) continue;
                previous = status;
                entries.Add(new MonitoringAlertHistorySummary { MonitoringScheduleName = schedule.MonitoringScheduleName, MonitoringAlertName = name, CreationTime = at, AlertStatus = status });
            }
        }
        static long Ms(DateTimeOffset? t) => t!.Value.ToUnixTimeMilliseconds();
        IEnumerable<MonitoringAlertHistorySummary> rows = entries;
        if (input.StatusEquals is { } s) rows = rows.Where(e => e.AlertStatus == s);
        if (input.CreationTimeBefore is { } before) rows = rows.Where(e => Ms(e.CreationTime) <= Ms(before));
        if (input.CreationTimeAfter is { } after) rows = rows.Where(e => Ms(e.CreationTime) >= Ms(after));
        Func<MonitoringAlertHistorySummary, IComparable> key = input.SortBy == "Status" ? e => e.AlertStatus! : e => e.CreationTime!.Value;
        var sorted = input.SortOrder == "Ascending" ? rows.OrderBy(key) : rows.OrderByDescending(key);
        var (page, next) = PageToken.Page(sorted.ToList(), input.NextToken, input.MaxResults, defaultMax: 100);
        return new ListMonitoringAlertHistoryResponse { MonitoringAlertHistory = page, NextToken = next };
    }
}
