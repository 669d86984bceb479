using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Strata.Worker;

/// <summary>
/// The framed transport between the server's router and the built-in worker: one Unix socket
/// connection carries many requests at once, each frame tagged with its request's id, so a request
/// costs one write and one read on each side instead of an HTTP request parsed twice.
/// <para>A frame is an 11-byte header (request id: u32, kind: u8, meta length: u16, body length:
/// u32; little-endian), the meta (<see cref="FrameMeta"/>: a status or a target, then header
/// pairs) and the body. The worker reads a request's body into a pooled array
/// (<see cref="PooledBody"/>) and decodes it where it lies; the router hands the caller's array to
/// the socket without copying it, holding it until its bytes are written.</para>
/// <para>The router sends <see cref="FrameKind.Request"/>; the worker answers with one
/// <see cref="FrameKind.Response"/> (status, headers and the whole body), or streams:
/// <see cref="FrameKind.Head"/>, any number of <see cref="FrameKind.Data"/>, then
/// <see cref="FrameKind.End"/> (or <see cref="FrameKind.Abort"/>, its body the reason, when the
/// answer breaks off).</para>
/// </summary>
public enum FrameKind : byte
{
    Request = 1,
    Response = 2,
    Head = 3,
    Data = 4,
    End = 5,
    Abort = 6,
}

/// <summary>One frame as read. Its body is an array of its own, or, on a connection that pools
/// bodies, lies in <paramref name="Owner"/>'s array, which the reader must release once done with it.</summary>
public readonly record struct Frame(int Id, FrameKind Kind, byte[] Meta, ArraySegment<byte> Body, PooledBody? Owner);

/// <summary>A frame's meta section: a status (responses) or a target path (requests), then
/// header pairs, each string a u16 byte length and its UTF-8.</summary>
public static class FrameMeta
{
    public static byte[] Encode(int status, string target, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var length = 2 + 2 + Encoding.UTF8.GetByteCount(target) + 2;
        foreach (var (name, value) in headers) length += 4 + Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
        if (length > ushort.MaxValue) throw new ArgumentException($"the request's headers take {length} bytes, more than a frame's {ushort.MaxValue}");
        var meta = new byte[length];
        var span = meta.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)status);
        var at = 2;
        Put(span, ref at, target);
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)headers.Count);
        at += 2;
        foreach (var (name, value) in headers)
        {
            Put(span, ref at, name);
            Put(span, ref at, value);
        }
        return meta;
    }

    /// <summary>The meta's fields; an <see cref="InvalidDataException"/> when it is malformed.</summary>
    public static (int Status, string Target, List<KeyValuePair<string, string>> Headers) Decode(byte[] meta)
    {
        try
        {
            var span = meta.AsSpan();
            var status = BinaryPrimitives.ReadUInt16LittleEndian(span);
            var at = 2;
            var target = Take(span, ref at);
            var count = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
            at += 2;
            var headers = new List<KeyValuePair<string, string>>(count);
            for (var i = 0; i < count; i++) headers.Add(new(Take(span, ref at), Take(span, ref at)));
            return (status, target, headers);
        }
        catch (ArgumentOutOfRangeException e) { throw new InvalidDataException("a frame's meta section is cut short", e); }
    }

    /// <summary>The first value of a header (names compare without case), or null.</summary>
    public static string? Find(List<KeyValuePair<string, string>> headers, string name)
    {
        foreach (var (n, v) in headers)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    static void Put(Span<byte> span, ref int at, string value)
    {
        var n = Encoding.UTF8.GetBytes(value, span[(at + 2)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)n);
        at += 2 + n;
    }

    static string Take(ReadOnlySpan<byte> span, ref int at)
    {
        var n = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
        var value = Encoding.UTF8.GetString(span.Slice(at + 2, n));
        at += 2 + n;
        return value;
    }
}

/// <summary>
/// One end of a framed connection. Reads come from one loop (<see cref="ReadAsync"/>); writes
/// may come from any thread: <see cref="Send"/> queues the frame and, when no write is under
/// way, writes at once on the caller's thread; frames queued meanwhile leave together in one
/// gathered write, so a busy connection makes fewer system calls than it carries frames.
/// </summary>
public sealed class FrameConnection : IDisposable
{
    public const int HeaderSize = 11;

