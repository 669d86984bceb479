using System.Net.Sockets;
using Strata.Server.Hosting;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>Request bodies in pooled arrays (<see cref="PooledBody"/>): an array goes back to the
/// pool only when nothing can still send it, so a write that outlives its request never sends the
/// bytes of the request that rents the array next.</summary>
public sealed class PooledBodyTests : IDisposable
{
    // Many times what the sockets' buffers take (ShrinkBuffers): a write of it waits for its reader.
    const int Large = 8 << 20;

    readonly string _dir = Directory.CreateTempSubdirectory("pooled-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Both ends of a connected Unix socket.</summary>
    async Task<(Socket Sender, Socket Receiver)> PairAsync()
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..8]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await sender.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return (sender, await listener.AcceptAsync());
    }

    /// <summary>Small buffers, whatever a FrameConnection asked for (up to 8 MB where the kernel
    /// allows it), so that a write of <see cref="Large"/> bytes is sure to wait for its reader.</summary>
    static void ShrinkBuffers(Socket sender, Socket receiver)
    {
        sender.SendBufferSize = 64 << 10;
        receiver.ReceiveBufferSize = 64 << 10;
    }

    static PooledBody Filled(int length, byte value)
    {
        var body = PooledBody.Rent(length);
        body.Segment.AsSpan().Fill(value);
        return body;
    }

    [Fact]
    public void ABodyIsLetGoOnceAndNeverHeldAgainAfter()
    {
        var body = Filled(1000, 7);
        Assert.Equal(1000, body.Segment.Count);
        body.Hold();
        body.Release();
        Assert.Equal(7, body.Segment[999]); // one holder left
        body.Release();
        Assert.Throws<ObjectDisposedException>(() => body.Segment);
        Assert.Throws<InvalidOperationException>(body.Hold);
        Assert.Throws<InvalidOperationException>(body.Release);
    }

    [Fact]
    public async Task AFrameStillBeingWrittenKeepsItsBodyWhenTheRequestLetsGo()
    {
        var (a, b) = await PairAsync();
        using var sender = new FrameConnection(a);
        using var receiver = new FrameConnection(b);
        ShrinkBuffers(a, b);
        var body = Filled(Large, 0x5A);
        sender.Send(1, FrameKind.Request, FrameMeta.Encode(0, "invocations", []), body.Segment, body);
        // Queued behind it, so written only once the writer is done with the first.
        sender.Send(2, FrameKind.Request, null, new byte[] { 1 });
        // The request ends while its frame waits for the reader. Had its array gone back, the next
        // rent of that size on this thread would be handed it, and would overwrite the frame.
        body.Release();
        var next = Filled(Large, 0);
        try
        {
            var frame = (await receiver.ReadAsync()).GetValueOrDefault();
            Assert.Equal(Large, frame.Body.Count);
            Assert.Equal(-1, frame.Body.AsSpan().IndexOfAnyExcept((byte)0x5A));
            Assert.Equal(2, (await receiver.ReadAsync()).GetValueOrDefault().Id);
        }
        finally { next.Release(); }
        // Written (the frame behind it was): the frame's hold is gone too.
        Assert.Throws<ObjectDisposedException>(() => body.Segment);
    }

    [Fact]
    public async Task ABrokenConnectionLetsGoOfTheBodiesItWillNeverSend()
    {
        var (a, b) = await PairAsync();
        using var sender = new FrameConnection(a);
        ShrinkBuffers(a, b);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        sender.Failed += e => failed.TrySetResult(e);
        // The first is being written (the reader reads nothing), the second waits in the queue.
        var first = Filled(Large, 1);
        var second = Filled(Large, 2);
        sender.Send(1, FrameKind.Request, null, first.Segment, first);
        sender.Send(2, FrameKind.Request, null, second.Segment, second);
        first.Release();
        second.Release();
        Assert.Equal(1, first.Segment[0]);
        Assert.Equal(2, second.Segment[0]);
        b.Dispose(); // the worker died
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Throws<ObjectDisposedException>(() => first.Segment);
        Assert.Throws<ObjectDisposedException>(() => second.Segment);
        Assert.Throws<IOException>(() => sender.Send(3, FrameKind.Request, null, new byte[1]));
    }

    [Fact]
    public async Task ABodyLetGoOnceTooOftenBreaksItsConnectionInsteadOfStallingIt()
    {
        var (a, b) = await PairAsync();
        using var sender = new FrameConnection(a);
        using var receiver = new FrameConnection(b);
        ShrinkBuffers(a, b);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        sender.Failed += e => failed.TrySetResult(e);
        var body = Filled(Large, 4);
        sender.Send(1, FrameKind.Request, null, body.Segment, body); // being written: it waits for the reader
        // A holder's bug: the request lets go twice, the frame's hold with its own.
        body.Release();
        body.Release();
        // Once read, the write is done and lets go of a body no one holds any more. Had the writer
        // stopped there, the connection would queue every later frame and never send one.
        _ = receiver.ReadAsync().AsTask();
        Assert.IsType<InvalidOperationException>(await failed.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Throws<IOException>(() => sender.Send(2, FrameKind.Request, null, new byte[1]));
    }

    [Fact]
    public async Task ABodyAlreadyLetGoIsRefusedAndNothingOfItsFrameIsSent()
    {
        var (a, b) = await PairAsync();
        using var sender = new FrameConnection(a);
        using var receiver = new FrameConnection(b);
        var body = Filled(100, 3);
        body.Release();
        Assert.Throws<InvalidOperationException>(() => sender.Send(1, FrameKind.Request, null, new byte[100], body));
        // Had the first frame's header gone out alone, the reader would take this frame for its body.
        sender.Send(2, FrameKind.Request, null, new byte[] { 7 });
        var frame = (await receiver.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).GetValueOrDefault();
        Assert.Equal(2, frame.Id);
        Assert.Equal([7], frame.Body.ToArray());
    }

    [Fact]
    public async Task AnHttpWriteHoldsTheBodyUntilItsBytesAreWritten()
    {
        var body = Filled(1000, 9);
        using var content = new WorkerBody(body.Segment, body);
        var sink = new StalledStream();
        var copy = content.CopyToAsync(sink);
        await sink.Writing.Task.WaitAsync(TimeSpan.FromSeconds(30));
        body.Release(); // the request gave up on the container while its body was being sent
        Assert.Equal(9, body.Segment[0]);
        sink.Go.SetResult();
        await copy.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1000, sink.Length);
        Assert.Throws<ObjectDisposedException>(() => body.Segment);
    }

    /// <summary>A stream whose first write waits until the test lets it go on.</summary>
    sealed class StalledStream : MemoryStream
    {
        public readonly TaskCompletionSource Writing = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Go = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            Writing.TrySetResult();
            await Go.Task;
            Write(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
            => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();
    }
}
