using System.Diagnostics;
using Spectre.Console;
using Strata.Server.Services.SageMaker;

namespace Strata.Server;

/// <summary>`strata jobs watch NAME`: a live progress bar of a transform job (objects done, records
/// and their rate) read from the state store, until the job ends; the exit code says how it ended.</summary>
public static class JobsWatch
{
    public static async Task<int> RunAsync(TransformJobStore jobs, string account, string name, CancellationToken ct)
    {
        if (jobs.Get(account, name) is null)
        {
            Console.Error.WriteLine($"strata: no transform job named {name} in account {account}");
            return 2;
        }
        var started = Stopwatch.GetTimestamp();
        TransformJobRow job = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(name, maxValue: 1);
                while (true)
                {
                    job = jobs.WithProgress(account, jobs.Get(account, name)!);
                    var p = job.StrataProgress;
                    var seconds = Math.Max(0.001, Stopwatch.GetElapsedTime(started).TotalSeconds);
                    if (p is not null)
                    {
                        task.MaxValue = Math.Max(1, p.ObjectsTotal);
                        task.Value = p.ObjectsCompleted;
                        task.Description = $"{Markup.Escape(name)}: {p.ObjectsCompleted}/{p.ObjectsTotal} objects, {p.RecordsProcessed:N0} records ({p.RecordsProcessed / seconds:N0}/s)";
                    }
                    if (job.TransformJobStatus is not ("InProgress" or "Stopping")) break;
                    await Task.Delay(250, ct);
                }
                task.StopTask();
            });
        var duration = (job.TransformEndTime ?? DateTimeOffset.UtcNow) - (job.TransformStartTime ?? job.CreationTime);
        AnsiConsole.MarkupLine($"{Markup.Escape(name)}: [bold]{job.TransformJobStatus}[/] after {duration.TotalSeconds:F1} s" +
            (job.FailureReason is { } reason ? $": {Markup.Escape(reason)}" : ""));
        return job.TransformJobStatus == "Completed" ? 0 : 1;
    }
}
