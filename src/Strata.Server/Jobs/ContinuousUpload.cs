using System.Runtime.ExceptionServices;

namespace Strata.Server.Jobs;

/// <summary>
/// Uploads that go on while a job's containers run: every <see cref="Period"/> of the injected
/// clock, one round of the job's uploads (each sending only the files that are new or changed since
/// the last: <see cref="SentFiles"/>). Processing jobs' Continuous outputs and training jobs'
/// checkpoints go up this way, so a server that dies loses at most one period of them. A round
/// that fails ends the uploads and completes <see cref="Failed"/>, so that the job can stop its
/// containers; the job then fails with <see cref="ThrowIfFailed"/>'s reason. Disposing stops the
/// rounds and waits for the one under way.
/// </summary>
public sealed class ContinuousUpload : IAsyncDisposable
{
    /// <summary>How often the rounds run (SageMaker's processing jobs upload Continuous outputs every few seconds).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    /// <summary>The reason <see cref="Failed"/> gives the containers' stop.</summary>
    public const string UploadFailed = "ContinuousUploadFailed";

    readonly CancellationTokenSource _stop;
    readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Task _rounds;
    Exception? _failure;

    ContinuousUpload(Func<CancellationToken, Task> round, TimeProvider clock, CancellationToken ct, bool run)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _rounds = run ? RunAsync(round, clock) : Task.CompletedTask;
    }

    /// <summary>Starts the rounds; with <paramref name="enabled"/> false, none (nothing to upload while the job runs).</summary>
    public static ContinuousUpload Start(Func<CancellationToken, Task> round, TimeProvider clock, CancellationToken ct, bool enabled = true)
        => new(round, clock, ct, enabled);

    /// <summary>Completes with <see cref="UploadFailed"/> when a round has failed.</summary>
    public Task<string> Failed => _failed.Task;

    async Task RunAsync(Func<CancellationToken, Task> round, TimeProvider clock)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Period, clock, _stop.Token);
                await round(_stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (Exception e)
        {
            _failure = e;
            _failed.TrySetResult(UploadFailed);
        }
    }

    /// <summary>Throws what made a round fail, if one did.</summary>
    public void ThrowIfFailed()
    {
        if (_failure is not null) ExceptionDispatchInfo.Throw(_failure);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _rounds;
        _stop.Dispose();
    }
}