    /// <summary>The largest body a frame may carry: the worker's own HTTP limit (128 MiB). A larger
    /// answer is streamed (<see cref="FrameKind.Head"/>, then parts of at most this size).</summary>
    public const int MaxBody = 128 * 1024 * 1024;

    /// <summary>The most bytes one gathered write takes (frames queued behind wait for the next).</summary>
    const int MaxWrite = 64 * 1024 * 1024;

    readonly Socket _socket;
    readonly bool _poolBodies;
    // Large enough for a header and the largest meta, so both are always read whole into it.
    readonly byte[] _buffer = new byte[128 * 1024];
    int _start, _end;

    readonly Lock _gate = new();
    List<ArraySegment<byte>> _queued = [];
    List<ArraySegment<byte>> _spare = [];
    // The pooled body each queued segment lies in (null for headers and bodies of their own), in
    // step with _queued: released once the segment is written, or dropped with the connection.
    List<PooledBody?> _owners = [];
    List<PooledBody?> _spareOwners = [];
    bool _writing;
    Exception? _failure;

    /// <param name="poolBodies">Read bodies into pooled arrays (<see cref="Frame.Owner"/>): the
    /// worker's side, whose request bodies are decoded and dropped at once.</param>
    public FrameConnection(Socket socket, bool poolBodies = false)
    {
        _socket = socket;
        _poolBodies = poolBodies;
        // Room for a 602 KB image in one system call where the kernel allows it (Linux caps these
        // at net.core.wmem_max/rmem_max): at the default 208 KB, a large frame crossed in several
        // writes, each waiting for the reader to wake and drain. Only an optimization: a kernel
        // that refuses (BSD's above its maximum, macOS's on a socket its peer already closed)
        // leaves the defaults.
        try
        {
            socket.SendBufferSize = 4 << 20;
            socket.ReceiveBufferSize = 4 << 20;
        }
        catch (SocketException) { }
    }

    /// <summary>Raised once, when a write fails (the peer went away) or a written frame's body
    /// turns out let go more often than it was held (a holder's bug): the connection is then
    /// unusable, and its reader sees the socket closed.</summary>
    public event Action<Exception>? Failed;

    public bool Broken => Volatile.Read(ref _failure) is not null;

    public static async Task<FrameConnection> ConnectAsync(string path, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            return new FrameConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Queues a frame. Never blocks on the socket for long: the first caller to find no
    /// write under way writes, and goes on writing what others queue meanwhile. A failed write
    /// closes the connection (raising <see cref="Failed"/>); the frame is then lost, as it would be
    /// had the peer died a moment later.</summary>
    /// <param name="owner">The pooled body <paramref name="body"/> lies in, if any: held from now
    /// until its bytes are written (or the connection drops them), so the caller may release it
    /// whenever it is done, even before.</param>
    public void Send(int id, FrameKind kind, byte[]? meta, ArraySegment<byte> body, PooledBody? owner = null)
    {
        if (body.Count > MaxBody) throw new ArgumentException($"a body of {body.Count} bytes is larger than a frame's {MaxBody}");
        // Held before anything is queued: a header whose body could not be held must never be
        // sent (the reader would take the next frame's bytes for its body).
        if (body.Count > 0) owner?.Hold();
        var metaLength = meta?.Length ?? 0;
        var head = new byte[HeaderSize + metaLength];
        var span = head.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, id);
        span[4] = (byte)kind;
        BinaryPrimitives.WriteUInt16LittleEndian(span[5..], (ushort)metaLength);
        BinaryPrimitives.WriteInt32LittleEndian(span[7..], body.Count);
        meta?.CopyTo(span[HeaderSize..]);
        lock (_gate)
        {
            if (_failure is { } failure)
            {
                if (body.Count > 0) owner?.Release();
                throw new IOException("the framed connection is closed", failure);
            }
            _queued.Add(head);
            _owners.Add(null);
            if (body.Count > 0)
            {
                _queued.Add(body);
                _owners.Add(owner);
            }
            if (_writing) return;
            _writing = true;
        }
        _ = WriteQueuedAsync();
    }

