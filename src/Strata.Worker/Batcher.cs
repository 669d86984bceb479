using System.Threading.Channels;
using Microsoft.ML.OnnxRuntime;

namespace Strata.Worker;

/// <summary>
/// Dynamic batching (STRATA_MAX_BATCH_SIZE, STRATA_MAX_BATCH_DELAY_MS in the container's
/// environment): requests that arrive together are stacked along the first dimension into one run
/// of the model, and each gets its own records of the outputs back. A run begins when the records
/// waiting reach the batch size or the oldest has waited the delay; one run at a time, as an
/// accelerator runs one batch at a time. Only requests of the same shape (beyond the first
/// dimension) go together; a request with more records than the batch size runs alone. A model
/// whose inputs do not all have a free first dimension, or whose outputs are not one record per
/// input record, is never batched (found at load, or at its first batch, which is then run again
/// request by request). Each request is checked against the model before it waits, so a bad one
/// gets its own error and never fails the others.
/// </summary>
public sealed class Batcher : IAsyncDisposable
{
    sealed record Pending(IReadOnlyDictionary<string, TensorData> Inputs, int Records, string Shape, TaskCompletionSource<List<OutputValue>> Done);

    readonly OnnxModel _model;
    readonly int _maxRecords;
    readonly TimeSpan _maxDelay;
    readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    readonly Task _loop;
    volatile bool _splittable = true;
    Pending? _carried;

    public Batcher(OnnxModel model, int maxRecords, TimeSpan maxDelay)
    {
        _model = model;
        _maxRecords = maxRecords;
        _maxDelay = maxDelay;
        // Free first dimensions in and out (or ZipMap sequences, one map per record): an output of a
        // fixed size that happened to equal a batch's records would otherwise be cut up wrongly.
        Batchable = model.Inputs.All(i => i.Dimensions.Length > 0 && i.Dimensions[0] < 0) && model.OutputsPerRecord;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Whether the model's inputs allow it (a free first dimension on every input).</summary>
    public bool Batchable { get; }

    /// <summary>How many runs of the model the batcher has made (what a test counts).</summary>
    public int Runs => _runs;
    int _runs;

    public Task<List<OutputValue>> RunAsync(IReadOnlyDictionary<string, TensorData> inputs)
    {
        _model.Check(inputs);
        var records = inputs.Values.Select(t => t.Shape.Length == 0 ? -1 : t.Shape[0]).Distinct().ToList();
        // Requests that cannot share a run: this model, inputs of different record counts, or more records than a batch.
        if (!Batchable || !_splittable || records is not [> 0 and var count] || count > _maxRecords)
        {
            Interlocked.Increment(ref _runs);
            return Task.FromResult(_model.Run(inputs));
        }
        var shape = string.Join(';', _model.Inputs.Select(i => string.Join(',', inputs[i.Name].Shape.Skip(1))));
        var pending = new Pending(inputs, count, shape, new TaskCompletionSource<List<OutputValue>>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(Batcher));
        return pending.Done.Task;
    }

    async Task LoopAsync()
    {
        var reader = _queue.Reader;
        while (true)
        {
            var first = _carried;
            _carried = null;
            if (first is null)
            {
                if (!await reader.WaitToReadAsync()) return;
                if (!reader.TryRead(out first)) continue;
            }
            var batch = new List<Pending> { first };
            var records = first.Records;
            using (var window = new CancellationTokenSource(_maxDelay))
            {
                while (records < _maxRecords)
                {
                    if (!reader.TryRead(out var next))
                    {
                        try
                        {
                            if (!await reader.WaitToReadAsync(window.Token)) break;
                        }
                        catch (OperationCanceledException) { break; }
                        continue;
                    }
                    // Another shape, or one that would overflow the batch, begins the next batch.
                    if (next.Shape != first.Shape || records + next.Records > _maxRecords)
                    {
                        _carried = next;
                        break;
                    }
                    batch.Add(next);
                    records += next.Records;
                }
            }
            try { Run(batch, records); }
            catch (Exception e)
            {
                // Whatever went wrong fails this batch's requests, never the loop (the next batch still runs).
                foreach (var p in batch) p.Done.TrySetException(e);
            }
        }
    }

    void Run(List<Pending> batch, int records)
    {
        if (batch.Count == 1)
        {
            Complete(batch[0], () => _model.Run(batch[0].Inputs));
            return;
        }
        List<OutputValue> outputs;
        try
        {
            Interlocked.Increment(ref _runs);
            outputs = _model.Run(_model.Inputs.ToDictionary(i => i.Name, i => TensorData.Concatenate(batch.Select(p => p.Inputs[i.Name]).ToList())));
        }
        catch (Exception e) when (e is OnnxRuntimeException or PayloadException)
        {
            // What failed together is tried apart: each request then gets its own answer or error.
            foreach (var p in batch) Complete(p, () => _model.Run(p.Inputs));
            return;
        }
        if (outputs.Any(o => o.Tensor is { Shape.Length: 0 } || o.Records != records))
        {
            // Outputs that are not one record per input record cannot be handed back in parts.
            _splittable = false;
            foreach (var p in batch) Complete(p, () => _model.Run(p.Inputs));
            return;
        }
        var start = 0;
        foreach (var p in batch)
        {
            var from = start;
            p.Done.TrySetResult(outputs.Select(o => o.Slice(from, p.Records)).ToList());
            start += p.Records;
        }
    }

    void Complete(Pending p, Func<List<OutputValue>> run)
    {
        try
        {
            Interlocked.Increment(ref _runs);
            p.Done.TrySetResult(run());
        }
        catch (Exception e) { p.Done.TrySetException(e); }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }
}
