using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// Pipe input mode, as SageMaker gives it to a training container: a channel's data is not
/// downloaded but streamed from S3 (as the job's role) through named pipes,
/// <c>/opt/ml/input/data/&lt;channel&gt;_&lt;epoch&gt;</c>. The container opens <c>train_0</c> and
/// reads it to its end; by then <c>train_1</c> is there for the next pass, and so on for as long
/// as the job runs. Each epoch is what the channel names, object after object: the objects under
/// an S3Prefix in key order, a ManifestFile's in its order, or, for an AugmentedManifestFile, the
/// AttributeNames of each JSON line in turn (an attribute whose name ends in <c>-ref</c> is the S3
/// object it names, any other its JSON value as the line writes it). With a ShuffleConfig the
/// objects (or lines) come in an order drawn from the Seed and the epoch at the start of each
/// epoch; with RecordWrapperType RecordIO each object (each attribute) is one
/// <see cref="RecordIO"/> record; with CompressionType Gzip each object is decompressed as it is
/// streamed. Nothing is staged on disk. What the role may not read, or what does not exist, fails
/// the job before its container starts, with File mode's messages; what fails while streaming (an
/// object that is not gzip data, one deleted since) ends the channel, and the runner stops the
/// container and fails the job with <see cref="Failure"/>.
///
/// A writer never holds the job up: a pipe opened for writing waits for a reader, and a write
/// waits for the reader to read, so when the job ends (its container gone, or stopped before it
/// started) <see cref="EndAsync"/> opens the pipe a writer is at and reads what is left, which
/// lets the writer on to see that it is to end. One instance serves one host's channels; staging
/// is a function of the job, the channel and the host's data directory.
/// </summary>
public sealed class PipeChannels(JobTransfers transfers, string region, ILogger log) : IAsyncDisposable
{
    readonly JobTransfers _transfers = transfers;
    readonly ILogger _log = log;
    readonly List<Feed> _feeds = [];
    readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the channel is read in Pipe mode (its own InputMode, else the job's).</summary>
    public static bool IsPipe(TrainingJob job, TrainingChannel channel) => (channel.InputMode ?? job.InputMode) == "Pipe";

    /// <summary>Why a channel could not be streamed, once one could not.</summary>
    public string? Failure => _failed.Task.IsCompleted ? _failed.Task.Result : null;

    /// <summary>The container's stop: <paramref name="stop"/>, or a channel's failure, whichever comes first.</summary>
    public Task<string> StopOr(Task<string> stop) => Task.WhenAny(stop, _failed.Task).Unwrap();

    /// <summary>One piece of an epoch: an S3 object, or bytes of an augmented manifest's line.</summary>
    sealed record Piece(string? Bucket, string? Key, byte[]? Bytes);

    /// <summary>Checks what the channel names as the role (listed, readable, there) and makes its
    /// first pipe in <paramref name="dataDir"/>, whose writer then waits for the container.</summary>
    public async Task StageAsync(TrainingJob job, TrainingChannel channel, string dataDir, RoleAuthorizer authorize, CancellationToken ct)
    {
        var what = $"Could not read the data of channel {channel.Name}";
        List<Piece[]> entries = [];
        switch (channel.S3DataType)
        {
            case "ManifestFile":
                foreach (var (bucket, key, _) in await _transfers.ReadManifestAsync(channel.S3Uri, authorize, $"channel {channel.Name}", ct))
                    entries.Add([new Piece(bucket, key, null)]);
                break;
            case "AugmentedManifestFile":
                entries = await ReadAugmentedManifestAsync(channel, authorize, ct);
                break;
            default:
                var (prefixBucket, _) = S3Location.Parse(channel.S3Uri);
                entries = [.. _transfers.ListPrefix(channel.S3Uri, authorize, what).Select(key => new[] { new Piece(prefixBucket, key, null) })];
                if (entries.Count == 0) throw JobTransfers.NoObjectsFound(channel.S3Uri, job.RoleArn, region);
                break;
        }
        // Every object is opened once now, so that one the role may not read (or decrypt), or
        // that does not exist, fails the job before it trains, saying so as File mode does.
        foreach (var piece in entries.SelectMany(e => e))
        {
            ct.ThrowIfCancellationRequested();
            if (piece.Bucket is not null) _transfers.OpenObject(piece.Bucket, piece.Key!, authorize, what).Dispose();
        }
        var feed = new Feed(this, channel, dataDir, entries, authorize);
        _feeds.Add(feed);
        feed.Start();
    }

    /// <summary>An augmented manifest's lines, each as the pieces its AttributeNames name.</summary>
    async Task<List<Piece[]>> ReadAugmentedManifestAsync(TrainingChannel channel, RoleAuthorizer authorize, CancellationToken ct)
    {
        var names = channel.AttributeNames ?? [];
        var (bucket, key) = S3Location.Parse(channel.S3Uri);
        var entries = new List<Piece[]>();
        await using var body = _transfers.OpenObject(bucket, key, authorize, $"Could not read the augmented manifest of channel {channel.Name}");
        using var reader = new StreamReader(body, Encoding.UTF8);
        var number = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string Where() => $"line {number} of the augmented manifest {channel.S3Uri} (channel {channel.Name})";
            JsonDocument document;
            try { document = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new TrainingException($"ClientError: {Where()} is not JSON: {e.Message}"); }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw new TrainingException($"ClientError: {Where()} is not a JSON object");
                var pieces = new Piece[names.Count];
                for (var i = 0; i < names.Count; i++)
                {
                    if (!document.RootElement.TryGetProperty(names[i], out var value))
                        throw new TrainingException($"ClientError: {Where()} has no attribute {names[i]}, which AttributeNames lists");
                    if (names[i].EndsWith("-ref", StringComparison.Ordinal))
                    {
                        // An attribute named *-ref is the S3 object it names.
                        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { } uri || !uri.StartsWith("s3://", StringComparison.Ordinal))
                            throw new TrainingException($"ClientError: the attribute {names[i]} on {Where()} must be an s3:// URI");
                        var (refBucket, refKey) = S3Location.Parse(uri);
                        pieces[i] = new Piece(refBucket, refKey, null);
                    }
                    else pieces[i] = new Piece(null, null, Encoding.UTF8.GetBytes(value.GetRawText()));
                }
                entries.Add(pieces);
            }
        }
        return entries;
    }

    /// <summary>Ends every channel's writer (see the class's remarks); waits for them.</summary>
    public async Task EndAsync()
    {
        foreach (var feed in _feeds) await feed.EndAsync();
    }

    public async ValueTask DisposeAsync() => await EndAsync();

    void Fail(string reason) => _failed.TrySetResult(reason);

    /// <summary>The order of <paramref name="count"/> items in an epoch with a ShuffleConfig: a
    /// permutation drawn (Fisher–Yates) from a SplitMix64 generator seeded with the Seed and the
    /// epoch, so that a seed gives the same orders in every job and each epoch an order of its own.</summary>
    public static int[] ShuffleOrder(int count, long seed, int epoch)
    {
        var state = Mix((ulong)seed) ^ Mix(0xD1B54A32D192ED03UL * (ulong)(epoch + 1));
        ulong Next()
        {
            state += 0x9E3779B97F4A7C15UL;
            return Mix(state);
        }
        var order = Enumerable.Range(0, count).ToArray();
        for (var i = count - 1; i > 0; i--)
        {
            // Unbiased: draws past the last whole multiple of i + 1 are drawn again.
            var bound = (ulong)(i + 1);
            var limit = ulong.MaxValue - (ulong.MaxValue % bound);
            ulong r;
            do r = Next(); while (r >= limit);
            var j = (int)(r % bound);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>One channel's writer: its pipes, epoch after epoch, on a thread of its own (its
    /// opens and writes block).</summary>
    sealed class Feed(PipeChannels owner, TrainingChannel channel, string dataDir, List<Piece[]> entries, RoleAuthorizer authorize)
    {
        readonly Lock _lock = new();
        readonly CancellationTokenSource _end = new();
        bool _ending;
        /// <summary>The pipe the writer is opening or writing, for <see cref="EndAsync"/> to open.</summary>
        string? _current;
        Task _task = Task.CompletedTask;
        Task? _ended;

        string Pipe(int epoch) => Path.Combine(dataDir, $"{channel.Name}_{epoch}");

        public void Start()
        {
            owner.MakeFifo(Pipe(0));
            _task = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        void Run()
        {
            try
            {
                for (var epoch = 0; ; epoch++)
                {
                    var path = Pipe(epoch);
                    lock (_lock)
                    {
                        if (_ending) return;
                        _current = path;
                    }
                    // Waits for a reader: the container, or EndAsync's.
                    // Never through a link the container put in the pipe's place (see OpenInWorkDir).
                    var handle = owner._transfers.OpenInWorkDir(path, FileAccess.Write)
                        ?? throw new TrainingException($"ClientError: the pipe {channel.Name}_{epoch} of channel {channel.Name} was replaced by something else than a pipe");
                    using (var pipe = new FileStream(handle, FileAccess.Write, bufferSize: 0))
                    {
                        // The next pass's pipe is there as soon as this one is read, so that it is
                        // there when the reader is done with this one, at its end or before.
                        owner.MakeFifo(Pipe(epoch + 1));
                        try { Serve(new PipeWriter(pipe), epoch); }
                        // The reader closed the pipe before the epoch's end: the epoch is over for it.
                        catch (ReaderGone) { }
                    }
                    File.Delete(path);
                }
            }
            catch (Exception) when (_end.IsCancellationRequested)
            {
                // Ending: whatever the writer was at is moot.
            }
            catch (JobException e) { owner.Fail(e.Message); }
            catch (Exception e)
            {
                owner._log.LogError(e, "the pipe of channel {Channel} failed", channel.Name);
                owner.Fail($"InternalServerError: the pipe of channel {channel.Name} failed: {e.Message}");
            }
        }

        void Serve(Stream pipe, int epoch)
        {
            var order = channel.ShuffleSeed is { } seed ? ShuffleOrder(entries.Count, seed, epoch) : null;
            for (var i = 0; i < entries.Count; i++)
                foreach (var piece in entries[order?[i] ?? i])
                {
                    _end.Token.ThrowIfCancellationRequested();
                    if (piece.Bytes is { } bytes)
                    {
                        if (channel.RecordWrapperType == "RecordIO") RecordIO.Write(pipe, bytes);
                        else pipe.Write(bytes);
                    }
                    else WriteObject(pipe, piece.Bucket!, piece.Key!);
                }
        }

        void WriteObject(Stream pipe, string bucket, string key)
        {
            var what = $"s3://{bucket}/{key} of channel {channel.Name}";
            Stream Open()
            {
                var body = owner._transfers.OpenObject(bucket, key, authorize, $"Could not read the data of channel {channel.Name}");
                return channel.CompressionType == "Gzip" ? new GZipStream(body, CompressionMode.Decompress) : body;
            }
            try
            {
                if (channel.RecordWrapperType == "RecordIO")
                {
                    RecordIO.Write(pipe, Open, what, _end.Token);
                    return;
                }
                using var body = Open();
                var buffer = new byte[256 * 1024];
                int n;
                while ((n = body.Read(buffer)) > 0)
                {
                    _end.Token.ThrowIfCancellationRequested();
                    pipe.Write(buffer, 0, n);
                }
            }
            catch (InvalidDataException e) when (channel.CompressionType == "Gzip")
            {
                throw new TrainingException($"ClientError: {what} is not gzip data (CompressionType Gzip): {e.Message}");
            }
        }

        /// <summary>Ends the writer (once, however often asked): a writer waiting for a reader, or
        /// for the reader to read, is let on by a reader of our own, which reads what is left
        /// until the writer has gone.</summary>
        public Task EndAsync()
        {
            lock (_lock)
            {
                if (_ended is null)
                {
                    _ending = true;
                    _ended = EndOnceAsync(_current);
                }
                return _ended;
            }
        }

        async Task EndOnceAsync(string? current)
        {
            await _end.CancelAsync();
            if (!_task.IsCompleted && current is not null)
                await Task.Factory.StartNew(() => Drain(current), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await _task;
            _end.Dispose();
        }

        void Drain(string path)
        {
            // Opening to read without waiting for a writer (a pipe the writer has left may have no
            // writer ever again), then reading in blocking mode, so that a read waits while the
            // writer has it open and answers 0 when it has not.
            // Gone (or a link put in its place): the writer is past it, and sees that it is to end.
            using var handle = owner._transfers.OpenInWorkDir(path, FileAccess.Read, fifo: true);
            if (handle is null) return;
            var fd = (int)handle.DangerousGetHandle();
            _ = Fcntl(fd, SetFlags, Fcntl(fd, GetFlags, 0) & ~NonBlocking);
            using var reader = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            var buffer = new byte[64 * 1024];
            var spin = new SpinWait();
            while (true)
            {
                int n;
                try { n = reader.Read(buffer); }
                catch (IOException) { return; }
                if (n > 0) continue;
                // No writer has it open: the writer has ended, or is about to open it and end.
                if (_task.IsCompleted) return;
                spin.SpinOnce();
            }
        }
    }

    /// <summary>The container closed its end of the pipe.</summary>
    sealed class ReaderGone(IOException inner) : Exception("the reader closed the pipe", inner);

    /// <summary>A pipe's write end, whose failures (EPIPE: no reader) are told apart from the S3
    /// reads' failures.</summary>
    sealed class PipeWriter(FileStream pipe) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try { pipe.Write(buffer); }
            catch (IOException e) { throw new ReaderGone(e); }
        }
    }

    const int NonBlocking = 0x800;
    const int GetFlags = 3;
    const int SetFlags = 4;
    const int AlreadyExists = 17;

    void MakeFifo(string path)
    {
        // Written by the server, read by the container: in the sandbox its own user, which the
        // first pipes belong to (they are there before it starts, in the directory given to it)
        // but not the next epochs', so they are readable by all, whatever the server's umask.
        // Only the container reaches them: they are below the data directory, which only root
        // may search and which the sandbox hides from every other container. Made in the
        // directory as it is now, never through a link the container put on the way there.
        using var dir = _transfers.OpenInWorkDir(Path.GetDirectoryName(path)!, FileAccess.ReadWrite)
            ?? throw new TrainingException($"ClientError: the directory of the pipe {Path.GetFileName(path)} was replaced by a link");
        if (MkFifoAt((int)dir.DangerousGetHandle(), Path.GetFileName(path), 0x1A4) != 0 && Marshal.GetLastPInvokeError() is var errno and not AlreadyExists)
            throw new IOException($"mkfifo {path} failed (errno {errno})");
        using var fifo = _transfers.OpenInWorkDir(path, FileAccess.ReadWrite)
            ?? throw new TrainingException($"ClientError: the pipe {Path.GetFileName(path)} was replaced by a link");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode($"/proc/self/fd/{fifo.DangerousGetHandle()}", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "mkfifoat")]
    static extern int MkFifoAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);


    [DllImport("libc", SetLastError = true, EntryPoint = "fcntl")]
    static extern int Fcntl(int fd, int command, int argument);
}