    async Task WriteQueuedAsync()
    {
        List<PooledBody?>? owners = null;
        try
        {
            while (true)
            {
                List<ArraySegment<byte>> batch;
                lock (_gate)
                {
                    if (_queued.Count == 0)
                    {
                        _writing = false;
                        return;
                    }
                    // At most MaxWrite bytes per write (but always one segment): a send's count is an int.
                    var (count, taken) = (0, 0L);
                    while (count < _queued.Count && (count == 0 || taken + _queued[count].Count <= MaxWrite)) taken += _queued[count++].Count;
                    if (count == _queued.Count) (batch, _queued, owners, _owners) = (_queued, _spare, _owners, _spareOwners);
                    else
                    {
                        (batch, owners) = (_spare, _spareOwners);
                        batch.AddRange(_queued.GetRange(0, count));
                        _queued.RemoveRange(0, count);
                        owners.AddRange(_owners.GetRange(0, count));
                        _owners.RemoveRange(0, count);
                    }
                }
                // On a stream socket a gathered send completes once every byte is written.
                var total = 0L;
                foreach (var segment in batch) total += segment.Count;
                var sent = await _socket.SendAsync(batch, SocketFlags.None);
                if (sent != total) throw new IOException($"the socket took {sent} of {total} bytes");
                batch.Clear();
                if (ReleaseAll(owners) is { } overReleased) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(overReleased);
                lock (_gate) (_spare, _spareOwners) = (batch, owners);
            }
        }
        catch (Exception e)
        {
            // A broken socket: the batch in flight is not sent, nor ever will be, and its bodies go
            // back with the queue's. Anything else (a body let go more often than it was held, a
            // holder's bug) fails the connection just the same: a writer that stopped with
            // _writing still set would take every later frame and send none, and the requests
            // behind would wait for their timeout instead of failing (and being sent elsewhere).
            if (owners is not null) ReleaseAll(owners); // going down already, with the first reason
            Fail(e);
        }
    }

    /// <summary>Lets go of every body listed. One that throws (let go more often than it was held)
    /// does not keep the others held: the first such failure is returned once all are let go.</summary>
    static Exception? ReleaseAll(List<PooledBody?> owners)
    {
        Exception? first = null;
        foreach (var owner in owners)
        {
            try { owner?.Release(); }
            catch (Exception e) { first ??= e; }
        }
        owners.Clear();
        return first;
    }

    void Fail(Exception e)
    {
        List<PooledBody?> dropped;
        lock (_gate)
        {
            if (_failure is not null) return;
            _failure = e;
            _queued.Clear();
            (dropped, _owners) = (_owners, []);
        }
        ReleaseAll(dropped); // a holder's bug among them changes nothing: the connection goes down all the same
        Dispose();
        Failed?.Invoke(e);
    }

