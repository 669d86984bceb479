using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Strata.Worker;

namespace Strata.Server.Hosting;

/// <summary>
/// The router's side of the framed transport to the built-in worker (<see cref="FrameConnection"/>),
/// as an <see cref="HttpMessageHandler"/>: callers send and read the same HttpRequestMessage and
/// HttpResponseMessage as over HTTP (so the 60 s timeout, the retry on a dead instance and the
/// ModelError mapping stay where they are), but nothing is parsed as HTTP on either side. A few
/// connections each carry many requests at once; one that breaks
/// fails its requests with <see cref="HttpRequestException"/>, as a broken HTTP connection
/// would, and is replaced on the next request.
/// </summary>
public sealed class WorkerChannel(string socketPath, int connections = 2) : HttpMessageHandler
{
    // Two by default, so the worker reads on two threads while one request body is still arriving.
    readonly Client?[] _clients = new Client?[connections];
    readonly SemaphoreSlim _connecting = new(1, 1);
    int _next;
    volatile bool _disposed;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var (body, owner) = request.Content switch
        {
            null => default,
            WorkerBody own => (own.Body, own.Owner),
            var other => (new ArraySegment<byte>(await other.ReadAsByteArrayAsync(ct)), null),
        };
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers) headers.Add(new(name, string.Join(",", values)));
        if (request.Content is not null)
            foreach (var (name, values) in request.Content.Headers)
                if (name != "Content-Length") headers.Add(new(name, string.Join(",", values)));
        byte[] meta;
        try { meta = FrameMeta.Encode(0, request.RequestUri!.AbsolutePath.TrimStart('/'), headers); }
        catch (ArgumentException e) { throw new HttpRequestException(e.Message, e); }
        var client = await ClientAsync(ct);
        return await client.SendAsync(meta, body, owner, request, ct);
    }

    async ValueTask<Client> ClientAsync(CancellationToken ct)
    {
        var slot = (int)((uint)Interlocked.Increment(ref _next) % (uint)_clients.Length);
        if (_clients[slot] is { Broken: false } ready) return ready;
        await _connecting.WaitAsync(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_clients[slot] is { Broken: false } other) return other;
            FrameConnection connection;
            try { connection = await FrameConnection.ConnectAsync(socketPath, ct); }
            catch (System.Net.Sockets.SocketException e) { throw new HttpRequestException($"the worker's framed socket could not be reached: {e.Message}", e); }
            return _clients[slot] = new Client(connection);
        }
        finally { _connecting.Release(); }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _disposed = true;
            foreach (var client in _clients) client?.Close(new ObjectDisposedException(nameof(WorkerChannel)));
        }
        base.Dispose(disposing);
    }

    /// <summary>One connection, its requests in flight by id, and the loop that reads their answers.</summary>
    sealed class Client
    {
        readonly FrameConnection _connection;
        readonly ConcurrentDictionary<int, Pending> _pending = new();
        int _lastId;
        volatile bool _broken;

        public bool Broken => _broken || _connection.Broken;

        public Client(FrameConnection connection)
        {
            _connection = connection;
            _connection.Failed += Close;
            _ = Task.Run(ReadAsync);
        }

        public async Task<HttpResponseMessage> SendAsync(byte[] meta, ArraySegment<byte> body, PooledBody? owner, HttpRequestMessage request, CancellationToken ct)
        {
            var id = Interlocked.Increment(ref _lastId);
            var pending = new Pending(request);
            _pending[id] = pending;
            // A request that died with its connection before it was added finds it broken here.
            if (Broken && _pending.TryRemove(id, out _)) throw new HttpRequestException("the connection to the worker is closed");
            try { _connection.Send(id, FrameKind.Request, meta, body, owner); }
            catch (IOException e)
            {
                _pending.TryRemove(id, out _);
                throw new HttpRequestException("the connection to the worker is closed", e);
            }
            // The caller gave up (its own abort, or HttpClient's timeout): the answer, if it ever
            // comes, is dropped. The worker cannot stop a model mid-run anyway.
            await using var registration = ct.Register(() =>
            {
                if (_pending.TryRemove(id, out var p)) p.Answer.TrySetCanceled(ct);
            });
            return await pending.Answer.Task;
        }

        /// <summary>Reads frames until one answers a request; reading then goes on from another
        /// thread, and the caller's continuation runs on this one (no thread hop between the
        /// answer's arrival and its use).</summary>
        async Task ReadAsync()
        {
            try
            {
                while (await _connection.ReadAsync() is { } frame)
                {
                    // Everything but the caller's continuation happens before reading goes on
                    // elsewhere (a streamed answer's parts must find its channel).
                    if (Dispatch(frame) is var (pending, response))
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(static client => _ = client.ReadAsync(), this, preferLocal: false);
                        pending.Answer.TrySetResult(response);
                        return;
                    }
                }
                Close(new IOException("the worker closed the connection"));
            }
            catch (Exception e)
            {
                // Whatever failed, the connection is closed and what it carried fails as a broken connection.
                Close(e);
            }
        }

        /// <summary>Applies a frame; for the first frame of an answer, returns the request and
        /// the response to hand it (the caller sets it, so its continuation runs after).</summary>
        (Pending, HttpResponseMessage)? Dispatch(Frame frame)
        {
            switch (frame.Kind)
            {
                case FrameKind.Response when _pending.TryRemove(frame.Id, out var pending):
                    // The router's connections read bodies into arrays of their own: the answer is the array.
                    return Respond(pending, frame, new WorkerAnswer(frame.Body.Array!));
                case FrameKind.Head when _pending.TryGetValue(frame.Id, out var pending):
                    pending.Parts = Channel.CreateUnbounded<ArraySegment<byte>>(new() { SingleReader = true, SingleWriter = true });
                    // A reader that stops before the end (its response disposed) drops the rest.
                    var parts = new PartsStream(pending.Parts.Reader, () => _pending.TryRemove(frame.Id, out _));
                    return Respond(pending, frame, new StreamContent(parts));
                case FrameKind.Data when _pending.TryGetValue(frame.Id, out var pending):
                    pending.Parts?.Writer.TryWrite(frame.Body);
                    break;
                case FrameKind.End when _pending.TryRemove(frame.Id, out var pending):
                    pending.Parts?.Writer.TryComplete();
                    break;
                case FrameKind.Abort when _pending.TryRemove(frame.Id, out var pending):
                    var reason = System.Text.Encoding.UTF8.GetString(frame.Body);
                    if (pending.Parts is null) pending.Answer.TrySetException(new HttpRequestException($"the worker broke off its answer: {reason}"));
                    else pending.Parts.Writer.TryComplete(new IOException($"the worker broke off its answer: {reason}"));
                    break;
            }
            return null;
        }

        /// <summary>The response a frame begins; a malformed one fails its request alone.</summary>
        (Pending, HttpResponseMessage)? Respond(Pending pending, Frame frame, HttpContent content)
        {
            try { return (pending, pending.Respond(frame, content)); }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or FormatException)
            {
                _pending.TryRemove(frame.Id, out _);
                pending.Answer.TrySetException(new HttpRequestException($"the worker's answer is malformed: {e.Message}", e));
                return null;
            }
        }

        /// <summary>Fails every request in flight: those not yet answered with
        /// <see cref="HttpRequestException"/> (the caller may retry elsewhere), streamed answers
        /// with an <see cref="IOException"/> where their body breaks off.</summary>
        public void Close(Exception reason)
        {
            if (_broken) return;
            _broken = true;
            _connection.Dispose();
            foreach (var id in _pending.Keys)
            {
                if (!_pending.TryRemove(id, out var pending)) continue;
                if (pending.Parts is { } parts) parts.Writer.TryComplete(new IOException($"the connection to the worker broke: {reason.Message}", reason));
                else pending.Answer.TrySetException(new HttpRequestException($"the connection to the worker broke: {reason.Message}", reason));
            }
        }
    }

    sealed class Pending(HttpRequestMessage request)
    {
        // Continuations run where the answer is set: on the thread that read it (see ReadAsync).
        public readonly TaskCompletionSource<HttpResponseMessage> Answer = new();
        public Channel<ArraySegment<byte>>? Parts;

        public HttpResponseMessage Respond(Frame frame, HttpContent content)
        {
            var (status, _, headers) = FrameMeta.Decode(frame.Meta);
            var response = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = request, Content = content };
            foreach (var (name, value) in headers)
                if (!response.Headers.TryAddWithoutValidation(name, value)) content.Headers.TryAddWithoutValidation(name, value);
            return response;
        }
    }

    /// <summary>A streamed answer's body: the worker's Data frames in order.</summary>
    sealed class PartsStream(ChannelReader<ArraySegment<byte>> parts, Action abandon) : Storage.ForwardReadStream
    {
        ReadOnlyMemory<byte> _current;
        bool _ended;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            while (_current.IsEmpty)
            {
                if (_ended) return 0;
                try
                {
                    if (!await parts.WaitToReadAsync(ct))
                    {
                        _ended = true;
                        return 0;
                    }
                }
                catch (ChannelClosedException e) when (e.InnerException is IOException io) { throw io; }
                if (parts.TryRead(out var part)) _current = part;
            }
            var n = Math.Min(buffer.Length, _current.Length);
            _current[..n].CopyTo(buffer);
            _current = _current[n..];
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_ended) abandon();
            base.Dispose(disposing);
        }
    }
}

