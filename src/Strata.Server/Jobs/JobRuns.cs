using System.Collections.Concurrent;

namespace Strata.Server.Jobs;

/// <summary>
/// The runs in progress of one kind of job (transform, training, processing), kept the same way
/// for each runner: at most one run per job, each in the background with a token that the
/// server's shutdown cancels, a way to ask a run to stop (its job's Stop operation), and a
/// shutdown that waits a moment for the runs to let go of their files and processes.
/// </summary>
public sealed class JobRuns(TimeProvider clock) : IDisposable
{
    /// <summary>How long the server's shutdown waits for the runs to end.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

    /// <summary>One job's run.</summary>
    public sealed class Run(CancellationToken shutdown) : IDisposable
    {
        readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(shutdown);

        /// <summary>Cancelled when the run is to end at once: the server is stopping, or <see cref="Cancel"/>.</summary>
        public CancellationToken Token => _cancel.Token;

        /// <summary>Completed with the reason when the job is to stop gracefully (its Stop operation).</summary>
        public TaskCompletionSource<string> StopRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Cancel()
        {
            // A run that has just ended has let go of its token source.
            try { _cancel.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        public void Dispose() => _cancel.Dispose();
    }

    readonly ConcurrentDictionary<(string Account, string Name), Run> _running = new();
    readonly ConcurrentDictionary<Task, bool> _tasks = new();
    readonly CancellationTokenSource _shutdown = new();

    /// <summary>The server is stopping: a run that ends now leaves its job for the next start to decide.</summary>
    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    /// <summary>Runs <paramref name="body"/> for a job in the background, unless it runs already.</summary>
    public void Start(string account, string name, Func<Run, Task> body)
    {
        var run = new Run(_shutdown.Token);
        if (!_running.TryAdd((account, name), run))
        {
            run.Dispose();
            return;
        }
        var task = Task.Run(async () =>
        {
            try { await body(run); }
            finally
            {
                _running.TryRemove((account, name), out _);
                run.Dispose();
            }
        });
        _tasks[task] = true;
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>The job's run in progress, or null.</summary>
    public Run? Find(string account, string name) => _running.TryGetValue((account, name), out var run) ? run : null;

    /// <summary>Cancels every run and waits (at most <see cref="ShutdownGrace"/>) for them to end.</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        await _shutdown.CancelAsync();
        try { await Task.WhenAll(_tasks.Keys).WaitAsync(ShutdownGrace, clock, cancellationToken); }
        catch (TimeoutException) { }
        catch (OperationCanceledException) { }
    }

    public void Dispose() => _shutdown.Dispose();
}