    /// <summary>The next frame; null when the peer closed the connection between frames. A
    /// connection closed inside a frame, or a frame that breaks the format, is an
    /// <see cref="IOException"/>.</summary>
    public async ValueTask<Frame?> ReadAsync(CancellationToken ct = default)
    {
        if (!await FillAsync(HeaderSize, ct)) return null;
        var header = _buffer.AsSpan(_start, HeaderSize);
        var id = BinaryPrimitives.ReadInt32LittleEndian(header);
        var kind = (FrameKind)header[4];
        var metaLength = BinaryPrimitives.ReadUInt16LittleEndian(header[5..]);
        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(header[7..]);
        if (kind is < FrameKind.Request or > FrameKind.Abort || bodyLength is < 0 or > MaxBody)
            throw new IOException($"a malformed frame (kind {(byte)kind}, body {bodyLength} bytes)");
        _start += HeaderSize;
        if (!await FillAsync(metaLength, ct)) throw new IOException("the connection closed inside a frame");
        var meta = metaLength == 0 ? [] : _buffer.AsSpan(_start, metaLength).ToArray();
        _start += metaLength;
        var owner = _poolBodies && bodyLength > 0 ? PooledBody.Rent(bodyLength) : null;
        var body = owner?.Segment ?? (bodyLength == 0 ? [] : new byte[bodyLength]);
        try
        {
            // What the last read brought is copied; the rest of a large body is read straight into it.
            var have = Math.Min(_end - _start, bodyLength);
            _buffer.AsSpan(_start, have).CopyTo(body);
            _start += have;
            while (have < bodyLength)
            {
                var n = await _socket.ReceiveAsync(body.AsMemory(have), SocketFlags.None, ct);
                if (n == 0) throw new IOException("the connection closed inside a frame");
                have += n;
            }
        }
        catch
        {
            owner?.Release();
            throw;
        }
        return new Frame(id, kind, meta, body, owner);
    }

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered; false when the peer
    /// closed the connection before any byte of them came.</summary>
    async ValueTask<bool> FillAsync(int count, CancellationToken ct)
    {
        if (_end - _start >= count) return true;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            (_end, _start) = (_end - _start, 0);
        }
        var begun = _end;
        while (_end < count)
        {
            var n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct);
            if (n == 0)
            {
                if (_end == begun && begun == 0) return false;
                throw new IOException("the connection closed inside a frame");
            }
            _end += n;
        }
        return true;
    }

    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _socket.Dispose();
    }
}

/// <summary>The worker's side: accepts framed connections on a Unix socket and hands each request
/// to <c>handle</c> on the thread pool (requests on one connection run at once, as HTTP
/// requests on many connections would).</summary>
public static class FrameServer
{
    /// <summary>Serves one request. Its <paramref name="body"/> lies in a pooled array, given back
    /// once the returned task completes: a handler that keeps any of it longer copies it.</summary>
    public delegate Task Handler(FrameConnection connection, int id, string target, List<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body);

    /// <summary>Binds <paramref name="path"/> now (so the socket exists once this returns) and
    /// serves it in the background.</summary>
    public static Socket Listen(string path, Handler handle)
    {
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket accepted;
                try { accepted = await listener.AcceptAsync(); }
                catch (ObjectDisposedException) { return; }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted) { return; }
                catch (SocketException e)
                {
                    // Out of descriptors, a connection aborted before it was accepted: as Kestrel,
                    // go on accepting (the router's next connection would otherwise wait unanswered).
                    Console.Error.WriteLine($"strata-worker: accepting a framed connection failed: {e.Message}");
                    await Task.Delay(100);
                    continue;
                }
                _ = ServeAsync(new FrameConnection(accepted, poolBodies: true), handle);
            }
        });
        return listener;
    }

    /// <summary>Reads the connection's next frame and serves it on the thread that read it; before
    /// that, reading goes on from another thread (so a request never waits for a thread hop, and
    /// the requests behind it never wait for it).</summary>
    static async Task ServeAsync(FrameConnection connection, Handler handle)
    {
        Frame frame;
        try
        {
            do
            {
                if (await connection.ReadAsync() is not { } next)
                {
                    connection.Dispose();
                    return;
                }
                frame = next;
                if (frame.Kind != FrameKind.Request) frame.Owner?.Release(); // nothing else is sent to a worker
            }
            while (frame.Kind != FrameKind.Request);
        }
        catch (Exception e)
        {
            // Whatever failed (a broken socket, a body too large to allocate), the connection is
            // closed: the router fails what it sent there and may send it again elsewhere.
            if (e is not ObjectDisposedException) Console.Error.WriteLine($"strata-worker: a framed connection failed: {e.Message}");
            connection.Dispose();
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static s => _ = ServeAsync(s.connection, s.handle), (connection, handle), preferLocal: false);
        try
        {
            List<KeyValuePair<string, string>> headers;
            string target;
            try { (_, target, headers) = FrameMeta.Decode(frame.Meta); }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"strata-worker: a framed connection failed: {e.Message}");
                connection.Dispose();
                return;
            }
            await handle(connection, frame.Id, target, headers, frame.Body);
        }
        finally
        {
            frame.Owner?.Release();
        }
    }
}