/// <summary>A worker's whole answer over the framed transport, in an array of its own: whoever reads
/// it whole takes <see cref="Body"/> as it is, rather than copying it through a stream into another.</summary>
public sealed class WorkerAnswer(byte[] body) : ByteArrayContent(body)
{
    public byte[] Body { get; } = body;

    /// <summary>A response's whole body: a framed answer's array as it is, any other read into one.</summary>
    public static async Task<byte[]> ReadAllAsync(HttpContent content, CancellationToken ct)
        => content is WorkerAnswer whole ? whole.Body : await content.ReadAsByteArrayAsync(ct);
}

/// <summary>A request body the framed transport hands to the socket as it is (an ordinary
/// <see cref="ByteArrayContent"/> over HTTP). A body in a pooled array names its
/// <paramref name="owner"/>: each send holds it until its bytes are written, so the request may
/// let it go when it ends, even if a send it gave up on is still writing.</summary>
public sealed class WorkerBody(ArraySegment<byte> body, PooledBody? owner = null) : ByteArrayContent(body.Array ?? [], body.Offset, body.Count)
{
    public ArraySegment<byte> Body { get; } = body;
    public PooledBody? Owner { get; } = owner;

    // HttpClient's ways of writing the body (SocketsHttpHandler, to a container of one's own),
    // written here: ByteArrayContent's, in a derived class, call one another.
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, default);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken ct)
    {
        Owner?.Hold();
        try { await stream.WriteAsync(Body, ct); }
        finally { Owner?.Release(); }
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken ct)
    {
        Owner?.Hold();
        try { stream.Write(Body); }
        finally { Owner?.Release(); }
    }

    // Read as a stream (HttpClient never does, for a request): a copy, which no release can change.
    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult(CreateContentReadStream(default));

    protected override Stream CreateContentReadStream(CancellationToken ct)
    {
        Owner?.Hold();
        try { return new MemoryStream(Body.ToArray(), writable: false); }
        finally { Owner?.Release(); }
    }
}
