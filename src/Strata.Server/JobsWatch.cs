using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Strata.Server.Jobs.Containers;
using Strata.Server.Jobs.Processing;
using Strata.Server.Jobs.Training;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>`strata jobs watch NAME`: a job followed live from the state store until it ends; the
/// exit code says how it ended (0 Completed, 1 otherwise, 2 no such job). A transform job shows a
/// progress bar (objects done, records and their rate); a training job prints each status
/// transition and each new metric value as they happen, a processing job each status, both with
/// the log's last line beside a spinner when a person is watching.</summary>
public static class JobsWatch
{
    /// <summary>The kinds of job the command follows, by the name their API gives them.</summary>
    public static readonly string[] Types = ["transform", "training", "processing"];

    /// <summary>The watcher's clock, for how long a running job has run: the person's wall clock
    /// (the server's own clock is not this process's to read).</summary>
    static readonly TimeProvider Clock = TimeProvider.System;

    public static async Task<int> RunAsync(IStateStore state, string logDir, string account, string name, string? type, CancellationToken ct)
    {
        var transforms = new TransformJobStore(state);
        var training = new TrainingJobStore(state);
        var processing = new ProcessingJobStore(state);
        var found = new List<string>();
        if ((type is null or "transform") && transforms.Get(account, name) is not null) found.Add("transform");
        if ((type is null or "training") && training.Get(account, name) is not null) found.Add("training");
        if ((type is null or "processing") && processing.Get(account, name) is not null) found.Add("processing");
        switch (found)
        {
            case []:
                Console.Error.WriteLine($"strata: no {type ?? "transform, training or processing"} job named {name} in account {account}");
                return 2;
            case [_, _, ..]:
                Console.Error.WriteLine($"strata: {name} names a {string.Join(" and a ", found)} job: say which with --type");
                return 2;
            case ["transform"]:
                return await TransformAsync(transforms, account, name, ct);
            case ["training"]:
                return await TrainingAsync(training, JobContainer.LogFile(logDir, TrainingJobRunner.LogGroup, account, name), account, name, ct);
            default:
                return await ProcessingAsync(processing, JobContainer.LogFile(logDir, ProcessingJobRunner.LogGroup, account, name), account, name, ct);
        }
    }

    static async Task<int> TransformAsync(TransformJobStore jobs, string account, string name, CancellationToken ct)
    {
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
        var duration = (job.TransformEndTime ?? Clock.GetUtcNow()) - (job.TransformStartTime ?? job.CreationTime);
        AnsiConsole.MarkupLine($"{Markup.Escape(name)}: [bold]{job.TransformJobStatus}[/] after {duration.TotalSeconds:F1} s" +
            (job.FailureReason is { } reason ? $": {Markup.Escape(reason)}" : ""));
        return job.TransformJobStatus == "Completed" ? 0 : 1;
    }

    static async Task<int> TrainingAsync(TrainingJobStore jobs, string logFile, string account, string name, CancellationToken ct)
    {
        var shownTransitions = 0;
        var shownMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var job = jobs.Get(account, name)!;
        // What changed since the last look, as lines: each new (or newly ended) transition and each new metric value.
        void Show()
        {
            var transitions = job.State.Transitions;
            for (; shownTransitions < transitions.Count; shownTransitions++)
            {
                var t = transitions[shownTransitions];
                AnsiConsole.MarkupLine($"{t.StartTime.ToLocalTime():HH:mm:ss}  [bold]{Markup.Escape(t.Status),-12}[/] {Markup.Escape(t.StatusMessage)}");
            }
            foreach (var m in job.State.FinalMetrics)
            {
                if (shownMetrics.TryGetValue(m.MetricName, out var shown) && shown.Equals(m.Value)) continue;
                shownMetrics[m.MetricName] = m.Value;
                AnsiConsole.MarkupLine($"{m.Timestamp.ToLocalTime():HH:mm:ss}  {"metric",-12} {Markup.Escape(m.MetricName)} = {m.Value.ToString("G6", CultureInfo.InvariantCulture)}");
            }
        }
        await FollowAsync(() =>
        {
            job = jobs.Get(account, name) ?? job;
            Show();
            return job.State.IsTerminal ? null : job.State.SecondaryStatus;
        }, logFile, ct);

        var s = job.State;
        var duration = (s.TrainingEndTime ?? Clock.GetUtcNow()) - (s.TrainingStartTime ?? job.Job.CreationTime);
        AnsiConsole.MarkupLine($"{Markup.Escape(name)}: [bold]{s.Status}[/] after {duration.TotalSeconds:F1} s"
            + (s.S3ModelArtifacts is { } model ? $", model {Markup.Escape(model)}" : "")
            + (s.FailureReason is { } reason ? $": {Markup.Escape(reason)}" : ""));
        return s.Status == "Completed" ? 0 : 1;
    }

    static async Task<int> ProcessingAsync(ProcessingJobStore jobs, string logFile, string account, string name, CancellationToken ct)
    {
        var job = jobs.Get(account, name)!;
        string? shown = null;
        await FollowAsync(() =>
        {
            job = jobs.Get(account, name) ?? job;
            if (job.State.Status != shown)
                AnsiConsole.MarkupLine($"{job.State.LastModifiedTime.ToLocalTime():HH:mm:ss}  [bold]{Markup.Escape(shown = job.State.Status),-12}[/]");
            return job.State.IsTerminal ? null : job.State.Status;
        }, logFile, ct);
        var s = job.State;
        var duration = (s.ProcessingEndTime ?? Clock.GetUtcNow()) - (s.ProcessingStartTime ?? job.Job.CreationTime);
        AnsiConsole.MarkupLine($"{Markup.Escape(name)}: [bold]{s.Status}[/] after {duration.TotalSeconds:F1} s"
            + (s.FailureReason is { } reason ? $": {Markup.Escape(reason)}" : "")
            + (s.ExitMessage is { Length: > 0 } message ? $" (exit message: {Markup.Escape(message)})" : ""));
        return s.Status == "Completed" ? 0 : 1;
    }

    /// <summary>Looks at a job twice a second until <paramref name="look"/> says it has ended (null;
    /// else what it is doing), with a spinner and the log's last line for a person, plain lines
    /// for a pipe or a file.</summary>
    static async Task FollowAsync(Func<string?> look, string logFile, CancellationToken ct)
    {
        async Task Follow(Action<string>? status)
        {
            while (look() is { } doing)
            {
                status?.Invoke($"{doing}: {LastLine(logFile) ?? "…"}");
                await Task.Delay(500, ct);
            }
        }
        if (AnsiConsole.Profile.Capabilities.Interactive)
            await AnsiConsole.Status().StartAsync("Starting", ctx => Follow(line => ctx.Status(Markup.Escape(line.Length > 120 ? line[..120] + "…" : line))));
        else
            await Follow(null);
    }

    /// <summary>The last non-empty line of a log file, read from its end (a log can be large).</summary>
    static string? LastLine(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = (int)Math.Min(file.Length, 4096);
            file.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            file.ReadExactly(buffer);
            var lines = Encoding.UTF8.GetString(buffer).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? null : lines[^1];
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
